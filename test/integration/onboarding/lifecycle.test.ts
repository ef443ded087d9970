import { GetBucketPolicyCommand, PutBucketPolicyCommand } from '@aws-sdk/client-s3';
import { GetKeyPolicyCommand, ListGrantsCommand } from '@aws-sdk/client-kms';
import {
  CreateRoleCommand,
  UpdateAssumeRolePolicyCommand,
  GetRoleCommand,
  ListRolesCommand,
  PutRolePolicyCommand,
  ListOpenIDConnectProvidersCommand,
  UntagRoleCommand,
} from '@aws-sdk/client-iam';
import type { Stack } from '../../../scripts/stack';
import { BACKUPS, WORKLOADS, rootCredentials } from '../../helpers/emulator';
import { clients, useTestStack, writes, type TestStack } from '../../helpers/stack';

let stack: Stack;
let api: TestStack['api'];
let admin: TestStack['admin'];

useTestStack((t) => ({ stack, api, admin } = t), { resetEach: true });

const demo = { name: 'demo', accountId: WORKLOADS, region: 'eu-west-1' };
const request = (over: { namespace?: string; prefix?: string; clusters?: object[] } = {}) => ({
  workload: {
    type: 'eks',
    clusters: over.clusters ?? [demo],
    namespace: over.namespace ?? 'mongodb',
    serviceAccounts: ['pbm-agent'],
  },
  bucket: { name: 'demo-backups', accountId: BACKUPS, region: 'eu-west-1', prefix: over.prefix ?? 'lifecycle/' },
  tool: 'pbm',
  tags: { ticket: 'OPS-42' },
});

const bucketPolicy = async () =>
  JSON.parse(
    (await clients(stack, rootCredentials(BACKUPS)).s3.send(new GetBucketPolicyCommand({ Bucket: 'demo-backups' })))
      .Policy!,
  ) as { Statement: { Sid?: string }[] };
const FOREIGN_SID = 'DenyInsecureTransport';
const serviceRoles = async () =>
  (await clients(stack, rootCredentials(WORKLOADS)).iam.send(new ListRolesCommand({ PathPrefix: '/s3-onboarding/' })))
    .Roles ?? [];

