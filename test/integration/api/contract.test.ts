import path from 'node:path';
import { readdirSync, readFileSync } from 'node:fs';
import type { Stack } from '../../../scripts/stack';
import { BACKUPS, WORKLOADS } from '../../helpers/emulator';
import { useTestStack, writes, type TestStack } from '../../helpers/stack';
import {
  deleteResponseSchema,
  healthResponseSchema,
  onboardingListSchema,
  onboardingRecordSchema,
  onboardingResponseSchema,
  problemSchema,
  verifyResponseSchema,
} from '../../../lib/onboarding/request/response-schema';

let stack: Stack;
let api: TestStack['api'];
let admin: TestStack['admin'];
useTestStack((t) => ({ stack, api, admin } = t));

const valid = () => ({
  workload: {
    type: 'eks',
    clusters: [{ name: 'demo', accountId: WORKLOADS, region: 'eu-west-1' }],
    namespace: 'mongodb',
    serviceAccounts: ['pbm-agent'],
  },
  bucket: { name: 'demo-backups', accountId: BACKUPS, region: 'eu-west-1', prefix: 'contract/' },
  tool: 'pbm',
});

/** Deep-sets `path` (dots) in a fresh valid request. */
function withField(path: string, value: unknown): Record<string, unknown> {
  const body = valid() as Record<string, any>;
  const keys = path.split('.');
  let o = body;
  for (const k of keys.slice(0, -1)) o = o[k];
  o[keys[keys.length - 1]] = value;
  return body;
}

describe('API responses match the OpenAPI response schemas', () => {
  it('POST, GET, list, verify, DELETE and health', async () => {
    const created = await api.onboard(valid());
    expect(created.status).toBe(201);
    expect(onboardingResponseSchema.safeParse(created.body).error).toBeUndefined();
    const id = created.body.id;
    expect(
      onboardingRecordSchema.safeParse((await api.send('GET', `/v1/onboardings/${id}`)).body).error,
    ).toBeUndefined();
    expect(
      onboardingListSchema.safeParse((await api.send('GET', '/v1/onboardings?limit=10')).body).error,
    ).toBeUndefined();
    expect(
      verifyResponseSchema.safeParse((await api.send('POST', `/v1/onboardings/${id}/verify`)).body).error,
    ).toBeUndefined();
    expect(
      deleteResponseSchema.safeParse((await api.send('DELETE', `/v1/onboardings/${id}`)).body).error,
    ).toBeUndefined();
    expect(healthResponseSchema.safeParse((await api.send('GET', '/v1/health')).body).error).toBeUndefined();
    const dry = await api.onboard({ ...valid(), dryRun: true });
    expect(onboardingResponseSchema.safeParse(dry.body).error).toBeUndefined();
  });
});

describe('examples/requests', () => {
  const dir = path.resolve(__dirname, '../../../examples/requests');
  it.each(readdirSync(dir).filter((f) => f.endsWith('.json')))(
    '%s onboards against the demo topology',
    async (file) => {
      await admin.reset();
      const body = JSON.parse(readFileSync(path.join(dir, file), 'utf8'));
      const res = await api.onboard(body);
      expect([res.status, res.body.status]).toEqual(body.dryRun ? [200, 'planned'] : [201, 'provisioned']);
    },
  );
});

describe('GET /v1/onboardings pagination', () => {
  it('pages with limit and nextToken, without losing or repeating items', async () => {
    await admin.reset();
    const ids = new Set<string>();
    for (const prefix of ['p1/', 'p2/', 'p3/'])
      ids.add((await api.onboard(withField('bucket.prefix', prefix))).body.id);
    const seen: string[] = [];
    let next: string | undefined;
    let pages = 0;
    do {
      const page = await api.send(
        'GET',
        `/v1/onboardings?bucket=demo-backups&limit=2${next ? `&nextToken=${next}` : ''}`,
      );
      expect(page.status).toBe(200);
      expect(page.body.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.body.items.map((i: { id: string }) => i.id));
      next = page.body.nextToken;
      pages++;
    } while (next && pages < 10);
    expect(seen.filter((id) => ids.has(id)).sort()).toEqual([...ids].sort());
    expect(new Set(seen).size).toBe(seen.length);
    expect(pages).toBeGreaterThanOrEqual(2);
  });
});

