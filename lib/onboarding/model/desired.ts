import { boundaryArn, provisionerRoleArn, type Config } from '../../config';
import { ValidationError } from '../../errors';
import { kmsActions, toolActions } from '../../policy/actions';
import {
  assumeRoleGrant,
  bucketPolicyStatements,
  instanceRoleTrust,
  oidcProviderArn,
  permissionsPolicy,
  webIdentityTrust,
} from '../../policy/documents';
import { podIdentityTrust } from '../../policy/pod-identity';
import { accessPointArn, accessPointNames, delegationStatement } from '../../policy/access-points';
import type { PolicyDocument, Statement } from '../../policy/types';
import { defaultServiceAccounts } from '../../snippets/defaults';
import type { Access, Tool } from '../../snippets/types';
import { accountOfArn, nameOfArn, regionOfArn } from '../../arn';
import {
  clusterKey,
  grantPolicyName,
  instanceGrantName,
  modeOf,
  onboardingId,
  TAG_IDENTITY,
  TAG_MANAGED_BY,
  workloadIdentity,
  type Mode,
  type OnboardingInput,
  type WorkloadIdentity,
} from './onboarding';

/**
 * Pure: what AWS should hold. A request resolves to a grant on a workload identity; an identity with its grants
 * resolves to the role-level state (trust, tags, boundary, providers, instance grant) and each grant to its own
 * inline policy and resource-policy statements.
 */

/** Tags as ordered pairs: request data never becomes an object key (no prototype surprises). */
import { keyGrantName, keyGrantOperations, type KeyGrant } from './key-grant';

export type TagList = [string, string][];

export const tagValue = (tags: readonly [string, string][], key: string): string | undefined =>
  tags.find(([k]) => k === key)?.[1];

/** One grant of an identity, as the identity record keeps it. */
export interface GrantRef {
  id: string;
  tags: TagList;
}

export interface Grant {
  id: string;
  mode: Mode;
  bucketAccount: string;
  bucket: { name: string; region: string; prefix: string; kmsKeyArn?: string };
  tool: Tool;
  access: Access;
  tags: TagList;
}

export interface Resolved {
  input: OnboardingInput;
  id: string;
  identity: WorkloadIdentity;
  grant: Grant;
  /** what this grant should hold in AWS (its policy and statements), built once */
  want: GrantDesired;
}

const sortedUnique = (xs: string[]) => [...new Set(xs)].sort();

export function resolveRequest(config: Config, input: OnboardingInput): Resolved {
  const { mode, bucketAccount, roleAccount } = modeOf(input);
  const id = onboardingId(input);
  const w = input.workload;
  let identity: WorkloadIdentity;
  if (w.type === 'eks') {
    const sas = w.serviceAccounts ?? defaultServiceAccounts(input.tool, w.namespace, w.velero, w.psmdbOperator);
    if (!sas?.length) {
      throw new ValidationError('serviceAccounts is required for this tool and namespace', [
        {
          path: 'workload.serviceAccounts',
          message: `${input.tool} has no default service account in namespace ${w.namespace}; name them`,
        },
      ]);
    }
    const clusters = [...w.clusters]
      .map((c) => ({ name: c.name, accountId: c.accountId, region: c.region }))
      .sort((a, b) => clusterKey(a).localeCompare(clusterKey(b)));
    identity = workloadIdentity(config, {
      kind: w.identity ?? 'irsa',
      roleAccount,
      clusters,
      namespace: w.namespace,
      serviceAccounts: sortedUnique(sas),
    });
  } else {
    identity = workloadIdentity(config, {
      kind: 'ec2',
      roleAccount,
      clusters: [],
      serviceAccounts: [],
      instanceRoleArn: w.instanceRoleArn,
    });
  }
  const grant: Grant = {
    id,
    mode,
    bucketAccount,
    bucket: {
      name: input.bucket.name,
      region: input.bucket.region,
      prefix: input.bucket.prefix ?? '',
      ...(input.bucket.kmsKeyArn ? { kmsKeyArn: input.bucket.kmsKeyArn } : {}),
    },
    tool: input.tool,
    access: input.access,
    tags: Object.entries(input.tags ?? {}).sort(([a], [b]) => a.localeCompare(b)),
  };
  return { input, id, identity, grant, want: grantDesired(identity, grant, config) };
}

