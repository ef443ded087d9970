/**
 * An already running AWS-compatible endpoint (moto_server, say) in place of the embedded emulator: seeding it with a
 * topology through ordinary AWS calls, and clients that act as an account's root there.
 *
 * Acting as an account: requests carry root credentials of the emulator's form (`AKIA` + account + `ROOT`) and
 * moto's `x-moto-account-id` header, so the same client works against moto (which takes the account from the
 * header) and against the emulator (which takes it from the key and ignores the header).
 */
import { CreateAccessPointCommand, PutAccessPointPolicyCommand, S3ControlClient } from '@aws-sdk/client-s3-control';
import path from 'node:path';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import {
  AttachRolePolicyCommand,
  CreateOpenIDConnectProviderCommand,
  CreatePolicyCommand,
  CreateRoleCommand,
  IAMClient,
  PutRolePolicyCommand,
} from '@aws-sdk/client-iam';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import {
  CreateBucketCommand,
  PutBucketEncryptionCommand,
  PutBucketPolicyCommand,
  PutBucketTaggingCommand,
  S3Client,
  type BucketLocationConstraint,
} from '@aws-sdk/client-s3';
import { CreateClusterCommand, EKSClient } from '@aws-sdk/client-eks';
import { CreateAliasCommand, CreateKeyCommand, DescribeKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import type { AwsCredentialIdentity } from '@smithy/types';
import { readTemplate, type CfnTemplate } from '../emulator/cfn';
import { EKS_THUMBPRINT, externalIdFor, templateIam, type RoleSpec } from '../emulator/seed';
import type { Topology } from '../emulator/topology';

export const rootCredentials = (accountId: string): AwsCredentialIdentity => ({
  accessKeyId: `AKIA${accountId}ROOT`,
  secretAccessKey: 'root-secret',
});

/** Adds moto's account header to every request of an SDK v3 client. */
export function actAsAccount<C extends { middlewareStack: { add: (...a: never[]) => unknown } }>(
  client: C,
  accountId: string,
): C {
  (client.middlewareStack as unknown as { add: (mw: unknown, opts: unknown) => void }).add(
    (next: (args: { request: { headers: Record<string, string> } }) => unknown) =>
      (args: { request: { headers: Record<string, string> } }) => {
        args.request.headers['x-moto-account-id'] = accountId;
        return next(args);
      },
    { step: 'build', name: 'actAsAccount' },
  );
  return client;
}

export interface RootClients {
  iam: IAMClient;
  sts: STSClient;
  s3: S3Client;
  eks: EKSClient;
  kms: KMSClient;
}

/** SDK v3 clients acting as `accountId`'s root at `endpoint` (no retries: a failure shows at once). */
export function rootClients(endpoint: string, accountId: string, region = 'eu-west-1'): RootClients {
  const common = { endpoint, credentials: rootCredentials(accountId), region, maxAttempts: 1 };
  return {
    iam: actAsAccount(new IAMClient({ ...common, region: 'us-east-1' }), accountId),
    sts: actAsAccount(new STSClient(common), accountId),
    s3: actAsAccount(new S3Client({ ...common, forcePathStyle: true }), accountId),
    eks: actAsAccount(new EKSClient(common), accountId),
    kms: actAsAccount(new KMSClient(common), accountId),
  };
}

const destroyAll = (c: RootClients) => Object.values(c).forEach((x: { destroy(): void }) => x.destroy());

/** The default key policy KMS gives a key created without one (and the emulator seeds). */
const defaultKeyPolicy = (accountId: string) => ({
  Version: '2012-10-17',
  Id: 'key-default-1',
  Statement: [
    {
      Sid: 'Enable IAM User Permissions',
      Effect: 'Allow',
      Principal: { AWS: `arn:aws:iam::${accountId}:root` },
      Action: 'kms:*',
      Resource: '*',
    },
  ],
});

async function createRole(iam: IAMClient, r: RoleSpec & { inline?: Record<string, string> }): Promise<void> {
  await iam.send(
    new CreateRoleCommand({
      RoleName: r.name,
      Path: r.path ?? '/',
      AssumeRolePolicyDocument: r.trustPolicy,
      Description: r.description,
      MaxSessionDuration: r.maxSessionDuration,
      PermissionsBoundary: r.boundary,
      Tags: Object.keys(r.tags ?? {}).length
        ? Object.entries(r.tags!).map(([Key, Value]) => ({ Key, Value }))
        : undefined,
    }),
  );
  for (const [PolicyName, PolicyDocument] of Object.entries(r.inline ?? {}))
    await iam.send(new PutRolePolicyCommand({ RoleName: r.name, PolicyName, PolicyDocument }));
  for (const PolicyArn of r.managed ?? []) await iam.send(new AttachRolePolicyCommand({ RoleName: r.name, PolicyArn }));
}

async function applyTemplate(
  iam: IAMClient,
  template: CfnTemplate,
  accountId: string,
  params: Record<string, string>,
): Promise<void> {
  const { policies, roles } = templateIam(template, accountId, params);
  for (const p of policies) {
    await iam.send(
      new CreatePolicyCommand({
        PolicyName: p.name,
        Path: p.path,
        PolicyDocument: JSON.stringify(p.document),
        Description: p.description,
      }),
    );
  }
  for (const r of roles) await createRole(iam, r);
}

export interface SeededTopology {
  /** the topology as the endpoint holds it: KMS key ARNs and cluster issuers are the ones the endpoint assigned */
  topology: Topology;
  /** topology key ARN → the endpoint's key ARN */
  keyArns: Map<string, string>;
}

/**
 * Creates a topology (contract section 2) at an empty AWS-compatible endpoint, the way the emulator seeds itself:
 * in every account the provisioner role and the workload boundary from deploy/provisioner.yaml, in the platform
 * account the API role from serverless.yml, then the clusters (and their IAM OIDC providers), roles, keys and buckets.
 * Keys and cluster issuers get the ids the endpoint assigns; the returned topology names those.
 */
export async function seedEndpoint(endpoint: string, t: Topology, repoRoot: string): Promise<SeededTopology> {
  const template = readTemplate(path.join(repoRoot, 'deploy/provisioner.yaml'));
  const sls = parse(readFileSync(path.join(repoRoot, 'serverless.yml'), 'utf8')) as { resources: CfnTemplate };
  const clients = new Map<string, RootClients>();
  const as = (accountId: string, region = 'eu-west-1'): RootClients => {
    const key = `${accountId}/${region}`;
    if (!clients.has(key)) clients.set(key, rootClients(endpoint, accountId, region));
    return clients.get(key)!;
  };
  try {
    for (const account of t.accounts) {
      await applyTemplate(as(account).iam, template, account, {
        PlatformAccountId: t.platformAccountId,
        ExternalId: externalIdFor(t, account),
      });
    }
    await applyTemplate(
      as(t.platformAccountId).iam,
      { Resources: { ApiRole: sls.resources.Resources.ApiRole } },
      t.platformAccountId,
      {},
    );

    const clusters: Topology['clusters'] = [];
    for (const c of t.clusters) {
      const out = await as(c.accountId, c.region).eks.send(
        new CreateClusterCommand({
          name: c.name,
          roleArn: `arn:aws:iam::${c.accountId}:role/eks-cluster-role`,
          resourcesVpcConfig: { subnetIds: [] },
        }),
      );
      const issuer = out.cluster?.identity?.oidc?.issuer;
      if (!issuer) throw new Error(`cluster ${c.name}: the endpoint gave it no OIDC issuer`);
      if (c.oidcProvider) {
        await as(c.accountId).iam.send(
          new CreateOpenIDConnectProviderCommand({
            Url: issuer,
            ClientIDList: ['sts.amazonaws.com'],
            ThumbprintList: [EKS_THUMBPRINT],
          }),
        );
      }
      clusters.push({ ...c, oidcIssuer: issuer });
    }
    for (const r of t.roles) {
      await createRole(as(r.accountId).iam, {
        name: r.name,
        path: r.path,
        trustPolicy: JSON.stringify(r.trustPolicy),
        inline: Object.fromEntries(Object.entries(r.inlinePolicies).map(([k, v]) => [k, JSON.stringify(v)])),
        tags: r.tags,
      });
    }
    const keyArns = new Map<string, string>();
    for (const k of t.kmsKeys) {
      const [, , , region, accountId] = k.arn.split(':');
      const { kms } = as(accountId, region);
      if (k.awsManaged) {
        // AWS creates its managed keys itself, on first use of the alias
        const alias = (k.aliases ?? []).find((a) => /^(alias\/)?aws\//.test(a)) ?? 'alias/aws/s3';
        const out = await kms.send(
          new DescribeKeyCommand({ KeyId: alias.startsWith('alias/') ? alias : `alias/${alias}` }),
        );
        keyArns.set(k.arn, out.KeyMetadata!.Arn!);
        continue;
      }
      const tags = (k as { tags?: Record<string, string> }).tags ?? {};
      const out = await kms.send(
        new CreateKeyCommand({
          Policy: JSON.stringify(k.policy ?? defaultKeyPolicy(accountId)),
          Tags: Object.keys(tags).length
            ? Object.entries(tags).map(([TagKey, TagValue]) => ({ TagKey, TagValue }))
            : undefined,
        }),
      );
      keyArns.set(k.arn, out.KeyMetadata!.Arn!);
      for (const a of k.aliases ?? [])
        await kms.send(
          new CreateAliasCommand({
            AliasName: a.startsWith('alias/') ? a : `alias/${a}`,
            TargetKeyId: out.KeyMetadata!.KeyId!,
          }),
        );
    }
    for (const b of t.buckets) {
      const { s3 } = as(b.accountId, b.region);
      await s3.send(
        new CreateBucketCommand({
          Bucket: b.name,
          CreateBucketConfiguration:
            b.region === 'us-east-1' ? undefined : { LocationConstraint: b.region as BucketLocationConstraint },
        }),
      );
      if (b.policy) await s3.send(new PutBucketPolicyCommand({ Bucket: b.name, Policy: JSON.stringify(b.policy) }));
      if (b.tags && Object.keys(b.tags).length) {
        await s3.send(
          new PutBucketTaggingCommand({
            Bucket: b.name,
            Tagging: { TagSet: Object.entries(b.tags).map(([Key, Value]) => ({ Key, Value })) },
          }),
        );
      }
      if (b.kmsKeyArn) {
        const KMSMasterKeyID = keyArns.get(b.kmsKeyArn) ?? b.kmsKeyArn;
        await s3.send(
          new PutBucketEncryptionCommand({
            Bucket: b.name,
            ServerSideEncryptionConfiguration: {
              Rules: [
                {
                  ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID },
                  BucketKeyEnabled: true,
                },
              ],
            },
          }),
        );
      }
    }
    // pre-existing (foreign) access points, as the emulator seeds them; S3 Control is given the endpoint as resolved
    // (its endpoint rules would put the account id in front of the host)
    for (const a of t.accessPoints) {
      const control = actAsAccount(
        new S3ControlClient({
          endpoint,
          region: a.region,
          credentials: rootCredentials(a.accountId),
          maxAttempts: 1,
          endpointProvider: () => ({ url: new URL(endpoint) }),
        }),
        a.accountId,
      );
      try {
        await control.send(
          new CreateAccessPointCommand({
            AccountId: a.accountId,
            Name: a.name,
            Bucket: a.bucket,
            ...(a.tags ? { Tags: Object.entries(a.tags).map(([Key, Value]) => ({ Key, Value })) } : {}),
          }),
        );
        if (a.policy)
          await control.send(
            new PutAccessPointPolicyCommand({ AccountId: a.accountId, Name: a.name, Policy: JSON.stringify(a.policy) }),
          );
      } finally {
        control.destroy();
      }
    }
    const mapKey = (arn: string) => keyArns.get(arn) ?? arn;
    return {
      topology: {
        ...t,
        clusters,
        kmsKeys: t.kmsKeys.map((k) => ({ ...k, arn: mapKey(k.arn) })),
        buckets: t.buckets.map((b) => (b.kmsKeyArn ? { ...b, kmsKeyArn: mapKey(b.kmsKeyArn) } : b)),
      },
      keyArns,
    };
  } finally {
    for (const c of clients.values()) destroyAll(c);
  }
}

/** Credentials of a role at the endpoint, as its runtime would hand them out: AssumeRole as the account's root. */
export async function roleCredentialsAt(
  endpoint: string,
  roleArn: string,
  sessionName: string,
): Promise<AwsCredentialIdentity & { expiration?: Date }> {
  const accountId = roleArn.split(':')[4];
  const sts = actAsAccount(
    new STSClient({ endpoint, region: 'us-east-1', credentials: rootCredentials(accountId), maxAttempts: 1 }),
    accountId,
  );
  try {
    const out = await sts.send(
      new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: sessionName, DurationSeconds: 3600 }),
    );
    const c = out.Credentials!;
    return {
      accessKeyId: c.AccessKeyId!,
      secretAccessKey: c.SecretAccessKey!,
      sessionToken: c.SessionToken,
      expiration: c.Expiration,
    };
  } finally {
    sts.destroy();
  }
}
