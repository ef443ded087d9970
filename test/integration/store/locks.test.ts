import { ConflictError } from '../../../lib/errors';
import type { Store } from '../../../lib/store/store';
import { WORKLOADS } from '../../helpers/emulator';
import { useTestStack, type TestStack } from '../../helpers/stack';

/**
 * A request's last write and the release of its locks (Store.saveRecordReleasing): sent side by side, the save
 * still conditional on the version it replaces, every branch settled before it answers.
 */

let store: Store;
let api: TestStack['api'];
useTestStack((t) => ({ api } = t), { resetEach: true });
beforeAll(async () => {
  const { serviceRuntime } = await import('../../../lib/runtime/service');
  store = serviceRuntime().store;
});

const body = (prefix: string) => ({
  workload: {
    type: 'eks',
    clusters: [{ name: 'demo', accountId: WORKLOADS, region: 'eu-west-1' }],
    namespace: 'locks',
    serviceAccounts: ['worker'],
  },
  bucket: { name: 'workload-local-backups', region: 'eu-west-1', prefix },
  tool: 'generic',
});

async function provisioned(prefix: string) {
  const res = await api.onboard(body(prefix));
  expect(res.status).toBe(201);
  return (await store.records.get(res.body.id))!;
}

/** Whether another request could take the lock now. */
const free = async (name: string) => {
  const taken = await store.locks.acquire(name, 'another-request', 1_000);
  if (taken) await store.locks.release(name, 'another-request');
  return taken;
};

/** Logs `>Put`/`<Put`, `>Delete`/`<Delete`… for each command the store sends while `fn` runs. */
async function commandLog<T>(fn: () => Promise<T>): Promise<{ out: T; log: string[] }> {
  const log: string[] = [];
  const send = store.doc.send.bind(store.doc);
  const spy = jest.spyOn(store.doc, 'send').mockImplementation(((cmd: { constructor: { name: string } }) => {
    const name = cmd.constructor.name.replace(/Command$/, '');
    log.push(`>${name}`);
    return (send as (c: unknown) => Promise<unknown>)(cmd).finally(() => log.push(`<${name}`));
  }) as never);
  try {
    return { out: await fn(), log };
  } finally {
    spy.mockRestore();
  }
}

describe('Store.saveRecordReleasing', () => {
  it('sends the save and the release side by side: the record is saved and the lock free when it answers', async () => {
    const rec = await provisioned('both/');
    const locks = store.locks.set();
    await locks.take(['test#both']);
    expect(await free('test#both')).toBe(false);
    const { out: saved, log } = await commandLog(() =>
      store.records.saveReleasing({ ...rec }, rec.version, rec, locks),
    );
    expect(saved.version).toBe(rec.version + 1);
    // the release went out before the save came back
    expect(log.indexOf('>Delete')).toBeGreaterThanOrEqual(0);
    expect(log.indexOf('>Delete')).toBeLessThan(log.indexOf('<Put'));
    expect((await store.records.get(rec.id))!.version).toBe(rec.version + 1);
    expect(await free('test#both')).toBe(true);
  });

  it('keeps the version condition: a record saved meanwhile makes it a 409, and the locks are released all the same', async () => {
    const rec = await provisioned('conflict/');
    const locks = store.locks.set();
    await locks.take(['test#conflict']);
    await store.records.save({ ...rec }, rec.version, rec);
    await expect(store.records.saveReleasing({ ...rec }, rec.version, rec, locks)).rejects.toBeInstanceOf(
      ConflictError,
    );
    expect(await free('test#conflict')).toBe(true);
  });

  it('moves the record’s index entries when it moves (another bucket)', async () => {
    const rec = await provisioned('moved/');
    const locks = store.locks.set();
    await locks.take(['test#moved']);
    const moved = { ...rec, request: { ...rec.request, bucket: { ...rec.request.bucket, name: 'elsewhere' } } };
    await store.records.saveReleasing(moved, rec.version, rec, locks);
    expect(await free('test#moved')).toBe(true);
    const byBucket = async (bucket: string) => (await store.records.list({ bucket, limit: 10 })).items.map((i) => i.id);
    expect(await byBucket('elsewhere')).toEqual([rec.id]);
    expect(await byBucket('workload-local-backups')).toEqual([]);
  });
});
