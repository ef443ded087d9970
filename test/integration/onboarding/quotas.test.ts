import type { Stack } from '../../../scripts/stack';
import { buildWorld } from '../../../emulator/seed';
import { parseTopology } from '../../../emulator/topology';
import { BACKUPS, WORKLOADS, demoTopology } from '../../helpers/emulator';
import { useTestStack, writes, type TestStack } from '../../helpers/stack';

/**
 * Issue 19: quotas read, not assumed. A POST that would create a role (or an OIDC provider) in an account whose
 * quota is full is a 409 before any write, naming the quota code to raise; the quota is read (IAM's account
 * summary, Service Quotas), never assumed: the same request passes where the account's quota leaves room.
 */

const seeded = buildWorld(parseTopology(demoTopology())).accounts.get(WORKLOADS)!;
const ROLES = seeded.roles.size;
const PROVIDERS = seeded.oidcProviders.size;

// one more role fits in the workloads account, and three more OIDC providers
const topology = (() => {
  const t = demoTopology();
  t.accountSettings = { [WORKLOADS]: { quotas: { 'iam/L-FE177D64': ROLES + 1, 'iam/L-858F3967': PROVIDERS + 3 } } };
  return t;
})();

let stack: Stack;
let api: TestStack['api'];
let admin: TestStack['admin'];
useTestStack((t) => ({ stack, api, admin } = t), { resetEach: true, topology });

const request = (namespace: string) => ({
  workload: {
    type: 'eks',
    clusters: [{ name: 'demo', accountId: WORKLOADS, region: 'eu-west-1' }],
    namespace,
    serviceAccounts: ['worker'],
  },
  bucket: { name: 'demo-backups', accountId: BACKUPS, region: 'eu-west-1', prefix: `${namespace}/` },
  tool: 'generic',
  crossAccountMode: 'bucket-policy',
});

describe('Quotas read at plan time', () => {
  it('the last role that fits is created; the next new identity is a 409 naming L-FE177D64, nothing written', async () => {
    const first = await api.onboard(request('first'));
    expect(first.status).toBe(201);
    await admin.clearCalls();
    const res = await api.onboard(request('second'));
    expect(res.status).toBe(409);
    expect(res.body.type).toMatch(/quota-exceeded$/);
    expect(res.body.detail).toMatch(
      `quota "Roles per account" (service code iam, quota code L-FE177D64) of account 200000000002 is full: ${ROLES + 1} used of ${ROLES + 1}, and this request adds 1; request an increase in Service Quotas`,
    );
    expect(res.body.quotas).toEqual([
      expect.objectContaining({ field: 'workload', quotaCode: 'L-FE177D64', limit: ROLES + 1, adds: 1 }),
    ]);
    expect(await writes(stack)).toEqual([]);
    // a grant on an identity that exists creates no role: the full quota does not stop it
    expect((await api.onboard({ ...request('first'), tool: 'generic', access: 'read-only' })).status).toBe(201);
  });
});
