import path from 'node:path';
import { startStack, type Stack } from '../../../scripts/stack';
import { BACKUPS, WORKLOADS, emulatorAdmin } from '../../helpers/emulator';
import { apiClient, writes } from '../../helpers/stack';

/** The local stack with examples/guardrails.yaml, acting as the DBA team's portal. */
let stack: Stack;
let api: ReturnType<typeof apiClient>;
beforeAll(async () => {
  process.env.GUARDRAILS = path.resolve(__dirname, '../../../examples/guardrails.yaml');
  stack = await startStack({ caller: 'arn:aws:sts::100000000001:assumed-role/dba-portal/alice' });
  api = apiClient(stack);
});
afterAll(async () => {
  delete process.env.GUARDRAILS;
  await stack.close();
});
beforeEach(() => emulatorAdmin(stack.emulator).clearCalls());

const allowed = () => ({
  workload: {
    type: 'eks',
    clusters: [{ name: 'demo', accountId: WORKLOADS, region: 'eu-west-1' }],
    namespace: 'team-a-mongo',
    serviceAccounts: ['pbm-agent'],
  },
  bucket: { name: 'demo-backups', accountId: BACKUPS, region: 'eu-west-1', prefix: 'team-a/mongo/' },
  tool: 'pbm',
});

describe('Guardrails (examples/guardrails.yaml, caller: the dba-portal role)', () => {
  it('allows what the dba-team rule covers', async () => {
    const res = await api.onboard(allowed());
    expect(res.status).toBe(201);
  });

  it.each([
    [
      'a namespace outside team-a-',
      { ...allowed(), workload: { ...allowed().workload, namespace: 'payments' } },
      /namespace "payments"/,
    ],
    ['a prefix outside team-a/', { ...allowed(), bucket: { ...allowed().bucket, prefix: 'team-b/' } }, /prefix/],
    ['the whole bucket', { ...allowed(), bucket: { ...allowed().bucket, prefix: undefined } }, /prefix/],
    ['another bucket', { ...allowed(), bucket: { ...allowed().bucket, name: 'shared-backups' } }, /bucket/],
    [
      'another tool',
      { ...allowed(), tool: 'velero', workload: { ...allowed().workload, serviceAccounts: ['velero'] } },
      /tool/,
    ],
  ])('refuses %s with 403 naming the rule, and writes nothing', async (_n, body, detail) => {
    const res = await api.onboard(body);
    expect(res.status).toBe(403);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect(res.body.rule).toBe('dba-team');
    expect(res.body.detail).toMatch(detail);
    expect(await emulatorAdmin(stack.emulator).calls()).toEqual([]);
  });

  it('never lets another caller replay an Idempotency-Key: the guardrails run first and keys are per caller', async () => {
    const body = { ...allowed(), bucket: { ...allowed().bucket, prefix: 'team-a/replay/' } };
    const first = await api.onboard(body, { 'idempotency-key': 'replay-1' });
    expect(first.status).toBe(201);
    const intruder = await api.onboard(body, {
      'idempotency-key': 'replay-1',
      'x-local-caller': 'arn:aws:iam::100000000001:role/intruder',
    });
    expect(intruder.status).toBe(403);
    expect(intruder.body.roleArn).toBeUndefined();
    // the admin replaying the same key and body (in another account's name) is a different key scope: it runs, and converges
    const admin = await api.onboard(body, {
      'idempotency-key': 'replay-1',
      'x-local-caller': 'arn:aws:iam::100000000001:role/platform-admin',
    });
    expect(admin.status).toBe(200);
  });

  it('refuses a caller no rule names', async () => {
    const res = await api.onboard(allowed(), { 'x-local-caller': 'arn:aws:iam::100000000001:role/intruder' });
    expect(res.status).toBe(403);
    expect(res.body.rule).toBe('no-rule-for-caller');
    expect(await writes(stack)).toEqual([]);
  });
});

describe('Reads are scoped by the guardrails like writes (contract section 4)', () => {
  const ADMIN = { 'x-local-caller': 'arn:aws:iam::100000000001:role/platform-admin' };
  const INTRUDER = { 'x-local-caller': 'arn:aws:iam::100000000001:role/intruder' };
  const adminOnly = () => ({
    ...allowed(),
    workload: { ...allowed().workload, namespace: 'payments' },
    bucket: { ...allowed().bucket, prefix: 'payments/' },
  });

  it('a record outside the caller’s rules answers exactly as an unknown id: GET, verify and DELETE 404, and lists leave it out', async () => {
    const theirs = await api.onboard(adminOnly(), ADMIN);
    expect(theirs.status).toBe(201);
    const mine = await api.onboard({ ...allowed(), bucket: { ...allowed().bucket, prefix: 'team-a/scoped/' } });
    const unknown = 'ob-000000000000';
    const strip = (b: Record<string, unknown>) => ({
      ...b,
      requestId: undefined,
      detail: String(b.detail).replace(/ob-[0-9a-f]{12}/, 'ID'),
    });
    for (const [method, suffix] of [
      ['GET', ''],
      ['POST', '/verify'],
      ['DELETE', ''],
    ] as const) {
      for (const headers of [{}, INTRUDER]) {
        const hidden = await api.send(method, `/v1/onboardings/${theirs.body.id}${suffix}`, undefined, headers);
        const absent = await api.send(method, `/v1/onboardings/${unknown}${suffix}`, undefined, headers);
        expect([hidden.status, absent.status]).toEqual([404, 404]);
        expect(strip(hidden.body)).toEqual(strip(absent.body));
      }
    }
    // the DBA portal lists only what its rule covers; the intruder nothing
    const listed = (await api.send('GET', '/v1/onboardings?bucket=demo-backups')).body.items.map(
      (i: { id: string }) => i.id,
    );
    expect(listed).toContain(mine.body.id);
    expect(listed).not.toContain(theirs.body.id);
    expect((await api.send('GET', '/v1/onboardings', undefined, INTRUDER)).body.items).toEqual([]);
    // and nothing was removed by the refused DELETEs
    expect((await api.send('GET', `/v1/onboardings/${theirs.body.id}`, undefined, ADMIN)).body.status).toBe(
      'provisioned',
    );
  });

  it('a rule grants only the KMS keys it lists: the DBA portal cannot add the admin’s key to its onboarding', async () => {
    const KEY = 'arn:aws:kms:eu-west-1:300000000003:key/11111111-2222-3333-4444-555555555555';
    const res = await api.onboard({
      ...allowed(),
      bucket: { ...allowed().bucket, prefix: 'team-a/keyed/', kmsKeyArn: KEY },
    });
    expect(res.status).toBe(403);
    expect(res.body.rule).toBe('dba-team');
    expect(res.body.detail).toContain(`kmsKeyArn "${KEY}" is not allowed by rule "dba-team" (allowed: no KMS key)`);
    expect(await writes(stack)).toEqual([]);
    // the admin's rule lists it
    const admin = await api.onboard(
      {
        ...adminOnly(),
        bucket: {
          name: 'demo-encrypted-backups',
          accountId: BACKUPS,
          region: 'eu-west-1',
          prefix: 'payments/',
          kmsKeyArn: KEY,
        },
      },
      ADMIN,
    );
    expect(admin.status).toBe(201);
  });
});
