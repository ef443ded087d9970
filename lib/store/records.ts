import { DeleteCommand, GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { ContentionError, ValidationError } from '../errors';
import type { OnboardingRecord } from '../onboarding/model/records';
import type { LockSet } from './locks';
import type { Store } from './store';

/**
 * Onboarding records (`ONB#<id>`/`RECORD`, versioned, the document as JSON text) and their index entries
 * (`ONB#<id>`/`IDX#<key>`, projected on `byKey`): the lists by cluster, bucket and requester, and of all records,
 * are Query pages on that index, never a Scan.
 */

const INDEX_NAME = 'byKey';
const ALL = 'ONBOARDINGS';
/** Query-and-BatchGet rounds one page of a list may take at most (list). */
export const LIST_ROUNDS = 10;

export interface ListQuery {
  cluster?: string;
  bucket?: string;
  requester?: string;
  limit: number;
  nextToken?: string;
  /** records the caller may see (the guardrails' scope); others are skipped as if absent */
  accept?: (r: OnboardingRecord) => boolean;
}

/** The index partitions a record belongs to, besides the whole list. */
function indexKeys(r: OnboardingRecord): string[] {
  const w = r.request.workload;
  const keys = new Set<string>([`BUCKET#${r.request.bucket.name}`, `REQUESTER#${r.requestedBy}`]);
  if (w.type === 'eks') for (const c of w.clusters) keys.add(`CLUSTER#${c.name}`);
  return [...keys];
}

/** The index entries a save adds and removes, going from `previous` to `next`. */
function indexChanges(
  previous: OnboardingRecord | undefined,
  next: OnboardingRecord,
): { add: string[]; remove: string[] } {
  const before = previous && previous.status !== 'deleted' ? indexKeys(previous) : [];
  const after = next.status !== 'deleted' ? indexKeys(next) : [];
  return { add: after.filter((k) => !before.includes(k)), remove: before.filter((k) => !after.includes(k)) };
}

export class RecordRepository {
  constructor(private readonly t: Store) {}

  async get(id: string): Promise<OnboardingRecord | undefined> {
    const out = await this.t.doc.send(
      new GetCommand({ TableName: this.t.table, Key: { pk: `ONB#${id}`, sk: 'RECORD' }, ConsistentRead: true }),
    );
    return typeof out.Item?.doc === 'string' ? (JSON.parse(out.Item.doc) as OnboardingRecord) : undefined;
  }

  /**
   * Writes a record if nobody changed it since `expectedVersion` was read (0: it must not exist yet), and keeps
   * its index entries in step: written when it first appears or its requester changes, removed once deleted.
   */
  async save(
    record: OnboardingRecord,
    expectedVersion: number,
    previous?: OnboardingRecord,
  ): Promise<OnboardingRecord> {
    const next: OnboardingRecord = {
      ...record,
      version: expectedVersion + 1,
      updatedAt: new Date(this.t.now()).toISOString(),
    };
    const put = new PutCommand({
      TableName: this.t.table,
      Item: this.recordItem(next),
      ConditionExpression: expectedVersion === 0 ? 'attribute_not_exists(pk)' : 'version = :v',
      ExpressionAttributeValues: expectedVersion === 0 ? undefined : { ':v': expectedVersion },
    });
    if (!(await this.t.conditionally(put)))
      throw new ContentionError(`onboarding ${record.id} was changed by another request; retry`);
    const { add, remove } = indexChanges(previous, next);
    await this.writeIndex(next.id, add, remove);
    return next;
  }

  /**
   * A request's last write and the release of its locks, side by side (one round trip instead of two). The save
   * keeps its version condition: a request that takes a lock before the save lands and reads the record before it
   * sees the version it replaces, so one of the two conditional writes fails (a retryable 409 or 503), and no write
   * is lost. Every branch settles before it answers.
   */
  async saveReleasing(
    record: OnboardingRecord,
    expectedVersion: number,
    previous: OnboardingRecord,
    locks: LockSet,
  ): Promise<OnboardingRecord> {
    const [saved, released] = await Promise.allSettled([this.save(record, expectedVersion, previous), locks.release()]);
    if (saved.status === 'rejected') throw saved.reason;
    if (released.status === 'rejected') throw released.reason;
    return saved.value;
  }

  private recordItem(next: OnboardingRecord): Record<string, unknown> {
    const live = next.status !== 'deleted';
    return {
      pk: `ONB#${next.id}`,
      sk: 'RECORD',
      type: 'onboarding',
      version: next.version,
      status: next.status,
      doc: JSON.stringify(next),
      // a deleted onboarding's tombstone answers a repeated DELETE for 30 days, then DynamoDB's TTL removes it
      ...(live ? { gsi1pk: ALL, gsi1sk: next.id } : { expiresAt: Math.floor(this.t.now() / 1000) + 30 * 24 * 3600 }),
    };
  }

  /** Deletes a record that never held anything (a refused first attempt), with its index entries. */
  async delete(record: OnboardingRecord): Promise<void> {
    // another request changed it meanwhile: it is theirs now, index entries included
    if (
      !(await this.t.conditionally(
        new DeleteCommand({
          TableName: this.t.table,
          Key: { pk: `ONB#${record.id}`, sk: 'RECORD' },
          ConditionExpression: 'version = :v',
          ExpressionAttributeValues: { ':v': record.version },
        }),
      ))
    )
      return;
    await this.writeIndex(record.id, [], indexKeys(record));
  }

  private async writeIndex(id: string, add: string[], remove: string[]): Promise<void> {
    await this.t.batchWrite([
      ...add.map((k) => ({
        PutRequest: { Item: { pk: `ONB#${id}`, sk: `IDX#${k}`, type: 'index', gsi1pk: k, gsi1sk: id } },
      })),
      ...remove.map((k) => ({ DeleteRequest: { Key: { pk: `ONB#${id}`, sk: `IDX#${k}` } } })),
    ]);
  }

  /**
   * Onboardings by cluster name, bucket name or requester (or all), live ones only, in pages ordered by id. A
   * round is one Query of index entries and one BatchGet of their records; the first reads just what the page
   * needs, the next ones (when the caller's scope, `accept`, or a stale entry thinned it out) read as many as the
   * share kept so far says are needed, up to 100. After LIST_ROUNDS rounds the page ends short, even empty, with
   * a token: a list the scope hides almost entirely costs a bounded number of calls per page, and a client that
   * follows the tokens still reaches the end, each page starting after the last entry the one before examined.
   */
  async list(q: ListQuery): Promise<{ items: OnboardingRecord[]; nextToken?: string }> {
    const partition = q.cluster
      ? `CLUSTER#${q.cluster}`
      : q.bucket
        ? `BUCKET#${q.bucket}`
        : q.requester
          ? `REQUESTER#${q.requester}`
          : ALL;
    let start = q.nextToken ? decodeNextToken(q.nextToken, partition) : undefined;
    const items: OnboardingRecord[] = [];
    let examined = 0;
    let kept = 0;
    for (let round = 0; round < LIST_ROUNDS && items.length < q.limit; round++) {
      const missing = q.limit - items.length;
      const want = Math.min(100, Math.max(missing, Math.ceil((missing * examined) / Math.max(kept, 1))));
      // one entry more than is read: whether the list goes on, so its last page comes without a token
      const out = await this.t.doc.send(
        new QueryCommand({
          TableName: this.t.table,
          IndexName: INDEX_NAME,
          KeyConditionExpression: 'gsi1pk = :p',
          ExpressionAttributeValues: { ':p': partition },
          ExclusiveStartKey: start,
          Limit: want + 1,
        }),
      );
      const entries = out.Items ?? [];
      const read = entries.slice(0, want);
      const records = (await this.t.getMany(read.map((e) => ({ pk: `ONB#${e.gsi1sk as string}`, sk: 'RECORD' }))))
        .map((i) => JSON.parse(i.doc as string) as OnboardingRecord)
        .filter((r) => r.status !== 'deleted')
        .filter((r) => !q.bucket || r.request.bucket.name === q.bucket)
        .filter((r) => !q.requester || r.requestedBy === q.requester)
        .filter(
          (r) =>
            !q.cluster ||
            (r.request.workload.type === 'eks' && r.request.workload.clusters.some((c) => c.name === q.cluster)),
        )
        .filter((r) => !q.accept || q.accept(r));
      const byId = new Map(records.map((r) => [r.id, r]));
      examined += read.length;
      kept += records.length;
      // entries in index order until the page is full: the next page starts after the last one taken
      let taken = 0;
      while (taken < read.length && items.length < q.limit) {
        const r = byId.get(read[taken++].gsi1sk as string);
        if (r) items.push(r);
      }
      if (entries.length === taken && !out.LastEvaluatedKey) {
        start = undefined;
        break;
      }
      const e = read[taken - 1];
      start = e ? { gsi1pk: e.gsi1pk, gsi1sk: e.gsi1sk, pk: e.pk, sk: e.sk } : out.LastEvaluatedKey;
    }
    return { items, nextToken: start ? Buffer.from(JSON.stringify(start)).toString('base64url') : undefined };
  }
}

/** A page token is the last index key read, for the same list: anything else is refused. */
function decodeNextToken(token: string, partition: string): Record<string, string> {
  try {
    const key = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as Record<string, unknown>;
    const keys = Object.keys(key).sort().join(',');
    // exactly the shape of an index entry of this list (the record of ALL, or a key's index item): empty or
    // foreign key strings would reach DynamoDB as a ValidationException, a 500
    const id = typeof key.gsi1sk === 'string' && /^ob-[0-9a-f]{12}$/.test(key.gsi1sk) ? key.gsi1sk : undefined;
    const sk = partition === ALL ? 'RECORD' : `IDX#${partition}`;
    if (keys === 'gsi1pk,gsi1sk,pk,sk' && key.gsi1pk === partition && id && key.pk === `ONB#${id}` && key.sk === sk)
      return key as Record<string, string>;
  } catch {
    /* fall through */
  }
  throw new ValidationError('invalid nextToken', [
    { path: 'nextToken', message: 'must be a token returned by a previous page of the same list' },
  ]);
}
