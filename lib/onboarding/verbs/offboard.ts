import { NotFoundError, PartiallyAppliedError } from '../../errors';
import { stepRunner } from '../act/apply';
import { visibleTo } from './read';
import {
  callerSafe,
  forgetIdentity,
  identityLock,
  providerDeletion,
  providerLock,
  recordAfterWrites,
  type ProviderDeletion,
} from '../act/record-keeping';
import { identityOfRecord } from '../model/records';
import { removableProviders } from '../gather/providers';
import { type Caller, type ServiceDeps } from '../model/deps';
import { identityDesired } from '../model/desired';
import { beforeDeadline, execute, fenced } from '../act/execute';
import { grantPolicyName, type Change } from '../model/onboarding';
import { observe } from '../gather/observe';
import { planRole, type LeftToOwner } from '../plan/role';
import { planStatements } from '../plan/statements';
import { planPodIdentity } from '../plan/pod-identity';
import { planAccessPoint } from '../plan/access-points';
import { accessPointRead } from '../gather/access-points';
import { orderMakeBeforeBreak } from '../plan/make-before-break';
import { liveAfter, writtenOf, type OnboardingRecord } from '../model/records';
import { changeOf, type Step } from '../model/steps';

/**
 * DELETE: the same planner with this grant taken away. The identity keeps its other grants (only this grant's
 * inline policy and statements go); with its last grant, its role goes too (inline policies deleted, managed
 * policies someone attached detached, the role deleted), with the instance-role grant and the OIDC providers the
 * service created that nothing else trusts. Repeating it is harmless; `dryRun` answers the plan.
 */

export interface OffboardResult {
  id: string;
  status: 'deleted' | 'planned';
  changes: Change[];
  /** what the service added but may no longer remove (its owner withdrew the opt-in): the owner's to remove */
  leftToOwner?: LeftToOwner[];
}

export async function offboard(
  deps: ServiceDeps,
  id: string,
  caller: Caller,
  opts: { dryRun?: boolean; deadline?: number } = {},
): Promise<OffboardResult> {
  const first = await deps.store.getRecord(id);
  // only a caller who may onboard it may remove it, or learn that it exists
  if (!first || !visibleTo(deps, caller, first)) throw new NotFoundError(`no onboarding ${id}`);
  if (first.status === 'deleted') return { id, status: 'deleted', changes: [] };
  const keys = [first.identityKey, first.movingFrom].filter((k): k is string => !!k);
  const locks = keys.map(identityLock);
  // removing an identity's last grant may remove OIDC providers other identities share: one such removal at a time
  for (const idRec of (await deps.store.getIdentities(keys)).values()) {
    if (idRec.grants.every((g) => g.id === id)) locks.push(...idRec.providers.map((p) => providerLock(p.arn)));
  }
  return deps.store.withLocks(locks, async (held) => {
    const rec = await deps.store.getRecord(id);
    if (!rec || rec.status === 'deleted') return { id, status: 'deleted' as const, changes: [] };
    const { steps, finish, left } = await planOffboard(deps, rec);
    const leftToOwner = left.length ? { leftToOwner: left } : {};
    if (opts.dryRun) return { id, status: 'planned' as const, changes: steps.map(changeOf), ...leftToOwner };

    let current = await deps.store.saveRecord(
      { ...rec, status: 'deleting', attempt: { ...rec.attempt, stepsPlanned: steps.map(changeOf), stepsDone: [] } },
      rec.version,
      rec,
    );
    let live = current.live;
    const done: Change[] = [];
    const runner = fenced(
      stepRunner({ sessions: deps.sessions, writer: deps.writer, providers: finish.providers }),
      () => held.fence(),
    );
    const exec = await execute(steps, beforeDeadline(runner, opts.deadline, deps.config.stepBudgetMs), (step) => {
      live = liveAfter(live, step, id);
      done.push(changeOf(step));
    });
    const wrote = exec.done.some((d) => d.wrote);
    if (exec.failed.length) {
      const cause = exec.failed[0].error;
      if (!wrote) {
        // nothing was removed: the record says what it said before
        await deps.store.saveRecord({ ...rec }, current.version, current);
        throw cause;
      }
      current = await recordAfterWrites(
        id,
        deps.store.saveRecord(
          {
            ...current,
            live,
            attempt: { ...rec.attempt, stepsPlanned: steps.map(changeOf), stepsDone: done, error: callerSafe(cause) },
          },
          current.version,
          current,
        ),
      );
      throw new PartiallyAppliedError(
        `onboarding ${id} was partly removed (${done.length} of ${steps.length} steps: ${done.map((c) => c.action).join(', ')}) before it failed: ${callerSafe(cause)}. Retry the DELETE to finish it.`,
      );
    }
    await recordAfterWrites(id, finish.after());
    await recordAfterWrites(
      id,
      deps.store.saveRecord({ ...current, status: 'deleted', live, attempt: undefined }, current.version, current),
    );
    return {
      id,
      status: 'deleted' as const,
      changes: exec.done.filter((d) => d.wrote).map((d) => changeOf(d.step)),
      ...leftToOwner,
    };
  });
}

