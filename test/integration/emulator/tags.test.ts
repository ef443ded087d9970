import { CreateRoleCommand, PutRolePolicyCommand } from '@aws-sdk/client-iam';
import { AssumeRoleCommand } from '@aws-sdk/client-sts';
import {
  GetBucketAbacCommand,
  GetBucketLocationCommand,
  GetBucketTaggingCommand,
  GetObjectCommand,
  PutBucketAbacCommand,
  PutObjectCommand,
  ListObjectsV2Command,
  PutBucketPolicyCommand,
} from '@aws-sdk/client-s3';
import {
  DescribeKeyCommand,
  GetKeyPolicyCommand,
  ListResourceTagsCommand,
  NotFoundException,
  PutKeyPolicyCommand,
  TagException,
  TagResourceCommand,
  UntagResourceCommand,
} from '@aws-sdk/client-kms';
import type { Emulator } from '../../../emulator/server';
import {
  BACKUPS,
  WORKLOADS,
  clientsFor,
  credentialsOf,
  demoTopology,
  type emulatorAdmin,
  failure,
  rootCredentials,
  useTestEmulator,
  type Clients,
} from '../../helpers/emulator';

const doc = (statements: object[]) => JSON.stringify({ Version: '2012-10-17', Statement: statements });
const ec2Trust = {
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }],
};
const MANAGED = { 's3-onboarding-managed': 'true' };
const onlyManaged = { StringEquals: { 'aws:ResourceTag/s3-onboarding-managed': 'true' } };
const TAGGED_KEY = `arn:aws:kms:eu-west-1:${BACKUPS}:key/11111111-2222-3333-4444-555555555555`;
const UNTAGGED_KEY = `arn:aws:kms:eu-west-1:${BACKUPS}:key/22222222-3333-4444-5555-666666666666`;

// the demo topology with opt-in tags on one bucket (shared-backups untagged) and one key, and a role whose
// permissions depend on them
const topology = demoTopology();
topology.buckets = [
  ...topology.buckets!.map(({ tags: _tags, ...b }) => (b.name === 'demo-backups' ? { ...b, tags: MANAGED } : b)),
  // tagged, but its owner never turned S3 ABAC on: the tag is for cost allocation only
  { name: 'abac-off-backups', accountId: BACKUPS, region: 'eu-west-1', tags: MANAGED, abac: false },
];
topology.kmsKeys = [
  ...topology.kmsKeys!.map((k) => (k.arn === TAGGED_KEY ? { ...k, tags: { ...MANAGED, team: 'db' } } : k)),
  { arn: UNTAGGED_KEY },
];
topology.roles = [
  ...(topology.roles ?? []),
  {
    accountId: BACKUPS,
    name: 'tag-scoped-admin',
    trustPolicy: ec2Trust,
    tags: { team: 'db' },
    inlinePolicies: {
      managed: {
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Action: ['s3:GetBucketLocation', 's3:PutBucketPolicy', 's3:GetObject'],
            Resource: ['arn:aws:s3:::*'],
            Condition: onlyManaged,
          },
          {
            Effect: 'Allow',
            Action: ['kms:DescribeKey', 'kms:GetKeyPolicy', 'kms:PutKeyPolicy'],
            Resource: '*',
            Condition: onlyManaged,
          },
          { Effect: 'Allow', Action: 'kms:ListResourceTags', Resource: '*' },
          {
            Effect: 'Allow',
            Action: ['kms:TagResource', 'kms:UntagResource'],
            Resource: '*',
            Condition: { StringEquals: { 'aws:RequestTag/s3-onboarding-managed': 'true' } },
          },
          // role tags are principal tags
          {
            Effect: 'Allow',
            Action: 's3:ListBucket',
            Resource: 'arn:aws:s3:::shared-backups',
            Condition: { StringEquals: { 'aws:PrincipalTag/team': 'db' } },
          },
        ],
      },
    },
  },
];

let emu: Emulator;
let admin: ReturnType<typeof emulatorAdmin>;
let backups: Clients;
let scoped: Clients;
useTestEmulator((e, a) => ((emu = e), (admin = a)), topology);
beforeEach(async () => {
  backups = clientsFor(emu, rootCredentials(BACKUPS));
  scoped = clientsFor(emu, await admin.roleCredentials(`arn:aws:iam::${BACKUPS}:role/tag-scoped-admin`));
});

