import { ListRolePoliciesCommand, PutRolePolicyCommand } from '@aws-sdk/client-iam';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { ListPodIdentityAssociationsCommand } from '@aws-sdk/client-eks';
import { ListAccessPointsCommand } from '@aws-sdk/client-s3-control';
import type { AwsCredentialIdentity } from '@smithy/types';
import type { Stack } from '../../../scripts/stack';
import { BACKUPS, WORKLOADS, rootCredentials } from '../../helpers/emulator';
import { podIdentityCredentials } from '../../helpers/pod-identity';
import { clients, podCredentials, useTestStack, writes, type TestStack } from '../../helpers/stack';

/**
 * Make before break (contract §4): a change of a working onboarding (other service accounts, IRSA to Pod Identity
 * and back, in the bucket-policy and role-in-bucket-account modes) with one AWS write denied at any step leaves the
 * workload reaching its prefix with the old identity or the new one, never neither; the answer says to retry; the
 * record never claims the change; and a retry converges to the new identity. (Without the planner's ordering, 21
 * of the 33 cases of the first three transitions left the workload with no access: the old grant went before the new role and grant existed.)
 */

let stack: Stack;
let api: TestStack['api'];
let admin: TestStack['admin'];
useTestStack((t) => ({ stack, api, admin } = t), { resetEach: true });

const demo = { name: 'demo', accountId: WORKLOADS, region: 'eu-west-1' };
type Kind = 'irsa' | 'pod-identity';
interface Identity {
  kind: Kind;
  serviceAccounts: string[];
}
const request = (who: Identity, mode: string) => ({
  workload: {
    type: 'eks',
    clusters: [demo],
    namespace: 'mongodb',
    serviceAccounts: who.serviceAccounts,
    identity: who.kind,
  },
  bucket: { name: 'demo-backups', accountId: BACKUPS, region: 'eu-west-1', prefix: 'mbb/' },
  tool: 'pbm',
  crossAccountMode: mode,
});

const TRANSITIONS: [string, Identity, Identity][] = [
  [
    'other service accounts',
    { kind: 'irsa', serviceAccounts: ['pbm-agent'] },
    { kind: 'irsa', serviceAccounts: ['pbm-agent-v2'] },
  ],
  [
    'IRSA to Pod Identity',
    { kind: 'irsa', serviceAccounts: ['pbm-agent'] },
    { kind: 'pod-identity', serviceAccounts: ['pbm-agent'] },
  ],
  [
    'Pod Identity to IRSA',
    { kind: 'pod-identity', serviceAccounts: ['pbm-agent'] },
    { kind: 'irsa', serviceAccounts: ['pbm-agent'] },
  ],
  // the kept service account's association is re-pointed to the new role; the added one is associated anew
  [
    'Pod Identity, a service account added',
    { kind: 'pod-identity', serviceAccounts: ['pbm-agent'] },
    { kind: 'pod-identity', serviceAccounts: ['pbm-agent', 'pbm-agent-v2'] },
  ],
];
const MODES = ['bucket-policy', 'role-in-bucket-account'];

const ok = (p: Promise<unknown>) =>
  p.then(
    () => true,
    () => false,
  );

/** Whether a pod of the identity (its last service account; IRSA: with that role annotated) can write and read back under the prefix. */
async function reaches(who: Identity, roleArn: string): Promise<boolean> {
  let creds: AwsCredentialIdentity;
  try {
    creds =
      who.kind === 'irsa'
        ? await podCredentials(stack, roleArn, {
            cluster: 'demo',
            namespace: 'mongodb',
            serviceAccount: who.serviceAccounts.at(-1)!,
          })
        : await podIdentityCredentials(stack.emulator, {
            cluster: demo,
            namespace: 'mongodb',
            serviceAccount: who.serviceAccounts.at(-1)!,
          });
  } catch {
    return false;
  }
  const s3 = clients(stack, creds).s3;
  const key = `mbb/probe-${Math.random().toString(36).slice(2)}`;
  return (
    (await ok(s3.send(new PutObjectCommand({ Bucket: 'demo-backups', Key: key, Body: 'x' })))) &&
    (await ok(s3.send(new GetObjectCommand({ Bucket: 'demo-backups', Key: key }))))
  );
}

