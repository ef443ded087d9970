import { randomUUID } from 'node:crypto';
import { DeleteCommand, GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';
import * as s3Api from '../aws/s3';
import { ConflictError, InternalError, NotAllowedError, QuotaExceededError, ServiceError, TransientError, ValidationError } from '../errors';
import { mergeStatements, ownStatements, policySize, sameJson } from '../policy/documents';
import type { PolicyDocument, Statement } from '../policy/types';
import type { Store } from '../store/store';

export const BUCKET_POLICY_MAX_BYTES = 20_480;

export interface BucketTarget {
  accountId: string;
  bucket: string;
  s3: S3Client;
}

/** Sets one onboarding's statements in a bucket policy (an empty list removes them). True when it wrote. */
export type BucketPolicyWriter = (target: BucketTarget, onboardingId: string, statements: Statement[]) => Promise<boolean>;

export function checkBucketPolicySize(bucket: string, doc: PolicyDocument): void {
  const size = policySize(doc);
  if (size > BUCKET_POLICY_MAX_BYTES) {
    throw new QuotaExceededError(`the policy of bucket ${bucket} would be ${size} bytes, over S3's 20 KB limit`, { bucketPolicySize: size, quota: BUCKET_POLICY_MAX_BYTES });
  }
}

/** Writes the policy, or deletes it when no statement is left. */
async function writePolicy(t: BucketTarget, doc: PolicyDocument): Promise<void> {
  if (doc.Statement.length) await s3Api.putBucketPolicy(t.s3, t.bucket, t.accountId, doc);
  else await s3Api.deleteBucketPolicy(t.s3, t.bucket, t.accountId);
}

/** Read, merge, write: correct only when nothing else writes the bucket policy at the same time. */
export const directBucketPolicyWriter: BucketPolicyWriter = async (t, id, statements) => {
  const current = await s3Api.getBucketPolicy(t.s3, t.bucket, t.accountId);
  if (sameJson(ownStatements(current, id), statements)) return false;
  const merged = mergeStatements(current, id, statements);
  checkBucketPolicySize(t.bucket, merged);
  await writePolicy(t, merged);
  return true;
};

interface Pending {
  pk: string;
  sk: string;
  onboardingId: string;
  statements: Statement[];
  createdAt: number;
  outcome?: 'written' | 'unchanged' | 'failed';
  error?: { name: string; message: string; details?: Record<string, unknown> };
}

/**
 * Group commit for bucket policies. S3 has no conditional write, so every change to one bucket's policy must be
 * serialised; making 50 concurrent callers take turns would cost 50 read-write round trips. Instead each caller
 * queues its change in DynamoDB and tries to take the bucket's lease: the holder reads the policy once, applies
 * every queued change in arrival order, writes once, and marks each change done (or failed, e.g. over 20 KB).
 * Callers that did not get the lease wait for their change to be marked, or take the lease when it frees up.
 */
export function queuedBucketPolicyWriter(store: Store, opts: { waitMs?: number; leaseMs?: number; pollMs?: number } = {}): BucketPolicyWriter {
  const waitMs = opts.waitMs ?? 12_000;
  const leaseMs = opts.leaseMs ?? 15_000;
  const pollMs = opts.pollMs ?? 25;
  return async (t, onboardingId, statements) => {
    const pk = `BPQ#${t.accountId}#${t.bucket}`;
    const item: Pending = { pk, sk: `${Date.now().toString().padStart(15, '0')}#${randomUUID()}`, onboardingId, statements, createdAt: Date.now() };
    await store.doc.send(new PutCommand({ TableName: store.table, Item: { ...item, type: 'bucket-policy-change', expiresAt: Math.floor(Date.now() / 1000) + 3600 } }));
    const lock = `bucket-policy#${t.accountId}#${t.bucket}`;
    const owner = randomUUID();
    const deadline = Date.now() + waitMs;
    try {
      for (;;) {
        const mine = await read(store, pk, item.sk);
        if (mine?.outcome) return await settle(store, mine);
        if (await store.tryLock(lock, owner, leaseMs)) {
          try {
            await commitQueue(store, t, pk, () => store.tryLock(lock, owner, leaseMs));
          } finally {
            await store.unlock(lock, owner);
          }
          continue; // our change was in the batch: read its outcome
        }
        if (Date.now() > deadline) throw new TransientError(`the policy of bucket ${t.bucket} is busy; retry`);
        await new Promise((r) => setTimeout(r, pollMs + Math.random() * pollMs));
      }
    } catch (e) {
      // a change whose caller was told it failed must not be applied by a later batch
      await withdraw(store, pk, item.sk);
      throw e;
    }
  };
}

/** Removes a queued change unless a leader already decided it. */
async function withdraw(store: Store, pk: string, sk: string): Promise<void> {
  await store.doc
    .send(new DeleteCommand({ TableName: store.table, Key: { pk, sk }, ConditionExpression: 'attribute_not_exists(outcome)' }))
    .catch((e: Error) => {
      if (e.name !== 'ConditionalCheckFailedException') throw e;
    });
}

async function read(store: Store, pk: string, sk: string): Promise<Pending | undefined> {
  const out = await store.doc.send(new GetCommand({ TableName: store.table, Key: { pk, sk }, ConsistentRead: true }));
  return out.Item as Pending | undefined;
}

async function settle(store: Store, p: Pending): Promise<boolean> {
  await store.doc.send(new DeleteCommand({ TableName: store.table, Key: { pk: p.pk, sk: p.sk } }));
  if (p.outcome === 'failed') {
    // the leader's error, as the class it was, so the caller answers what a direct write would have
    const e = p.error!;
    if (e.name === 'QuotaExceededError') throw new QuotaExceededError(e.message, e.details);
    if (e.name === 'ConflictError') throw new ConflictError(e.message);
    if (e.name === 'NotAllowedError') throw new NotAllowedError(e.message, 'aws-access-denied');
    if (e.name === 'ValidationError') throw new ValidationError(e.message);
    if (e.name === 'TransientError') throw new TransientError(e.message);
    throw new InternalError(e.message);
  }
  return p.outcome === 'written';
}

/** The lease holder's work: apply every queued change to one read of the policy, write once, record outcomes. */
async function commitQueue(store: Store, t: BucketTarget, pk: string, stillHolding: () => Promise<boolean>): Promise<void> {
  const out = await store.doc.send(
    new QueryCommand({ TableName: store.table, KeyConditionExpression: 'pk = :pk', FilterExpression: 'attribute_not_exists(outcome)', ExpressionAttributeValues: { ':pk': pk }, ConsistentRead: true }),
  );
  const queue = (out.Items ?? []) as Pending[];
  if (!queue.length) return;
  const current = await s3Api.getBucketPolicy(t.s3, t.bucket, t.accountId);
  let doc = current;
  const outcomes = new Map<string, Pick<Pending, 'outcome' | 'error'>>();
  for (const p of queue) {
    if (sameJson(ownStatements(doc, p.onboardingId), p.statements)) {
      outcomes.set(p.sk, { outcome: 'unchanged' });
      continue;
    }
    const next = mergeStatements(doc, p.onboardingId, p.statements);
    try {
      checkBucketPolicySize(t.bucket, next);
      doc = next;
      outcomes.set(p.sk, { outcome: 'written' });
    } catch (e) {
      const err = e as QuotaExceededError;
      outcomes.set(p.sk, { outcome: 'failed', error: { name: err.name, message: err.message, details: err.details } });
    }
  }
  const changed = [...outcomes.values()].some((o) => o.outcome === 'written');
  if (changed && doc) {
    try {
      // fence: renew the lease right before writing; a holder that stalled past it must not overwrite the next one
      if (!(await stillHolding())) throw new TransientError(`lost the lease on the policy of bucket ${t.bucket}; retry`);
      await writePolicy(t, doc);
    } catch (e) {
      const err = e instanceof ServiceError ? e : new TransientError((e as Error).message);
      for (const [sk, o] of outcomes) if (o.outcome === 'written') outcomes.set(sk, { outcome: 'failed', error: { name: err.name, message: err.message } });
    }
  }
  // mark each change; one its caller withdrew meanwhile stays withdrawn (the condition fails, and is ignored)
  await Promise.all(
    queue.map((p) =>
      store.doc
        .send(
          new PutCommand({
            TableName: store.table,
            Item: { ...p, ...outcomes.get(p.sk), type: 'bucket-policy-change', expiresAt: Math.floor(Date.now() / 1000) + 3600 },
            ConditionExpression: 'attribute_exists(pk)',
          }),
        )
        .catch((e: Error) => {
          if (e.name !== 'ConditionalCheckFailedException') throw e;
        }),
    ),
  );
}
