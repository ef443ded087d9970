import { document, type PolicyDocument, type Statement } from './types';
import type { ToolActions } from './actions';
import { accountOfArn } from '../arn';

export const STS_AUDIENCE = 'sts.amazonaws.com';

/** The IAM condition-key prefix of an OIDC issuer: the URL without its scheme. */
export const issuerKey = (issuerUrl: string): string => issuerUrl.replace(/^https:\/\//, '').replace(/\/$/, '');

export const oidcProviderArn = (accountId: string, issuerUrl: string): string =>
  `arn:aws:iam::${accountId}:oidc-provider/${issuerKey(issuerUrl)}`;

export const serviceAccountSubject = (namespace: string, serviceAccount: string): string =>
  `system:serviceaccount:${namespace}:${serviceAccount}`;

const one = <T>(values: T[]): T | T[] => (values.length === 1 ? values[0] : values);

/** One statement per cluster, pinning both `sub` (each service account) and `aud` with StringEquals. */
export function webIdentityTrust(
  clusters: { issuerUrl: string; providerArn: string }[],
  namespace: string,
  serviceAccounts: string[],
): PolicyDocument {
  const subjects = [...serviceAccounts].sort().map((sa) => serviceAccountSubject(namespace, sa));
  return document(
    clusters.map((c) => ({
      Effect: 'Allow',
      Principal: { Federated: c.providerArn },
      Action: 'sts:AssumeRoleWithWebIdentity',
      Condition: {
        StringEquals: {
          [`${issuerKey(c.issuerUrl)}:sub`]: one(subjects),
          [`${issuerKey(c.issuerUrl)}:aud`]: STS_AUDIENCE,
        },
      },
    })),
  );
}

/** The EC2 flow: the target role trusts exactly the instance role. */
export function instanceRoleTrust(instanceRoleArn: string): PolicyDocument {
  return document([{ Effect: 'Allow', Principal: { AWS: instanceRoleArn }, Action: 'sts:AssumeRole' }]);
}

/** The instance role's grant to assume the target role (an inline policy the service owns). */
export function assumeRoleGrant(targetRoleArn: string): PolicyDocument {
  return document([{ Sid: 'AssumeS3OnboardingRole', Effect: 'Allow', Action: 'sts:AssumeRole', Resource: targetRoleArn }]);
}

export interface BucketScope {
  bucket: string;
  /** '' for the whole bucket, else ends with '/' */
  prefix: string;
}

const bucketArn = (s: BucketScope) => `arn:aws:s3:::${s.bucket}`;
const objectsArn = (s: BucketScope) => `arn:aws:s3:::${s.bucket}/${s.prefix}*`;

/**
 * The S3 statements of one grant, without principal: bucket location, listing (limited to the prefix), objects.
 * Used both for the role's permissions policy and, with a principal, for the bucket policy.
 */
function s3Statements(scope: BucketScope, actions: ToolActions): Statement[] {
  const out: Statement[] = [];
  const location = actions.bucket.filter((a) => a !== 's3:ListBucket');
  const list = actions.bucket.filter((a) => a === 's3:ListBucket');
  if (location.length) out.push({ Sid: 'Location', Effect: 'Allow', Action: one(location), Resource: bucketArn(scope) });
  if (list.length) {
    out.push({
      Sid: 'List',
      Effect: 'Allow',
      Action: one(list),
      Resource: bucketArn(scope),
      ...(scope.prefix ? { Condition: { StringLike: { 's3:prefix': [scope.prefix, `${scope.prefix}*`] } } } : {}),
    });
  }
  out.push({ Sid: 'Objects', Effect: 'Allow', Action: one(actions.object), Resource: objectsArn(scope) });
  return out;
}

/** The workload role's inline permissions policy: exactly the tool's actions, plus KMS when a key is set. */
export function permissionsPolicy(scope: BucketScope, actions: ToolActions, kms?: { keyArn: string; actions: string[] }): PolicyDocument {
  const statements = s3Statements(scope, actions);
  if (kms) statements.push({ Sid: 'Kms', Effect: 'Allow', Action: one(kms.actions), Resource: kms.keyArn });
  return document(statements);
}

/** Sid prefix that marks a statement as this service's, for this onboarding. */
export const sidPrefix = (onboardingId: string): string => `S3Onboarding${onboardingId.replace(/^ob-/, '').replace(/[^A-Za-z0-9]/g, '')}`;

/**
 * The bucket-policy statement for a role in another account: the account root as principal and the role named in
 * an `aws:PrincipalArn` condition, so nothing waits for IAM propagation and recreating the role keeps working.
 *
 * One compact statement per onboarding, because a bucket policy holds at most 20 KB and many teams share a
 * bucket. Cross-account access needs both policies, so the effective access is the intersection with the role's
 * own policy, which carries the prefix condition on ListBucket; objects are limited to the prefix here too.
 */
export function bucketPolicyStatements(onboardingId: string, scope: BucketScope, actions: ToolActions, roleArn: string): Statement[] {
  const account = accountOfArn(roleArn);
  return [
    {
      Sid: sidPrefix(onboardingId),
      Effect: 'Allow',
      Principal: { AWS: `arn:aws:iam::${account}:root` },
      Action: [...actions.bucket, ...actions.object],
      Resource: actions.bucket.length ? [bucketArn(scope), objectsArn(scope)] : objectsArn(scope),
      Condition: { ArnEquals: { 'aws:PrincipalArn': roleArn } },
    },
  ];
}

/** Key-policy statement letting the role use the key (for a key in another account than the role). */
export function keyPolicyStatement(onboardingId: string, roleArn: string, actions: string[]): Statement {
  return {
    Sid: `${sidPrefix(onboardingId)}Kms`,
    Effect: 'Allow',
    Principal: { AWS: `arn:aws:iam::${accountOfArn(roleArn)}:root` },
    Action: one(actions),
    Resource: '*',
    Condition: { ArnEquals: { 'aws:PrincipalArn': roleArn } },
  };
}

export const isOwnStatement = (s: { Sid?: string }, onboardingId: string): boolean => (s.Sid ?? '').startsWith(sidPrefix(onboardingId));

/**
 * Replaces this onboarding's statements in a resource policy (an empty list removes them), keeping every other
 * statement exactly as it was.
 */
export function mergeStatements(existing: PolicyDocument | undefined, onboardingId: string, own: Statement[]): PolicyDocument {
  const base = existing ?? document([]);
  const others = base.Statement.filter((s) => !isOwnStatement(s, onboardingId));
  return { ...base, Statement: [...others, ...own] };
}

export const ownStatements = (doc: PolicyDocument | undefined, onboardingId: string): Statement[] =>
  (doc?.Statement ?? []).filter((s) => isOwnStatement(s, onboardingId));

/** Size as IAM and S3 count it: the compact JSON (no white space outside strings). */
export const policySize = (doc: PolicyDocument): number => JSON.stringify(doc).length;

/** Statement arrays that a policy may hold as a single object. */
export function normalizeDocument(raw: unknown): PolicyDocument {
  const d = raw as { Version?: string; Id?: string; Statement?: Statement | Statement[] };
  const st = d.Statement === undefined ? [] : Array.isArray(d.Statement) ? d.Statement : [d.Statement];
  // an existing policy keeps its own Version (and Id): only its statements are ours to touch
  return { Version: '2012-10-17', ...(d as object), Statement: st } as PolicyDocument;
}

/** Deep equality of JSON values where object key order does not matter. */
export function sameJson(a: unknown, b: unknown): boolean {
  return canonical(a) === canonical(b);
}

function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}
