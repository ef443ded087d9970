import { ConflictError, ContentionError, PartiallyAppliedError, ServiceError, TransientError } from '../errors';
import { renderSnippets } from '../snippets';
import { samePolicy } from '../policy/compare';
import { canonicalJson } from '../json';
import { policyTarget, stepRunner, targetKey } from './apply';
import {
  callerSafe,
  checkTargetAccounts,
  enforceGuardrails,
  forgetIdentity,
  identityLock,
  identityOfRecord,
  providerDeletion,
  providerLock,
  recordAfterWrites,
  removableProviders,
  type Caller,
  type HttpResult,
  type ServiceDeps,
} from './context';
import {
  identityDesired,
  resolveRequest,
  type GrantDesired,
  type GrantRef,
  type IdentityDesired,
  type ProviderRef,
  type Resolved,
} from './desired';
import { beforeDeadline, execute, fenced } from './execute';
import {
  describeBinding,
  grantPolicyName,
  type Change,
  type OnboardingInput,
  type OnboardingResult,
  type WorkloadIdentity,
} from './model';
import { observe, type Observed } from './observe';
import { planRole, planStatements, wantedTargets } from './plan';
import { checkOptIn } from './opt-in';
import { requirementsOf } from './requirements';
import { PolicyReservations } from './policy-writer';
import { orderMakeBeforeBreak } from './make-before-break';
import {
  identityRoleArns,
  planPodIdentity,
  podIdentityAssociations,
  podIdentityRoles,
  podIdentitySteps,
} from './pod-identity';
import {
  liveAfter,
  liveOf,
  recordBody,
  writtenOf,
  type GrantLive,
  type IdentityRecord,
  type OnboardingRecord,
} from './records';
import { changeOf, type Step } from './steps';
import type { LockSet } from '../store/store';

/**
 * POST: a grant on a workload identity, created or converged. Reads (the store and AWS, side by side) → desired
 * state → plan (every foreseeable refusal here, before any write) → the intent recorded → one executor → the
 * outcome recorded. A dry run stops after the plan.
 */

interface MovingAway {
  record: IdentityRecord;
  identity: WorkloadIdentity;
  observed: Observed;
  removable: string[];
}

interface ProvisionContext {
  record?: OnboardingRecord;
  /** a deleted onboarding's tombstone, replaced when it is onboarded again */
  tombstone?: OnboardingRecord;
  identityRecord?: IdentityRecord;
  /** binding key → identity key holding it */
  bindings: Map<string, string>;
  observed: Observed;
  moving?: MovingAway;
}

interface ProvisionPlan {
  desired: IdentityDesired;
  grant: GrantDesired;
  grants: GrantRef[];
  steps: Step[];
}

const upsertGrant = (grants: readonly GrantRef[], g: GrantRef): GrantRef[] =>
  [...grants.filter((x) => x.id !== g.id), g].sort((a, b) => a.id.localeCompare(b.id));

/**
 * One service account (or instance role) can use one role: a binding held by another identity that still has
 * grants is a 409 that names it. A holder without grants is stale (its last grant was removed) and may be taken
 * over; so may the identity this very grant is moving away from, when it is its last.
 */
