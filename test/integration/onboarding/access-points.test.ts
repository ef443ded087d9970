import {
  GetObjectCommand,
  GetBucketPolicyCommand,
  PutBucketPolicyCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import {
  GetAccessPointPolicyCommand,
  ListAccessPointsCommand,
  ListTagsForResourceCommand,
  DeleteAccessPointPolicyCommand,
} from '@aws-sdk/client-s3-control';
import type { AwsCredentialIdentity } from '@smithy/types';
import type { Stack } from '../../../scripts/stack';
import { loadConfig } from '../../../lib/config';
import { onboardingId, type OnboardingInput } from '../../../lib/onboarding/model/onboarding';
import { BACKUPS, WORKLOADS, demoTopology, rootCredentials, s3ForAccessPointArns } from '../../helpers/emulator';
import { clients, podCredentials, useTestStack, type TestStack } from '../../helpers/stack';
import { validateSnippet } from '../../helpers/schemas';
import { podIdentityCredentials } from '../../helpers/pod-identity';
import { onboardingResponseSchema } from '../../../lib/onboarding/request/response-schema';

/**
 * crossAccountMode access-point (issue 19, contract §4): each onboarding reaches its prefix through an S3 access
 * point of its own in the bucket's account, and the bucket policy holds one delegation statement for all of them.
 * Real SDK clients over HTTP against the emulator, whose data plane authorises through the alias and the ARN with
 * the identity policy, the access point policy and the bucket policy.
 */

const demo = { name: 'demo', accountId: WORKLOADS, region: 'eu-west-1' };
const request = (namespace: string, prefix: string, extra: Record<string, unknown> = {}) => ({
  workload: { type: 'eks', clusters: [demo], namespace, serviceAccounts: ['pbm-agent'] },
  bucket: { name: 'demo-backups', accountId: BACKUPS, region: 'eu-west-1', prefix },
  tool: 'pbm',
  crossAccountMode: 'access-point',
  ...extra,
});
const idOf = (body: object) => onboardingId(body as OnboardingInput);
const hexOf = (body: object) => idOf(body).slice(3);

// a foreign access point on the bucket (never touched), and one holding the first name a request derives
const COLLIDING = request('collide', 'collide/');
const topology = demoTopology();
topology.accessPoints = [
  {
    name: 'reports',
    bucket: 'demo-backups',
    accountId: BACKUPS,
    region: 'eu-west-1',
    policy: {
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: { AWS: `arn:aws:iam::${BACKUPS}:root` },
          Action: 's3:GetObject',
          Resource: `arn:aws:s3:eu-west-1:${BACKUPS}:accesspoint/reports/object/*`,
        },
      ],
    },
  },
  {
    name: `s3ob-${hexOf(COLLIDING)}`,
    bucket: 'demo-backups',
    accountId: BACKUPS,
    region: 'eu-west-1',
    tags: { team: 'x' },
  },
];

let stack: Stack;
let api: TestStack['api'];
useTestStack((t) => ({ stack, api } = t), { resetEach: true, topology });

const owner = () => clients(stack, rootCredentials(BACKUPS));
const bucketPolicy = async () =>
  (await owner().s3.send(new GetBucketPolicyCommand({ Bucket: 'demo-backups' }))).Policy ?? '';
const accessPoints = async () =>
  (
    (await owner().s3control.send(new ListAccessPointsCommand({ AccountId: BACKUPS, Bucket: 'demo-backups' })))
      .AccessPointList ?? []
  ).map((a) => a.Name!);
const apPolicy = (name: string) =>
  owner()
    .s3control.send(new GetAccessPointPolicyCommand({ AccountId: BACKUPS, Name: name }))
    .then((o) => o.Policy);

const pod = (roleArn: string, namespace: string) =>
  podCredentials(stack, roleArn, { cluster: 'demo', namespace, serviceAccount: 'pbm-agent' });
const s3As = (credentials: AwsCredentialIdentity) =>
  new S3Client({
    endpoint: stack.emulator.url,
    region: 'eu-west-1',
    credentials,
    forcePathStyle: true,
    maxAttempts: 1,
  });

