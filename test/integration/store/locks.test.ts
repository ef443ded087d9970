import { ConflictError } from '../../../lib/errors';
import type { Store } from '../../../lib/store/store';
import { WORKLOADS } from '../../helpers/emulator';
import { useTestStack, type TestStack } from '../../helpers/stack';

/**
 * A request's last write and the release of its locks (Store.saveRecordReleasing): one unconditional batch while
 * the locks are fresh (less than half a lease old, so nobody else can hold them), the conditional save and then the
 * release otherwise.
 */

let store: Store;
let api: TestStack['api'];
useTestStack((t) => ({ api } = t), { resetEach: true });
beforeAll(async () => {
  const { serviceRuntime } = await import('../../../lib/runtime/service');
  store = serviceRuntime().store;
});

const body = (prefix: string, bucket = 'workload-local-backups') => ({
  workload: { type: 'eks', clusters: [{ name: 'demo', accountId: WORKLOADS, region: 'eu-west-1' }], namespace: 'locks', serviceAccounts: ['worker'] },
  bucket: { name: bucket, region: 'eu-west-1', prefix },
  tool: 'generic',
});

async function provisioned(prefix: string) {
  const res = await api.onboard(body(prefix));
  expect(res.status).toBe(201);
  return (await store.getRecord(res.body.id))!;
}

/** Whether another request could take the lock now. */
const free = async (name: string) => {
  const taken = await store.tryLock(name, 'another-request', 1_000);
  if (taken) await store.unlock(name, 'another-request');
  return taken;
};

describe('Store.saveRecordReleasing', () => {
  it('with fresh locks: the record is saved and every lock is gone, in one batch; release() afterwards has nothing left', async () => {
    const rec = await provisioned('fresh/');
    const locks = store.lockSet();
    await locks.take(['test#a', 'test#b']);
    expect(await free('test#a')).toBe(false);
    const saved = await store.saveRecordReleasing({ ...rec, requestedBy: rec.requestedBy }, rec.version, rec, locks);
    expect(saved.version).toBe(rec.version + 1);
    expect((await store.getRecord(rec.id))!.version).toBe(rec.version + 1);
    expect(await free('test#a')).toBe(true);
    expect(await free('test#b')).toBe(true);
    // a lock another request takes now is not the old holder's to release
    expect(await store.tryLock('test#a', 'next-holder', 5_000)).toBe(true);
    await locks.release();
    expect(await free('test#a')).toBe(false);
    await store.unlock('test#a', 'next-holder');
  });

  it('with locks older than half their lease: the version condition still holds (a conflict is a 409) and the locks are released', async () => {
    const rec = await provisioned('stale/');
    const locks = store.lockSet({ leaseMs: 80 });
    await locks.take(['test#stale']);
    await new Promise((r) => setTimeout(r, 50));
    // someone saved the record meanwhile: the save must see it
    await store.saveRecord({ ...rec }, rec.version, rec);
    await expect(store.saveRecordReleasing({ ...rec }, rec.version, rec, locks)).rejects.toBeInstanceOf(ConflictError);
    await locks.release();
    expect(await free('test#stale')).toBe(true);
  });

  it('when the record moves to other index entries (another bucket), they are written too', async () => {
    const rec = await provisioned('moved/');
    const locks = store.lockSet();
    await locks.take(['test#moved']);
    const moved = { ...rec, request: { ...rec.request, bucket: { ...rec.request.bucket, name: 'elsewhere' } } };
    await store.saveRecordReleasing(moved, rec.version, rec, locks);
    expect(await free('test#moved')).toBe(true);
    const byBucket = async (bucket: string) => (await store.listRecords({ bucket, limit: 10 })).items.map((i) => i.id);
    expect(await byBucket('elsewhere')).toEqual([rec.id]);
    expect(await byBucket('workload-local-backups')).toEqual([]);
  });
});
