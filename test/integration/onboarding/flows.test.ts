import {
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  DeleteObjectCommand,
  GetBucketPolicyCommand,
  PutBucketPolicyCommand,
} from '@aws-sdk/client-s3';
import {
  GetRoleCommand,
  GetOpenIDConnectProviderCommand,
  GetRolePolicyCommand,
  CreateRoleCommand,
} from '@aws-sdk/client-iam';
import { AssumeRoleCommand } from '@aws-sdk/client-sts';
import { GetKeyPolicyCommand, ListGrantsCommand } from '@aws-sdk/client-kms';
import type { AwsCredentialIdentity } from '@smithy/types';
import type { Stack } from '../../../scripts/stack';
import { BACKUPS, WORKLOADS, failure, rootCredentials } from '../../helpers/emulator';
import { clients, podCredentials, useTestStack, writes, type TestStack } from '../../helpers/stack';
import { validateSnippet } from '../../helpers/schemas';

let stack: Stack;
let api: TestStack['api'];
let admin: TestStack['admin'];

const { restart } = useTestStack((t) => ({ stack, api, admin } = t), { resetEach: true });

const demo = { name: 'demo', accountId: WORKLOADS, region: 'eu-west-1' };
const restore = { name: 'restore', accountId: WORKLOADS, region: 'eu-west-1' };
const KEY = 'arn:aws:kms:eu-west-1:300000000003:key/11111111-2222-3333-4444-555555555555';

/** What a pod can do with its credentials: every check returns 'ok' or the AWS error name. */
async function probe(creds: AwsCredentialIdentity, bucket: string, key: string): Promise<Record<string, string>> {
  const s3 = clients(stack, creds).s3;
  const attempt = async (fn: () => Promise<unknown>) =>
    fn().then(
      () => 'ok',
      (e: Error) => e.name,
    );
  const prefix = key.includes('/') ? key.slice(0, key.lastIndexOf('/') + 1) : '';
  return {
    put: await attempt(() => s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: 'backup' }))),
    get: await attempt(() => s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))),
    list: await attempt(() => s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }))),
    delete: await attempt(() => s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }))),
  };
}

/** Seeds an object as the bucket owner, so read-only roles have something to read. */
const seedObject = (bucket: string, account: string, key: string) =>
  clients(stack, rootCredentials(account)).s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: 'seed' }));

const ALLOWED_RW = { put: 'ok', get: 'ok', list: 'ok', delete: 'ok' };
const ALLOWED_RO = { put: 'AccessDenied', get: 'ok', list: 'ok', delete: 'AccessDenied' };
const DENIED = { put: 'AccessDenied', get: 'AccessDenied', list: 'AccessDenied', delete: 'AccessDenied' };

const TOOLS = [
  { tool: 'pbm', namespace: 'mongodb', serviceAccounts: ['pbm-agent'], file: 'pbm-config.yaml' },
  {
    tool: 'psmdb-operator',
    namespace: 'mongodb',
    serviceAccounts: undefined,
    sa: 'default',
    file: 'psmdb-backup-storages.yaml',
  },
  { tool: 'stackgres', namespace: 'postgres', serviceAccounts: ['main-patroni'], file: 'sgobjectstorage.yaml' },
  { tool: 'velero', namespace: 'velero', serviceAccounts: undefined, sa: 'velero', file: 'velero-bsl.yaml' },
  { tool: 'mountpoint-s3-csi', namespace: 'analytics', serviceAccounts: ['reader'], file: 'mountpoint-pv.yaml' },
  { tool: 'generic', namespace: 'apps', serviceAccounts: ['worker'], file: undefined },
] as const;

