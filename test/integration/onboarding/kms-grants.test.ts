import { GetKeyPolicyCommand, ListGrantsCommand, PutKeyPolicyCommand, RevokeGrantCommand } from '@aws-sdk/client-kms';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { DeleteRoleCommand, DeleteRolePolicyCommand } from '@aws-sdk/client-iam';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { AwsCredentialIdentity } from '@smithy/types';
import type { Stack } from '../../../scripts/stack';
import { BACKUPS, WORKLOADS, demoTopology, rootCredentials } from '../../helpers/emulator';
import { podIdentityCredentials } from '../../helpers/pod-identity';
import { clients, podCredentials, useTestStack, type TestStack } from '../../helpers/stack';
import { keyPolicyStatement } from '../../../lib/policy/documents';

/**
 * SSE-KMS through KMS grants (contract section 4): in every mode and for every identity kind, the workload's role
 * gets a grant on the bucket's key, the key policy stays byte for byte as it was through POST, converge and
 * DELETE, and the workload reaches its objects under SSE-KMS through the grant alone. Older records that wrote a
 * key-policy statement converge to a grant, their statement left to the key's owner (the provisioner no longer
 * writes key policies; test/integration/onboarding/kms-migration.test.ts covers AllowKeyPolicyMigration).
 */

let stack: Stack;
let api: TestStack['api'];
let admin: TestStack['admin'];

const KEY = 'arn:aws:kms:eu-west-1:300000000003:key/11111111-2222-3333-4444-555555555555';
const LOCAL_KEY = `arn:aws:kms:eu-west-1:${WORKLOADS}:key/77777777-2222-3333-4444-555555555555`;
const INSTANCE_ROLE = `arn:aws:iam::${WORKLOADS}:role/pbm-ec2-instance-role`;
const topology = demoTopology();
topology.kmsKeys = [...(topology.kmsKeys ?? []), { arn: LOCAL_KEY, tags: { 's3-onboarding-managed': 'true' } }];
topology.buckets = [
  ...(topology.buckets ?? []),
  {
    name: 'local-encrypted',
    accountId: WORKLOADS,
    region: 'eu-west-1',
    kmsKeyArn: LOCAL_KEY,
    tags: { 's3-onboarding-managed': 'true' },
  },
];
useTestStack((t) => ({ stack, api, admin } = t), { resetEach: true, topology });

const demo = { name: 'demo', accountId: WORKLOADS, region: 'eu-west-1' };
type Kind = 'irsa' | 'pod-identity' | 'ec2';
const workload = (kind: Kind, serviceAccount = 'pbm-agent') =>
  kind === 'ec2'
    ? { type: 'ec2', instanceRoleArn: INSTANCE_ROLE }
    : { type: 'eks', clusters: [demo], namespace: 'mongodb', serviceAccounts: [serviceAccount], identity: kind };
const encrypted = (prefix: string) => ({
  name: 'demo-encrypted-backups',
  accountId: BACKUPS,
  region: 'eu-west-1',
  prefix,
  kmsKeyArn: KEY,
});

const kmsOf = (keyArn: string) => clients(stack, rootCredentials(keyArn.split(':')[4])).kms;
const keyPolicy = async (keyArn: string) =>
  (await kmsOf(keyArn).send(new GetKeyPolicyCommand({ KeyId: keyArn, PolicyName: 'default' }))).Policy!;
const grantsTo = async (keyArn: string, grantee: string) =>
  ((await kmsOf(keyArn).send(new ListGrantsCommand({ KeyId: keyArn, GranteePrincipal: grantee }))).Grants ?? []).map(
    (g) => ({ name: g.Name, operations: g.Operations, retiring: g.RetiringPrincipal, id: g.GrantId }),
  );

