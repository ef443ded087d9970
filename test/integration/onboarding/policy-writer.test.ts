import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { TransientError } from '../../../lib/errors';
import { queuedPolicyWriter, type PolicyTarget } from '../../../lib/onboarding/act/policy-writer';
import { PolicyReservations } from '../../../lib/onboarding/act/policy-reservations';
import { parseRawPolicy, renderRawPolicy, type RawPolicy } from '../../../lib/policy/resource-policy';
import type { Statement } from '../../../lib/policy/types';
import type { Store } from '../../../lib/store/store';
import { useTestStack } from '../../helpers/stack';

/**
 * The shared-policy writer against the local stack's DynamoDB (the store the API uses): an uncontended change is
 * read, edited and written under the policy's lease without queue items; concurrent changes queue and are merged;
 * a holder that stalled past its lease, and lost it, does not overwrite the next holder's write.
 */

let store: Store;
useTestStack(() => undefined);
beforeAll(async () => {
  const { serviceRuntime } = await import('../../../lib/runtime/service');
  store = serviceRuntime().store;
});

/** A resource policy in memory, counting reads and writes; `readDelayMs` makes a reader slow. */
function memoryTarget(key: string, opts: { readDelayMs?: number } = {}) {
  const state = { text: undefined as string | undefined, reads: 0, writes: 0 };
  const target: PolicyTarget = {
    key,
    describe: `bucket ${key}`,
    maxBytes: 20_480,
    read: async () => {
      state.reads++;
      const text = state.text;
      if (opts.readDelayMs) await new Promise((r) => setTimeout(r, opts.readDelayMs));
      return text === undefined ? undefined : parseRawPolicy(text);
    },
    write: async (p: RawPolicy) => {
      state.writes++;
      state.text = renderRawPolicy(p);
    },
  };
  return {
    target,
    state,
    sids: () => (state.text ? (JSON.parse(state.text) as { Statement: Statement[] }).Statement.map((s) => s.Sid) : []),
  };
}

const grant = (id: string): Statement => ({
  Sid: `S3Onboarding${id}`,
  Effect: 'Allow',
  Principal: { AWS: 'arn:aws:iam::200000000002:root' },
  Action: 's3:GetObject',
  Resource: `arn:aws:s3:::b/${id}/*`,
});
const change = (id: string) => ({ onboardingId: id, remove: [], add: [grant(id)] });

const queued = async (key: string) =>
  (
    await store.doc.send(
      new QueryCommand({
        TableName: store.table,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': `PQ#${key}` },
        ConsistentRead: true,
      }),
    )
  ).Items ?? [];

describe('Shared resource-policy writer', () => {
  it('applies an uncontended change with one read and one write, leaving no queue item; a repeat writes nothing', async () => {
    const writer = queuedPolicyWriter(store);
    const t = memoryTarget('pw-alone');
    expect(await writer(t.target, change('a1'))).toBe(true);
    expect(t.state).toMatchObject({ reads: 1, writes: 1 });
    expect(t.sids()).toEqual(['S3Onboardinga1']);
    expect(await writer(t.target, change('a1'))).toBe(false);
    expect(t.state.writes).toBe(1);
    expect(await queued('pw-alone')).toEqual([]);
  });

  it('merges 20 concurrent changes: every statement lands, in fewer writes than changes, and the queue empties', async () => {
    const writer = queuedPolicyWriter(store, { pollMs: 5 });
    const t = memoryTarget('pw-burst', { readDelayMs: 30 });
    const ids = Array.from({ length: 20 }, (_, i) => `c${String(i).padStart(2, '0')}`);
    const results = await Promise.all(ids.map((id) => writer(t.target, change(id))));
    expect(results).toEqual(ids.map(() => true));
    expect(t.sids().sort()).toEqual(ids.map((id) => `S3Onboarding${id}`));
    expect(t.state.writes).toBeLessThan(20);
    expect(await queued('pw-burst')).toEqual([]);
  });

  // the lease expires while the slow holder reads; another request takes it, writes and lets go; the slow one
  // must notice (a lease that was taken and let go meanwhile is not its own any more) and write nothing
  it.each([
    ['alone (the lease was free)', false],
    ['as the queue’s leader (the lease was held when it came)', true],
  ])(
    'a holder that stalls past its lease, %s, answers 503 and does not write over the next holder',
    async (_how, queuedFirst) => {
      const leaseMs = 100;
      const key = `pw-stall-${queuedFirst ? 'queue' : 'alone'}`;
      const slow = queuedPolicyWriter(store, { leaseMs, pollMs: 5 });
      const fast = queuedPolicyWriter(store, { leaseMs });
      const t = memoryTarget(key);
      // the same policy, read by a holder that stalls until the test lets it go on
      let readStarted!: () => void;
      const reading = new Promise<void>((r) => (readStarted = r));
      let releaseRead!: () => void;
      const released = new Promise<void>((r) => (releaseRead = r));
      const stalled: PolicyTarget = {
        ...t.target,
        read: async () => {
          const text = t.state.text;
          readStarted();
          await released;
          return text === undefined ? undefined : parseRawPolicy(text);
        },
      };
      if (queuedFirst) expect(await store.locks.acquire(`policy#${key}`, 'another-request', 10_000)).toBe(true);
      const first = slow(stalled, change('slow')).then(
        () => 'written',
        (e: unknown) => e,
      );
      if (queuedFirst) {
        for (let i = 0; i < 200 && (await queued(key)).length === 0; i++) await new Promise((r) => setTimeout(r, 10));
        expect(await queued(key)).toHaveLength(1);
        await store.locks.release(`policy#${key}`, 'another-request');
      }
      // the slow holder has the lease and is reading: let its lease lapse, then another request takes it and writes
      await reading;
      await new Promise((r) => setTimeout(r, 1.5 * leaseMs));
      expect(await fast(t.target, change('fast'))).toBe(true);
      releaseRead();
      const outcome = await first;
      expect(outcome).toBeInstanceOf(TransientError);
      expect((outcome as Error).message).toContain('lost the lease');
      expect(t.sids()).toEqual(['S3Onboardingfast']);
      expect(await queued(key)).toEqual([]);
    },
  );
});