// ---------- role level ----------

export interface ProviderRef {
  issuerUrl: string;
  arn: string;
}

interface RoleDesired {
  name: string;
  path: string;
  arn: string;
  trust: PolicyDocument;
  tags: TagList;
  boundaryArn?: string;
  description: string;
}

export interface IdentityDesired {
  identity: WorkloadIdentity;
  role: RoleDesired;
  /** IRSA: the IAM OIDC provider of each cluster, in the role's account */
  providers: ProviderRef[];
  /** EC2: the instance role's inline grant to assume the role */
  instanceGrant?: { accountId: string; roleName: string; policyName: string; document: PolicyDocument };
  /** every grant's inline policy name: nothing else belongs on the role */
  policyNames: string[];
}

/**
 * The role's user tags are those of its grants, merged in grant-id order (a later id wins a conflicting key);
 * the service's own tags come last, so no request can overwrite them.
 */
export function roleTags(config: Config, identity: WorkloadIdentity, grants: readonly GrantRef[]): TagList {
  // IAM's tag keys are case-insensitive on a role: keys differing only in case are one key, the later grant's
  const merged = new Map<string, [string, string]>();
  const set = (k: string, v: string) => merged.set(k.toLowerCase(), [k, v]);
  for (const g of [...grants].sort((a, b) => a.id.localeCompare(b.id))) for (const [k, v] of g.tags) set(k, v);
  set(TAG_MANAGED_BY, config.managedByTag);
  set(TAG_IDENTITY, identity.key);
  return [...merged.values()];
}

function describeIdentity(identity: WorkloadIdentity): string {
  const who =
    identity.kind === 'ec2'
      ? `EC2 instance role ${identity.instanceRoleArn}`
      : `${identity.namespace}/${identity.serviceAccounts.join(',')} in ${identity.clusters.map(clusterKey).join(', ')}`;
  return `s3-onboarding ${identity.kind} identity ${identity.key}: ${who}`.slice(0, 1000);
}

/** `issuers[i]` is the OIDC issuer URL of `identity.clusters[i]`. */
export function identityDesired(
  config: Config,
  identity: WorkloadIdentity,
  grants: readonly GrantRef[],
  issuers: readonly string[],
): IdentityDesired {
  const providers =
    identity.kind === 'irsa'
      ? issuers.map((issuerUrl) => ({ issuerUrl, arn: oidcProviderArn(identity.roleAccount, issuerUrl) }))
      : [];
  const trust =
    identity.kind === 'ec2'
      ? instanceRoleTrust(identity.instanceRoleArn!)
      : identity.kind === 'pod-identity'
        ? podIdentityTrust({
            roleArn: identity.roleArn,
            roleAccount: identity.roleAccount,
            clusters: identity.clusters,
            namespace: identity.namespace!,
            serviceAccounts: identity.serviceAccounts,
          })
        : webIdentityTrust(
            providers.map((p) => ({ issuerUrl: p.issuerUrl, providerArn: p.arn })),
            identity.namespace!,
            identity.serviceAccounts,
          );
  const instanceRole = identity.instanceRoleArn;
  return {
    identity,
    role: {
      name: identity.roleName,
      path: config.workloadRolePath,
      arn: identity.roleArn,
      trust,
      tags: roleTags(config, identity, grants),
      boundaryArn: boundaryArn(config, identity.roleAccount),
      description: describeIdentity(identity),
    },
    providers,
    ...(identity.kind === 'ec2' && instanceRole
      ? {
          instanceGrant: {
            accountId: accountOfArn(instanceRole),
            roleName: nameOfArn(instanceRole),
            policyName: instanceGrantName(identity.roleName),
            document: assumeRoleGrant(identity.roleArn),
          },
        }
      : {}),
    policyNames: grants.map((g) => grantPolicyName(g.id)).sort(),
  };
}