/** The workload's own credentials, as its pods (IRSA, Pod Identity) or its instance (EC2, through the role) get them. */
async function workloadCredentials(kind: Kind, roleArn: string, serviceAccount = 'pbm-agent') {
  if (kind === 'irsa') return podCredentials(stack, roleArn, { cluster: 'demo', namespace: 'mongodb', serviceAccount });
  if (kind === 'pod-identity')
    return podIdentityCredentials(stack.emulator, { cluster: demo, namespace: 'mongodb', serviceAccount });
  return admin.roleCredentials(roleArn); // the role the instance assumes (flows.test.ts proves that chain)
}

const attempt = (p: Promise<unknown>) =>
  p.then(
    () => 'ok',
    (e: Error) => e.name,
  );
/** PutObject (SSE-KMS by the bucket's default: GenerateDataKey) and GetObject (Decrypt) of one object. */
async function readWrite(creds: AwsCredentialIdentity, bucket: string, key: string) {
  const s3 = clients(stack, creds).s3;
  return {
    put: await attempt(s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: 'backup' }))),
    get: await attempt(s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))),
  };
}

const CASES: { name: string; kind: Kind; mode?: string; bucket: Record<string, unknown>; keyArn: string }[] = [
  {
    name: 'same account, IRSA',
    kind: 'irsa',
    bucket: { name: 'local-encrypted', region: 'eu-west-1', prefix: 'g/', kmsKeyArn: LOCAL_KEY },
    keyArn: LOCAL_KEY,
  },
  {
    name: 'same account, EC2',
    kind: 'ec2',
    bucket: { name: 'local-encrypted', region: 'eu-west-1', prefix: 'g/', kmsKeyArn: LOCAL_KEY },
    keyArn: LOCAL_KEY,
  },
  { name: 'bucket-policy, IRSA', kind: 'irsa', mode: 'bucket-policy', bucket: encrypted('g/'), keyArn: KEY },
  {
    name: 'bucket-policy, Pod Identity',
    kind: 'pod-identity',
    mode: 'bucket-policy',
    bucket: encrypted('g/'),
    keyArn: KEY,
  },
  { name: 'bucket-policy, EC2', kind: 'ec2', mode: 'bucket-policy', bucket: encrypted('g/'), keyArn: KEY },
  {
    name: 'role-in-bucket-account, IRSA',
    kind: 'irsa',
    mode: 'role-in-bucket-account',
    bucket: encrypted('g/'),
    keyArn: KEY,
  },
  {
    name: 'role-in-bucket-account, Pod Identity (the target role is the grantee)',
    kind: 'pod-identity',
    mode: 'role-in-bucket-account',
    bucket: encrypted('g/'),
    keyArn: KEY,
  },
  {
    name: 'role-in-bucket-account, EC2',
    kind: 'ec2',
    mode: 'role-in-bucket-account',
    bucket: encrypted('g/'),
    keyArn: KEY,
  },
];

