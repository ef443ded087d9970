import {
  CreateGrantCommand,
  DecryptCommand,
  DescribeKeyCommand,
  EncryptCommand,
  GenerateDataKeyCommand,
  ListGrantsCommand,
  RetireGrantCommand,
  RevokeGrantCommand,
  type CreateGrantCommandInput,
  type GrantOperation,
} from '@aws-sdk/client-kms';
import { GetObjectCommand, PutBucketPolicyCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { CreateRoleCommand, DeleteRoleCommand, DeleteRolePolicyCommand } from '@aws-sdk/client-iam';
import { CreateAccessPointCommand, PutAccessPointPolicyCommand } from '@aws-sdk/client-s3-control';
import type { Emulator } from '../../../emulator/server';
import {
  BACKUPS,
  WORKLOADS,
  clientsFor,
  demoTopology,
  type emulatorAdmin,
  failure,
  rootCredentials,
  useTestEmulator,
  type Clients,
} from '../../helpers/emulator';

const KEY = `arn:aws:kms:eu-west-1:${BACKUPS}:key/11111111-2222-3333-4444-555555555555`;
const BUCKET = 'demo-encrypted-backups';
const BUCKET_ARN = `arn:aws:s3:::${BUCKET}`;
const GRANTEE = `arn:aws:iam::${WORKLOADS}:role/grantee`;
const BYSTANDER = `arn:aws:iam::${WORKLOADS}:role/bystander`;
const KMS_USER = `arn:aws:iam::${WORKLOADS}:role/kms-user`;
const GRANTER = `arn:aws:iam::${BACKUPS}:role/granter`;
const RETIRER = `arn:aws:iam::${BACKUPS}:role/retirer`;
const doc = (statements: object[]) => JSON.stringify({ Version: '2012-10-17', Statement: statements });
const ec2Trust = {
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }],
};
const objects = {
  Effect: 'Allow',
  Action: ['s3:GetObject', 's3:PutObject'],
  Resource: [`${BUCKET_ARN}/*`, `arn:aws:s3:eu-west-1:${BACKUPS}:accesspoint/*/object/*`],
};

// the demo topology (its key's policy trusts only the backups account), plus workload roles that may read and write
// the encrypted bucket but hold no KMS permission (kms-user: KMS permissions in its IAM policy only), a granter in
// the backups account allowed to make only Decrypt/GenerateDataKey grants to workload roles, and a retirer with none
const topology = demoTopology();
topology.roles = [
  ...(topology.roles ?? []),
  {
    accountId: WORKLOADS,
    name: 'grantee',
    trustPolicy: ec2Trust,
    inlinePolicies: { s3: { Version: '2012-10-17', Statement: [objects] } },
  },
  {
    accountId: WORKLOADS,
    name: 'bystander',
    trustPolicy: ec2Trust,
    inlinePolicies: { s3: { Version: '2012-10-17', Statement: [objects] } },
  },
  {
    accountId: WORKLOADS,
    name: 'kms-user',
    trustPolicy: ec2Trust,
    inlinePolicies: {
      kms: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'kms:GenerateDataKey', Resource: KEY }] },
    },
  },
  {
    accountId: BACKUPS,
    name: 'granter',
    trustPolicy: ec2Trust,
    inlinePolicies: {
      kms: {
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Action: 'kms:CreateGrant',
            Resource: KEY,
            Condition: {
              'ForAllValues:StringEquals': { 'kms:GrantOperations': ['Decrypt', 'GenerateDataKey'] },
              Bool: { 'kms:GrantIsForAWSResource': 'false' },
              StringLike: {
                'kms:GranteePrincipal': `arn:aws:iam::${WORKLOADS}:role/*`,
                'kms:RetiringPrincipal': `arn:aws:iam::${BACKUPS}:role/retirer`,
              },
            },
          },
          { Effect: 'Allow', Action: ['kms:ListGrants', 'kms:RevokeGrant'], Resource: KEY },
        ],
      },
    },
  },
  { accountId: BACKUPS, name: 'retirer', trustPolicy: ec2Trust },
];