describe('Emulator: bucket tags (S3 ABAC on, the default)', () => {
  it('returns the topology tags from GetBucketTagging, and NoSuchTagSet for an untagged bucket', async () => {
    expect((await backups.s3.send(new GetBucketTaggingCommand({ Bucket: 'demo-backups' }))).TagSet).toEqual([
      { Key: 's3-onboarding-managed', Value: 'true' },
    ]);
    expect((await failure(backups.s3.send(new GetBucketTaggingCommand({ Bucket: 'shared-backups' })))).name).toBe(
      'NoSuchTagSet',
    );
  });

  it('evaluates aws:ResourceTag for bucket-level actions: the tagged bucket is allowed, the untagged one denied', async () => {
    expect((await scoped.s3.send(new GetBucketLocationCommand({ Bucket: 'demo-backups' }))).LocationConstraint).toBe(
      'eu-west-1',
    );
    expect((await failure(scoped.s3.send(new GetBucketLocationCommand({ Bucket: 'shared-backups' })))).name).toBe(
      'AccessDenied',
    );
    const policy = (bucket: string) =>
      doc([
        {
          Effect: 'Allow',
          Principal: { AWS: `arn:aws:iam::${WORKLOADS}:root` },
          Action: 's3:GetObject',
          Resource: `arn:aws:s3:::${bucket}/*`,
        },
      ]);
    await scoped.s3.send(new PutBucketPolicyCommand({ Bucket: 'demo-backups', Policy: policy('demo-backups') }));
    expect(
      (
        await failure(
          scoped.s3.send(new PutBucketPolicyCommand({ Bucket: 'shared-backups', Policy: policy('shared-backups') })),
        )
      ).name,
    ).toBe('AccessDenied');
  });

  it('does not give object-level actions the bucket tags (the emulator supplies them for bucket ARNs only)', async () => {
    // the object exists: a denial is the policy's answer, not the one for a missing key without s3:ListBucket
    await backups.s3.send(new PutObjectCommand({ Bucket: 'demo-backups', Key: 'k', Body: 'x' }));
    expect((await failure(scoped.s3.send(new GetObjectCommand({ Bucket: 'demo-backups', Key: 'k' })))).name).toBe(
      'AccessDenied',
    );
  });

  it("makes a role's own tags aws:PrincipalTag for its sessions", async () => {
    await scoped.s3.send(new ListObjectsV2Command({ Bucket: 'shared-backups' }));
    await backups.iam.send(
      new CreateRoleCommand({ RoleName: 'untagged-admin', AssumeRolePolicyDocument: JSON.stringify(ec2Trust) }),
    );
    await backups.iam.send(
      new PutRolePolicyCommand({
        RoleName: 'untagged-admin',
        PolicyName: 'p',
        PolicyDocument: doc([
          {
            Effect: 'Allow',
            Action: 's3:ListBucket',
            Resource: 'arn:aws:s3:::shared-backups',
            Condition: { StringEquals: { 'aws:PrincipalTag/team': 'db' } },
          },
        ]),
      }),
    );
    const untagged = clientsFor(emu, await admin.roleCredentials(`arn:aws:iam::${BACKUPS}:role/untagged-admin`));
    expect((await failure(untagged.s3.send(new ListObjectsV2Command({ Bucket: 'shared-backups' })))).name).toBe(
      'AccessDenied',
    );
  });
});