describe('SSE-KMS through a KMS grant, in every mode and identity kind', () => {
  it.each(CASES)(
    '$name: grant made, objects reached through it, key policy unchanged through POST, converge and DELETE',
    async (c) => {
      const before = await keyPolicy(c.keyArn);
      const body = {
        workload: workload(c.kind),
        bucket: c.bucket,
        tool: 'pbm',
        ...(c.mode ? { crossAccountMode: c.mode } : {}),
      };
      const res = await api.onboard(body);
      expect(res.status).toBe(201);
      const roleArn: string = res.body.roleArn;
      expect(res.body.changes.filter((x: { action: string }) => x.action.includes('key'))).toEqual([
        { action: 'create-key-grant', accountId: c.keyArn.split(':')[4], resource: c.keyArn },
      ]);
      expect(res.body.policies.keyGrants).toEqual([
        {
          keyArn: c.keyArn,
          name: `s3-onboarding_${res.body.id}`,
          granteePrincipal: roleArn,
          retiringPrincipal: `arn:aws:iam::${c.keyArn.split(':')[4]}:role/s3-onboarding-provisioner`,
          operations: ['Decrypt', 'GenerateDataKey'],
        },
      ]);
      expect(await grantsTo(c.keyArn, roleArn)).toEqual([
        {
          name: `s3-onboarding_${res.body.id}`,
          operations: ['Decrypt', 'GenerateDataKey'],
          retiring: `arn:aws:iam::${c.keyArn.split(':')[4]}:role/s3-onboarding-provisioner`,
          id: expect.any(String),
        },
      ]);
      expect(await keyPolicy(c.keyArn)).toBe(before);

      // the data plane: the workload writes (GenerateDataKey) and reads back (Decrypt) under SSE-KMS
      const creds = await workloadCredentials(c.kind, roleArn);
      expect(await readWrite(creds, c.bucket.name as string, 'g/enc')).toEqual({ put: 'ok', get: 'ok' });

      // converge: nothing to change, verify passes (the grant is checked), the key policy is as it was
      const again = await api.onboard(body);
      expect(again.status).toBe(200);
      const v = await api.send('POST', `/v1/onboardings/${res.body.id}/verify`);
      expect(v.body.checks.filter((x: { ok: boolean }) => !x.ok)).toEqual([]);
      expect(v.body.checks.map((x: { name: string }) => x.name)).toEqual(
        expect.arrayContaining(['key-grant', 'reach:kms:Decrypt', 'reach:kms:GenerateDataKey']),
      );

      // the grant revoked by the key's owner is drift, and converging makes it again; a role in another account than
      // the key has nothing else (in the key's account, the key policy's delegation to IAM lets the role's own
      // policy suffice: the grant is the same access, granted the same way in every mode)
      const [made] = await grantsTo(c.keyArn, roleArn);
      await kmsOf(c.keyArn).send(new RevokeGrantCommand({ KeyId: c.keyArn, GrantId: made.id }));
      const crossAccount = roleArn.split(':')[4] !== c.keyArn.split(':')[4];
      expect((await readWrite(creds, c.bucket.name as string, 'g/enc')).put).toBe(crossAccount ? 'AccessDenied' : 'ok');
      const drifted = await api.send('POST', `/v1/onboardings/${res.body.id}/verify`);
      const failing = drifted.body.checks.filter((x: { ok: boolean }) => !x.ok).map((x: { name: string }) => x.name);
      expect(failing).toEqual(['key-grant', 'reach:kms:Decrypt', 'reach:kms:GenerateDataKey']);
      const repaired = await api.onboard(body);
      expect(repaired.body.changes.map((x: { action: string }) => x.action)).toEqual(['create-key-grant']);
      expect(await readWrite(creds, c.bucket.name as string, 'g/enc')).toEqual({ put: 'ok', get: 'ok' });

      // DELETE retires the grant; the key policy was never written
      const del = await api.send('DELETE', `/v1/onboardings/${res.body.id}`);
      expect(del.status).toBe(200);
      expect(del.body.changes).toEqual(
        expect.arrayContaining([{ action: 'retire-key-grant', accountId: c.keyArn.split(':')[4], resource: c.keyArn }]),
      );
      expect(await grantsTo(c.keyArn, roleArn)).toEqual([]);
      expect(await keyPolicy(c.keyArn)).toBe(before);
      expect((await admin.calls()).filter((x) => x.operation === 'PutKeyPolicy')).toEqual([]);
      // the grant was found again (ListGrants) before it was retired
      const lists = (await admin.calls()).filter((x) => x.operation === 'ListGrants');
      expect(lists.length).toBeGreaterThan(0);
    },
  );
});

