import { randomUUID } from 'node:crypto';
import type { RawPolicy } from '../../policy/resource-policy';
import type { Store } from '../../store/store';
import {
  commitQueue,
  policyLock,
  queueKey,
  renewedIfStalled,
  type PolicyTarget,
  type PolicyWriter,
} from './policy-writer';

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
      this.store.locks.acquire(policyLock(target), owner, this.leaseMs).then(
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
    await this.store.locks.release(policyLock(h.target), h.owner).catch(() => undefined);
  }
}
