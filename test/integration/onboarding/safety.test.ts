import { CreateRoleCommand, DeleteRoleCommand, GetRoleCommand, UntagRoleCommand } from '@aws-sdk/client-iam';
import { GetBucketPolicyCommand, PutBucketPolicyCommand } from '@aws-sdk/client-s3';
import { GetKeyPolicyCommand, ListGrantsCommand } from '@aws-sdk/client-kms';
import type { Context } from 'aws-lambda';
import type { Stack } from '../../../scripts/stack';
import { BACKUPS, WORKLOADS, demoTopology, rootCredentials } from '../../helpers/emulator';
import { clients, useTestStack, writes, type TestStack } from '../../helpers/stack';

/**
 * Safety under hostile owners, other tenants and faults (issue 11): one test per finding.
 */

const KEY = 'arn:aws:kms:eu-west-1:300000000003:key/11111111-2222-3333-4444-555555555555';
const UNMANAGED_KEY = 'arn:aws:kms:eu-west-1:300000000003:key/99999999-2222-3333-4444-555555555555';
const topology = (() => {
  const t = demoTopology();
  t.buckets = [
    ...(t.buckets ?? []),
    { name: 'unmanaged-backups', accountId: BACKUPS, region: 'eu-west-1' },
    { name: 'full-backups', accountId: BACKUPS, region: 'eu-west-1', tags: { 's3-onboarding-managed': 'true' } },
  ];
  t.kmsKeys = [...(t.kmsKeys ?? []), { arn: UNMANAGED_KEY }];
  return t;
})();

let stack: Stack;
let api: TestStack['api'];
let admin: TestStack['admin'];
useTestStack((t) => ({ stack, api, admin } = t), { resetEach: true, topology });

const demo = { name: 'demo', accountId: WORKLOADS, region: 'eu-west-1' };
const generic = (prefix: string, over: Record<string, unknown> = {}) => ({
  workload: { type: 'eks', clusters: [demo], namespace: 'apps', serviceAccounts: ['worker'] },
  bucket: { name: 'demo-backups', accountId: BACKUPS, region: 'eu-west-1', prefix },
  tool: 'generic',
  ...over,
});
const s3 = () => clients(stack, rootCredentials(BACKUPS)).s3;
const policyText = async (bucket: string) => (await s3().send(new GetBucketPolicyCommand({ Bucket: bucket }))).Policy!;
const addOwnerStatement = async (bucket: string, statement: string) => {
  const current = await policyText(bucket);
  await s3().send(
    new PutBucketPolicyCommand({ Bucket: bucket, Policy: current.replace(/\]\s*\}\s*$/, `,${statement}]}`) }),
  );
};

describe('Ownership by content, not by Sid prefix (finding 1) and foreign statements kept exactly (finding 2)', () => {
  it('keeps the owner’s legal-hold Deny whose Sid starts like the service’s, value for value, through POST, update and DELETE', async () => {
    const created = await api.onboard(generic('legal/'));
    const ours: string = created.body.policies.bucketPolicyStatements[0].Sid;
    const hold = `{"Sid":"${ours}LegalHold","Effect":"Deny","Principal":"*","Action":"s3:DeleteObject","Resource":"arn:aws:s3:::demo-backups/legal-hold/*","Condition":{"NumericLessThan":{"s3:max-keys":12345678901234567891}}}`;
    await addOwnerStatement('demo-backups', hold);

    const updated = await api.onboard(generic('legal/', { access: 'read-only' }));
    expect(updated.body.changes.map((c: { action: string }) => c.action)).toContain('put-bucket-policy-statements');
    expect(await policyText('demo-backups')).toContain(hold);

    await api.send('DELETE', `/v1/onboardings/${created.body.id}`);
    const after = await policyText('demo-backups');
    expect(after).toContain(hold);
    expect(after).toContain('12345678901234567891');
    expect(JSON.parse(after).Statement.map((s: { Sid: string }) => s.Sid)).toEqual([
      'DenyInsecureTransport',
      `${ours}LegalHold`,
    ]);
  });

  it('refuses (409, nothing written) when a statement it did not write holds the Sid it needs', async () => {
    const plan = await api.onboard({ ...generic('squat/'), dryRun: true });
    const sid: string = plan.body.policies.bucketPolicyStatements[0].Sid;
    await addOwnerStatement(
      'demo-backups',
      `{"Sid":"${sid}","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::demo-backups/squat/*"}`,
    );
    await admin.clearCalls();
    const res = await api.onboard(generic('squat/'));
    expect(res.status).toBe(409);
    expect(res.body.detail).toContain(`holds a statement with Sid ${sid} that this service did not write`);
    expect(await writes(stack)).toEqual([]);
  });
});