describe('Lifecycle: create → get → list → verify → drift → delete', () => {
  it('walks the whole life of an onboarding and leaves only foreign statements behind', async () => {
    const created = await api.onboard(request());
    expect(created.status).toBe(201);
    const id: string = created.body.id;

    const got = await api.send('GET', `/v1/onboardings/${id}`);
    expect(got.status).toBe(200);
    expect(got.body).toMatchObject({
      id,
      status: 'provisioned',
      roleArn: created.body.roleArn,
      requestedBy: 'arn:aws:iam::100000000001:role/platform-admin',
    });
    expect(Date.parse(got.body.createdAt)).not.toBeNaN();

    const byCluster = await api.send('GET', '/v1/onboardings?cluster=demo');
    expect(byCluster.body.items.map((i: { id: string }) => i.id)).toEqual([id]);
    expect((await api.send('GET', '/v1/onboardings?bucket=workload-local-backups')).body.items).toEqual([]);
    expect((await api.send('GET', '/v1/onboardings?bucket=demo-backups')).body.items).toHaveLength(1);

    const ok = await api.send('POST', `/v1/onboardings/${id}/verify`);
    expect(ok.status).toBe(200);
    expect(ok.body.ok).toBe(true);
    expect(ok.body.checks.map((c: { name: string }) => c.name)).toEqual(
      expect.arrayContaining([
        'role',
        'trust-policy',
        'permissions-policy',
        'permissions-boundary',
        'bucket-policy-statements',
        'reach:s3:PutObject',
        'reach:s3:ListBucket',
        'deny:outside-prefix',
      ]),
    );
    expect(ok.body.checks.every((c: { ok: boolean; detail: string }) => c.ok && c.detail.length > 0)).toBe(true);

    // tamper: widen the inline policy and drop the bucket statements, through the emulator as the account roots
    const roleName = created.body.roleArn.split('/').pop();
    await clients(stack, rootCredentials(WORKLOADS)).iam.send(
      new PutRolePolicyCommand({
        RoleName: roleName,
        PolicyName: `s3-onboarding-${id}`,
        PolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: '*' }],
        }),
      }),
    );
    const policy = await bucketPolicy();
    await clients(stack, rootCredentials(BACKUPS)).s3.send(
      new PutBucketPolicyCommand({
        Bucket: 'demo-backups',
        Policy: JSON.stringify({ ...policy, Statement: policy.Statement.filter((s) => s.Sid === FOREIGN_SID) }),
      }),
    );
    const drift = await api.send('POST', `/v1/onboardings/${id}/verify`);
    expect(drift.body.ok).toBe(false);
    const failed = drift.body.checks.filter((c: { ok: boolean }) => !c.ok).map((c: { name: string }) => c.name);
    expect(failed).toEqual(
      expect.arrayContaining(['permissions-policy', 'bucket-policy-statements', 'reach:s3:PutObject']),
    );

    const deleted = await api.send('DELETE', `/v1/onboardings/${id}`);
    expect(deleted.status).toBe(200);
    // the statements the owner removed are not looked for again; the role goes with its policy
    expect(deleted.body.changes.map((c: { action: string }) => c.action).sort()).toEqual([
      'delete-role',
      'delete-role-policy',
    ]);
    expect(await serviceRoles()).toEqual([]);
    expect((await bucketPolicy()).Statement.map((s) => s.Sid)).toEqual([FOREIGN_SID]);
    expect((await api.send('GET', `/v1/onboardings/${id}`)).status).toBe(404);

    const again = await api.send('DELETE', `/v1/onboardings/${id}`);
    expect(again.status).toBe(200);
    expect(again.body).toEqual({ id, status: 'deleted', changes: [] });
    expect((await api.send('DELETE', '/v1/onboardings/ob-000000000000')).status).toBe(404);
  });

  it('removes its bucket statements on delete, keeps other onboardings and foreign statements, and deletes the OIDC provider only when unused', async () => {
    const restore = { name: 'restore', accountId: WORKLOADS, region: 'eu-west-1' };
    const a = await api.onboard(request({ clusters: [demo, restore], prefix: 'a/' }));
    const b = await api.onboard(request({ clusters: [restore], prefix: 'b/', namespace: 'other' }));
    const provider = a.body.changes.find((c: { action: string }) => c.action === 'create-oidc-provider').resource;
    const del = await api.send('DELETE', `/v1/onboardings/${a.body.id}`);
    expect(del.body.changes.map((c: { action: string }) => c.action).sort()).toEqual([
      'delete-role',
      'delete-role-policy',
      'remove-bucket-policy-statements',
    ]);
    const sids = (await bucketPolicy()).Statement.map((s) => s.Sid!);
    expect(sids[0]).toBe(FOREIGN_SID);
    expect(sids.slice(1).every((s) => s.startsWith(`S3Onboarding${b.body.id.slice(3)}`))).toBe(true);
    expect(sids).toHaveLength(2);
    const del2 = await api.send('DELETE', `/v1/onboardings/${b.body.id}`);
    expect(del2.body.changes.map((c: { action: string }) => c.action).sort()).toEqual([
      'delete-oidc-provider',
      'delete-role',
      'delete-role-policy',
      'remove-bucket-policy-statements',
    ]);
    const providers = (
      await clients(stack, rootCredentials(WORKLOADS)).iam.send(new ListOpenIDConnectProvidersCommand({}))
    ).OpenIDConnectProviderList!.map((p) => p.Arn);
    expect(providers).not.toContain(provider);
    expect(providers).toHaveLength(1); // the demo cluster's, which the topology had before
  });
});

