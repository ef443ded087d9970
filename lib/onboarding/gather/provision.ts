import { ConflictError } from '../../errors';
import { identityOfRecord } from '../model/records';
import { removableProviders } from './providers';
import { type ServiceDeps } from '../model/deps';
import { type Resolved } from '../model/desired';
import { describeBinding, grantPolicyName, type WorkloadIdentity } from '../model/onboarding';
import { observe, type Observed } from './observe';
import type { QuotaReading } from '../../policy/quotas';
import {
  keyGrantReads,
  writtenKeyGrants,
  writtenOf,
  type IdentityRecord,
  type OnboardingRecord,
} from '../model/records';
import { accessPointRead } from './access-points';

/** POST's reads: the store's view and AWS's, side by side, and the identity a grant moves away from. */

interface MovingAway {
  record: IdentityRecord;
  identity: WorkloadIdentity;
  observed: Observed;
  removable: string[];
}

export interface ProvisionContext {
  record?: OnboardingRecord;
  /** a deleted onboarding's tombstone, replaced when it is onboarded again */
  tombstone?: OnboardingRecord;
  identityRecord?: IdentityRecord;
  /** binding key → identity key holding it */
  bindings: Map<string, string>;
  observed: Observed;
  moving?: MovingAway;
  /** the AWS quotas this request may add to (a new identity's role, its OIDC providers), read beside the rest */
  quotas: QuotaReading[];
}

/**
 * One service account (or instance role) can use one role: a binding held by another identity that still has
 * grants is a 409 that names it. A holder without grants is stale (its last grant was removed) and may be taken
 * over; so may the identity this very grant is moving away from, when it is its last.
 */
export function checkBindings(
  r: Resolved,
  ctx: { bindings: Map<string, string> },
  holders: Map<string, IdentityRecord>,
): void {
  const conflicts = new Map<string, { holder: IdentityRecord; bindings: string[] }>();
  for (const b of r.identity.bindings) {
    const holderKey = ctx.bindings.get(b);
    if (!holderKey || holderKey === r.identity.key) continue;
    const holder = holders.get(holderKey);
    const active = (holder?.grants ?? []).filter((g) => g.id !== r.id);
    if (!holder || active.length === 0) continue;
    const entry = conflicts.get(holderKey) ?? { holder, bindings: [] };
    entry.bindings.push(b);
    conflicts.set(holderKey, entry);
  }
  if (!conflicts.size) return;
  const parts = [...conflicts.values()].map(({ holder, bindings }) => {
    const grants = holder.grants.filter((g) => g.id !== r.id).map((g) => g.id);
    return `${bindings.map(describeBinding).join(', ')} ${bindings.length > 1 ? 'are' : 'is'} already bound to role ${holder.roleArn} (workload identity ${holder.key}) by onboarding(s) ${grants.join(', ')}`;
  });
  throw new ConflictError(
    `${parts.join('; ')}. A service account (or instance role) can use only one role, so onboardings of it must name the same clusters, namespace, service accounts and role account to share that role: onboard with those, or DELETE the onboarding(s) above first`,
  );
}

export interface StoreContext {
  record?: OnboardingRecord;
  tombstone?: OnboardingRecord;
  identityRecord?: IdentityRecord;
  bindings: Map<string, string>;
  holders: Map<string, IdentityRecord>;
  movingFrom?: string;
}

/** What the store says: the onboarding, its identity, who holds its bindings. A binding held elsewhere is a 409. */
export async function readStore(deps: ServiceDeps, r: Resolved): Promise<StoreContext> {
  const { store } = deps;
  const [stored, identityRecord, bindings] = await Promise.all([
    store.records.get(r.id),
    store.identities.get(r.identity.key),
    store.identities.bindings(r.identity.bindings),
  ]);
  const record = stored && stored.status !== 'deleted' ? stored : undefined;
  const movingFrom =
    record?.movingFrom ?? (record && record.identityKey !== r.identity.key ? record.identityKey : undefined);
  const otherKeys = [...new Set([...bindings.values(), ...(movingFrom ? [movingFrom] : [])])].filter(
    (k) => k !== r.identity.key,
  );
  const holders = otherKeys.length ? await store.identities.getMany(otherKeys) : new Map<string, IdentityRecord>();
  checkBindings(r, { bindings }, holders);
  return {
    record,
    tombstone: stored?.status === 'deleted' ? stored : undefined,
    identityRecord,
    bindings,
    holders,
    movingFrom,
  };
}