describe('Failures that can be foreseen are refused before any write (finding 4)', () => {
  it('an instance role its owner did not opt in (no s3-onboarding-grantable=true): 409 saying how, nothing written', async () => {
    await clients(stack, rootCredentials(WORKLOADS)).iam.send(
      new UntagRoleCommand({ RoleName: 'pbm-ec2-instance-role', TagKeys: ['s3-onboarding-grantable'] }),
    );
    await admin.clearCalls();
    const res = await api.onboard({
      workload: { type: 'ec2', instanceRoleArn: `arn:aws:iam::${WORKLOADS}:role/pbm-ec2-instance-role` },
      bucket: { name: 'demo-backups', accountId: BACKUPS, region: 'eu-west-1', prefix: 'ec2/' },
      tool: 'pbm',
    });
    expect(res.status).toBe(409);
    expect(res.body.detail).toMatch(
      /not tagged s3-onboarding-grantable=true.*aws iam tag-role --role-name pbm-ec2-instance-role/,
    );
    expect(await writes(stack)).toEqual([]);
    expect((await api.send('GET', '/v1/onboardings')).body.items).toEqual([]);
  });

  it('a foreign statement naming a deleted role (AROA…): POST and DELETE refuse with 409 naming it, nothing written', async () => {
    const existing = await api.onboard(generic('before/'));
    const iam = clients(stack, rootCredentials(WORKLOADS)).iam;
    await iam.send(
      new CreateRoleCommand({
        RoleName: 'soon-gone',
        AssumeRolePolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }],
        }),
      }),
    );
    await addOwnerStatement(
      'demo-backups',
      `{"Sid":"OldReader","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::${WORKLOADS}:role/soon-gone"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::demo-backups/old/*"}`,
    );
    await iam.send(new DeleteRoleCommand({ RoleName: 'soon-gone' }));
    expect(await policyText('demo-backups')).toMatch(/"AROA[A-Z0-9]+"/);
    await admin.clearCalls();

    const res = await api.onboard(generic('after/'));
    expect(res.status).toBe(409);
    expect(res.body.detail).toMatch(/statement Sid OldReader naming AROA[A-Z0-9]+: a principal that was deleted/);
    const del = await api.send('DELETE', `/v1/onboardings/${existing.body.id}`);
    expect(del.status).toBe(409);
    expect(await writes(stack)).toEqual([]);
    expect((await api.send('GET', `/v1/onboardings/${existing.body.id}`)).body.status).toBe('provisioned');
  });

  it.each([
    [
      'a bucket',
      { bucket: { name: 'unmanaged-backups', accountId: BACKUPS, region: 'eu-west-1', prefix: 'x/' } },
      /bucket unmanaged-backups is not opted in.*put-bucket-abac --bucket unmanaged-backups.*s3-onboarding-managed/,
    ],
    [
      'a key',
      {
        bucket: {
          name: 'demo-encrypted-backups',
          accountId: BACKUPS,
          region: 'eu-west-1',
          prefix: 'x/',
          kmsKeyArn: UNMANAGED_KEY,
        },
      },
      /key .*99999999.* is not opted in.*aws kms tag-resource/,
    ],
  ])(
    '%s whose owner did not opt in (s3-onboarding-managed=true): 409 saying how, nothing written',
    async (_what, over, detail) => {
      await admin.clearCalls();
      const res = await api.onboard(generic('x/', over));
      expect(res.status).toBe(409);
      expect(res.body.detail).toMatch(detail);
      expect(await writes(stack)).toEqual([]);
    },
  );
});