describe('Verify', () => {
  it('reports a trust widened to every service account, naming both the drift and the reachability', async () => {
    const created = await api.onboard(request({ prefix: 'trust/' }));
    const roleName = created.body.roleArn.split('/').pop();
    const trust = JSON.parse(JSON.stringify(created.body.policies.trust));
    const cond = trust.Statement[0].Condition;
    const subKey = Object.keys(cond.StringEquals).find((k) => k.endsWith(':sub'))!;
    delete cond.StringEquals[subKey];
    cond.StringLike = { [subKey]: 'system:serviceaccount:*' };
    await clients(stack, rootCredentials(WORKLOADS)).iam.send(
      new UpdateAssumeRolePolicyCommand({ RoleName: roleName, PolicyDocument: JSON.stringify(trust) }),
    );
    const res = await api.send('POST', `/v1/onboardings/${created.body.id}/verify`);
    expect(res.body.ok).toBe(false);
    const failed = Object.fromEntries(
      res.body.checks
        .filter((c: { ok: boolean }) => !c.ok)
        .map((c: { name: string; detail: string }) => [c.name.replace(/:oidc.*/, ''), c.detail]),
    );
    expect(failed).toEqual({
      'trust-policy': 'the trust policy differs from what was provisioned',
      'reach:assume': 'other service accounts can assume the role too',
    });
  });
});

describe('DELETE safety', () => {
  it('refuses (409) before removing anything when the role lost its workload-identity tag', async () => {
    const created = await api.onboard(request({ prefix: 'owned/' }));
    const roleName = created.body.roleArn.split('/').pop();
    const iam = clients(stack, rootCredentials(WORKLOADS)).iam;
    await iam.send(new UntagRoleCommand({ RoleName: roleName, TagKeys: ['s3-onboarding/identity'] }));
    const before = await bucketPolicy();
    await admin.clearCalls();
    const res = await api.send('DELETE', `/v1/onboardings/${created.body.id}`);
    expect(res.status).toBe(409);
    expect(await writes(stack)).toEqual([]);
    expect(await bucketPolicy()).toEqual(before);
    expect((await api.send('GET', `/v1/onboardings/${created.body.id}`)).body.status).toBe('provisioned');
  });

  it('keeps an OIDC provider it created while a role outside the service still trusts it', async () => {
    const restore = { name: 'restore', accountId: WORKLOADS, region: 'eu-west-1' };
    const created = await api.onboard(request({ clusters: [restore], prefix: 'kept/' }));
    const provider = created.body.changes.find((c: { action: string }) => c.action === 'create-oidc-provider').resource;
    const iam = clients(stack, rootCredentials(WORKLOADS)).iam;
    await iam.send(
      new CreateRoleCommand({
        RoleName: 'team-own-irsa-role',
        AssumeRolePolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Principal: { Federated: provider }, Action: 'sts:AssumeRoleWithWebIdentity' }],
        }),
      }),
    );
    const del = await api.send('DELETE', `/v1/onboardings/${created.body.id}`);
    expect(del.body.changes.map((c: { action: string }) => c.action)).not.toContain('delete-oidc-provider');
    const providers = (await iam.send(new ListOpenIDConnectProvidersCommand({}))).OpenIDConnectProviderList!.map(
      (p) => p.Arn,
    );
    expect(providers).toContain(provider);
  });

  it('two concurrent DELETEs of the last two onboardings using a provider do not leave it behind', async () => {
    const restore = { name: 'restore', accountId: WORKLOADS, region: 'eu-west-1' };
    await admin.latency(20);
    const a = await api.onboard(request({ clusters: [restore], prefix: 'c1/' }));
    const b = await api.onboard(request({ clusters: [restore], prefix: 'c2/', namespace: 'other' }));
    await Promise.all([
      api.send('DELETE', `/v1/onboardings/${a.body.id}`),
      api.send('DELETE', `/v1/onboardings/${b.body.id}`),
    ]);
    await admin.latency(0);
    const providers = (
      await clients(stack, rootCredentials(WORKLOADS)).iam.send(new ListOpenIDConnectProvidersCommand({}))
    ).OpenIDConnectProviderList!;
    expect(providers).toHaveLength(1); // the demo cluster's, from the topology
  });
});