describe('Emulator: S3 ABAC per bucket (GetBucketAbac/PutBucketAbac; topology `abac`, default true)', () => {
  const policy = (bucket: string) =>
    doc([
      {
        Effect: 'Allow',
        Principal: { AWS: `arn:aws:iam::${WORKLOADS}:root` },
        Action: 's3:GetObject',
        Resource: `arn:aws:s3:::${bucket}/*`,
      },
    ]);

  it('answers the status of each bucket: Enabled by default, Disabled where the topology says abac: false', async () => {
    expect((await backups.s3.send(new GetBucketAbacCommand({ Bucket: 'demo-backups' }))).AbacStatus).toEqual({
      Status: 'Enabled',
    });
    expect((await backups.s3.send(new GetBucketAbacCommand({ Bucket: 'abac-off-backups' }))).AbacStatus).toEqual({
      Status: 'Disabled',
    });
  });

  it('counts the tags of a bucket as aws:ResourceTag only while ABAC is on, and PutBucketAbac turns it on and off', async () => {
    // tagged, ABAC off: the tag-conditioned role is denied as for an untagged bucket
    expect((await failure(scoped.s3.send(new GetBucketLocationCommand({ Bucket: 'abac-off-backups' })))).name).toBe(
      'AccessDenied',
    );
    expect(
      (
        await failure(
          scoped.s3.send(
            new PutBucketPolicyCommand({ Bucket: 'abac-off-backups', Policy: policy('abac-off-backups') }),
          ),
        )
      ).name,
    ).toBe('AccessDenied');
    // the tags are still there (cost allocation), only not for access control
    expect((await backups.s3.send(new GetBucketTaggingCommand({ Bucket: 'abac-off-backups' }))).TagSet).toEqual([
      { Key: 's3-onboarding-managed', Value: 'true' },
    ]);
    await backups.s3.send(new PutBucketAbacCommand({ Bucket: 'abac-off-backups', AbacStatus: { Status: 'Enabled' } }));
    expect((await backups.s3.send(new GetBucketAbacCommand({ Bucket: 'abac-off-backups' }))).AbacStatus!.Status).toBe(
      'Enabled',
    );
    await scoped.s3.send(
      new PutBucketPolicyCommand({ Bucket: 'abac-off-backups', Policy: policy('abac-off-backups') }),
    );
    await backups.s3.send(new PutBucketAbacCommand({ Bucket: 'demo-backups', AbacStatus: { Status: 'Disabled' } }));
    expect(
      (
        await failure(
          scoped.s3.send(new PutBucketPolicyCommand({ Bucket: 'demo-backups', Policy: policy('demo-backups') })),
        )
      ).name,
    ).toBe('AccessDenied');
    // reset brings back the topology's settings
    await admin.reset();
    expect((await backups.s3.send(new GetBucketAbacCommand({ Bucket: 'abac-off-backups' }))).AbacStatus!.Status).toBe(
      'Disabled',
    );
    expect((await backups.s3.send(new GetBucketAbacCommand({ Bucket: 'demo-backups' }))).AbacStatus!.Status).toBe(
      'Enabled',
    );
  });

  it('authorises GetBucketAbac and PutBucketAbac (s3:GetBucketABAC, s3:PutBucketABAC) and refuses a status S3 does not know', async () => {
    const workloads = clientsFor(emu, rootCredentials(WORKLOADS));
    expect((await failure(workloads.s3.send(new GetBucketAbacCommand({ Bucket: 'demo-backups' })))).name).toBe(
      'AccessDenied',
    );
    expect(
      (
        await failure(
          workloads.s3.send(new PutBucketAbacCommand({ Bucket: 'demo-backups', AbacStatus: { Status: 'Disabled' } })),
        )
      ).name,
    ).toBe('AccessDenied');
    expect((await failure(scoped.s3.send(new GetBucketAbacCommand({ Bucket: 'demo-backups' })))).name).toBe(
      'AccessDenied',
    );
    expect(
      (
        await failure(
          backups.s3.send(
            new PutBucketAbacCommand({ Bucket: 'demo-backups', AbacStatus: { Status: 'On' as 'Enabled' } }),
          ),
        )
      ).name,
    ).toBe('MalformedXML');
  });
});