function checkBindings(
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

interface StoreContext {
  record?: OnboardingRecord;
  tombstone?: OnboardingRecord;
  identityRecord?: IdentityRecord;
  bindings: Map<string, string>;
  holders: Map<string, IdentityRecord>;
  movingFrom?: string;
}

/** What the store says: the onboarding, its identity, who holds its bindings. A binding held elsewhere is a 409. */
async function readStore(deps: ServiceDeps, r: Resolved): Promise<StoreContext> {
  const { store } = deps;
  const [stored, identityRecord, bindings] = await Promise.all([
    store.getRecord(r.id),
    store.getIdentity(r.identity.key),
    store.getBindings(r.identity.bindings),
  ]);
  const record = stored && stored.status !== 'deleted' ? stored : undefined;
  const movingFrom =
    record?.movingFrom ?? (record && record.identityKey !== r.identity.key ? record.identityKey : undefined);
  const otherKeys = [...new Set([...bindings.values(), ...(movingFrom ? [movingFrom] : [])])].filter(
    (k) => k !== r.identity.key,
  );
  const holders = otherKeys.length ? await store.getIdentities(otherKeys) : new Map<string, IdentityRecord>();
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
interface Hint {
  record?: OnboardingRecord;
  identityRecord?: IdentityRecord;
}

/** The reads a hint adds to those of the request itself: the identity's inline policies, the grant's earlier targets. */
function readsOf(r: Resolved, hint: Hint) {
  const { want } = r;
  const written = hint.record && hint.record.status !== 'deleted' ? writtenOf(hint.record) : {};
  const buckets = [written.bucketStatements, want.bucketStatements]
    .filter((b): b is NonNullable<typeof b> => !!b)
    .map((b) => ({ accountId: b.accountId, bucket: b.bucket, region: b.region }));
  return {
    knownPolicies: [
      ...new Set([...(hint.identityRecord?.grants ?? []).map((g) => grantPolicyName(g.id)), grantPolicyName(r.id)]),
    ],
    buckets: [...new Map(buckets.map((b) => [`${b.accountId}/${b.bucket}`, b])).values()],
    keys: [...new Set([written.keyStatements?.keyArn, want.keyStatements?.keyArn].filter((k): k is string => !!k))],
  };
}

/**
 * What AWS holds for this grant. With a hint still on its way (the store's answer), everything the request
 * itself names is read at once, and what the hint adds as soon as it arrives, beside the rest.
 */
function readAws(deps: ServiceDeps, r: Resolved, hint: Hint | Promise<Hint>): Promise<Observed> {
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
    ...now,
    ...(pending ? { later: hint.then((h) => readsOf(r, h)) } : {}),
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
async function readContext(
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
  const [observed0, moving] = await Promise.all([
    observedP,
    movingRecord ? readMovingAway(deps, movingRecord, r.id) : Promise.resolve(undefined),
  ]);
  const observed = hint && hintMissed(r, hint, st) ? await readAws(deps, r, st) : observed0;
  return {
    record: st.record,
    tombstone: st.tombstone,
    identityRecord: st.identityRecord,
    bindings: st.bindings,
    observed,
    moving,
  };
}

/** True when the store, read under the lock, names a resource policy (a key the grant used) the early reads skipped. */
function hintMissed(_r: Resolved, hint: { record?: OnboardingRecord }, st: StoreContext): boolean {
  const targets = (rec?: OnboardingRecord) => {
    const w = rec && rec.status !== 'deleted' ? writtenOf(rec) : {};
    return JSON.stringify([
      w.bucketStatements && [w.bucketStatements.accountId, w.bucketStatements.bucket],
      w.keyStatements?.keyArn,
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

function planProvision(deps: ServiceDeps, r: Resolved, ctx: ProvisionContext): ProvisionPlan {
  // the bucket's and key's owners opted in, whatever the mode (refused here, before any write)
  checkOptIn(r.grant.mode, ctx.observed.optIn);
  const grants = upsertGrant(ctx.identityRecord?.grants ?? [], { id: r.id, tags: r.grant.tags });
  const desired = identityDesired(deps.config, r.identity, grants, ctx.observed.issuers);
  const grant = r.want;
  const steps = [
    ...planRole({ config: deps.config, identity: r.identity, observed: ctx.observed, desired, grant }).steps,
  ];
  // the service accounts this grant moves from another identity of the service keep their associations: re-pointed
  const adopt = ctx.moving ? identityRoleArns(ctx.moving.identity) : [];
  steps.push(
    ...podIdentitySteps({
      config: deps.config,
      identity: r.identity,
      observed: ctx.observed,
      grants,
      roleSteps: steps,
      adopt,
    }),
  );
  if (ctx.moving) {
    const m = ctx.moving;
    const rest = m.record.grants.filter((g) => g.id !== r.id);
    const restDesired = rest.length
      ? identityDesired(
          deps.config,
          m.identity,
          rest,
          m.record.providers.map((p) => p.issuerUrl),
        )
      : undefined;
    const away = planRole({
      config: deps.config,
      identity: m.identity,
      observed: m.observed,
      desired: restDesired,
      removableProviders: m.removable,
    }).steps;
    // the service accounts this grant takes along keep their associations when the new identity re-points them
    // (Pod Identity to Pod Identity); moving to IRSA, the old associations go with the old identity
    const handOver = r.identity.kind === 'pod-identity' ? r.identity.bindings : [];
    steps.push(
      ...away,
      ...planPodIdentity({
        config: deps.config,
        identity: m.identity,
        observed: m.observed,
        grants: rest,
        roleSteps: away,
        handOver,
      }).steps,
    );
  }
  steps.push(...planStatements(r.id, ctx.observed, ctx.record ? writtenOf(ctx.record) : {}, grant));
  return { desired, grant, grants, steps: orderMakeBeforeBreak(steps) };
}

/** The answer to POST: the role, what changed (or would), the policies and the tool's snippets. */
function resultOf(
  r: Resolved,
  plan: ProvisionPlan,
  changes: Change[],
  status: 'provisioned' | 'planned',
): OnboardingResult {
  const input = r.input;
  const { identity } = r;
  return {
    id: r.id,
    status,
    roleArn: identity.roleArn,
    roles: [
      {
        arn: identity.roleArn,
        accountId: identity.roleAccount,
        purpose: identity.kind === 'ec2' ? 'ec2-assumed-workload' : `${identity.kind}-workload`,
      },
      ...podIdentityRoles(identity),
    ],
    changes,
    policies: {
      trust: plan.desired.role.trust,
      permissions: plan.grant.permissions,
      bucketPolicyStatements: plan.grant.bucketStatements?.statements ?? [],
      ...(plan.grant.keyStatements ? { keyPolicyStatements: plan.grant.keyStatements.statements } : {}),
      ...(plan.desired.instanceGrant ? { instanceRoleGrant: plan.desired.instanceGrant.document } : {}),
    },
    requirements: requirementsOf(input),
    snippets: renderSnippets({
      onboardingId: r.id,
      tool: input.tool,
      access: input.access,
      roleArn: identity.roleArn,
      bucket: {
        name: input.bucket.name,
        region: input.bucket.region,
        prefix: r.grant.bucket.prefix || undefined,
        kmsKeyArn: input.bucket.kmsKeyArn,
      },
      workload:
        input.workload.type === 'eks'
          ? { ...input.workload, serviceAccounts: identity.serviceAccounts }
          : input.workload,
      ...(identity.kind === 'pod-identity' ? { podIdentity: { associations: podIdentityAssociations(identity) } } : {}),
      requirements: requirementsOf(input),
    }),
  };
}

/** What the request recorded before its first write, and how to take it back if nothing gets written. */
interface Intent {
  record: OnboardingRecord;
  previousRecord?: OnboardingRecord;
  tombstone?: OnboardingRecord;
  identityRecord: IdentityRecord;
  previousIdentity?: IdentityRecord;
  claimed: string[];
  providersAdded: string[];
}

function identityRecordOf(
  identity: WorkloadIdentity,
  providers: ProviderRef[],
  grants: GrantRef[],
  previous: IdentityRecord | undefined,
  now: string,
): IdentityRecord {
  return {
    key: identity.key,
    version: previous?.version ?? 0,
    kind: identity.kind,
    roleAccount: identity.roleAccount,
    roleName: identity.roleName,
    roleArn: identity.roleArn,
    clusters: identity.clusters,
    ...(identity.namespace ? { namespace: identity.namespace } : {}),
    serviceAccounts: identity.serviceAccounts,
    ...(identity.instanceRoleArn ? { instanceRoleArn: identity.instanceRoleArn } : {}),
    bindings: identity.bindings,
    providers,
    grants,
    createdAt: previous?.createdAt ?? now,
    updatedAt: now,
  };
}

/**
 * Records, before the first write, what this request is about to do: its bindings claimed, the grant on its
 * identity, the onboarding as `provisioning` with the statements it sets out to write. It does not need AWS's
 * answers, so it runs while AWS is read; a plan that then refuses takes it back.
 */
async function writeIntent(
  deps: ServiceDeps,
  r: Resolved,
  st: StoreContext,
  input: OnboardingInput,
  caller: Caller,
): Promise<Intent> {
  const { store } = deps;
  const now = new Date().toISOString();
  const grant = r.want;
  const grants = upsertGrant(st.identityRecord?.grants ?? [], { id: r.id, tags: r.grant.tags });
  const intent: Intent = {
    record: undefined as unknown as OnboardingRecord,
    previousRecord: st.record,
    tombstone: st.tombstone,
    identityRecord: undefined as unknown as IdentityRecord,
    previousIdentity: st.identityRecord,
    claimed: [],
    providersAdded: [],
  };
  try {
    // bindings first: they are what two different identities race for
    await Promise.all(
      r.identity.bindings.map(async (b) => {
        const holder = st.bindings.get(b);
        if (holder === r.identity.key) return;
        if (!(await store.claimBinding(b, r.identity.key, holder))) {
          throw new ConflictError(
            `${describeBinding(b)} was bound to another role by a concurrent request; retry to see which`,
          );
        }
        intent.claimed.push(b);
      }),
    );
    const [identityRecord, record] = await Promise.all([
      store.saveIdentity(
        identityRecordOf(r.identity, st.identityRecord?.providers ?? [], grants, st.identityRecord, now),
        st.identityRecord?.version ?? 0,
      ),
      store.saveRecord(
        {
          schema: 2,
          id: r.id,
          version: (st.record ?? st.tombstone)?.version ?? 0,
          status: 'provisioning',
          request: input,
          identityKey: r.identity.key,
          ...(st.movingFrom ? { movingFrom: st.movingFrom } : {}),
          roleArn: r.identity.roleArn,
          live: st.record?.live ?? {},
          ...(st.record?.desired ? { desired: st.record.desired } : {}),
          ...(st.record?.result ? { result: st.record.result } : {}),
          // the sweep's last finding stands until the sweep looks again (a repair by this request then resolves it)
          ...(st.record?.drift ? { drift: st.record.drift } : {}),
          attempt: {
            stepsPlanned: [],
            stepsDone: [],
            writing: { bucketStatements: grant.bucketStatements, keyStatements: grant.keyStatements },
          },
          createdAt: st.record?.createdAt ?? now,
          updatedAt: now,
          requestedBy: caller.principal,
        },
        (st.record ?? st.tombstone)?.version ?? 0,
        st.record,
      ),
    ]).catch(async (e) => {
      // one of the two may have been written: the rollback below reads what is there
      intent.record = (await store.getRecord(r.id)) as OnboardingRecord;
      intent.identityRecord = (await store.getIdentity(r.identity.key)) as IdentityRecord;
      throw e;
    });
    intent.record = record;
    intent.identityRecord = identityRecord;
    return intent;
  } catch (e) {
    await rollback(deps, r, intent);
    throw e;
  }
}

/**
 * Once the plan is known: this identity registered on the OIDC providers its trust will name, then its record
 * lists them (for their removal with its last grant). Both come before the trust names a new provider is relied
 * on: a grant that fails later leaves the identity registered where its record says, and a rollback takes both back.
 */
async function registerProviders(deps: ServiceDeps, r: Resolved, intent: Intent, plan: ProvisionPlan): Promise<void> {
  const known = new Set(intent.previousIdentity?.providers.map((p) => p.arn) ?? []);
  await Promise.all(
    plan.desired.providers.map(async (p) => {
      if (known.has(p.arn)) return;
      if (!(await deps.store.addProviderUser(p.arn, r.identity.key)))
        throw new TransientError(
          `the IAM OIDC provider ${p.arn} is being deleted by another request; retry in a few seconds`,
        );
      intent.providersAdded.push(p.arn);
    }),
  );
  if (canonicalJson(intent.identityRecord.providers) !== canonicalJson(plan.desired.providers)) {
    intent.identityRecord = await deps.store.saveIdentity(
      { ...intent.identityRecord, providers: plan.desired.providers },
      intent.identityRecord.version,
    );
  }
}

/** Takes back what the intent recorded, when nothing was written to AWS. */
async function rollback(deps: ServiceDeps, r: Resolved, intent: Intent): Promise<void> {
  const { store } = deps;
  const tasks: Promise<unknown>[] = [];
  if (intent.record && intent.record.version !== (intent.previousRecord ?? intent.tombstone)?.version) {
    const previous = intent.previousRecord ?? intent.tombstone;
    tasks.push(
      previous
        ? store.saveRecord({ ...previous }, intent.record.version, intent.record)
        : store.deleteRecord(intent.record),
    );
  }
  if (intent.identityRecord && intent.identityRecord.version !== intent.previousIdentity?.version) {
    tasks.push(
      intent.previousIdentity
        ? store.saveIdentity({ ...intent.previousIdentity }, intent.identityRecord.version)
        : store.deleteIdentity(intent.identityRecord),
    );
  }
  tasks.push(...intent.claimed.map((b) => store.releaseBinding(b, r.identity.key)));
  tasks.push(...intent.providersAdded.map((arn) => store.removeProviderUser(arn, r.identity.key)));
  await Promise.allSettled(tasks);
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
): Promise<boolean> {
  // a new grant: the identity keeps the grants it had, and this one goes
  const before = (ctx.identityRecord?.grants ?? []).filter((g) => g.id !== r.id);
  const targets = [written.bucketStatements].filter((b): b is NonNullable<typeof b> => !!b);
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
    keys: written.keyStatements ? [written.keyStatements.keyArn] : [],
  });
  const desired = before.length ? identityDesired(deps.config, r.identity, before, ctx.observed.issuers) : undefined;
  const rolePlan = planRole({
    config: deps.config,
    identity: r.identity,
    observed,
    desired,
    removableProviders: desired ? [] : createdProviders,
  }).steps;
  // an identity that stays keeps everything but this grant: undoing takes back this grant's policy and the role's
  // tags, and repairs nothing (a 4xx leaves the identity as the request found it, drift included)
  const ownPolicy = grantPolicyName(r.id);
  const roleSteps = desired
    ? rolePlan.filter(
        (s) =>
          (s.action === 'delete-role-policy' && s.params.policyName === ownPolicy) ||
          s.action === 'tag-role' ||
          s.action === 'untag-role',
      )
    : rolePlan;
  const steps = orderMakeBeforeBreak([
    ...roleSteps,
    // EKS Pod Identity: with the identity's last grant, its chaining roles and associations go too
    ...(desired
      ? []
      : planPodIdentity({ config: deps.config, identity: r.identity, observed, grants: before, roleSteps }).steps),
    ...planStatements(r.id, observed, written, undefined),
  ]);
  const exec = await execute(
    steps,
    stepRunner({ sessions: deps.sessions, writer: deps.writer, providers: providerDeletion(deps, [r.identity.key]) }),
  );
  return exec.failed.length === 0;
}

/** `deadline`: when the function will be stopped (ms since the epoch); no step starts that it cannot cover. */
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
    ...result,
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
