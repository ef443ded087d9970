/**
 * The provisioner role (deploy/provisioner.yaml, seeded into every emulated account) cannot be used to escalate.
 *
 * Every test acts with the credentials the service really has: the API role's (as Lambda gets them), and the
 * provisioner role's, assumed from them with the external id. Each escalation path is one test; the denial
 * message names how it is blocked: the explicit Deny statement (by Sid), the missing Allow (the condition of
 * WorkloadRolesOnlyWithTheBoundary / WorkloadRolesTheServiceOwns is not met), or the workload boundary.
 */
import {
  AttachRolePolicyCommand,
  CreatePolicyCommand,
  CreatePolicyVersionCommand,
  CreateRoleCommand,
  DeletePolicyCommand,
  DeleteRoleCommand,
  DeleteRolePermissionsBoundaryCommand,
  DeleteRolePolicyCommand,
  GetPolicyVersionCommand,
  GetRoleCommand,
  GetRolePolicyCommand,
  PutRolePermissionsBoundaryCommand,
  PutRolePolicyCommand,
  TagRoleCommand,
  UntagRoleCommand,
  UpdateAssumeRolePolicyCommand,
  UpdateRoleCommand,
  DeleteOpenIDConnectProviderCommand,
  CreateOpenIDConnectProviderCommand,
} from '@aws-sdk/client-iam';
import { AssumeRoleCommand, AssumeRoleWithWebIdentityCommand, GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import {
  DeleteBucketPolicyCommand,
  DeleteObjectCommand,
  GetBucketAbacCommand,
  GetBucketLocationCommand,
  GetBucketPolicyCommand,
  GetBucketTaggingCommand,
  PutBucketAbacCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutBucketPolicyCommand,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import { DescribeClusterCommand } from '@aws-sdk/client-eks';
import {
  CreateGrantCommand,
  GetKeyPolicyCommand,
  PutKeyPolicyCommand,
  RetireGrantCommand,
  UntagResourceCommand,
  type CreateGrantCommandInput,
} from '@aws-sdk/client-kms';
import type { Emulator } from '../../../emulator/server';
import {
  BACKUPS,
  PLATFORM,
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
import { assumeRoleGrant, instanceRoleTrust, oidcProviderArn, webIdentityTrust } from '../../../lib/policy/documents';

const EXTERNAL_ID = 's3-onboarding-local';
const API_ROLE = `arn:aws:iam::${PLATFORM}:role/s3-onboarding-api`;
const PROVISIONER = `arn:aws:iam::${WORKLOADS}:role/s3-onboarding-provisioner`;
const PATH = '/s3-onboarding/';
const BOUNDARY = `arn:aws:iam::${WORKLOADS}:policy/s3-onboarding/s3-onboarding-workload-boundary`;
const ADMIN_POLICY = `arn:aws:iam::${WORKLOADS}:policy/admin-everything`;
const INSTANCE_ROLE = 'pbm-ec2-instance-role';
const KEY_ARN = 'arn:aws:kms:eu-west-1:300000000003:key/11111111-2222-3333-4444-555555555555';
const MANAGED_BY = [{ Key: 'managed-by', Value: 's3-onboarding' }];

const doc = (statements: object[]) => JSON.stringify({ Version: '2012-10-17', Statement: statements });
const everything = doc([{ Effect: 'Allow', Action: '*', Resource: '*' }]);
const ec2Trust = doc([{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }]);

/** How a denial comes about, as the emulator's AccessDenied message states it (like AWS's). */
type Blocked =
  | { sid: string } // an explicit Deny statement of the provisioner's policy
  | 'no-allow' // no Allow statement matches (a condition such as iam:PermissionsBoundary is not met)
  | 'boundary' // the workload permissions boundary does not allow it
  | 'sts'; // STS: the trust policy (or the caller's identity policy) does not allow the AssumeRole

async function expectDenied(p: Promise<unknown>, how: Blocked): Promise<void> {
  const err = await failure(p);
  expect(err.name).toMatch(/^AccessDenied(Exception)?$/); // IAM, STS, S3: AccessDenied; EKS, KMS: AccessDeniedException
  if (err.name === 'AccessDenied') expect(err.$metadata?.httpStatusCode).toBe(403); // KMS answers its AccessDeniedException with 400
  if (how === 'no-allow') expect(err.message).toMatch(/because no identity-based policy allows /);
  else if (how === 'boundary') expect(err.message).toMatch(/because permissions boundary does not allow /);
  else if (how === 'sts')
    expect(err.message).toMatch(
      /is not authorized to perform: sts:AssumeRole|Roles may not be assumed by root accounts/,
    );
  else expect(err.message).toContain(`because explicit deny in identity-based policy (Sid ${how.sid})`);
}

let emu: Emulator;
let admin: ReturnType<typeof emulatorAdmin>;
let api: Clients;
let prov: Clients;
let workloadsRoot: Clients;
let issuer: string;

// the demo topology plus a bucket whose owner never opted in, and one tagged whose S3 ABAC is off
const topology = demoTopology();
topology.buckets = [
  ...(topology.buckets ?? []),
  { name: 'workload-unmanaged', accountId: WORKLOADS, region: 'eu-west-1' },
  {
    name: 'workload-abac-off',
    accountId: WORKLOADS,
    region: 'eu-west-1',
    tags: { 's3-onboarding-managed': 'true' },
    abac: false,
  },
];
// keys of the workloads account whose owner opted in, and one who did not
const LOCAL_KEY = `arn:aws:kms:eu-west-1:${WORKLOADS}:key/77777777-2222-3333-4444-555555555555`;
const LOCAL_UNMANAGED_KEY = `arn:aws:kms:eu-west-1:${WORKLOADS}:key/88888888-2222-3333-4444-555555555555`;
topology.kmsKeys = [
  ...(topology.kmsKeys ?? []),
  { arn: LOCAL_KEY, tags: { 's3-onboarding-managed': 'true' } },
  { arn: LOCAL_UNMANAGED_KEY },
];
useTestEmulator((e, a) => ((emu = e), (admin = a)), topology);
beforeEach(async () => {
  api = clientsFor(emu, await admin.roleCredentials(API_ROLE));
  const out = await api.sts.send(
    new AssumeRoleCommand({ RoleArn: PROVISIONER, RoleSessionName: 's3-onboarding', ExternalId: EXTERNAL_ID }),
  );
  prov = clientsFor(emu, credentialsOf(out.Credentials));
  workloadsRoot = clientsFor(emu, rootCredentials(WORKLOADS));
  // what an attacker would like a role to carry
  await workloadsRoot.iam.send(new CreatePolicyCommand({ PolicyName: 'admin-everything', PolicyDocument: everything }));
  issuer = (await prov.eks.send(new DescribeClusterCommand({ name: 'demo' }))).cluster!.identity!.oidc!.issuer!;
});

/** The demo cluster's service account mongodb/pbm, as the service's own trust builder writes it. */
const irsaTrust = () =>
  JSON.stringify(
    webIdentityTrust([{ issuerUrl: issuer, providerArn: oidcProviderArn(WORKLOADS, issuer) }], 'mongodb', ['pbm']),
  );

/** A workload role exactly as the service creates it: path, prefix, boundary, managed-by tag. */
const createWorkloadRole = (name = 's3ob-pbm-test', trust = irsaTrust()) =>
  prov.iam.send(
    new CreateRoleCommand({
      RoleName: name,
      Path: PATH,
      AssumeRolePolicyDocument: trust,
      PermissionsBoundary: BOUNDARY,
      Tags: MANAGED_BY,
    }),
  );

/** A role the service does not own, created by the account's administrator. */
const createForeignRole = (name: string, extra: { Path?: string; Tags?: { Key: string; Value: string }[] } = {}) =>
  workloadsRoot.iam.send(new CreateRoleCommand({ RoleName: name, AssumeRolePolicyDocument: ec2Trust, ...extra }));

describe('Provisioner: creating roles', () => {
  it('may create a workload role under /s3-onboarding/ with the s3ob- prefix and the boundary (the legitimate path)', async () => {
    const out = await createWorkloadRole();
    expect(out.Role!.Arn).toBe(`arn:aws:iam::${WORKLOADS}:role/s3-onboarding/s3ob-pbm-test`);
    const role = await prov.iam.send(new GetRoleCommand({ RoleName: 's3ob-pbm-test' }));
    expect(role.Role!.PermissionsBoundary).toEqual({
      PermissionsBoundaryType: 'PermissionsBoundaryPolicy',
      PermissionsBoundaryArn: BOUNDARY,
    });
  });

  it('may not create a role without a permissions boundary (WorkloadRolesOnlyWithTheBoundary requires iam:PermissionsBoundary)', async () => {
    await expectDenied(
      prov.iam.send(
        new CreateRoleCommand({
          RoleName: 's3ob-unbounded',
          Path: PATH,
          AssumeRolePolicyDocument: irsaTrust(),
          Tags: MANAGED_BY,
        }),
      ),
      'no-allow',
    );
  });

  it('may not create a role with another policy (an admin policy) as its boundary', async () => {
    await expectDenied(
      prov.iam.send(
        new CreateRoleCommand({
          RoleName: 's3ob-admin',
          Path: PATH,
          AssumeRolePolicyDocument: irsaTrust(),
          PermissionsBoundary: ADMIN_POLICY,
          Tags: MANAGED_BY,
        }),
      ),
      'no-allow',
    );
  });

  it.each(['/', '/other/', '/s3-onboarding-evil/'])(
    'may not create a role outside the service path (path %s), even with the boundary',
    async (Path) => {
      await expectDenied(
        prov.iam.send(
          new CreateRoleCommand({
            RoleName: 's3ob-outside',
            Path,
            AssumeRolePolicyDocument: irsaTrust(),
            PermissionsBoundary: BOUNDARY,
          }),
        ),
        { sid: 'DenyRoleChangesOutsideTheServicePath' },
      );
    },
  );

  it('may not create a role without the s3ob- name prefix, even under the path and with the boundary', async () => {
    await expectDenied(
      prov.iam.send(
        new CreateRoleCommand({
          RoleName: 'admin',
          Path: PATH,
          AssumeRolePolicyDocument: irsaTrust(),
          PermissionsBoundary: BOUNDARY,
        }),
      ),
      { sid: 'DenyRoleChangesOutsideTheServicePath' },
    );
  });

  it('may not create a role in a path nested below the service path, which would let it take any role name', async () => {
    // role/s3-onboarding/s3ob-x/Admin matches the pattern role/s3-onboarding/s3ob-* (a wildcard spans "/")
    await expectDenied(
      prov.iam.send(
        new CreateRoleCommand({
          RoleName: 'Admin',
          Path: '/s3-onboarding/s3ob-x/',
          AssumeRolePolicyDocument: irsaTrust(),
          PermissionsBoundary: BOUNDARY,
        }),
      ),
      { sid: 'DenyRoleChangesBelowTheServicePath' },
    );
  });
});

describe('Provisioner: the boundary caps whatever it writes into a workload role', () => {
  it("lets it put Action '*' on a workload role, but the role's web-identity session can still only do what the boundary allows", async () => {
    await createWorkloadRole();
    await prov.iam.send(
      new PutRolePolicyCommand({ RoleName: 's3ob-pbm-test', PolicyName: 'everything', PolicyDocument: everything }),
    );
    const token = await admin.token({ cluster: 'demo', namespace: 'mongodb', serviceAccount: 'pbm' });
    const out = await workloadsRoot.sts.send(
      new AssumeRoleWithWebIdentityCommand({
        RoleArn: `arn:aws:iam::${WORKLOADS}:role/s3-onboarding/s3ob-pbm-test`,
        RoleSessionName: 'pod',
        WebIdentityToken: token,
      }),
    );
    const pod = clientsFor(emu, credentialsOf(out.Credentials));
    expect((await pod.sts.send(new GetCallerIdentityCommand({}))).Arn).toBe(
      `arn:aws:sts::${WORKLOADS}:assumed-role/s3ob-pbm-test/pod`,
    );

    // what the boundary allows works: object data in a bucket of the same account
    await pod.s3.send(new PutObjectCommand({ Bucket: 'workload-local-backups', Key: 'a/b', Body: 'x' }));
    expect(
      await (
        await pod.s3.send(new GetObjectCommand({ Bucket: 'workload-local-backups', Key: 'a/b' }))
      ).Body!.transformToString(),
    ).toBe('x');

    // everything else is denied by the boundary, although the identity policy allows '*'
    await expectDenied(
      pod.iam.send(
        new CreateRoleCommand({
          RoleName: 's3ob-pod-made',
          Path: PATH,
          AssumeRolePolicyDocument: ec2Trust,
          PermissionsBoundary: BOUNDARY,
        }),
      ),
      'boundary',
    );
    await expectDenied(
      pod.iam.send(
        new PutRolePolicyCommand({ RoleName: 's3ob-pbm-test', PolicyName: 'more', PolicyDocument: everything }),
      ),
      'boundary',
    );
    await expectDenied(
      pod.iam.send(new DeleteRolePermissionsBoundaryCommand({ RoleName: 's3ob-pbm-test' })),
      'boundary',
    );
    await expectDenied(
      pod.s3.send(
        new PutBucketPolicyCommand({
          Bucket: 'workload-local-backups',
          Policy: everythingBucketPolicy('workload-local-backups'),
        }),
      ),
      'boundary',
    );
    await expectDenied(pod.s3.send(new GetBucketPolicyCommand({ Bucket: 'workload-local-backups' })), 'boundary');
    await expectDenied(pod.eks.send(new DescribeClusterCommand({ name: 'demo' })), 'boundary');
    await expectDenied(
      pod.sts.send(new AssumeRoleCommand({ RoleArn: PROVISIONER, RoleSessionName: 'hop', ExternalId: EXTERNAL_ID })),
      'sts',
    );
  });
});

describe('Provisioner: the boundary keeps a workload role to what owners opted in, even if the planner erred (issue 18)', () => {
  /** A workload role as the service creates it, carrying Action '*' (what a planner bug could write), as its pod. */
  const podWithEverything = async () => {
    await createWorkloadRole();
    await prov.iam.send(
      new PutRolePolicyCommand({ RoleName: 's3ob-pbm-test', PolicyName: 'everything', PolicyDocument: everything }),
    );
    const token = await admin.token({ cluster: 'demo', namespace: 'mongodb', serviceAccount: 'pbm' });
    const out = await workloadsRoot.sts.send(
      new AssumeRoleWithWebIdentityCommand({
        RoleArn: `arn:aws:iam::${WORKLOADS}:role/s3-onboarding/s3ob-pbm-test`,
        RoleSessionName: 'pod',
        WebIdentityToken: token,
      }),
    );
    return clientsFor(emu, credentialsOf(out.Credentials));
  };

  it('reaches objects and listings of an opted-in bucket only: not an untagged one, nor a tagged one whose S3 ABAC is off', async () => {
    const pod = await podWithEverything();
    await pod.s3.send(new PutObjectCommand({ Bucket: 'workload-local-backups', Key: 'ok/x', Body: 'x' }));
    await pod.s3.send(new ListObjectsV2Command({ Bucket: 'workload-local-backups', Prefix: 'ok/' }));
    for (const bucket of ['workload-unmanaged', 'workload-abac-off']) {
      // the owner's data is there: a denial is the boundary's, not a missing key's
      await workloadsRoot.s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'secret', Body: 'owner data' }));
      await expectDenied(pod.s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'secret' })), 'boundary');
      await expectDenied(pod.s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'planted', Body: 'x' })), 'boundary');
      await expectDenied(pod.s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'secret' })), 'boundary');
      await expectDenied(pod.s3.send(new ListObjectsV2Command({ Bucket: bucket })), 'boundary');
      await expectDenied(pod.s3.send(new GetBucketLocationCommand({ Bucket: bucket })), 'boundary');
    }
    // the owner turns ABAC on: the same role now reaches the tagged bucket
    await workloadsRoot.s3.send(
      new PutBucketAbacCommand({ Bucket: 'workload-abac-off', AbacStatus: { Status: 'Enabled' } }),
    );
    expect(
      await (
        await pod.s3.send(new GetObjectCommand({ Bucket: 'workload-abac-off', Key: 'secret' }))
      ).Body!.transformToString(),
    ).toBe('owner data');
  });

  it('uses for SSE-KMS only keys whose owner opted in', async () => {
    const pod = await podWithEverything();
    const put = (key: string) =>
      pod.s3.send(
        new PutObjectCommand({
          Bucket: 'workload-local-backups',
          Key: `kms/${key.slice(-4)}`,
          Body: 'x',
          ServerSideEncryption: 'aws:kms',
          SSEKMSKeyId: key,
        }),
      );
    await put(LOCAL_KEY);
    await expectDenied(put(LOCAL_UNMANAGED_KEY), 'boundary');
  });
});

