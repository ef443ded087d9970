import { ConditionalCheckFailedException, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, DynamoDBDocumentClient, GetCommand, PutCommand, ScanCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { createHash } from 'node:crypto';
import { ConflictError, TransientError, ValidationError } from '../errors';
import type { OnboardingInput, OnboardingResult } from '../onboarding/model';

export type RecordStatus = 'provisioning' | 'provisioned' | 'failed' | 'deleting' | 'deleted';

/** What this service created for an onboarding, and so what DELETE may remove. */
export interface Owned {
  role?: { accountId: string; name: string; arn: string };
  oidcProviders: { accountId: string; arn: string }[];
  bucketStatements?: { accountId: string; bucket: string; region: string };
  keyStatements?: { accountId: string; keyArn: string };
  instanceGrant?: { accountId: string; roleName: string; policyName: string };
}

export interface OnboardingRecord {
  id: string;
  version: number;
  status: RecordStatus;
  request: OnboardingInput;
  result?: OnboardingResult;
  owned: Owned;
  stepsPlanned: string[];
  stepsDone: string[];
  lastError?: string;
  createdAt: string;
  updatedAt: string;
  requestedBy: string;
  tags: Record<string, string>;
  /** for list filters: cluster names and `account/region/name`, bucket name */
  clusterKeys: string[];
  bucketName: string;
}

const isConditionFailed = (e: unknown) => e instanceof ConditionalCheckFailedException || (e as Error)?.name === 'ConditionalCheckFailedException';

/** A page token is the last key read: only an onboarding record's key is accepted back. */
function decodeNextToken(token: string): Record<string, string> {
  try {
    const key = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as Record<string, unknown>;
    const keys = Object.keys(key).sort().join(',');
    if (keys === 'pk,sk' && typeof key.pk === 'string' && /^ONB#ob-[0-9a-f]{12}$/.test(key.pk) && key.sk === 'RECORD') return key as Record<string, string>;
  } catch {
    /* fall through */
  }
  throw new ValidationError('invalid nextToken', [{ path: 'nextToken', message: 'must be a token returned by a previous page' }]);
}

export const hashBody = (body: unknown): string => createHash('sha256').update(JSON.stringify(body ?? null)).digest('hex');

/**
 * Records, idempotency keys and locks in one DynamoDB table (pk/sk). Every write that depends on what was read
 * is conditional; a lost race becomes a ConflictError, never a silent overwrite.
 */
export class Store {
  readonly doc: DynamoDBDocumentClient;

  constructor(
    readonly table: string,
    client: DynamoDBClient = new DynamoDBClient({}),
    private readonly now: () => number = Date.now,
  ) {
    this.doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  }

  // ---------- onboarding records ----------
  async getRecord(id: string): Promise<OnboardingRecord | undefined> {
    const out = await this.doc.send(new GetCommand({ TableName: this.table, Key: { pk: `ONB#${id}`, sk: 'RECORD' }, ConsistentRead: true }));
    return out.Item?.record as OnboardingRecord | undefined;
  }

  /** Writes a record if nobody changed it since `expectedVersion` was read (0: it must not exist yet). */
  async saveRecord(record: OnboardingRecord, expectedVersion: number): Promise<OnboardingRecord> {
    const next = { ...record, version: expectedVersion + 1, updatedAt: new Date(this.now()).toISOString() };
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.table,
          Item: { pk: `ONB#${record.id}`, sk: 'RECORD', type: 'onboarding', version: next.version, clusterKeys: next.clusterKeys, bucketName: next.bucketName, status: next.status, record: next },
          ConditionExpression: expectedVersion === 0 ? 'attribute_not_exists(pk)' : 'version = :v',
          ExpressionAttributeValues: expectedVersion === 0 ? undefined : { ':v': expectedVersion },
        }),
      );
      return next;
    } catch (e) {
      if (isConditionFailed(e)) throw new ConflictError(`onboarding ${record.id} was changed by another request; retry`);
      throw e;
    }
  }

  async listRecords(q: { cluster?: string; bucket?: string; limit: number; nextToken?: string }): Promise<{ items: OnboardingRecord[]; nextToken?: string }> {
    const filters = ['#type = :onb', '#status <> :deleted'];
    const values: Record<string, unknown> = { ':onb': 'onboarding', ':deleted': 'deleted' };
    if (q.cluster) {
      filters.push('contains(clusterKeys, :cluster)');
      values[':cluster'] = q.cluster;
    }
    if (q.bucket) {
      filters.push('bucketName = :bucket');
      values[':bucket'] = q.bucket;
    }
    const items: OnboardingRecord[] = [];
    let start = q.nextToken ? decodeNextToken(q.nextToken) : undefined;
    // each scan reads at most what is still missing, so no filtered item is ever skipped between pages
    do {
      const out = await this.doc.send(
        new ScanCommand({
          TableName: this.table,
          FilterExpression: filters.join(' AND '),
          ExpressionAttributeNames: { '#type': 'type', '#status': 'status' },
          ExpressionAttributeValues: values,
          ExclusiveStartKey: start,
          Limit: q.limit - items.length,
        }),
      );
      for (const it of out.Items ?? []) items.push(it.record as OnboardingRecord);
      start = out.LastEvaluatedKey;
    } while (start && items.length < q.limit);
    return { items, nextToken: start ? Buffer.from(JSON.stringify(start)).toString('base64url') : undefined };
  }

  // ---------- idempotency keys ----------
  /**
   * Claims an idempotency key for a body. Returns the stored response when the same key and body already
   * completed; throws a ConflictError when the key was used with another body or is still in flight.
   */
  async claimIdempotencyKey(scope: string, key: string, bodyHash: string, ttlSeconds = 24 * 3600): Promise<{ statusCode: number; body: unknown } | undefined> {
    const pk = `IDEM#${scope}#${key}`;
    const now = this.now();
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.table,
          Item: { pk, sk: 'IDEM', type: 'idempotency', bodyHash, state: 'in-flight', createdAt: now, expiresAt: Math.floor(now / 1000) + ttlSeconds },
          ConditionExpression: 'attribute_not_exists(pk) OR expiresAt < :nowSeconds',
          ExpressionAttributeValues: { ':nowSeconds': Math.floor(now / 1000) },
        }),
      );
      return undefined;
    } catch (e) {
      if (!isConditionFailed(e)) throw e;
    }
    const out = await this.doc.send(new GetCommand({ TableName: this.table, Key: { pk, sk: 'IDEM' }, ConsistentRead: true }));
    const item = out.Item;
    if (!item) throw new TransientError('idempotency key vanished while reading it; retry');
    if (item.bodyHash !== bodyHash) throw new ConflictError(`Idempotency-Key ${key} was already used with a different request body`);
    if (item.state !== 'done') throw new ConflictError(`a request with Idempotency-Key ${key} is still in progress; retry later`);
    return item.response as { statusCode: number; body: unknown };
  }

  async completeIdempotencyKey(scope: string, key: string, response: { statusCode: number; body: unknown }): Promise<void> {
    await this.doc.send(
      new UpdateCommand({
        TableName: this.table,
        Key: { pk: `IDEM#${scope}#${key}`, sk: 'IDEM' },
        UpdateExpression: 'SET #state = :done, #response = :r',
        ExpressionAttributeNames: { '#state': 'state', '#response': 'response' },
        ExpressionAttributeValues: { ':done': 'done', ':r': response },
      }),
    );
  }

  /** A failed request frees its key, so a retry with the same key runs again. */
  async releaseIdempotencyKey(scope: string, key: string): Promise<void> {
    await this.doc.send(new DeleteCommand({ TableName: this.table, Key: { pk: `IDEM#${scope}#${key}`, sk: 'IDEM' }, ConditionExpression: '#state = :inflight', ExpressionAttributeNames: { '#state': 'state' }, ExpressionAttributeValues: { ':inflight': 'in-flight' } })).catch((e) => {
      if (!isConditionFailed(e)) throw e;
    });
  }

  // ---------- locks ----------
  /** Takes a lease on `name`; an expired lease may be stolen. Returns false when someone else holds it. */
  async tryLock(name: string, owner: string, leaseMs: number): Promise<boolean> {
    const now = this.now();
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.table,
          Item: { pk: `LOCK#${name}`, sk: 'LOCK', type: 'lock', owner, leaseUntil: now + leaseMs, expiresAt: Math.floor((now + leaseMs) / 1000) + 3600 },
          ConditionExpression: 'attribute_not_exists(pk) OR leaseUntil < :now OR #owner = :owner',
          ExpressionAttributeNames: { '#owner': 'owner' },
          ExpressionAttributeValues: { ':now': now, ':owner': owner },
        }),
      );
      return true;
    } catch (e) {
      if (isConditionFailed(e)) return false;
      throw e;
    }
  }

  async unlock(name: string, owner: string): Promise<void> {
    await this.doc
      .send(new DeleteCommand({ TableName: this.table, Key: { pk: `LOCK#${name}`, sk: 'LOCK' }, ConditionExpression: '#owner = :owner', ExpressionAttributeNames: { '#owner': 'owner' }, ExpressionAttributeValues: { ':owner': owner } }))
      .catch((e) => {
        if (!isConditionFailed(e)) throw e;
      });
  }

  /**
   * Runs `fn` holding the lock `name`, waiting (with jittered back-off) up to `waitMs` for it. The default wait
   * leaves room, within the Lambda's 28 s, for the bucket-policy queue (12 s) and the AWS calls themselves.
   * The lock is released on success and on error; a holder that dies loses it when the lease expires.
   */
  async withLock<T>(name: string, fn: () => Promise<T>, opts: { leaseMs?: number; waitMs?: number; owner?: string } = {}): Promise<T> {
    const owner = opts.owner ?? `${process.pid}-${Math.random().toString(36).slice(2)}`;
    const leaseMs = opts.leaseMs ?? 30_000;
    const deadline = this.now() + (opts.waitMs ?? 8_000);
    let delay = 10;
    while (!(await this.tryLock(name, owner, leaseMs))) {
      if (this.now() > deadline) throw new ConflictError(`${name} is busy (locked by another request); retry`);
      await new Promise((r) => setTimeout(r, delay + Math.random() * delay));
      delay = Math.min(delay * 2, 200);
    }
    try {
      return await fn();
    } finally {
      await this.unlock(name, owner);
    }
  }
}
