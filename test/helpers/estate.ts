import { createHash } from 'node:crypto';
import { BatchWriteCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { OnboardingRecord } from '../../lib/onboarding/model/records';
import { parseOnboardingRequest } from '../../lib/onboarding/request/request';
import { Store } from '../../lib/store/store';

/**
 * An estate of onboarding records for list tests: record i is on cluster CLUSTERS[i % 4] (every 7th on the next
 * one too), bucket BUCKETS[i % 3], requested by REQUESTERS[i % 5]; every 25th is one the DBA portal's rule of
 * examples/guardrails.yaml covers (pbm in a team-a- namespace of demo, under team-a/ of demo-backups).
 */

export const ESTATE_SIZE = 2_000;
const WORKLOADS = '200000000002';
const BACKUPS = '300000000003';
export const CLUSTERS = ['demo', 'restore', 'prod-a', 'prod-b'];
export const BUCKETS = ['demo-backups', 'shared-backups', 'archive-backups'];
export const REQUESTERS = [0, 1, 2, 3, 4].map((i) => `arn:aws:iam::100000000001:role/team-${i}-portal`);

/** Ids in no particular relation to i, so that id order is not the order of writing. */
const idOf = (i: number) => `ob-${createHash('sha256').update(`record-${i}`).digest('hex').slice(0, 12)}`;

/** Whether the DBA portal's rule covers the record. */
export const dbaCovers = (r: OnboardingRecord) => r.request.tool === 'pbm';

export const inCluster = (r: OnboardingRecord, name: string) =>
  r.request.workload.type === 'eks' && r.request.workload.clusters.some((c) => c.name === name);

export function recordOf(i: number): OnboardingRecord {
  const dba = i % 25 === 0;
  const clusters = [CLUSTERS[i % 4], ...(i % 7 === 0 ? [CLUSTERS[(i + 1) % 4]] : [])].map((name) => ({
    name,
    accountId: WORKLOADS,
    region: 'eu-west-1',
  }));
  const request = parseOnboardingRequest({
    workload: {
      type: 'eks',
      clusters: dba ? [{ ...clusters[0], name: 'demo' }] : clusters,
      namespace: dba ? `team-a-mongo-${i}` : `ns-${i}`,
      serviceAccounts: [dba ? 'pbm-agent' : 'worker'],
    },
    bucket: {
      name: dba ? 'demo-backups' : BUCKETS[i % 3],
      accountId: BACKUPS,
      region: 'eu-west-1',
      prefix: dba ? `team-a/mongo-${i}/` : `app-${i}/`,
    },
    tool: dba ? 'pbm' : 'generic',
  });
  const now = new Date(Date.UTC(2026, 11, 1)).toISOString();
  return {
    schema: 2,
    id: idOf(i),
    version: 0,
    status: 'provisioned',
    request,
    identityKey: `eks/${i}`,
    roleArn: `arn:aws:iam::${WORKLOADS}:role/s3-onboarding/s3ob-${i}`,
    live: {},
    createdAt: now,
    updatedAt: now,
    requestedBy: REQUESTERS[i % 5],
  };
}

/**
 * Writes `size` records (ESTATE_SIZE unless told) as the store writes them (a record and its index entries, the items `saveRecord`
 * would put, captured from it), 25 items to a BatchWriteItem, 8 at a time: a tenth of the calls of saving each
 * record. Then `deleted` more are saved and deleted through the store itself (in no list). Returns the live ones.
 */
export async function seedEstate(store: Store, size = ESTATE_SIZE, deleted = 20): Promise<OnboardingRecord[]> {
  const capture = new Store(store.table, store.client);
  const items: Record<string, unknown>[] = [];
  const spy = jest.spyOn(capture.doc, 'send').mockImplementation((async (cmd: PutCommand | BatchWriteCommand) => {
    if (cmd instanceof PutCommand) items.push(cmd.input.Item!);
    else for (const r of cmd.input.RequestItems![store.table]) items.push(r.PutRequest!.Item!);
    return {};
  }) as never);
  const records: OnboardingRecord[] = [];
  for (let i = 0; i < size; i++) records.push(await capture.records.save(recordOf(i), 0));
  spy.mockRestore();
  const batches: Record<string, unknown>[][] = [];
  for (let i = 0; i < items.length; i += 25) batches.push(items.slice(i, i + 25));
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      for (let batch = batches.shift(); batch; batch = batches.shift()) {
        let pending: typeof batch | undefined = batch.map((Item) => ({ PutRequest: { Item } }));
        while (pending?.length) {
          const out = await store.doc.send(new BatchWriteCommand({ RequestItems: { [store.table]: pending } }));
          pending = out.UnprocessedItems?.[store.table] as typeof pending;
        }
      }
    }),
  );
  await Promise.all(
    Array.from({ length: deleted }, async (_, j) => {
      const r = await store.records.save(recordOf(size + j), 0);
      await store.records.save({ ...r, status: 'deleted' }, r.version, r);
    }),
  );
  return records;
}