describe('Attribute changes', () => {
  it('retires the KMS grant when a repeat request drops the key; the key policy never changes, DELETE retires what is left', async () => {
    const KEY = 'arn:aws:kms:eu-west-1:300000000003:key/11111111-2222-3333-4444-555555555555';
    const kms = clients(stack, rootCredentials(BACKUPS)).kms;
    const keyPolicy = async () =>
      (await kms.send(new GetKeyPolicyCommand({ KeyId: KEY, PolicyName: 'default' }))).Policy;
    const grants = async (grantee: string) =>
      ((await kms.send(new ListGrantsCommand({ KeyId: KEY, GranteePrincipal: grantee }))).Grants ?? []).map((g) => [
        g.Name,
        g.Operations,
      ]);
    const before = await keyPolicy();
    const body = {
      ...request(),
      bucket: { name: 'demo-encrypted-backups', accountId: BACKUPS, region: 'eu-west-1', prefix: 'k/', kmsKeyArn: KEY },
    };
    const withKey = await api.onboard(body);
    expect(await grants(withKey.body.roleArn)).toEqual([
      [`s3-onboarding_${withKey.body.id}`, ['Decrypt', 'GenerateDataKey']],
    ]);
    expect(await keyPolicy()).toBe(before);
    const withoutKey = await api.onboard({ ...body, bucket: { ...body.bucket, kmsKeyArn: undefined } });
    expect(withoutKey.body.id).toBe(withKey.body.id);
    expect(withoutKey.body.changes.map((c: { action: string }) => c.action).sort()).toEqual([
      'put-role-policy',
      'retire-key-grant',
    ]);
    expect(await grants(withKey.body.roleArn)).toEqual([]);
    await api.onboard(body);
    expect(await grants(withKey.body.roleArn)).toHaveLength(1);
    await api.send('DELETE', `/v1/onboardings/${withKey.body.id}`);
    expect(await grants(withKey.body.roleArn)).toEqual([]);
    expect(await keyPolicy()).toBe(before);
    expect((await admin.calls()).filter((c) => c.operation === 'PutKeyPolicy')).toEqual([]);
  });
});

describe('Concurrency', () => {
  it('50 onboardings of different workloads into one bucket, at once: every statement present, no 5xx', async () => {
    // a bucket with no policy of its own: 50 onboardings use about 20.3 KB of its 20 KB (20,480 byte) policy budget
    const shared = (i: number) => ({
      ...request({ namespace: `team-${i}`, prefix: `team-${i}/` }),
      bucket: { name: 'shared-backups', accountId: BACKUPS, region: 'eu-west-1', prefix: `team-${i}/` },
    });
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => api.onboard(shared(i))));
    expect(results.filter((r) => r.status !== 201).map((r) => r.body)).toEqual([]);
    const live = JSON.parse(
      (await clients(stack, rootCredentials(BACKUPS)).s3.send(new GetBucketPolicyCommand({ Bucket: 'shared-backups' })))
        .Policy!,
    );
    const sids = new Set(live.Statement.map((s: { Sid: string }) => s.Sid));
    for (const r of results) {
      for (const st of r.body.policies.bucketPolicyStatements as { Sid: string }[]) expect(sids.has(st.Sid)).toBe(true);
    }
    expect(sids.size).toBe(50);
    const calls = await admin.calls();
    const bucketWrites = calls.filter((c) => c.operation === 'PutBucketPolicy').length;
    // group commit: the lease holder writes every queued change at once, so far fewer writes than onboardings
    expect(bucketWrites).toBeLessThan(50);
    const puts = (await admin.calls()).filter((c) => c.operation === 'PutBucketPolicy');
    expect(puts.every((c) => c.status === 204)).toBe(true);
  }, 60_000);

  it('the same onboarding requested twice at once is applied once: one 201, one 200', async () => {
    const [x, y] = await Promise.all([api.onboard(request()), api.onboard(request())]);
    expect([x.status, y.status].sort()).toEqual([200, 201]);
    expect((await writes(stack)).filter((c) => c.operation === 'CreateRole')).toHaveLength(1);
  });
});

