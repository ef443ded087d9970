import {
  CreateAccessPointCommand,
  DeleteAccessPointCommand,
  DeleteAccessPointPolicyCommand,
  GetAccessPointCommand,
  GetAccessPointPolicyCommand,
  ListAccessPointsCommand,
  ListTagsForResourceCommand,
  PutAccessPointPolicyCommand,
  S3ControlClient,
} from '@aws-sdk/client-s3-control';
import {
  GetObjectCommand,
  HeadBucketCommand,
  ListObjectsV2Command,
  PutBucketPolicyCommand,
  PutObjectCommand,
  DeleteBucketPolicyCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { Emulator } from '../../../emulator/server';
import {
  BACKUPS,
  WORKLOADS,
  clientsFor,
  demoTopology,
  type emulatorAdmin,
  failure,
  localhostNamesHandler,
  rootCredentials,
  s3ControlFor,
  s3ForAccessPointArns,
  useTestEmulator,
  type Clients,
} from '../../helpers/emulator';

const REGION = 'eu-west-1';
const doc = (statements: object[]) => JSON.stringify({ Version: '2012-10-17', Statement: statements });
const ec2Trust = {
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }],
};
const apArn = (name: string, account = BACKUPS) => `arn:aws:s3:${REGION}:${account}:accesspoint/${name}`;
const READER = `arn:aws:iam::${WORKLOADS}:role/ap-reader`;
const NO_PERMISSIONS = `arn:aws:iam::${WORKLOADS}:role/ap-no-permissions`;
const ADMIN = `arn:aws:iam::${BACKUPS}:role/ap-admin`;
const LOCAL_READER = `arn:aws:iam::${BACKUPS}:role/ap-local-reader`;

// the demo topology, plus: a workload role whose identity policy names the backups account's access points (and one
// without any policy), an access point administrator limited to names starting team-, a same-account reader of one
// access point, and a foreign access point someone else made on shared-backups, whose policy grants no one here
const topology = demoTopology();
topology.roles = [
  ...(topology.roles ?? []),
  {
    accountId: WORKLOADS,
    name: 'ap-reader',
    trustPolicy: ec2Trust,
    inlinePolicies: {
      ap: {
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Action: ['s3:GetObject', 's3:PutObject'],
            Resource: `arn:aws:s3:${REGION}:${BACKUPS}:accesspoint/*/object/*`,
          },
          { Effect: 'Allow', Action: 's3:ListBucket', Resource: `arn:aws:s3:${REGION}:${BACKUPS}:accesspoint/*` },
        ],
      },
    },
  },
  { accountId: WORKLOADS, name: 'ap-no-permissions', trustPolicy: ec2Trust },
  {
    accountId: BACKUPS,
    name: 'ap-admin',
    trustPolicy: ec2Trust,
    inlinePolicies: {
      admin: {
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Action: [
              's3:CreateAccessPoint',
              's3:GetAccessPoint',
              's3:DeleteAccessPoint',
              's3:PutAccessPointPolicy',
              's3:GetAccessPointPolicy',
              's3:DeleteAccessPointPolicy',
            ],
            Resource: `arn:aws:s3:${REGION}:${BACKUPS}:accesspoint/team-*`,
          },
          { Effect: 'Allow', Action: 's3:ListAccessPoints', Resource: '*' },
        ],
      },
    },
  },
  {
    accountId: BACKUPS,
    name: 'ap-local-reader',
    trustPolicy: ec2Trust,
    inlinePolicies: {
      ap: {
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: `${apArn('team-a')}/object/*` }],
      },
    },
  },
];
topology.accessPoints = [
  {
    name: 'foreign-team',
    bucket: 'shared-backups',
    accountId: BACKUPS,
    region: REGION,
    policy: {
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: { AWS: `arn:aws:iam::${BACKUPS}:root` },
          Action: 's3:GetObject',
          Resource: `${apArn('foreign-team')}/object/*`,
        },
      ],
    },
  },
];