/** What the store says about a grant before AWS is read: which statements it wrote, which policies its identity has. */
export interface Hint {
  record?: OnboardingRecord;
  identityRecord?: IdentityRecord;
}

/** The reads a hint adds to those of the request itself: the identity's inline policies, the grant's earlier targets. */
function readsOf(r: Resolved, hint: Hint) {
  const { want } = r;
  const written = hint.record && hint.record.status !== 'deleted' ? writtenOf(hint.record) : {};
  const buckets = [written.bucketStatements, want.bucketStatements, written.accessPoint, want.accessPoint]
    .filter((b): b is NonNullable<typeof b> => !!b)
    .map((b) => ({ accountId: b.accountId, bucket: b.bucket, region: b.region }));
  return {
    knownPolicies: [
      ...new Set([...(hint.identityRecord?.grants ?? []).map((g) => grantPolicyName(g.id)), grantPolicyName(r.id)]),
    ],
    buckets: [...new Map(buckets.map((b) => [`${b.accountId}/${b.bucket}`, b])).values()],
    // an older version's key-policy statement: read to migrate it away
    keys: written.keyStatements ? [written.keyStatements.keyArn] : [],
    // the grants of this onboarding: none can exist without its record (the intent is recorded before the first
    // write), so a first onboarding reads none (its CreateGrant is idempotent by name in any case)
    keyGrants:
      hint.record && hint.record.status !== 'deleted'
        ? keyGrantReads(writtenKeyGrants(hint.record), want.keyGrant)
        : [],
    written,
  };
}

/**
 * What AWS holds for this grant. With a hint still on its way (the store's answer), everything the request
 * itself names is read at once, and what the hint adds as soon as it arrives, beside the rest.
 */
export function readAws(deps: ServiceDeps, r: Resolved, hint: Hint | Promise<Hint>): Promise<Observed> {
  const pending = hint instanceof Promise;
  const now = readsOf(r, pending ? {} : hint);
  return observe(deps.sessions, {
    identity: r.identity,
    clusters: r.identity.kind === 'irsa',
    bucketLocation: {
      accountId: r.grant.bucketAccount,
      name: r.grant.bucket.name,
      region: r.grant.bucket.region,
      path: 'bucket',
    },
    key: r.grant.bucket.kmsKeyArn,
    knownPolicies: now.knownPolicies,
    buckets: now.buckets,
    keys: now.keys,
    keyGrants: now.keyGrants,
    ...(pending ? { later: hint.then((h) => readsOf(r, h)) } : {}),
    // the grant's access points: what the derivation gives (at once), and the one its record names (once the store
    // says: a move out of access-point mode reads only that one)
    accessPoint: r.want.accessPoint
      ? accessPointRead(
          deps.config.managedByTag,
          r.id,
          r.want.accessPoint,
          now.written.accessPoint,
          pending ? hint.then((h) => readsOf(r, h).written.accessPoint) : undefined,
        )
      : (pending ? hint : Promise.resolve(hint)).then((h) =>
          accessPointRead(deps.config.managedByTag, r.id, undefined, readsOf(r, h).written.accessPoint),
        ),
    roleExists: pending ? hint.then((h) => !!h.identityRecord) : Promise.resolve(!!hint.identityRecord),
    tags: true,
    podIdentity: 'provision',
    optIn: {
      bucket: { accountId: r.grant.bucketAccount, bucket: r.grant.bucket.name, region: r.grant.bucket.region },
      key: r.grant.bucket.kmsKeyArn,
      readAbac: deps.config.s3AbacCheck,
    },
  });
}

/**
 * Everything a plan is made from: the store's view and AWS's, read side by side. `started`: reads already under
 * way, AWS's from a hint (the store read before the lock).
 */