describe('Policy leases reserved ahead of a change', () => {
  const lockHolder = async (key: string) =>
    (
      await store.doc.send(
        new QueryCommand({
          TableName: store.table,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': `LOCK#policy#${key}` },
          ConsistentRead: true,
        }),
      )
    ).Items?.[0]?.owner;

  it('reads the policy under its lease at once; the change is then one write, and settle() lets the lease go', async () => {
    const reservations = new PolicyReservations(store, 15_000);
    const t = memoryTarget('pr-alone');
    reservations.reserve(t.target);
    // the read comes before any change is known, under the lease
    for (let i = 0; i < 100 && t.state.reads === 0; i++) await new Promise((r) => setTimeout(r, 5));
    expect(t.state.reads).toBe(1);
    expect(await lockHolder('pr-alone')).toBeDefined();
    // another request's change meanwhile queues behind the lease
    const other = queuedPolicyWriter(store, { pollMs: 5 });
    const queuedMeanwhile = other(t.target, change('r2'));
    for (let i = 0; i < 100 && (await queued('pr-alone')).length === 0; i++) await new Promise((r) => setTimeout(r, 5));
    expect(await queued('pr-alone')).toHaveLength(1);
    // the holder's change goes in with the queued one: one read, one write for both
    const writer = reservations.writer(queuedPolicyWriter(store));
    expect(await writer(t.target, change('r1'))).toBe(true);
    expect(await queuedMeanwhile).toBe(true);
    expect(t.state).toMatchObject({ reads: 1, writes: 1 });
    expect(t.sids().sort()).toEqual(['S3Onboardingr1', 'S3Onboardingr2']);
    await reservations.settle();
    expect(await lockHolder('pr-alone')).toBeUndefined();
    expect(await queued('pr-alone')).toEqual([]);
  });

  it('keepOnly lets go at once of the reserved leases a plan does not write, and keeps the others', async () => {
    const reservations = new PolicyReservations(store, 15_000);
    const kept = memoryTarget('pr-kept');
    const dropped = memoryTarget('pr-dropped');
    reservations.reserve(kept.target);
    reservations.reserve(dropped.target);
    for (let i = 0; i < 100 && (kept.state.reads === 0 || dropped.state.reads === 0); i++)
      await new Promise((r) => setTimeout(r, 5));
    reservations.keepOnly(['pr-kept']);
    for (let i = 0; i < 100 && (await lockHolder('pr-dropped')) !== undefined; i++)
      await new Promise((r) => setTimeout(r, 5));
    expect(await lockHolder('pr-dropped')).toBeUndefined();
    expect(await lockHolder('pr-kept')).toBeDefined();
    await reservations.settle();
    expect(await lockHolder('pr-kept')).toBeUndefined();
  });

  it('a reservation never used is let go by settle(), without a write', async () => {
    const reservations = new PolicyReservations(store, 15_000);
    const t = memoryTarget('pr-unused');
    reservations.reserve(t.target);
    await reservations.settle();
    expect(t.state.writes).toBe(0);
    expect(await lockHolder('pr-unused')).toBeUndefined();
  });

  it('a lease another request holds is not reserved: the change goes through the writer (queued, after it)', async () => {
    expect(await store.locks.acquire('policy#pr-held', 'another-request', 10_000)).toBe(true);
    const reservations = new PolicyReservations(store, 15_000);
    const t = memoryTarget('pr-held');
    reservations.reserve(t.target);
    const writing = reservations.writer(queuedPolicyWriter(store, { pollMs: 5 }))(t.target, change('h1'));
    await new Promise((r) => setTimeout(r, 50));
    expect(t.state.reads).toBe(0);
    expect(await queued('pr-held')).toHaveLength(1);
    await store.locks.release('policy#pr-held', 'another-request');
    expect(await writing).toBe(true);
    expect(t.sids()).toEqual(['S3Onboardingh1']);
    await reservations.settle();
  });

  it('a reserved read that failed is not used: the lease is let go and the writer reads again', async () => {
    const reservations = new PolicyReservations(store, 15_000);
    const t = memoryTarget('pr-readfail');
    let failOnce = true;
    const flaky: PolicyTarget = {
      ...t.target,
      read: async () => {
        if (failOnce) {
          failOnce = false;
          throw new TransientError('S3 is throttling');
        }
        return t.target.read();
      },
    };
    reservations.reserve(flaky);
    expect(await reservations.writer(queuedPolicyWriter(store))(flaky, change('f1'))).toBe(true);
    expect(t.sids()).toEqual(['S3Onboardingf1']);
    await reservations.settle();
    expect(await lockHolder('pr-readfail')).toBeUndefined();
  });

  it('a change that cannot be applied (a foreign statement with its Sid) is refused, and the lease still goes', async () => {
    const reservations = new PolicyReservations(store, 15_000);
    const t = memoryTarget('pr-collide');
    t.state.text = JSON.stringify({
      Version: '2012-10-17',
      Statement: [{ ...grant('x1'), Resource: 'arn:aws:s3:::b/elsewhere/*' }],
    });
    reservations.reserve(t.target);
    await expect(reservations.writer(queuedPolicyWriter(store))(t.target, change('x1'))).rejects.toThrow(
      /did not write/,
    );
    expect(t.state.writes).toBe(0);
    await reservations.settle();
    expect(await lockHolder('pr-collide')).toBeUndefined();
  });
});

