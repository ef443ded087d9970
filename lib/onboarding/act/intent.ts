import { ConflictError, TransientError } from '../../errors';
import { canonicalJson } from '../../json';
import { type Caller, type ServiceDeps } from '../model/deps';
import { type GrantRef, type ProviderRef, type Resolved } from '../model/desired';
import { describeBinding, type OnboardingInput, type WorkloadIdentity } from '../model/onboarding';
import { type IdentityRecord, type OnboardingRecord } from '../model/records';
import { type StoreContext } from '../gather/provision';
import { upsertGrant, type ProvisionPlan } from '../plan/provision';

/** POST's intent: what it records before its first write, and how it is taken back when nothing got written. */

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
        if (!(await store.identities.claimBinding(b, r.identity.key, holder))) {
          throw new ConflictError(
            `${describeBinding(b)} was bound to another role by a concurrent request; retry to see which`,
          );
        }
        intent.claimed.push(b);
      }),
    );
    const [identityRecord, record] = await Promise.all([
      store.identities.save(
        identityRecordOf(r.identity, st.identityRecord?.providers ?? [], grants, st.identityRecord, now),
        st.identityRecord?.version ?? 0,
      ),
      store.records.save(
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
            writing: { bucketStatements: grant.bucketStatements, keyGrant: grant.keyGrant },
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
      intent.record = (await store.records.get(r.id)) as OnboardingRecord;
      intent.identityRecord = (await store.identities.get(r.identity.key)) as IdentityRecord;
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
      if (!(await deps.store.providers.addUser(p.arn, r.identity.key)))
        throw new TransientError(
          `the IAM OIDC provider ${p.arn} is being deleted by another request; retry in a few seconds`,
        );
      intent.providersAdded.push(p.arn);
    }),
  );
  if (canonicalJson(intent.identityRecord.providers) !== canonicalJson(plan.desired.providers)) {
    intent.identityRecord = await deps.store.identities.save(
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
        ? store.records.save({ ...previous }, intent.record.version, intent.record)
        : store.records.delete(intent.record),
    );
  }
  if (intent.identityRecord && intent.identityRecord.version !== intent.previousIdentity?.version) {
    tasks.push(
      intent.previousIdentity
        ? store.identities.save({ ...intent.previousIdentity }, intent.identityRecord.version)
        : store.identities.delete(intent.identityRecord),
    );
  }
  tasks.push(...intent.claimed.map((b) => store.identities.releaseBinding(b, r.identity.key)));
  tasks.push(...intent.providersAdded.map((arn) => store.providers.removeUser(arn, r.identity.key)));
  await Promise.allSettled(tasks);
}
