import { PartiallyAppliedError } from '../../errors';
import type { Store } from '../../store/store';
import type { Change } from '../model/onboarding';
import { liveAfter, type GrantLive, type OnboardingRecord } from '../model/records';
import { changeOf, type Step } from '../model/steps';
import { execute, type Execution, type StepRunner } from './execute';
import { callerSafe, recordAfterWrites } from './record-keeping';

/**
 * The one executor with its journal, for every writing verb (POST, DELETE): a plan's steps run as soon as what
 * they wait for is done, and the onboarding's record follows what is live step by step, in order and off the AWS
 * calls' critical path (saved while steps still wait to start; once every step left is under way, the verb's
 * outcome records it). The record never claims more than is live: what a step meant to write counts only once
 * the step is done.
 */

export interface Ran {
  exec: Execution;
  /** what is live for the grant once the run settled */
  live: GrantLive;
  /** the steps done, as changes, in completion order */
  done: Change[];
  /** some step changed something in AWS */
  wrote: boolean;
  /** the record as last saved (its version is what the outcome is saved against) */
  record: OnboardingRecord;
}

export async function runRecorded(
  store: Store,
  record: OnboardingRecord,
  steps: readonly Step[],
  run: StepRunner,
): Promise<Ran> {
  let rec = record;
  let live = rec.live;
  const done: Change[] = [];
  const planned = steps.map(changeOf);
  let progress: Promise<unknown> = Promise.resolve();
  let progressFailed = false;
  const exec = await execute(steps, run, (step, _wrote, waiting) => {
    const before = live;
    live = liveAfter(live, step, record.id);
    done.push(changeOf(step));
    if (live === before || waiting === 0) return;
    const snapshot = { live, stepsDone: [...done] };
    progress = progress
      .then(async () => {
        rec = await store.records.save(
          {
            ...rec,
            live: snapshot.live,
            attempt: { ...rec.attempt, stepsPlanned: planned, stepsDone: snapshot.stepsDone },
          },
          rec.version,
          rec,
        );
      })
      .catch(() => {
        progressFailed = true;
      });
  });
  await progress;
  const latest = progressFailed ? ((await store.records.get(record.id)) ?? rec) : rec;
  return { exec, live, done, wrote: exec.done.some((d) => d.wrote), record: latest };
}

/**
 * A run that failed after it wrote: the record says what is live and why it stopped (`status`: failed for a
 * POST, still deleting for a DELETE), and the answer is a 503 that says what was done and what to do.
 */
export async function failedAfterWrites(
  store: Store,
  ran: Ran,
  steps: readonly Step[],
  cause: unknown,
  opts: { status: OnboardingRecord['status']; what: string; todo: string },
): Promise<never> {
  const latest = ran.record;
  await recordAfterWrites(
    latest.id,
    store.records.save(
      {
        ...latest,
        status: opts.status,
        live: ran.live,
        attempt: {
          ...latest.attempt,
          stepsPlanned: steps.map(changeOf),
          stepsDone: ran.done,
          error: callerSafe(cause),
        },
      },
      latest.version,
      latest,
    ),
  );
  throw new PartiallyAppliedError(
    `onboarding ${latest.id} was ${opts.what} (${ran.done.length} of ${steps.length} steps: ${ran.done.map((c) => c.action).join(', ') || 'none'}) before it failed: ${callerSafe(cause)}. ${opts.todo}`,
  );
}