describe('Shared resource-policy writer: the access points delegation (issue 19)', () => {
  const delegation = grant('AccessPoints');
  const remove = (except: string[]) => ({
    onboardingId: 'ob-x',
    remove: [delegation],
    add: [],
    keepWhileAccessPoints: { except, managedBy: 's3-onboarding' },
  });

  it('removes the delegation only when, under the lease, no other access point of the service is left', async () => {
    const m = memoryTarget(`bucket:ap-${Date.now()}`);
    const inUse: { except: string[] }[] = [];
    let others = true;
    m.target.accessPointsInUse = async (keep) => {
      inUse.push({ except: keep.except });
      return others;
    };
    const writer = queuedPolicyWriter(store);
    await writer(m.target, { onboardingId: 'ob-y', remove: [], add: [delegation] });
    expect(await writer(m.target, remove(['s3ob-x']))).toBe(false);
    expect(m.sids()).toEqual(['S3OnboardingAccessPoints']);
    others = false;
    expect(await writer(m.target, remove(['s3ob-x']))).toBe(true);
    expect(m.sids()).toEqual([]);
    expect(inUse).toEqual([{ except: ['s3ob-x'] }, { except: ['s3ob-x'] }]);
  });

  it('decides each queued removal when its batch is committed, not when it was queued', async () => {
    const m = memoryTarget(`bucket:ap-q-${Date.now()}`, { readDelayMs: 150 });
    let others = true;
    m.target.accessPointsInUse = async () => others;
    const writer = queuedPolicyWriter(store, { pollMs: 5 });
    await writer(m.target, { onboardingId: 'ob-y', remove: [], add: [delegation] });
    // a slow holder (an addition of another statement) holds the lease while the removal queues behind it
    const holder = writer(m.target, change('Other'));
    await new Promise((r) => setTimeout(r, 30));
    const removal = writer(m.target, remove(['s3ob-x']));
    // queued while another access point was still there; that one goes before the batch is committed
    await new Promise((r) => setTimeout(r, 40));
    expect(await queued(m.target.key)).toHaveLength(1);
    others = false;
    await Promise.all([holder, removal]);
    expect(m.sids()).toEqual(['S3OnboardingOther']);
  });

  it('an addition the policy already holds takes no lease and writes nothing while the lease is free; while it is held, it waits its turn', async () => {
    const m = memoryTarget(`bucket:ap-p-${Date.now()}`);
    const writer = queuedPolicyWriter(store);
    await writer(m.target, { onboardingId: 'ob-y', remove: [], add: [delegation] });
    const writes = m.state.writes;
    expect(await writer(m.target, { onboardingId: 'ob-z', remove: [], add: [delegation], presentSuffices: true })).toBe(
      false,
    );
    expect(m.state.writes).toBe(writes);
    // held by someone else (a removal deciding): the addition goes through the lease, after it, and puts it back
    const lock = `policy#${m.target.key}`;
    expect(await store.locks.acquire(lock, 'someone', 500)).toBe(true);
    const adding = writer(m.target, { onboardingId: 'ob-z', remove: [], add: [delegation], presentSuffices: true });
    await new Promise((r) => setTimeout(r, 50));
    m.state.text = undefined; // the removal that held the lease wrote meanwhile
    await store.locks.release(lock, 'someone');
    expect(await adding).toBe(true);
    expect(m.sids()).toEqual(['S3OnboardingAccessPoints']);
  });
});