const associations = async () =>
  (
    (
      await clients(stack, rootCredentials(WORKLOADS)).eks.send(
        new ListPodIdentityAssociationsCommand({ clusterName: 'demo', namespace: 'mongodb' }),
      )
    ).associations ?? []
  ).map((a) => a.serviceAccount);

const denied = (service: string) => (service === 'eks' ? 'AccessDeniedException' : 'AccessDenied');

describe.each(MODES)('Make before break, %s mode', (mode) => {
  it.each(TRANSITIONS)(
    '%s: a denial at each write of the change keeps the old or the new access; a retry converges',
    async (_what, from, to) => {
      // the change's writes, from a run without faults
      const first = await api.onboard(request(from, mode));
      expect(first.status).toBe(201);
      const newRole = (await api.onboard({ ...request(to, mode), dryRun: true })).body.roleArn as string;
      await admin.clearCalls();
      const clean = await api.onboard(request(to, mode));
      expect(clean.status).toBe(201);
      const ops = [...new Set((await writes(stack)).map((c) => `${c.service}:${c.operation}`))];
      expect(await reaches(to, newRole)).toBe(true);
      expect(ops.length).toBeGreaterThan(1);

      for (const op of ops) {
        const [service, operation] = op.split(':');
        await admin.reset();
        await admin.clearFaults();
        const before = await api.onboard(request(from, mode));
        expect(before.status).toBe(201);
        await admin.fault({ service, operation, errorCode: denied(service), httpStatus: 403, count: 1000 });
        const change = await api.onboard(request(to, mode));
        await admin.clearFaults();
        // a change of an existing grant that failed after writing is a 503 saying to retry (or nothing was written)
        expect({ op, failed: change.status >= 400 }).toEqual({ op, failed: true });
        const old = await reaches(from, before.body.roleArn);
        const now = await reaches(to, newRole);
        expect({ op, access: old || now }).toEqual({ op, access: true });
        // the record claims the new identity only once it is live
        const record = (await api.send('GET', `/v1/onboardings/${before.body.id}`)).body;
        if (record.status === 'provisioned')
          expect({ op, roleArn: record.roleArn }).toEqual({ op, roleArn: before.body.roleArn });

        const retry = await api.onboard(request(to, mode));
        expect({ op, status: retry.status }).toEqual({ op, status: expect.any(Number) });
        expect([200, 201]).toContain(retry.status);
        expect({ op, reaches: await reaches(to, newRole) }).toEqual({ op, reaches: true });
        expect({ op, verify: (await api.send('POST', `/v1/onboardings/${retry.body.id}/verify`)).body.ok }).toEqual({
          op,
          verify: true,
        });
        // an IRSA identity leaves no association behind (moving from Pod Identity left it, naming the deleted role)
        if (to.kind === 'irsa') expect({ op, associations: await associations() }).toEqual({ op, associations: [] });
      }
    },
    240_000,
  );
});

