import { DeleteCommand, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { ContentionError } from '../errors';
import type { Store } from './store';

/**
 * Leases (`LOCK#<name>`): an identity's, an OIDC provider's, a shared resource policy's. A holder that dies loses
 * its lock when the lease expires; a holder that stalls renews it before writing (the fence), or stops.
 */

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

export class LockRepository {
  constructor(
    private readonly t: Store,
    /** how long a lock holder keeps a lock without renewing it */
    private readonly leaseMs: number,
  ) {}

  /** Takes a lease on `name`; an expired lease may be stolen. Returns false when someone else holds it. */
  async acquire(name: string, owner: string, leaseMs: number): Promise<boolean> {
    const now = this.t.now();
    return this.t.conditionally(
      new PutCommand({
        TableName: this.t.table,
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
  async renew(name: string, owner: string, leaseMs: number): Promise<boolean> {
    const now = this.t.now();
    return this.t.conditionally(
      new UpdateCommand({
        TableName: this.t.table,
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

  /** Until when `name` is leased (ms since the epoch; undefined: nobody holds it). A strongly consistent read. */
  async heldUntil(name: string): Promise<number | undefined> {
    const out = await this.t.doc.send(
      new GetCommand({ TableName: this.t.table, Key: { pk: `LOCK#${name}`, sk: 'LOCK' }, ConsistentRead: true }),
    );
    return (out.Item as { leaseUntil?: number } | undefined)?.leaseUntil;
  }

  async release(name: string, owner: string): Promise<void> {
    await this.t.conditionally(
      new DeleteCommand({
        TableName: this.t.table,
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
  set(opts: { leaseMs?: number; waitMs?: number } = {}): LockSet {
    const owner = `${process.pid}-${Math.random().toString(36).slice(2)}`;
    const leaseMs = opts.leaseMs ?? this.leaseMs;
    const held: string[] = [];
    /** when each held lock was taken or last renewed */
    const since = new Map<string, number>();
    /** true when the lock was free at the first try */
    const takeOne = async (name: string): Promise<boolean> => {
      const deadline = this.t.now() + (opts.waitMs ?? 8_000);
      let delay = 5;
      let first = true;
      while (!(await this.acquire(name, owner, leaseMs))) {
        first = false;
        if (this.t.now() > deadline) throw new ContentionError(`${name} is busy (locked by another request); retry`);
        await new Promise((r) => setTimeout(r, delay + Math.random() * delay));
        delay = Math.min(delay * 2, 200);
      }
      held.push(name);
      since.set(name, this.t.now());
      return first;
    };
    const fence = async (): Promise<boolean> => {
      const stale = held.filter((name) => this.t.now() - (since.get(name) ?? 0) > leaseMs / 2);
      const renewed = await Promise.all(
        stale.map(async (name) => {
          const at = this.t.now();
          const ok = await this.renew(name, owner, leaseMs);
          if (ok) since.set(name, at);
          return ok;
        }),
      );
      return renewed.every(Boolean);
    };
    const release = async () => {
      const names = held.splice(0);
      await Promise.all(names.map((name) => this.release(name, owner)));
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
  async holding<T>(
    names: string[],
    fn: (locks: LockSet) => Promise<T>,
    opts: { leaseMs?: number; waitMs?: number } = {},
  ): Promise<T> {
    const locks = this.set(opts);
    try {
      await locks.take(names);
      return await fn(locks);
    } finally {
      await locks.release();
    }
  }
}
