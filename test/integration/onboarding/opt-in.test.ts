import type { Stack } from '../../../scripts/stack';
import { UntagResourceCommand } from '@aws-sdk/client-kms';
import { BACKUPS, WORKLOADS, demoTopology, rootCredentials } from '../../helpers/emulator';
import { clients, useTestStack, writes, type TestStack } from '../../helpers/stack';

/**
 * Issue 18: the owner's opt-in in every mode. No grant on a bucket or KMS key whose owner has not tagged it
 * s3-onboarding-managed=true, whether the service edits its policy (bucket-policy) or not (same account,
 * role-in-bucket-account), for every identity kind; a tagged bucket whose S3 ABAC is off is refused too (its tag
 * is not aws:ResourceTag then). Each refusal is a 409 problem+json naming the field, decided from reads only.
 */

const MANAGED = { 's3-onboarding-managed': 'true' };
const UNMANAGED_KEY = `arn:aws:kms:eu-west-1:${BACKUPS}:key/99999999-2222-3333-4444-555555555555`;
const LOCAL_UNMANAGED_KEY = `arn:aws:kms:eu-west-1:${WORKLOADS}:key/88888888-2222-3333-4444-555555555555`;
const LOCAL_MANAGED_KEY = `arn:aws:kms:eu-west-1:${WORKLOADS}:key/77777777-2222-3333-4444-555555555555`;
const MANAGED_KEY = `arn:aws:kms:eu-west-1:${BACKUPS}:key/11111111-2222-3333-4444-555555555555`;

const topology = (() => {
  const t = demoTopology();
  t.buckets = [
    ...(t.buckets ?? []),
    { name: 'unmanaged-backups', accountId: BACKUPS, region: 'eu-west-1' },
    { name: 'abac-off-backups', accountId: BACKUPS, region: 'eu-west-1', tags: MANAGED, abac: false },
    { name: 'local-unmanaged', accountId: WORKLOADS, region: 'eu-west-1' },
    { name: 'local-abac-off', accountId: WORKLOADS, region: 'eu-west-1', tags: MANAGED, abac: false },
  ];
  t.kmsKeys = [
    ...(t.kmsKeys ?? []),
    { arn: UNMANAGED_KEY },
    { arn: LOCAL_UNMANAGED_KEY },
    { arn: LOCAL_MANAGED_KEY, tags: MANAGED },
  ];
  return t;
})();

let stack: Stack;
let api: TestStack['api'];
let admin: TestStack['admin'];
useTestStack((t) => ({ stack, api, admin } = t), { resetEach: true, topology });

const demo = { name: 'demo', accountId: WORKLOADS, region: 'eu-west-1' };
const eks = (identity: 'irsa' | 'pod-identity') => ({
  type: 'eks',
  clusters: [demo],
  namespace: 'apps',
  serviceAccounts: ['worker'],
  identity,
});
const ec2 = { type: 'ec2', instanceRoleArn: `arn:aws:iam::${WORKLOADS}:role/pbm-ec2-instance-role` };

type Mode = 'same-account' | 'bucket-policy' | 'role-in-bucket-account';
const where = (mode: Mode, bucket: { local: string; remote: string }, key?: { local: string; remote: string }) =>
  mode === 'same-account'
    ? {
        bucket: {
          name: bucket.local,
          accountId: WORKLOADS,
          region: 'eu-west-1',
          prefix: 'x/',
          ...(key ? { kmsKeyArn: key.local } : {}),
        },
      }
    : {
        bucket: {
          name: bucket.remote,
          accountId: BACKUPS,
          region: 'eu-west-1',
          prefix: 'x/',
          ...(key ? { kmsKeyArn: key.remote } : {}),
        },
        crossAccountMode: mode,
      };

const MODES: Mode[] = ['same-account', 'bucket-policy', 'role-in-bucket-account'];
const WORKLOADS_OF = { irsa: eks('irsa'), 'pod-identity': eks('pod-identity'), ec2 } as const;
const CASES = MODES.flatMap((mode) =>
  (Object.keys(WORKLOADS_OF) as (keyof typeof WORKLOADS_OF)[]).map((kind) => [mode, kind] as const),
);