describe('POST /v1/onboardings — cross account, bucket-policy mode, for every tool and access level', () => {
  describe.each(TOOLS)('$tool', (t) => {
    const sa = (t as { sa?: string }).sa ?? t.serviceAccounts![0];
    // the second level is the one the tool works with besides read-write (restore for the backup tools)
    const levels = ['pbm', 'psmdb-operator', 'velero'].includes(t.tool)
      ? (['read-write', 'restore'] as const)
      : (['read-write', 'read-only'] as const);
    it.each(levels)(
      '%s: the named service account gets exactly that access under the prefix, and nobody else',
      async (access) => {
        const body = {
          workload: {
            type: 'eks',
            clusters: [demo],
            namespace: t.namespace,
            ...(t.serviceAccounts ? { serviceAccounts: t.serviceAccounts } : {}),
          },
          bucket: { name: 'demo-backups', accountId: BACKUPS, region: 'eu-west-1', prefix: `team/${t.tool}/` },
          tool: t.tool,
          access,
          tags: { ticket: 'OPS-1' },
        };
        const res = await api.onboard(body);
        expect(res.status).toBe(201);
        expect(res.body.status).toBe('provisioned');
        const roleArn: string = res.body.roleArn;
        expect(roleArn).toMatch(new RegExp(`^arn:aws:iam::${WORKLOADS}:role/s3-onboarding/s3ob-`));
        expect(roleArn.split('/').pop()!.length).toBeLessThanOrEqual(64);

        await seedObject('demo-backups', BACKUPS, `team/${t.tool}/seeded`);
        const pod = await podCredentials(stack, roleArn, {
          cluster: 'demo',
          namespace: t.namespace,
          serviceAccount: sa,
        });
        const own = await probe(
          pod,
          'demo-backups',
          access === 'read-write' ? `team/${t.tool}/backup-1` : `team/${t.tool}/seeded`,
        );
        expect(own).toEqual(access === 'read-write' ? ALLOWED_RW : ALLOWED_RO);
        // the same role, outside its prefix and in another bucket
        expect(await probe(pod, 'demo-backups', 'other-team/x')).toEqual(DENIED);
        expect(await probe(pod, 'workload-local-backups', `team/${t.tool}/x`)).toEqual(DENIED);
        // another service account, another namespace, another cluster
        for (const other of [
          { cluster: 'demo', namespace: t.namespace, serviceAccount: 'intruder' },
          { cluster: 'demo', namespace: 'intruders', serviceAccount: sa },
        ]) {
          expect((await failure(podCredentials(stack, roleArn, other))).name).toBe('AccessDenied');
        }
        expect(
          (
            await failure(
              podCredentials(stack, roleArn, { cluster: 'restore', namespace: t.namespace, serviceAccount: sa }),
            )
          ).name,
        ).toBe('InvalidIdentityTokenException');

        // the snippets validate against the tools' own schemas
        for (const [file, text] of Object.entries(res.body.snippets as Record<string, string>)) {
          expect({ file, errors: validateSnippet(file, text) }).toEqual({ file, errors: [] });
        }
        if (t.file) expect(Object.keys(res.body.snippets)).toContain(t.file);
        expect(Object.keys(res.body.snippets)).toEqual(expect.arrayContaining(['serviceaccount.yaml', 'annotate.sh']));
        expect(res.body.snippets['serviceaccount.yaml']).toContain(`eks.amazonaws.com/role-arn: ${roleArn}`);
      },
    );
  });
});

