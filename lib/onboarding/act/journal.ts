import { ServiceError } from '../../errors';
import { canonicalJson } from '../../json';
import { samePolicy } from '../../policy/compare';
import type { LockSet } from '../../store/locks';
import { type Caller, type HttpResult, type ServiceDeps } from '../model/deps';
import { type Resolved } from '../model/desired';
import { grantPolicyName, type OnboardingInput, type OnboardingResult } from '../model/onboarding';
import { keyGrantReads, liveOf, recordBody, writtenOf, type GrantLive, type OnboardingRecord } from '../model/records';
import { changeOf } from '../model/steps';
import { observe } from '../gather/observe';
import { accessPointRead } from '../gather/access-points';
import { type ProvisionContext } from '../gather/provision';
import { type ProvisionPlan } from '../plan/provision';
import { planTransition } from '../plan/transition';
import { stepRunner } from './apply';
import { execute, type StepRunner } from './execute';
import { rollback, type Intent } from './intent';
import { forgetIdentity, providerDeletion, recordAfterWrites } from './record-keeping';
import { failedAfterWrites, type Ran } from './run';

/**
 * POST's journal around its writes, after the intent (intent.ts): the record of a request that changed nothing,
 * of one that failed (taken back, undone, or recorded as failed with a 503 saying what to do), and of its outcome.
 */

/** All in place: the record only learns who asked last, and what they asked; the answer lists no change. */
export async function recordUnchanged(
  deps: ServiceDeps,
  r: Resolved,
  ctx: ProvisionContext,
  plan: ProvisionPlan,
  early: Intent | undefined,
  { input, caller, result }: { input: OnboardingInput; caller: Caller; result: OnboardingResult },
): Promise<HttpResult> {
  if (early) await rollback(deps, r, early);
  let rec = (early ? await deps.store.records.get(r.id) : undefined) ?? ctx.record!;
  if (
    canonicalJson(rec.request) !== canonicalJson(input) ||
    rec.requestedBy !== caller.principal ||
    !samePolicy(rec.desired?.permissions, plan.grant.permissions)
  ) {
    rec = await deps.store.records.save(
      { ...rec, request: input, requestedBy: caller.principal, desired: plan.grant, result },
      rec.version,
      rec,
    );
  }
  return { statusCode: 200, body: recordBody({ ...rec, result: { ...(rec.result ?? result), changes: [] } }) };
}

/**
 * A run that failed. Nothing written: the intent is taken back and the cause answered. A new grant refused only
 * after it wrote (a bucket or key policy a concurrent batch filled meanwhile, a statement that appeared in the
 * way, a denial): what this request wrote is undone, then the refusal answered, as a 4xx leaves nothing written.
 * A change to an existing grant is not undone (its previous state may be drift nobody wants back): it is a 503
 * that says to retry.
 */
export async function recordFailure(
  deps: ServiceDeps,
  r: Resolved,
  ctx: ProvisionContext,
  plan: ProvisionPlan,
  intent: Intent,
  ran: Ran,
  cause: unknown,
  /** how the request's steps run: fenced by its locks, before its deadline (the undo's steps too) */
  guarded: (run: StepRunner) => StepRunner,
): Promise<never> {
  if (!ran.wrote) {
    await rollback(deps, r, { ...intent, record: ran.record });
    throw cause;
  }
  if (cause instanceof ServiceError && cause.status < 500 && !ctx.record && !ctx.moving) {
    const createdProviders = ran.exec.done
      .filter((d) => d.step.action === 'create-oidc-provider' && d.wrote)
      .map((d) => d.step.resource);
    const written = writtenOf({ live: ran.live, attempt: ran.record.attempt });
    // an undo that cannot finish (a lock lost, the deadline near) is a 503, never a 4xx after writes
    if (await undo(deps, r, ctx, written, createdProviders, guarded).catch(() => false)) {
      await rollback(deps, r, { ...intent, record: ran.record });
      throw cause;
    }
  }
  return failedAfterWrites(deps.store, ran, plan.steps, cause, {
    status: 'failed',
    what: 'partially applied',
    todo: `Retry the same request to finish it, or DELETE /v1/onboardings/${r.id} to remove what was written.`,
  });
}

