import { DeleteRolePermissionsBoundaryCommand } from '@aws-sdk/client-iam';
import type { Stack } from '../../../scripts/stack';
import { BACKUPS, WORKLOADS, rootCredentials } from '../../helpers/emulator';
import { clients, podCredentials, useTestStack, type TestStack } from '../../helpers/stack';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';

/**
 * Writes under a lease are fenced (contract §4): a request that stalls past its identity lock's lease, while
 * another request takes the lock and writes, stops before its next write instead of undoing the other's work.
 * (A DELETE that stalled past the lock went on after a later POST and removed what that POST had just put back.)
 */

const saved = process.env.LOCK_LEASE_MS;
process.env.LOCK_LEASE_MS = '1000';
afterAll(() => {
  if (saved === undefined) delete process.env.LOCK_LEASE_MS;
  else process.env.LOCK_LEASE_MS = saved;
});

let stack: Stack;
let api: TestStack['api'];
let admin: TestStack['admin'];
useTestStack((t) => ({ stack, api, admin } = t), { resetEach: true });

const pbm = {
  workload: {
    type: 'eks',
    clusters: [{ name: 'demo', accountId: WORKLOADS, region: 'eu-west-1' }],
    namespace: 'mongodb',
    serviceAccounts: ['pbm-agent'],
  },
  bucket: { name: 'demo-backups', accountId: BACKUPS, region: 'eu-west-1', prefix: 'fenced/' },
  tool: 'pbm',
};

async function reaches(roleArn: string): Promise<boolean> {
  const ok = (p: Promise<unknown>) =>
    p.then(
      () => true,
      () => false,
    );
  const creds = await podCredentials(stack, roleArn, {
    cluster: 'demo',
    namespace: 'mongodb',
    serviceAccount: 'pbm-agent',
  }).catch(() => undefined);
  if (!creds) return false;
  const s3 = clients(stack, creds).s3;
  return (
    (await ok(s3.send(new PutObjectCommand({ Bucket: 'demo-backups', Key: 'fenced/x', Body: 'x' })))) &&
    (await ok(s3.send(new GetObjectCommand({ Bucket: 'demo-backups', Key: 'fenced/x' }))))
  );
}

describe('A DELETE that stalls past its lock while a POST of the same onboarding runs', () => {
  it('stops before its next removal (503, retry); the POST’s onboarding stays whole and working', async () => {
    const created = await api.onboard(pbm);
    expect(created.status).toBe(201);
    // the removal plan starts by putting the role's boundary back (the provisioner may only change bounded
    // roles), and every removal waits for it: that first write is answered 2.5 s after it lands
    await clients(stack, rootCredentials(WORKLOADS)).iam.send(
      new DeleteRolePermissionsBoundaryCommand({ RoleName: created.body.roleArn.split('/').pop() }),
    );
    await admin.fault({ service: 'iam', operation: 'PutRolePermissionsBoundary', delayMs: 2500, count: 1 });
    const deleting = api.send('DELETE', `/v1/onboardings/${created.body.id}`);
    // the DELETE's 1 s lease runs out while it waits; the repeat POST takes the lock and finds all in place
    await new Promise((r) => setTimeout(r, 1500));
    const repeat = await api.onboard(pbm);
    expect([200, 201]).toContain(repeat.status);
    const del = await deleting;
    // it wrote the boundary back, then stopped: a 503 to retry (its record, changed by the POST, is not overwritten)
    expect(del.status).toBe(503);
    expect(del.body.detail).toMatch(/retry/);
    expect(await reaches(created.body.roleArn)).toBe(true);
    expect((await api.send('POST', `/v1/onboardings/${created.body.id}/verify`)).body.ok).toBe(true);
    // and a DELETE now removes it
    expect((await api.send('DELETE', `/v1/onboardings/${created.body.id}`)).status).toBe(200);
  });
});