describe('POST /v1/onboardings — the flows', () => {
  const pbm = (bucket: object, extra: object = {}) => ({
    workload: { type: 'eks', clusters: [demo], namespace: 'mongodb', serviceAccounts: ['pbm-agent'] },
    bucket,
    tool: 'pbm',
    ...extra,
  });

  it('same account: role with the tool permissions, no bucket-policy change, and the AWS calls in order', async () => {
    const res = await api.onboard(pbm({ name: 'workload-local-backups', region: 'eu-west-1', prefix: 'db' }));
    expect(res.status).toBe(201);
    expect(res.body.changes.map((c: { action: string }) => c.action)).toEqual(['create-role', 'put-role-policy']);
    expect(res.body.policies.bucketPolicyStatements).toEqual([]);
    const pod = await podCredentials(stack, res.body.roleArn, {
      cluster: 'demo',
      namespace: 'mongodb',
      serviceAccount: 'pbm-agent',
    });
    expect(await probe(pod, 'workload-local-backups', 'db/full-1')).toEqual(ALLOWED_RW);
    const calls = (await admin.calls()).filter((c) => c.principalArn?.includes('s3-onboarding-'));
    expect(calls.filter((c) => c.write).map((c) => `${c.service}:${c.operation}`)).toEqual([
      'iam:CreateRole',
      'iam:PutRolePolicy',
    ]);
  });

  it('a repeat of the same request changes nothing: 200, same id and ARNs, and no write reaches AWS', async () => {
    const body = pbm({ name: 'demo-backups', accountId: BACKUPS, region: 'eu-west-1', prefix: 'demo/mongodb/' });
    const first = await api.onboard(body);
    expect(first.status).toBe(201);
    await admin.clearCalls();
    const again = await api.onboard(body);
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(first.body.id);
    expect(again.body.roleArn).toBe(first.body.roleArn);
    expect(again.body.changes).toEqual([]);
    expect(await writes(stack)).toEqual([]);
  });

  it('dryRun returns the planned steps and writes nothing', async () => {
    const res = await api.onboard(
      pbm({ name: 'demo-backups', accountId: BACKUPS, region: 'eu-west-1' }, { dryRun: true }),
    );
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('planned');
    expect(res.body.changes.map((c: { action: string }) => c.action)).toEqual([
      'create-role',
      'put-role-policy',
      'put-bucket-policy-statements',
    ]);
    expect(await writes(stack)).toEqual([]);
  });

  it('keeps every foreign bucket-policy statement exactly as it was', async () => {
    const s3 = clients(stack, rootCredentials(BACKUPS)).s3;
    const before = JSON.parse((await s3.send(new GetBucketPolicyCommand({ Bucket: 'demo-backups' }))).Policy!);
    const res = await api.onboard(pbm({ name: 'demo-backups', accountId: BACKUPS, region: 'eu-west-1', prefix: 'a/' }));
    const after = JSON.parse((await s3.send(new GetBucketPolicyCommand({ Bucket: 'demo-backups' }))).Policy!);
    expect(after.Statement.slice(0, before.Statement.length)).toEqual(before.Statement);
    expect(after.Statement.slice(before.Statement.length)).toEqual(res.body.policies.bucketPolicyStatements);
    // a second onboarding into the same bucket keeps the first one's statements too
    const second = await api.onboard({
      ...pbm({ name: 'demo-backups', accountId: BACKUPS, region: 'eu-west-1', prefix: 'b/' }),
    });
    const final = JSON.parse((await s3.send(new GetBucketPolicyCommand({ Bucket: 'demo-backups' }))).Policy!);
    expect(final.Statement).toEqual([
      ...before.Statement,
      ...res.body.policies.bucketPolicyStatements,
      ...second.body.policies.bucketPolicyStatements,
    ]);
  });

  it('role-in-bucket-account: the role lives in the bucket account, the OIDC provider is created there, no bucket policy', async () => {
    const res = await api.onboard(
      pbm(
        { name: 'demo-backups', accountId: BACKUPS, region: 'eu-west-1', prefix: 'x/' },
        { crossAccountMode: 'role-in-bucket-account' },
      ),
    );
    expect(res.status).toBe(201);
    expect(res.body.roleArn).toMatch(new RegExp(`^arn:aws:iam::${BACKUPS}:role/`));
    expect(res.body.changes.map((c: { action: string }) => c.action)).toEqual([
      'create-oidc-provider',
      'create-role',
      'put-role-policy',
    ]);
    const provider = res.body.changes[0].resource;
    const got = await clients(stack, rootCredentials(BACKUPS)).iam.send(
      new GetOpenIDConnectProviderCommand({ OpenIDConnectProviderArn: provider }),
    );
    expect(got.ClientIDList).toEqual(['sts.amazonaws.com']);
    const pod = await podCredentials(stack, res.body.roleArn, {
      cluster: 'demo',
      namespace: 'mongodb',
      serviceAccount: 'pbm-agent',
    });
    expect(await probe(pod, 'demo-backups', 'x/y')).toEqual(ALLOWED_RW);
  });

  it('several clusters: one role, one trust statement per cluster, a missing OIDC provider created', async () => {
    const res = await api.onboard({
      ...pbm({ name: 'demo-backups', accountId: BACKUPS, region: 'eu-west-1', prefix: 'multi/' }),
      workload: { type: 'eks', clusters: [demo, restore], namespace: 'mongodb', serviceAccounts: ['pbm-agent'] },
    });
    expect(res.status).toBe(201);
    expect(res.body.policies.trust.Statement).toHaveLength(2);
    expect(res.body.changes[0].action).toBe('create-oidc-provider');
    for (const cluster of ['demo', 'restore']) {
      const pod = await podCredentials(stack, res.body.roleArn, {
        cluster,
        namespace: 'mongodb',
        serviceAccount: 'pbm-agent',
      });
      expect((await probe(pod, 'demo-backups', 'multi/k')).put).toBe('ok');
    }
  });

  it('refuses a trust policy over the account quota with 409 saying how many clusters fit, before writing anything', async () => {
    const clusters = Array.from({ length: 8 }, (_, i) => ({
      name: `c${i}`,
      accountId: WORKLOADS,
      region: 'eu-west-1',
    }));
    await restart({
      platformAccountId: '100000000001',
      accounts: ['100000000001', WORKLOADS, BACKUPS],
      clusters: clusters.map((c) => ({ ...c })),
      buckets: [
        { name: 'demo-backups', accountId: BACKUPS, region: 'eu-west-1', tags: { 's3-onboarding-managed': 'true' } },
      ],
    });
    const res = await api.onboard({
      ...pbm({ name: 'demo-backups', accountId: BACKUPS, region: 'eu-west-1' }),
      workload: { type: 'eks', clusters, namespace: 'mongodb', serviceAccounts: ['pbm-agent', 'default'] },
    });
    expect(res.status).toBe(409);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect(res.body.detail).toMatch(/AssumeRolePolicySizeQuota of 2048; \d cluster\(s\) fit in one role/);
    expect(res.body.clustersThatFit).toBeGreaterThanOrEqual(3);
    expect(res.body.clustersThatFit).toBeLessThan(8);
    expect(await writes(stack)).toEqual([]);
    await restart();
  });

  it('ec2: the target role trusts the instance role, which gets an assume grant, and aws-config with pbm-agent.env is returned', async () => {
    const instanceRoleArn = `arn:aws:iam::${WORKLOADS}:role/pbm-ec2-instance-role`;
    const res = await api.onboard({
      workload: { type: 'ec2', instanceRoleArn },
      bucket: { name: 'demo-backups', accountId: BACKUPS, region: 'eu-west-1', prefix: 'ec2/' },
      tool: 'pbm',
    });
    expect(res.status).toBe(201);
    expect(res.body.snippets['aws-config']).toContain(
      `role_arn = ${res.body.roleArn}\ncredential_source = Ec2InstanceMetadata\n`,
    );
    expect(res.body.snippets['pbm-agent.env']).toContain(`AWS_PROFILE=s3-onboarding-${res.body.id}\n`);
    // the grant is the identity's (one per instance role and target role), named after the role it may assume
    const grant = await clients(stack, rootCredentials(WORKLOADS)).iam.send(
      new GetRolePolicyCommand({
        RoleName: 'pbm-ec2-instance-role',
        PolicyName: `s3-onboarding-assume-${res.body.roleArn.split('/').pop()}`,
      }),
    );
    expect(JSON.parse(decodeURIComponent(grant.PolicyDocument!)).Statement[0].Resource).toBe(res.body.roleArn);
    // the instance's credentials (as the instance profile gives them) assume the target role and write
    const instance = await admin.roleCredentials(instanceRoleArn);
    const assumed = await clients(stack, instance).sts.send(
      new AssumeRoleCommand({ RoleArn: res.body.roleArn, RoleSessionName: 'pbm-agent' }),
    );
    const target = {
      accessKeyId: assumed.Credentials!.AccessKeyId!,
      secretAccessKey: assumed.Credentials!.SecretAccessKey!,
      sessionToken: assumed.Credentials!.SessionToken,
    };
    expect(await probe(target, 'demo-backups', 'ec2/dump')).toEqual(ALLOWED_RW);
    expect((await probe(instance, 'demo-backups', 'ec2/direct')).put).toBe('AccessDenied');
  });

  it('SSE-KMS: the role works only with the KMS grant the service makes; the key policy is never changed', async () => {
    const body = pbm({
      name: 'demo-encrypted-backups',
      accountId: BACKUPS,
      region: 'eu-west-1',
      prefix: 'enc/',
      kmsKeyArn: KEY,
    });
    const withoutKey = await api.onboard({ ...body, bucket: { ...body.bucket, kmsKeyArn: undefined } });
    const pod0 = await podCredentials(stack, withoutKey.body.roleArn, {
      cluster: 'demo',
      namespace: 'mongodb',
      serviceAccount: 'pbm-agent',
    });
    expect((await probe(pod0, 'demo-encrypted-backups', 'enc/a')).put).toBe('AccessDenied');
    const kms = clients(stack, rootCredentials(BACKUPS)).kms;
    const keyPolicy = async () =>
      (await kms.send(new GetKeyPolicyCommand({ KeyId: KEY, PolicyName: 'default' }))).Policy;
    const before = await keyPolicy();
    const res = await api.onboard(body);
    expect(res.status).toBe(201);
    expect(res.body.changes.map((c: { action: string }) => c.action).sort()).toEqual([
      'create-key-grant',
      'put-role-policy',
    ]); // same onboarding: the bucket statements are already there
    expect(await keyPolicy()).toBe(before);
    expect(res.body.policies.keyPolicyStatements).toBeUndefined();
    expect(res.body.policies.keyGrants).toEqual([
      {
        keyArn: KEY,
        name: `s3-onboarding_${res.body.id}`,
        granteePrincipal: res.body.roleArn,
        retiringPrincipal: `arn:aws:iam::${BACKUPS}:role/s3-onboarding-provisioner`,
        operations: ['Decrypt', 'GenerateDataKey'],
      },
    ]);
    const grants = (await kms.send(new ListGrantsCommand({ KeyId: KEY, GranteePrincipal: res.body.roleArn }))).Grants!;
    expect(grants.map((g) => [g.Name, g.Operations, g.RetiringPrincipal])).toEqual([
      [
        `s3-onboarding_${res.body.id}`,
        ['Decrypt', 'GenerateDataKey'],
        `arn:aws:iam::${BACKUPS}:role/s3-onboarding-provisioner`,
      ],
    ]);
    const pod = await podCredentials(stack, res.body.roleArn, {
      cluster: 'demo',
      namespace: 'mongodb',
      serviceAccount: 'pbm-agent',
    });
    expect(await probe(pod, 'demo-encrypted-backups', 'enc/a')).toEqual(ALLOWED_RW);
    // a repeat changes nothing; DELETE retires the grant and leaves the key policy as it was
    expect((await api.onboard(body)).status).toBe(200);
    expect((await api.send('DELETE', `/v1/onboardings/${res.body.id}`)).body.changes).toEqual(
      expect.arrayContaining([expect.objectContaining({ action: 'retire-key-grant', resource: KEY })]),
    );
    expect((await kms.send(new ListGrantsCommand({ KeyId: KEY, GranteePrincipal: res.body.roleArn }))).Grants).toEqual(
      [],
    );
    expect(await keyPolicy()).toBe(before);
  });

  it('refuses the AWS managed aws/s3 key with 400 naming bucket.kmsKeyArn, and writes nothing', async () => {
    const res = await api.onboard(
      pbm({
        name: 'demo-encrypted-backups',
        accountId: BACKUPS,
        region: 'eu-west-1',
        kmsKeyArn: 'arn:aws:kms:eu-west-1:300000000003:key/aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee',
      }),
    );
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([{ path: 'bucket.kmsKeyArn', message: expect.stringMatching(/AWS managed/) }]);
    expect(await writes(stack)).toEqual([]);
  });

  it('converges a role whose inline policy was tampered with or widened by hand, and refuses to take over a role it did not create', async () => {
    const body = pbm({ name: 'workload-local-backups', region: 'eu-west-1', prefix: 'conv/' });
    const first = await api.onboard(body);
    const roleName = first.body.roleArn.split('/').pop();
    const policyName = `s3-onboarding-${first.body.id}`;
    const iam = clients(stack, rootCredentials(WORKLOADS)).iam;
    const { PutRolePolicyCommand } = await import('@aws-sdk/client-iam');
    const everything = JSON.stringify({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: 's3:*', Resource: '*' }],
    });
    await iam.send(
      new PutRolePolicyCommand({ RoleName: roleName, PolicyName: policyName, PolicyDocument: everything }),
    );
    await iam.send(
      new PutRolePolicyCommand({ RoleName: roleName, PolicyName: 'added-by-hand', PolicyDocument: everything }),
    );
    const again = await api.onboard(body);
    expect(again.status).toBe(201);
    expect(
      again.body.changes
        .map((c: { action: string; resource: string }) => `${c.action} ${c.resource.split('#')[1]}`)
        .sort(),
    ).toEqual(['delete-role-policy added-by-hand', `put-role-policy ${policyName}`]);
    const live = await iam.send(new GetRolePolicyCommand({ RoleName: roleName, PolicyName: policyName }));
    expect(JSON.parse(decodeURIComponent(live.PolicyDocument!))).toEqual(first.body.policies.permissions);

    await admin.reset();
    await iam.send(
      new CreateRoleCommand({
        RoleName: roleName,
        Path: '/s3-onboarding/',
        AssumeRolePolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }],
        }),
      }),
    );
    await admin.clearCalls();
    const taken = await api.onboard(body);
    expect(taken.status).toBe(409);
    expect(taken.body.detail).toMatch(/not created by this service/);
    expect(await writes(stack)).toEqual([]);
    expect((await iam.send(new GetRoleCommand({ RoleName: roleName }))).Role!.Tags).toBeUndefined();
  });

  // the time it takes is measured by `npm run bench`; here: every write succeeds at its first attempt
  it('writes bucket statements that do not depend on IAM propagation: inside a 15 s window every write succeeds first time', async () => {
    await admin.propagation(15_000);
    const res = await api.onboard(
      pbm({ name: 'demo-backups', accountId: BACKUPS, region: 'eu-west-1', prefix: 'fast/' }),
    );
    await admin.propagation(0);
    expect(res.status).toBe(201);
    const writeCalls = (await writes(stack)).map((c) => `${c.operation} ${c.status}`);
    expect(writeCalls.sort()).toEqual(['CreateRole 200', 'PutBucketPolicy 204', 'PutRolePolicy 200']);
  });

  it('a bucket whose policy names a foreign statement by ARN keeps working: the merge never touches it', async () => {
    const s3 = clients(stack, rootCredentials(BACKUPS)).s3;
    const foreign = {
      Sid: 'Foreign',
      Effect: 'Allow',
      Principal: { AWS: `arn:aws:iam::${WORKLOADS}:role/pbm-ec2-instance-role` },
      Action: 's3:GetObject',
      Resource: 'arn:aws:s3:::demo-backups/shared/*',
    };
    await s3.send(
      new PutBucketPolicyCommand({
        Bucket: 'demo-backups',
        Policy: JSON.stringify({ Version: '2012-10-17', Statement: [foreign] }),
      }),
    );
    await api.onboard(pbm({ name: 'demo-backups', accountId: BACKUPS, region: 'eu-west-1', prefix: 'f/' }));
    const after = JSON.parse((await s3.send(new GetBucketPolicyCommand({ Bucket: 'demo-backups' }))).Policy!);
    expect(after.Statement[0]).toEqual(foreign);
  });
});