/**
 * The outcome of a run that finished: the record says what is live (exactly what was wanted), sent beside the
 * release of the locks (one round trip; the save keeps its condition) unless another identity is still to be
 * recorded under them: the one the grant moved from keeps its other grants, or is forgotten with its last.
 */
export async function recordProvisioned(
  deps: ServiceDeps,
  r: Resolved,
  ctx: ProvisionContext,
  plan: ProvisionPlan,
  ran: Ran,
  {
    input,
    caller,
    result,
    locks,
  }: { input: OnboardingInput; caller: Caller; result: OnboardingResult; locks: LockSet },
): Promise<HttpResult> {
  const latest = ran.record;
  const outcome: OnboardingRecord = {
    ...latest,
    status: 'provisioned',
    // an older version's key-policy statement left to the key's owner stays recorded (DELETE names it again)
    live: {
      ...liveOf(plan.grant),
      ...(plan.left.length && writtenOf(latest).keyStatements
        ? { keyStatements: writtenOf(latest).keyStatements }
        : {}),
    },
    desired: plan.grant,
    result: { ...result, changes: ran.exec.done.filter((d) => d.wrote).map((d) => changeOf(d.step)) },
    attempt: undefined,
    movingFrom: undefined,
    request: input,
    requestedBy: caller.principal,
  };
  const saved = await recordAfterWrites(
    r.id,
    ctx.moving
      ? deps.store.records.save(outcome, latest.version, latest)
      : deps.store.records.saveReleasing(outcome, latest.version, latest, locks),
  );
  if (ctx.moving) {
    const m = ctx.moving;
    const rest = m.record.grants.filter((g) => g.id !== r.id);
    await recordAfterWrites<unknown>(
      r.id,
      rest.length
        ? deps.store.identities.save({ ...m.record, grants: rest }, m.record.version)
        : forgetIdentity(deps, m.record),
    );
  }
  return { statusCode: ran.wrote ? 201 : 200, body: recordBody(saved) };
}

/**
 * Takes a new grant back out of AWS: the identity with the grants it had before (none: its role goes, with the
 * OIDC providers this request created), this grant's policy and statements gone. True when every step of that
 * plan succeeded.
 */
async function undo(
  deps: ServiceDeps,
  r: Resolved,
  ctx: ProvisionContext,
  written: GrantLive,
  createdProviders: string[],
  guarded: (run: StepRunner) => StepRunner,
): Promise<boolean> {
  // a new grant: the identity keeps the grants it had, and this one goes
  const before = (ctx.identityRecord?.grants ?? []).filter((g) => g.id !== r.id);
  const targets = [written.bucketStatements, written.accessPoint].filter((b): b is NonNullable<typeof b> => !!b);
  const observed = await observe(deps.sessions, {
    identity: r.identity,
    knownPolicies: [...new Set([...before.map((g) => grantPolicyName(g.id)), grantPolicyName(r.id)])],
    buckets: [
      ...new Map(
        targets.map((b) => [
          `${b.accountId}/${b.bucket}`,
          { accountId: b.accountId, bucket: b.bucket, region: b.region },
        ]),
      ).values(),
    ],
    keys: [],
    keyGrants: keyGrantReads(written.keyGrant ? [written.keyGrant] : []),
    accessPoint: accessPointRead(deps.config.managedByTag, r.id, undefined, written.accessPoint),
  });
  const { steps } = planTransition(
    {
      config: deps.config,
      grantId: r.id,
      identities: [
        { identity: r.identity, observed, issuers: ctx.observed.issuers, removableProviders: createdProviders },
      ],
      written: {
        bucketStatements: written.bucketStatements,
        keyGrants: written.keyGrant ? [written.keyGrant] : [],
        accessPoint: written.accessPoint,
      },
      resources: observed,
      // a new grant: nothing of an older version to migrate, only the KMS grant this request made
      migrateKeyPolicies: false,
    },
    { grants: new Map([[r.identity.key, before]]), undo: true },
  );
  const exec = await execute(
    steps,
    guarded(
      stepRunner({ sessions: deps.sessions, writer: deps.writer, providers: providerDeletion(deps, [r.identity.key]) }),
    ),
  );
  return exec.failed.length === 0;
}
