import type { Config } from '../../config';
import { ConflictError, QuotaExceededError, ServiceError } from '../../errors';
import type { ObservedOptIn, Observed } from '../gather/observe';
import { identityDesired, type GrantDesired, type GrantRef, type IdentityDesired } from '../model/desired';
import { type KeyGrant } from '../model/key-grant';
import { grantPolicyName, type Mode, type WorkloadIdentity } from '../model/onboarding';
import type { Step } from '../model/steps';
import { quotaExceeded, quotaRefusals, type QuotaAdds, type QuotaReading } from '../../policy/quotas';
import { orderMakeBeforeBreak } from './make-before-break';
import { optInRefusal } from './opt-in';
import { identityRoleArns, planPodIdentity, type PodIdentityPlan } from './pod-identity';
import { planRole, type LeftToOwner } from './role';
import { planStatements, type WrittenStatements } from './statements';
import { planKeyGrants } from './key-grants';
import { orderGrantPolicy, planAccessPoint } from './access-points';
import type { GrantLive } from '../model/records';

/**
 * The one planner: from what is live (current) and the grants wanted after the request (desired), the steps that
 * get there and the refusals that forbid it. Pure: what AWS and the store hold comes in as data; steps and refusals
 * go out as data, and each verb decides what a refusal means to it (POST and a dry run answer the first, verify
 * reports them as failing checks, DELETE refuses only what stops a removal). Every verb plans through it: POST
 * (create, converge, a move from another identity), DELETE, the undo of a refused new grant, and verify.
 *
 * Make before break is a property of every plan: the steps come out ordered so that nothing that removes or
 * narrows access starts before what replaces it is done (make-before-break.ts).
 */

/** What is live for one workload identity the change touches. */
interface IdentityState {
  identity: WorkloadIdentity;
  observed: Observed;
  /** the issuers of the OIDC providers its trust names (its trust is rebuilt from them) */
  issuers: readonly string[];
  /** should it go: the OIDC providers that may go with it (created by the service, trusted by nothing else) */
  removableProviders?: readonly string[];
}

export interface Current {
  config: Config;
  grantId: string;
  /** the identity the grant is on after the change first, then those it leaves */
  identities: readonly IdentityState[];
  /**
   * what the grant wrote before (from its record): its bucket-policy statements, the KMS grants it made, and a
   * key-policy statement an older version wrote
   */
  written: WrittenStatements & { keyGrants?: readonly KeyGrant[]; accessPoint?: GrantLive['accessPoint'] };
  /** what the grant's resource policies (bucket, key) and KMS grants hold now, and their owners' opt-in */
  resources: Pick<Observed, 'resourcePolicies' | 'resourceTags' | 'keyGrants' | 'accessPoints'> & {
    optIn?: ObservedOptIn;
  };
  /** whether a key-policy statement of an older version is removed (default: the configuration's; verify: always) */
  migrateKeyPolicies?: boolean;
  /** the AWS quotas the change may add to, as read (only those read are checked) */
  quotas?: readonly QuotaReading[];
}

export interface Desired {
  /** the grants each identity holds once the change is done, by identity key; none: the identity goes */
  grants: ReadonlyMap<string, readonly GrantRef[]>;
  /** the grant as wanted, on the identity that holds it after the change; none: the grant goes (DELETE, undo) */
  grant?: { identityKey: string; want: GrantDesired; mode: Mode };
  /** an undo: an identity that stays takes back only this grant's policy and the role's tags, and repairs nothing */
  undo?: boolean;
}

/** Why a change cannot be made, named after what forbids it (verify reports each as the check of that name). */
interface Refusal {
  check: 'opt-in' | 'plan' | 'pod-identity' | 'quota';
  error: ServiceError;
}

export interface Transition {
  steps: Step[];
  refusals: Refusal[];
  /** removals the service may no longer make (an opt-in withdrawn): left to the owner, never a refusal */
  left: LeftToOwner[];
  /** what each identity holds once the change is done, by identity key (undefined: it goes) */
  identities: Map<string, IdentityDesired | undefined>;
  /** the EKS Pod Identity plan of each identity (verify reports its associations and agents) */
  podIdentity: Map<string, PodIdentityPlan>;
}

/** The steps of an undo on an identity that stays: this grant's policy goes, the role's tags are restored. */
const undoesOnly = (grantId: string) => (s: Step) =>
  (s.action === 'delete-role-policy' && s.params.policyName === grantPolicyName(grantId)) ||
  s.action === 'tag-role' ||
  s.action === 'untag-role';