describe('Idempotency-Key', () => {
  it('a retry returns the first response with no AWS write; another body with the same key is 409', async () => {
    const first = await api.onboard(request(), { 'idempotency-key': 'ticket-OPS-42-attempt' });
    expect(first.status).toBe(201);
    await admin.clearCalls();
    const retry = await api.onboard(request(), { 'idempotency-key': 'ticket-OPS-42-attempt' });
    expect(retry.status).toBe(201);
    expect(retry.body).toEqual(first.body);
    expect(await admin.calls()).toEqual([]);
    const other = await api.onboard(request({ prefix: 'other/' }), { 'idempotency-key': 'ticket-OPS-42-attempt' });
    expect(other.status).toBe(409);
    expect(other.body.detail).toMatch(/different request body/);
    expect(await writes(stack)).toEqual([]);
  });

  it('DELETE with a key: a retry returns the first response', async () => {
    const created = await api.onboard(request());
    const first = await api.send('DELETE', `/v1/onboardings/${created.body.id}`, undefined, {
      'idempotency-key': 'del-1',
    });
    const retry = await api.send('DELETE', `/v1/onboardings/${created.body.id}`, undefined, {
      'idempotency-key': 'del-1',
    });
    expect(retry.body).toEqual(first.body);
    expect(first.body.changes.length).toBeGreaterThan(0);
  });
});

describe('Partial failure', () => {
  it.each([
    ['iam', 'CreateRole'],
    ['iam', 'PutRolePolicy'],
    ['s3', 'PutBucketPolicy'],
    ['iam', 'CreateOpenIDConnectProvider'],
  ])(
    'a fault on %s:%s fails the request, the record says what is done, a retry converges, and DELETE leaves nothing',
    async (service, operation) => {
      const body = request({ clusters: [demo, { name: 'restore', accountId: WORKLOADS, region: 'eu-west-1' }] });
      await admin.fault({ service, operation, errorCode: 'ServiceUnavailable', httpStatus: 503, count: 10 });
      const failed = await api.onboard(body);
      expect(failed.status).toBe(503);
      expect(failed.headers.get('content-type')).toBe('application/problem+json');
      expect(JSON.stringify(failed.body)).not.toMatch(/at .*\.ts|stack/i);
      await admin.clearFaults();

      const rec = await api.send('GET', `/v1/onboardings/${(await api.onboard({ ...body, dryRun: true })).body.id}`);
      expect(rec.status).toBe(200);
      expect(rec.body.status).toBe('failed');
      expect(rec.body.stepsPlanned.length).toBeGreaterThan(rec.body.stepsDone.length);
      // no role without the service's tags, whatever failed
      for (const role of await serviceRoles()) {
        const tags = (
          await clients(stack, rootCredentials(WORKLOADS)).iam.send(new GetRoleCommand({ RoleName: role.RoleName }))
        ).Role!.Tags!;
        expect(tags.map((t) => t.Key)).toEqual(expect.arrayContaining(['managed-by', 's3-onboarding/identity']));
      }

      const retry = await api.onboard(body);
      expect(retry.status).toBe(201);
      expect((await api.send('POST', `/v1/onboardings/${retry.body.id}/verify`)).body.ok).toBe(true);

      await api.send('DELETE', `/v1/onboardings/${retry.body.id}`);
      expect(await serviceRoles()).toEqual([]);
      expect((await bucketPolicy()).Statement.map((s) => s.Sid)).toEqual([FOREIGN_SID]);
      const providers = (
        await clients(stack, rootCredentials(WORKLOADS)).iam.send(new ListOpenIDConnectProvidersCommand({}))
      ).OpenIDConnectProviderList!;
      expect(providers).toHaveLength(1);
    },
  );
});