const everythingBucketPolicy = (bucket: string) =>
  doc([
    {
      Sid: 'Open',
      Effect: 'Allow',
      Principal: '*',
      Action: 's3:*',
      Resource: [`arn:aws:s3:::${bucket}`, `arn:aws:s3:::${bucket}/*`],
    },
  ]);

describe('Provisioner: the boundary itself', () => {
  it('may not edit the boundary policy (CreatePolicyVersion)', async () => {
    await expectDenied(
      prov.iam.send(
        new CreatePolicyVersionCommand({ PolicyArn: BOUNDARY, PolicyDocument: everything, SetAsDefault: true }),
      ),
      { sid: 'DenyBoundaryTampering' },
    );
    const v = await workloadsRoot.iam.send(new GetPolicyVersionCommand({ PolicyArn: BOUNDARY, VersionId: 'v1' }));
    expect(v.PolicyVersion!.IsDefaultVersion).toBe(true);
  });

  it('may not delete the boundary policy (DeletePolicy), which would leave boundaries that allow nothing or that an admin recreates wider', async () => {
    await expectDenied(prov.iam.send(new DeletePolicyCommand({ PolicyArn: BOUNDARY })), {
      sid: 'DenyBoundaryTampering',
    });
  });

  it("may not remove a workload role's boundary (DeleteRolePermissionsBoundary)", async () => {
    await createWorkloadRole();
    await expectDenied(prov.iam.send(new DeleteRolePermissionsBoundaryCommand({ RoleName: 's3ob-pbm-test' })), {
      sid: 'DenyRemovingBoundaries',
    });
  });

  it("may not replace a workload role's boundary with another policy (PutRolePermissionsBoundary), only re-set the same one", async () => {
    await createWorkloadRole();
    await expectDenied(
      prov.iam.send(
        new PutRolePermissionsBoundaryCommand({ RoleName: 's3ob-pbm-test', PermissionsBoundary: ADMIN_POLICY }),
      ),
      'no-allow',
    );
    await prov.iam.send(
      new PutRolePermissionsBoundaryCommand({ RoleName: 's3ob-pbm-test', PermissionsBoundary: BOUNDARY }),
    );
  });

  it.each([ADMIN_POLICY, 'arn:aws:iam::aws:policy/AdministratorAccess'])(
    'may not attach a managed policy (%s) to a workload role (no Allow for AttachRolePolicy)',
    async (PolicyArn) => {
      await createWorkloadRole();
      await expectDenied(
        prov.iam.send(new AttachRolePolicyCommand({ RoleName: 's3ob-pbm-test', PolicyArn })),
        'no-allow',
      );
    },
  );
});

