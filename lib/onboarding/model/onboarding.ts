import { createHash } from 'node:crypto';
import type { Access, PsmdbOperatorInstall, Tool, VeleroInstall } from '../../snippets/types';
import type { Config } from '../../config';
import { accountOfArn, type EksCluster } from '../../arn';
import type { Requirement } from '../../policy/requirements';
import { roleArnIn, type PodIdentityWho } from '../../policy/pod-identity';

/**
 * The domain: an onboarding is a **grant** (a bucket, a prefix, a tool, an access level) on a **workload
 * identity** (who: a set of service accounts in a namespace of a set of clusters, or an EC2 instance role, and
 * the account the role lives in). Each identity has exactly one IAM role; each grant is its own inline policy
 * on that role plus its own bucket- and key-policy statements. The role goes with its identity's last grant.
 */

/** An EKS cluster (lib/arn.ts). */
export type ClusterRef = EksCluster;

/** What the engine needs of a validated request (lib/onboarding/request.ts produces it). */
export interface OnboardingInput {
  workload:
    | {
        type: 'eks';
        clusters: ClusterRef[];
        namespace: string;
        serviceAccounts?: string[];
        identity?: 'irsa' | 'pod-identity';
        claimNamespace?: string;
        velero?: VeleroInstall;
        psmdbOperator?: PsmdbOperatorInstall;
      }
    | { type: 'ec2'; instanceRoleArn: string };
  bucket: { name: string; accountId?: string; region: string; prefix?: string; kmsKeyArn?: string };
  tool: Tool;
  access: Access;
  crossAccountMode?: 'bucket-policy' | 'role-in-bucket-account' | 'access-point';
  /** the versions the caller runs, by component (lib/policy/requirements.ts) */
  versions?: Record<string, string>;
  tags?: Record<string, string>;
  dryRun?: boolean;
}

export type Mode = 'same-account' | 'bucket-policy' | 'role-in-bucket-account' | 'access-point';

export interface Change {
  action: string;
  accountId: string;
  resource: string;
}

export interface OnboardingResult {
  id: string;
  status: 'provisioned' | 'planned';
  roleArn: string;
  roles: { arn: string; accountId: string; purpose: string }[];
  changes: Change[];
  policies: {
    trust: unknown;
    permissions: unknown;
    bucketPolicyStatements: unknown[];
    /** older records' answers only: new access to a key is a KMS grant */
    keyPolicyStatements?: unknown[];
    keyGrants?: {
      keyArn: string;
      name: string;
      granteePrincipal: string;
      retiringPrincipal: string;
      operations: string[];
    }[];
    instanceRoleGrant?: unknown;
  };
  /** the minimum versions the snippets need (lib/policy/requirements.ts) */
  requirements?: Requirement[];
  /** an older version's key-policy statement the service may no longer remove: left to the key's owner */
  leftToOwner?: { accountId: string; resource: string; detail: string }[];
  snippets: Record<string, string>;
}

export const clusterKey = (c: ClusterRef): string => `${c.accountId}/${c.region}/${c.name}`;

/** The accounts the workload's identity lives in: the clusters' accounts, or the instance role's. */
function workloadAccounts(w: OnboardingInput['workload']): string[] {
  return w.type === 'eks' ? [...new Set(w.clusters.map((c) => c.accountId))].sort() : [accountOfArn(w.instanceRoleArn)];
}

/**
 * Where things live. Same account: everything in the one account. `bucket-policy`: the role in the workload's
 * (single) account, the bucket policy grants it. `role-in-bucket-account`: the role in the bucket's account,
 * trusting the clusters (which may be in several accounts) or the instance role. `access-point`: the role in the
 * workload's account, reaching the bucket through an access point of the onboarding's own in the bucket's account.
 */
export function modeOf(input: OnboardingInput): {
  mode: Mode;
  workloadAccounts: string[];
  bucketAccount: string;
  roleAccount: string;
} {
  const accounts = workloadAccounts(input.workload);
  const bucketAccount = input.bucket.accountId ?? accounts[0];
  const sameAccount = accounts.every((a) => a === bucketAccount);
  const mode: Mode = sameAccount ? 'same-account' : (input.crossAccountMode ?? 'bucket-policy');
  return {
    mode,
    workloadAccounts: accounts,
    bucketAccount,
    roleAccount: mode === 'role-in-bucket-account' ? bucketAccount : accounts[0],
  };
}

/** 48 bits of a SHA-256: unique in practice, and short, because it appears in every bucket-policy Sid. */
const ONBOARDING_ID_HEX = 12;
export const ONBOARDING_ID = /^ob-[0-9a-f]{12}$/;

const hex = (value: unknown, n: number): string =>
  createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, n);

/**
 * The identity of an onboarding (a grant): who (clusters and namespace, or the instance role), where (bucket
 * account, bucket and prefix), with what tool, and whether the role lives in the bucket account. Service accounts,
 * access level, key and tags are attributes a repeat request converges.
 */