// ---------- grant level ----------

export interface BucketStatements {
  accountId: string;
  bucket: string;
  region: string;
  statements: Statement[];
}

export interface KeyStatements {
  accountId: string;
  region: string;
  keyArn: string;
  statements: Statement[];
}

/** access-point mode: the grant's access point in the bucket's account, and the bucket's delegation to it */
interface AccessPointDesired {
  accountId: string;
  region: string;
  bucket: string;
  name: string;
  arn: string;
  /** the access point policy: the role's actions on the access point and its objects under the prefix */
  policy: PolicyDocument;
  /** the bucket policy's one delegation statement (shared by every access point of the service on the bucket) */
  delegation: Statement;
}

export interface GrantDesired {
  id: string;
  policyName: string;
  permissions: PolicyDocument;
  /** access-point mode (the role's permissions name the access point, not the bucket) */
  accessPoint?: AccessPointDesired;
  /** bucket-policy mode: the grant's statements in the bucket's policy */
  bucketStatements?: BucketStatements;
  /** a bucket with a KMS key: the onboarding's grant on it, in every mode */
  keyGrant?: KeyGrant;
  /** never wanted any more: kept in the type only for records written before grants (their statement is migrated away) */
  keyStatements?: KeyStatements;
}

/**
 * `config`: names the provisioner role, the grants' retiring principal (its default name when absent);
 * `accessPointName`: the name the planner found free for the grant's access point (default: the derivation's first)
 */
export function grantDesired(
  identity: WorkloadIdentity,
  grant: Grant,
  config: Pick<Config, 'provisionerRoleName'> = { provisionerRoleName: 's3-onboarding-provisioner' },
  accessPointName?: string,
): GrantDesired {
  const actions = toolActions(grant.tool, grant.access);
  const ap =
    grant.mode === 'access-point'
      ? {
          name: accessPointName ?? accessPointNames(grant.id)[0]!,
          region: grant.bucket.region,
          accountId: grant.bucketAccount,
        }
      : undefined;
  const apArn = ap && accessPointArn(ap.region, ap.accountId, ap.name);
  const scope = { bucket: grant.bucket.name, prefix: grant.bucket.prefix, ...(apArn ? { accessPointArn: apArn } : {}) };
  const keyArn = grant.bucket.kmsKeyArn;
  const kms = keyArn ? { keyArn, actions: kmsActions(grant.tool, grant.access) } : undefined;
  return {
    id: grant.id,
    policyName: grantPolicyName(grant.id),
    permissions: permissionsPolicy(scope, actions, kms),
    ...(ap && apArn
      ? {
          accessPoint: {
            ...ap,
            bucket: grant.bucket.name,
            arn: apArn,
            policy: {
              Version: '2012-10-17',
              Statement: bucketPolicyStatements(grant.id, scope, actions, identity.roleArn),
            },
            delegation: delegationStatement(ap.accountId, ap.region, grant.bucket.name),
          },
        }
      : {}),
    ...(grant.mode === 'bucket-policy'
      ? {
          bucketStatements: {
            accountId: grant.bucketAccount,
            bucket: grant.bucket.name,
            region: grant.bucket.region,
            statements: bucketPolicyStatements(grant.id, scope, actions, identity.roleArn),
          },
        }
      : {}),
    ...(kms
      ? {
          keyGrant: {
            accountId: accountOfArn(kms.keyArn),
            region: regionOfArn(kms.keyArn),
            keyArn: kms.keyArn,
            name: keyGrantName(grant.id),
            granteePrincipal: identity.roleArn,
            retiringPrincipal: provisionerRoleArn(config, accountOfArn(kms.keyArn)),
            operations: keyGrantOperations(kms.actions),
          },
        }
      : {}),
  };
}