/** A refusal: 409 problem+json naming the field, the resource's opt-in read (and its ABAC status), nothing written. */
async function expectRefused(body: Record<string, unknown>, path: string, detail: RegExp) {
  await admin.clearCalls();
  for (const dryRun of [true, false]) {
    const res = await api.onboard({ ...body, dryRun });
    expect(res.status).toBe(409);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(res.body.errors.map((e: { path: string }) => e.path)).toEqual([path]);
    expect(res.body.detail).toMatch(detail);
  }
  const calls = await admin.calls();
  // decided from what was read: the bucket's tags and ABAC status were read, and nothing was written anywhere
  expect(calls.map((c) => c.operation)).toEqual(expect.arrayContaining(['GetBucketTagging', 'GetBucketAbac']));
  expect(await writes(stack)).toEqual([]);
  expect((await api.send('GET', '/v1/onboardings')).body.items).toEqual([]);
}

describe('Opt-in in every mode: a bucket whose owner did not tag it s3-onboarding-managed=true', () => {
  it.each(CASES)('%s, %s workload: 409 on bucket.name, nothing written', async (mode, kind) => {
    const body = {
      workload: WORKLOADS_OF[kind],
      tool: 'generic',
      ...where(mode, { local: 'local-unmanaged', remote: 'unmanaged-backups' }),
    };
    await expectRefused(
      body,
      'bucket.name',
      new RegExp(
        `bucket (local-unmanaged|unmanaged-backups) is not opted in.*mode ${mode}.*put-bucket-abac.*s3control tag-resource`,
      ),
    );
  });
});

describe('S3 ABAC: a tagged bucket whose owner never turned ABAC on', () => {
  it.each(CASES)(
    '%s, %s workload: 409 on bucket.name naming the command that enables it, nothing written',
    async (mode, kind) => {
      const body = {
        workload: WORKLOADS_OF[kind],
        tool: 'generic',
        ...where(mode, { local: 'local-abac-off', remote: 'abac-off-backups' }),
      };
      await expectRefused(
        body,
        'bucket.name',
        /is tagged s3-onboarding-managed=true but S3 attribute-based access control \(ABAC\) is off.*aws s3api put-bucket-abac --bucket (local-abac-off|abac-off-backups) --abac-status Status=Enabled/,
      );
    },
  );
});

describe('Opt-in in every mode: a KMS key whose owner did not tag it', () => {
  it.each(CASES)('%s, %s workload: 409 on bucket.kmsKeyArn, nothing written', async (mode, kind) => {
    const body = {
      workload: WORKLOADS_OF[kind],
      tool: 'generic',
      ...where(
        mode,
        { local: 'workload-local-backups', remote: 'demo-encrypted-backups' },
        { local: LOCAL_UNMANAGED_KEY, remote: UNMANAGED_KEY },
      ),
    };
    await expectRefused(
      body,
      'bucket.kmsKeyArn',
      /key arn:aws:kms:.* is not opted in.*aws kms tag-resource --key-id .* --tags TagKey=s3-onboarding-managed,TagValue=true/,
    );
  });

  it('an untagged bucket and an untagged key: one 409 naming both fields', async () => {
    await admin.clearCalls();
    const res = await api.onboard({
      workload: eks('irsa'),
      tool: 'generic',
      ...where(
        'role-in-bucket-account',
        { local: '', remote: 'unmanaged-backups' },
        { local: '', remote: UNMANAGED_KEY },
      ),
    });
    expect(res.status).toBe(409);
    expect(res.body.errors.map((e: { path: string }) => e.path)).toEqual(['bucket.name', 'bucket.kmsKeyArn']);
    expect(await writes(stack)).toEqual([]);
  });
});

describe('Opted-in resources are granted in every mode (the check refuses only what it should)', () => {
  it.each(MODES)('%s: a tagged bucket with ABAC on and a tagged key: 201', async (mode) => {
    const body = {
      workload: eks('irsa'),
      tool: 'generic',
      ...where(
        mode,
        { local: 'workload-local-backups', remote: 'demo-encrypted-backups' },
        { local: LOCAL_MANAGED_KEY, remote: MANAGED_KEY },
      ),
    };
    const res = await api.onboard(body);
    expect(res.status).toBe(201);
    expect(res.body.changes.length).toBeGreaterThan(0);
    expect((await api.onboard(body)).status).toBe(200);
    // the key's owner withdraws the opt-in: the next converge is refused before any write
    const key = mode === 'same-account' ? LOCAL_MANAGED_KEY : MANAGED_KEY;
    await clients(stack, rootCredentials(key.split(':')[4]!)).kms.send(
      new UntagResourceCommand({ KeyId: key, TagKeys: ['s3-onboarding-managed'] }),
    );
    await admin.clearCalls();
    const refused = await api.onboard(body);
    expect(refused.status).toBe(409);
    expect(refused.body.errors.map((e: { path: string }) => e.path)).toEqual(['bucket.kmsKeyArn']);
    expect(await writes(stack)).toEqual([]);
  });
});