describe('Capacity found only after a concurrent batch wrote (finding 4, contract: a 4xx leaves nothing written)', () => {
  it('60 onboardings at once into a bucket that fits 50: 50 × 201 and 10 × 409, and the ten leave nothing behind', async () => {
    // identical sizes: namespaces and prefixes of one width, role names of one width
    const body = (i: number) =>
      generic(`t${String(i).padStart(2, '0')}/`, {
        workload: {
          type: 'eks',
          clusters: [demo],
          namespace: `team-${String(i).padStart(2, '0')}`,
          serviceAccounts: ['pbm-agent'],
        },
        bucket: {
          name: 'full-backups',
          accountId: BACKUPS,
          region: 'eu-west-1',
          prefix: `t${String(i).padStart(2, '0')}/`,
        },
        tool: 'pbm',
      });
    // measure one statement, then pad the owner's policy so that exactly 50 fit
    const one = await api.onboard(body(99));
    const size = (t: string) => t.replace(/\s+(?=(?:[^"]*"[^"]*")*[^"]*$)/g, '').length;
    const withOne = size(await policyText('full-backups'));
    await api.send('DELETE', `/v1/onboardings/${one.body.id}`);
    const statement = withOne - '{"Version":"2012-10-17","Statement":[]}'.length;
    const base = `{"Version":"2012-10-17","Statement":[{"Sid":"Pad","Effect":"Deny","Principal":"*","Action":"s3:PutObjectAcl","Resource":"arn:aws:s3:::full-backups/pad/X"}]}`;
    const padTo = 20_480 - 50 * (statement + 1) - 5;
    const padded = base.replace('X', 'x'.repeat(padTo - size(base)));
    await s3().send(new PutBucketPolicyCommand({ Bucket: 'full-backups', Policy: padded }));
    await admin.clearCalls();

    const results = await Promise.all(Array.from({ length: 60 }, (_, i) => api.onboard(body(i))));
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(50);
    expect(statuses.filter((s) => s === 409)).toHaveLength(10);
    const refused = results.filter((r) => r.status === 409);
    for (const r of refused) {
      expect(r.body.detail).toMatch(
        /full-backups would be \d+ bytes, over its 20480-byte limit.*crossAccountMode role-in-bucket-account .*access-point/,
      );
      // issue 18: the modes that do not grow a bucket policy, as data too
      expect(r.body.modesThatDoNotGrowIt).toEqual(['role-in-bucket-account', 'access-point']);
    }
    // nothing of the ten: no role, no record, no statement
    const roles =
      (
        await clients(stack, rootCredentials(WORKLOADS)).iam.send(
          new (await import('@aws-sdk/client-iam')).ListRolesCommand({ PathPrefix: '/s3-onboarding/' }),
        )
      ).Roles ?? [];
    expect(roles).toHaveLength(50);
    expect(JSON.parse(await policyText('full-backups')).Statement).toHaveLength(51);
    expect((await api.send('GET', '/v1/onboardings?bucket=full-backups&limit=100')).body.items).toHaveLength(50);
  }, 60_000);

  it('40 onboardings at once sharing one KMS key at 100 ms per AWS call: all 201, one KMS grant each, the key policy untouched', async () => {
    const kms = clients(stack, rootCredentials(BACKUPS)).kms;
    const policyBefore = (await kms.send(new GetKeyPolicyCommand({ KeyId: KEY, PolicyName: 'default' }))).Policy;
    await admin.latency(100);
    const body = (i: number) =>
      generic(`k${String(i).padStart(2, '0')}/`, {
        workload: {
          type: 'eks',
          clusters: [demo],
          namespace: `keyed-${String(i).padStart(2, '0')}`,
          serviceAccounts: ['worker'],
        },
        bucket: {
          name: 'demo-encrypted-backups',
          accountId: BACKUPS,
          region: 'eu-west-1',
          prefix: `k${String(i).padStart(2, '0')}/`,
          kmsKeyArn: KEY,
        },
      });
    const results = await Promise.all(Array.from({ length: 40 }, (_, i) => api.onboard(body(i))));
    await admin.latency(0);
    expect(results.map((r) => r.status)).toEqual(Array(40).fill(201));
    expect((await kms.send(new GetKeyPolicyCommand({ KeyId: KEY, PolicyName: 'default' }))).Policy).toBe(policyBefore);
    for (const r of results) {
      const grants = (await kms.send(new ListGrantsCommand({ KeyId: KEY, GranteePrincipal: r.body.roleArn }))).Grants!;
      expect(grants.map((g) => g.Name)).toEqual([`s3-onboarding_${r.body.id}`]);
    }
    expect((await admin.calls()).filter((c) => c.operation === 'PutKeyPolicy')).toEqual([]);
  }, 60_000);
});

describe('Idempotency-Key (finding 5)', () => {
  it('the same fields in another order are the same body: the retry gets the first answer', async () => {
    const body = generic('order/');
    const first = await api.onboard(body, { 'idempotency-key': 'order-1' });
    const reordered = JSON.parse(
      JSON.stringify({
        tool: body.tool,
        bucket: { prefix: 'order/', region: 'eu-west-1', accountId: BACKUPS, name: 'demo-backups' },
        workload: body.workload,
      }),
    );
    await admin.clearCalls();
    const retry = await api.onboard(reordered, { 'idempotency-key': 'order-1' });
    expect(retry.status).toBe(first.status);
    expect(retry.body).toEqual(first.body);
    expect(await admin.calls()).toEqual([]);
  });

  it('a request in flight holds its key only for the function’s remaining time: after that a retry runs', async () => {
    const { handler } = (await import('../../../handlers/create')) as {
      handler: (e: unknown, c: Context) => Promise<{ statusCode: number; body: string }>;
    };
    const event = (remaining: number) => ({
      version: '2.0',
      routeKey: 'POST /v1/onboardings',
      rawPath: '/v1/onboardings',
      headers: { 'content-type': 'application/json', 'idempotency-key': `inflight-${remaining}` },
      requestContext: {
        requestId: `r-${remaining}-${Math.random()}`,
        routeKey: 'POST /v1/onboardings',
        authorizer: { iam: { userArn: 'arn:aws:iam::100000000001:role/platform-admin' } },
      },
      body: JSON.stringify(generic(`inflight-${remaining}/`)),
      isBase64Encoded: false,
    });
    const context = (remaining: number) =>
      ({
        awsRequestId: 'x',
        functionName: 'createOnboarding',
        getRemainingTimeInMillis: () => remaining,
      }) as unknown as Context;
    // a request has claimed its key once it calls AWS (the key is claimed before any AWS call)
    const started = async () => {
      for (let i = 0; i < 500 && (await admin.calls()).length === 0; i++) await new Promise((r) => setTimeout(r, 5));
      expect((await admin.calls()).length).toBeGreaterThan(0);
    };
    await admin.latency(150);
    // a long remaining time: a concurrent retry is told the first one is still in progress
    await admin.clearCalls();
    const slow = handler(event(25_000), context(25_000));
    await started();
    const busy = await handler(event(25_000), context(25_000));
    expect(busy.statusCode).toBe(409);
    expect(JSON.parse(busy.body).detail).toMatch(/still in progress/);
    expect((await slow).statusCode).toBe(201);
    // a short remaining time (the first attempt would have timed out by now): the retry runs instead of waiting a day
    await admin.clearCalls();
    const doomed = handler(event(50), context(50));
    await started();
    // its key was held for 50 ms from its claim, which came before that AWS call
    await new Promise((r) => setTimeout(r, 100));
    const retry = await handler(event(50), context(25_000));
    await admin.latency(0);
    expect([201, 200]).toContain(retry.statusCode);
    await doomed;
  });

  it('a 503 after a partial write tells the caller what to do', async () => {
    await admin.fault({
      service: 'iam',
      operation: 'PutRolePolicy',
      errorCode: 'ServiceUnavailable',
      httpStatus: 503,
      count: 10,
    });
    const res = await api.onboard(generic('partial/'));
    expect(res.status).toBe(503);
    expect(res.body.detail).toMatch(
      /was partially applied \(\d of \d steps: .*create-role.*\) before it failed: .*Retry the same request to finish it, or DELETE \/v1\/onboardings\/ob-[0-9a-f]{12}/,
    );
  });
});

describe('Request data never becomes an object key (finding 6)', () => {
  it('tags named constructor, toString and valueOf are written, and removed when dropped', async () => {
    const tags = { constructor: 'a', toString: 'b', valueOf: 'c', hasOwnProperty: 'd' };
    const res = await api.onboard(generic('proto/', { tags }));
    expect(res.status).toBe(201);
    const roleName = res.body.roleArn.split('/').pop();
    const roleTags = async () =>
      Object.fromEntries(
        (
          (await clients(stack, rootCredentials(WORKLOADS)).iam.send(new GetRoleCommand({ RoleName: roleName }))).Role!
            .Tags ?? []
        ).map((t) => [t.Key, t.Value]),
      );
    expect(await roleTags()).toMatchObject(tags);
    const again = await api.onboard(generic('proto/', { tags: { ticket: 'OPS-1' } }));
    expect(again.status).toBe(201);
    const after = await roleTags();
    for (const k of Object.keys(tags)) expect(Object.hasOwn(after, k)).toBe(false);
    expect(after.ticket).toBe('OPS-1');
  });
});

describe('Clear answers (findings 9 and 10)', () => {
  it('?limit=abc names the rule, not a type puzzle', async () => {
    const res = await api.send('GET', '/v1/onboardings?limit=abc');
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([{ path: 'limit', message: 'must be an integer from 1 to 100 (limit)' }]);
  });

  it('malformed percent-encoding in a path gets 400 from the local API, which keeps serving', async () => {
    const bad = await fetch(`${stack.apiUrl}/v1/onboardings/%E0%A4%A`);
    expect(bad.status).toBe(400);
    expect((await api.send('GET', '/v1/health')).status).toBe(200);
  });

  it('a GovCloud region is refused with 400 (the service writes aws-partition ARNs only)', async () => {
    const res = await api.onboard({
      ...generic('gov/'),
      bucket: { name: 'demo-backups', accountId: BACKUPS, region: 'us-gov-west-1', prefix: 'gov/' },
    });
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([
      { path: 'bucket.region', message: expect.stringContaining('GovCloud (aws-us-gov)') },
    ]);
  });
});

describe('lastError is written for the caller (finding 3)', () => {
  const denial = (operation: string) => ({
    service: 'iam',
    operation,
    errorCode: 'AccessDenied',
    httpStatus: 403,
    message: `User: arn:aws:sts::${WORKLOADS}:assumed-role/s3-onboarding-provisioner/s3-onboarding is not authorized to perform: iam:${operation} because explicit deny in identity-based policy (Sid DenyEditingItself)`,
  });

  it('a denial after a write is undone first, then answered as the 403 it is, in the service’s own words', async () => {
    await admin.fault(denial('PutRolePolicy'));
    const res = await api.onboard(generic('undone/'));
    expect(res.status).toBe(403);
    expect(res.body.detail).toMatch(/AWS denied the provisioner role \(AccessDenied\)/);
    expect(JSON.stringify(res.body)).not.toMatch(/DenyEditingItself|is not authorized/);
    // undone: the role it had created is gone, and there is no record
    expect(
      (
        await clients(stack, rootCredentials(WORKLOADS)).iam.send(
          new (await import('@aws-sdk/client-iam')).ListRolesCommand({ PathPrefix: '/s3-onboarding/' }),
        )
      ).Roles,
    ).toEqual([]);
    expect((await api.send('GET', '/v1/onboardings')).body.items).toEqual([]);
  });

  it('never carries AWS’s own denial text (the provisioner’s policy names and Sids), when the undo fails too', async () => {
    await admin.fault(denial('PutRolePolicy'));
    await admin.fault(denial('DeleteRole'));
    const res = await api.onboard(generic('denied/'));
    expect(res.status).toBe(503);
    const id = (await api.onboard({ ...generic('denied/'), dryRun: true })).body.id;
    const rec = await api.send('GET', `/v1/onboardings/${id}`);
    expect(rec.body.lastError).toMatch(/AWS denied the provisioner role \(AccessDenied\)/);
    expect(JSON.stringify(rec.body)).not.toMatch(/DenyEditingItself|is not authorized/);
    expect(JSON.stringify(res.body)).not.toMatch(/DenyEditingItself|is not authorized/);
  });
});
