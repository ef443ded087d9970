import { ContentionError, PartiallyAppliedError, ServiceError } from '../../errors';
import { samePolicy } from '../../policy/compare';
import { canonicalJson } from '../../json';
import { policyTarget, stepRunner, targetKey } from '../act/apply';
import {
  callerSafe,
  forgetIdentity,
  identityLock,
  providerDeletion,
  providerLock,
  recordAfterWrites,
} from '../act/record-keeping';
import { checkTargetAccounts, enforceGuardrails } from '../request/checks';
import { type Caller, type HttpResult, type ServiceDeps } from '../model/deps';
import { resolveRequest, type Resolved } from '../model/desired';
import { beforeDeadline, execute, fenced } from '../act/execute';
import { type Change, type OnboardingInput, type OnboardingResult } from '../model/onboarding';
import { type Observed } from '../gather/observe';
import { wantedTargets } from '../plan/statements';
import { PolicyReservations } from '../act/policy-writer';
import { liveAfter, liveOf, recordBody, writtenOf, type IdentityRecord, type OnboardingRecord } from '../model/records';
import { changeOf } from '../model/steps';
import type { LockSet } from '../../store/store';

import { checkBindings, readAws, readContext, readStore, type Hint, type ProvisionContext } from '../gather/provision';
import { planProvision, resultOf, type ProvisionPlan } from '../plan/provision';
import { registerProviders, rollback, undo, writeIntent } from '../act/journal';
/**
 * POST: a grant on a workload identity, created or converged. Reads (the store and AWS, side by side) → desired
 * state → plan (every foreseeable refusal here, before any write) → the intent recorded → one executor → the
 * outcome recorded. A dry run stops after the plan.
 */

export interface RequestOptions {
  deadline?: number;
}

export async function provision(
  deps: ServiceDeps,
  input: OnboardingInput,
  caller: Caller,
  opts: RequestOptions = {},
): Promise<HttpResult> {
  enforceGuardrails(deps, caller, input);
  const r = resolveRequest(deps.config, input);
  checkTargetAccounts(deps.config, [
    r.identity.roleAccount,
    r.grant.bucketAccount,
    ...r.identity.clusters.map((c) => c.accountId),
  ]);
  if (input.dryRun) {
    const ctx = await readContext(deps, r);
    const plan = planProvision(deps, r, ctx);
    return { statusCode: 200, body: resultOf(r, plan, plan.steps.map(changeOf), 'planned') };
  }
  // AWS is read at once, beside a first look at the store and this identity's lock: AWS's answers are the
  // critical path. The first look says which other identities to lock, which inline policies the identity has
  // and which statements the grant wrote before (read as soon as it answers, beside the rest). Reads made before
  // the lock stand only if nobody held it (the lock free at the first try, and no other to take); otherwise AWS is
  // read again under the locks.
  // AWS's reads are on their way before the store's are prepared (the SDK's work for each call is CPU on this one
  // thread): the store's first look and the lock start a turn of the event loop later
  const locks = deps.store.lockSet();
  const storeTurn = new Promise<void>((resolve) => setImmediate(resolve));
  const first = storeTurn.then(() =>
    Promise.all([
      deps.store.getRecord(r.id),
      deps.store.getIdentity(r.identity.key),
      deps.store.getBindings(r.identity.bindings),
    ]),
  );
  const early = readAws(
    deps,
    r,
    first.then(([record, identityRecord]) => ({ record, identityRecord })),
  );
  early.catch(() => undefined);
  const taking = storeTurn.then(() => locks.take([identityLock(r.identity.key)]));
  taking.catch(() => undefined);
  const reservations = new PolicyReservations(deps.store, deps.config.policyLeaseMs);
  try {
    const [[current, hintIdentity, hintBindings], atOnce] = await Promise.all([first, taking]);
    // a binding another identity holds is refused now, before any write (and again under the lock, authoritatively)
    const holderKeys = [...new Set(hintBindings.values())].filter((k) => k !== r.identity.key);
    if (holderKeys.length) checkBindings(r, { bindings: hintBindings }, await deps.store.getIdentities(holderKeys));
    const locked = [
      r.identity.key,
      ...(current && current.status !== 'deleted' ? [current.identityKey, current.movingFrom] : []),
    ].filter((k): k is string => !!k);
    const lockNames = locked.map(identityLock);
    // moving away from an identity whose last grant this is may remove its OIDC providers: hold theirs too
    const away = locked.filter((k) => k !== r.identity.key);
    for (const idRec of (away.length
      ? await deps.store.getIdentities(away)
      : new Map<string, IdentityRecord>()
    ).values()) {
      if (idRec.grants.every((g) => g.id === r.id)) lockNames.push(...idRec.providers.map((p) => providerLock(p.arn)));
    }
    const uncontended = (await locks.take(lockNames)) && atOnce && lockNames.length === 1;
    // holding every lock it needs, at once: a request that will likely write takes the leases of the resource
    // policies it wants statements in, and reads them under the leases while AWS still answers its other reads;
    // once planned, each statement is one write (policy leases are only ever taken after the identity locks)
    if (uncontended && likelyWrites(current, input))
      for (const t of wantedTargets(r.want)) reservations.reserve(policyTarget(deps.sessions, t));
    const hint = { record: current, identityRecord: hintIdentity };
    return await provisionLocked(deps, r, input, caller, {
      hint,
      locked,
      observed: uncontended ? early : readAws(deps, r, hint),
      reservations,
      locks,
      deadline: opts.deadline,
    });
  } finally {
    // a refusal before the reads came back answers once they have: nothing of this request runs after its answer
    // (nor holds a lock it was still taking when the store failed)
    await Promise.all([early.catch(() => undefined), taking.catch(() => undefined)]);
    await Promise.all([reservations.settle(), locks.release()]);
  }
}