describe('Emulator: KMS key tags', () => {
  it('evaluates aws:ResourceTag for DescribeKey, GetKeyPolicy and PutKeyPolicy', async () => {
    expect((await scoped.kms.send(new DescribeKeyCommand({ KeyId: TAGGED_KEY }))).KeyMetadata!.Arn).toBe(TAGGED_KEY);
    const policy = (await scoped.kms.send(new GetKeyPolicyCommand({ KeyId: TAGGED_KEY, PolicyName: 'default' })))
      .Policy!;
    await scoped.kms.send(new PutKeyPolicyCommand({ KeyId: TAGGED_KEY, PolicyName: 'default', Policy: policy }));
    for (const command of [
      new DescribeKeyCommand({ KeyId: UNTAGGED_KEY }),
      new GetKeyPolicyCommand({ KeyId: UNTAGGED_KEY, PolicyName: 'default' }),
      new PutKeyPolicyCommand({ KeyId: UNTAGGED_KEY, PolicyName: 'default', Policy: policy }),
    ]) {
      const err = await failure(scoped.kms.send(command as DescribeKeyCommand));
      expect(err.name).toBe('AccessDeniedException');
    }
  });

  it('lists, adds and removes tags, and the key operations follow them', async () => {
    expect((await backups.kms.send(new ListResourceTagsCommand({ KeyId: TAGGED_KEY }))).Tags).toEqual([
      { TagKey: 's3-onboarding-managed', TagValue: 'true' },
      { TagKey: 'team', TagValue: 'db' },
    ]);
    const page = await backups.kms.send(new ListResourceTagsCommand({ KeyId: TAGGED_KEY, Limit: 1 }));
    expect(page).toMatchObject({ Tags: [{ TagKey: 's3-onboarding-managed' }], Truncated: true });
    expect(
      (await backups.kms.send(new ListResourceTagsCommand({ KeyId: TAGGED_KEY, Limit: 1, Marker: page.NextMarker })))
        .Tags,
    ).toEqual([{ TagKey: 'team', TagValue: 'db' }]);
    expect(await backups.kms.send(new ListResourceTagsCommand({ KeyId: UNTAGGED_KEY }))).toMatchObject({
      Tags: [],
      Truncated: false,
    });

    // the scoped role may tag only with s3-onboarding-managed=true, and then use the key
    expect(
      (
        await failure(
          scoped.kms.send(
            new TagResourceCommand({
              KeyId: UNTAGGED_KEY,
              Tags: [{ TagKey: 's3-onboarding-managed', TagValue: 'yes' }],
            }),
          ),
        )
      ).name,
    ).toBe('AccessDeniedException');
    await scoped.kms.send(
      new TagResourceCommand({ KeyId: UNTAGGED_KEY, Tags: [{ TagKey: 's3-onboarding-managed', TagValue: 'true' }] }),
    );
    await scoped.kms.send(new DescribeKeyCommand({ KeyId: UNTAGGED_KEY }));
    await backups.kms.send(new UntagResourceCommand({ KeyId: UNTAGGED_KEY, TagKeys: ['s3-onboarding-managed'] }));
    expect((await failure(scoped.kms.send(new DescribeKeyCommand({ KeyId: UNTAGGED_KEY })))).name).toBe(
      'AccessDeniedException',
    );

    expect(
      await failure(
        backups.kms.send(
          new TagResourceCommand({ KeyId: UNTAGGED_KEY, Tags: [{ TagKey: 'aws:reserved', TagValue: 'x' }] }),
        ),
      ),
    ).toBeInstanceOf(TagException);
    expect(
      await failure(
        backups.kms.send(
          new ListResourceTagsCommand({
            KeyId: `arn:aws:kms:eu-west-1:${BACKUPS}:key/00000000-0000-0000-0000-000000000000`,
          }),
        ),
      ),
    ).toBeInstanceOf(NotFoundException);
  });

  it('keeps tag operations to the key account, and reset brings back the topology tags', async () => {
    const workloads = clientsFor(emu, rootCredentials(WORKLOADS));
    expect((await failure(workloads.kms.send(new ListResourceTagsCommand({ KeyId: TAGGED_KEY })))).name).toBe(
      'AccessDeniedException',
    );
    await backups.kms.send(new UntagResourceCommand({ KeyId: TAGGED_KEY, TagKeys: ['team'] }));
    await admin.reset();
    expect((await backups.kms.send(new ListResourceTagsCommand({ KeyId: TAGGED_KEY }))).Tags).toHaveLength(2);
  });
});

