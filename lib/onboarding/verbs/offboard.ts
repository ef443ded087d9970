import { ContentionError, NotFoundError } from '../../errors';
import { stepRunner } from '../act/apply';
import { visibleTo } from './read';
import {
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
import { beforeDeadline, fenced } from '../act/execute';
import { failedAfterWrites, runRecorded } from '../act/run';
import { grantPolicyName, type Change } from '../model/onboarding';
import { observe } from '../gather/observe';
import { accessPointRead } from '../gather/access-points';
import { type LeftToOwner } from '../plan/role';
import { firstRefusal, planTransition } from '../plan/transition';
import { keyGrantReads, writtenKeyGrants, writtenOf, type OnboardingRecord } from '../model/records';
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
  const first = await deps.store.records.get(id);
  // only a caller who may onboard it may remove it, or learn that it exists
  if (!first || !visibleTo(deps, caller, first)) throw new NotFoundError(`no onboarding ${id}`);
  if (first.status === 'deleted') return { id, status: 'deleted', changes: [] };
  const keys = [first.identityKey, first.movingFrom].filter((k): k is string => !!k);
  const locks = keys.map(identityLock);
  // removing an identity's last grant may remove OIDC providers other identities share: one such removal at a time
  for (const idRec of (await deps.store.identities.getMany(keys)).values()) {
    if (idRec.grants.every((g) => g.id === id)) locks.push(...idRec.providers.map((p) => providerLock(p.arn)));
  }
  return deps.store.locks.holding(locks, async (held) => {
    const rec = await deps.store.records.get(id);
    if (!rec || rec.status === 'deleted') return { id, status: 'deleted' as const, changes: [] };
    const { steps, finish, left } = await planOffboard(deps, rec, locks);
    const leftToOwner = left.length ? { leftToOwner: left } : {};
    if (opts.dryRun) return { id, status: 'planned' as const, changes: steps.map(changeOf), ...leftToOwner };

    const current = await deps.store.records.save(
      { ...rec, status: 'deleting', attempt: { ...rec.attempt, stepsPlanned: steps.map(changeOf), stepsDone: [] } },
      rec.version,
      rec,
    );
    const runner = fenced(
      stepRunner({ sessions: deps.sessions, writer: deps.writer, providers: finish.providers }),
      () => held.fence(),
    );
    const ran = await runRecorded(
      deps.store,
      current,
      steps,
      beforeDeadline(runner, opts.deadline, deps.config.stepBudgetMs),
    );
    if (ran.exec.failed.length) {
      const cause = ran.exec.failed[0].error;
      // nothing was removed: the record says what it said before
      if (!ran.wrote) {
        await deps.store.records.save({ ...rec }, ran.record.version, ran.record);
        throw cause;
      }
      return failedAfterWrites(deps.store, ran, steps, cause, {
        status: 'deleting',
        what: 'partly removed',
        todo: 'Retry the DELETE to finish it.',
      });
    }
    await recordAfterWrites(id, finish.after());
    await recordAfterWrites(
      id,
      deps.store.records.save(
        { ...ran.record, status: 'deleted', live: ran.live, attempt: undefined },
        ran.record.version,
        ran.record,
      ),
    );
    const exec = ran.exec;
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
  /** the locks held, taken from what was read before them */
  held: readonly string[],
): Promise<{
  steps: Step[];
  left: LeftToOwner[];
  finish: { after: () => Promise<void>; providers: ProviderDeletion };
}> {
  const keys = [...new Set([rec.identityKey, rec.movingFrom].filter((k): k is string => !!k))];
  const identities = await deps.store.identities.getMany(keys);
  // the locks were chosen from the record and identities as read before them: another request that changed them
  // meanwhile (moved the grant, or made this its identity's last) leaves locks this removal does not hold
  const needed = [
    ...keys.map(identityLock),
    ...[...identities.values()].flatMap((idRec) =>
      idRec.grants.every((g) => g.id === rec.id) ? idRec.providers.map((p) => providerLock(p.arn)) : [],
    ),
  ];
  if (needed.some((name) => !held.includes(name)))
    throw new ContentionError(`onboarding ${rec.id} was changed by another request while it was being removed; retry`);
  const afters: (() => Promise<void>)[] = [];
  const removed: string[] = [];
  const written = writtenOf(rec);
  const buckets = [written.bucketStatements, written.accessPoint]
    .filter((b): b is NonNullable<typeof b> => !!b)
    .map((b) => ({ accountId: b.accountId, bucket: b.bucket, region: b.region }))
    .filter((b, i, all) => all.findIndex((x) => x.accountId === b.accountId && x.bucket === b.bucket) === i);
  const keyArns = written.keyStatements ? [written.keyStatements.keyArn] : [];
  const grantsMade = writtenKeyGrants(rec);

  const states = (
    await Promise.all(
      keys.map(async (key, i) => {
        const idRec = identities.get(key);
        if (!idRec) return undefined;
        const identity = identityOfRecord(idRec);
        const rest = idRec.grants.filter((g) => g.id !== rec.id);
        const [observed, removable] = await Promise.all([
          observe(deps.sessions, {
            identity,
            knownPolicies: idRec.grants.map((g) => grantPolicyName(g.id)),
            buckets: i === 0 ? buckets : [],
            keys: i === 0 ? keyArns : [],
            keyGrants: i === 0 ? keyGrantReads(grantsMade) : [],
            tags: true,
            ...(i === 0
              ? { accessPoint: accessPointRead(deps.config.managedByTag, rec.id, undefined, written.accessPoint) }
              : {}),
          }),
          rest.length ? Promise.resolve([]) : removableProviders(deps, idRec),
        ]);
        if (!rest.length) removed.push(key);
        afters.push(async () => {
          if (rest.length) await deps.store.identities.save({ ...idRec, grants: rest }, idRec.version);
          else await forgetIdentity(deps, idRec);
        });
        return {
          rest,
          state: {
            identity,
            observed,
            issuers: idRec.providers.map((p) => p.issuerUrl),
            removableProviders: removable,
          },
        };
      }),
    )
  ).filter((s) => s !== undefined);
  const t = planTransition(
    {
      config: deps.config,
      grantId: rec.id,
      identities: states.map((s) => s.state),
      written: { ...written, keyGrants: grantsMade },
      resources: states[0]?.state.observed ?? { resourcePolicies: new Map(), resourceTags: new Map() },
    },
    { grants: new Map(states.map((s) => [s.state.identity.key, s.rest])) },
  );
  // what stops a removal (a role that is not the service's, a foreign statement in the way) is refused before it
  const refusal = firstRefusal(t);
  if (refusal) throw refusal;
  // a provider is deleted only if, once the identities removed here stop using it, nothing else does
  return {
    steps: t.steps,
    left: t.left,
    finish: {
      after: async () => void (await Promise.all(afters.map((f) => f()))),
      providers: providerDeletion(deps, removed),
    },
  };
}
