import { ConflictError, TransientError } from '../../errors';
import { canonicalJson } from '../../json';
import { stepRunner } from './apply';
import { providerDeletion } from './record-keeping';
import { type Caller, type ServiceDeps } from '../model/deps';
import { identityDesired, type GrantRef, type ProviderRef, type Resolved } from '../model/desired';
import { execute } from './execute';
import { describeBinding, grantPolicyName, type OnboardingInput, type WorkloadIdentity } from '../model/onboarding';
import { observe } from '../gather/observe';
import { planRole } from '../plan/role';
import { planStatements } from '../plan/statements';
import { orderMakeBeforeBreak } from '../plan/make-before-break';
import { planPodIdentity } from '../plan/pod-identity';
import { planAccessPoint } from '../plan/access-points';
import { accessPointRead } from '../gather/access-points';
import { type GrantLive, type IdentityRecord, type OnboardingRecord } from '../model/records';

import { type ProvisionContext, type StoreContext } from '../gather/provision';
import { upsertGrant, type ProvisionPlan } from '../plan/provision';

/** POST's record-keeping around its writes: the intent before the first, its rollback, and the undo of a refused new grant. */

export interface Intent {
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
export async function writeIntent(
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
            writing: {
              bucketStatements: grant.bucketStatements,
              keyStatements: grant.keyStatements,
              // access-point mode: the access point it sets out to make (of the derivation's first name; another
              // name is found again by its tags)
              ...(grant.accessPoint && {
                accessPoint: {
                  accountId: grant.accessPoint.accountId,
                  region: grant.accessPoint.region,
                  bucket: grant.accessPoint.bucket,
                  name: grant.accessPoint.name,
                  arn: grant.accessPoint.arn,
                },
              }),
            },
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
export async function registerProviders(
  deps: ServiceDeps,
  r: Resolved,
  intent: Intent,
  plan: ProvisionPlan,
): Promise<void> {
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
export async function rollback(deps: ServiceDeps, r: Resolved, intent: Intent): Promise<void> {
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
export async function undo(
  deps: ServiceDeps,
  r: Resolved,
  ctx: ProvisionContext,
  written: GrantLive,
  createdProviders: string[],
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
    keys: written.keyStatements ? [written.keyStatements.keyArn] : [],
    accessPoint: accessPointRead(deps.config.managedByTag, r.id, undefined, written.accessPoint),
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
    ...planAccessPoint({ config: deps.config, grantId: r.id, observed, written }),
  ]);
  const exec = await execute(
    steps,
    stepRunner({ sessions: deps.sessions, writer: deps.writer, providers: providerDeletion(deps, [r.identity.key]) }),
  );
  return exec.failed.length === 0;
}

/** `deadline`: when the function will be stopped (ms since the epoch); no step starts that it cannot cover. */