/** Whether `credentials` can write and read back `key` in `bucket` (a bucket name, an alias or an ARN). */
async function reaches(credentials: AwsCredentialIdentity, bucket: string, key: string): Promise<boolean> {
  const s3 = bucket.startsWith('arn:') ? s3ForAccessPointArns(stack.emulator, credentials) : s3As(credentials);
  try {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: 'x' }));
    await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return true;
  } catch (e) {
    if ((e as Error).name === 'AccessDenied') return false;
    throw e;
  }
}

describe('crossAccountMode access-point', () => {
  it('answers 201 with snippets that name the access point and validate; the pod reaches its prefix through it only', async () => {
    const before = await bucketPolicy();
    const res = await api.onboard(request('mongodb', 'ap/'));
    expect(res.status).toBe(201);
    const ap = res.body.policies.accessPoint;
    expect(ap.name).toBe(`s3ob-${res.body.id.slice(3)}`);
    expect(ap.arn).toBe(`arn:aws:s3:eu-west-1:${BACKUPS}:accesspoint/${ap.name}`);
    expect(ap.alias).toMatch(/^s3ob-[a-z0-9-]+-s3alias$/);
    expect(ap.alias).not.toContain('pending');
    expect(res.body.policies.bucketPolicyStatements).toEqual([]);
    for (const [file, text] of Object.entries(res.body.snippets as Record<string, string>))
      expect(validateSnippet(file, text)).toEqual([]);
    const pbm = res.body.snippets['pbm-config.yaml'] as string;
    expect(pbm).toContain(`bucket: ${ap.alias}`);
    expect(pbm).toContain('forcePathStyle: false');
    // the role's identity policy names the access point, not the bucket
    expect(JSON.stringify(res.body.policies.permissions)).toContain(`accesspoint/${ap.name}/object/ap/*`);
    expect(JSON.stringify(res.body.policies.permissions)).not.toContain('arn:aws:s3:::demo-backups');
    // the bucket policy gained the one delegation statement
    const after = JSON.parse(await bucketPolicy()) as { Statement: { Sid?: string }[] };
    expect(after.Statement.map((s) => s.Sid)).toEqual([
      ...(JSON.parse(before) as { Statement: { Sid?: string }[] }).Statement.map((s) => s.Sid),
      'S3OnboardingAccessPoints',
    ]);
    const tags = await owner().s3control.send(
      new ListTagsForResourceCommand({ AccountId: BACKUPS, ResourceArn: ap.arn }),
    );
    expect(tags.Tags).toEqual(
      expect.arrayContaining([
        { Key: 'managed-by', Value: loadConfig({}).managedByTag },
        { Key: 's3-onboarding/onboarding', Value: res.body.id },
      ]),
    );

    const creds = await pod(res.body.roleArn, 'mongodb');
    expect(await reaches(creds, ap.alias, 'ap/through-alias')).toBe(true);
    expect(await reaches(creds, ap.arn, 'ap/through-arn')).toBe(true);
    expect(await reaches(creds, ap.alias, 'elsewhere/key')).toBe(false);
    expect(await reaches(creds, 'demo-backups', 'ap/by-bucket-name')).toBe(false);
    // another access point on the bucket (someone else's, `reports`): its ARN, not a bucket name
    expect(await reaches(creds, `arn:aws:s3:eu-west-1:${BACKUPS}:accesspoint/reports`, 'ap/x')).toBe(false);

    // the same request again: nothing to do
    const again = await api.onboard(request('mongodb', 'ap/'));
    expect(again.status).toBe(200);
    expect(again.body.policies.accessPoint.alias).toBe(ap.alias);
    expect(again.body.snippets['pbm-config.yaml']).toBe(pbm);

    const verified = await api.send('POST', `/v1/onboardings/${res.body.id}/verify`);
    expect(verified.body.checks.filter((c: { ok: boolean }) => !c.ok)).toEqual([]);
    expect(verified.body.checks.map((c: { name: string }) => c.name)).toEqual(
      expect.arrayContaining(['access-point', 'access-point-delegation', 'deny:bucket-by-name', 'reach:s3:PutObject']),
    );
    // drift: the access point's policy deleted behind the service's back
    await owner().s3control.send(new DeleteAccessPointPolicyCommand({ AccountId: BACKUPS, Name: ap.name }));
    const drifted = await api.send('POST', `/v1/onboardings/${res.body.id}/verify`);
    expect(drifted.body.ok).toBe(false);
    expect(drifted.body.checks.find((c: { name: string }) => c.name === 'access-point').ok).toBe(false);
    expect((await api.onboard(request('mongodb', 'ap/'))).status).toBe(201);
    expect(await reaches(creds, ap.alias, 'ap/repaired')).toBe(true);
    // drift: the bucket's delegation removed by hand
    await owner().s3.send(new PutBucketPolicyCommand({ Bucket: 'demo-backups', Policy: before }));
    expect(await reaches(creds, ap.alias, 'ap/no-delegation')).toBe(false);
    const undelegated = await api.send('POST', `/v1/onboardings/${res.body.id}/verify`);
    expect(
      undelegated.body.checks
        .filter((c: { ok: boolean }) => !c.ok)
        .map((c: { name: string }) => c.name)
        .sort(),
    ).toEqual([
      'access-point-delegation',
      'reach:s3:DeleteObject',
      'reach:s3:GetObject',
      'reach:s3:ListBucket',
      'reach:s3:PutObject',
    ]);
    expect((await api.onboard(request('mongodb', 'ap/'))).status).toBe(201);
    expect(await reaches(creds, ap.alias, 'ap/delegated-again')).toBe(true);
  });

  it('keeps each pod to its own access point; the bucket policy does not grow; DELETE of all leaves policy and access points as before', async () => {
    const policyBefore = await bucketPolicy();
    const apsBefore = await accessPoints();
    const foreignPolicy = await apPolicy('reports');
    const first = await api.onboard(request('team-0', 'team-0/'));
    expect(first.status).toBe(201);
    const sizeAfterFirst = (await bucketPolicy()).length;
    const answers = [first];
    for (let i = 1; i < 20; i += 5) {
      answers.push(
        ...(await Promise.all(
          [0, 1, 2, 3, 4].filter((j) => i + j < 20).map((j) => api.onboard(request(`team-${i + j}`, `team-${i + j}/`))),
        )),
      );
      if (i === 1) expect((await bucketPolicy()).length).toBe(sizeAfterFirst);
    }
    expect(answers.map((a) => a.status)).toEqual(Array(20).fill(201));
    expect((await bucketPolicy()).length).toBe(sizeAfterFirst);
    expect((await accessPoints()).length).toBe(apsBefore.length + 20);

    const [a, b] = answers;
    const credsA = await pod(a.body.roleArn, 'team-0');
    expect(await reaches(credsA, a.body.policies.accessPoint.alias, 'team-0/own')).toBe(true);
    // not through another onboarding's access point, not even under that one's prefix or its own
    expect(await reaches(credsA, b.body.policies.accessPoint.alias, 'team-1/other')).toBe(false);
    expect(await reaches(credsA, b.body.policies.accessPoint.alias, 'team-0/own')).toBe(false);
    expect(await reaches(credsA, b.body.policies.accessPoint.arn, 'team-1/other')).toBe(false);

    const gone = await Promise.all(answers.map((x) => api.send('DELETE', `/v1/onboardings/${x.body.id}`)));
    expect(gone.map((g) => g.status)).toEqual(Array(20).fill(200));
    expect(await bucketPolicy()).toBe(policyBefore);
    expect(await accessPoints()).toEqual(apsBefore);
    expect(await apPolicy('reports')).toBe(foreignPolicy);
  });

  it('takes the next name when the derived one is held by someone else, and never touches that access point', async () => {
    const res = await api.onboard(COLLIDING);
    expect(res.status).toBe(201);
    expect(res.body.policies.accessPoint.name).toBe(`s3ob-${hexOf(COLLIDING)}-2`);
    const creds = await pod(res.body.roleArn, 'collide');
    expect(await reaches(creds, res.body.policies.accessPoint.alias, 'collide/k')).toBe(true);
    expect((await api.onboard(COLLIDING)).status).toBe(200);
    expect((await api.send('DELETE', `/v1/onboardings/${res.body.id}`)).status).toBe(200);
    expect(await accessPoints()).toEqual(['reports', `s3ob-${hexOf(COLLIDING)}`]);
    const tags = await owner().s3control.send(
      new ListTagsForResourceCommand({
        AccountId: BACKUPS,
        ResourceArn: `arn:aws:s3:eu-west-1:${BACKUPS}:accesspoint/s3ob-${hexOf(COLLIDING)}`,
      }),
    );
    expect(tags.Tags).toEqual([{ Key: 'team', Value: 'x' }]);
  });

  it('decides the last access point under the lease: two DELETEs of the last two, and a POST racing a DELETE', async () => {
    const policyBefore = await bucketPolicy();
    for (let round = 0; round < 3; round++) {
      const [x, y] = await Promise.all([api.onboard(request('race-x', 'x/')), api.onboard(request('race-y', 'y/'))]);
      expect([x.status, y.status]).toEqual([201, 201]);
      const gone = await Promise.all([x, y].map((o) => api.send('DELETE', `/v1/onboardings/${o.body.id}`)));
      expect(gone.map((g) => g.status)).toEqual([200, 200]);
      expect(await bucketPolicy()).toBe(policyBefore);
    }
    for (let round = 0; round < 3; round++) {
      const x = await api.onboard(request('race-x', 'x/'));
      const [, y] = await Promise.all([
        api.send('DELETE', `/v1/onboardings/${x.body.id}`),
        api.onboard(request('race-y', 'y/')),
      ]);
      expect(y.status).toBe(201);
      // the survivor's delegation stands: its pod reaches its prefix
      const creds = await pod(y.body.roleArn, 'race-y');
      expect(await reaches(creds, y.body.policies.accessPoint.alias, `y/${round}`)).toBe(true);
      expect((await api.send('DELETE', `/v1/onboardings/${y.body.id}`)).status).toBe(200);
      expect(await bucketPolicy()).toBe(policyBefore);
    }
  });

  it('plans without writing in a dry run (the alias is a placeholder until AWS makes it up)', async () => {
    const dry = await api.onboard({ ...request('dry', 'dry/'), dryRun: true });
    expect(dry.status).toBe(200);
    expect(onboardingResponseSchema.safeParse(dry.body).error).toBeUndefined();
    expect(dry.body.status).toBe('planned');
    expect(dry.body.policies.accessPoint.alias).toBe(`${dry.body.policies.accessPoint.name}-pending-s3alias`);
    expect(dry.body.changes.map((c: { action: string }) => c.action)).toEqual(
      expect.arrayContaining(['create-access-point', 'put-access-point-policy', 'put-access-point-delegation']),
    );
    const calls = (await (await fetch(`${stack.emulator.url}/_emulator/calls`)).json()) as { write: boolean }[];
    expect(calls.filter((c) => c.write)).toEqual([]);
    const made = await api.onboard(request('dry', 'dry/'));
    expect(onboardingResponseSchema.safeParse(made.body).error).toBeUndefined();
  });

  it('works for an EC2 instance role and with SSE-KMS, as in the other modes', async () => {
    const ec2 = await api.onboard({
      workload: { type: 'ec2', instanceRoleArn: `arn:aws:iam::${WORKLOADS}:role/pbm-ec2-instance-role` },
      bucket: { name: 'demo-backups', accountId: BACKUPS, region: 'eu-west-1', prefix: 'ec2/' },
      tool: 'pbm',
      crossAccountMode: 'access-point',
    });
    expect(ec2.status).toBe(201);
    for (const [file, text] of Object.entries(ec2.body.snippets as Record<string, string>))
      expect(validateSnippet(file, text)).toEqual([]);
    expect(ec2.body.snippets['pbm-config.yaml']).toContain(`bucket: ${ec2.body.policies.accessPoint.alias}`);
    const kms = await api.onboard({
      ...request('kms', 'kms/'),
      bucket: {
        name: 'demo-encrypted-backups',
        accountId: BACKUPS,
        region: 'eu-west-1',
        prefix: 'kms/',
        kmsKeyArn: 'arn:aws:kms:eu-west-1:300000000003:key/11111111-2222-3333-4444-555555555555',
      },
    });
    expect(kms.status).toBe(201);
    const creds = await pod(kms.body.roleArn, 'kms');
    const alias = kms.body.policies.accessPoint.alias;
    const s3 = s3As(creds);
    await s3.send(
      new PutObjectCommand({
        Bucket: alias,
        Key: 'kms/x',
        Body: 'x',
        ServerSideEncryption: 'aws:kms',
        SSEKMSKeyId: 'arn:aws:kms:eu-west-1:300000000003:key/11111111-2222-3333-4444-555555555555',
      }),
    );
    expect(await (await s3.send(new GetObjectCommand({ Bucket: alias, Key: 'kms/x' }))).Body!.transformToString()).toBe(
      'x',
    );
    for (const id of [ec2.body.id, kms.body.id])
      expect((await api.send('DELETE', `/v1/onboardings/${id}`)).status).toBe(200);
  });

  it('works with EKS Pod Identity: the association hands the pod the role that reaches the access point', async () => {
    const res = await api.onboard({
      ...request('pi', 'pi/'),
      workload: {
        type: 'eks',
        clusters: [demo],
        namespace: 'pi',
        serviceAccounts: ['pbm-agent'],
        identity: 'pod-identity',
      },
    });
    expect(res.status).toBe(201);
    for (const [file, text] of Object.entries(res.body.snippets as Record<string, string>))
      expect(validateSnippet(file, text, { podIdentity: true })).toEqual([]);
    const creds = await podIdentityCredentials(stack.emulator, {
      cluster: demo,
      namespace: 'pi',
      serviceAccount: 'pbm-agent',
    });
    expect(await reaches(creds, res.body.policies.accessPoint.alias, 'pi/through-alias')).toBe(true);
    expect(await reaches(creds, 'demo-backups', 'pi/by-name')).toBe(false);
    expect((await api.send('DELETE', `/v1/onboardings/${res.body.id}`)).status).toBe(200);
  });

  it('names the ARN for Mountpoint and the alias elsewhere', async () => {
    const mp = await api.onboard({
      ...request('apps', 'mp/'),
      workload: { type: 'eks', clusters: [demo], namespace: 'apps', serviceAccounts: ['app'] },
      tool: 'mountpoint-s3-csi',
    });
    if (mp.status !== 201) throw new Error(JSON.stringify(mp.body));
    const pv = mp.body.snippets['mountpoint-pv.yaml'] as string;
    expect(pv).toContain(`bucketName: ${mp.body.policies.accessPoint.arn}`);
    for (const [file, text] of Object.entries(mp.body.snippets as Record<string, string>))
      expect(validateSnippet(file, text)).toEqual([]);
  });

  it('refuses, with a 400 naming the modes it can use, a Percona operator too old to work through an access point', async () => {
    const res = await api.onboard({
      ...request('psmdb', 'psmdb/'),
      workload: { type: 'eks', clusters: [demo], namespace: 'psmdb' },
      tool: 'psmdb-operator',
      versions: { 'percona-server-mongodb-operator': '1.21.2' },
    });
    expect(res.status).toBe(400);
    expect(res.body.errors[0].path).toBe('versions.percona-server-mongodb-operator');
    expect(res.body.errors[0].message).toMatch(/1\.22\.0/);
    expect(res.body.errors[0].message).toMatch(/bucket-policy or role-in-bucket-account/);
    expect(await accessPoints()).toEqual(['reports', `s3ob-${hexOf(COLLIDING)}`]);
  });
});