describe('Provisioner: roles it does not own', () => {
  it.each([
    [
      'UpdateAssumeRolePolicy (to trust itself)',
      () =>
        new UpdateAssumeRolePolicyCommand({
          RoleName: INSTANCE_ROLE,
          PolicyDocument: doc([{ Effect: 'Allow', Principal: { AWS: PROVISIONER }, Action: 'sts:AssumeRole' }]),
        }),
    ],
    ['DeleteRole', () => new DeleteRoleCommand({ RoleName: INSTANCE_ROLE })],
    ['TagRole', () => new TagRoleCommand({ RoleName: INSTANCE_ROLE, Tags: MANAGED_BY })],
    ['UntagRole', () => new UntagRoleCommand({ RoleName: INSTANCE_ROLE, TagKeys: ['s3-onboarding-grantable'] })],
    ['UpdateRole', () => new UpdateRoleCommand({ RoleName: INSTANCE_ROLE, MaxSessionDuration: 43200 })],
    [
      'PutRolePermissionsBoundary',
      () => new PutRolePermissionsBoundaryCommand({ RoleName: INSTANCE_ROLE, PermissionsBoundary: BOUNDARY }),
    ],
    ['AttachRolePolicy', () => new AttachRolePolicyCommand({ RoleName: INSTANCE_ROLE, PolicyArn: ADMIN_POLICY })],
  ] as const)('may not %s on the grantable EC2 instance role outside its path', async (_n, command) => {
    await expectDenied(prov.iam.send(command() as never), { sid: 'DenyRoleChangesOutsideTheServicePath' });
  });

  it('may write an inline policy only into instance roles tagged s3-onboarding-grantable=true (InstanceRoleGrantForEc2Workloads)', async () => {
    const grant = JSON.stringify(assumeRoleGrant(`arn:aws:iam::${WORKLOADS}:role/s3-onboarding/s3ob-pbm-test`));
    // allowed on the tagged role, and only because of the tag
    await prov.iam.send(
      new PutRolePolicyCommand({
        RoleName: INSTANCE_ROLE,
        PolicyName: 's3-onboarding-assume-ob-test',
        PolicyDocument: grant,
      }),
    );
    await prov.iam.send(
      new DeleteRolePolicyCommand({ RoleName: INSTANCE_ROLE, PolicyName: 's3-onboarding-assume-ob-test' }),
    );
    await createForeignRole('other-instance-role', { Tags: [{ Key: 's3-onboarding-grantable', Value: 'false' }] });
    await createForeignRole('untagged-instance-role');
    for (const RoleName of ['other-instance-role', 'untagged-instance-role']) {
      await expectDenied(
        prov.iam.send(new PutRolePolicyCommand({ RoleName, PolicyName: 'grant', PolicyDocument: everything })),
        'no-allow',
      );
    }
  });

  it('may not make a foreign role grantable by tagging it', async () => {
    await createForeignRole('untagged-instance-role');
    await expectDenied(
      prov.iam.send(
        new TagRoleCommand({
          RoleName: 'untagged-instance-role',
          Tags: [{ Key: 's3-onboarding-grantable', Value: 'true' }],
        }),
      ),
      {
        sid: 'DenyRoleChangesOutsideTheServicePath',
      },
    );
  });

  it('may not change a role under /s3-onboarding/s3ob- that it did not create (no managed-by tag, no boundary)', async () => {
    await createForeignRole('s3ob-legacy', { Path: PATH });
    await workloadsRoot.iam.send(
      new PutRolePolicyCommand({ RoleName: 's3ob-legacy', PolicyName: 'admin', PolicyDocument: everything }),
    );
    const trustProvisioner = doc([{ Effect: 'Allow', Principal: { AWS: PROVISIONER }, Action: 'sts:AssumeRole' }]);
    await expectDenied(
      prov.iam.send(new UpdateAssumeRolePolicyCommand({ RoleName: 's3ob-legacy', PolicyDocument: trustProvisioner })),
      'no-allow',
    );
    await expectDenied(prov.iam.send(new TagRoleCommand({ RoleName: 's3ob-legacy', Tags: MANAGED_BY })), 'no-allow');
    await expectDenied(
      prov.iam.send(new DeleteRolePolicyCommand({ RoleName: 's3ob-legacy', PolicyName: 'admin' })),
      'no-allow',
    );
    await expectDenied(
      prov.iam.send(
        new PutRolePolicyCommand({ RoleName: 's3ob-legacy', PolicyName: 'more', PolicyDocument: everything }),
      ),
      'no-allow',
    );
    await expectDenied(prov.iam.send(new DeleteRoleCommand({ RoleName: 's3ob-legacy' })), 'no-allow');
  });

  it('may change the trust, tags and existence of a workload role it created (the legitimate path)', async () => {
    await createWorkloadRole();
    await prov.iam.send(new UpdateAssumeRolePolicyCommand({ RoleName: 's3ob-pbm-test', PolicyDocument: irsaTrust() }));
    await prov.iam.send(new TagRoleCommand({ RoleName: 's3ob-pbm-test', Tags: [{ Key: 'team', Value: 'a' }] }));
    await prov.iam.send(new UntagRoleCommand({ RoleName: 's3ob-pbm-test', TagKeys: ['team'] }));
    await prov.iam.send(
      new PutRolePolicyCommand({ RoleName: 's3ob-pbm-test', PolicyName: 's3-onboarding', PolicyDocument: everything }),
    );
    await prov.iam.send(new GetRolePolicyCommand({ RoleName: 's3ob-pbm-test', PolicyName: 's3-onboarding' }));
    await prov.iam.send(new DeleteRolePolicyCommand({ RoleName: 's3ob-pbm-test', PolicyName: 's3-onboarding' }));
    await prov.iam.send(new DeleteRoleCommand({ RoleName: 's3ob-pbm-test' }));
  });
});

