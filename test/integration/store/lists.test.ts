import path from 'node:path';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchGetCommand } from '@aws-sdk/lib-dynamodb';
import { TransientError } from '../../../lib/errors';
import { startDynalite } from '../../../scripts/dynalite';
import { tableDefinition } from '../../../scripts/stack';
import { loadGuardrails } from '../../../lib/guardrails/load';
import { listOnboardings } from '../../../lib/onboarding/verbs/read';
import type { OnboardingRecord } from '../../../lib/onboarding/model/records';
import { Store } from '../../../lib/store/store';
import { LIST_ROUNDS, type ListQuery } from '../../../lib/store/records';
import { dbaCovers, ESTATE_SIZE as N, inCluster, REQUESTERS, seedEstate } from '../../helpers/estate';

/**
 * Lists at estate size: 2,000 onboardings over four clusters, three buckets and five requesters, in dynalite through
 * the real DynamoDB document client. Every list is Query pages on the index (and BatchGets of the records), never
 * a Scan, each record exactly once in id order, a caller's guardrails scope applied without endless empty pages.
 */

const DBA = { principal: 'arn:aws:sts::100000000001:assumed-role/dba-portal/alice' };

let close: () => Promise<void>;
let client: DynamoDBClient;
let store: Store;
/** the DynamoDB operations sent on the wire (X-Amz-Target), in order */
const ops: string[] = [];
let records: OnboardingRecord[] = [];