let emu: Emulator;
let admin: ReturnType<typeof emulatorAdmin>;
let backups: Clients;
let workloads: Clients;
useTestEmulator((e, a) => ((emu = e), (admin = a)), topology);
beforeEach(() => {
  backups = clientsFor(emu, rootCredentials(BACKUPS));
  workloads = clientsFor(emu, rootCredentials(WORKLOADS));
});

const asRole = async (arn: string): Promise<Clients> => clientsFor(emu, await admin.roleCredentials(arn));

const create = (c: S3ControlClient, name: string, bucket = 'demo-backups', account = BACKUPS) =>
  c.send(new CreateAccessPointCommand({ AccountId: account, Name: name, Bucket: bucket }));

/** The delegation statement AWS documents: the bucket lets every access point of its own account decide. */
const delegation = (bucket: string, condition: Record<string, string> = { 's3:DataAccessPointAccount': BACKUPS }) => ({
  Sid: 'DelegateToAccessPoints',
  Effect: 'Allow',
  Principal: { AWS: '*' },
  Action: '*',
  Resource: [`arn:aws:s3:::${bucket}`, `arn:aws:s3:::${bucket}/*`],
  Condition: { StringEquals: condition },
});

/** An access point policy granting the workload reader the prefix team-a/ and the listing of it. */
const teamAPolicy = (principal = READER, name = 'team-a') =>
  doc([
    {
      Effect: 'Allow',
      Principal: { AWS: principal },
      Action: ['s3:GetObject', 's3:PutObject'],
      Resource: `${apArn(name)}/object/team-a/*`,
    },
    {
      Effect: 'Allow',
      Principal: { AWS: principal },
      Action: 's3:ListBucket',
      Resource: apArn(name),
      Condition: { StringLike: { 's3:prefix': 'team-a/*' } },
    },
  ]);

