import { document, type PolicyDocument, type Statement } from './types';
import type { EksCluster } from '../arn';

/**
 * Pure builders for EKS Pod Identity (AWS EKS User Guide, "Create IAM role with trust policy required by EKS Pod
 * Identity" and "Access AWS resources using EKS Pod Identity target IAM roles"):
 *
 * - The role an association names trusts the service principal `pods.eks.amazonaws.com` for `sts:AssumeRole` and
 *   `sts:TagSession`. EKS Auth passes the pod's session tags (`eks-cluster-arn`, `kubernetes-namespace`,
 *   `kubernetes-service-account`, …) with that AssumeRole, so the trust pins them with `aws:RequestTag/<tag>`:
 *   an association someone else makes in the account, for another service account, namespace or cluster, hands
 *   the role to nobody (EKS Auth's AssumeRole is denied).
 * - With a target role (role chaining, for a role in another account than the cluster) the association's role
 *   assumes the target; the pod's session tags are transitive and reach the second AssumeRole as request tags.
 *   The target trusts the association's role by `aws:PrincipalArn` (account root as the principal, as AWS's own
 *   example does: no wait for the role's propagation, and it survives the role's re-creation) with the same
 *   request-tag pins.
 */

export const PODS_SERVICE_PRINCIPAL = 'pods.eks.amazonaws.com';
export const POD_IDENTITY_AGENT_ADDON = 'eks-pod-identity-agent';
/** The association role's inline policy: it may assume (and tag the session of) the target role, nothing else. */
export const CHAIN_POLICY_NAME = 's3-onboarding-assume-target';

/** Who a Pod Identity role is for: its ARN (and account), and the service accounts of the clusters it serves. */
export interface PodIdentityWho {
  roleArn: string;
  roleAccount: string;
  clusters: EksCluster[];
  namespace: string;
  serviceAccounts: string[];
}

export const eksClusterArn = (c: EksCluster): string => `arn:aws:eks:${c.region}:${c.accountId}:cluster/${c.name}`;

/** The same role name and path in another account. */
export const roleArnIn = (roleArn: string, accountId: string): string =>
  roleArn.replace(/^arn:aws:iam::\d{12}:/, `arn:aws:iam::${accountId}:`);

const one = <T>(values: T[]): T | T[] => (values.length === 1 ? values[0] : values);
const sortedUnique = (xs: string[]): string[] => [...new Set(xs)].sort();

/** Clusters in the role's own account associate the role directly; the others go through a role in their account. */
const directClusters = (who: PodIdentityWho) => who.clusters.filter((c) => c.accountId === who.roleAccount);
const clustersIn = (who: PodIdentityWho, accountId: string) => who.clusters.filter((c) => c.accountId === accountId);

/** Accounts that need an association role of their own (role chaining): the clusters' accounts other than the role's. */
export const podRoleAccounts = (who: PodIdentityWho): string[] =>
  sortedUnique(who.clusters.map((c) => c.accountId).filter((a) => a !== who.roleAccount));

/** The association role of a cluster account: the role itself when it lives there, else that account's chaining role. */
export const associationRoleArn = (who: PodIdentityWho, accountId: string): string =>
  accountId === who.roleAccount ? who.roleArn : roleArnIn(who.roleArn, accountId);

/** The session tags EKS Pod Identity passes, pinned to these clusters, the namespace and the service accounts. */
function podRequestTags(
  clusters: EksCluster[],
  namespace: string,
  serviceAccounts: string[],
): Record<string, string | string[]> {
  return {
    'aws:RequestTag/eks-cluster-arn': one(sortedUnique(clusters.map(eksClusterArn))),
    'aws:RequestTag/kubernetes-namespace': namespace,
    'aws:RequestTag/kubernetes-service-account': one(sortedUnique(serviceAccounts)),
  };
}

/** EKS Pod Identity (the service principal) may assume the role for these pods only. */
function podServiceStatement(clusters: EksCluster[], namespace: string, serviceAccounts: string[]): Statement {
  return {
    Sid: 'EksPodIdentity',
    Effect: 'Allow',
    Principal: { Service: PODS_SERVICE_PRINCIPAL },
    Action: ['sts:AssumeRole', 'sts:TagSession'],
    Condition: { StringEquals: podRequestTags(clusters, namespace, serviceAccounts) },
  };
}

/** The association role of one cluster account may assume the target, carrying these pods' session tags. */
function chainStatement(
  sourceRoleArn: string,
  sourceAccount: string,
  clusters: EksCluster[],
  namespace: string,
  serviceAccounts: string[],
): Statement {
  return {
    Sid: `EksPodIdentityChain${sourceAccount}`,
    Effect: 'Allow',
    Principal: { AWS: `arn:aws:iam::${sourceAccount}:root` },
    Action: ['sts:AssumeRole', 'sts:TagSession'],
    Condition: {
      ArnEquals: { 'aws:PrincipalArn': sourceRoleArn },
      StringEquals: podRequestTags(clusters, namespace, serviceAccounts),
    },
  };
}

/**
 * The trust of the identity's role: EKS Pod Identity for the clusters of its own account, and the chaining role of
 * every other cluster account (which is then the association's role, with this one as its target).
 */
export function podIdentityTrust(who: PodIdentityWho): PolicyDocument {
  const direct = directClusters(who);
  return document([
    ...(direct.length ? [podServiceStatement(direct, who.namespace, who.serviceAccounts)] : []),
    ...podRoleAccounts(who).map((a) =>
      chainStatement(roleArnIn(who.roleArn, a), a, clustersIn(who, a), who.namespace, who.serviceAccounts),
    ),
  ]);
}

/** The trust of a chaining role in a cluster account: EKS Pod Identity, for the pods of that account's clusters. */
export function podRoleTrust(who: PodIdentityWho, accountId: string): PolicyDocument {
  return document([podServiceStatement(clustersIn(who, accountId), who.namespace, who.serviceAccounts)]);
}

/** The chaining role's only permission: assume the target role, passing the pod's session tags on. */
export function chainGrant(targetRoleArn: string): PolicyDocument {
  return document([
    { Sid: 'AssumeTargetRole', Effect: 'Allow', Action: ['sts:AssumeRole', 'sts:TagSession'], Resource: targetRoleArn },
  ]);
}

export interface DesiredAssociation {
  cluster: EksCluster;
  namespace: string;
  serviceAccount: string;
  roleArn: string;
  /** role chaining: the identity's role, in another account than the cluster */
  targetRoleArn?: string;
}

/** One association per cluster × service account. */
export function desiredAssociations(who: PodIdentityWho): DesiredAssociation[] {
  return who.clusters.flatMap((cluster) =>
    sortedUnique(who.serviceAccounts).map((serviceAccount) => ({
      cluster,
      namespace: who.namespace,
      serviceAccount,
      roleArn: associationRoleArn(who, cluster.accountId),
      ...(cluster.accountId === who.roleAccount ? {} : { targetRoleArn: who.roleArn }),
    })),
  );
}
