import path from 'node:path';
import { GetKeyPolicyCommand, ListGrantsCommand, PutKeyPolicyCommand, RevokeGrantCommand } from '@aws-sdk/client-kms';
import { PutRolePolicyCommand } from '@aws-sdk/client-iam';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { Stack } from '../../../scripts/stack';
import { readTemplate } from '../../../emulator/cfn';
import { templateIam } from '../../../emulator/seed';
import { BACKUPS, PLATFORM, WORKLOADS, rootCredentials } from '../../helpers/emulator';
import { clients, podCredentials, useTestStack, type TestStack } from '../../helpers/stack';
import { keyPolicyStatement } from '../../../lib/policy/documents';

/**
 * Migrating an estate away from key-policy statements: with the API's KEY_POLICY_MIGRATION=true and the provisioner
 * deployed with AllowKeyPolicyMigration=true, a record of an older version converges to a KMS grant, and its
 * statement is removed from the key policy only after the grant exists (make before break); the key policy ends
 * exactly as it was before the older version wrote to it.
 */

process.env.KEY_POLICY_MIGRATION = 'true';
afterAll(() => delete process.env.KEY_POLICY_MIGRATION);

let stack: Stack;
let api: TestStack['api'];
let admin: TestStack['admin'];
useTestStack((t) => ({ stack, api, admin } = t), { resetEach: true });

const KEY = 'arn:aws:kms:eu-west-1:300000000003:key/11111111-2222-3333-4444-555555555555';
const demo = { name: 'demo', accountId: WORKLOADS, region: 'eu-west-1' };

/** The key account's provisioner as deployed with AllowKeyPolicyMigration=true (from the template itself). */
async function deployWithMigration(): Promise<void> {
  const template = readTemplate(path.resolve(__dirname, '../../../deploy/provisioner.yaml'));
  const { roles } = templateIam(template, BACKUPS, {
    PlatformAccountId: PLATFORM,
    ExternalId: 'unused-here',
    AllowKeyPolicyMigration: 'true',
  });
  const provisioner = roles.find((r) => r.name === 's3-onboarding-provisioner')!;
  expect(provisioner.inline.provision).toContain('MigrateOptedInKeyPolicies');
  await clients(stack, rootCredentials(BACKUPS)).iam.send(
    new PutRolePolicyCommand({
      RoleName: 's3-onboarding-provisioner',
      PolicyName: 'provision',
      PolicyDocument: provisioner.inline.provision,
    }),
  );
}

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

describe('Key-policy migration (AllowKeyPolicyMigration)', () => {
  it('grants first, then removes the older version’s statement; the workload reaches its objects throughout', async () => {
    await deployWithMigration();
    const body = {
      workload: { type: 'eks', clusters: [demo], namespace: 'mongodb', serviceAccounts: ['pbm-agent'] },
      bucket: {
        name: 'demo-encrypted-backups',
        accountId: BACKUPS,
        region: 'eu-west-1',
        prefix: 'mig/',
        kmsKeyArn: KEY,
      },
      tool: 'pbm',
    };
    const kms = clients(stack, rootCredentials(BACKUPS)).kms;
    const keyPolicy = async () =>
      (await kms.send(new GetKeyPolicyCommand({ KeyId: KEY, PolicyName: 'default' }))).Policy!;
    const original = await keyPolicy();
    const res = await api.onboard(body);
    const { id, roleArn } = res.body as { id: string; roleArn: string };
    const grants = async () =>
      (await kms.send(new ListGrantsCommand({ KeyId: KEY, GranteePrincipal: roleArn }))).Grants ?? [];
    // as an older version left it: its statement in the key policy, no grant, a record that names the statement
    const statement = keyPolicyStatement(id, roleArn, ['kms:Decrypt', 'kms:GenerateDataKey']);
    const parsed = JSON.parse(original);
    await kms.send(
      new PutKeyPolicyCommand({
        KeyId: KEY,
        PolicyName: 'default',
        Policy: JSON.stringify({ ...parsed, Statement: [...parsed.Statement, statement] }),
      }),
    );
    for (const g of await grants()) await kms.send(new RevokeGrantCommand({ KeyId: KEY, GrantId: g.GrantId! }));
    const old = { accountId: BACKUPS, region: 'eu-west-1', keyArn: KEY, statements: [statement] };
    await rewriteRecord(id, (rec) => {
      delete rec.live.keyGrant;
      rec.live.keyStatements = old;
      delete rec.desired.keyGrant;
      rec.desired.keyStatements = old;
    });
    await admin.clearCalls();

    const converged = await api.onboard(body);
    expect(converged.status).toBe(201);
    expect(converged.body.changes.map((c: { action: string }) => c.action)).toEqual([
      'create-key-grant',
      'remove-key-policy-statement',
    ]);
    expect(converged.body.leftToOwner).toBeUndefined();
    const calls = await admin.calls();
    const grant = calls.find((c) => c.operation === 'CreateGrant' && c.status === 200)!;
    const put = calls.find((c) => c.operation === 'PutKeyPolicy' && c.status === 200)!;
    expect(grant.seq).toBeLessThan(put.seq);
    expect(JSON.parse(await keyPolicy())).toEqual(JSON.parse(original));
    expect((await grants()).map((g) => g.Name)).toEqual([`s3-onboarding_${id}`]);
    const pod = await podCredentials(stack, roleArn, {
      cluster: 'demo',
      namespace: 'mongodb',
      serviceAccount: 'pbm-agent',
    });
    const s3 = clients(stack, pod).s3;
    await s3.send(new PutObjectCommand({ Bucket: 'demo-encrypted-backups', Key: 'mig/x', Body: 'x' }));
    await s3.send(new GetObjectCommand({ Bucket: 'demo-encrypted-backups', Key: 'mig/x' }));

    // the record holds the grant only now: a repeat changes nothing, verify passes, DELETE retires the grant
    expect((await api.onboard(body)).status).toBe(200);
    const v = await api.send('POST', `/v1/onboardings/${id}/verify`);
    expect(v.body.checks.filter((c: { ok: boolean }) => !c.ok)).toEqual([]);
    expect((await api.send('DELETE', `/v1/onboardings/${id}`)).status).toBe(200);
    expect(await grants()).toEqual([]);
    expect(JSON.parse(await keyPolicy())).toEqual(JSON.parse(original));
  });
});
