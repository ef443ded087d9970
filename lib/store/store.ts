import { ConditionalCheckFailedException, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  BatchWriteCommand,
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { ContentionError, TransientError, ValidationError } from '../errors';
import type { IdentityRecord, OnboardingRecord } from '../onboarding/model/records';
import { PolicyQueue } from './policy-queue';

/**
 * Records, identities, bindings, provider references, idempotency keys, locks and queued policy changes in one
 * DynamoDB table (pk/sk, one index `byKey` on gsi1pk/gsi1sk). Every write that depends on what was read is
 * conditional: a lost race becomes a ConflictError, never a silent overwrite. Documents are stored as JSON text,
 * so request data (tag keys such as `constructor`) never becomes a DynamoDB map key.
 *
 * Access patterns, none of them a Scan:
 * - an onboarding by id, an identity by key, a binding by key, a provider by ARN: GetItem (strongly consistent);
 * - the onboardings of a cluster, a bucket or a requester, or all of them: Query on `byKey`, then BatchGet, at
 *   most LIST_ROUNDS of each a page (listRecords);
 * - whether an OIDC provider is still used: its reference item (`PROV#<arn>`, the identities trusting it).
 */

const INDEX_NAME = 'byKey';
const ALL = 'ONBOARDINGS';
/** Query-and-BatchGet rounds one page of a list may take at most (listRecords). */
export const LIST_ROUNDS = 10;

const isConditionFailed = (e: unknown) =>
  e instanceof ConditionalCheckFailedException || (e as Error)?.name === 'ConditionalCheckFailedException';

/** The locks one request holds (`Store.lockSet`). */
export interface LockSet {
  /**
   * Takes the names not held yet (all of them again, in order, when one sorts before a name already held). True
   * when nothing was waited for nor let go: no other request held any of them meanwhile.
   */
  take(names: string[]): Promise<boolean>;
  /**
   * The fence before a write: true while every lock is still this holder's. A lock held for more than half its
   * lease is renewed first, on the condition that nobody took it meanwhile (false: someone did, so this holder
   * must stop instead of writing over what they did). Free while the request is quick: no call at all.
   */
  fence(): Promise<boolean>;
  release(): Promise<void>;
}

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

export class Store {
  readonly doc: DynamoDBDocumentClient;
  /** the changes waiting for a shared resource policy's lease */
  readonly policyQueue = new PolicyQueue(this);

  constructor(
    readonly table: string,
    readonly client: DynamoDBClient = new DynamoDBClient({}),
    private readonly now: () => number = Date.now,
    /** how long a lock holder keeps a lock without renewing it */
    private readonly lockLeaseMs = 30_000,
  ) {
    this.doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  }

  // ---------- onboarding records ----------
  async getRecord(id: string): Promise<OnboardingRecord | undefined> {
    const out = await this.doc.send(
      new GetCommand({ TableName: this.table, Key: { pk: `ONB#${id}`, sk: 'RECORD' }, ConsistentRead: true }),
    );
    return typeof out.Item?.doc === 'string' ? (JSON.parse(out.Item.doc) as OnboardingRecord) : undefined;
  }

  /**
   * Writes a record if nobody changed it since `expectedVersion` was read (0: it must not exist yet), and keeps
   * its index entries in step: written when it first appears or its requester changes, removed once deleted.
   */
  async saveRecord(
    record: OnboardingRecord,
    expectedVersion: number,
    previous?: OnboardingRecord,
  ): Promise<OnboardingRecord> {
    const next: OnboardingRecord = {
      ...record,
      version: expectedVersion + 1,
      updatedAt: new Date(this.now()).toISOString(),
    };
    const put = new PutCommand({
      TableName: this.table,
      Item: this.recordItem(next),
      ConditionExpression: expectedVersion === 0 ? 'attribute_not_exists(pk)' : 'version = :v',
      ExpressionAttributeValues: expectedVersion === 0 ? undefined : { ':v': expectedVersion },
    });
    if (!(await this.conditionally(put)))
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
  async saveRecordReleasing(
    record: OnboardingRecord,
    expectedVersion: number,
    previous: OnboardingRecord,
    locks: LockSet,
  ): Promise<OnboardingRecord> {
    const [saved, released] = await Promise.allSettled([
      this.saveRecord(record, expectedVersion, previous),
      locks.release(),
    ]);
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
      ...(live ? { gsi1pk: ALL, gsi1sk: next.id } : { expiresAt: Math.floor(this.now() / 1000) + 30 * 24 * 3600 }),
    };
  }

  /** Deletes a record that never held anything (a refused first attempt), with its index entries. */
  async deleteRecord(record: OnboardingRecord): Promise<void> {
    // another request changed it meanwhile: it is theirs now, index entries included
    if (
      !(await this.conditionally(
        new DeleteCommand({
          TableName: this.table,
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
    await this.batchWrite([
      ...add.map((k) => ({
        PutRequest: { Item: { pk: `ONB#${id}`, sk: `IDX#${k}`, type: 'index', gsi1pk: k, gsi1sk: id } },
      })),
      ...remove.map((k) => ({ DeleteRequest: { Key: { pk: `ONB#${id}`, sk: `IDX#${k}` } } })),
    ]);
  }

  /** Unconditional puts and deletes, 25 to a BatchWriteItem; what DynamoDB leaves unprocessed is sent again. */
  private async batchWrite(requests: Record<string, unknown>[]): Promise<void> {
    for (let i = 0; i < requests.length; i += 25) {
      let batch: Record<string, unknown>[] | undefined = requests.slice(i, i + 25);
      for (let attempt = 0; batch?.length; attempt++) {
        if (attempt === 5) throw new TransientError('DynamoDB left writes unprocessed after 5 attempts; retry');
        if (attempt) await new Promise((r) => setTimeout(r, 20 * 2 ** attempt));
        const out = await this.doc.send(new BatchWriteCommand({ RequestItems: { [this.table]: batch as never } }));
        batch = out.UnprocessedItems?.[this.table] as Record<string, unknown>[] | undefined;
      }
    }
  }

  /** BatchGetItem, 100 keys to a call; what DynamoDB leaves unprocessed is asked again, never silently dropped. */
  private async getMany(keys: { pk: string; sk: string }[]): Promise<Record<string, unknown>[]> {
    const out: Record<string, unknown>[] = [];
    for (let i = 0; i < keys.length; i += 100) {
      let pending: { pk: string; sk: string }[] | undefined = keys.slice(i, i + 100);
      for (let attempt = 0; pending?.length; attempt++) {
        if (attempt === 5) throw new TransientError('DynamoDB left reads unprocessed after 5 attempts; retry');
        if (attempt) await new Promise((r) => setTimeout(r, 20 * 2 ** attempt));
        const res = await this.doc.send(
          new BatchGetCommand({ RequestItems: { [this.table]: { Keys: pending, ConsistentRead: true } } }),
        );
        out.push(...(res.Responses?.[this.table] ?? []));
        pending = res.UnprocessedKeys?.[this.table]?.Keys as { pk: string; sk: string }[] | undefined;
      }
    }
    return out;
  }

  /**
   * Onboardings by cluster name, bucket name or requester (or all), live ones only, in pages ordered by id. A
   * round is one Query of index entries and one BatchGet of their records; the first reads just what the page
   * needs, the next ones (when the caller's scope, `accept`, or a stale entry thinned it out) read as many as the
   * share kept so far says are needed, up to 100. After LIST_ROUNDS rounds the page ends short, even empty, with
   * a token: a list the scope hides almost entirely costs a bounded number of calls per page, and a client that
   * follows the tokens still reaches the end, each page starting after the last entry the one before examined.
   */
  async listRecords(q: ListQuery): Promise<{ items: OnboardingRecord[]; nextToken?: string }> {
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
      const out = await this.doc.send(
        new QueryCommand({
          TableName: this.table,
          IndexName: INDEX_NAME,
          KeyConditionExpression: 'gsi1pk = :p',
          ExpressionAttributeValues: { ':p': partition },
          ExclusiveStartKey: start,
          Limit: want + 1,
        }),
      );
      const entries = out.Items ?? [];
      const read = entries.slice(0, want);
      const records = (await this.getMany(read.map((e) => ({ pk: `ONB#${e.gsi1sk as string}`, sk: 'RECORD' }))))
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

  // ---------- workload identities ----------
  async getIdentity(key: string): Promise<IdentityRecord | undefined> {
    const out = await this.doc.send(
      new GetCommand({ TableName: this.table, Key: { pk: `IDENT#${key}`, sk: 'IDENTITY' }, ConsistentRead: true }),
    );
    return typeof out.Item?.doc === 'string' ? (JSON.parse(out.Item.doc) as IdentityRecord) : undefined;
  }

  async getIdentities(keys: string[]): Promise<Map<string, IdentityRecord>> {
    const items = await this.getMany([...new Set(keys)].map((k) => ({ pk: `IDENT#${k}`, sk: 'IDENTITY' })));
    return new Map(items.map((i) => JSON.parse(i.doc as string) as IdentityRecord).map((r) => [r.key, r]));
  }

  async saveIdentity(record: IdentityRecord, expectedVersion: number): Promise<IdentityRecord> {
    const next: IdentityRecord = {
      ...record,
      version: expectedVersion + 1,
      updatedAt: new Date(this.now()).toISOString(),
    };
    const put = new PutCommand({
      TableName: this.table,
      Item: {
        pk: `IDENT#${next.key}`,
        sk: 'IDENTITY',
        type: 'identity',
        version: next.version,
        doc: JSON.stringify(next),
      },
      ConditionExpression: expectedVersion === 0 ? 'attribute_not_exists(pk)' : 'version = :v',
      ExpressionAttributeValues: expectedVersion === 0 ? undefined : { ':v': expectedVersion },
    });
    if (!(await this.conditionally(put)))
      throw new ContentionError(`workload identity ${record.key} was changed by another request; retry`);
    return next;
  }

  async deleteIdentity(record: IdentityRecord): Promise<void> {
    const del = new DeleteCommand({
      TableName: this.table,
      Key: { pk: `IDENT#${record.key}`, sk: 'IDENTITY' },
      ConditionExpression: 'version = :v',
      ExpressionAttributeValues: { ':v': record.version },
    });
    if (!(await this.conditionally(del)))
      throw new ContentionError(`workload identity ${record.key} was changed by another request; retry`);
  }

  // ---------- bindings: which identity a service account (or instance role) is bound to ----------
  async getBindings(bindings: string[]): Promise<Map<string, string>> {
    const items = await this.getMany(bindings.map((b) => ({ pk: `BIND#${b}`, sk: 'BINDING' })));
    return new Map(items.map((i) => [(i.pk as string).slice(5), i.identityKey as string]));
  }

  /** Binds to `identityKey`, unless another identity holds it (`replacing`: take it over from that one only). */
  async claimBinding(binding: string, identityKey: string, replacing?: string): Promise<boolean> {
    return this.conditionally(
      new PutCommand({
        TableName: this.table,
        Item: { pk: `BIND#${binding}`, sk: 'BINDING', type: 'binding', identityKey },
        ConditionExpression: replacing
          ? 'identityKey = :old OR identityKey = :mine'
          : 'attribute_not_exists(pk) OR identityKey = :mine',
        ExpressionAttributeValues: replacing ? { ':old': replacing, ':mine': identityKey } : { ':mine': identityKey },
      }),
    );
  }

  async releaseBinding(binding: string, identityKey: string): Promise<void> {
    await this.conditionally(
      new DeleteCommand({
        TableName: this.table,
        Key: { pk: `BIND#${binding}`, sk: 'BINDING' },
        ConditionExpression: 'identityKey = :mine',
        ExpressionAttributeValues: { ':mine': identityKey },
      }),
    );
  }

  // ---------- IAM OIDC providers: which identities trust them ----------
  /** Adds a user; false while the provider is being deleted (the caller retries later). */
  async addProviderUser(arn: string, identityKey: string): Promise<boolean> {
    return this.conditionally(
      new UpdateCommand({
        TableName: this.table,
        Key: { pk: `PROV#${arn}`, sk: 'PROVIDER' },
        UpdateExpression: 'ADD #users :u SET #type = :t',
        ConditionExpression: 'attribute_not_exists(deletingSince) OR deletingSince < :stale',
        ExpressionAttributeNames: { '#users': 'users', '#type': 'type' },
        ExpressionAttributeValues: { ':u': new Set([identityKey]), ':t': 'provider', ':stale': this.now() - 60_000 },
      }),
    );
  }

  /** The identities (other than `except`) that trust the provider. */
  async providerUsers(arn: string, except?: string): Promise<string[]> {
    const out = await this.doc.send(
      new GetCommand({ TableName: this.table, Key: { pk: `PROV#${arn}`, sk: 'PROVIDER' }, ConsistentRead: true }),
    );
    return [...((out.Item?.users as Set<string> | undefined) ?? [])].filter((u) => u !== except);
  }

  async removeProviderUser(arn: string, identityKey: string): Promise<void> {
    await this.doc.send(
      new UpdateCommand({
        TableName: this.table,
        Key: { pk: `PROV#${arn}`, sk: 'PROVIDER' },
        UpdateExpression: 'DELETE #users :u',
        ExpressionAttributeNames: { '#users': 'users' },
        ExpressionAttributeValues: { ':u': new Set([identityKey]) },
      }),
    );
  }

  /** Marks the provider as being deleted, only while no identity uses it; adopters wait until it is gone. */
  async markProviderDeleting(arn: string): Promise<boolean> {
    return this.conditionally(
      new UpdateCommand({
        TableName: this.table,
        Key: { pk: `PROV#${arn}`, sk: 'PROVIDER' },
        UpdateExpression: 'SET deletingSince = :now, #type = :t',
        ConditionExpression: 'attribute_not_exists(#users) OR size(#users) = :zero',
        ExpressionAttributeNames: { '#users': 'users', '#type': 'type' },
        ExpressionAttributeValues: { ':now': this.now(), ':zero': 0, ':t': 'provider' },
      }),
    );
  }

  /** Gives up a deletion that did not happen: adopters may use the provider again at once. */
  async unmarkProviderDeleting(arn: string): Promise<void> {
    await this.doc.send(
      new UpdateCommand({
        TableName: this.table,
        Key: { pk: `PROV#${arn}`, sk: 'PROVIDER' },
        UpdateExpression: 'REMOVE deletingSince',
      }),
    );
  }

  async forgetProvider(arn: string): Promise<void> {
    await this.conditionally(
      new DeleteCommand({
        TableName: this.table,
        Key: { pk: `PROV#${arn}`, sk: 'PROVIDER' },
        ConditionExpression: 'attribute_not_exists(#users) OR size(#users) = :zero',
        ExpressionAttributeNames: { '#users': 'users' },
        ExpressionAttributeValues: { ':zero': 0 },
      }),
    );
  }

  /** Sends a conditional write: true when it was made, false when its condition did not hold. */
  async conditionally(command: PutCommand | UpdateCommand | DeleteCommand): Promise<boolean> {
    try {
      await this.doc.send(command as PutCommand);
      return true;
    } catch (e) {
      if (isConditionFailed(e)) return false;
      throw e;
    }
  }

  // ---------- locks ----------
  /** Takes a lease on `name`; an expired lease may be stolen. Returns false when someone else holds it. */
  async tryLock(name: string, owner: string, leaseMs: number): Promise<boolean> {
    const now = this.now();
    return this.conditionally(
      new PutCommand({
        TableName: this.table,
        Item: {
          pk: `LOCK#${name}`,
          sk: 'LOCK',
          type: 'lock',
          owner,
          leaseUntil: now + leaseMs,
          expiresAt: Math.floor((now + leaseMs) / 1000) + 3600,
        },
        ConditionExpression: 'attribute_not_exists(pk) OR leaseUntil < :now OR #owner = :owner',
        ExpressionAttributeNames: { '#owner': 'owner' },
        ExpressionAttributeValues: { ':now': now, ':owner': owner },
      }),
    );
  }

  /**
   * Extends a lease this owner still holds. False when another request took it meanwhile, even if it has already
   * let go (the lock item is gone or names another owner): a `tryLock` would succeed then, and hide that someone
   * else wrote in between.
   */
  async renewLock(name: string, owner: string, leaseMs: number): Promise<boolean> {
    const now = this.now();
    return this.conditionally(
      new UpdateCommand({
        TableName: this.table,
        Key: { pk: `LOCK#${name}`, sk: 'LOCK' },
        UpdateExpression: 'SET leaseUntil = :until, expiresAt = :exp',
        ConditionExpression: '#owner = :owner',
        ExpressionAttributeNames: { '#owner': 'owner' },
        ExpressionAttributeValues: {
          ':owner': owner,
          ':until': now + leaseMs,
          ':exp': Math.floor((now + leaseMs) / 1000) + 3600,
        },
      }),
    );
  }

  async unlock(name: string, owner: string): Promise<void> {
    await this.conditionally(
      new DeleteCommand({
        TableName: this.table,
        Key: { pk: `LOCK#${name}`, sk: 'LOCK' },
        ConditionExpression: '#owner = :owner',
        ExpressionAttributeNames: { '#owner': 'owner' },
        ExpressionAttributeValues: { ':owner': owner },
      }),
    );
  }

  /**
   * Locks taken by one request, released together. `take` takes each name in sorted order; a request that needs
   * more names later takes them only if they sort after every name it holds, or else lets go and takes them all
   * again in order, so two requests never wait on each other. Each name is waited for with jittered back-off up to
   * `waitMs`. The default wait leaves room, within the Lambda's 28 s, for the policy queues (12 s) and the AWS
   * calls themselves. A holder that dies loses its locks when the lease expires.
   */
  lockSet(opts: { leaseMs?: number; waitMs?: number } = {}): LockSet {
    const owner = `${process.pid}-${Math.random().toString(36).slice(2)}`;
    const leaseMs = opts.leaseMs ?? this.lockLeaseMs;
    const held: string[] = [];
    /** when each held lock was taken or last renewed */
    const since = new Map<string, number>();
    /** true when the lock was free at the first try */
    const takeOne = async (name: string): Promise<boolean> => {
      const deadline = this.now() + (opts.waitMs ?? 8_000);
      let delay = 5;
      let first = true;
      while (!(await this.tryLock(name, owner, leaseMs))) {
        first = false;
        if (this.now() > deadline) throw new ContentionError(`${name} is busy (locked by another request); retry`);
        await new Promise((r) => setTimeout(r, delay + Math.random() * delay));
        delay = Math.min(delay * 2, 200);
      }
      held.push(name);
      since.set(name, this.now());
      return first;
    };
    const fence = async (): Promise<boolean> => {
      const stale = held.filter((name) => this.now() - (since.get(name) ?? 0) > leaseMs / 2);
      const renewed = await Promise.all(
        stale.map(async (name) => {
          const at = this.now();
          const ok = await this.renewLock(name, owner, leaseMs);
          if (ok) since.set(name, at);
          return ok;
        }),
      );
      return renewed.every(Boolean);
    };
    const release = async () => {
      const names = held.splice(0);
      await Promise.all(names.map((name) => this.unlock(name, owner)));
    };
    return {
      take: async (names) => {
        const wanted = [...new Set(names)].filter((n) => !held.includes(n)).sort();
        if (!wanted.length) return true;
        let atOnce = true;
        if (held.some((h) => h > wanted[0])) {
          const all = [...new Set([...held, ...wanted])].sort();
          await release();
          for (const name of all) await takeOne(name);
          return false;
        }
        for (const name of wanted) atOnce = (await takeOne(name)) && atOnce;
        return atOnce;
      },
      fence,
      release,
    };
  }

  /** Runs `fn` holding every lock in `names`; released on success and on error. */
  async withLocks<T>(
    names: string[],
    fn: (locks: LockSet) => Promise<T>,
    opts: { leaseMs?: number; waitMs?: number } = {},
  ): Promise<T> {
    const locks = this.lockSet(opts);
    try {
      await locks.take(names);
      return await fn(locks);
    } finally {
      await locks.release();
    }
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