describe('Bad input: a 4xx problem naming the field, and no AWS write', () => {
  beforeEach(() => admin.clearCalls());
  afterEach(async () => expect(await writes(stack)).toEqual([]));

  const cases: [string, Record<string, unknown>, string][] = [
    ['namespace not RFC 1123', withField('workload.namespace', 'MongoDB'), 'workload.namespace'],
    ['namespace of 64 characters', withField('workload.namespace', 'n'.repeat(64)), 'workload.namespace'],
    [
      'service account of 254 characters',
      withField('workload.serviceAccounts', ['s'.repeat(254)]),
      'workload.serviceAccounts.0',
    ],
    ['bucket name with upper case', withField('bucket.name', 'Demo-Backups'), 'bucket.name'],
    ['bucket name like an IP address', withField('bucket.name', '192.168.1.1'), 'bucket.name'],
    ['account id of 11 digits', withField('bucket.accountId', '30000000000'), 'bucket.accountId'],
    ['region not a region', withField('bucket.region', 'europe'), 'bucket.region'],
    ['prefix with a wildcard', withField('bucket.prefix', 'team/*'), 'bucket.prefix'],
    ['prefix with ?', withField('bucket.prefix', 'team?/'), 'bucket.prefix'],
    ['prefix with ..', withField('bucket.prefix', 'team/../other/'), 'bucket.prefix'],
    ['prefix with a leading slash', withField('bucket.prefix', '/team/'), 'bucket.prefix'],
    ['prefix breaking out of a policy string', withField('bucket.prefix', 'a"},{"Effect":"Allow'), 'bucket.prefix'],
    [
      'KMS key alias',
      withField('bucket.kmsKeyArn', 'arn:aws:kms:eu-west-1:300000000003:alias/backups'),
      'bucket.kmsKeyArn',
    ],
    [
      'instance role of another partition',
      { ...valid(), workload: { type: 'ec2', instanceRoleArn: 'arn:aws-cn:iam::200000000002:role/x' } },
      'workload.instanceRoleArn',
    ],
    ['unknown tool', withField('tool', 'rsync'), 'tool'],
    ['unknown field', { ...valid(), admin: true }, 'admin'],
    ['unknown nested field', withField('bucket.acl', 'public-read'), 'bucket.acl'],
    ['namespace breaking out of YAML', withField('workload.namespace', 'a\n  evil: true'), 'workload.namespace'],
    [
      'control character in a service account',
      withField('workload.serviceAccounts', ['pbm\u0000agent']),
      'workload.serviceAccounts.0',
    ],
    ['unicode look-alike in a namespace', withField('workload.namespace', 'mоngodb'), 'workload.namespace'],
    ['reserved tag key', withField('tags', { 'aws:team': 'x' }), 'tags'],
  ] as [string, Record<string, unknown>, string][];

  it.each(cases.map(([name, body, path]) => [name, path, body] as const))(
    '%s → 400 naming %s',
    async (_name, path, body) => {
      const res = await api.onboard(body);
      expect(res.status).toBe(400);
      expect(res.headers.get('content-type')).toBe('application/problem+json');
      expect(problemSchema.safeParse(res.body).error).toBeUndefined();
      expect(
        res.body.errors
          .map((e: { path: string }) => e.path)
          .some((p: string) => p === path || p.startsWith(`${path}.`) || p.startsWith(`${path}[`)),
      ).toBe(true);
    },
  );

  it('malformed JSON → 400', async () => {
    const res = await api.send('POST', '/v1/onboardings', '{"workload":', { 'content-type': 'application/json' });
    expect(res.status).toBe(400);
    expect(res.body.title).toBeDefined();
  });

  it('wrong content type → 415', async () => {
    const res = await api.send('POST', '/v1/onboardings', 'workload=eks', {
      'content-type': 'application/x-www-form-urlencoded',
    });
    expect(res.status).toBe(415);
  });

  it('a 1 MB body → 413', async () => {
    const res = await api.onboard({ ...valid(), tags: { ticket: 'x'.repeat(1024 * 1024) } });
    expect(res.status).toBe(413);
  });

  it('a malformed id → 400 naming id; an unknown one → 404', async () => {
    expect((await api.send('GET', '/v1/onboardings/..%2F..%2Fetc')).status).toBe(400);
    expect((await api.send('GET', '/v1/onboardings/ob-000000000000')).status).toBe(404);
  });

  it('a cluster that does not exist → 400 naming the cluster', async () => {
    const res = await api.onboard(
      withField('workload.clusters', [{ name: 'nope', accountId: WORKLOADS, region: 'eu-west-1' }]),
    );
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([
      { path: 'workload.clusters.0.name', message: expect.stringMatching(/no EKS cluster/) },
    ]);
  });

  it('a bucket not owned by the stated account → 403, never written', async () => {
    const res = await api.onboard(withField('bucket.accountId', WORKLOADS));
    expect(res.status).toBe(403);
    expect(res.body.rule).toBe('bucket-owner');
  });

  it('a bucket in another region than stated → 400 naming bucket.region', async () => {
    const res = await api.onboard(withField('bucket.region', 'us-west-2'));
    expect(res.status).toBe(400);
    expect(res.body.errors[0].path).toBe('bucket.region');
  });
});