beforeAll(async () => {
  const ddb = await startDynalite(0);
  close = ddb.close;
  client = new DynamoDBClient({
    endpoint: ddb.url,
    region: 'eu-west-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  client.middlewareStack.add(
    (next) => async (args) => {
      const target = (args.request as { headers?: Record<string, string> }).headers?.['x-amz-target'];
      ops.push(String(target).replace(/^DynamoDB_\d+\./, ''));
      return next(args);
    },
    { step: 'finalizeRequest', name: 'recordOperations' },
  );
  await client.send(new CreateTableCommand({ TableName: 'lists', ...tableDefinition() }));
  store = new Store('lists', client);
  records = await seedEstate(store);
}, 120_000);
afterAll(async () => {
  client?.destroy();
  await close?.();
});

interface Walk {
  ids: string[];
  sizes: number[];
  /** DynamoDB operations of each page */
  calls: string[][];
}

/** Follows the tokens of one list to its end. */
async function walk(list: (nextToken?: string) => Promise<{ items: OnboardingRecord[]; nextToken?: string }>) {
  const out: Walk = { ids: [], sizes: [], calls: [] };
  let token: string | undefined;
  do {
    ops.length = 0;
    const page = await list(token);
    out.calls.push([...ops]);
    out.ids.push(...page.items.map((r) => r.id));
    out.sizes.push(page.items.length);
    token = page.nextToken;
    if (out.sizes.length > N) throw new Error('the list never ends');
  } while (token);
  return out;
}

const expected = (keep: (r: OnboardingRecord) => boolean) =>
  records
    .filter(keep)
    .map((r) => r.id)
    .sort();

const lists: [string, Omit<ListQuery, 'limit'>, (r: OnboardingRecord) => boolean][] = [
  ['all', {}, () => true],
  ['a bucket', { bucket: 'shared-backups' }, (r) => r.request.bucket.name === 'shared-backups'],
  ['a cluster', { cluster: 'prod-a' }, (r) => inCluster(r, 'prod-a')],
  ['a requester', { requester: REQUESTERS[3] }, (r) => r.requestedBy === REQUESTERS[3]],
];

describe.each(lists)('the list of %s, 2,000 records', (_name, query, keep) => {
  it.each([50, 100, 23])(
    'in pages of %i: every record once, in id order, full pages, only Query and BatchGet',
    async (limit) => {
      const w = await walk((nextToken) => store.records.list({ ...query, limit, nextToken }));
      const want = expected(keep);
      expect(want.length).toBeGreaterThan(300);
      expect(w.ids).toEqual(want);
      // every page but the last is full; the last holds the rest, and no empty page trails it
      expect(w.sizes.slice(0, -1).every((s) => s === limit)).toBe(true);
      expect(w.sizes.length).toBe(Math.ceil(want.length / limit));
      // one Query and one BatchGetItem a page, nothing else
      for (const calls of w.calls) expect(calls).toEqual(['Query', 'BatchGetItem']);
    },
  );
});

describe('scoped by the guardrails (examples/guardrails.yaml, the DBA portal sees 1 record in 25)', () => {
  const guardrails = loadGuardrails(path.resolve(__dirname, '../../../examples/guardrails.yaml'));

  it.each<[string, Omit<ListQuery, 'limit'>, number, (r: OnboardingRecord) => boolean]>([
    ['all', {}, 50, () => true],
    ['all', {}, 1, () => true],
    ['a bucket', { bucket: 'demo-backups' }, 10, (r) => r.request.bucket.name === 'demo-backups'],
    ['a requester', { requester: REQUESTERS[0] }, 3, (r) => r.requestedBy === REQUESTERS[0]],
    ['a cluster', { cluster: 'demo' }, 100, (r) => inCluster(r, 'demo')],
  ])('%s %j, limit %i: the records it covers, once each, in bounded pages that end', async (_n, query, limit, keep) => {
    const w = await walk((nextToken) => listOnboardings({ store, guardrails }, DBA, { ...query, limit, nextToken }));
    const want = expected((r) => dbaCovers(r) && keep(r));
    expect(want.length).toBeGreaterThanOrEqual(15);
    expect(w.ids).toEqual(want);
    expect(w.sizes.every((s) => s <= limit)).toBe(true);
    // a page reads at most LIST_ROUNDS rounds of one Query and one BatchGet: short pages, never an endless list
    for (const calls of w.calls) {
      expect(calls.length).toBeLessThanOrEqual(2 * LIST_ROUNDS);
      expect(new Set(calls)).toEqual(new Set(['Query', 'BatchGetItem']));
    }
  });

  it('a caller no rule covers walks the 2,000 entries in a few empty pages, and sees nothing', async () => {
    const w = await walk((nextToken) =>
      listOnboardings(
        { store, guardrails },
        { principal: 'arn:aws:iam::100000000001:role/intruder' },
        {
          limit: 1,
          nextToken,
        },
      ),
    );
    expect(w.ids).toEqual([]);
    // limit 1: rounds of 1, 2, 4 … up to 100 entries, LIST_ROUNDS rounds a page
    expect(w.sizes.length).toBeGreaterThan(1);
    expect(w.sizes.length).toBeLessThanOrEqual(Math.ceil(N / 100));
    for (const calls of w.calls) expect(calls.length).toBeLessThanOrEqual(2 * LIST_ROUNDS);
  });
});

it('keys a BatchGet leaves unprocessed are asked again, and after 5 attempts the page fails with a TransientError', async () => {
  const table = store.table;
  const send = store.doc.send.bind(store.doc) as (c: unknown) => Promise<Record<string, any>>;
  let batchGets = 0;
  // the first BatchGet answers half its keys and leaves the rest unprocessed, as DynamoDB does under load
  const spy = jest.spyOn(store.doc, 'send').mockImplementation((async (cmd: unknown) => {
    if (!(cmd instanceof BatchGetCommand)) return send(cmd);
    const { Keys, ...rest } = cmd.input.RequestItems![table];
    if (batchGets++) return send(cmd);
    const half = Keys!.slice(0, Math.ceil(Keys!.length / 2));
    const out = await send(new BatchGetCommand({ RequestItems: { [table]: { ...rest, Keys: half } } }));
    return { ...out, UnprocessedKeys: { [table]: { ...rest, Keys: Keys!.slice(half.length) } } };
  }) as never);
  try {
    const page = await store.records.list({ limit: 100 });
    expect(page.items.map((r) => r.id)).toEqual(expected(() => true).slice(0, 100));
    expect(batchGets).toBe(2);
    // DynamoDB never gets to them: no record is left out silently
    batchGets = 0;
    spy.mockImplementation((async (cmd: unknown) => {
      if (!(cmd instanceof BatchGetCommand)) return send(cmd);
      batchGets++;
      return { Responses: { [table]: [] }, UnprocessedKeys: cmd.input.RequestItems };
    }) as never);
    await expect(store.records.list({ limit: 10 })).rejects.toBeInstanceOf(TransientError);
    expect(batchGets).toBe(5);
  } finally {
    spy.mockRestore();
  }
});

it('a record whose cluster changes moves from one cluster list to the other; a deleted one leaves them all', async () => {
  const ids = async (query: Omit<ListQuery, 'limit'>) =>
    (await walk((nextToken) => store.records.list({ ...query, limit: 100, nextToken }))).ids;
  const r = records.find(
    (x) =>
      x.request.workload.type === 'eks' &&
      x.request.workload.clusters.length === 1 &&
      x.request.workload.clusters[0].name === 'prod-b',
  )!;
  expect(await ids({ cluster: 'prod-b' })).toContain(r.id);
  const w = r.request.workload as Extract<OnboardingRecord['request']['workload'], { type: 'eks' }>;
  const moved = await store.records.save(
    { ...r, request: { ...r.request, workload: { ...w, clusters: [{ ...w.clusters[0], name: 'prod-a' }] } } },
    r.version,
    r,
  );
  expect(await ids({ cluster: 'prod-b' })).not.toContain(r.id);
  expect(await ids({ cluster: 'prod-a' })).toContain(r.id);
  expect(await ids({})).toContain(r.id);
  await store.records.save({ ...moved, status: 'deleted' }, moved.version, moved);
  for (const q of [{ cluster: 'prod-a' }, { bucket: r.request.bucket.name }, { requester: r.requestedBy }, {}])
    expect(await ids(q)).not.toContain(r.id);
});
