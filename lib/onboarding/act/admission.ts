import { canonicalJson } from '../../json';
import type { LockSet } from '../../store/locks';
import type { ServiceDeps } from '../model/deps';
import type { Resolved } from '../model/desired';
import type { OnboardingInput } from '../model/onboarding';
import type { IdentityRecord, OnboardingRecord } from '../model/records';
import { checkBindings, readAws, type Hint } from '../gather/provision';
import type { Observed } from '../gather/observe';
import { wantedTargets } from '../plan/statements';
import { policyTarget } from './apply';
import { PolicyReservations } from './policy-reservations';
import { identityLock, providerLock } from './record-keeping';

/**
 * How a POST is admitted to write: the locks of every identity it touches, taken while AWS is already being read.
 *
 * AWS is read at once, beside a first look at the store and this identity's lock: AWS's answers are the critical
 * path. The first look says which other identities to lock, which inline policies the identity has and which
 * statements the grant wrote before (read as soon as it answers, beside the rest). Reads made before the lock
 * stand only if nobody held it (the lock free at the first try, and no other to take); otherwise AWS is read again
 * under the locks. Nothing of the request runs after its answer: the locks and leases go once the work settled.
 */

export interface Admitted {
  /** what the store said before the locks were held */
  hint: Hint;
  /** the identity keys locked: the grant's own, and those it moves from */
  locked: string[];
  observed: Promise<Observed>;
  /** the leases of the resource policies the request reserved (taken only when it will likely write) */
  reservations: PolicyReservations;
  locks: LockSet;
}

/** Whether a POST will likely write: its onboarding is not provisioned yet, or was with another request. */
export const likelyWrites = (record: OnboardingRecord | undefined, input: OnboardingInput) =>
  record?.status !== 'provisioned' || canonicalJson(record.request) !== canonicalJson(input);

export async function admitted<T>(deps: ServiceDeps, r: Resolved, work: (a: Admitted) => Promise<T>): Promise<T> {
  const locks = deps.store.locks.set();
  // AWS's reads are on their way before the store's are prepared (the SDK's work for each call is CPU on this one
  // thread): the store's first look and the lock start a turn of the event loop later
  const storeTurn = new Promise<void>((resolve) => setImmediate(resolve));
  const first = storeTurn.then(() =>
    Promise.all([
      deps.store.records.get(r.id),
      deps.store.identities.get(r.identity.key),
      deps.store.identities.bindings(r.identity.bindings),
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
    if (holderKeys.length)
      checkBindings(r, { bindings: hintBindings }, await deps.store.identities.getMany(holderKeys));
    const locked = [
      r.identity.key,
      ...(current && current.status !== 'deleted' ? [current.identityKey, current.movingFrom] : []),
    ].filter((k): k is string => !!k);
    const lockNames = locked.map(identityLock);
    // moving away from an identity whose last grant this is may remove its OIDC providers: hold theirs too
    const away = locked.filter((k) => k !== r.identity.key);
    for (const idRec of (away.length
      ? await deps.store.identities.getMany(away)
      : new Map<string, IdentityRecord>()
    ).values()) {
      if (idRec.grants.every((g) => g.id === r.id)) lockNames.push(...idRec.providers.map((p) => providerLock(p.arn)));
    }
    const uncontended = (await locks.take(lockNames)) && atOnce && lockNames.length === 1;
    // holding every lock it needs, at once: a request that will likely write takes the leases of the resource
    // policies it wants statements in, and reads them under the leases while AWS still answers its other reads;
    // once planned, each statement is one write (policy leases are only ever taken after the identity locks)
    if (uncontended && likelyWrites(current, r.input))
      for (const t of wantedTargets(r.want)) reservations.reserve(policyTarget(deps.sessions, t));
    const hint = { record: current, identityRecord: hintIdentity };
    return await work({
      hint,
      locked,
      observed: uncontended ? early : readAws(deps, r, hint),
      reservations,
      locks,
    });
  } finally {
    // a refusal before the reads came back answers once they have: nothing of this request runs after its answer
    // (nor holds a lock it was still taking when the store failed)
    await Promise.all([early.catch(() => undefined), taking.catch(() => undefined)]);
    await Promise.all([reservations.settle(), locks.release()]);
  }
}