describe('Access levels through the grant', () => {
  it('read-only gets Decrypt alone: it reads objects under SSE-KMS and cannot write', async () => {
    const res = await api.onboard({
      workload: workload('irsa', 'reader'),
      bucket: encrypted('ro/'),
      tool: 'generic',
      access: 'read-only',
    });
    expect(res.status).toBe(201);
    expect((await grantsTo(KEY, res.body.roleArn)).map((g) => g.operations)).toEqual([['Decrypt']]);
    await clients(stack, rootCredentials(BACKUPS)).s3.send(
      new PutObjectCommand({ Bucket: 'demo-encrypted-backups', Key: 'ro/seed', Body: 'seed' }),
    );
    const creds = await workloadCredentials('irsa', res.body.roleArn, 'reader');
    const s3 = clients(stack, creds).s3;
    expect(await attempt(s3.send(new GetObjectCommand({ Bucket: 'demo-encrypted-backups', Key: 'ro/seed' })))).toBe(
      'ok',
    );
    expect(
      await attempt(s3.send(new PutObjectCommand({ Bucket: 'demo-encrypted-backups', Key: 'ro/x', Body: 'x' }))),
    ).toBe('AccessDenied');
  });

  it('another level: the new grant is made before the old one is retired', async () => {
    const body = { workload: workload('irsa', 'worker'), bucket: encrypted('lv/'), tool: 'generic' };
    const rw = await api.onboard(body);
    await admin.clearCalls();
    const ro = await api.onboard({ ...body, access: 'read-only' });
    expect(ro.status).toBe(201);
    const calls = await admin.calls();
    const created = calls.find((x) => x.operation === 'CreateGrant' && x.status === 200)!;
    const retired = calls.find((x) => x.operation === 'RetireGrant' && x.status === 200)!;
    expect(created.seq).toBeLessThan(retired.seq);
    expect((await grantsTo(KEY, rw.body.roleArn)).map((g) => g.operations)).toEqual([['Decrypt']]);
  });
});

describe('A move to another role (IRSA → Pod Identity)', () => {
  it('makes the new role’s grant before retiring the old role’s; the workload reaches its objects throughout', async () => {
    const before = await keyPolicy(KEY);
    const irsa = await api.onboard({ workload: workload('irsa'), bucket: encrypted('mv/'), tool: 'pbm' });
    await admin.clearCalls();
    const moved = await api.onboard({ workload: workload('pod-identity'), bucket: encrypted('mv/'), tool: 'pbm' });
    expect(moved.status).toBe(201);
    expect(moved.body.id).toBe(irsa.body.id);
    expect(moved.body.roleArn).not.toBe(irsa.body.roleArn);
    const calls = await admin.calls();
    const created = calls.find((x) => x.operation === 'CreateGrant' && x.status === 200)!;
    const retired = calls.find((x) => x.operation === 'RetireGrant' && x.status === 200)!;
    expect(created.seq).toBeLessThan(retired.seq);
    expect(await grantsTo(KEY, irsa.body.roleArn)).toEqual([]);
    expect((await grantsTo(KEY, moved.body.roleArn)).map((g) => g.name)).toEqual([`s3-onboarding_${moved.body.id}`]);
    const creds = await workloadCredentials('pod-identity', moved.body.roleArn);
    expect(await readWrite(creds, 'demo-encrypted-backups', 'mv/enc')).toEqual({ put: 'ok', get: 'ok' });
    expect(await keyPolicy(KEY)).toBe(before);
  });
});

describe('A workload role deleted and made again', () => {
  it('gets its grant made again (the old one named the deleted role): the workload reaches its objects', async () => {
    const body = { workload: workload('irsa'), bucket: encrypted('re/'), tool: 'pbm' };
    const res = await api.onboard(body);
    const roleArn: string = res.body.roleArn;
    const roleName = roleArn.split('/').pop()!;
    const iam = clients(stack, rootCredentials(WORKLOADS)).iam;
    await iam.send(new DeleteRolePolicyCommand({ RoleName: roleName, PolicyName: `s3-onboarding-${res.body.id}` }));
    await iam.send(new DeleteRoleCommand({ RoleName: roleName }));
    const [stale] = await grantsTo(KEY, roleArn);
    await admin.clearCalls();
    const again = await api.onboard(body);
    expect(again.status).toBe(201);
    const actions = again.body.changes.map((x: { action: string }) => x.action);
    expect(actions).toEqual(expect.arrayContaining(['create-role', 'retire-key-grant', 'create-key-grant']));
    const grants = await grantsTo(KEY, roleArn);
    expect(grants.map((g) => g.id)).not.toContain(stale.id);
    expect(grants).toHaveLength(1);
    const creds = await workloadCredentials('irsa', roleArn);
    expect(await readWrite(creds, 'demo-encrypted-backups', 're/enc')).toEqual({ put: 'ok', get: 'ok' });
  });
});