describe('Emulator: S3 Control access points', () => {
  it('creates an access point with an ARN, an alias in AWS format and Block Public Access on, and refuses a second one of the same name', async () => {
    const out = await create(backups.s3control, 'team-a');
    expect(out.AccessPointArn).toBe(apArn('team-a'));
    expect(out.Alias).toMatch(/^team-a-[a-z0-9]{34}-s3alias$/);
    const again = await failure(create(backups.s3control, 'team-a'));
    expect(again.name).toBe('AccessPointAlreadyOwnedByYou');
    expect(again.$metadata?.httpStatusCode).toBe(409);

    const got = await backups.s3control.send(new GetAccessPointCommand({ AccountId: BACKUPS, Name: 'team-a' }));
    expect(got).toMatchObject({
      Name: 'team-a',
      Bucket: 'demo-backups',
      NetworkOrigin: 'Internet',
      Alias: out.Alias,
      AccessPointArn: apArn('team-a'),
      BucketAccountId: BACKUPS,
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        IgnorePublicAcls: true,
        BlockPublicPolicy: true,
        RestrictPublicBuckets: true,
      },
      Endpoints: {
        ipv4: `s3-accesspoint.${REGION}.amazonaws.com`,
        dualstack: `s3-accesspoint.dualstack.${REGION}.amazonaws.com`,
        fips: `s3-accesspoint-fips.${REGION}.amazonaws.com`,
        fips_dualstack: `s3-accesspoint-fips.dualstack.${REGION}.amazonaws.com`,
      },
    });
    expect(got.CreationDate).toBeInstanceOf(Date);
  });

  it('cuts a long name to 20 characters in the alias, which stays a valid bucket name (at most 63 characters)', async () => {
    const name = 'a'.repeat(25) + '-' + 'b'.repeat(24);
    expect(name).toHaveLength(50);
    const out = await create(backups.s3control, name);
    expect(out.Alias).toMatch(new RegExp(`^${'a'.repeat(20)}-[a-z0-9]{34}-s3alias$`));
    expect(out.Alias!.length).toBeLessThanOrEqual(63);
  });

  it.each([
    ['too short', 'ab'],
    ['too long', 'a'.repeat(51)],
    ['upper case', 'Team-a'],
    ['an underscore', 'team_a'],
    ['a period', 'team.a'],
    ['a leading hyphen', '-team'],
    ['a trailing hyphen', 'team-'],
    ['the alias suffix', 'team-s3alias'],
  ])('refuses a name with %s (InvalidRequest)', async (_why, name) => {
    const e = await failure(create(backups.s3control, name));
    expect(e.name).toBe('InvalidRequest');
    expect(e.$metadata?.httpStatusCode).toBe(400);
  });

  it('accepts the shortest and longest names (3 and 50 characters)', async () => {
    await create(backups.s3control, 'abc');
    await create(backups.s3control, `t${'0'.repeat(48)}z`);
  });

  it('refuses a bucket that does not exist, and a bucket of another account unless BucketAccountId names it', async () => {
    expect((await failure(create(backups.s3control, 'team-a', 'no-such-bucket'))).name).toBe('NoSuchBucket');
    // workload-local-backups belongs to the workloads account
    expect((await failure(create(backups.s3control, 'team-a', 'workload-local-backups'))).name).toBe('AccessDenied');
    const cross = await backups.s3control.send(
      new CreateAccessPointCommand({
        AccountId: BACKUPS,
        Name: 'team-x',
        Bucket: 'workload-local-backups',
        BucketAccountId: WORKLOADS,
      }),
    );
    expect(cross.AccessPointArn).toBe(apArn('team-x'));
    expect(
      (await backups.s3control.send(new GetAccessPointCommand({ AccountId: BACKUPS, Name: 'team-x' }))).BucketAccountId,
    ).toBe(WORKLOADS);
  });

  it('lists the account and Region access points, by bucket, in pages', async () => {
    await create(backups.s3control, 'team-a');
    await create(backups.s3control, 'team-b');
    await create(backups.s3control, 'team-c', 'shared-backups');
    const all = await backups.s3control.send(new ListAccessPointsCommand({ AccountId: BACKUPS }));
    expect(all.AccessPointList!.map((a) => a.Name)).toEqual(['foreign-team', 'team-a', 'team-b', 'team-c']);
    expect(all.NextToken).toBeUndefined();
    const first = await backups.s3control.send(
      new ListAccessPointsCommand({ AccountId: BACKUPS, Bucket: 'demo-backups', MaxResults: 1 }),
    );
    expect(first.AccessPointList).toEqual([
      expect.objectContaining({
        Name: 'team-a',
        Bucket: 'demo-backups',
        NetworkOrigin: 'Internet',
        AccessPointArn: apArn('team-a'),
        BucketAccountId: BACKUPS,
      }),
    ]);
    expect(first.AccessPointList![0]!.Alias).toMatch(/-s3alias$/);
    const second = await backups.s3control.send(
      new ListAccessPointsCommand({
        AccountId: BACKUPS,
        Bucket: 'demo-backups',
        MaxResults: 1,
        NextToken: first.NextToken,
      }),
    );
    expect(second.AccessPointList!.map((a) => a.Name)).toEqual(['team-b']);
    expect(second.NextToken).toBeUndefined();
    // another Region of the same account holds none
    const elsewhere = s3ControlFor(emu, rootCredentials(BACKUPS), 'us-east-1');
    expect((await elsewhere.send(new ListAccessPointsCommand({ AccountId: BACKUPS }))).AccessPointList ?? []).toEqual(
      [],
    );
  });

  it('puts, reads and deletes an access point policy, and answers NoSuchAccessPoint / NoSuchAccessPointPolicy', async () => {
    await create(backups.s3control, 'team-a');
    const noPolicy = await failure(
      backups.s3control.send(new GetAccessPointPolicyCommand({ AccountId: BACKUPS, Name: 'team-a' })),
    );
    expect(noPolicy.name).toBe('NoSuchAccessPointPolicy');
    expect(noPolicy.$metadata?.httpStatusCode).toBe(404);
    const policy = teamAPolicy();
    await backups.s3control.send(
      new PutAccessPointPolicyCommand({ AccountId: BACKUPS, Name: 'team-a', Policy: policy }),
    );
    expect(
      (await backups.s3control.send(new GetAccessPointPolicyCommand({ AccountId: BACKUPS, Name: 'team-a' }))).Policy,
    ).toBe(policy);
    await backups.s3control.send(new DeleteAccessPointPolicyCommand({ AccountId: BACKUPS, Name: 'team-a' }));
    expect(
      (await failure(backups.s3control.send(new GetAccessPointPolicyCommand({ AccountId: BACKUPS, Name: 'team-a' }))))
        .name,
    ).toBe('NoSuchAccessPointPolicy');

    await backups.s3control.send(new DeleteAccessPointCommand({ AccountId: BACKUPS, Name: 'team-a' }));
    for (const p of [
      backups.s3control.send(new GetAccessPointCommand({ AccountId: BACKUPS, Name: 'team-a' })),
      backups.s3control.send(new DeleteAccessPointCommand({ AccountId: BACKUPS, Name: 'team-a' })),
      backups.s3control.send(new PutAccessPointPolicyCommand({ AccountId: BACKUPS, Name: 'team-a', Policy: policy })),
    ]) {
      const e = await failure(p);
      expect(e.name).toBe('NoSuchAccessPoint');
      expect(e.$metadata?.httpStatusCode).toBe(404);
    }
  });

  it('validates access point policies: resources of this access point only, S3 actions, existing principals, and no public policy while BlockPublicPolicy is on', async () => {
    await create(backups.s3control, 'team-a');
    const put = (p: string) =>
      backups.s3control.send(new PutAccessPointPolicyCommand({ AccountId: BACKUPS, Name: 'team-a', Policy: p }));
    const grant = (extra: object) =>
      doc([
        {
          Effect: 'Allow',
          Principal: { AWS: READER },
          Action: 's3:GetObject',
          Resource: `${apArn('team-a')}/object/*`,
          ...extra,
        },
      ]);
    expect((await failure(put(grant({ Resource: 'arn:aws:s3:::demo-backups/*' })))).name).toBe('MalformedPolicy');
    expect((await failure(put(grant({ Resource: `${apArn('team-b')}/object/*` })))).name).toBe('MalformedPolicy');
    expect((await failure(put(grant({ Action: 'kms:Decrypt' })))).name).toBe('MalformedPolicy');
    expect(
      (await failure(put(grant({ Principal: { AWS: `arn:aws:iam::${WORKLOADS}:role/no-such-role` } })))).name,
    ).toBe('MalformedPolicy');
    expect((await failure(put('not json'))).name).toBe('MalformedPolicy');
    const publicPolicy = await failure(put(grant({ Principal: '*' })));
    expect(publicPolicy.name).toBe('AccessDenied');
    // a wildcard principal pinned to an account is not public
    await put(grant({ Principal: '*', Condition: { StringEquals: { 'aws:PrincipalAccount': WORKLOADS } } }));
  });

  it('is the owner account only: another account cannot read, list, change or delete them, even naming the owner account', async () => {
    await create(backups.s3control, 'team-a');
    for (const p of [
      workloads.s3control.send(new GetAccessPointCommand({ AccountId: BACKUPS, Name: 'foreign-team' })),
      workloads.s3control.send(new GetAccessPointPolicyCommand({ AccountId: BACKUPS, Name: 'foreign-team' })),
      workloads.s3control.send(new ListAccessPointsCommand({ AccountId: BACKUPS })),
      workloads.s3control.send(new DeleteAccessPointCommand({ AccountId: BACKUPS, Name: 'team-a' })),
      workloads.s3control.send(
        new PutAccessPointPolicyCommand({ AccountId: BACKUPS, Name: 'team-a', Policy: teamAPolicy() }),
      ),
      create(workloads.s3control, 'team-z', 'demo-backups', BACKUPS),
    ]) {
      expect((await failure(p)).name).toBe('AccessDenied');
    }
    // its own account sees none of them
    expect(
      (await workloads.s3control.send(new ListAccessPointsCommand({ AccountId: WORKLOADS }))).AccessPointList ?? [],
    ).toEqual([]);
    expect(
      (await failure(workloads.s3control.send(new GetAccessPointCommand({ AccountId: WORKLOADS, Name: 'team-a' }))))
        .name,
    ).toBe('NoSuchAccessPoint');
  });

  it("authorises a principal with s3:…AccessPoint… on the access point's ARN (identity policy), and nothing else", async () => {
    const adminRole = await asRole(ADMIN);
    await create(adminRole.s3control, 'team-a');
    await adminRole.s3control.send(
      new PutAccessPointPolicyCommand({ AccountId: BACKUPS, Name: 'team-a', Policy: teamAPolicy() }),
    );
    expect(
      (await adminRole.s3control.send(new ListAccessPointsCommand({ AccountId: BACKUPS }))).AccessPointList!.map(
        (a) => a.Name,
      ),
    ).toContain('team-a');
    const other = await failure(create(adminRole.s3control, 'ops-a'));
    expect(other.name).toBe('AccessDenied');
    expect(other.message).toContain(`s3:CreateAccessPoint on resource: ${apArn('ops-a')}`);
    expect(
      (
        await failure(
          adminRole.s3control.send(new DeleteAccessPointCommand({ AccountId: BACKUPS, Name: 'foreign-team' })),
        )
      ).name,
    ).toBe('AccessDenied');
    const reader = await asRole(READER);
    expect((await failure(create(reader.s3control, 'team-r', 'workload-local-backups', WORKLOADS))).name).toBe(
      'AccessDenied',
    );
    await adminRole.s3control.send(new DeleteAccessPointCommand({ AccountId: BACKUPS, Name: 'team-a' }));
  });

  it('goes back to the topology on reset: made ones are gone, foreign ones are back', async () => {
    await create(backups.s3control, 'team-a');
    await backups.s3control.send(new DeleteAccessPointCommand({ AccountId: BACKUPS, Name: 'foreign-team' }));
    await admin.reset();
    const names = (
      await backups.s3control.send(new ListAccessPointsCommand({ AccountId: BACKUPS }))
    ).AccessPointList!.map((a) => a.Name);
    expect(names).toEqual(['foreign-team']);
  });

  it('serves S3 Control whatever the host: the SDK without an endpoint override reaches <account>.localhost', async () => {
    await create(backups.s3control, 'team-a');
    const plain = new S3ControlClient({
      endpoint: `http://localhost:${emu.port}`,
      region: REGION,
      credentials: rootCredentials(BACKUPS),
      maxAttempts: 1,
      requestHandler: localhostNamesHandler(),
    });
    expect((await plain.send(new GetAccessPointCommand({ AccountId: BACKUPS, Name: 'team-a' }))).AccessPointArn).toBe(
      apArn('team-a'),
    );
  });

  it('answers S3 Control errors in their XML shape with a request id, and logs calls as service s3control', async () => {
    await admin.clearCalls();
    const e = await failure(backups.s3control.send(new GetAccessPointCommand({ AccountId: BACKUPS, Name: 'nope' })));
    expect((e as { $metadata?: { requestId?: string } }).$metadata?.requestId).toMatch(/^[0-9a-f-]{36}$/);
    const calls = await admin.calls();
    expect(calls.map((c) => [c.service, c.operation, c.status, c.errorCode])).toEqual([
      ['s3control', 'GetAccessPoint', 404, 'NoSuchAccessPoint'],
    ]);
  });
});