let emu: Emulator;
let admin: ReturnType<typeof emulatorAdmin>;
let backups: Clients;
let workloads: Clients;
useTestEmulator((e, a) => ((emu = e), (admin = a)), topology);
beforeEach(async () => {
  backups = clientsFor(emu, rootCredentials(BACKUPS));
  workloads = clientsFor(emu, rootCredentials(WORKLOADS));
  // the bucket lets the workload roles read and write (and access points decide for themselves); the key does not
  await backups.s3.send(
    new PutBucketPolicyCommand({
      Bucket: BUCKET,
      Policy: doc([
        {
          Effect: 'Allow',
          Principal: { AWS: [GRANTEE, BYSTANDER] },
          Action: ['s3:GetObject', 's3:PutObject'],
          Resource: `${BUCKET_ARN}/*`,
        },
        {
          Effect: 'Allow',
          Principal: { AWS: '*' },
          Action: '*',
          Resource: [BUCKET_ARN, `${BUCKET_ARN}/*`],
          Condition: { StringEquals: { 's3:DataAccessPointAccount': BACKUPS } },
        },
      ]),
    }),
  );
});

const as = async (arn: string): Promise<Clients> => clientsFor(emu, await admin.roleCredentials(arn));
const grant = (c: Clients, input: Partial<CreateGrantCommandInput> & { Operations: GrantOperation[] }) =>
  c.kms.send(new CreateGrantCommand({ KeyId: KEY, GranteePrincipal: GRANTEE, ...input }));
const dataKey = (c: Clients, ctx?: Record<string, string>, keyId = KEY) =>
  c.kms.send(new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: 'AES_256', EncryptionContext: ctx }));
const put = (c: Clients, key = 'k', bucket = BUCKET, headers?: { BucketKeyEnabled?: boolean }) =>
  c.s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: 'secret', ...headers }));
const get = (c: Clients, key = 'k', bucket = BUCKET) =>
  c.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key })).then((o) => o.Body!.transformToString());

