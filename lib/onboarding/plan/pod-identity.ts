import { boundaryArn, type Config } from '../../config';
import type { ServiceError } from '../../errors';
import {
  CHAIN_POLICY_NAME,
  chainGrant,
  desiredAssociations,
  eksClusterArn,
  POD_IDENTITY_AGENT_ADDON,
  podRoleAccounts,
  podRoleTrust,
  roleArnIn,
  type DesiredAssociation,
} from '../../policy/pod-identity';
import { roleTags, type GrantDesired, type GrantRef, type IdentityDesired } from '../model/desired';
import { bindingOf, describeBinding, TAG_IDENTITY, TAG_MANAGED_BY, type WorkloadIdentity } from '../model/onboarding';
import type { Observed } from '../gather/observe';
import { podRoleIdentity, whoOf } from '../model/onboarding';
import { planRole } from './role';
import type { Step } from '../model/steps';

/**
 * EKS Pod Identity for a workload identity of kind `pod-identity`: its desired state, its plan steps, what they do
 * in AWS, and what verify checks. The identity's role is built by the common planner (its trust is
 * `podIdentityTrust`, see desired.ts); this module adds
 *
 * - role chaining: for every cluster account other than the role's (`role-in-bucket-account` mode), a role of the
 *   same name, path and boundary in that account, trusted by EKS Pod Identity for these pods only, whose one
 *   inline policy lets it assume the identity's role (the association's `targetRoleArn`);
 * - one association per cluster × service account, naming the role of the cluster's account (and the target);
 *   created, re-pointed, or deleted with the identity's last grant. An association of one of the identity's
 *   service accounts that names a role the service does not manage is never taken over (409 before any write).
 */

export type PodIdentityStep = Extract<
  Step,
  { action: 'create-pod-identity-association' | 'update-pod-identity-association' | 'delete-pod-identity-association' }
>;

const ROLE_READY = new Set<Step['action']>(['create-role', 'update-trust-policy', 'set-permissions-boundary']);
const ASSOCIATION_ACTIONS = new Set<Step['action']>([
  'create-pod-identity-association',
  'update-pod-identity-association',
  'delete-pod-identity-association',
]);

function podRoleDesired(
  config: Config,
  identity: WorkloadIdentity,
  accountId: string,
  grants: readonly GrantRef[],
): IdentityDesired {
  const role = podRoleIdentity(identity, accountId);
  const who = whoOf(identity);
  return {
    identity: role,
    role: {
      name: role.roleName,
      path: config.workloadRolePath,
      arn: role.roleArn,
      trust: podRoleTrust(who, accountId),
      tags: roleTags(config, identity, grants),
      boundaryArn: boundaryArn(config, accountId),
      description:
        `s3-onboarding pod-identity identity ${identity.key}: EKS Pod Identity association role of ${who.namespace}/${who.serviceAccounts.join(',')} in the clusters of account ${accountId}; it only assumes ${identity.roleArn}`.slice(
          0,
          1000,
        ),
    },
    providers: [],
    policyNames: [CHAIN_POLICY_NAME],
  };
}

/** The accounts' chaining roles (for the answer's `roles`). */
export function podIdentityRoles(identity: WorkloadIdentity): { arn: string; accountId: string; purpose: string }[] {
  if (identity.kind !== 'pod-identity') return [];
  return podRoleAccounts(whoOf(identity)).map((a) => ({
    arn: roleArnIn(identity.roleArn, a),
    accountId: a,
    purpose: 'pod-identity-association',
  }));
}

/** The associations the identity wants (for the snippets). */
export const podIdentityAssociations = (identity: WorkloadIdentity): DesiredAssociation[] =>
  identity.kind === 'pod-identity' ? desiredAssociations(whoOf(identity)) : [];

