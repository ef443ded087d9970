import { randomUUID } from 'node:crypto';
import { DeleteCommand, GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import {
  ConflictError,
  ContentionError,
  InternalError,
  NotAllowedError,
  QuotaExceededError,
  ServiceError,
  TransientError,
  ValidationError,
} from '../../errors';
import { policySize } from '../../iam-policy/grammar';
import { editStatements, renderRawPolicy, type RawPolicy } from '../../policy/resource-policy';
import type { Statement } from '../../policy/types';
import type { Store } from '../../store/store';
import { bucketPolicyCapacityAdvice, MODES_THAT_DO_NOT_GROW_THE_BUCKET_POLICY } from '../plan/capacity';

/**
 * Writes a grant's statements into a shared resource policy (a bucket policy or a key policy). Neither S3 nor
 * KMS has a conditional write, so every change to one policy is serialised; and making many concurrent callers
 * take turns would cost a read-write round trip each. So changes are grouped: a caller that finds the policy's
 * lease free applies its change alone (read, edit, write, under the lease); one that finds it held queues its
 * change and tries the lease; the holder reads the policy once, applies every queued change in arrival order
 * (refusing those that collide with a foreign statement or would pass the size limit), writes once, and marks
 * each change. The others wait for their mark, or take the lease when it frees up.
 */

export interface PolicyTarget {
  /** names the policy: `bucket:<account>/<name>` or `key:<arn>` */
  key: string;
  /** for messages: `bucket x` or `key arn:…` */
  describe: string;
  maxBytes: number;
  read(): Promise<RawPolicy | undefined>;
  /** writes the policy (a bucket policy left with no statement is deleted) */
  write(policy: RawPolicy): Promise<void>;
  /**
   * a bucket: whether an access point of the service (named `s3ob-…` and tagged `managed-by`) other than `except`
   * is on it (S3 Control, read under the lease)
   */
  accessPointsInUse?(keep: { except: string[]; managedBy: string }): Promise<boolean>;
}

interface StatementChange {
  onboardingId: string;
  /** what the grant wrote before, removed where found unchanged */
  remove: Statement[];
  add: Statement[];
  /**
   * the bucket's delegation to the service's access points: removed only if, read under the lease, no access point
   * of the service but `except` is left on the bucket (plan/access-points.ts says why this is safe)
   */
  keepWhileAccessPoints?: { except: string[]; managedBy: string };
  /**
   * an addition that only needs to be there after every change that was under way when it was asked for (the
   * access points' delegation, asked for once the access point exists): when the lease is free and a read after
   * that finds the statements there, nothing is written and no lease is taken. A removal that decided before then
   * held the lease until it wrote; one that decides after sees what the caller made (plan/access-points.ts)
   */
  presentSuffices?: boolean;
}

/** The change as it stands under the lease: a delegation an access point still needs is not removed. */
async function underLease(target: PolicyTarget, change: StatementChange): Promise<StatementChange> {
  const keep = change.keepWhileAccessPoints;
  if (!keep || !change.remove.length || !target.accessPointsInUse) return change;
  return (await target.accessPointsInUse(keep)) ? { ...change, remove: [] } : change;
}

/** Applies one change; true when the policy was written. */
export type PolicyWriter = (target: PolicyTarget, change: StatementChange) => Promise<boolean>;

/** One change applied to a policy in memory, or the reason it cannot be. */
function applyChange(
  target: PolicyTarget,
  current: RawPolicy | undefined,
  change: StatementChange,
): { policy: RawPolicy; changed: boolean } {
  const edit = editStatements(current, change);
  if (edit.collisions.length && change.add.length) {
    throw new ConflictError(
      `the policy of ${target.describe} holds a statement with Sid ${edit.collisions.map((s) => s.Sid).join(', ')} that this service did not write; it is never overwritten. Remove or rename that statement, then retry`,
    );
  }
  if (edit.changed && change.add.length) {
    const size = policySize(renderRawPolicy(edit.policy));
    if (size > target.maxBytes) {
      const bucket = target.describe.startsWith('bucket ');
      throw new QuotaExceededError(
        `the policy of ${target.describe} would be ${size} bytes, over its ${target.maxBytes}-byte limit${bucket ? bucketPolicyCapacityAdvice : ''}`,
        {
          policySize: size,
          quota: target.maxBytes,
          ...(bucket ? { modesThatDoNotGrowIt: [...MODES_THAT_DO_NOT_GROW_THE_BUCKET_POLICY] } : {}),
        },
      );
    }
  }
  return { policy: edit.policy, changed: edit.changed };
}

interface Pending {
  pk: string;
  sk: string;
  /** the change as JSON text: statements are stored verbatim, whatever keys they hold */
  change: string;
  outcome?: 'written' | 'unchanged' | 'failed';
  error?: { name: string; message: string; details?: Record<string, unknown> };
}

export interface QueueOptions {
  /** how long a caller waits for its change to be applied */
  waitMs?: number;
  leaseMs?: number;
  pollMs?: number;
}

const policyLock = (target: PolicyTarget) => `policy#${target.key}`;

/** A holder's fence: one that stalled for half its lease renews it before writing (false: it lost it meanwhile). */
const renewedIfStalled = (store: Store, lock: string, owner: string, taken: number, leaseMs: number) => () =>
  Date.now() - taken > leaseMs / 2 ? store.renewLock(lock, owner, leaseMs) : Promise.resolve(true);
const queueKey = (target: PolicyTarget) => `PQ#${target.key}`;

interface Held {
  target: PolicyTarget;
  owner: string;
  taken: number;
  /** the policy as read under the lease */
  read: Promise<{ policy: RawPolicy | undefined } | { error: unknown }>;
  used: boolean;
}

/**
 * Leases on the policies a request is about to change, taken while its reads are still out: each policy is read
 * under its lease right away, so when the plan is ready its change is one write (not lease, read, write). Only a
 * lease that is free at once is reserved; for any other policy, and for one whose read failed, the change goes
 * through the given writer as usual. The change is applied to that read, together with every change others
 * queued while the lease was held (their leader is the holder: one write for all).
 * `settle()` lets go of every lease, used or not; the request answers only once it has.
 */
export class PolicyReservations {
  private readonly held = new Map<string, Promise<Held | undefined>>();
  private readonly releases: Promise<unknown>[] = [];

  constructor(
    private readonly store: Store,
    private readonly leaseMs: number,
  ) {}

  reserve(target: PolicyTarget): void {
    if (this.held.has(target.key)) return;
    const owner = randomUUID();
    const taken = Date.now();
    this.held.set(
      target.key,
      this.store.tryLock(policyLock(target), owner, this.leaseMs).then(
        (free): Held | undefined =>
          free
            ? {
                target,
                owner,
                taken,
                read: target.read().then(
                  (policy) => ({ policy }),
                  (error: unknown) => ({ error }),
                ),
                used: false,
              }
            : undefined,
        // the store failed: the writer's usual path will say so, if the change is still wanted
        () => undefined,
      ),
    );
  }

  /** `writer`, with the reserved policies' changes applied to their reads */
  writer(writer: PolicyWriter): PolicyWriter {
    return async (target, change) => {
      const h = await this.held.get(target.key);
      if (!h || h.used) return writer(target, change);
      h.used = true;
      const read = await h.read;
      if ('error' in read) {
        await this.release(h);
        return writer(target, change);
      }
      try {
        // changes others queued while this lease was held go in the same write (renewed first by a holder that
        // stalled for half its lease)
        return await commitQueue(
          this.store,
          target,
          queueKey(target),
          renewedIfStalled(this.store, policyLock(target), h.owner, h.taken, this.leaseMs),
          { policy: read.policy, change },
        );
      } finally {
        // let go at once, but off this step's path: settle() waits for it
        this.releases.push(this.release(h));
      }
    };
  }

  /** Lets go (in the background; `settle()` waits for it) of every reserved lease but those of `keys`. */
  keepOnly(keys: string[]): void {
    for (const [key, held] of this.held) {
      if (keys.includes(key)) continue;
      this.held.delete(key);
      this.releases.push(held.then((h) => (h && !h.used ? this.release(h) : undefined)));
    }
  }

  /** Lets go of every lease; resolves once all are released (a failed release only leaves a lease to expire). */
  async settle(): Promise<void> {
    const held = await Promise.all(this.held.values());
    this.held.clear();
    for (const h of held) if (h && !h.used) this.releases.push(this.release(h));
    await Promise.all(this.releases.splice(0));
  }

  private async release(h: Held): Promise<void> {
    h.used = true;
    await h.read;
    await this.store.unlock(policyLock(h.target), h.owner).catch(() => undefined);
  }
}

/** Group commit over DynamoDB (see the module comment). */
export function queuedPolicyWriter(store: Store, opts: QueueOptions = {}): PolicyWriter {
  const waitMs = opts.waitMs ?? 12_000;
  const leaseMs = opts.leaseMs ?? 15_000;
  const pollMs = opts.pollMs ?? 20;
  return async (target, change) => {
    const lock = policyLock(target);
    const owner = randomUUID();
    const pk = queueKey(target);
    if (change.presentSuffices && !change.remove.length) {
      const held = await store.doc.send(
        new GetCommand({ TableName: store.table, Key: { pk: `LOCK#${lock}`, sk: 'LOCK' }, ConsistentRead: true }),
      );
      const until = (held.Item as { leaseUntil?: number } | undefined)?.leaseUntil;
      if ((until === undefined || until < Date.now()) && !editStatements(await target.read(), change).changed)
        return false;
    }
    // uncontended (the lease is free): this change alone, without the queue's bookkeeping; changes queued
    // meanwhile wait for the lease and are committed by whoever takes it next
    const taken = Date.now();
    if (await store.tryLock(lock, owner, leaseMs)) {
      try {
        const [current, now] = await Promise.all([target.read(), underLease(target, change)]);
        const { policy, changed } = applyChange(target, current, now);
        if (changed && !(await renewedIfStalled(store, lock, owner, taken, leaseMs)()))
          throw new TransientError(`lost the lease on the policy of ${target.describe}; retry`);
        if (changed) await target.write(policy);
        return changed;
      } finally {
        await store.unlock(lock, owner);
      }
    }
    const item: Pending = {
      pk,
      sk: `${Date.now().toString().padStart(15, '0')}#${randomUUID()}`,
      change: JSON.stringify(change),
    };
    await store.doc.send(
      new PutCommand({
        TableName: store.table,
        Item: { ...item, type: 'policy-change', expiresAt: Math.floor(Date.now() / 1000) + 3600 },
      }),
    );
    const deadline = Date.now() + waitMs;
    try {
      for (;;) {
        const mine = await read(store, pk, item.sk);
        if (mine?.outcome) return await settle(store, mine);
        if (await store.tryLock(lock, owner, leaseMs)) {
          try {
            await commitQueue(store, target, pk, () => store.renewLock(lock, owner, leaseMs));
          } finally {
            await store.unlock(lock, owner);
          }
          continue; // our change was in the batch: read its outcome
        }
        if (Date.now() > deadline) throw new TransientError(`the policy of ${target.describe} is busy; retry`);
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
  await store.conditionally(
    new DeleteCommand({
      TableName: store.table,
      Key: { pk, sk },
      ConditionExpression: 'attribute_not_exists(outcome)',
    }),
  );
}

async function read(store: Store, pk: string, sk: string): Promise<Pending | undefined> {
  const out = await store.doc.send(new GetCommand({ TableName: store.table, Key: { pk, sk }, ConsistentRead: true }));
  return out.Item as Pending | undefined;
}

/** The leader's error, as the class it was, so the caller answers what a direct write would have. */
function revive(e: NonNullable<Pending['error']>): ServiceError {
  switch (e.name) {
    case 'QuotaExceededError':
      return new QuotaExceededError(e.message, e.details);
    case 'ConflictError':
      return new ConflictError(e.message);
    case 'ContentionError':
      return new ContentionError(e.message);
    case 'NotAllowedError':
      return new NotAllowedError(e.message, 'aws-access-denied');
    case 'ValidationError':
      return new ValidationError(e.message);
    case 'TransientError':
      return new TransientError(e.message);
    default:
      return new InternalError(e.message);
  }
}

async function settle(store: Store, p: Pending): Promise<boolean> {
  await store.doc.send(new DeleteCommand({ TableName: store.table, Key: { pk: p.pk, sk: p.sk } }));
  if (p.outcome === 'failed') throw revive(p.error!);
  return p.outcome === 'written';
}

const errorRecord = (e: unknown): NonNullable<Pending['error']> => {
  const err = e instanceof ServiceError ? e : new TransientError((e as Error)?.message ?? String(e));
  return {
    name: err.name,
    message: err.message,
    ...(err instanceof QuotaExceededError ? { details: err.details } : {}),
  };
};

/**
 * The lease holder's work: every queued change applied to one read of the policy, one write, outcomes marked.
 * `own`: a holder with a change of its own and the policy it read under the lease (a reservation); that change
 * comes first, and its outcome is returned (its refusal thrown) once the queued ones are marked.
 */
async function commitQueue(
  store: Store,
  target: PolicyTarget,
  pk: string,
  stillHolding: () => Promise<boolean>,
  own?: { policy: RawPolicy | undefined; change: StatementChange },
): Promise<boolean> {
  const out = await store.doc.send(
    new QueryCommand({
      TableName: store.table,
      KeyConditionExpression: 'pk = :pk',
      FilterExpression: 'attribute_not_exists(outcome)',
      ExpressionAttributeValues: { ':pk': pk },
      ConsistentRead: true,
    }),
  );
  const queue = (out.Items ?? []) as Pending[];
  if (!queue.length && !own) return false;
  const outcomes = new Map<string, Pick<Pending, 'outcome' | 'error'>>();
  let policy: RawPolicy | undefined;
  let dirty = false;
  let ownChanged = false;
  let ownError: unknown;
  if (own) {
    policy = own.policy;
    try {
      const next = applyChange(target, policy, await underLease(target, own.change));
      policy = next.policy;
      dirty = ownChanged = next.changed;
    } catch (e) {
      ownError = e;
    }
  } else {
    try {
      policy = await target.read();
    } catch (e) {
      for (const p of queue) outcomes.set(p.sk, { outcome: 'failed', error: errorRecord(e) });
    }
  }
  if (!outcomes.size) {
    for (const p of queue) {
      try {
        const next = applyChange(target, policy, await underLease(target, JSON.parse(p.change) as StatementChange));
        if (next.changed) {
          policy = next.policy;
          dirty = true;
        }
        outcomes.set(p.sk, { outcome: next.changed ? 'written' : 'unchanged' });
      } catch (e) {
        outcomes.set(p.sk, { outcome: 'failed', error: errorRecord(e) });
      }
    }
  }
  if (dirty && policy) {
    try {
      // fence: a holder that stalled past its lease must not overwrite the next one
      if (!(await stillHolding()))
        throw new TransientError(`lost the lease on the policy of ${target.describe}; retry`);
      await target.write(policy);
    } catch (e) {
      for (const [sk, o] of outcomes)
        if (o.outcome === 'written') outcomes.set(sk, { outcome: 'failed', error: errorRecord(e) });
      if (ownChanged) ownError = e;
    }
  }
  // mark each change once: one its caller withdrew meanwhile stays withdrawn, and one a later holder already
  // marked (this holder stalled past its lease) keeps that mark (the condition fails, and is ignored)
  const marking = Promise.all(
    queue.map((p) =>
      store.conditionally(
        new PutCommand({
          TableName: store.table,
          Item: { ...p, ...outcomes.get(p.sk), type: 'policy-change', expiresAt: Math.floor(Date.now() / 1000) + 3600 },
          ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(outcome)',
        }),
      ),
    ),
  );
  // a holder's own change stands on its write, not on the marks: a caller left unmarked times out, withdraws and
  // answers 503, and its retry finds what was written
  if (own) await marking.catch(() => undefined);
  else await marking;
  if (ownError) throw ownError;
  return ownChanged;
}