/** The removal plan of one grant, and what to record once it has run. */
async function planOffboard(
  deps: ServiceDeps,
  rec: OnboardingRecord,
): Promise<{
  steps: Step[];
  left: LeftToOwner[];
  finish: { after: () => Promise<void>; providers: ProviderDeletion };
}> {
  const keys = [...new Set([rec.identityKey, rec.movingFrom].filter((k): k is string => !!k))];
  const identities = await deps.store.getIdentities(keys);
  const parts: Step[][] = keys.map(() => []);
  const afters: (() => Promise<void>)[] = [];
  const removed: string[] = [];
  const left: LeftToOwner[] = [];
  const written = writtenOf(rec);
  const buckets = [written.bucketStatements, written.accessPoint]
    .filter((b): b is NonNullable<typeof b> => !!b)
    .map((b) => ({ accountId: b.accountId, bucket: b.bucket, region: b.region }))
    .filter((b, i, all) => all.findIndex((x) => x.accountId === b.accountId && x.bucket === b.bucket) === i);
  const keyArns = written.keyStatements ? [written.keyStatements.keyArn] : [];

  await Promise.all(
    keys.map(async (key, i) => {
      const idRec = identities.get(key);
      if (!idRec) return;
      const identity = identityOfRecord(idRec);
      const rest = idRec.grants.filter((g) => g.id !== rec.id);
      const [observed, removable] = await Promise.all([
        observe(deps.sessions, {
          identity,
          knownPolicies: idRec.grants.map((g) => grantPolicyName(g.id)),
          buckets: i === 0 ? buckets : [],
          keys: i === 0 ? keyArns : [],
          tags: true,
          ...(i === 0
            ? { accessPoint: accessPointRead(deps.config.managedByTag, rec.id, undefined, written.accessPoint) }
            : {}),
        }),
        rest.length ? Promise.resolve([]) : removableProviders(deps, idRec),
      ]);
      const desired = rest.length
        ? identityDesired(
            deps.config,
            identity,
            rest,
            idRec.providers.map((p) => p.issuerUrl),
          )
        : undefined;
      const rolePlan = planRole({ config: deps.config, identity, observed, desired, removableProviders: removable });
      const roleSteps = rolePlan.steps;
      left.push(...(rolePlan.left ?? []));
      // EKS Pod Identity: a removed identity's associations go, except those of an identity here that stays
      // (only a Pod Identity identity re-points an association; an IRSA one never uses it)
      const staying = keys
        .filter((k) => k !== key)
        .flatMap((k) =>
          identities.get(k)?.kind === 'pod-identity' && identities.get(k)!.grants.some((g) => g.id !== rec.id)
            ? identities.get(k)!.bindings
            : [],
        );
      parts[i].push(
        ...roleSteps,
        ...planPodIdentity({ config: deps.config, identity, observed, grants: rest, roleSteps, handOver: staying })
          .steps,
      );
      if (i === 0)
        parts[i].push(
          ...planStatements(rec.id, observed, written, undefined),
          ...planAccessPoint({ config: deps.config, grantId: rec.id, observed, written }),
        );
      if (!rest.length) removed.push(key);
      afters.push(async () => {
        if (rest.length) await deps.store.saveIdentity({ ...idRec, grants: rest }, idRec.version);
        else await forgetIdentity(deps, idRec);
      });
    }),
  );
  // a provider is deleted only if, once the identities removed here stop using it, nothing else does
  return {
    steps: orderMakeBeforeBreak(parts.flat()),
    left,
    finish: {
      after: async () => void (await Promise.all(afters.map((f) => f()))),
      providers: providerDeletion(deps, removed),
    },
  };
}