describe('Emulator: KMS grants', () => {
  it('creates a grant (64-hex id and a token) and lists it in AWS shape, in pages', async () => {
    const made = await grant(backups, {
      Operations: ['Decrypt', 'GenerateDataKey'],
      Name: 'onboarding-1',
      RetiringPrincipal: RETIRER,
      Constraints: { EncryptionContextSubset: { 'aws:s3:arn': BUCKET_ARN } },
    });
    expect(made.GrantId).toMatch(/^[0-9a-f]{64}$/);
    expect(made.GrantToken!.length).toBeGreaterThan(64);
    await grant(backups, { Operations: ['DescribeKey'], GranteePrincipal: BYSTANDER });
    const listed = await backups.kms.send(new ListGrantsCommand({ KeyId: KEY }));
    expect(listed.Truncated).toBe(false);
    expect(listed.Grants).toHaveLength(2);
    expect(listed.Grants![0]).toEqual({
      KeyId: KEY,
      GrantId: made.GrantId,
      Name: 'onboarding-1',
      CreationDate: expect.any(Date),
      GranteePrincipal: GRANTEE,
      RetiringPrincipal: RETIRER,
      IssuingAccount: `arn:aws:iam::${BACKUPS}:root`,
      Operations: ['Decrypt', 'GenerateDataKey'],
      Constraints: { EncryptionContextSubset: { 'aws:s3:arn': BUCKET_ARN } },
    });
    const page = await backups.kms.send(new ListGrantsCommand({ KeyId: KEY, Limit: 1 }));
    expect(page.Truncated).toBe(true);
    const next = await backups.kms.send(new ListGrantsCommand({ KeyId: KEY, Limit: 1, Marker: page.NextMarker }));
    expect(next.Grants!.map((g) => g.GranteePrincipal)).toEqual([BYSTANDER]);
    expect(
      (await backups.kms.send(new ListGrantsCommand({ KeyId: KEY, GranteePrincipal: BYSTANDER }))).Grants,
    ).toHaveLength(1);
    expect((await backups.kms.send(new ListGrantsCommand({ KeyId: KEY, GrantId: made.GrantId }))).Grants).toHaveLength(
      1,
    );
  });

  it('answers the same grant id for a repeated named grant', async () => {
    const input = { Operations: ['Decrypt'] as GrantOperation[], Name: 'same' };
    const a = await grant(backups, input);
    const b = await grant(backups, input);
    expect(b.GrantId).toBe(a.GrantId);
    expect((await backups.kms.send(new ListGrantsCommand({ KeyId: KEY }))).Grants).toHaveLength(1);
    expect((await grant(backups, { ...input, Operations: ['Decrypt', 'GenerateDataKey'] })).GrantId).not.toBe(
      a.GrantId,
    );
    // each call's token is new, and any of them retires the grant (API Reference, CreateGrant `Name`)
    expect(b.GrantToken).not.toBe(a.GrantToken);
    await backups.kms.send(new RetireGrantCommand({ GrantToken: b.GrantToken }));
    expect((await backups.kms.send(new ListGrantsCommand({ KeyId: KEY, GrantId: a.GrantId }))).Grants).toEqual([]);
  });

  it('validates: operations, principals, constraints only with context operations, DryRun', async () => {
    expect((await failure(grant(backups, { Operations: ['Fly' as GrantOperation] }))).name).toBe('ValidationException');
    expect((await failure(grant(backups, { Operations: ['Sign'] }))).name).toBe('ValidationException');
    expect((await failure(grant(backups, { Operations: [] }))).name).toBe('ValidationException');
    expect(
      (
        await failure(
          grant(backups, { Operations: ['Decrypt'], GranteePrincipal: `arn:aws:iam::${WORKLOADS}:role/no-such-role` }),
        )
      ).name,
    ).toBe('InvalidArnException');
    expect((await failure(grant(backups, { Operations: ['Decrypt'], GranteePrincipal: 'not-an-arn' }))).name).toBe(
      'InvalidArnException',
    );
    expect(
      (
        await failure(
          grant(backups, { Operations: ['DescribeKey'], Constraints: { EncryptionContextEquals: { a: 'b' } } }),
        )
      ).name,
    ).toBe('ValidationException');
    const dry = await failure(grant(backups, { Operations: ['Decrypt'], DryRun: true }));
    expect(dry.name).toBe('DryRunOperationException');
    expect((await backups.kms.send(new ListGrantsCommand({ KeyId: KEY }))).Grants).toEqual([]);
  });

  it("lets the grantee use the key for the grant's operations only, across accounts, without any key or IAM policy", async () => {
    const grantee = await as(GRANTEE);
    expect((await failure(dataKey(grantee))).name).toBe('AccessDeniedException');
    await grant(backups, { Operations: ['GenerateDataKey', 'Decrypt'] });
    const key = await dataKey(grantee, { purpose: 'test' });
    expect(key.KeyId).toBe(KEY);
    expect(key.Plaintext).toHaveLength(32);
    const back = await grantee.kms.send(
      new DecryptCommand({ CiphertextBlob: key.CiphertextBlob, EncryptionContext: { purpose: 'test' } }),
    );
    expect(Buffer.from(back.Plaintext!)).toEqual(Buffer.from(key.Plaintext!));
    // another context does not decrypt what this one encrypted
    expect(
      (
        await failure(
          grantee.kms.send(
            new DecryptCommand({ CiphertextBlob: key.CiphertextBlob, EncryptionContext: { purpose: 'other' } }),
          ),
        )
      ).name,
    ).toBe('InvalidCiphertextException');
    expect(
      (await failure(grantee.kms.send(new EncryptCommand({ KeyId: KEY, Plaintext: Buffer.from('x') })))).name,
    ).toBe('AccessDeniedException');
    expect((await failure(grantee.kms.send(new DescribeKeyCommand({ KeyId: KEY })))).name).toBe(
      'AccessDeniedException',
    );
    // across accounts a key is named by its ARN: its alias or id resolve in the caller's own account
    expect((await failure(dataKey(grantee, undefined, 'alias/backups'))).name).toBe('NotFoundException');
    // the grant names the grantee, not its account's other roles
    expect((await failure(dataKey(await as(BYSTANDER)))).name).toBe('AccessDeniedException');
  });

  it('binds a grant to the role it named: a role deleted and made again under the same name is not the grantee', async () => {
    await grant(backups, { Operations: ['GenerateDataKey'] });
    await dataKey(await as(GRANTEE));
    await workloads.iam.send(new DeleteRolePolicyCommand({ RoleName: 'grantee', PolicyName: 's3' }));
    await workloads.iam.send(new DeleteRoleCommand({ RoleName: 'grantee' }));
    await workloads.iam.send(
      new CreateRoleCommand({ RoleName: 'grantee', AssumeRolePolicyDocument: JSON.stringify(ec2Trust) }),
    );
    expect((await failure(dataKey(await as(GRANTEE)))).name).toBe('AccessDeniedException');
  });

  it("applies EncryptionContextSubset and EncryptionContextEquals to the call's encryption context", async () => {
    const grantee = await as(GRANTEE);
    await grant(backups, { Operations: ['GenerateDataKey'], Constraints: { EncryptionContextSubset: { team: 'a' } } });
    await dataKey(grantee, { team: 'a', extra: 'x' });
    expect((await failure(dataKey(grantee, { team: 'b' }))).name).toBe('AccessDeniedException');
    expect((await failure(dataKey(grantee))).name).toBe('AccessDeniedException');
    await grant(backups, { Operations: ['Encrypt'], Constraints: { EncryptionContextEquals: { team: 'a' } } });
    await grantee.kms.send(
      new EncryptCommand({ KeyId: KEY, Plaintext: Buffer.from('x'), EncryptionContext: { team: 'a' } }),
    );
    expect(
      (
        await failure(
          grantee.kms.send(
            new EncryptCommand({
              KeyId: KEY,
              Plaintext: Buffer.from('x'),
              EncryptionContext: { team: 'a', extra: 'x' },
            }),
          ),
        )
      ).name,
    ).toBe('AccessDeniedException');
  });

  it("lets a grant to an account serve that account's principals whose IAM policies allow the operation", async () => {
    await grant(backups, { Operations: ['GenerateDataKey'], GranteePrincipal: `arn:aws:iam::${WORKLOADS}:root` });
    await dataKey(await as(KMS_USER));
    await dataKey(workloads);
    expect((await failure(dataKey(await as(BYSTANDER)))).name).toBe('AccessDeniedException');
  });

  it('authorises CreateGrant with kms:GrantOperations, kms:GranteePrincipal, kms:RetiringPrincipal and kms:GrantIsForAWSResource', async () => {
    const granter = await as(GRANTER);
    await grant(granter, { Operations: ['Decrypt', 'GenerateDataKey'], RetiringPrincipal: RETIRER });
    await grant(granter, { Operations: ['Decrypt'], RetiringPrincipal: RETIRER });
    expect(
      (await failure(grant(granter, { Operations: ['Decrypt', 'Encrypt'], RetiringPrincipal: RETIRER }))).name,
    ).toBe('AccessDeniedException');
    expect(
      (
        await failure(
          grant(granter, { Operations: ['Decrypt'], RetiringPrincipal: RETIRER, GranteePrincipal: RETIRER }),
        )
      ).name,
    ).toBe('AccessDeniedException');
    expect((await failure(grant(granter, { Operations: ['Decrypt'], RetiringPrincipal: GRANTER }))).name).toBe(
      'AccessDeniedException',
    );
    // another account needs the key policy to let it: this key's trusts only its own account
    expect((await failure(grant(workloads, { Operations: ['Decrypt'] }))).name).toBe('AccessDeniedException');
  });

  it('lets a grantee with CreateGrant pass on a subset of its operations, and no more', async () => {
    await grant(backups, { Operations: ['Decrypt', 'GenerateDataKey', 'CreateGrant'] });
    const grantee = await as(GRANTEE);
    await grant(grantee, { Operations: ['Decrypt'], GranteePrincipal: BYSTANDER });
    expect((await failure(grant(grantee, { Operations: ['Encrypt'], GranteePrincipal: BYSTANDER }))).name).toBe(
      'AccessDeniedException',
    );
  });

  describe('SSE-KMS through S3 (S3 calls KMS for the caller with encryption context aws:s3:arn)', () => {
    it('writes and reads with a Decrypt+GenerateDataKey grant constrained to the bucket (S3 Bucket Key: the context is the bucket ARN), and not without one', async () => {
      const grantee = await as(GRANTEE);
      expect((await failure(put(grantee))).name).toBe('AccessDenied');
      await grant(backups, {
        Operations: ['Decrypt', 'GenerateDataKey'],
        Constraints: { EncryptionContextSubset: { 'aws:s3:arn': BUCKET_ARN } },
      });
      const out = await put(grantee);
      expect(out.SSEKMSKeyId).toBe(KEY);
      expect(out.BucketKeyEnabled).toBe(true);
      expect(await get(grantee)).toBe('secret');
      expect((await failure(put(await as(BYSTANDER)))).name).toBe('AccessDenied');
    });

    it('uses the object ARN as context without a Bucket Key, so a bucket-ARN constraint no longer matches', async () => {
      const grantee = await as(GRANTEE);
      await grant(backups, {
        Operations: ['GenerateDataKey'],
        Constraints: { EncryptionContextSubset: { 'aws:s3:arn': BUCKET_ARN } },
      });
      expect((await failure(put(grantee, 'k', BUCKET, { BucketKeyEnabled: false }))).name).toBe('AccessDenied');
      await grant(backups, {
        Operations: ['GenerateDataKey'],
        Constraints: { EncryptionContextEquals: { 'aws:s3:arn': `${BUCKET_ARN}/team-a/k` } },
      });
      await put(grantee, 'team-a/k', BUCKET, { BucketKeyEnabled: false });
      expect((await failure(put(grantee, 'team-b/k', BUCKET, { BucketKeyEnabled: false }))).name).toBe('AccessDenied');
    });

    it('needs GenerateDataKey to write and Decrypt to read, each from the grant', async () => {
      await put(backups, 'written-by-owner');
      const grantee = await as(GRANTEE);
      await grant(backups, { Operations: ['Decrypt'] });
      expect(await get(grantee, 'written-by-owner')).toBe('secret');
      expect((await failure(put(grantee))).name).toBe('AccessDenied');
    });

    it('applies the grant through an access point too', async () => {
      const { Alias } = await backups.s3control.send(
        new CreateAccessPointCommand({ AccountId: BACKUPS, Name: 'team-a', Bucket: BUCKET }),
      );
      await backups.s3control.send(
        new PutAccessPointPolicyCommand({
          AccountId: BACKUPS,
          Name: 'team-a',
          Policy: doc([
            {
              Effect: 'Allow',
              Principal: { AWS: GRANTEE },
              Action: ['s3:GetObject', 's3:PutObject'],
              Resource: `arn:aws:s3:eu-west-1:${BACKUPS}:accesspoint/team-a/object/*`,
            },
          ]),
        }),
      );
      const grantee = await as(GRANTEE);
      expect((await failure(put(grantee, 'via-ap', Alias))).name).toBe('AccessDenied');
      await grant(backups, {
        Operations: ['Decrypt', 'GenerateDataKey'],
        Constraints: { EncryptionContextSubset: { 'aws:s3:arn': BUCKET_ARN } },
      });
      await put(grantee, 'via-ap', Alias);
      expect(await get(grantee, 'via-ap', Alias)).toBe('secret');
    });
  });

  describe('retiring and revoking', () => {
    it('lets the retiring principal retire a grant, after which its use is denied', async () => {
      const { GrantId } = await grant(backups, { Operations: ['GenerateDataKey'], RetiringPrincipal: RETIRER });
      const grantee = await as(GRANTEE);
      await dataKey(grantee);
      // the grantee may not (the grant does not include RetireGrant), nor another account
      expect((await failure(grantee.kms.send(new RetireGrantCommand({ KeyId: KEY, GrantId })))).name).toBe(
        'AccessDeniedException',
      );
      expect((await failure(workloads.kms.send(new RetireGrantCommand({ KeyId: KEY, GrantId })))).name).toBe(
        'AccessDeniedException',
      );
      await (await as(RETIRER)).kms.send(new RetireGrantCommand({ KeyId: KEY, GrantId }));
      expect((await failure(dataKey(grantee))).name).toBe('AccessDeniedException');
      expect((await failure(backups.kms.send(new RetireGrantCommand({ KeyId: KEY, GrantId })))).name).toBe(
        'NotFoundException',
      );
    });

    it('lets the grantee retire by token when the grant includes RetireGrant, and the issuing account retire any', async () => {
      const a = await grant(backups, { Operations: ['GenerateDataKey', 'RetireGrant'] });
      const grantee = await as(GRANTEE);
      await grantee.kms.send(new RetireGrantCommand({ GrantToken: a.GrantToken }));
      expect((await failure(dataKey(grantee))).name).toBe('AccessDeniedException');
      const b = await grant(backups, { Operations: ['GenerateDataKey'] });
      // the account that made the grant: its root, and its principals its IAM policies let retire (none here)
      expect(
        (await failure((await as(RETIRER)).kms.send(new RetireGrantCommand({ KeyId: KEY, GrantId: b.GrantId })))).name,
      ).toBe('AccessDeniedException');
      await backups.kms.send(new RetireGrantCommand({ KeyId: KEY, GrantId: b.GrantId }));
      expect((await failure(backups.kms.send(new RetireGrantCommand({ GrantToken: 'no-such-token' })))).name).toBe(
        'InvalidGrantTokenException',
      );
    });

    it('revokes with kms:RevokeGrant from the key policy or IAM, not from another account', async () => {
      const { GrantId } = await grant(backups, { Operations: ['GenerateDataKey'] });
      expect((await failure(workloads.kms.send(new RevokeGrantCommand({ KeyId: KEY, GrantId })))).name).toBe(
        'AccessDeniedException',
      );
      expect((await failure((await as(GRANTEE)).kms.send(new RevokeGrantCommand({ KeyId: KEY, GrantId })))).name).toBe(
        'AccessDeniedException',
      );
      expect((await failure((await as(RETIRER)).kms.send(new RevokeGrantCommand({ KeyId: KEY, GrantId })))).name).toBe(
        'AccessDeniedException',
      );
      await (await as(GRANTER)).kms.send(new RevokeGrantCommand({ KeyId: KEY, GrantId }));
      expect((await failure(dataKey(await as(GRANTEE)))).name).toBe('AccessDeniedException');
      expect((await failure(backups.kms.send(new RevokeGrantCommand({ KeyId: KEY, GrantId })))).name).toBe(
        'NotFoundException',
      );
    });

    it('forgets every grant on reset', async () => {
      await grant(backups, { Operations: ['GenerateDataKey'] });
      await admin.reset();
      expect((await backups.kms.send(new ListGrantsCommand({ KeyId: KEY }))).Grants).toEqual([]);
    });
  });
});
