/**
 * The call sequence of the differential test: for every AWS operation the service calls, the call as the service
 * makes it, and the error paths it depends on. Each step names the error code AWS answers (from the AWS API
 * references), or none for success. The same steps run, in this order, against the emulator and against moto
 * (and against the emulator once more through botocore); `conformance/operations.ts` checks that every operation
 * in the code has a step here.
 */
import type { Topology } from '../emulator/topology';

export const PLATFORM = '100000000001';
export const WORKLOADS = '200000000002';
export const BACKUPS = '300000000003';

/** What a step may refer to, as the target holds it (moto assigns its own key ids and issuers). */
export interface Ctx {
  topology: Topology;
}

export interface Step {
  /** service:Operation */
  op: string;
  /** what the step shows */
  label: string;
  /** who calls: an account id (its root), or 'api' (the API role's session in the platform account) */
  as: string;
  region?: string;
  input(c: Ctx): Record<string, unknown>;
  /** the AWS error code this call answers with; undefined: it succeeds */
  expect?: string;
  /** output fields whose values must be the same on both targets (dotted paths) */
  values?: string[];
  /** keeps the output under this name, for later steps' `ref`s */
  save?: string;
}

/** A value from an earlier step's saved output (`name`, dotted `path`), resolved per target when the step runs. */
export const ref = (name: string, path: string): string => ({ $ref: `${name}:${path}` }) as unknown as string;

const issuerOf = (c: Ctx, name: string) => c.topology.clusters.find((x) => x.name === name)!.oidcIssuer!;
const clusterOf = (c: Ctx, name: string) => c.topology.clusters.find((x) => x.name === name)!;
const providerArn = (c: Ctx, cluster: string, account = WORKLOADS) =>
  `arn:aws:iam::${account}:oidc-provider/${issuerOf(c, cluster).replace(/^https:\/\//, '')}`;
const keyArn = (c: Ctx) => c.topology.kmsKeys.find((k) => !k.awsManaged)!.arn;
const boundary = (account = WORKLOADS) =>
  `arn:aws:iam::${account}:policy/s3-onboarding/s3-onboarding-workload-boundary`;

/** An access point policy granting the workloads account's provisioner role (a role both targets hold) the objects of `resource`. */
const accessPointPolicy = (resource: string) =>
  JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Principal: { AWS: `arn:aws:iam::${WORKLOADS}:role/s3-onboarding-provisioner` },
        Action: ['s3:GetObject', 's3:PutObject'],
        Resource: resource,
      },
    ],
  });

const ROLE = 'diff-role';
const PATH = '/s3-onboarding/';

/** An IRSA trust as the service writes it (sub and aud pinned). */
function trust(c: Ctx, serviceAccounts: string[]) {
  const host = issuerOf(c, 'demo').replace(/^https:\/\//, '');
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Principal: { Federated: providerArn(c, 'demo') },
        Action: 'sts:AssumeRoleWithWebIdentity',
        Condition: {
          StringEquals: {
            [`${host}:sub`]: serviceAccounts.map((s) => `system:serviceaccount:diff:${s}`),
            [`${host}:aud`]: 'sts.amazonaws.com',
          },
        },
      },
    ],
  });
}

/** A trust beyond the default 2,048-character quota (and within the grammar). */
const bigTrust = (c: Ctx) =>
  trust(
    c,
    Array.from({ length: 60 }, (_, i) => `service-account-${i}`),
  );

const permissions = JSON.stringify({
  Version: '2012-10-17',
  Statement: [
    {
      Sid: 'List',
      Effect: 'Allow',
      Action: 's3:ListBucket',
      Resource: 'arn:aws:s3:::demo-backups',
      Condition: { StringLike: { 's3:prefix': ['diff/', 'diff/*'] } },
    },
    {
      Sid: 'Objects',
      Effect: 'Allow',
      Action: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'],
      Resource: 'arn:aws:s3:::demo-backups/diff/*',
    },
  ],
});

/** What IAM and S3 reject as malformed: a statement with no action. */
const noAction = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Resource: '*' }] });

const bucketStatement = (bucket: string) =>
  JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 's3ob-diff',
        Effect: 'Allow',
        Principal: { AWS: `arn:aws:iam::${WORKLOADS}:root` },
        Action: ['s3:GetObject', 's3:PutObject'],
        Resource: `arn:aws:s3:::${bucket}/diff/*`,
        Condition: { ArnEquals: { 'aws:PrincipalArn': `arn:aws:iam::${WORKLOADS}:role${PATH}${ROLE}` } },
      },
    ],
  });

const keyPolicy = JSON.stringify({
  Version: '2012-10-17',
  Id: 'key-default-1',
  Statement: [
    {
      Sid: 'Enable IAM User Permissions',
      Effect: 'Allow',
      Principal: { AWS: `arn:aws:iam::${BACKUPS}:root` },
      Action: 'kms:*',
      Resource: '*',
    },
    {
      Sid: 's3ob-diff',
      Effect: 'Allow',
      Principal: { AWS: `arn:aws:iam::${WORKLOADS}:root` },
      Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
      Resource: '*',
      Condition: { ArnEquals: { 'aws:PrincipalArn': `arn:aws:iam::${WORKLOADS}:role${PATH}${ROLE}` } },
    },
  ],
});

const TABLE = 'diff-table';
const S = (s: string) => ({ S: s });
const N = (n: number) => ({ N: String(n) });