const escapeRegExp = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * An association the service created (its tags say so) that still names one of the service's roles (another
 * identity's, now stale): the identity holding its binding now may re-point it. The tags decide ownership; an
 * untagged association is never the service's, whatever role it names, and one someone re-pointed at a role
 * outside the service's path is theirs now.
 */
const isServiceAssociation = (config: Config, a: { roleArn: string; tags: Record<string, string> }): boolean =>
  a.tags[TAG_MANAGED_BY] === config.managedByTag &&
  !!a.tags[TAG_IDENTITY] &&
  new RegExp(
    `^arn:aws:iam::\\d{12}:role${escapeRegExp(config.workloadRolePath)}${escapeRegExp(config.roleNamePrefix)}[\\w+=,.@-]+$`,
  ).test(a.roleArn);

/** Every role of an identity an association may name: its own, and the chaining role of each other cluster account. */
export const identityRoleArns = (identity: WorkloadIdentity): string[] =>
  identity.kind === 'pod-identity'
    ? [identity.roleArn, ...podRoleAccounts(whoOf(identity)).map((a) => roleArnIn(identity.roleArn, a))]
    : [identity.roleArn];

/** A step of the chaining role: ids unique in the plan (the common planner names steps after the identity key), scope the identity's. */
function relabel(s: Step, from: string, to: string): Step {
  const rename = (id: string) => (id.startsWith(`${from}:`) ? `${to}${id.slice(from.length)}` : id);
  return { ...s, id: rename(s.id), after: s.after.map(rename), scope: { kind: 'identity', key: from } } as Step;
}

export interface PodIdentityPlanInput {
  config: Config;
  identity: WorkloadIdentity;
  observed: Observed;
  /** the identity's grants once this change is done; none: the identity goes, and its associations with it */
  grants: readonly GrantRef[];
  /** the identity role's own steps: an association waits for the role it names */
  roleSteps: readonly Step[];
  /** bindings another identity of the same plan takes over: their associations are re-pointed by it, not deleted */
  handOver?: readonly string[];
  /** roles of the identity the store says these bindings move from: an association naming one is re-pointed */
  adopt?: readonly string[];
}

export interface PodIdentityPlan {
  steps: Step[];
  /** what refuses a POST (a 409 before any write) and fails verify: missing agents, associations of foreign roles */
  conflicts: { kind: 'agent' | 'foreign-association'; message: string }[];
  /** what refuses the chaining roles' changes (a role that is not the service's, a trust over its quota) */
  refusals: ServiceError[];
}