describe('Provisioner: itself', () => {
  const self = 's3-onboarding-provisioner';
  it.each([
    [
      'PutRolePolicy (grant itself more)',
      () => new PutRolePolicyCommand({ RoleName: self, PolicyName: 'more', PolicyDocument: everything }),
      'DenyEditingItself',
    ],
    [
      'DeleteRolePolicy (drop its own denies)',
      () => new DeleteRolePolicyCommand({ RoleName: self, PolicyName: 'provision' }),
      'DenyEditingItself',
    ],
    [
      'AttachRolePolicy',
      () => new AttachRolePolicyCommand({ RoleName: self, PolicyArn: ADMIN_POLICY }),
      'DenyEditingItself',
    ],
    [
      'UpdateAssumeRolePolicy (widen who may assume it)',
      () =>
        new UpdateAssumeRolePolicyCommand({
          RoleName: self,
          PolicyDocument: doc([
            { Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${BACKUPS}:root` }, Action: 'sts:AssumeRole' },
          ]),
        }),
      'DenyEditingItself',
    ],
    [
      'TagRole (make itself grantable)',
      () => new TagRoleCommand({ RoleName: self, Tags: [{ Key: 's3-onboarding-grantable', Value: 'true' }] }),
      'DenyEditingItself',
    ],
    ['UntagRole', () => new UntagRoleCommand({ RoleName: self, TagKeys: ['managed-by'] }), 'DenyEditingItself'],
    [
      'UpdateRole',
      () => new UpdateRoleCommand({ RoleName: self, MaxSessionDuration: 43200 }),
      'DenyRoleChangesOutsideTheServicePath',
    ],
    ['DeleteRole', () => new DeleteRoleCommand({ RoleName: self }), 'DenyRoleChangesOutsideTheServicePath'],
    [
      'PutRolePermissionsBoundary',
      () => new PutRolePermissionsBoundaryCommand({ RoleName: self, PermissionsBoundary: BOUNDARY }),
      'DenyRoleChangesOutsideTheServicePath',
    ],
  ] as const)('may not %s on its own role', async (_n, command, sid) => {
    await expectDenied(prov.iam.send(command() as never), { sid });
  });
});

describe('Provisioner: IAM OIDC providers', () => {
  it('may delete a provider it created (tagged managed-by) but not one it did not create', async () => {
    const cluster = await workloadsRoot.eks.send(new DescribeClusterCommand({ name: 'demo' }));
    const existing = `arn:aws:iam::${WORKLOADS}:oidc-provider/${cluster.cluster!.identity!.oidc!.issuer!.replace('https://', '')}`;
    await expectDenied(
      prov.iam.send(new DeleteOpenIDConnectProviderCommand({ OpenIDConnectProviderArn: existing })),
      'no-allow',
    );
    const created = await prov.iam.send(
      new CreateOpenIDConnectProviderCommand({
        Url: 'https://oidc.eks.eu-west-1.amazonaws.com/id/TEMPORARY',
        ClientIDList: ['sts.amazonaws.com'],
        Tags: MANAGED_BY,
      }),
    );
    await prov.iam.send(
      new DeleteOpenIDConnectProviderCommand({ OpenIDConnectProviderArn: created.OpenIDConnectProviderArn }),
    );
  });
});

describe('Confused deputy: assuming the provisioner role', () => {
  const assume = (c: Clients, ExternalId?: string) =>
    c.sts.send(new AssumeRoleCommand({ RoleArn: PROVISIONER, RoleSessionName: 'deputy', ExternalId }));

  it('works for the API role with the external id (the legitimate path)', async () => {
    const out = await assume(api, EXTERNAL_ID);
    expect(out.AssumedRoleUser!.Arn).toBe(`arn:aws:sts::${WORKLOADS}:assumed-role/s3-onboarding-provisioner/deputy`);
  });

  it('is denied to the API role without the external id (TrustTheApiWithExternalId requires sts:ExternalId)', async () => {
    await expectDenied(assume(api), 'sts');
  });

  it('is denied to the API role with a wrong external id', async () => {
    await expectDenied(assume(api, 'guessed-id'), 'sts');
    await expectDenied(assume(api, `${EXTERNAL_ID}-2`), 'sts');
  });

  it('is denied to the root of another account, even with the external id', async () => {
    await expectDenied(assume(clientsFor(emu, rootCredentials(BACKUPS)), EXTERNAL_ID), 'sts');
  });

  it('is denied to a role named s3-onboarding-api in another account, allowed sts:AssumeRole on everything, with the external id', async () => {
    const backupsRoot = clientsFor(emu, rootCredentials(BACKUPS));
    await backupsRoot.iam.send(
      new CreateRoleCommand({
        RoleName: 's3-onboarding-api',
        AssumeRolePolicyDocument: JSON.stringify(instanceRoleTrust(`arn:aws:iam::${BACKUPS}:root`)),
      }),
    );
    await backupsRoot.iam.send(
      new PutRolePolicyCommand({
        RoleName: 's3-onboarding-api',
        PolicyName: 'assume',
        PolicyDocument: doc([{ Effect: 'Allow', Action: 'sts:AssumeRole', Resource: '*' }]),
      }),
    );
    const lookalike = clientsFor(emu, await admin.roleCredentials(`arn:aws:iam::${BACKUPS}:role/s3-onboarding-api`));
    await expectDenied(assume(lookalike, EXTERNAL_ID), 'sts');
  });

  it('is denied to another role of the platform account, allowed sts:AssumeRole on everything, with the external id', async () => {
    const platformRoot = clientsFor(emu, rootCredentials(PLATFORM));
    await platformRoot.iam.send(new CreateRoleCommand({ RoleName: 'dba-portal', AssumeRolePolicyDocument: ec2Trust }));
    await platformRoot.iam.send(
      new PutRolePolicyCommand({
        RoleName: 'dba-portal',
        PolicyName: 'assume',
        PolicyDocument: doc([{ Effect: 'Allow', Action: 'sts:AssumeRole', Resource: '*' }]),
      }),
    );
    const portal = clientsFor(emu, await admin.roleCredentials(`arn:aws:iam::${PLATFORM}:role/dba-portal`));
    await expectDenied(assume(portal, EXTERNAL_ID), 'sts');
  });

  it('is denied to a workload role (a pod with its IRSA session), with the external id', async () => {
    await createWorkloadRole();
    await prov.iam.send(
      new PutRolePolicyCommand({ RoleName: 's3ob-pbm-test', PolicyName: 'everything', PolicyDocument: everything }),
    );
    const token = await admin.token({ cluster: 'demo', namespace: 'mongodb', serviceAccount: 'pbm' });
    const out = await workloadsRoot.sts.send(
      new AssumeRoleWithWebIdentityCommand({
        RoleArn: `arn:aws:iam::${WORKLOADS}:role/s3-onboarding/s3ob-pbm-test`,
        RoleSessionName: 'pod',
        WebIdentityToken: token,
      }),
    );
    await expectDenied(assume(clientsFor(emu, credentialsOf(out.Credentials)), EXTERNAL_ID), 'sts');
  });

  it("is denied to a provisioner session of another account (no hopping from one account's provisioner to the next)", async () => {
    const out = await api.sts.send(
      new AssumeRoleCommand({
        RoleArn: `arn:aws:iam::${BACKUPS}:role/s3-onboarding-provisioner`,
        RoleSessionName: 'other',
        ExternalId: EXTERNAL_ID,
      }),
    );
    await expectDenied(assume(clientsFor(emu, credentialsOf(out.Credentials)), EXTERNAL_ID), 'sts');
  });
});

describe('The API role itself', () => {
  it('may not create roles in the platform account', async () => {
    await expectDenied(
      api.iam.send(new CreateRoleCommand({ RoleName: 'api-made', AssumeRolePolicyDocument: ec2Trust })),
      'no-allow',
    );
  });

  it('may not grant itself more (PutRolePolicy on its own role)', async () => {
    await expectDenied(
      api.iam.send(
        new PutRolePolicyCommand({ RoleName: 's3-onboarding-api', PolicyName: 'more', PolicyDocument: everything }),
      ),
      'no-allow',
    );
  });

  it('may not read, write or delete bucket policies directly', async () => {
    for (const command of [
      new GetBucketPolicyCommand({ Bucket: 'demo-backups' }),
      new PutBucketPolicyCommand({ Bucket: 'demo-backups', Policy: everythingBucketPolicy('demo-backups') }),
      new DeleteBucketPolicyCommand({ Bucket: 'demo-backups' }),
    ]) {
      const err = await failure(api.s3.send(command as never));
      expect(err.name).toBe('AccessDenied');
    }
  });

  it('may not read or write objects directly', async () => {
    await expectDenied(api.s3.send(new ListObjectsV2Command({ Bucket: 'shared-backups' })), 'no-allow');
    await expectDenied(api.s3.send(new GetObjectCommand({ Bucket: 'shared-backups', Key: 'x' })), 'no-allow');
    await expectDenied(
      api.s3.send(new PutObjectCommand({ Bucket: 'shared-backups', Key: 'x', Body: 'x' })),
      'no-allow',
    );
  });

  it('may not read or write key policies directly', async () => {
    for (const command of [
      new GetKeyPolicyCommand({ KeyId: KEY_ARN, PolicyName: 'default' }),
      new PutKeyPolicyCommand({ KeyId: KEY_ARN, PolicyName: 'default', Policy: everything }),
    ]) {
      const err = await failure(api.kms.send(command as never));
      expect(err.name).toBe('AccessDeniedException');
    }
  });

  it('may not assume a workload role directly, even one whose trust names it (AssumeProvisionerRoles is its only sts grant)', async () => {
    await createWorkloadRole(
      's3ob-trusts-api',
      doc([{ Effect: 'Allow', Principal: { AWS: API_ROLE }, Action: 'sts:AssumeRole' }]),
    );
    await expectDenied(
      api.sts.send(
        new AssumeRoleCommand({
          RoleArn: `arn:aws:iam::${WORKLOADS}:role/s3-onboarding/s3ob-trusts-api`,
          RoleSessionName: 'direct',
        }),
      ),
      'sts',
    );
  });
});

describe('Provisioner: bucket and key policies only where the owner opted in (s3-onboarding-managed=true)', () => {
  const provisionerIn = async (account: string) => {
    const out = await api.sts.send(
      new AssumeRoleCommand({
        RoleArn: `arn:aws:iam::${account}:role/s3-onboarding-provisioner`,
        RoleSessionName: 's3-onboarding',
        ExternalId: EXTERNAL_ID,
      }),
    );
    return clientsFor(emu, credentialsOf(out.Credentials));
  };

  it('may change the policy of a tagged bucket, not of an untagged one (ChangeOptedInBucketPolicies needs the tag)', async () => {
    const backups = await provisionerIn(BACKUPS);
    await backups.s3.send(
      new PutBucketPolicyCommand({
        Bucket: 'shared-backups',
        ExpectedBucketOwner: BACKUPS,
        Policy: everythingBucketPolicy('shared-backups'),
      }),
    );
    // untagged, and tagged with S3 ABAC off (the tag is not aws:ResourceTag then): no policy write
    for (const bucket of ['workload-unmanaged', 'workload-abac-off']) {
      await expectDenied(
        prov.s3.send(
          new PutBucketPolicyCommand({
            Bucket: bucket,
            ExpectedBucketOwner: WORKLOADS,
            Policy: everythingBucketPolicy(bucket),
          }),
        ),
        'no-allow',
      );
      await expectDenied(
        prov.s3.send(new DeleteBucketPolicyCommand({ Bucket: bucket, ExpectedBucketOwner: WORKLOADS })),
        'no-allow',
      );
      // reading stays allowed: the service plans from what it reads (the tags and ABAC status too), and refuses before writing
      await prov.s3
        .send(new GetBucketPolicyCommand({ Bucket: bucket, ExpectedBucketOwner: WORKLOADS }))
        .catch((e: Error) => expect(e.name).toBe('NoSuchBucketPolicy'));
      await prov.s3
        .send(new GetBucketTaggingCommand({ Bucket: bucket, ExpectedBucketOwner: WORKLOADS }))
        .catch((e: Error) => expect(e.name).toBe('NoSuchTagSet'));
    }
    expect(
      (await prov.s3.send(new GetBucketAbacCommand({ Bucket: 'workload-abac-off', ExpectedBucketOwner: WORKLOADS })))
        .AbacStatus!.Status,
    ).toBe('Disabled');
    // ...and nothing else of ABAC: the provisioner cannot turn it on (or off) itself
    await expectDenied(
      prov.s3.send(
        new PutBucketAbacCommand({
          Bucket: 'workload-abac-off',
          ExpectedBucketOwner: WORKLOADS,
          AbacStatus: { Status: 'Enabled' },
        }),
      ),
      'no-allow',
    );
  });

  it('never changes a key policy, tagged or not (SSE-KMS access is a KMS grant)', async () => {
    const backups = await provisionerIn(BACKUPS);
    const policy = (await backups.kms.send(new GetKeyPolicyCommand({ KeyId: KEY_ARN, PolicyName: 'default' }))).Policy!;
    await expectDenied(
      backups.kms.send(new PutKeyPolicyCommand({ KeyId: KEY_ARN, PolicyName: 'default', Policy: policy })),
      'no-allow',
    );
  });

  it('grants a tagged key only to workload roles, only Decrypt/GenerateDataKey, retirable by itself; once the tag is gone, no longer', async () => {
    const backups = await provisionerIn(BACKUPS);
    await createWorkloadRole('s3ob-kms-grantee');
    const grantee = `arn:aws:iam::${WORKLOADS}:role${PATH}s3ob-kms-grantee`;
    const self = `arn:aws:iam::${BACKUPS}:role/s3-onboarding-provisioner`;
    const grant = (over: Partial<CreateGrantCommandInput> = {}) =>
      backups.kms.send(
        new CreateGrantCommand({
          KeyId: KEY_ARN,
          GranteePrincipal: grantee,
          RetiringPrincipal: self,
          Operations: ['Decrypt', 'GenerateDataKey'],
          Name: 'probe',
          ...over,
        }),
      );
    const made = await grant();
    // the service retires what it made (as its retiring principal), and could revoke it
    await backups.kms.send(new RetireGrantCommand({ KeyId: KEY_ARN, GrantId: made.GrantId }));
    for (const over of [
      { Operations: ['Decrypt', 'CreateGrant'] },
      { Operations: ['Encrypt'] },
      { GranteePrincipal: `arn:aws:iam::${WORKLOADS}:role/pbm-ec2-instance-role` },
      { RetiringPrincipal: grantee },
    ] as Partial<CreateGrantCommandInput>[])
      await expectDenied(grant(over), 'no-allow');
    await clientsFor(emu, rootCredentials(BACKUPS)).kms.send(
      new UntagResourceCommand({ KeyId: KEY_ARN, TagKeys: ['s3-onboarding-managed'] }),
    );
    await expectDenied(grant(), 'no-allow');
  });
});