describe('Emulator: access point tags (CreateAccessPoint Tags, ListTagsForResource; aws:ResourceTag through one)', () => {
  const tagsOf = (c: S3ControlClient, name: string, account = BACKUPS) =>
    c.send(new ListTagsForResourceCommand({ AccountId: account, ResourceArn: apArn(name) })).then((o) => o.Tags);

  it('keeps the tags it was created with, reads them by ARN, and refuses another account and invalid tags', async () => {
    await backups.s3control.send(
      new CreateAccessPointCommand({
        AccountId: BACKUPS,
        Name: 'tagged',
        Bucket: 'demo-backups',
        Tags: [
          { Key: 'managed-by', Value: 's3-onboarding' },
          { Key: 'team', Value: '' },
        ],
      }),
    );
    expect(await tagsOf(backups.s3control, 'tagged')).toEqual([
      { Key: 'managed-by', Value: 's3-onboarding' },
      { Key: 'team', Value: '' },
    ]);
    await create(backups.s3control, 'untagged');
    expect(await tagsOf(backups.s3control, 'untagged')).toEqual([]);
    expect((await failure(tagsOf(backups.s3control, 'missing'))).name).toBe('NoSuchAccessPoint');
    expect((await failure(tagsOf(workloads.s3control, 'tagged', WORKLOADS))).name).toBe('AccessDenied');
    const bad = await failure(
      backups.s3control.send(
        new CreateAccessPointCommand({
          AccountId: BACKUPS,
          Name: 'bad-tags',
          Bucket: 'demo-backups',
          Tags: [{ Key: 'k'.repeat(129), Value: 'v' }],
        }),
      ),
    );
    expect(bad.name).toBe('InvalidRequest');
  });

  it("puts an access point's own tags in aws:ResourceTag of requests through it, not the bucket's", async () => {
    // no access point policy: for a caller of the bucket's account its identity policy alone decides
    for (const [name, tags] of [
      ['tag-yes', [{ Key: 'managed-by', Value: 's3-onboarding' }]],
      ['tag-no', []],
    ] as const) {
      await backups.s3control.send(
        new CreateAccessPointCommand({ AccountId: BACKUPS, Name: name, Bucket: 'demo-backups', Tags: [...tags] }),
      );
    }
    await backups.s3.send(
      new PutBucketPolicyCommand({ Bucket: 'demo-backups', Policy: doc([delegation('demo-backups')]) }),
    );
    await backups.s3.send(new PutObjectCommand({ Bucket: 'demo-backups', Key: 'team-a/x', Body: 'x' }));
    // a caller whose only grant is conditioned on the access point's tag: through the tagged one only
    await backups.iam.send(
      new (await import('@aws-sdk/client-iam')).PutRolePolicyCommand({
        RoleName: 'ap-local-reader',
        PolicyName: 'by-tag',
        PolicyDocument: doc([
          {
            Effect: 'Allow',
            Action: 's3:GetObject',
            Resource: `arn:aws:s3:${REGION}:${BACKUPS}:accesspoint/*`,
            Condition: { StringEquals: { 'aws:ResourceTag/managed-by': 's3-onboarding' } },
          },
          {
            // the bucket's own tag (demo-backups is tagged s3-onboarding-managed=true): not aws:ResourceTag here
            Effect: 'Allow',
            Action: 's3:PutObject',
            Resource: `arn:aws:s3:${REGION}:${BACKUPS}:accesspoint/*`,
            Condition: { StringEquals: { 'aws:ResourceTag/s3-onboarding-managed': 'true' } },
          },
        ]),
      }),
    );
    const reader = await asRole(LOCAL_READER);
    const aliasOf = async (name: string) =>
      (await backups.s3control.send(new GetAccessPointCommand({ AccountId: BACKUPS, Name: name }))).Alias!;
    const get = async (name: string) =>
      reader.s3
        .send(new GetObjectCommand({ Bucket: await aliasOf(name), Key: 'team-a/x' }))
        .then((o) => o.Body!.transformToString());
    expect(await get('tag-yes')).toBe('x');
    expect((await failure(get('tag-no'))).name).toBe('AccessDenied');
    const put = (name: string) =>
      aliasOf(name).then((Bucket) => reader.s3.send(new PutObjectCommand({ Bucket, Key: 'team-a/y', Body: 'y' })));
    expect((await failure(put('tag-yes'))).name).toBe('AccessDenied');
    expect((await failure(put('tag-no'))).name).toBe('AccessDenied');
  });
});

