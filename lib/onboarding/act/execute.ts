import { DeadlineError, TransientError } from '../../errors';
import type { Step } from '../model/steps';

/**
 * The one executor: runs a plan's steps as soon as what they wait for is done, so independent steps go in
 * parallel. After a failure it starts nothing new, and it settles every running step before it returns, so the
 * caller never answers (or releases a lock) while a write is still in flight.
 */

export interface Execution {
  /** finished steps, in completion order, with whether they changed anything */
  done: { step: Step; wrote: boolean }[];
  failed: { step: Step; error: unknown }[];
  /** never started: a failure came first, or a step they wait for failed */
  skipped: Step[];
}

export type StepRunner = (step: Step) => Promise<boolean>;

/**
 * A runner that starts no step the function's remaining time cannot cover (`deadline`: when the function is
 * stopped, ms since the epoch; `budgetMs`: what one step may take). The executor then starts nothing more, and the
 * request answers a 503 saying what was done and to retry (or DELETE), instead of being cut off after writing.
 */
/**
 * A runner whose every step is fenced: it starts only while the request still holds its locks (`fence`, renewing
 * one held for over half its lease). A holder that stalled past its lease, and lost a lock to another request
 * meanwhile, stops instead of writing over what that request did; the answer is a 503 to retry.
 */
export function fenced(run: StepRunner, fence: () => Promise<boolean>): StepRunner {
  return async (step) => {
    if (!(await fence()))
      throw new TransientError(
        `this request held its lock for longer than its lease and another request took it: it stopped before ${step.action} on ${step.resource}; retry`,
      );
    return run(step);
  };
}

export function beforeDeadline(run: StepRunner, deadline: number | undefined, budgetMs: number): StepRunner {
  if (deadline === undefined) return run;
  return (step) => {
    const left = deadline - Date.now();
    if (left < budgetMs)
      return Promise.reject(
        new DeadlineError(
          `the function had ${Math.max(0, left)} ms left, too little to start ${step.action} on ${step.resource} safely; retry the request`,
        ),
      );
    return run(step);
  };
}

/** `waiting`: how many steps have not started yet (0: every step left is running, or none is) */
export type OnStepDone = (step: Step, wrote: boolean, waiting: number) => void;

export function execute(steps: readonly Step[], run: StepRunner, onDone?: OnStepDone): Promise<Execution> {
  const ids = new Set(steps.map((s) => s.id));
  const state = new Map<string, 'pending' | 'running' | 'done' | 'failed' | 'skipped'>(
    steps.map((s) => [s.id, 'pending']),
  );
  const out: Execution = { done: [], failed: [], skipped: [] };
  let stopped = false;
  return new Promise((resolve) => {
    const tick = (): void => {
      let progress = true;
      while (progress) {
        progress = false;
        for (const s of steps) {
          if (state.get(s.id) !== 'pending') continue;
          const deps = s.after.filter((d) => ids.has(d)).map((d) => state.get(d));
          if (stopped || deps.some((d) => d === 'failed' || d === 'skipped')) {
            state.set(s.id, 'skipped');
            out.skipped.push(s);
            progress = true;
          } else if (deps.every((d) => d === 'done')) {
            state.set(s.id, 'running');
            start(s);
          }
        }
      }
      if (![...state.values()].some((v) => v === 'pending' || v === 'running')) resolve(out);
    };
    const start = (s: Step): void => {
      // a runner that throws synchronously is a failed step like any other
      Promise.resolve()
        .then(() => run(s))
        .then(
          (wrote) => {
            state.set(s.id, 'done');
            out.done.push({ step: s, wrote });
            try {
              onDone?.(s, wrote, [...state.values()].filter((v) => v === 'pending').length);
            } catch {
              /* recording progress must never turn a finished step into a failed one */
            }
          },
          (error: unknown) => {
            state.set(s.id, 'failed');
            out.failed.push({ step: s, error });
            stopped = true;
          },
        )
        .finally(tick);
    };
    tick();
  });
}