describe('An onboarding recorded by an older version, with a statement in the key policy', () => {
  it('converges to a grant; the old statement is left to the key’s owner with the commands, and the key policy is never written', async () => {
    const body = { workload: workload('irsa'), bucket: encrypted('old/'), tool: 'pbm' };
    const res = await api.onboard(body);
    const id: string = res.body.id;
    const roleArn: string = res.body.roleArn;
    // as the older version left it: a statement in the key policy, no grant, and a record that says so
    const kms = kmsOf(KEY);
    const original = await keyPolicy(KEY);
    const statement = keyPolicyStatement(id, roleArn, ['kms:Decrypt', 'kms:GenerateDataKey']);
    const parsed = JSON.parse(original);
    const withStatement = JSON.stringify({ ...parsed, Statement: [...parsed.Statement, statement] });
    await kms.send(new PutKeyPolicyCommand({ KeyId: KEY, PolicyName: 'default', Policy: withStatement }));
    for (const g of await grantsTo(KEY, roleArn)) await kms.send(new RevokeGrantCommand({ KeyId: KEY, GrantId: g.id }));
    const old = { accountId: BACKUPS, region: 'eu-west-1', keyArn: KEY, statements: [statement] };
    await rewriteRecord(id, (rec) => {
      delete rec.live.keyGrant;
      rec.live.keyStatements = old;
      delete rec.desired.keyGrant;
      rec.desired.keyStatements = old;
    });
    const creds = await workloadCredentials('irsa', roleArn);
    expect(await readWrite(creds, 'demo-encrypted-backups', 'old/enc')).toEqual({ put: 'ok', get: 'ok' });
    await admin.clearCalls();

    const converged = await api.onboard(body);
    expect(converged.status).toBe(201);
    expect(converged.body.changes.map((x: { action: string }) => x.action)).toEqual(['create-key-grant']);
    expect(converged.body.leftToOwner).toEqual([
      {
        accountId: BACKUPS,
        resource: KEY,
        detail: expect.stringContaining(`delete the statement with Sid ${statement.Sid}`),
      },
    ]);
    expect(await keyPolicy(KEY)).toBe(withStatement);
    expect(await grantsTo(KEY, roleArn)).toHaveLength(1);
    expect(await readWrite(creds, 'demo-encrypted-backups', 'old/enc')).toEqual({ put: 'ok', get: 'ok' });
    // verify names what is left; DELETE retires the grant and names the statement again
    const v = await api.send('POST', `/v1/onboardings/${id}/verify`);
    expect(v.body.checks.find((x: { name: string }) => x.name === 'key-policy-statement')).toMatchObject({ ok: false });
    const del = await api.send('DELETE', `/v1/onboardings/${id}`);
    expect(del.status).toBe(200);
    expect(del.body.leftToOwner).toEqual([expect.objectContaining({ resource: KEY })]);
    expect(await grantsTo(KEY, roleArn)).toEqual([]);
    expect(await keyPolicy(KEY)).toBe(withStatement);
    expect((await admin.calls()).filter((x) => x.operation === 'PutKeyPolicy')).toEqual([]);
  });
});

/** Edits a stored onboarding record in place (as an older version of the service would have written it). */
async function rewriteRecord(id: string, edit: (rec: Record<string, any>) => void): Promise<void> {
  const doc = DynamoDBDocumentClient.from(
    new DynamoDBClient({
      endpoint: stack.dynamodbUrl,
      region: 'eu-west-1',
      credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
    }),
  );
  try {
    const key = { pk: `ONB#${id}`, sk: 'RECORD' };
    const item = (await doc.send(new GetCommand({ TableName: process.env.TABLE_NAME!, Key: key }))).Item!;
    const rec = JSON.parse(item.doc as string);
    edit(rec);
    await doc.send(new PutCommand({ TableName: process.env.TABLE_NAME!, Item: { ...item, doc: JSON.stringify(rec) } }));
  } finally {
    doc.destroy();
  }
}