describe('A 4xx means nothing was written', () => {
  beforeEach(async () => {
    await admin.reset();
    await admin.clearCalls();
  });
  afterEach(() => admin.clearFaults());

  it('access denied on a read → 403, and no write', async () => {
    await admin.fault({ service: 'iam', operation: 'GetRole', errorCode: 'AccessDenied', httpStatus: 403, count: 5 });
    const res = await api.onboard(withField('bucket.prefix', 'denied-read/'));
    expect(res.status).toBe(403);
    expect(await writes(stack)).toEqual([]);
  });

  it('access denied after other steps wrote → the new onboarding is undone, then the 403 (a 4xx leaves nothing written); a retry converges', async () => {
    await admin.fault({
      service: 's3',
      operation: 'PutBucketPolicy',
      errorCode: 'AccessDenied',
      httpStatus: 403,
      count: 5,
    });
    const res = await api.onboard(withField('bucket.prefix', 'partial/'));
    expect(res.status).toBe(403);
    const ops = (await writes(stack)).filter((c) => c.status < 300).map((c) => c.operation);
    // what it wrote (role, policy) was taken back before it answered
    expect(ops.filter((o) => o.startsWith('Create') || o.startsWith('Put')).sort()).toEqual([
      'CreateRole',
      'PutRolePolicy',
    ]);
    expect(ops.filter((o) => o.startsWith('Delete')).sort()).toEqual(['DeleteRole', 'DeleteRolePolicy']);
    await admin.clearFaults();
    expect((await api.onboard(withField('bucket.prefix', 'partial/'))).status).toBe(201);
  });

  it('access denied after other steps wrote, on an existing onboarding → a retryable 503 that says it was partially applied', async () => {
    const created = await api.onboard(withField('bucket.prefix', 'update/'));
    expect(created.status).toBe(201);
    await admin.fault({
      service: 's3',
      operation: 'PutBucketPolicy',
      errorCode: 'AccessDenied',
      httpStatus: 403,
      count: 5,
    });
    const res = await api.onboard({ ...withField('bucket.prefix', 'update/'), access: 'restore' });
    expect(res.status).toBe(503);
    expect(res.body.detail).toMatch(/was partially applied .* Retry the same request to finish it, or DELETE/);
    await admin.clearFaults();
    expect((await api.onboard({ ...withField('bucket.prefix', 'update/'), access: 'restore' })).status).toBe(201);
  });

  it('a malformed nextToken → 400 naming nextToken', async () => {
    const token = (key: Record<string, string>) => Buffer.from(JSON.stringify(key)).toString('base64url');
    for (const t of [
      'abc',
      token({ pk: 'LOCK#x', sk: 'LOCK' }),
      // the right keys with empty strings (DynamoDB refused them: a 500)
      token({ pk: '', sk: '', gsi1pk: 'ONBOARDINGS', gsi1sk: '' }),
      token({ pk: 'ONB#ob-000000000000', sk: '', gsi1pk: 'ONBOARDINGS', gsi1sk: 'ob-000000000000' }),
      // another list's token
      token({
        pk: 'ONB#ob-000000000000',
        sk: 'IDX#BUCKET#demo-backups',
        gsi1pk: 'BUCKET#demo-backups',
        gsi1sk: 'ob-000000000000',
      }),
    ]) {
      const res = await api.send('GET', `/v1/onboardings?nextToken=${t}`);
      expect(res.status).toBe(400);
      expect(res.body.errors[0].path).toBe('nextToken');
    }
    // a well-formed token of the list itself is a page (an empty one here)
    const page = await api.send(
      'GET',
      `/v1/onboardings?nextToken=${token({ pk: 'ONB#ob-000000000000', sk: 'RECORD', gsi1pk: 'ONBOARDINGS', gsi1sk: 'ob-000000000000' })}`,
    );
    expect(page.status).toBe(200);
  });
});

describe('Internal errors never leak', () => {
  it('answers 500 with a generic detail and the request id, without stack or AWS message', async () => {
    await admin.fault({
      service: 'iam',
      operation: 'GetRole',
      errorCode: 'WeirdInternalThing',
      httpStatus: 400,
      message: 'secret-internal-detail AKIA300000000003ROOT',
      count: 5,
    });
    const res = await api.onboard(valid());
    await admin.clearFaults();
    expect(res.status).toBe(500);
    const text = JSON.stringify(res.body);
    expect(text).not.toMatch(/secret-internal-detail|AKIA|ASIA|\.ts:\d+|at /);
    expect(res.body.requestId).toEqual(expect.any(String));
  });
});