export function planPodIdentity(input: PodIdentityPlanInput): PodIdentityPlan {
  const { config, identity, observed, grants, roleSteps } = input;
  const pi = observed.podIdentity;
  if (identity.kind !== 'pod-identity' || !pi) return { steps: [], conflicts: [], refusals: [] };
  const who = whoOf(identity);
  const keep = grants.length > 0;
  const k = identity.key;
  const scope = { kind: 'identity' as const, key: k };
  const steps: Step[] = [];
  const conflicts: PodIdentityPlan['conflicts'] = [];
  const refusals: ServiceError[] = [];

  // role ARN → the steps an association naming it waits for
  const ready = new Map<string, string[]>([
    [
      identity.roleArn,
      roleSteps.filter((s) => s.resource === identity.roleArn && ROLE_READY.has(s.action)).map((s) => s.id),
    ],
  ]);
  for (const account of podRoleAccounts(who)) {
    const role = podRoleIdentity(identity, account);
    const plan = planRole({
      config,
      identity: role,
      observed: {
        ...observed,
        role: pi.podRoles.get(account),
        trustQuota: pi.quotas.get(account) ?? Infinity,
        providers: [],
        instanceRole: undefined,
      },
      desired: keep ? podRoleDesired(config, identity, account, grants) : undefined,
      grant: keep
        ? ({
            id: `${k}@${account}`,
            policyName: CHAIN_POLICY_NAME,
            permissions: chainGrant(identity.roleArn),
          } satisfies GrantDesired)
        : undefined,
    });
    refusals.push(...plan.refusals);
    const relabelled = plan.steps.map((s) => relabel(s, k, `${k}@${account}`));
    steps.push(...relabelled);
    ready.set(
      role.roleArn,
      relabelled.filter((s) => ROLE_READY.has(s.action)).map((s) => s.id),
    );
  }

  if (keep) {
    for (const m of pi.agentMissing ?? []) {
      conflicts.push({
        kind: 'agent',
        message: `cluster ${m.cluster.name} (${m.cluster.accountId}, ${m.cluster.region}) has no usable ${POD_IDENTITY_AGENT_ADDON} add-on${m.status ? ` (status ${m.status})` : ''}: EKS Pod Identity needs its agent on the nodes. Install it (aws eks create-addon --cluster-name ${m.cluster.name} --addon-name ${POD_IDENTITY_AGENT_ADDON}) and retry`,
      });
    }
  }

  const ours = new Set(ready.keys());
  for (const want of desiredAssociations(who)) {
    const binding = bindingOf(want.cluster, want.namespace, want.serviceAccount);
    const have = pi.associations.get(binding);
    const ref = {
      clusterName: want.cluster.name,
      region: want.cluster.region,
      namespace: want.namespace,
      serviceAccount: want.serviceAccount,
    };
    const base = {
      id: `${k}:association:${binding}`,
      accountId: want.cluster.accountId,
      resource: `${eksClusterArn(want.cluster)}#${want.namespace}/${want.serviceAccount}`,
      scope,
    };
    if (!keep) {
      // with the identity's last grant: its associations go, unless the identity taking the binding over re-points them
      if (have && ours.has(have.roleArn) && !input.handOver?.includes(binding)) {
        steps.push({
          ...base,
          action: 'delete-pod-identity-association',
          params: { ...ref, associationId: have.id },
          after: [],
        });
      }
      continue;
    }
    if (!have) {
      const tags: [string, string][] = [
        [TAG_MANAGED_BY, config.managedByTag],
        [TAG_IDENTITY, k],
      ];
      steps.push({
        ...base,
        action: 'create-pod-identity-association',
        params: {
          ...ref,
          roleArn: want.roleArn,
          ...(want.targetRoleArn ? { targetRoleArn: want.targetRoleArn } : {}),
          tags,
        },
        after: ready.get(want.roleArn) ?? [],
      });
      continue;
    }
    // ownership is by what the service tagged (or the roles of this identity and of the one the store says it
    // moves from), never by a name pattern: an association someone else made is never taken over
    if (!ours.has(have.roleArn) && !isServiceAssociation(config, have) && !input.adopt?.includes(have.roleArn)) {
      conflicts.push({
        kind: 'foreign-association',
        message: `${describeBinding(binding)} already has EKS Pod Identity association ${have.id} naming role ${have.roleArn}, which this service does not manage: it is never taken over (one association per service account). Delete it (aws eks delete-pod-identity-association --cluster-name ${want.cluster.name} --association-id ${have.id}) or onboard another service account, then retry`,
      });
      continue;
    }
    if (
      have.roleArn !== want.roleArn ||
      (have.targetRoleArn ?? '') !== (want.targetRoleArn ?? '') ||
      have.disableSessionTags
    ) {
      steps.push({
        ...base,
        action: 'update-pod-identity-association',
        params: {
          ...ref,
          associationId: have.id,
          roleArn: want.roleArn,
          ...(want.targetRoleArn ? { targetRoleArn: want.targetRoleArn } : {}),
        },
        after: ready.get(want.roleArn) ?? [],
      });
    }
  }
  return { steps, conflicts, refusals };
}

/** The plan's steps; what the plan cannot do is a 409 naming every cause, before any write. */
export const isPodIdentityStep = (s: Step): s is PodIdentityStep => ASSOCIATION_ACTIONS.has(s.action);
