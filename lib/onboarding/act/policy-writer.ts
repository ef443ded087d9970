import { randomUUID } from 'node:crypto';
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
import type { QueuedChange as Pending } from '../../store/policy-queue';
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

export interface QueueOptions {
  /** how long a caller waits for its change to be applied */
  waitMs?: number;
  leaseMs?: number;
  pollMs?: number;
}

export const policyLock = (target: PolicyTarget) => `policy#${target.key}`;

/** A holder's fence: one that stalled for half its lease renews it before writing (false: it lost it meanwhile). */
export const renewedIfStalled = (store: Store, lock: string, owner: string, taken: number, leaseMs: number) => () =>
  Date.now() - taken > leaseMs / 2 ? store.locks.renew(lock, owner, leaseMs) : Promise.resolve(true);
export const queueKey = (target: PolicyTarget) => `PQ#${target.key}`;

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
      const until = await store.locks.heldUntil(lock);
      if ((until === undefined || until < Date.now()) && !editStatements(await target.read(), change).changed)
        return false;
    }
    // uncontended (the lease is free): this change alone, without the queue's bookkeeping; changes queued
    // meanwhile wait for the lease and are committed by whoever takes it next
    const taken = Date.now();
    if (await store.locks.acquire(lock, owner, leaseMs)) {
      try {
        const [current, now] = await Promise.all([target.read(), underLease(target, change)]);
        const { policy, changed } = applyChange(target, current, now);
        if (changed && !(await renewedIfStalled(store, lock, owner, taken, leaseMs)()))
          throw new TransientError(`lost the lease on the policy of ${target.describe}; retry`);
        if (changed) await target.write(policy);
        return changed;
      } finally {
        await store.locks.release(lock, owner);
      }
    }
    const item: Pending = {
      pk,
      sk: `${Date.now().toString().padStart(15, '0')}#${randomUUID()}`,
      change: JSON.stringify(change),
    };
    await store.policyQueue.enqueue(item);
    const deadline = Date.now() + waitMs;
    try {
      for (;;) {
        const mine = await store.policyQueue.get(pk, item.sk);
        if (mine?.outcome) return await settle(store, mine);
        if (await store.locks.acquire(lock, owner, leaseMs)) {
          try {
            await commitQueue(store, target, pk, () => store.locks.renew(lock, owner, leaseMs));
          } finally {
            await store.locks.release(lock, owner);
          }
          continue; // our change was in the batch: read its outcome
        }
        if (Date.now() > deadline) throw new TransientError(`the policy of ${target.describe} is busy; retry`);
        await new Promise((r) => setTimeout(r, pollMs + Math.random() * pollMs));
      }
    } catch (e) {
      // a change whose caller was told it failed must not be applied by a later batch
      await store.policyQueue.withdraw(pk, item.sk);
      throw e;
    }
  };
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
  await store.policyQueue.remove(p);
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
export async function commitQueue(
  store: Store,
  target: PolicyTarget,
  pk: string,
  stillHolding: () => Promise<boolean>,
  own?: { policy: RawPolicy | undefined; change: StatementChange },
): Promise<boolean> {
  const queue = await store.policyQueue.undecided(pk);
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
  const marking = Promise.all(queue.map((p) => store.policyQueue.mark(p, outcomes.get(p.sk))));
  // a holder's own change stands on its write, not on the marks: a caller left unmarked times out, withdraws and
  // answers 503, and its retry finds what was written
  if (own) await marking.catch(() => undefined);
  else await marking;
  if (ownError) throw ownError;
  return ownChanged;
}