describe('Emulator: STS session tags', () => {
  const role = (name: string) => `arn:aws:iam::${BACKUPS}:role/${name}`;
  const trust = (principal: string, actions: string[]) =>
    doc([{ Effect: 'Allow', Principal: { AWS: role(principal) }, Action: actions }]);
  const listIfPbm = (extra: object = {}) =>
    doc([
      {
        Effect: 'Allow',
        Action: 's3:ListBucket',
        Resource: 'arn:aws:s3:::shared-backups',
        Condition: { StringEquals: { 'aws:PrincipalTag/project': 'pbm' }, ...extra },
      },
    ]);
  const createRole = async (name: string, trustPolicy: string, policy?: string) => {
    await backups.iam.send(new CreateRoleCommand({ RoleName: name, AssumeRolePolicyDocument: trustPolicy }));
    if (policy)
      await backups.iam.send(new PutRolePolicyCommand({ RoleName: name, PolicyName: 'p', PolicyDocument: policy }));
  };
  let caller: Clients;
  beforeEach(async () => {
    // same account: a trust naming the caller's role is enough, for sts:AssumeRole and for sts:TagSession
    await createRole('tagger', JSON.stringify(ec2Trust));
    await createRole('tagged-target', trust('tagger', ['sts:AssumeRole', 'sts:TagSession']), listIfPbm());
    await createRole('untaggable-target', trust('tagger', ['sts:AssumeRole']));
    caller = clientsFor(emu, await admin.roleCredentials(role('tagger')));
  });

  it('needs sts:TagSession to pass tags, and the tags become aws:PrincipalTag of the session', async () => {
    const Tags = [{ Key: 'project', Value: 'pbm' }];
    const out = await caller.sts.send(
      new AssumeRoleCommand({ RoleArn: role('tagged-target'), RoleSessionName: 's1', Tags }),
    );
    await clientsFor(emu, credentialsOf(out.Credentials)).s3.send(
      new ListObjectsV2Command({ Bucket: 'shared-backups' }),
    );
    const untagged = await caller.sts.send(
      new AssumeRoleCommand({ RoleArn: role('tagged-target'), RoleSessionName: 's2' }),
    );
    expect(
      (
        await failure(
          clientsFor(emu, credentialsOf(untagged.Credentials)).s3.send(
            new ListObjectsV2Command({ Bucket: 'shared-backups' }),
          ),
        )
      ).name,
    ).toBe('AccessDenied');
    const denied = await failure(
      caller.sts.send(new AssumeRoleCommand({ RoleArn: role('untaggable-target'), RoleSessionName: 's3', Tags })),
    );
    expect(denied.name).toBe('AccessDenied');
    expect(denied.message).toContain('sts:TagSession');
    await caller.sts.send(new AssumeRoleCommand({ RoleArn: role('untaggable-target'), RoleSessionName: 's4' }));
  });

  it('carries transitive tags, and only those, into the next session of a role chain', async () => {
    // the next hop allows listing only with project=pbm and without a ticket tag
    await createRole(
      'next-hop',
      trust('tagged-target', ['sts:AssumeRole', 'sts:TagSession']),
      listIfPbm({ Null: { 'aws:PrincipalTag/ticket': 'true' } }),
    );
    await createRole('next-hop-untaggable', trust('tagged-target', ['sts:AssumeRole']));
    const first = await caller.sts.send(
      new AssumeRoleCommand({
        RoleArn: role('tagged-target'),
        RoleSessionName: 'hop1',
        Tags: [
          { Key: 'project', Value: 'pbm' },
          { Key: 'ticket', Value: 'OPS-1' },
        ],
        TransitiveTagKeys: ['project'],
      }),
    );
    const hop1 = clientsFor(emu, credentialsOf(first.Credentials));
    const second = await hop1.sts.send(new AssumeRoleCommand({ RoleArn: role('next-hop'), RoleSessionName: 'hop2' }));
    await clientsFor(emu, credentialsOf(second.Credentials)).s3.send(
      new ListObjectsV2Command({ Bucket: 'shared-backups' }),
    );
    // the transitive tag is passed again, so a trust without sts:TagSession refuses the chain
    const err = await failure(
      hop1.sts.send(new AssumeRoleCommand({ RoleArn: role('next-hop-untaggable'), RoleSessionName: 'hop3' })),
    );
    expect(err.message).toContain('sts:TagSession');
  });
});
