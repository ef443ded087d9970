import type { Stack } from '../../../scripts/stack';
import { BACKUPS, WORKLOADS, demoTopology } from '../../helpers/emulator';
import { useTestStack, writes, type TestStack } from '../../helpers/stack';
import { offboard } from '../../../lib/onboarding/verbs/offboard';
import { serviceRuntime } from '../../../lib/runtime/service';
import type { OnboardingRecord } from '../../../lib/onboarding/model/records';
import type { Store } from '../../../lib/store/store';

/**
 * DELETE takes its locks from the record as read before them. When another request changed the record meanwhile
 * (moved the grant to another identity), the locks it holds are not the ones the removal needs: it refuses (409,
 * retry) before any write, instead of changing an identity whose lock it does not hold.
 */

let stack: Stack;
let api: TestStack['api'];
let admin: TestStack['admin'];
useTestStack((t) => ({ stack, api, admin } = t), { resetEach: true, topology: demoTopology() });

const request = {
  workload: {
    type: 'eks',
    clusters: [{ name: 'demo', accountId: WORKLOADS, region: 'eu-west-1' }],
    namespace: 'apps',
    serviceAccounts: ['worker'],
  },
  bucket: { name: 'demo-backups', accountId: BACKUPS, region: 'eu-west-1', prefix: 'apps/' },
  tool: 'generic',
  crossAccountMode: 'bucket-policy',
};

describe('DELETE under its locks', () => {
  it('refuses with a 409 before any write when the record changed identity between its first read and its locks', async () => {
    const created = await api.onboard(request);
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    const deps = serviceRuntime();
    // the first read (before the locks) sees the grant on another identity, as it was before a move
    let reads = 0;
    const records = Object.create(deps.store.records) as Store['records'];
    records.get = async (key: string) => {
      const rec = await deps.store.records.get(key);
      return reads++ === 0 && rec ? ({ ...rec, identityKey: 'an-identity-it-left' } as OnboardingRecord) : rec;
    };
    const store = Object.create(deps.store) as Store;
    Object.defineProperty(store, 'records', { value: records });
    await admin.clearCalls();
    await expect(
      offboard({ ...deps, store }, id, { principal: 'arn:aws:iam::100000000001:role/platform-admin' }),
    ).rejects.toMatchObject({ status: 409, message: expect.stringMatching(/changed by another request/) });
    expect(await writes(stack)).toEqual([]);
    // read as it is, the removal goes through
    expect((await api.send('DELETE', `/v1/onboardings/${id}`)).status).toBe(200);
  });
});