export function onboardingId(input: OnboardingInput): string {
  const { mode, bucketAccount } = modeOf(input);
  const w = input.workload;
  const who =
    w.type === 'eks'
      ? { type: 'eks', clusters: w.clusters.map(clusterKey).sort(), namespace: w.namespace }
      : { type: 'ec2', instanceRoleArn: w.instanceRoleArn };
  return `ob-${hex([who, bucketAccount, input.bucket.name, input.bucket.prefix ?? '', input.tool, mode === 'role-in-bucket-account'], ONBOARDING_ID_HEX)}`;
}

export type IdentityKind = 'irsa' | 'pod-identity' | 'ec2';

/** Who a role is for. Two requests with the same identity share one role. */
export interface IdentitySpec {
  kind: IdentityKind;
  roleAccount: string;
  /** eks: sorted by clusterKey */
  clusters: ClusterRef[];
  namespace?: string;
  /** eks: sorted, unique */
  serviceAccounts: string[];
  instanceRoleArn?: string;
}

export interface WorkloadIdentity extends IdentitySpec {
  key: string;
  roleName: string;
  roleArn: string;
  /** what this identity binds: each service account of each cluster, or the instance role */
  bindings: string[];
}

/** The binding of a service account: `sa:<account>/<region>/<cluster>/<namespace>/<service account>`. */
export const bindingOf = (cluster: ClusterRef, namespace: string, serviceAccount: string): string =>
  `sa:${clusterKey(cluster)}/${namespace}/${serviceAccount}`;

/** Each service account's binding (`bindingOf`), or `ec2:<instance role ARN>`. */
function bindingsOf(spec: IdentitySpec): string[] {
  if (spec.kind === 'ec2') return [`ec2:${spec.instanceRoleArn}`];
  return spec.clusters.flatMap((c) => spec.serviceAccounts.map((sa) => bindingOf(c, spec.namespace!, sa)));
}

/** Human wording of a binding key, for messages. */
export function describeBinding(binding: string): string {
  if (binding.startsWith('ec2:')) return `EC2 instance role ${binding.slice(4)}`;
  const [account, region, cluster, namespace, sa] = binding.slice(3).split('/');
  return `service account ${namespace}/${sa} of cluster ${cluster} (${account}, ${region})`;
}

export function workloadIdentity(config: Config, spec: IdentitySpec): WorkloadIdentity {
  const key = `wi-${hex([spec.kind === 'ec2' ? 'ec2' : 'eks', spec.kind === 'pod-identity' ? 'pod-identity' : '', spec.roleAccount, spec.clusters.map(clusterKey), spec.namespace ?? '', spec.serviceAccounts, spec.instanceRoleArn ?? ''], 16)}`;
  const roleName = `${config.roleNamePrefix}${key.slice(3)}`.slice(0, 64);
  return {
    ...spec,
    key,
    roleName,
    roleArn: `arn:aws:iam::${spec.roleAccount}:role${config.workloadRolePath}${roleName}`,
    bindings: bindingsOf(spec),
  };
}

/** Each grant's own inline policy on the identity's role. */
export const GRANT_POLICY_PREFIX = 's3-onboarding-';
export const grantPolicyName = (onboardingId: string): string => `${GRANT_POLICY_PREFIX}${onboardingId}`;
export const onboardingIdOfPolicy = (name: string): string | undefined => {
  const id = name.startsWith(GRANT_POLICY_PREFIX) ? name.slice(GRANT_POLICY_PREFIX.length) : '';
  return ONBOARDING_ID.test(id) ? id : undefined;
};
/** EC2: the instance role's grant to assume the identity's role (one per identity). */
export const instanceGrantName = (roleName: string): string => `s3-onboarding-assume-${roleName}`;

/** The name of a resource policy (a bucket's or a key's): its entry in what was observed, its lease, its queue. */
export const bucketTargetKey = (accountId: string, bucket: string): string => `bucket:${accountId}/${bucket}`;
export const keyTargetKey = (keyArn: string): string => `key:${keyArn}`;

/** An instance role's owner opts in to the service adding its assume grant with this tag (value `true`). */
export const GRANTABLE_TAG = 's3-onboarding-grantable';
export const TAG_MANAGED_BY = 'managed-by';
export const TAG_IDENTITY = 's3-onboarding/identity';

export const whoOf = (identity: WorkloadIdentity): PodIdentityWho => ({
  roleArn: identity.roleArn,
  roleAccount: identity.roleAccount,
  clusters: identity.clusters,
  namespace: identity.namespace ?? '',
  serviceAccounts: identity.serviceAccounts,
});

/** The chaining role of a cluster account, as an identity the common role planner understands. */
export const podRoleIdentity = (identity: WorkloadIdentity, accountId: string): WorkloadIdentity => ({
  ...identity,
  roleAccount: accountId,
  roleArn: roleArnIn(identity.roleArn, accountId),
});