export async function readContext(
  deps: ServiceDeps,
  r: Resolved,
  started?: { hint: Hint; observed: Promise<Observed>; store: Promise<StoreContext> },
): Promise<ProvisionContext> {
  const hint = started?.hint;
  const storeP = started?.store ?? readStore(deps, r);
  const observedP = started?.observed ?? readAws(deps, r, storeP);
  // a refusal from AWS may come before the store answers: it is handled below, not unhandled meanwhile
  observedP.catch(() => undefined);
  // a hint may miss what the store says now (a statement written by an attempt the hint did not see): read it too
  const st = await storeP;
  const movingRecord = st.movingFrom ? st.holders.get(st.movingFrom) : undefined;
  const [observed0, moving, quotas] = await Promise.all([
    observedP,
    movingRecord ? readMovingAway(deps, movingRecord, r.id) : Promise.resolve(undefined),
    readQuotas(deps, r, st, observedP),
  ]);
  const observed = hint && hintMissed(r, hint, st) ? await readAws(deps, r, st) : observed0;
  return {
    record: st.record,
    tombstone: st.tombstone,
    identityRecord: st.identityRecord,
    bindings: st.bindings,
    observed,
    moving,
    quotas,
  };
}

/**
 * The quotas a POST may add to, read only where it may: a new identity creates its role (roles per account) and,
 * with IRSA, may create OIDC providers (providers per account); a grant without them yet its access point and KMS
 * grant. Usage is read fresh, limits are kept a while
 * (lib/aws/quotas.ts); the planner refuses a plan that would go beyond one, before any write.
 */
function readQuotas(
  deps: ServiceDeps,
  r: Resolved,
  st: StoreContext,
  observed: Promise<Observed>,
): Promise<QuotaReading[]> {
  const reader = deps.quotas;
  if (!reader) return Promise.resolve([]);
  const account = r.identity.roleAccount;
  const { accessPoint, keyGrant } = r.want;
  const written = st.record ? writtenOf(st.record) : {};
  const grantsMade = st.record ? writtenKeyGrants(st.record) : [];
  return Promise.all([
    ...(st.identityRecord
      ? []
      : [
          reader.roles(account),
          // the providers AWS's reads already listed (observed.providers: every OIDC provider of the role's account)
          ...(r.identity.kind === 'irsa'
            ? [
                reader.oidcProvidersCounted(
                  account,
                  observed.then((o) => o.providers.length),
                ),
              ]
            : []),
        ]),
    // a grant that has no access point yet (new, or moving into access-point mode) makes one (access points per
    // account and Region); one without a grant on its key yet makes one (grants per key)
    ...(accessPoint && !written.accessPoint ? [reader.accessPoints(accessPoint.accountId, accessPoint.region)] : []),
    ...(keyGrant && !grantsMade.some((g) => g.keyArn === keyGrant.keyArn) ? [reader.grants(keyGrant.keyArn)] : []),
  ]);
}

/** True when the store, read under the lock, names a resource policy (a key the grant used) the early reads skipped. */
function hintMissed(_r: Resolved, hint: { record?: OnboardingRecord }, st: StoreContext): boolean {
  const targets = (rec?: OnboardingRecord) => {
    const w = rec && rec.status !== 'deleted' ? writtenOf(rec) : {};
    return JSON.stringify([
      w.bucketStatements && [w.bucketStatements.accountId, w.bucketStatements.bucket],
      w.keyStatements?.keyArn,
      rec && rec.status !== 'deleted' ? keyGrantReads(writtenKeyGrants(rec)) : [],
      w.accessPoint?.name,
    ]);
  };
  return targets(hint.record) !== targets(st.record);
}

async function readMovingAway(deps: ServiceDeps, record: IdentityRecord, grantId: string): Promise<MovingAway> {
  const identity = identityOfRecord(record);
  const last = record.grants.every((g) => g.id === grantId);
  const [observed, removable] = await Promise.all([
    observe(deps.sessions, {
      identity,
      knownPolicies: record.grants.map((g) => grantPolicyName(g.id)),
      buckets: [],
      keys: [],
    }),
    last ? removableProviders(deps, record) : Promise.resolve([]),
  ]);
  return { record, identity, observed, removable };
}