describe('Emulator: the S3 data plane through an access point (identity policy, access point policy, bucket policy)', () => {
  let alias: string;
  let reader: Clients;
  const bucketPolicy = async (statements: object[]) =>
    backups.s3.send(new PutBucketPolicyCommand({ Bucket: 'demo-backups', Policy: doc(statements) }));

  beforeEach(async () => {
    alias = (await create(backups.s3control, 'team-a')).Alias!;
    await backups.s3control.send(
      new PutAccessPointPolicyCommand({ AccountId: BACKUPS, Name: 'team-a', Policy: teamAPolicy() }),
    );
    await bucketPolicy([delegation('demo-backups')]);
    await backups.s3.send(new PutObjectCommand({ Bucket: 'demo-backups', Key: 'team-a/existing', Body: 'kept' }));
    await backups.s3.send(new PutObjectCommand({ Bucket: 'demo-backups', Key: 'team-b/other', Body: 'theirs' }));
    reader = await asRole(READER);
  });

  const read = (s3: S3Client, bucket = alias, key = 'team-a/existing') =>
    s3.send(new GetObjectCommand({ Bucket: bucket, Key: key })).then((o) => o.Body!.transformToString());

  it('allows the prefix through the alias, wherever a bucket name goes, when all three policies allow', async () => {
    expect(await read(reader.s3)).toBe('kept');
    await reader.s3.send(new PutObjectCommand({ Bucket: alias, Key: 'team-a/new', Body: 'written' }));
    expect(await read(backups.s3, 'demo-backups', 'team-a/new')).toBe('written');
    const listed = await reader.s3.send(new ListObjectsV2Command({ Bucket: alias, Prefix: 'team-a/' }));
    expect(listed.Contents!.map((c) => c.Key)).toEqual(['team-a/existing', 'team-a/new']);
  });

  it('denies outside what the access point policy grants: another prefix, another action', async () => {
    expect((await failure(read(reader.s3, alias, 'team-b/other'))).name).toBe('AccessDenied');
    expect((await failure(reader.s3.send(new ListObjectsV2Command({ Bucket: alias, Prefix: 'team-b/' })))).name).toBe(
      'AccessDenied',
    );
    // HeadBucket needs s3:ListBucket, which the access point policy grants only for prefixes under team-a/
    expect((await failure(reader.s3.send(new HeadBucketCommand({ Bucket: alias })))).$metadata?.httpStatusCode).toBe(
      403,
    );
  });

  it('denies without the identity policy (a role of the same account with none)', async () => {
    await backups.s3control.send(
      new PutAccessPointPolicyCommand({ AccountId: BACKUPS, Name: 'team-a', Policy: teamAPolicy(NO_PERMISSIONS) }),
    );
    const none = await asRole(NO_PERMISSIONS);
    const e = await failure(read(none.s3));
    expect(e.name).toBe('AccessDenied');
  });

  it('denies without the access point policy', async () => {
    await backups.s3control.send(new DeleteAccessPointPolicyCommand({ AccountId: BACKUPS, Name: 'team-a' }));
    expect((await failure(read(reader.s3))).name).toBe('AccessDenied');
  });

  it('denies without the bucket delegation, and with a delegation to another account or access point', async () => {
    await backups.s3.send(new DeleteBucketPolicyCommand({ Bucket: 'demo-backups' }));
    const e = await failure(read(reader.s3));
    expect(e.name).toBe('AccessDenied');
    await bucketPolicy([delegation('demo-backups', { 's3:DataAccessPointAccount': WORKLOADS })]);
    expect((await failure(read(reader.s3))).name).toBe('AccessDenied');
    await bucketPolicy([delegation('demo-backups', { 's3:DataAccessPointArn': apArn('team-b') })]);
    expect((await failure(read(reader.s3))).name).toBe('AccessDenied');
    // s3:DataAccessPointArn and s3:AccessPointNetworkOrigin are in the request context too
    await bucketPolicy([
      delegation('demo-backups', {
        's3:DataAccessPointArn': apArn('team-a'),
        's3:AccessPointNetworkOrigin': 'Internet',
      }),
    ]);
    expect(await read(reader.s3)).toBe('kept');
  });

  it('lets a bucket policy that names the caller stand in for the delegation, and an explicit deny in it refuse', async () => {
    await bucketPolicy([
      {
        Effect: 'Allow',
        Principal: { AWS: READER },
        Action: 's3:GetObject',
        Resource: 'arn:aws:s3:::demo-backups/team-a/*',
      },
    ]);
    expect(await read(reader.s3)).toBe('kept');
    await bucketPolicy([
      delegation('demo-backups'),
      { Effect: 'Deny', Principal: '*', Action: 's3:GetObject', Resource: 'arn:aws:s3:::demo-backups/team-a/existing' },
    ]);
    expect((await failure(read(reader.s3))).name).toBe('AccessDenied');
  });

  it('does not let the access point grant the bucket directly: the same role is denied by bucket name', async () => {
    expect((await failure(read(reader.s3, 'demo-backups'))).name).toBe('AccessDenied');
  });

  it('lets a principal of the bucket account through with its identity policy on the access point alone (same account: identity or access point policy)', async () => {
    await backups.s3control.send(new DeleteAccessPointPolicyCommand({ AccountId: BACKUPS, Name: 'team-a' }));
    const local = await asRole(LOCAL_READER);
    expect(await read(local.s3)).toBe('kept');
    // but not past a bucket policy that does not delegate (and its identity policy does not name the bucket)
    await backups.s3.send(new DeleteBucketPolicyCommand({ Bucket: 'demo-backups' }));
    expect((await failure(read(local.s3))).name).toBe('AccessDenied');
  });

  it("keeps a foreign access point unusable by a workload its policy does not name, though the workload's identity policy allows every access point", async () => {
    await backups.s3.send(
      new PutBucketPolicyCommand({ Bucket: 'shared-backups', Policy: doc([delegation('shared-backups')]) }),
    );
    await backups.s3.send(new PutObjectCommand({ Bucket: 'shared-backups', Key: 'team-a/x', Body: 'x' }));
    const foreign = (
      await backups.s3control.send(new GetAccessPointCommand({ AccountId: BACKUPS, Name: 'foreign-team' }))
    ).Alias!;
    expect((await failure(read(reader.s3, foreign, 'team-a/x'))).name).toBe('AccessDenied');
    // its owner's account is allowed through it
    expect(await read(backups.s3, foreign, 'team-a/x')).toBe('x');
  });

  it('answers NoSuchBucket for an alias no access point has', async () => {
    expect((await failure(read(reader.s3, 'team-a-0000000000000000000000000000000000-s3alias'))).name).toBe(
      'NoSuchBucket',
    );
  });

  it('reaches the access point by ARN (virtual-hosted, as the SDK sends it), and the SDK refuses an ARN with path style', async () => {
    const byArn = s3ForAccessPointArns(emu, await admin.roleCredentials(READER));
    expect(await read(byArn, apArn('team-a'))).toBe('kept');
    await byArn.send(new PutObjectCommand({ Bucket: apArn('team-a'), Key: 'team-a/by-arn', Body: 'arn' }));
    expect(await read(backups.s3, 'demo-backups', 'team-a/by-arn')).toBe('arn');
    const listed = await byArn.send(new ListObjectsV2Command({ Bucket: apArn('team-a'), Prefix: 'team-a/' }));
    expect(listed.Contents!.map((c) => c.Key)).toEqual(['team-a/by-arn', 'team-a/existing']);
    expect((await failure(read(byArn, apArn('team-a'), 'team-b/other'))).name).toBe('AccessDenied');
    expect((await failure(read(byArn, apArn('no-such-ap')))).name).toBe('NoSuchAccessPoint');
    const pathStyle = await failure(read(reader.s3, apArn('team-a')));
    expect(pathStyle.message).toBe('Path-style addressing cannot be used with ARN buckets');
  });

  it('refuses bucket operations an access point does not serve', async () => {
    expect(
      (
        await failure(
          backups.s3.send(new PutBucketPolicyCommand({ Bucket: alias, Policy: doc([delegation('demo-backups')]) })),
        )
      ).name,
    ).toBe('InvalidRequest');
  });
});