describe('A new grant refused after it wrote, on an identity with drift', () => {
  it('is taken back, and nothing else changes: the repairs the plan would have made (a policy added by hand) are neither made nor left', async () => {
    const a = await api.onboard(request({ kind: 'irsa', serviceAccounts: ['pbm-agent'] }, 'bucket-policy'));
    expect(a.status).toBe(201);
    const role = a.body.roleArn.split('/').pop();
    const iam = clients(stack, rootCredentials(WORKLOADS)).iam;
    const byHand = JSON.stringify({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::elsewhere/*' }],
    });
    await iam.send(new PutRolePolicyCommand({ RoleName: role, PolicyName: 'added-by-hand', PolicyDocument: byHand }));
    const policies = async () =>
      ((await iam.send(new ListRolePoliciesCommand({ RoleName: role }))).PolicyNames ?? []).sort();
    const before = await policies();

    await admin.fault({
      service: 's3',
      operation: 'PutBucketPolicy',
      errorCode: 'AccessDenied',
      httpStatus: 403,
      count: 1000,
    });
    const b = await api.onboard({
      ...request({ kind: 'irsa', serviceAccounts: ['pbm-agent'] }, 'bucket-policy'),
      bucket: { name: 'demo-backups', accountId: BACKUPS, region: 'eu-west-1', prefix: 'other/' },
    });
    await admin.clearFaults();
    expect(b.status).toBe(403);
    // the new grant's policy was written and taken back; the policy added by hand is still there (it was deleted)
    expect(await policies()).toEqual(before);
    expect(before).toContain('added-by-hand');
  });
});

/**
 * Moves into and out of access-point mode (issue 19): the same onboarding (same id and role) from the bucket policy's
 * statements to an access point of its own and back. The role's one inline policy is rewritten from the bucket's
 * ARN to the access point's (or back) only once what it names is in place, and the old access goes last: a denial
 * at any write leaves the pod reaching its prefix the old way or the new way (without that order, both moves
 * left the pod with neither when the access point's or the bucket's statement write was denied).
 */
describe('Make before break, moves into and out of access-point mode', () => {
  const who: Identity = { kind: 'irsa', serviceAccounts: ['pbm-agent'] };
  /** the pod writes and reads back under the prefix by the bucket's name, or through the service's access point */
  async function reachesVia(mode: string, roleArn: string): Promise<boolean> {
    const creds = await podCredentials(stack, roleArn, {
      cluster: 'demo',
      namespace: 'mongodb',
      serviceAccount: 'pbm-agent',
    });
    let bucket = 'demo-backups';
    if (mode === 'access-point') {
      const aps = await clients(stack, rootCredentials(BACKUPS)).s3control.send(
        new ListAccessPointsCommand({ AccountId: BACKUPS, Bucket: 'demo-backups' }),
      );
      const ap = (aps.AccessPointList ?? []).find((a) => a.Name!.startsWith('s3ob-'));
      if (!ap) return false;
      bucket = ap.Alias!;
    }
    const s3 = clients(stack, creds).s3;
    const key = `mbb/probe-${Math.random().toString(36).slice(2)}`;
    return (
      (await ok(s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: 'x' })))) &&
      (await ok(s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))))
    );
  }

  it.each([
    ['bucket-policy', 'access-point'],
    ['access-point', 'bucket-policy'],
  ])(
    '%s to %s: a denial at each write keeps the old or the new access; a retry converges',
    async (from, to) => {
      const first = await api.onboard(request(who, from));
      expect(first.status).toBe(201);
      await admin.clearCalls();
      const clean = await api.onboard(request(who, to));
      expect(clean.status).toBe(201);
      expect(clean.body.id).toBe(first.body.id);
      const ops = [...new Set((await writes(stack)).map((c) => `${c.service}:${c.operation}`))];
      expect(ops).toEqual(expect.arrayContaining(['iam:PutRolePolicy', 's3:PutBucketPolicy']));
      expect(await reachesVia(to, clean.body.roleArn)).toBe(true);
      expect(await reachesVia(from, clean.body.roleArn)).toBe(false);

      for (const op of ops) {
        const [service, operation] = op.split(':');
        await admin.reset();
        await admin.clearFaults();
        const before = await api.onboard(request(who, from));
        expect(before.status).toBe(201);
        await admin.fault({ service, operation, errorCode: 'AccessDenied', httpStatus: 403, count: 1000 });
        const change = await api.onboard(request(who, to));
        await admin.clearFaults();
        expect({ op, failed: change.status >= 400 }).toEqual({ op, failed: true });
        const old = await reachesVia(from, before.body.roleArn);
        const now = await reachesVia(to, before.body.roleArn);
        expect({ op, access: old || now }).toEqual({ op, access: true });
        const retry = await api.onboard(request(who, to));
        expect({ op, status: [200, 201].includes(retry.status) }).toEqual({ op, status: true });
        expect({ op, reaches: await reachesVia(to, before.body.roleArn) }).toEqual({ op, reaches: true });
        expect({ op, verify: (await api.send('POST', `/v1/onboardings/${retry.body.id}/verify`)).body.ok }).toEqual({
          op,
          verify: true,
        });
      }
      // and back where it started, DELETE leaves the bucket as the topology has it
      const policyNow = (await api.send('DELETE', `/v1/onboardings/${first.body.id}`)).status;
      expect(policyNow).toBe(200);
      const aps = await clients(stack, rootCredentials(BACKUPS)).s3control.send(
        new ListAccessPointsCommand({ AccountId: BACKUPS, Bucket: 'demo-backups' }),
      );
      expect(aps.AccessPointList ?? []).toEqual([]);
    },
    240_000,
  );
});
