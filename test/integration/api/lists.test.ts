import path from 'node:path';
import { startStack, type Stack } from '../../../scripts/stack';
import type { OnboardingRecord } from '../../../lib/onboarding/model/records';
import { apiClient } from '../../helpers/stack';
import { dbaCovers, REQUESTERS, seedEstate } from '../../helpers/estate';

/**
 * GET /v1/onboardings through the local API and its list handler: 500 records of the estate of
 * test/integration/store/lists.test.ts (which proves the lists at 2,000), the guardrails of examples/guardrails.yaml. The DBA portal pages through the lists by requester, bucket and cluster and sees
 * exactly the records its rule covers; the admin sees them all; bad filters are a 400 naming the field.
 */

const ADMIN = 'arn:aws:iam::100000000001:role/platform-admin';
let stack: Stack;
let api: ReturnType<typeof apiClient>;
let records: OnboardingRecord[];

beforeAll(async () => {
  process.env.GUARDRAILS = path.resolve(__dirname, '../../../examples/guardrails.yaml');
  stack = await startStack({ caller: 'arn:aws:sts::100000000001:assumed-role/dba-portal/alice' });
  api = apiClient(stack);
  const { baseRuntime } = await import('../../../lib/runtime');
  records = await seedEstate(baseRuntime().store, 500);
}, 120_000);
afterAll(async () => {
  delete process.env.GUARDRAILS;
  await stack?.close();
});

/** Every id of a list, following its tokens; the sizes of its pages. */
async function all(query: string, headers: Record<string, string> = {}) {
  const ids: string[] = [];
  const sizes: number[] = [];
  let next: string | undefined;
  do {
    const res = await api.send(
      'GET',
      `/v1/onboardings?${query}${next ? `&nextToken=${next}` : ''}`,
      undefined,
      headers,
    );
    expect(res.status).toBe(200);
    ids.push(...res.body.items.map((i: { id: string }) => i.id));
    sizes.push(res.body.items.length);
    next = res.body.nextToken;
    if (sizes.length > records.length) throw new Error('the list never ends');
  } while (next);
  return { ids, sizes };
}

const expected = (keep: (r: OnboardingRecord) => boolean) =>
  records
    .filter(keep)
    .map((r) => r.id)
    .sort();

it('by requester: the admin pages through all 100 of them; the DBA portal sees only those its rule covers', async () => {
  const q = `requester=${encodeURIComponent(REQUESTERS[0])}`;
  const admin = await all(`${q}&limit=25`, { 'x-local-caller': ADMIN });
  expect(admin.ids).toEqual(expected((r) => r.requestedBy === REQUESTERS[0]));
  expect(admin.sizes).toEqual([25, 25, 25, 25]);
  const dba = await all(`${q}&limit=5`);
  expect(dba.ids).toEqual(expected((r) => r.requestedBy === REQUESTERS[0] && dbaCovers(r)));
  expect(dba.ids.length).toBe(20);
  expect(dba.sizes.every((s) => s <= 5)).toBe(true);
});

it.each([
  ['bucket=demo-backups', (r: OnboardingRecord) => r.request.bucket.name === 'demo-backups'],
  [
    'cluster=demo',
    (r: OnboardingRecord) =>
      r.request.workload.type === 'eks' && r.request.workload.clusters.some((c) => c.name === 'demo'),
  ],
  ['', () => true],
])('?%s: the DBA portal sees only what its rule covers, each once, in id order', async (q, keep) => {
  const dba = await all(`${q}&limit=50`);
  expect(dba.ids).toEqual(expected((r) => keep(r) && dbaCovers(r)));
  expect(dba.ids.length).toBeGreaterThan(0);
});

it.each([
  ['requester=alice', 'requester'],
  [`requester=${encodeURIComponent('arn:aws:iam::1:role/x')}`, 'requester'],
  ['limit=0', 'limit'],
  ['limit=101', 'limit'],
  ['nextToken=not-a-token', 'nextToken'],
])('%s is a 400 naming %s', async (q, field) => {
  const res = await api.send('GET', `/v1/onboardings?${q}`);
  expect(res.status).toBe(400);
  expect(res.headers.get('content-type')).toBe('application/problem+json');
  expect(res.body.errors[0].path).toBe(field);
});

it('a token of the list of one requester is refused by the list of another', async () => {
  const first = await api.send(
    'GET',
    `/v1/onboardings?requester=${encodeURIComponent(REQUESTERS[1])}&limit=1`,
    undefined,
    {
      'x-local-caller': ADMIN,
    },
  );
  expect(first.body.nextToken).toEqual(expect.any(String));
  const other = await api.send(
    'GET',
    `/v1/onboardings?requester=${encodeURIComponent(REQUESTERS[2])}&nextToken=${first.body.nextToken}`,
    undefined,
    { 'x-local-caller': ADMIN },
  );
  expect(other.status).toBe(400);
  expect(other.body.errors[0].path).toBe('nextToken');
});