export const STEPS: Step[] = [
  // ---------- IAM: roles ----------
  { op: 'iam:GetAccountSummary', label: 'account summary', as: WORKLOADS, input: () => ({}) },
  // ---------- Service Quotas: the limits a plan is checked against ----------
  {
    op: 'servicequotas:GetServiceQuota',
    label: 'roles per account (IAM: global, answered in us-east-1)',
    as: WORKLOADS,
    region: 'us-east-1',
    input: () => ({ ServiceCode: 'iam', QuotaCode: 'L-FE177D64' }),
  },
  {
    op: 'iam:CreateRole',
    label: 'creates a role with path, trust, tags, boundary, description',
    as: WORKLOADS,
    input: (c) => ({
      RoleName: ROLE,
      Path: PATH,
      AssumeRolePolicyDocument: trust(c, ['pbm-agent']),
      Tags: [
        { Key: 's3-onboarding/managed-by', Value: 's3-onboarding' },
        { Key: 'ticket', Value: 'DIFF-1' },
      ],
      PermissionsBoundary: boundary(),
      Description: 'differential test role',
      MaxSessionDuration: 3600,
    }),
    values: ['Role.RoleName', 'Role.Path', 'Role.Arn', 'Role.Description', 'Role.MaxSessionDuration'],
  },
  {
    op: 'iam:CreateRole',
    label: 'the same name again',
    as: WORKLOADS,
    input: (c) => ({ RoleName: ROLE, Path: PATH, AssumeRolePolicyDocument: trust(c, ['pbm-agent']) }),
    expect: 'EntityAlreadyExists',
  },
  {
    op: 'iam:CreateRole',
    label: 'a trust that is not JSON',
    as: WORKLOADS,
    input: () => ({
      RoleName: 'diff-bad',
      Path: PATH,
      AssumeRolePolicyDocument: '{"Version": "2012-10-17", "Statement": [',
    }),
    expect: 'MalformedPolicyDocument',
  },
  {
    op: 'iam:CreateRole',
    label: 'a trust over the size quota',
    as: WORKLOADS,
    input: (c) => ({ RoleName: 'diff-big', Path: PATH, AssumeRolePolicyDocument: bigTrust(c) }),
    expect: 'LimitExceeded',
  },
  {
    op: 'iam:GetRole',
    label: 'reads the role',
    as: WORKLOADS,
    input: () => ({ RoleName: ROLE }),
    values: [
      'Role.RoleName',
      'Role.Path',
      'Role.Arn',
      'Role.PermissionsBoundary.PermissionsBoundaryArn',
      'Role.PermissionsBoundary.PermissionsBoundaryType',
      'Role.AssumeRolePolicyDocument',
    ],
  },
  {
    op: 'iam:GetRole',
    label: 'a role that does not exist',
    as: WORKLOADS,
    input: () => ({ RoleName: 'diff-missing' }),
    expect: 'NoSuchEntity',
  },
  { op: 'iam:ListRoles', label: 'lists roles (one page of 1,000)', as: WORKLOADS, input: () => ({ MaxItems: 1000 }) },
  {
    op: 'iam:UpdateAssumeRolePolicy',
    label: 'replaces the trust',
    as: WORKLOADS,
    input: (c) => ({ RoleName: ROLE, PolicyDocument: trust(c, ['pbm-agent', 'default']) }),
  },
  {
    op: 'iam:UpdateAssumeRolePolicy',
    label: 'a role that does not exist',
    as: WORKLOADS,
    input: (c) => ({ RoleName: 'diff-missing', PolicyDocument: trust(c, ['pbm-agent']) }),
    expect: 'NoSuchEntity',
  },
  {
    op: 'iam:UpdateAssumeRolePolicy',
    label: 'a statement with no action',
    as: WORKLOADS,
    input: () => ({ RoleName: ROLE, PolicyDocument: noAction }),
    expect: 'MalformedPolicyDocument',
  },
  {
    op: 'iam:UpdateAssumeRolePolicy',
    label: 'a trust over the size quota',
    as: WORKLOADS,
    input: (c) => ({ RoleName: ROLE, PolicyDocument: bigTrust(c) }),
    expect: 'LimitExceeded',
  },
  {
    op: 'iam:PutRolePolicy',
    label: 'writes an inline policy',
    as: WORKLOADS,
    input: () => ({ RoleName: ROLE, PolicyName: 's3-onboarding', PolicyDocument: permissions }),
  },
  {
    op: 'iam:PutRolePolicy',
    label: 'a role that does not exist',
    as: WORKLOADS,
    input: () => ({ RoleName: 'diff-missing', PolicyName: 's3-onboarding', PolicyDocument: permissions }),
    expect: 'NoSuchEntity',
  },
  {
    op: 'iam:PutRolePolicy',
    label: 'a statement with no action',
    as: WORKLOADS,
    input: () => ({ RoleName: ROLE, PolicyName: 'bad', PolicyDocument: noAction }),
    expect: 'MalformedPolicyDocument',
  },
  {
    op: 'iam:GetRolePolicy',
    label: 'reads the inline policy',
    as: WORKLOADS,
    input: () => ({ RoleName: ROLE, PolicyName: 's3-onboarding' }),
    values: ['RoleName', 'PolicyName', 'PolicyDocument'],
  },
  {
    op: 'iam:GetRolePolicy',
    label: 'a policy that does not exist',
    as: WORKLOADS,
    input: () => ({ RoleName: ROLE, PolicyName: 'missing' }),
    expect: 'NoSuchEntity',
  },
  {
    op: 'iam:ListRolePolicies',
    label: 'lists inline policies',
    as: WORKLOADS,
    input: () => ({ RoleName: ROLE }),
    values: ['PolicyNames', 'IsTruncated'],
  },
  {
    op: 'iam:ListRolePolicies',
    label: 'a role that does not exist',
    as: WORKLOADS,
    input: () => ({ RoleName: 'diff-missing' }),
    expect: 'NoSuchEntity',
  },
  {
    op: 'iam:TagRole',
    label: 'tags the role',
    as: WORKLOADS,
    input: () => ({ RoleName: ROLE, Tags: [{ Key: 'team', Value: 'databases' }] }),
  },
  {
    op: 'iam:TagRole',
    label: 'a role that does not exist',
    as: WORKLOADS,
    input: () => ({ RoleName: 'diff-missing', Tags: [{ Key: 'team', Value: 'x' }] }),
    expect: 'NoSuchEntity',
  },
  {
    op: 'iam:TagRole',
    label: 'more than 50 tags on the role (quota)',
    as: WORKLOADS,
    input: () => ({ RoleName: ROLE, Tags: Array.from({ length: 49 }, (_, i) => ({ Key: `k${i}`, Value: 'v' })) }),
    expect: 'LimitExceeded',
  },
  {
    op: 'iam:TagRole',
    label: 'more than 50 tags in one request (the API allows 50)',
    as: WORKLOADS,
    input: () => ({ RoleName: ROLE, Tags: Array.from({ length: 51 }, (_, i) => ({ Key: `k${i}`, Value: 'v' })) }),
    expect: 'ValidationError',
  },
  {
    op: 'iam:UntagRole',
    label: 'untags the role',
    as: WORKLOADS,
    input: () => ({ RoleName: ROLE, TagKeys: ['team'] }),
  },
  {
    op: 'iam:UntagRole',
    label: 'a role that does not exist',
    as: WORKLOADS,
    input: () => ({ RoleName: 'diff-missing', TagKeys: ['team'] }),
    expect: 'NoSuchEntity',
  },
  {
    op: 'iam:PutRolePermissionsBoundary',
    label: 'sets the boundary',
    as: WORKLOADS,
    input: () => ({ RoleName: ROLE, PermissionsBoundary: boundary() }),
  },
  {
    op: 'iam:PutRolePermissionsBoundary',
    label: 'a role that does not exist',
    as: WORKLOADS,
    input: () => ({ RoleName: 'diff-missing', PermissionsBoundary: boundary() }),
    expect: 'NoSuchEntity',
  },
  {
    op: 'iam:AttachRolePolicy',
    label: 'attaches a managed policy (set-up)',
    as: WORKLOADS,
    input: () => ({ RoleName: ROLE, PolicyArn: boundary() }),
  },
  {
    op: 'iam:ListAttachedRolePolicies',
    label: 'lists managed policies',
    as: WORKLOADS,
    input: () => ({ RoleName: ROLE }),
    values: ['AttachedPolicies[].PolicyArn', 'AttachedPolicies[].PolicyName', 'IsTruncated'],
  },
  {
    op: 'iam:ListAttachedRolePolicies',
    label: 'a role that does not exist',
    as: WORKLOADS,
    input: () => ({ RoleName: 'diff-missing' }),
    expect: 'NoSuchEntity',
  },
  {
    op: 'iam:DeleteRole',
    label: 'a role that still has policies',
    as: WORKLOADS,
    input: () => ({ RoleName: ROLE }),
    expect: 'DeleteConflict',
  },
  {
    op: 'iam:DetachRolePolicy',
    label: 'detaches the managed policy',
    as: WORKLOADS,
    input: () => ({ RoleName: ROLE, PolicyArn: boundary() }),
  },
  {
    op: 'iam:DetachRolePolicy',
    label: 'a policy not attached',
    as: WORKLOADS,
    input: () => ({ RoleName: ROLE, PolicyArn: boundary() }),
    expect: 'NoSuchEntity',
  },
  {
    op: 'iam:DetachRolePolicy',
    label: 'a role that does not exist',
    as: WORKLOADS,
    input: () => ({ RoleName: 'diff-missing', PolicyArn: boundary() }),
    expect: 'NoSuchEntity',
  },
  {
    op: 'iam:DeleteRole',
    label: 'a role that still has an inline policy',
    as: WORKLOADS,
    input: () => ({ RoleName: ROLE }),
    expect: 'DeleteConflict',
  },
  {
    op: 'iam:DeleteRolePolicy',
    label: 'deletes the inline policy',
    as: WORKLOADS,
    input: () => ({ RoleName: ROLE, PolicyName: 's3-onboarding' }),
  },
  {
    op: 'iam:DeleteRolePolicy',
    label: 'a policy already deleted',
    as: WORKLOADS,
    input: () => ({ RoleName: ROLE, PolicyName: 's3-onboarding' }),
    expect: 'NoSuchEntity',
  },
  { op: 'iam:DeleteRole', label: 'deletes the role', as: WORKLOADS, input: () => ({ RoleName: ROLE }) },
  {
    op: 'iam:DeleteRole',
    label: 'a role already deleted',
    as: WORKLOADS,
    input: () => ({ RoleName: ROLE }),
    expect: 'NoSuchEntity',
  },

  // ---------- IAM: the permissions boundary ----------
  {
    op: 'iam:GetPolicy',
    label: 'reads the boundary policy',
    as: WORKLOADS,
    input: () => ({ PolicyArn: boundary() }),
    values: ['Policy.PolicyName', 'Policy.Arn', 'Policy.Path', 'Policy.DefaultVersionId'],
  },
  {
    op: 'iam:GetPolicy',
    label: 'a policy that does not exist',
    as: WORKLOADS,
    input: () => ({ PolicyArn: `arn:aws:iam::${WORKLOADS}:policy/s3-onboarding/missing` }),
    expect: 'NoSuchEntity',
  },
  {
    op: 'iam:GetPolicyVersion',
    label: 'reads its default version',
    as: WORKLOADS,
    input: () => ({ PolicyArn: boundary(), VersionId: 'v1' }),
    values: ['PolicyVersion.VersionId', 'PolicyVersion.IsDefaultVersion'],
  },
  {
    op: 'iam:GetPolicyVersion',
    label: 'a version that does not exist',
    as: WORKLOADS,
    input: () => ({ PolicyArn: boundary(), VersionId: 'v9' }),
    expect: 'NoSuchEntity',
  },

  // ---------- IAM: OIDC providers ----------
  { op: 'iam:ListOpenIDConnectProviders', label: 'lists providers', as: WORKLOADS, input: () => ({}) },
  {
    op: 'iam:CreateOpenIDConnectProvider',
    label: 'creates a provider as the service does (no thumbprint, tags)',
    as: WORKLOADS,
    input: (c) => ({
      Url: issuerOf(c, 'restore'),
      ClientIDList: ['sts.amazonaws.com'],
      Tags: [{ Key: 's3-onboarding/managed-by', Value: 's3-onboarding' }],
    }),
    values: ['OpenIDConnectProviderArn'],
  },
  {
    op: 'iam:CreateOpenIDConnectProvider',
    label: 'the same issuer again',
    as: WORKLOADS,
    input: (c) => ({ Url: issuerOf(c, 'restore'), ClientIDList: ['sts.amazonaws.com'] }),
    expect: 'EntityAlreadyExists',
  },
  {
    op: 'iam:GetOpenIDConnectProvider',
    label: 'reads the provider',
    as: WORKLOADS,
    input: (c) => ({ OpenIDConnectProviderArn: providerArn(c, 'restore') }),
    values: ['Url', 'ClientIDList'],
  },
  {
    op: 'iam:GetOpenIDConnectProvider',
    label: 'a provider that does not exist',
    as: WORKLOADS,
    input: () => ({
      OpenIDConnectProviderArn: `arn:aws:iam::${WORKLOADS}:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/0000MISSING`,
    }),
    expect: 'NoSuchEntity',
  },
  {
    op: 'iam:DeleteOpenIDConnectProvider',
    label: 'deletes the provider',
    as: WORKLOADS,
    input: (c) => ({ OpenIDConnectProviderArn: providerArn(c, 'restore') }),
  },
  // the API reference: "idempotent; it does not fail or return an error if you call the operation for a provider that does not exist"
  {
    op: 'iam:DeleteOpenIDConnectProvider',
    label: 'a provider already deleted',
    as: WORKLOADS,
    input: (c) => ({ OpenIDConnectProviderArn: providerArn(c, 'restore') }),
  },

  // ---------- STS ----------
  {
    op: 'sts:GetCallerIdentity',
    label: 'an account root',
    as: WORKLOADS,
    input: () => ({}),
    values: ['Account', 'Arn'],
  },
  { op: 'sts:GetCallerIdentity', label: "the API role's session", as: 'api', input: () => ({}), values: ['Account'] },
  {
    op: 'sts:AssumeRole',
    label: 'the API role assumes a provisioner role with its external id',
    as: 'api',
    input: () => ({
      RoleArn: `arn:aws:iam::${WORKLOADS}:role/s3-onboarding-provisioner`,
      RoleSessionName: 's3-onboarding',
      ExternalId: 's3-onboarding-local',
      DurationSeconds: 3600,
    }),
    values: ['AssumedRoleUser.Arn'],
  },

  // ---------- S3 (as the bucket owner) ----------
  {
    op: 's3:GetBucketLocation',
    label: 'a bucket in eu-west-1',
    as: BACKUPS,
    input: () => ({ Bucket: 'demo-backups', ExpectedBucketOwner: BACKUPS }),
    values: ['LocationConstraint'],
  },
  {
    op: 's3:GetBucketLocation',
    label: 'a bucket that does not exist',
    as: BACKUPS,
    input: () => ({ Bucket: 'diff-missing-bucket', ExpectedBucketOwner: BACKUPS }),
    expect: 'NoSuchBucket',
  },
  {
    op: 's3:GetBucketLocation',
    label: 'another ExpectedBucketOwner',
    as: BACKUPS,
    input: () => ({ Bucket: 'demo-backups', ExpectedBucketOwner: WORKLOADS }),
    expect: 'AccessDenied',
  },
  {
    op: 's3:GetBucketTagging',
    label: 'a tagged bucket',
    as: BACKUPS,
    input: () => ({ Bucket: 'demo-backups', ExpectedBucketOwner: BACKUPS }),
    values: ['TagSet'],
  },
  {
    op: 's3:GetBucketTagging',
    label: 'a bucket without tags',
    as: WORKLOADS,
    input: () => ({ Bucket: 'workload-untagged-backups', ExpectedBucketOwner: WORKLOADS }),
    expect: 'NoSuchTagSet',
  },
  {
    op: 's3:GetBucketAbac',
    label: 'a bucket with ABAC on (the topology default)',
    as: BACKUPS,
    input: () => ({ Bucket: 'demo-backups', ExpectedBucketOwner: BACKUPS }),
  },
  {
    op: 's3:GetBucketTagging',
    label: 'a bucket that does not exist',
    as: BACKUPS,
    input: () => ({ Bucket: 'diff-missing-bucket', ExpectedBucketOwner: BACKUPS }),
    expect: 'NoSuchBucket',
  },
  {
    op: 's3:GetBucketPolicy',
    label: 'a bucket with a policy',
    as: BACKUPS,
    input: () => ({ Bucket: 'demo-backups', ExpectedBucketOwner: BACKUPS }),
  },
  {
    op: 's3:GetBucketPolicy',
    label: 'a bucket without a policy',
    as: BACKUPS,
    input: () => ({ Bucket: 'shared-backups', ExpectedBucketOwner: BACKUPS }),
    expect: 'NoSuchBucketPolicy',
  },
  {
    op: 's3:GetBucketPolicy',
    label: 'a bucket that does not exist',
    as: BACKUPS,
    input: () => ({ Bucket: 'diff-missing-bucket', ExpectedBucketOwner: BACKUPS }),
    expect: 'NoSuchBucket',
  },
  {
    op: 's3:PutBucketPolicy',
    label: "writes the service's statement",
    as: BACKUPS,
    input: () => ({
      Bucket: 'shared-backups',
      ExpectedBucketOwner: BACKUPS,
      Policy: bucketStatement('shared-backups'),
    }),
  },
  {
    op: 's3:GetBucketPolicy',
    label: 'reads it back',
    as: BACKUPS,
    input: () => ({ Bucket: 'shared-backups', ExpectedBucketOwner: BACKUPS }),
    values: ['Policy'],
  },
  {
    op: 's3:PutBucketPolicy',
    label: 'a statement with no action',
    as: BACKUPS,
    input: () => ({ Bucket: 'shared-backups', ExpectedBucketOwner: BACKUPS, Policy: noAction }),
    expect: 'MalformedPolicy',
  },
  {
    op: 's3:PutBucketPolicy',
    label: 'a bucket that does not exist',
    as: BACKUPS,
    input: () => ({
      Bucket: 'diff-missing-bucket',
      ExpectedBucketOwner: BACKUPS,
      Policy: bucketStatement('diff-missing-bucket'),
    }),
    expect: 'NoSuchBucket',
  },
  {
    op: 's3:DeleteBucketPolicy',
    label: 'deletes the policy',
    as: BACKUPS,
    input: () => ({ Bucket: 'shared-backups', ExpectedBucketOwner: BACKUPS }),
  },
  {
    op: 's3:DeleteBucketPolicy',
    label: 'a bucket that does not exist',
    as: BACKUPS,
    input: () => ({ Bucket: 'diff-missing-bucket', ExpectedBucketOwner: BACKUPS }),
    expect: 'NoSuchBucket',
  },

  // ---------- S3 data plane: not the service's calls, but what the clients of npm run clients make ----------
  // (shared-backups: demo-backups denies plain HTTP, which moto, unlike the emulator, sees as insecure transport)
  {
    op: 's3:PutObject',
    label: 'an object under the prefix',
    as: BACKUPS,
    input: () => ({ Bucket: 'shared-backups', Key: 'diff/a.txt', Body: 'one' }),
    values: ['ETag'],
  },
  {
    op: 's3:PutObject',
    label: 'an object one level deeper',
    as: BACKUPS,
    input: () => ({ Bucket: 'shared-backups', Key: 'diff/sub/b.txt', Body: 'two' }),
  },
  {
    op: 's3:ListObjectsV2',
    label: 'with a delimiter (common prefixes)',
    as: BACKUPS,
    input: () => ({ Bucket: 'shared-backups', Prefix: 'diff/', Delimiter: '/' }),
    values: [
      'KeyCount',
      'IsTruncated',
      'Prefix',
      'Delimiter',
      'Contents[].Key',
      'Contents[].Size',
      'CommonPrefixes[].Prefix',
    ],
  },
  {
    op: 's3:ListObjectsV2',
    label: 'one key per page',
    as: BACKUPS,
    input: () => ({ Bucket: 'shared-backups', Prefix: 'diff/', MaxKeys: 1 }),
    values: ['KeyCount', 'IsTruncated', 'MaxKeys', 'Contents[].Key'],
  },
  {
    op: 's3:ListObjects',
    label: 'version 1, with a delimiter',
    as: BACKUPS,
    input: () => ({ Bucket: 'shared-backups', Prefix: 'diff/', Delimiter: '/' }),
    values: ['IsTruncated', 'Prefix', 'Delimiter', 'Marker', 'Contents[].Key', 'CommonPrefixes[].Prefix'],
  },
  {
    op: 's3:ListObjects',
    label: 'version 1, URL-encoded',
    as: BACKUPS,
    input: () => ({ Bucket: 'shared-backups', Prefix: 'diff/', EncodingType: 'url' }),
    values: ['EncodingType', 'Contents[].Key'],
  },
  {
    op: 's3:HeadObject',
    label: 'an object',
    as: BACKUPS,
    input: () => ({ Bucket: 'shared-backups', Key: 'diff/a.txt' }),
    values: ['ContentLength', 'ETag'],
  },
  {
    op: 's3:GetObject',
    label: 'an object',
    as: BACKUPS,
    input: () => ({ Bucket: 'shared-backups', Key: 'diff/a.txt' }),
    values: ['Body', 'ContentLength', 'ETag'],
  },
  {
    op: 's3:GetObject',
    label: 'a byte range',
    as: BACKUPS,
    input: () => ({ Bucket: 'shared-backups', Key: 'diff/a.txt', Range: 'bytes=1-' }),
    values: ['Body', 'ContentLength', 'ContentRange'],
  },
  {
    op: 's3:GetObject',
    label: 'a range past the end',
    as: BACKUPS,
    input: () => ({ Bucket: 'shared-backups', Key: 'diff/a.txt', Range: 'bytes=10-20' }),
    expect: 'InvalidRange',
  },
  {
    op: 's3:GetObject',
    label: 'a key that does not exist',
    as: BACKUPS,
    input: () => ({ Bucket: 'shared-backups', Key: 'diff/missing.txt' }),
    expect: 'NoSuchKey',
  },
  {
    op: 's3:CreateMultipartUpload',
    label: 'a multipart upload',
    as: BACKUPS,
    input: () => ({ Bucket: 'shared-backups', Key: 'diff/one-part.bin' }),
    save: 'mpu',
    values: ['Bucket', 'Key'],
  },
  {
    op: 's3:UploadPart',
    label: 'its only part',
    as: BACKUPS,
    input: () => ({
      Bucket: 'shared-backups',
      Key: 'diff/one-part.bin',
      UploadId: ref('mpu', 'UploadId'),
      PartNumber: 1,
      Body: 'the only part',
    }),
    save: 'part1',
    values: ['ETag'],
  },
  {
    op: 's3:CompleteMultipartUpload',
    label: 'completes it (a last part may be small)',
    as: BACKUPS,
    input: () => ({
      Bucket: 'shared-backups',
      Key: 'diff/one-part.bin',
      UploadId: ref('mpu', 'UploadId'),
      MultipartUpload: { Parts: [{ PartNumber: 1, ETag: ref('part1', 'ETag') }] },
    }),
    values: ['Bucket', 'Key', 'ETag'],
  },
  {
    op: 's3:HeadObject',
    label: 'the object it made',
    as: BACKUPS,
    input: () => ({ Bucket: 'shared-backups', Key: 'diff/one-part.bin' }),
    values: ['ContentLength', 'ETag'],
  },
  {
    op: 's3:CreateMultipartUpload',
    label: 'an upload of two small parts',
    as: BACKUPS,
    input: () => ({ Bucket: 'shared-backups', Key: 'diff/two-small.bin' }),
    save: 'mpu2',
  },
  {
    op: 's3:UploadPart',
    label: 'a small first part',
    as: BACKUPS,
    input: () => ({
      Bucket: 'shared-backups',
      Key: 'diff/two-small.bin',
      UploadId: ref('mpu2', 'UploadId'),
      PartNumber: 1,
      Body: 'small',
    }),
    save: 'small1',
  },
  {
    op: 's3:UploadPart',
    label: 'a small second part',
    as: BACKUPS,
    input: () => ({
      Bucket: 'shared-backups',
      Key: 'diff/two-small.bin',
      UploadId: ref('mpu2', 'UploadId'),
      PartNumber: 2,
      Body: 'small',
    }),
    save: 'small2',
  },
  {
    op: 's3:CompleteMultipartUpload',
    label: 'a part other than the last under 5 MiB',
    as: BACKUPS,
    input: () => ({
      Bucket: 'shared-backups',
      Key: 'diff/two-small.bin',
      UploadId: ref('mpu2', 'UploadId'),
      MultipartUpload: {
        Parts: [
          { PartNumber: 1, ETag: ref('small1', 'ETag') },
          { PartNumber: 2, ETag: ref('small2', 'ETag') },
        ],
      },
    }),
    expect: 'EntityTooSmall',
  },
  {
    op: 's3:AbortMultipartUpload',
    label: 'aborts it',
    as: BACKUPS,
    input: () => ({ Bucket: 'shared-backups', Key: 'diff/two-small.bin', UploadId: ref('mpu2', 'UploadId') }),
  },
  {
    op: 's3:AbortMultipartUpload',
    label: 'an upload already aborted',
    as: BACKUPS,
    input: () => ({ Bucket: 'shared-backups', Key: 'diff/two-small.bin', UploadId: ref('mpu2', 'UploadId') }),
    expect: 'NoSuchUpload',
  },
  {
    op: 's3:DeleteObject',
    label: 'the multipart object',
    as: BACKUPS,
    input: () => ({ Bucket: 'shared-backups', Key: 'diff/one-part.bin' }),
  },
  {
    op: 's3:DeleteObject',
    label: 'an object',
    as: BACKUPS,
    input: () => ({ Bucket: 'shared-backups', Key: 'diff/a.txt' }),
  },
  {
    op: 's3:DeleteObject',
    label: 'the other object',
    as: BACKUPS,
    input: () => ({ Bucket: 'shared-backups', Key: 'diff/sub/b.txt' }),
  },

  // ---------- EKS ----------
  {
    op: 'eks:DescribeCluster',
    label: 'a cluster with an OIDC issuer',
    as: WORKLOADS,
    region: 'eu-west-1',
    input: (c) => ({ name: clusterOf(c, 'demo').name }),
    values: ['cluster.name', 'cluster.status', 'cluster.arn', 'cluster.identity.oidc.issuer'],
  },
  {
    op: 'eks:DescribeCluster',
    label: 'a cluster that does not exist',
    as: WORKLOADS,
    region: 'eu-west-1',
    input: () => ({ name: 'diff-missing' }),
    expect: 'ResourceNotFoundException',
  },

  // ---------- EKS Pod Identity (moto has none of it: every step shows moto's 404) ----------
  {
    op: 'iam:CreateRole',
    label: 'a role for Pod Identity (set-up)',
    as: WORKLOADS,
    input: () => ({
      RoleName: 'diff-pod-role',
      Path: PATH,
      AssumeRolePolicyDocument: JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Principal: { Service: 'pods.eks.amazonaws.com' },
            Action: ['sts:AssumeRole', 'sts:TagSession'],
          },
        ],
      }),
    }),
  },
  {
    op: 'eks:DescribeAddon',
    label: 'the Pod Identity agent',
    as: WORKLOADS,
    region: 'eu-west-1',
    input: () => ({ clusterName: 'demo', addonName: 'eks-pod-identity-agent' }),
    values: ['addon.addonName', 'addon.status'],
  },
  {
    op: 'eks:DescribeAddon',
    label: 'an add-on the cluster does not have',
    as: WORKLOADS,
    region: 'eu-west-1',
    input: () => ({ clusterName: 'demo', addonName: 'diff-missing' }),
    expect: 'ResourceNotFoundException',
  },
  {
    op: 'eks:CreatePodIdentityAssociation',
    label: 'associates a service account with the role',
    as: WORKLOADS,
    region: 'eu-west-1',
    input: () => ({
      clusterName: 'demo',
      namespace: 'diff',
      serviceAccount: 'pbm-agent',
      roleArn: `arn:aws:iam::${WORKLOADS}:role${PATH}diff-pod-role`,
      disableSessionTags: false,
    }),
    save: 'association',
    values: [
      'association.namespace',
      'association.serviceAccount',
      'association.roleArn',
      'association.disableSessionTags',
    ],
  },
  {
    op: 'eks:CreatePodIdentityAssociation',
    label: 'the same service account again',
    as: WORKLOADS,
    region: 'eu-west-1',
    input: () => ({
      clusterName: 'demo',
      namespace: 'diff',
      serviceAccount: 'pbm-agent',
      roleArn: `arn:aws:iam::${WORKLOADS}:role${PATH}diff-pod-role`,
    }),
    expect: 'ResourceInUseException',
  },
  {
    op: 'eks:ListPodIdentityAssociations',
    label: 'the associations of a namespace',
    as: WORKLOADS,
    region: 'eu-west-1',
    input: () => ({ clusterName: 'demo', namespace: 'diff', maxResults: 100 }),
    values: ['associations[].namespace', 'associations[].serviceAccount'],
  },
  {
    op: 'eks:ListPodIdentityAssociations',
    label: 'a cluster that does not exist',
    as: WORKLOADS,
    region: 'eu-west-1',
    input: () => ({ clusterName: 'diff-missing', namespace: 'diff' }),
    expect: 'ResourceNotFoundException',
  },
  {
    op: 'eks:DescribePodIdentityAssociation',
    label: 'the association',
    as: WORKLOADS,
    region: 'eu-west-1',
    input: () => ({ clusterName: 'demo', associationId: ref('association', 'association.associationId') }),
    values: ['association.serviceAccount', 'association.roleArn'],
  },
  {
    op: 'eks:DescribePodIdentityAssociation',
    label: 'an association that does not exist',
    as: WORKLOADS,
    region: 'eu-west-1',
    input: () => ({ clusterName: 'demo', associationId: 'a-0000000000000000' }),
    expect: 'ResourceNotFoundException',
  },
  {
    op: 'eks:UpdatePodIdentityAssociation',
    label: 'points it at the role again, with no target role',
    as: WORKLOADS,
    region: 'eu-west-1',
    input: () => ({
      clusterName: 'demo',
      associationId: ref('association', 'association.associationId'),
      roleArn: `arn:aws:iam::${WORKLOADS}:role${PATH}diff-pod-role`,
      targetRoleArn: '',
      disableSessionTags: false,
    }),
  },
  {
    op: 'eks:DeletePodIdentityAssociation',
    label: 'deletes the association',
    as: WORKLOADS,
    region: 'eu-west-1',
    input: () => ({ clusterName: 'demo', associationId: ref('association', 'association.associationId') }),
  },
  {
    op: 'eks:DeletePodIdentityAssociation',
    label: 'an association already deleted',
    as: WORKLOADS,
    region: 'eu-west-1',
    input: () => ({ clusterName: 'demo', associationId: ref('association', 'association.associationId') }),
    expect: 'ResourceNotFoundException',
  },
  {
    op: 'iam:DeleteRole',
    label: 'the Pod Identity role (clean-up)',
    as: WORKLOADS,
    input: () => ({ RoleName: 'diff-pod-role' }),
  },

  // ---------- KMS (as the key owner) ----------
  {
    op: 'kms:DescribeKey',
    label: 'a customer managed key by ARN',
    as: BACKUPS,
    input: (c) => ({ KeyId: keyArn(c) }),
    values: [
      'KeyMetadata.Arn',
      'KeyMetadata.KeyManager',
      'KeyMetadata.KeyState',
      'KeyMetadata.Enabled',
      'KeyMetadata.AWSAccountId',
    ],
  },
  {
    op: 'kms:DescribeKey',
    label: 'a key that does not exist',
    as: BACKUPS,
    input: () => ({ KeyId: `arn:aws:kms:eu-west-1:${BACKUPS}:key/00000000-0000-0000-0000-000000000000` }),
    expect: 'NotFoundException',
  },
  {
    op: 'kms:ListResourceTags',
    label: "a key's tags",
    as: BACKUPS,
    input: (c) => ({ KeyId: keyArn(c) }),
    values: ['Tags', 'Truncated'],
  },
  {
    op: 'kms:ListResourceTags',
    label: 'a key that does not exist',
    as: BACKUPS,
    input: () => ({ KeyId: `arn:aws:kms:eu-west-1:${BACKUPS}:key/00000000-0000-0000-0000-000000000000` }),
    expect: 'NotFoundException',
  },
  {
    op: 'kms:GetKeyPolicy',
    label: 'reads the default policy',
    as: BACKUPS,
    input: (c) => ({ KeyId: keyArn(c), PolicyName: 'default' }),
  },
  {
    op: 'kms:GetKeyPolicy',
    label: 'a key that does not exist',
    as: BACKUPS,
    input: () => ({
      KeyId: `arn:aws:kms:eu-west-1:${BACKUPS}:key/00000000-0000-0000-0000-000000000000`,
      PolicyName: 'default',
    }),
    expect: 'NotFoundException',
  },
  {
    op: 'kms:PutKeyPolicy',
    label: "adds the service's statement",
    as: BACKUPS,
    input: (c) => ({ KeyId: keyArn(c), PolicyName: 'default', Policy: keyPolicy }),
  },
  {
    op: 'kms:GetKeyPolicy',
    label: 'reads it back',
    as: BACKUPS,
    input: (c) => ({ KeyId: keyArn(c), PolicyName: 'default' }),
    values: ['Policy'],
  },
  {
    op: 'kms:PutKeyPolicy',
    label: 'a policy that is not JSON',
    as: BACKUPS,
    input: (c) => ({ KeyId: keyArn(c), PolicyName: 'default', Policy: '{"Statement": [' }),
    expect: 'MalformedPolicyDocumentException',
  },
  {
    op: 'kms:PutKeyPolicy',
    label: 'a key that does not exist',
    as: BACKUPS,
    input: () => ({
      KeyId: `arn:aws:kms:eu-west-1:${BACKUPS}:key/00000000-0000-0000-0000-000000000000`,
      PolicyName: 'default',
      Policy: keyPolicy,
    }),
    expect: 'NotFoundException',
  },

  // ---------- KMS grants (issue 19: SSE-KMS through grants; the key owner grants a workload role) ----------
  {
    op: 'kms:CreateGrant',
    label: 'Decrypt and GenerateDataKey to a role, constrained to the bucket, with a retiring principal',
    as: BACKUPS,
    input: (c) => ({
      KeyId: keyArn(c),
      GranteePrincipal: `arn:aws:iam::${WORKLOADS}:role/s3-onboarding-provisioner`,
      RetiringPrincipal: `arn:aws:iam::${BACKUPS}:role/s3-onboarding-provisioner`,
      Operations: ['Decrypt', 'GenerateDataKey'],
      Constraints: { EncryptionContextSubset: { 'aws:s3:arn': 'arn:aws:s3:::demo-encrypted-backups' } },
      Name: 'diff-grant',
    }),
    save: 'grant',
  },
  {
    op: 'kms:ListGrants',
    label: "the key's grants",
    as: BACKUPS,
    input: (c) => ({ KeyId: keyArn(c) }),
    values: [
      'Grants[].GranteePrincipal',
      'Grants[].RetiringPrincipal',
      'Grants[].Operations',
      'Grants[].Constraints',
      'Grants[].Name',
      'Truncated',
    ],
  },
  {
    op: 'kms:RetireGrant',
    label: 'by key and grant id',
    as: BACKUPS,
    input: (c) => ({ KeyId: keyArn(c), GrantId: ref('grant', 'GrantId') }),
  },
  {
    op: 'kms:RetireGrant',
    label: 'a grant already retired',
    as: BACKUPS,
    input: (c) => ({ KeyId: keyArn(c), GrantId: ref('grant', 'GrantId') }),
    expect: 'NotFoundException',
  },
  {
    op: 'kms:CreateGrant',
    label: 'another grant, to revoke',
    as: BACKUPS,
    input: (c) => ({
      KeyId: keyArn(c),
      GranteePrincipal: `arn:aws:iam::${WORKLOADS}:role/s3-onboarding-provisioner`,
      Operations: ['Decrypt'],
    }),
    save: 'grant2',
  },
  {
    op: 'kms:RevokeGrant',
    label: 'revokes it',
    as: BACKUPS,
    input: (c) => ({ KeyId: keyArn(c), GrantId: ref('grant2', 'GrantId') }),
  },
  {
    op: 'kms:RevokeGrant',
    label: 'a grant already revoked',
    as: BACKUPS,
    input: (c) => ({ KeyId: keyArn(c), GrantId: ref('grant2', 'GrantId') }),
    expect: 'NotFoundException',
  },
  {
    op: 'kms:ListGrants',
    label: 'none left',
    as: BACKUPS,
    input: (c) => ({ KeyId: keyArn(c) }),
    values: ['Grants', 'Truncated'],
  },

  {
    op: 'kms:ListGrants',
    label: 'a key that does not exist',
    as: BACKUPS,
    input: () => ({ KeyId: `arn:aws:kms:eu-west-1:${BACKUPS}:key/00000000-0000-0000-0000-000000000000` }),
    expect: 'NotFoundException',
  },
  // (the steps moto accepts though AWS refuses them come last: what moto then holds would show in the lists above)
  {
    op: 'kms:CreateGrant',
    label: 'an operation that does not exist',
    as: BACKUPS,
    input: (c) => ({
      KeyId: keyArn(c),
      GranteePrincipal: `arn:aws:iam::${WORKLOADS}:role/s3-onboarding-provisioner`,
      Operations: ['Fly'],
    }),
    expect: 'ValidationException',
  },
  {
    op: 'kms:CreateGrant',
    label: 'a grantee that does not exist',
    as: BACKUPS,
    input: (c) => ({
      KeyId: keyArn(c),
      GranteePrincipal: `arn:aws:iam::${WORKLOADS}:role/no-such-role`,
      Operations: ['Decrypt'],
    }),
    expect: 'InvalidArnException',
  },

  // ---------- S3 Control access points (issue 19: access-point mode; the bucket account's root) ----------
  {
    op: 's3control:CreateAccessPoint',
    label: 'on a bucket',
    as: BACKUPS,
    input: () => ({ AccountId: BACKUPS, Name: 'diff-ap', Bucket: 'demo-backups' }),
    values: ['AccessPointArn'],
    save: 'ap',
  },
  {
    op: 's3control:CreateAccessPoint',
    label: 'the same name again',
    as: BACKUPS,
    input: () => ({ AccountId: BACKUPS, Name: 'diff-ap', Bucket: 'demo-backups' }),
    expect: 'AccessPointAlreadyOwnedByYou',
  },
  {
    op: 's3control:GetAccessPoint',
    label: 'reads it',
    as: BACKUPS,
    input: () => ({ AccountId: BACKUPS, Name: 'diff-ap' }),
    values: ['Name', 'Bucket', 'NetworkOrigin', 'PublicAccessBlockConfiguration', 'AccessPointArn'],
  },
  {
    op: 's3control:GetAccessPoint',
    label: 'an access point that does not exist',
    as: BACKUPS,
    input: () => ({ AccountId: BACKUPS, Name: 'no-such-ap' }),
    expect: 'NoSuchAccessPoint',
  },
  {
    op: 's3control:ListTagsForResource',
    label: "an access point's tags (none yet)",
    as: BACKUPS,
    input: () => ({ AccountId: BACKUPS, ResourceArn: `arn:aws:s3:eu-west-1:${BACKUPS}:accesspoint/diff-ap` }),
    values: ['Tags'],
  },
  {
    op: 's3control:ListAccessPoints',
    label: "a bucket's access points",
    as: BACKUPS,
    input: () => ({ AccountId: BACKUPS, Bucket: 'demo-backups' }),
    values: ['AccessPointList[].Name', 'AccessPointList[].Bucket', 'AccessPointList[].NetworkOrigin'],
  },
  {
    op: 's3control:GetAccessPointPolicy',
    label: 'no policy yet',
    as: BACKUPS,
    input: () => ({ AccountId: BACKUPS, Name: 'diff-ap' }),
    expect: 'NoSuchAccessPointPolicy',
  },
  {
    op: 's3control:PutAccessPointPolicy',
    label: 'grants a role a prefix',
    as: BACKUPS,
    input: () => ({
      AccountId: BACKUPS,
      Name: 'diff-ap',
      Policy: accessPointPolicy(`arn:aws:s3:eu-west-1:${BACKUPS}:accesspoint/diff-ap/object/diff/*`),
    }),
  },
  {
    op: 's3control:GetAccessPointPolicy',
    label: 'reads it back',
    as: BACKUPS,
    input: () => ({ AccountId: BACKUPS, Name: 'diff-ap' }),
    values: ['Policy'],
  },
  {
    op: 's3control:PutAccessPointPolicy',
    label: 'a resource outside the access point',
    as: BACKUPS,
    input: () => ({
      AccountId: BACKUPS,
      Name: 'diff-ap',
      Policy: accessPointPolicy('arn:aws:s3:::demo-backups/diff/*'),
    }),
    expect: 'MalformedPolicy',
  },
  {
    op: 's3:ListObjectsV2',
    label: 'through the access point alias',
    as: BACKUPS,
    input: () => ({ Bucket: ref('ap', 'Alias'), Prefix: 'diff/' }),
    values: ['KeyCount'],
  },
  {
    op: 's3control:DeleteAccessPointPolicy',
    label: 'deletes the policy',
    as: BACKUPS,
    input: () => ({ AccountId: BACKUPS, Name: 'diff-ap' }),
  },
  {
    op: 's3control:GetAccessPointPolicy',
    label: 'a deleted policy',
    as: BACKUPS,
    input: () => ({ AccountId: BACKUPS, Name: 'diff-ap' }),
    expect: 'NoSuchAccessPointPolicy',
  },
  {
    op: 's3control:DeleteAccessPoint',
    label: 'deletes the access point',
    as: BACKUPS,
    input: () => ({ AccountId: BACKUPS, Name: 'diff-ap' }),
  },
  {
    op: 's3control:DeleteAccessPoint',
    label: 'an access point already deleted',
    as: BACKUPS,
    input: () => ({ AccountId: BACKUPS, Name: 'diff-ap' }),
    expect: 'NoSuchAccessPoint',
  },

  // (the steps moto accepts though AWS refuses them come last: what moto then holds would show in the lists above)
  {
    op: 's3control:CreateAccessPoint',
    label: 'an invalid name (upper case)',
    as: BACKUPS,
    input: () => ({ AccountId: BACKUPS, Name: 'Diff-AP', Bucket: 'demo-backups' }),
    expect: 'InvalidRequest',
  },
  {
    op: 's3control:CreateAccessPoint',
    label: 'a bucket that does not exist',
    as: BACKUPS,
    input: () => ({ AccountId: BACKUPS, Name: 'diff-ap-2', Bucket: 'no-such-bucket-diff' }),
    expect: 'NoSuchBucket',
  },

  // ---------- EventBridge (the stream function, as the API role) ----------
  {
    op: 'events:PutEvents',
    label: 'an onboarding event on the default bus',
    as: 'api',
    input: () => ({
      Entries: [
        {
          Source: 's3-onboarding',
          DetailType: 'Onboarding Provisioned',
          Detail: JSON.stringify({ eventId: 'ob-000000000000:2:provisioned', id: 'ob-000000000000' }),
          Resources: [`arn:aws:iam::${WORKLOADS}:role/s3-onboarding/s3ob-diff`],
        },
      ],
    }),
    values: ['FailedEntryCount'],
  },
  {
    op: 'events:PutEvents',
    label: 'a detail that is not JSON fails in its entry, not the call',
    as: 'api',
    input: () => ({ Entries: [{ Source: 's3-onboarding', DetailType: 'Onboarding Provisioned', Detail: 'not json' }] }),
    values: ['FailedEntryCount'],
  },

  // ---------- DynamoDB (the local stack's is dynalite, not the emulator) ----------
  {
    op: 'dynamodb:PutItem',
    label: 'a new record (attribute_not_exists)',
    as: PLATFORM,
    input: () => ({
      TableName: TABLE,
      Item: {
        pk: S('ONB#diff'),
        sk: S('RECORD'),
        type: S('onboarding'),
        version: N(1),
        clusterKeys: { L: [S('demo')] },
        status: S('provisioned'),
      },
      ConditionExpression: 'attribute_not_exists(pk)',
    }),
  },
  {
    op: 'dynamodb:PutItem',
    label: 'the same record again',
    as: PLATFORM,
    input: () => ({
      TableName: TABLE,
      Item: { pk: S('ONB#diff'), sk: S('RECORD'), version: N(1) },
      ConditionExpression: 'attribute_not_exists(pk)',
    }),
    expect: 'ConditionalCheckFailedException',
  },
  {
    op: 'dynamodb:PutItem',
    label: 'an optimistic update (version = :v)',
    as: PLATFORM,
    input: () => ({
      TableName: TABLE,
      Item: {
        pk: S('ONB#diff'),
        sk: S('RECORD'),
        type: S('onboarding'),
        version: N(2),
        clusterKeys: { L: [S('demo')] },
        status: S('provisioned'),
      },
      ConditionExpression: 'version = :v',
      ExpressionAttributeValues: { ':v': N(1) },
    }),
  },
  {
    op: 'dynamodb:GetItem',
    label: 'a record (consistent read)',
    as: PLATFORM,
    input: () => ({ TableName: TABLE, Key: { pk: S('ONB#diff'), sk: S('RECORD') }, ConsistentRead: true }),
    values: ['Item.version.N'],
  },
  {
    op: 'dynamodb:GetItem',
    label: 'a record that does not exist',
    as: PLATFORM,
    input: () => ({ TableName: TABLE, Key: { pk: S('ONB#missing'), sk: S('RECORD') }, ConsistentRead: true }),
  },
  {
    op: 'dynamodb:UpdateItem',
    label: 'completes an idempotency key',
    as: PLATFORM,
    input: () => ({
      TableName: TABLE,
      Key: { pk: S('IDEM#diff'), sk: S('IDEM') },
      UpdateExpression: 'SET #state = :done, #response = :r',
      ExpressionAttributeNames: { '#state': 'state', '#response': 'response' },
      ExpressionAttributeValues: { ':done': S('done'), ':r': { M: { statusCode: N(201) } } },
    }),
  },
  {
    op: 'dynamodb:BatchWriteItem',
    label: 'writes index items (puts and deletes)',
    as: PLATFORM,
    input: () => ({
      RequestItems: {
        [TABLE]: [
          {
            PutRequest: {
              Item: {
                pk: S('ONB#diff'),
                sk: S('IDX#CLUSTER#demo'),
                type: S('index'),
                gsi1pk: S('CLUSTER#demo'),
                gsi1sk: S('diff'),
              },
            },
          },
          {
            PutRequest: {
              Item: {
                pk: S('ONB#diff'),
                sk: S('IDX#BUCKET#demo-backups'),
                type: S('index'),
                gsi1pk: S('BUCKET#demo-backups'),
                gsi1sk: S('diff'),
              },
            },
          },
          { DeleteRequest: { Key: { pk: S('ONB#diff'), sk: S('IDX#gone') } } },
        ],
      },
    }),
  },
  {
    op: 'dynamodb:Query',
    label: 'onboardings of a cluster (the byKey index, a page)',
    as: PLATFORM,
    input: () => ({
      TableName: TABLE,
      IndexName: 'byKey',
      KeyConditionExpression: 'gsi1pk = :p',
      ExpressionAttributeValues: { ':p': S('CLUSTER#demo') },
      Limit: 50,
    }),
    values: ['Count', 'Items[].gsi1sk.S'],
  },
  {
    op: 'dynamodb:BatchGetItem',
    label: 'reads records by key (consistent)',
    as: PLATFORM,
    input: () => ({
      RequestItems: {
        [TABLE]: {
          Keys: [
            { pk: S('ONB#diff'), sk: S('RECORD') },
            { pk: S('ONB#missing'), sk: S('RECORD') },
          ],
          ConsistentRead: true,
        },
      },
    }),
    values: ['Responses.diff-table[].pk.S'],
  },
  {
    op: 'dynamodb:Query',
    label: 'pending bucket-policy changes (filter, consistent read)',
    as: PLATFORM,
    input: () => ({
      TableName: TABLE,
      KeyConditionExpression: 'pk = :pk',
      FilterExpression: 'attribute_not_exists(outcome)',
      ExpressionAttributeValues: { ':pk': S('ONB#diff') },
      ConsistentRead: true,
    }),
    values: ['Count'],
  },
  {
    op: 'dynamodb:DeleteItem',
    label: 'a lock held by another owner',
    as: PLATFORM,
    input: () => ({
      TableName: TABLE,
      Key: { pk: S('ONB#diff'), sk: S('RECORD') },
      ConditionExpression: '#owner = :owner',
      ExpressionAttributeNames: { '#owner': 'owner' },
      ExpressionAttributeValues: { ':owner': S('someone') },
    }),
    expect: 'ConditionalCheckFailedException',
  },
  {
    op: 'dynamodb:DeleteItem',
    label: 'deletes the record',
    as: PLATFORM,
    input: () => ({ TableName: TABLE, Key: { pk: S('ONB#diff'), sk: S('RECORD') } }),
  },
];

/** The table the DynamoDB steps use, keyed exactly as serverless.yml defines the service's table. */
export const DIFF_TABLE = TABLE;