export function planTransition(current: Current, desired: Desired): Transition {
  const { config, grantId } = current;
  const out: Transition = { steps: [], refusals: [], left: [], identities: new Map(), podIdentity: new Map() };
  const refuse = (check: Refusal['check'], errors: readonly ServiceError[]) =>
    out.refusals.push(...errors.map((error) => ({ check, error })));
  const grant = desired.grant;
  // the bucket's and key's owners opted in, whatever the mode
  if (grant) {
    const notOptedIn = optInRefusal(grant.mode, current.resources.optIn);
    if (notOptedIn) refuse('opt-in', [notOptedIn]);
  }
  const grantsOf = (key: string) => desired.grants.get(key) ?? [];
  for (const state of current.identities) {
    const { identity, observed } = state;
    const grants = grantsOf(identity.key);
    const stays = grants.length > 0;
    const others = current.identities.filter((o) => o.identity.key !== identity.key);
    const wanted = stays ? identityDesired(config, identity, grants, state.issuers) : undefined;
    out.identities.set(identity.key, wanted);
    const gains = grant?.identityKey === identity.key;
    const role = planRole({
      config,
      identity,
      observed,
      desired: wanted,
      grant: gains ? grant.want : undefined,
      removableProviders: stays ? [] : state.removableProviders,
    });
    refuse('plan', role.refusals);
    out.left.push(...(role.left ?? []));
    if (desired.undo && stays) {
      out.steps.push(...role.steps.filter(undoesOnly(grantId)));
      continue;
    }
    out.steps.push(...role.steps);
    // EKS Pod Identity: an identity that stays re-points the associations of the identities this change moves
    // bindings from (adopt); one that goes deletes its associations, except those a Pod Identity identity staying
    // here re-points (handOver: an IRSA identity never uses an association)
    const pod = planPodIdentity({
      config,
      identity,
      observed,
      grants,
      roleSteps: role.steps,
      adopt: stays ? others.flatMap((o) => identityRoleArns(o.identity)) : [],
      handOver: others.flatMap((o) =>
        o.identity.kind === 'pod-identity' && grantsOf(o.identity.key).length ? o.identity.bindings : [],
      ),
    });
    out.podIdentity.set(identity.key, pod);
    out.steps.push(...pod.steps);
    refuse('plan', pod.refusals);
    // missing agents and foreign associations refuse only the identity that gains the grant: a removal, or another
    // identity's grant, is never blocked by what matters only when adding
    if (gains && pod.conflicts.length)
      refuse('pod-identity', [new ConflictError(pod.conflicts.map((c) => c.message).join('; '))]);
  }
  // key policies are never changed: only a statement an older version wrote goes, once its KMS grant exists
  const statements = planStatements(
    grantId,
    current.resources,
    { bucketStatements: current.written.bucketStatements },
    grant?.want,
  );
  refuse('plan', statements.refusals);
  const keys = planKeyGrants({
    grantId,
    observed: current.resources,
    written: current.written.keyGrants ?? [],
    want: grant?.want.keyGrant,
    keyStatements: current.written.keyStatements,
    migrateKeyPolicies: current.migrateKeyPolicies ?? config.keyPolicyMigration,
    others: out.steps,
  });
  out.left.push(...keys.left);
  refuse('plan', keys.refusals);
  // access-point mode: the grant's access point and the bucket's one delegation to the service's access points
  let accessPoint: Step[] = [];
  try {
    accessPoint = planAccessPoint({
      config,
      grantId,
      observed: current.resources as Observed,
      written: current.written,
      want: grant?.want,
    });
  } catch (e) {
    if (!(e instanceof ServiceError)) throw e;
    refuse(e instanceof QuotaExceededError ? 'quota' : 'plan', [e]);
  }
  // the grant's one inline policy is rewritten only once what it will name is in place (a move between modes)
  out.steps = orderMakeBeforeBreak(
    orderGrantPolicy([...out.steps, ...statements.steps, ...keys.steps, ...accessPoint], grantId),
  );
  // what the steps create, against the quotas read: a full one refuses the change before any write
  const full = quotaExceeded(quotaRefusals(current.quotas ?? [], quotaAdds(out.steps), QUOTA_FIELDS));
  if (full) refuse('quota', [full]);
  return out;
}

const QUOTA_FIELDS = {
  roles: 'workload',
  oidcProviders: 'workload.clusters',
  accessPoints: 'crossAccountMode',
  grants: 'bucket.kmsKeyArn',
} as const;

/** How many of each quota's things the steps create, by the scope each quota is counted over. */
function quotaAdds(steps: readonly Step[]): QuotaAdds {
  const adds: Record<string, Record<string, number>> = {};
  const add = (kind: string, scope: string) => {
    adds[kind] ??= {};
    adds[kind][scope] = (adds[kind][scope] ?? 0) + 1;
  };
  for (const s of steps) {
    if (s.action === 'create-role') add('roles', s.accountId);
    else if (s.action === 'create-oidc-provider') add('oidcProviders', s.accountId);
    else if (s.action === 'create-access-point') add('accessPoints', `${s.accountId}:${s.params.region}`);
    else if (s.action === 'create-key-grant') add('grants', s.params.grant.keyArn);
  }
  return adds;
}

/** The first refusal, for a verb that answers it (POST, a dry run); undefined: the change may be made. */
export const firstRefusal = (t: Pick<Transition, 'refusals'>): ServiceError | undefined => t.refusals[0]?.error;
