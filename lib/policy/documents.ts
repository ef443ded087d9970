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
  return document([
    { Sid: 'AssumeS3OnboardingRole', Effect: 'Allow', Action: 'sts:AssumeRole', Resource: targetRoleArn },
  ]);
}

/**
 * Where a grant's actions apply: the bucket itself (`arn:aws:s3:::B`, objects `arn:aws:s3:::B/KEY`), or an S3
 * access point (`arn:aws:s3:REGION:ACCOUNT:accesspoint/NAME`, objects `…/object/KEY`), which requests through the
 * access point are authorised on (lib/policy/access-points.ts).
 */
export interface BucketScope {
  bucket: string;
  /** '' for the whole bucket, else ends with '/' */
  prefix: string;
  /** the access point the grant reaches the bucket through (its ARN) */
  accessPointArn?: string;
}

const bucketArn = (s: BucketScope) => s.accessPointArn ?? `arn:aws:s3:::${s.bucket}`;
/** The object ARNs of a grant: each path relative to the prefix (`*` = everything under it). */
const objectArns = (s: BucketScope, paths: readonly string[]) =>
  paths.map((p) =>
    s.accessPointArn ? `${s.accessPointArn}/object/${s.prefix}${p}` : `arn:aws:s3:::${s.bucket}/${s.prefix}${p}`,
  );

/** `Objects` for the first object grant (the reads on `*`), `Objects2`, `Objects3`… for the exact paths after it. */
const objectSid = (i: number) => (i === 0 ? 'Objects' : `Objects${i + 1}`);

/**
 * The S3 statements of one grant, without principal: bucket location, listing (limited to the prefix), then one
 * statement per set of object paths (everything under the prefix, or exact keys and sub-prefixes under it).
 */
function s3Statements(scope: BucketScope, actions: ToolActions): Statement[] {
  const out: Statement[] = [];
  const location = actions.bucket.filter((a) => a !== 's3:ListBucket');
  const list = actions.bucket.filter((a) => a === 's3:ListBucket');
  if (location.length)
    out.push({ Sid: 'Location', Effect: 'Allow', Action: one(location), Resource: bucketArn(scope) });
  if (list.length) {
    out.push({
      Sid: 'List',
      Effect: 'Allow',
      Action: one(list),
      Resource: bucketArn(scope),
      ...(scope.prefix ? { Condition: { StringLike: { 's3:prefix': [scope.prefix, `${scope.prefix}*`] } } } : {}),
    });
  }
  actions.object.forEach((g, i) => {
    out.push({ Sid: objectSid(i), Effect: 'Allow', Action: one(g.actions), Resource: one(objectArns(scope, g.paths)) });
  });
  return out;
}

/** The workload role's inline permissions policy: exactly the tool's actions, plus KMS when a key is set. */
export function permissionsPolicy(
  scope: BucketScope,
  actions: ToolActions,
  kms?: { keyArn: string; actions: string[] },
): PolicyDocument {
  const statements = s3Statements(scope, actions);
  if (kms) statements.push({ Sid: 'Kms', Effect: 'Allow', Action: one(kms.actions), Resource: kms.keyArn });
  return document(statements);
}

/** Sid prefix that marks a statement as this service's, for this onboarding. */
export const sidPrefix = (onboardingId: string): string =>
  `S3Onboarding${onboardingId.replace(/^ob-/, '').replace(/[^A-Za-z0-9]/g, '')}`;

/**
 * The bucket-policy statements for a role in another account: the account root as principal and the role named in
 * an `aws:PrincipalArn` condition, so nothing waits for IAM propagation and recreating the role keeps working.
 *
 * Compact, because a bucket policy holds at most 20 KB and many teams share a bucket: one statement (Sid
 * `sidPrefix(id)`) with the bucket actions and the object actions on everything under the prefix, which is all
 * read-write and read-only need. A `restore` grant writes only exact keys or sub-prefixes: those get one more
 * statement (`sidPrefix(id)2`) with every such action on every such path. That may be wider than the role's own
 * policy among the restore paths (PBM: DeleteObject on .pbm.restore/* too), never outside them: no backup object
 * can be deleted or overwritten under either policy. Cross-account access needs both policies, so what the role
 * can do is the intersection: exactly its own policy, which also carries the prefix condition on ListBucket.
 */
export function bucketPolicyStatements(
  onboardingId: string,
  scope: BucketScope,
  actions: ToolActions,
  roleArn: string,
): Statement[] {
  const account = accountOfArn(roleArn);
  const principal = { AWS: `arn:aws:iam::${account}:root` };
  const condition = { ArnEquals: { 'aws:PrincipalArn': roleArn } };
  const [first, ...rest] = actions.object;
  const main: Statement = {
    Sid: sidPrefix(onboardingId),
    Effect: 'Allow',
    Principal: principal,
    Action: [...actions.bucket, ...(first?.actions ?? [])],
    Resource: one([
      ...(actions.bucket.length ? [bucketArn(scope)] : []),
      ...(first ? objectArns(scope, first.paths) : []),
    ]),
    Condition: condition,
  };
  if (rest.length === 0) return [main];
  const sorted = (xs: string[]) => [...new Set(xs)].sort();
  return [
    main,
    {
      Sid: `${sidPrefix(onboardingId)}2`,
      Effect: 'Allow',
      Principal: principal,
      Action: one(sorted(rest.flatMap((g) => g.actions))),
      Resource: one(objectArns(scope, sorted(rest.flatMap((g) => g.paths)))),
      Condition: condition,
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

/** Size as IAM and S3 count it: the compact JSON (no white space outside strings). */
export const policySize = (doc: PolicyDocument): number => JSON.stringify(doc).length;

/** Statement arrays that a policy may hold as a single object. */
export function normalizeDocument(raw: unknown): PolicyDocument {
  const d = raw as { Version?: string; Id?: string; Statement?: Statement | Statement[] };
  const st = d.Statement === undefined ? [] : Array.isArray(d.Statement) ? d.Statement : [d.Statement];
  // an existing policy keeps its own Version (and Id): only its statements are ours to touch
  return { Version: '2012-10-17', ...(d as object), Statement: st } as PolicyDocument;
}
