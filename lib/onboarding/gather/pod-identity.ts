import type { ProvisionerSessions } from '../../aws/session';
import * as eksApi from '../../aws/eks';
import * as iamApi from '../../aws/iam';
import { ValidationError } from '../../errors';
import { CHAIN_POLICY_NAME, POD_IDENTITY_AGENT_ADDON, podRoleAccounts } from '../../policy/pod-identity';
import { bindingOf, podRoleIdentity, whoOf, type ClusterRef, type WorkloadIdentity } from '../model/onboarding';
import type { ObservedRole } from './observe';

/**
 * What AWS holds for a Pod Identity workload identity, read in parallel with everything else `observe` reads: the
 * chaining roles of the cluster accounts (role chaining), the associations of the identity's service accounts
 * (listed per cluster, then described: the list does not say which role they name), and, when provisioning or
 * verifying, whether each cluster runs the EKS Pod Identity agent.
 */

export interface ObservedAssociation {
  id: string;
  arn: string;
  roleArn: string;
  targetRoleArn?: string;
  disableSessionTags: boolean;
  /** the association's tags: the service's own carry its managed-by and identity tags */
  tags: Record<string, string>;
}

export interface ObservedPodIdentity {
  /** the chaining role of each cluster account other than the role's (undefined: it does not exist) */
  podRoles: Map<string, ObservedRole | undefined>;
  /** AssumeRolePolicySizeQuota per account whose role trust the plan may write (provisioning) */
  quotas: Map<string, number>;
  /** by binding key (`sa:<account>/<region>/<cluster>/<namespace>/<service account>`) */
  associations: Map<string, ObservedAssociation>;
  /** clusters without the eks-pod-identity-agent add-on (and not in EKS Auto Mode); only when it was checked */
  agentMissing?: { cluster: ClusterRef; status?: string }[];
}

/**
 * `provision`: a cluster that does not exist is a 400 naming it, the agent is checked, trust quotas are read.
 * `verify`: the agent is checked. Otherwise (DELETE): a cluster that is gone simply holds no association.
 */
export type PodIdentityReadMode = 'provision' | 'verify' | 'remove';

const AGENT_UNUSABLE = new Set(['CREATE_FAILED', 'DELETING', 'DELETE_FAILED']);

async function readCluster(
  sessions: ProvisionerSessions,
  identity: WorkloadIdentity,
  cluster: ClusterRef,
  index: number,
  mode: PodIdentityReadMode,
): Promise<{ associations: [string, ObservedAssociation][]; agentMissing?: { cluster: ClusterRef; status?: string } }> {
  const eks = sessions.eks(cluster.accountId, cluster.region);
  const namespace = identity.namespace!;
  const wanted = new Set(identity.serviceAccounts);
  const checkAgent = mode !== 'remove';
  const [listed, agent] = await Promise.all([
    eksApi.listPodIdentityAssociations(eks, cluster.name, namespace),
    checkAgent ? eksApi.addonStatus(eks, cluster.name, POD_IDENTITY_AGENT_ADDON) : Promise.resolve(undefined),
  ]);
  if (!listed) {
    if (mode === 'provision') {
      throw new ValidationError(`cluster ${cluster.name} not found`, [
        {
          path: `workload.clusters.${index}.name`,
          message: `no EKS cluster named ${cluster.name} in that account and region`,
        },
      ]);
    }
    return { associations: [] };
  }
  const ours = listed.filter((a) => a.namespace === namespace && wanted.has(a.serviceAccount));
  const [described, autoMode] = await Promise.all([
    Promise.all(ours.map((a) => eksApi.describePodIdentityAssociation(eks, cluster.name, a.id))),
    // only when the add-on is missing: EKS Auto Mode runs the agent without it
    checkAgent && (agent === undefined || AGENT_UNUSABLE.has(agent))
      ? eksApi.autoModeEnabled(eks, cluster.name)
      : Promise.resolve(true),
  ]);
  const associations = described
    .filter((a): a is eksApi.AssociationState => !!a)
    .map((a): [string, ObservedAssociation] => [
      bindingOf(cluster, a.namespace, a.serviceAccount),
      {
        id: a.id,
        arn: a.arn,
        roleArn: a.roleArn,
        ...(a.targetRoleArn ? { targetRoleArn: a.targetRoleArn } : {}),
        disableSessionTags: a.disableSessionTags,
        tags: a.tags,
      },
    ]);
  return { associations, ...(autoMode ? {} : { agentMissing: { cluster, ...(agent ? { status: agent } : {}) } }) };
}

export async function observePodIdentity(
  sessions: ProvisionerSessions,
  identity: WorkloadIdentity,
  mode: PodIdentityReadMode,
  readRole: (identity: WorkloadIdentity, knownPolicies: string[]) => Promise<ObservedRole | undefined>,
): Promise<ObservedPodIdentity> {
  const accounts = podRoleAccounts(whoOf(identity));
  const [roles, quotas, clusters] = await Promise.all([
    Promise.all(accounts.map((a) => readRole(podRoleIdentity(identity, a), [CHAIN_POLICY_NAME]))),
    mode === 'provision'
      ? Promise.all([identity.roleAccount, ...accounts].map((a) => iamApi.trustPolicyQuota(sessions.iam(a))))
      : Promise.resolve([] as number[]),
    Promise.all(identity.clusters.map((c, i) => readCluster(sessions, identity, c, i, mode))),
  ]);
  const missing = clusters.flatMap((c) => (c.agentMissing ? [c.agentMissing] : []));
  return {
    podRoles: new Map(accounts.map((a, i) => [a, roles[i]])),
    quotas: new Map(
      mode === 'provision' ? [identity.roleAccount, ...accounts].map((a, i): [string, number] => [a, quotas[i]]) : [],
    ),
    associations: new Map(clusters.flatMap((c) => c.associations)),
    ...(mode === 'remove' ? {} : { agentMissing: missing }),
  };
}

/**
 * The EKS Pod Identity associations of an IRSA identity's service accounts (verify): an IRSA identity uses none, so
 * one the service made (a move from Pod Identity cut short, or a failure) is drift. Clusters that are gone hold none.
 */
export async function observeAssociationsOf(
  sessions: ProvisionerSessions,
  identity: WorkloadIdentity,
): Promise<Map<string, ObservedAssociation>> {
  const clusters = await Promise.all(identity.clusters.map((c, i) => readCluster(sessions, identity, c, i, 'remove')));
  return new Map(clusters.flatMap((c) => c.associations));
}