/** Whether a POST will likely write: its onboarding is not provisioned yet, or was with another request. */
const likelyWrites = (record: OnboardingRecord | undefined, input: OnboardingInput) =>
  record?.status !== 'provisioned' || canonicalJson(record.request) !== canonicalJson(input);

/** POST under the locks of the identities involved. */
async function provisionLocked(
  deps: ServiceDeps,
  r: Resolved,
  input: OnboardingInput,
  caller: Caller,
  {
    hint,
    locked,
    observed,
    reservations,
    locks,
    deadline,
  }: {
    hint: Hint;
    locked: string[];
    observed: Promise<Observed>;
    reservations: PolicyReservations;
    locks: LockSet;
    deadline?: number;
  },
): Promise<HttpResult> {
  // the store, AWS and (when this request will likely write) the intent, side by side: record-keeping stays off
  // the critical path of AWS calls
  const storeP = readStore(deps, r);
  const contextP = readContext(deps, r, { hint, observed, store: storeP });
  const earlyIntent = storeP.then((st) =>
    likelyWrites(st.record, input) ? writeIntent(deps, r, st, input, caller) : undefined,
  );
  let ctx: ProvisionContext;
  let plan: ProvisionPlan;
  try {
    ctx = await contextP;
    for (const k of [ctx.record?.identityKey, ctx.record?.movingFrom]) {
      if (k && !locked.includes(k))
        throw new ContentionError(`onboarding ${r.id} was changed by another request; retry`);
    }
    plan = planProvision(deps, r, ctx);
    // a reserved policy the plan does not write is let go now, not held through the other steps
    reservations.keepOnly(plan.steps.flatMap((s) => ('target' in s.params ? [targetKey(s.params.target)] : [])));
  } catch (e) {
    // refused (or unreadable) before any write: take back what was recorded meanwhile
    const early = await earlyIntent.catch(() => undefined);
    if (early) await rollback(deps, r, early);
    throw e;
  }
  // the answer (with its snippets) is rendered before any write: it cannot fail after one
  const result = resultOf(r, plan, [], 'provisioned');
  const listed = ctx.identityRecord?.grants.find((g) => g.id === r.id);
  if (
    !plan.steps.length &&
    ctx.record?.status === 'provisioned' &&
    !ctx.moving &&
    listed &&
    canonicalJson(listed.tags) === canonicalJson(r.grant.tags)
  ) {
    const early = await earlyIntent;
    if (early) await rollback(deps, r, early);
    // all in place: the record only learns who asked last, and what they asked
    let rec = (early ? await deps.store.getRecord(r.id) : undefined) ?? ctx.record;
    if (
      canonicalJson(rec.request) !== canonicalJson(input) ||
      rec.requestedBy !== caller.principal ||
      !samePolicy(rec.desired?.permissions, plan.grant.permissions)
    ) {
      rec = await deps.store.saveRecord(
        { ...rec, request: input, requestedBy: caller.principal, desired: plan.grant, result },
        rec.version,
        rec,
      );
    }
    // this request changed nothing
    return { statusCode: 200, body: recordBody({ ...rec, result: { ...(rec.result ?? result), changes: [] } }) };
  }
  const intent = (await earlyIntent) ?? (await writeIntent(deps, r, await storeP, input, caller));
  // the identity registers on the OIDC providers its trust names while the first steps run (a DynamoDB write
  // off the AWS calls' critical path); a provider another request is deleting stops the plan: nothing new
  // starts, and the answer is a 503 (nothing written: taken back; else: retry to finish)
  let registration: { failed: boolean; error?: unknown } = { failed: false };
  let createdAlias: string | undefined;
  // (a turn of the event loop after the first steps are on their way)
  const registering = new Promise<void>((resolve) => setImmediate(resolve))
    .then(() => registerProviders(deps, r, intent, plan))
    .catch((error: unknown) => {
      registration = { failed: true, error };
    });
  const runStep = beforeDeadline(
    fenced(
      stepRunner({
        sessions: deps.sessions,
        createdAccessPoint: (_arn, alias) => (createdAlias = alias),
        writer: reservations.writer(deps.writer),
        providers: ctx.moving ? providerDeletion(deps, [ctx.moving.identity.key]) : undefined,
      }),
      () => locks.fence(),
    ),
    deadline,
    deps.config.stepBudgetMs,
  );
  let rec = intent.record;
  let live = rec.live;
  const done: Change[] = [];
  let progress: Promise<unknown> = Promise.resolve();
  let progressFailed = false;
  const exec = await execute(
    plan.steps,
    (step) => (registration.failed ? Promise.reject(registration.error) : runStep(step)),
    (step, _wrote, waiting) => {
      const before = live;
      live = liveAfter(live, step, r.id);
      done.push(changeOf(step));
      // what is live is recorded as soon as it changes, in order and off the AWS calls' critical path, while steps
      // still wait to start; once every step left is under way, the outcome below records it (a save now would
      // only hold the outcome's back; the attempt already names what it is writing)
      if (live === before || waiting === 0) return;
      const snapshot = { live, stepsDone: [...done] };
      progress = progress
        .then(async () => {
          rec = await deps.store.saveRecord(
            {
              ...rec,
              live: snapshot.live,
              attempt: { ...rec.attempt!, stepsPlanned: plan.steps.map(changeOf), stepsDone: snapshot.stepsDone },
            },
            rec.version,
            rec,
          );
        })
        .catch(() => {
          progressFailed = true;
        });
    },
  );
  await progress;
  const latest = progressFailed ? ((await deps.store.getRecord(r.id)) ?? rec) : rec;
  const wrote = exec.done.some((d) => d.wrote);
  await registering;
  const failures = [...exec.failed.map((f) => f.error), ...(registration.failed ? [registration.error] : [])];

  if (failures.length) {
    // leases reserved for statements no step got to write go now: taking a statement back must not wait on them
    await reservations.settle();
    const cause = failures[0];
    if (!wrote) {
      await rollback(deps, r, { ...intent, record: latest });
      throw cause;
    }
    // a new grant refused only after it wrote (a bucket or key policy a concurrent batch filled meanwhile, a
    // statement that appeared in the way, a denial): undo what this request wrote, then refuse, as a 4xx leaves
    // nothing written. A change to an existing grant is not undone (its previous state may be drift nobody wants
    // back): it is a 503 that says to retry.
    if (cause instanceof ServiceError && cause.status < 500 && !ctx.record && !ctx.moving) {
      const createdProviders = exec.done
        .filter((d) => d.step.action === 'create-oidc-provider' && d.wrote)
        .map((d) => d.step.resource);
      if (await undo(deps, r, ctx, writtenOf({ live, attempt: latest.attempt }), createdProviders).catch(() => false)) {
        await rollback(deps, r, { ...intent, record: latest });
        throw cause;
      }
    }
    await recordAfterWrites(
      r.id,
      deps.store.saveRecord(
        {
          ...latest,
          status: 'failed',
          live,
          attempt: {
            ...latest.attempt,
            stepsPlanned: plan.steps.map(changeOf),
            stepsDone: done,
            error: callerSafe(cause),
          },
        },
        latest.version,
        latest,
      ),
    );
    throw new PartiallyAppliedError(
      `onboarding ${r.id} was partially applied (${done.length} of ${plan.steps.length} steps: ${done.map((c) => c.action).join(', ') || 'none'}) before it failed: ${callerSafe(cause)}. Retry the same request to finish it, or DELETE /v1/onboardings/${r.id} to remove what was written.`,
    );
  }

  const finished: OnboardingResult = {
    // an access point made now: the snippets name its alias (the same files, rendered with it)
    ...(createdAlias ? resultOf(r, plan, [], 'provisioned', createdAlias) : result),
    changes: exec.done.filter((d) => d.wrote).map((d) => changeOf(d.step)),
  };
  const outcome: OnboardingRecord = {
    ...latest,
    status: 'provisioned',
    live: liveOf(plan.grant),
    desired: plan.grant,
    result: finished,
    attempt: undefined,
    movingFrom: undefined,
    request: input,
    requestedBy: caller.principal,
  };
  // the outcome is sent beside the release of the locks (one round trip; the save keeps its condition), unless
  // another identity is still to be recorded under them
  const saved = await recordAfterWrites(
    r.id,
    ctx.moving
      ? deps.store.saveRecord(outcome, latest.version, latest)
      : deps.store.saveRecordReleasing(outcome, latest.version, latest, locks),
  );
  if (ctx.moving) {
    const m = ctx.moving;
    const rest = m.record.grants.filter((g) => g.id !== r.id);
    await recordAfterWrites<unknown>(
      r.id,
      rest.length
        ? deps.store.saveIdentity({ ...m.record, grants: rest }, m.record.version)
        : forgetIdentity(deps, m.record),
    );
  }
  return { statusCode: wrote ? 201 : 200, body: recordBody(saved) };
}
