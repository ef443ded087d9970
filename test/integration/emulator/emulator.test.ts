import {
  AttachRolePolicyCommand,
  CreateOpenIDConnectProviderCommand,
  CreatePolicyCommand,
  CreateRoleCommand,
  DeleteConflictException,
  DeleteRoleCommand,
  DeleteRolePolicyCommand,
  EntityAlreadyExistsException,
  GetAccountSummaryCommand,
  GetOpenIDConnectProviderCommand,
  GetPolicyVersionCommand,
  GetRoleCommand,
  GetRolePolicyCommand,
  LimitExceededException,
  ListAttachedRolePoliciesCommand,
  ListRolePoliciesCommand,
  ListRolesCommand,
  ListRoleTagsCommand,
  MalformedPolicyDocumentException,
  NoSuchEntityException,
  PutRolePolicyCommand,
  TagRoleCommand,
  UpdateAssumeRolePolicyCommand,
  DetachRolePolicyCommand,
  DeleteOpenIDConnectProviderCommand,
  ListOpenIDConnectProvidersCommand,
} from '@aws-sdk/client-iam';
import { AssumeRoleCommand, AssumeRoleWithWebIdentityCommand, GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import {
  DeleteBucketPolicyCommand,
  GetBucketEncryptionCommand,
  GetBucketLocationCommand,
  GetBucketPolicyCommand,
  GetBucketTaggingCommand,
  GetObjectCommand,
  HeadBucketCommand,
  ListObjectsV2Command,
  PutBucketPolicyCommand,
  PutObjectCommand,
  DeleteObjectCommand,
  HeadObjectCommand,
} from '@aws-sdk/client-s3';
import { DescribeClusterCommand, ListClustersCommand, ResourceNotFoundException } from '@aws-sdk/client-eks';
import { DescribeKeyCommand, GetKeyPolicyCommand, PutKeyPolicyCommand } from '@aws-sdk/client-kms';
import { isThrottlingError } from '@smithy/core/retry';
import type { Emulator } from '../../../emulator/server';
import {
  BACKUPS,
  PLATFORM,
  WORKLOADS,
  clientsFor,
  credentialsOf,
  type emulatorAdmin,
  failure,
  rootCredentials,
  useTestEmulator,
  type Clients,
} from '../../helpers/emulator';

const doc = (statements: object[]) => JSON.stringify({ Version: '2012-10-17', Statement: statements });
const ec2Trust = doc([{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }]);

let emu: Emulator;
let admin: ReturnType<typeof emulatorAdmin>;
let workloadsRoot: Clients;
let backupsRoot: Clients;
let api: Clients;

useTestEmulator((e, a) => ((emu = e), (admin = a)));
beforeEach(async () => {
  workloadsRoot = clientsFor(emu, rootCredentials(WORKLOADS));
  backupsRoot = clientsFor(emu, rootCredentials(BACKUPS));
  api = clientsFor(emu, await admin.roleCredentials(`arn:aws:iam::${PLATFORM}:role/s3-onboarding-api`));
});

describe('Emulator: admin API', () => {
  it('answers health with the topology accounts', async () => {
    const res = await fetch(`${emu.url}/_emulator/health`);
    expect(await res.json()).toEqual({
      ok: true,
      services: ['iam', 'sts', 's3', 's3control', 'eks', 'kms', 'eks-auth', 'events'],
      accounts: [PLATFORM, WORKLOADS, BACKUPS],
    });
  });

  it('logs every call with account, principal, operation, status and whether it wrote', async () => {
    await admin.clearCalls();
    await workloadsRoot.sts.send(new GetCallerIdentityCommand({}));
    await failure(workloadsRoot.iam.send(new GetRoleCommand({ RoleName: 'missing' })));
    await workloadsRoot.iam.send(new CreateRoleCommand({ RoleName: 'logged', AssumeRolePolicyDocument: ec2Trust }));
    const calls = await admin.calls();
    expect(
      calls.map(({ service, operation, status, errorCode, write, accountId, principalArn }) => ({
        service,
        operation,
        status,
        errorCode,
        write,
        accountId,
        principalArn,
      })),
    ).toEqual([
      {
        service: 'sts',
        operation: 'GetCallerIdentity',
        status: 200,
        errorCode: null,
        write: false,
        accountId: WORKLOADS,
        principalArn: `arn:aws:iam::${WORKLOADS}:root`,
      },
      {
        service: 'iam',
        operation: 'GetRole',
        status: 404,
        errorCode: 'NoSuchEntity',
        write: false,
        accountId: WORKLOADS,
        principalArn: `arn:aws:iam::${WORKLOADS}:root`,
      },
      {
        service: 'iam',
        operation: 'CreateRole',
        status: 200,
        errorCode: null,
        write: true,
        accountId: WORKLOADS,
        principalArn: `arn:aws:iam::${WORKLOADS}:root`,
      },
    ]);
    expect(calls.map((c) => c.seq)).toEqual([...calls.map((c) => c.seq)].sort((a, b) => a - b));
    await admin.clearCalls();
    expect(await admin.calls()).toEqual([]);
  });

  it('surfaces an injected Throttling fault as the SDK throttling error, and the SDK retries through it', async () => {
    await admin.fault({
      service: 'iam',
      operation: 'GetRole',
      errorCode: 'Throttling',
      httpStatus: 400,
      message: 'Rate exceeded',
      count: 2,
    });
    const err = await failure(workloadsRoot.iam.send(new GetRoleCommand({ RoleName: 's3-onboarding-provisioner' })));
    expect(err.name).toBe('Throttling');
    expect(err.message).toBe('Rate exceeded');
    expect(isThrottlingError(err as never)).toBe(true);
    const retrying = clientsFor(emu, rootCredentials(WORKLOADS), 'eu-west-1', 3);
    const ok = await retrying.iam.send(new GetRoleCommand({ RoleName: 's3-onboarding-provisioner' }));
    expect(ok.$metadata.attempts).toBe(2);
    await admin.clearFaults();
  });

  it('lets a fault skip the first matching calls (after) and applies it to the next one only', async () => {
    await admin.fault({
      service: 'iam',
      operation: 'CreateRole',
      errorCode: 'ServiceFailure',
      httpStatus: 500,
      count: 1,
      after: 1,
    });
    await workloadsRoot.iam.send(new CreateRoleCommand({ RoleName: 'first', AssumeRolePolicyDocument: ec2Trust }));
    const err = await failure(
      workloadsRoot.iam.send(new CreateRoleCommand({ RoleName: 'second', AssumeRolePolicyDocument: ec2Trust })),
    );
    expect(err.name).toBe('ServiceFailureException');
    expect(err.$metadata?.httpStatusCode).toBe(500);
    await workloadsRoot.iam.send(new CreateRoleCommand({ RoleName: 'third', AssumeRolePolicyDocument: ec2Trust }));
  });

  it('delays every call by the configured latency and records the duration in the call log', async () => {
    await admin.latency(120);
    await workloadsRoot.sts.send(new GetCallerIdentityCommand({}));
    const last = (await admin.calls()).at(-1)!;
    expect(last.durationMs).toBeGreaterThanOrEqual(115);
    await admin.latency(0);
  });

  it('serves a call when it arrives and answers it the latency later: the latency is counted once, however many run in parallel', async () => {
    await admin.latency(400);
    try {
      let answered = false;
      const creating = workloadsRoot.iam
        .send(new CreateRoleCommand({ RoleName: 'in-flight', AssumeRolePolicyDocument: ec2Trust }))
        .then(() => (answered = true));
      const world = emu.world();
      for (let i = 0; i < 60 && !world.accounts.get(WORKLOADS)!.roles.has('in-flight'); i++)
        await new Promise((r) => setTimeout(r, 5));
      // the role exists while its CreateRole is still unanswered
      expect(world.accounts.get(WORKLOADS)!.roles.has('in-flight')).toBe(true);
      expect(answered).toBe(false);
      await creating;
      // ten calls at once each take the latency, not ten times it
      await admin.clearCalls();
      await Promise.all(Array.from({ length: 10 }, () => workloadsRoot.sts.send(new GetCallerIdentityCommand({}))));
      const calls = await admin.calls();
      expect(calls).toHaveLength(10);
      for (const c of calls) expect(c.durationMs).toBeGreaterThanOrEqual(395);
      const first = Math.min(...calls.map((c) => Date.parse(c.startedAt)));
      const last = Math.max(...calls.map((c) => Date.parse(c.startedAt) + c.durationMs));
      expect(last - first).toBeLessThan(2 * 400);
    } finally {
      await admin.latency(0);
    }
  });

  it('reset brings back the topology and drops what was created', async () => {
    await workloadsRoot.iam.send(new CreateRoleCommand({ RoleName: 'ephemeral', AssumeRolePolicyDocument: ec2Trust }));
    await admin.reset();
    expect(await failure(workloadsRoot.iam.send(new GetRoleCommand({ RoleName: 'ephemeral' })))).toBeInstanceOf(
      NoSuchEntityException,
    );
  });

  it('rejects malformed admin bodies with 400', async () => {
    const res = await fetch(`${emu.url}/_emulator/faults`, {
      method: 'POST',
      body: JSON.stringify({ errorCode: 'X' }),
    });
    expect(res.status).toBe(400);
  });
});

describe('Emulator: IAM', () => {
  it('creates a role with path, tags, boundary, description and max session, and reads it back', async () => {
    const boundary = `arn:aws:iam::${WORKLOADS}:policy/s3-onboarding/s3-onboarding-workload-boundary`;
    const created = await workloadsRoot.iam.send(
      new CreateRoleCommand({
        RoleName: 'app',
        Path: '/team/',
        AssumeRolePolicyDocument: ec2Trust,
        Tags: [{ Key: 'ticket', Value: 'OPS-1' }],
        PermissionsBoundary: boundary,
        Description: 'demo',
        MaxSessionDuration: 7200,
      }),
    );
    expect(created.Role!.Arn).toBe(`arn:aws:iam::${WORKLOADS}:role/team/app`);
    expect(created.Role!.RoleId).toMatch(/^AROA[A-Z2-7]{17}$/);
    const got = (await workloadsRoot.iam.send(new GetRoleCommand({ RoleName: 'app' }))).Role!;
    expect(decodeURIComponent(got.AssumeRolePolicyDocument!)).toBe(ec2Trust);
    expect(got.PermissionsBoundary).toEqual({
      PermissionsBoundaryType: 'PermissionsBoundaryPolicy',
      PermissionsBoundaryArn: boundary,
    });
    expect(got.Tags).toEqual([{ Key: 'ticket', Value: 'OPS-1' }]);
    expect(got.MaxSessionDuration).toBe(7200);
    expect(got.Description).toBe('demo');
    const listed = await workloadsRoot.iam.send(new ListRolesCommand({ PathPrefix: '/team/' }));
    expect(listed.Roles!.map((r) => r.RoleName)).toEqual(['app']);
  });

  it('rejects a duplicate name ignoring case with EntityAlreadyExists', async () => {
    await workloadsRoot.iam.send(new CreateRoleCommand({ RoleName: 'Dup', AssumeRolePolicyDocument: ec2Trust }));
    const err = await failure(
      workloadsRoot.iam.send(new CreateRoleCommand({ RoleName: 'dup', AssumeRolePolicyDocument: ec2Trust })),
    );
    expect(err).toBeInstanceOf(EntityAlreadyExistsException);
  });

  it.each([
    ['a name over 64 characters', { RoleName: 'r'.repeat(65) }, /Member must have length less than or equal to 64/],
    ['a name with a slash', { RoleName: 'a/b' }, /regular expression pattern/],
    ['a path without slashes', { RoleName: 'ok', Path: 'team' }, /regular expression pattern/],
    ['a max session under an hour', { RoleName: 'ok', MaxSessionDuration: 900 }, /greater than or equal to 3600/],
  ])('rejects %s with ValidationError', async (_n, input, message) => {
    const err = await failure(
      workloadsRoot.iam.send(new CreateRoleCommand({ AssumeRolePolicyDocument: ec2Trust, ...input } as never)),
    );
    expect(err.name).toBe('ValidationError');
    expect(err.message).toMatch(message);
  });

  it('rejects 51 tags in one request with ValidationError (the API allows 50), and more than 50 on a role with LimitExceeded', async () => {
    const tags = (n: number, from = 0) => Array.from({ length: n }, (_, i) => ({ Key: `k${from + i}`, Value: 'v' }));
    const err = await failure(
      workloadsRoot.iam.send(
        new CreateRoleCommand({ RoleName: 'tags', AssumeRolePolicyDocument: ec2Trust, Tags: tags(51) }),
      ),
    );
    expect(err.name).toBe('ValidationError');
    expect(err.message).toMatch(/less than or equal to 50/);
    await workloadsRoot.iam.send(
      new CreateRoleCommand({ RoleName: 'tags', AssumeRolePolicyDocument: ec2Trust, Tags: tags(2) }),
    );
    const quota = await failure(workloadsRoot.iam.send(new TagRoleCommand({ RoleName: 'tags', Tags: tags(49, 2) })));
    expect(quota).toBeInstanceOf(LimitExceededException);
  });

  it('rejects a trust policy over the account quota with AWS message, counting size without white space', async () => {
    const conditions = Array.from({ length: 40 }, (_, i) => `system:serviceaccount:ns:sa-${i}-${'x'.repeat(20)}`);
    const big = doc([
      {
        Effect: 'Allow',
        Principal: { Service: 'ec2.amazonaws.com' },
        Action: 'sts:AssumeRole',
        Condition: { StringEquals: { 'aws:PrincipalTag/x': conditions } },
      },
    ]);
    const err = await failure(
      workloadsRoot.iam.send(new CreateRoleCommand({ RoleName: 'big', AssumeRolePolicyDocument: big })),
    );
    expect(err).toBeInstanceOf(LimitExceededException);
    expect(err.message).toBe('Cannot exceed quota for ACLSizePerRole: 2048');
    expect(err.$metadata?.httpStatusCode).toBe(409);
    // the same small policy padded with white space is accepted: white space does not count
    const padded = `{${' '.repeat(3000)}${ec2Trust.slice(1)}`;
    expect(padded.length).toBeGreaterThan(2048);
    await workloadsRoot.iam.send(new CreateRoleCommand({ RoleName: 'padded', AssumeRolePolicyDocument: padded }));
    const summary = await workloadsRoot.iam.send(new GetAccountSummaryCommand({}));
    expect(summary.SummaryMap!.AssumeRolePolicySizeQuota).toBe(2048);
  });

  it('rejects a malformed policy with MalformedPolicyDocument', async () => {
    const err = await failure(
      workloadsRoot.iam.send(
        new PutRolePolicyCommand({
          RoleName: 's3-onboarding-provisioner',
          PolicyName: 'bad',
          PolicyDocument: doc([{ Effect: 'Allow', Action: 's3:GetObject' }]),
        }),
      ),
    );
    expect(err).toBeInstanceOf(MalformedPolicyDocumentException);
  });

  it('rejects a trust policy naming a role that does not exist with Invalid principal', async () => {
    const trust = doc([
      { Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${WORKLOADS}:role/ghost` }, Action: 'sts:AssumeRole' },
    ]);
    const err = await failure(
      workloadsRoot.iam.send(new CreateRoleCommand({ RoleName: 'x', AssumeRolePolicyDocument: trust })),
    );
    expect(err).toBeInstanceOf(MalformedPolicyDocumentException);
    expect(err.message).toMatch(/^Invalid principal in policy/);
  });

  it('manages inline policies, managed policies and tags, and refuses to delete a role that still has policies', async () => {
    await workloadsRoot.iam.send(new CreateRoleCommand({ RoleName: 'full', AssumeRolePolicyDocument: ec2Trust }));
    const inline = doc([{ Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::b/*' }]);
    await workloadsRoot.iam.send(
      new PutRolePolicyCommand({ RoleName: 'full', PolicyName: 'read', PolicyDocument: inline }),
    );
    expect((await workloadsRoot.iam.send(new ListRolePoliciesCommand({ RoleName: 'full' }))).PolicyNames).toEqual([
      'read',
    ]);
    const got = await workloadsRoot.iam.send(new GetRolePolicyCommand({ RoleName: 'full', PolicyName: 'read' }));
    expect(decodeURIComponent(got.PolicyDocument!)).toBe(inline);
    const policy = await workloadsRoot.iam.send(
      new CreatePolicyCommand({ PolicyName: 'managed', PolicyDocument: inline }),
    );
    const version = await workloadsRoot.iam.send(
      new GetPolicyVersionCommand({ PolicyArn: policy.Policy!.Arn, VersionId: 'v1' }),
    );
    expect(decodeURIComponent(version.PolicyVersion!.Document!)).toBe(inline);
    await workloadsRoot.iam.send(new AttachRolePolicyCommand({ RoleName: 'full', PolicyArn: policy.Policy!.Arn }));
    expect(
      (await workloadsRoot.iam.send(new ListAttachedRolePoliciesCommand({ RoleName: 'full' }))).AttachedPolicies,
    ).toEqual([{ PolicyArn: policy.Policy!.Arn, PolicyName: 'managed' }]);
    await workloadsRoot.iam.send(new TagRoleCommand({ RoleName: 'full', Tags: [{ Key: 'team', Value: 'db' }] }));
    expect((await workloadsRoot.iam.send(new ListRoleTagsCommand({ RoleName: 'full' }))).Tags).toEqual([
      { Key: 'team', Value: 'db' },
    ]);

    const conflict = await failure(workloadsRoot.iam.send(new DeleteRoleCommand({ RoleName: 'full' })));
    expect(conflict).toBeInstanceOf(DeleteConflictException);
    expect(conflict.message).toBe('Cannot delete entity, must delete policies first.');
    await workloadsRoot.iam.send(new DeleteRolePolicyCommand({ RoleName: 'full', PolicyName: 'read' }));
    expect((await failure(workloadsRoot.iam.send(new DeleteRoleCommand({ RoleName: 'full' })))).message).toBe(
      'Cannot delete entity, must detach all policies first.',
    );
    await workloadsRoot.iam.send(new DetachRolePolicyCommand({ RoleName: 'full', PolicyArn: policy.Policy!.Arn }));
    await workloadsRoot.iam.send(new DeleteRoleCommand({ RoleName: 'full' }));
  });

  it('creates, reads, lists and deletes OIDC providers', async () => {
    const url = 'https://oidc.eks.eu-west-1.amazonaws.com/id/NEW';
    const { OpenIDConnectProviderArn: arn } = await backupsRoot.iam.send(
      new CreateOpenIDConnectProviderCommand({
        Url: url,
        ClientIDList: ['sts.amazonaws.com'],
        ThumbprintList: ['9e99a48a9960b14926bb7f3b02e22da2b0ab7280'],
      }),
    );
    expect(arn).toBe(`arn:aws:iam::${BACKUPS}:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/NEW`);
    const got = await backupsRoot.iam.send(new GetOpenIDConnectProviderCommand({ OpenIDConnectProviderArn: arn }));
    expect(got).toMatchObject({ Url: 'oidc.eks.eu-west-1.amazonaws.com/id/NEW', ClientIDList: ['sts.amazonaws.com'] });
    expect(
      await failure(
        backupsRoot.iam.send(new CreateOpenIDConnectProviderCommand({ Url: url, ClientIDList: ['sts.amazonaws.com'] })),
      ),
    ).toBeInstanceOf(EntityAlreadyExistsException);
    await backupsRoot.iam.send(new DeleteOpenIDConnectProviderCommand({ OpenIDConnectProviderArn: arn }));
    expect((await backupsRoot.iam.send(new ListOpenIDConnectProvidersCommand({}))).OpenIDConnectProviderList).toEqual(
      [],
    );
  });
});

describe('Emulator: STS', () => {
  const provisioner = (account: string) => `arn:aws:iam::${account}:role/s3-onboarding-provisioner`;

  it('lets the API role assume a provisioner role in another account with the external id', async () => {
    const out = await api.sts.send(
      new AssumeRoleCommand({
        RoleArn: provisioner(BACKUPS),
        RoleSessionName: 'test',
        ExternalId: 's3-onboarding-local',
      }),
    );
    expect(out.Credentials!.AccessKeyId).toMatch(/^ASIA[A-Z2-7]{16}$/);
    const who = await clientsFor(emu, credentialsOf(out.Credentials)).sts.send(new GetCallerIdentityCommand({}));
    expect(who.Arn).toBe(`arn:aws:sts::${BACKUPS}:assumed-role/s3-onboarding-provisioner/test`);
    expect(who.Account).toBe(BACKUPS);
  });

  it.each([
    ['without the external id', undefined],
    ['with a wrong external id', 'guess'],
  ])('denies the cross-account AssumeRole %s', async (_n, ExternalId) => {
    const err = await failure(
      api.sts.send(new AssumeRoleCommand({ RoleArn: provisioner(BACKUPS), RoleSessionName: 'test', ExternalId })),
    );
    expect(err.name).toBe('AccessDenied');
    expect(err.$metadata?.httpStatusCode).toBe(403);
  });

  it('denies a principal the trust policy does not name, and root credentials altogether', async () => {
    expect(
      (
        await failure(
          workloadsRoot.sts.send(
            new AssumeRoleCommand({
              RoleArn: provisioner(BACKUPS),
              RoleSessionName: 'x1',
              ExternalId: 's3-onboarding-local',
            }),
          ),
        )
      ).name,
    ).toBe('AccessDenied');
    const prov = await api.sts.send(
      new AssumeRoleCommand({
        RoleArn: provisioner(WORKLOADS),
        RoleSessionName: 'p1',
        ExternalId: 's3-onboarding-local',
      }),
    );
    const other = clientsFor(emu, credentialsOf(prov.Credentials));
    expect(
      (
        await failure(
          other.sts.send(
            new AssumeRoleCommand({
              RoleArn: provisioner(BACKUPS),
              RoleSessionName: 'x2',
              ExternalId: 's3-onboarding-local',
            }),
          ),
        )
      ).name,
    ).toBe('AccessDenied');
  });

  it('caps role-chained sessions at one hour', async () => {
    const err = await failure(
      api.sts.send(
        new AssumeRoleCommand({
          RoleArn: provisioner(BACKUPS),
          RoleSessionName: 'long',
          ExternalId: 's3-onboarding-local',
          DurationSeconds: 7200,
        }),
      ),
    );
    expect(err.name).toBe('ValidationError');
    expect(err.message).toBe(
      'The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.',
    );
  });

  describe('AssumeRoleWithWebIdentity', () => {
    let issuer: string;
    const roleName = 'irsa-demo';
    beforeEach(async () => {
      const cluster = await workloadsRoot.eks.send(new DescribeClusterCommand({ name: 'demo' }));
      issuer = cluster.cluster!.identity!.oidc!.issuer!.replace('https://', '');
      const trust = doc([
        {
          Effect: 'Allow',
          Principal: { Federated: `arn:aws:iam::${WORKLOADS}:oidc-provider/${issuer}` },
          Action: 'sts:AssumeRoleWithWebIdentity',
          Condition: {
            StringEquals: {
              [`${issuer}:sub`]: 'system:serviceaccount:mongodb:pbm',
              [`${issuer}:aud`]: 'sts.amazonaws.com',
            },
          },
        },
      ]);
      await workloadsRoot.iam.send(new CreateRoleCommand({ RoleName: roleName, AssumeRolePolicyDocument: trust }));
    });
    const assume = async (b: { cluster: string; namespace: string; serviceAccount: string; audience?: string }) =>
      workloadsRoot.sts.send(
        new AssumeRoleWithWebIdentityCommand({
          RoleArn: `arn:aws:iam::${WORKLOADS}:role/${roleName}`,
          RoleSessionName: 'pod',
          WebIdentityToken: await admin.token(b),
        }),
      );

    it('allows the service account the trust names', async () => {
      const out = await assume({ cluster: 'demo', namespace: 'mongodb', serviceAccount: 'pbm' });
      expect(out.AssumedRoleUser!.Arn).toBe(`arn:aws:sts::${WORKLOADS}:assumed-role/${roleName}/pod`);
      expect(out.SubjectFromWebIdentityToken).toBe('system:serviceaccount:mongodb:pbm');
    });

    it.each([
      ['another service account', { cluster: 'demo', namespace: 'mongodb', serviceAccount: 'default' }, 'AccessDenied'],
      ['another namespace', { cluster: 'demo', namespace: 'other', serviceAccount: 'pbm' }, 'AccessDenied'],
      [
        'another cluster (no OIDC provider for its issuer)',
        { cluster: 'restore', namespace: 'mongodb', serviceAccount: 'pbm' },
        'InvalidIdentityTokenException',
      ],
      [
        'a wrong audience',
        { cluster: 'demo', namespace: 'mongodb', serviceAccount: 'pbm', audience: 'other' },
        'InvalidIdentityTokenException',
      ],
    ])('denies %s', async (_n, token, code) => {
      const err = await failure(assume(token));
      expect(err.name).toBe(code);
    });

    it('denies another cluster even when its OIDC provider exists, because the trust names only one issuer', async () => {
      const restore = await workloadsRoot.eks.send(new DescribeClusterCommand({ name: 'restore' }));
      await workloadsRoot.iam.send(
        new CreateOpenIDConnectProviderCommand({
          Url: restore.cluster!.identity!.oidc!.issuer!,
          ClientIDList: ['sts.amazonaws.com'],
        }),
      );
      expect((await failure(assume({ cluster: 'restore', namespace: 'mongodb', serviceAccount: 'pbm' }))).name).toBe(
        'AccessDenied',
      );
    });

    it('rejects a forged token', async () => {
      const token = (await admin.token({ cluster: 'demo', namespace: 'mongodb', serviceAccount: 'pbm' })).replace(
        /\.[^.]+$/,
        '.AAAA',
      );
      const err = await failure(
        workloadsRoot.sts.send(
          new AssumeRoleWithWebIdentityCommand({
            RoleArn: `arn:aws:iam::${WORKLOADS}:role/${roleName}`,
            RoleSessionName: 'pod',
            WebIdentityToken: token,
          }),
        ),
      );
      expect(err.name).toBe('InvalidIdentityTokenException');
    });
  });
});

describe('Emulator: S3', () => {
  const grant = (principal: object, extra: object = {}) =>
    doc([
      {
        Sid: 'Grant',
        Effect: 'Allow',
        Principal: principal,
        Action: ['s3:GetObject', 's3:PutObject'],
        Resource: 'arn:aws:s3:::demo-backups/*',
        ...extra,
      },
    ]);

  it('answers location, head, encryption and tagging', async () => {
    expect(
      (await backupsRoot.s3.send(new GetBucketLocationCommand({ Bucket: 'demo-backups' }))).LocationConstraint,
    ).toBe('eu-west-1');
    expect(
      (await backupsRoot.s3.send(new HeadBucketCommand({ Bucket: 'demo-backups' }))).$metadata.httpStatusCode,
    ).toBe(200);
    const enc = await backupsRoot.s3.send(new GetBucketEncryptionCommand({ Bucket: 'demo-encrypted-backups' }));
    expect(enc.ServerSideEncryptionConfiguration!.Rules![0].ApplyServerSideEncryptionByDefault).toEqual({
      SSEAlgorithm: 'aws:kms',
      KMSMasterKeyID: 'arn:aws:kms:eu-west-1:300000000003:key/11111111-2222-3333-4444-555555555555',
    });
    // the demo buckets carry their owner's opt-in tag (examples/topology.json); a bucket of none answers NoSuchTagSet
    // (test/integration/emulator/tags.test.ts)
    expect((await backupsRoot.s3.send(new GetBucketTaggingCommand({ Bucket: 'demo-backups' }))).TagSet).toEqual([
      { Key: 's3-onboarding-managed', Value: 'true' },
    ]);
    expect(
      (
        await clientsFor(emu, rootCredentials(WORKLOADS)).s3.send(
          new GetBucketTaggingCommand({ Bucket: 'workload-local-backups' }),
        )
      ).TagSet,
    ).toEqual([{ Key: 's3-onboarding-managed', Value: 'true' }]);
  });

  it('gets, puts and deletes a bucket policy, with NoSuchBucketPolicy when there is none', async () => {
    const before = JSON.parse(
      (await backupsRoot.s3.send(new GetBucketPolicyCommand({ Bucket: 'demo-backups' }))).Policy!,
    );
    expect(before.Statement[0].Sid).toBe('DenyInsecureTransport');
    await backupsRoot.s3.send(new DeleteBucketPolicyCommand({ Bucket: 'demo-backups' }));
    const err = await failure(backupsRoot.s3.send(new GetBucketPolicyCommand({ Bucket: 'demo-backups' })));
    expect(err.name).toBe('NoSuchBucketPolicy');
    expect(err.$metadata?.httpStatusCode).toBe(404);
    const policy = grant({ AWS: `arn:aws:iam::${WORKLOADS}:root` });
    await backupsRoot.s3.send(new PutBucketPolicyCommand({ Bucket: 'demo-backups', Policy: policy }));
    expect((await backupsRoot.s3.send(new GetBucketPolicyCommand({ Bucket: 'demo-backups' }))).Policy).toBe(policy);
  });

  it.each([
    ['not JSON', 'nope', 'MalformedPolicy'],
    [
      'a resource of another bucket',
      doc([{ Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: 'arn:aws:s3:::other/*' }]),
      'MalformedPolicy',
    ],
    ['a principal that does not exist', grant({ AWS: `arn:aws:iam::${WORKLOADS}:role/ghost` }), 'MalformedPolicy'],
    [
      'more than 20 KB',
      doc(
        Array.from({ length: 200 }, (_, i) => ({
          Sid: `S${i}`,
          Effect: 'Allow',
          Principal: { AWS: `arn:aws:iam::${WORKLOADS}:root` },
          Action: 's3:GetObject',
          Resource: `arn:aws:s3:::demo-backups/${'p'.repeat(60)}${i}/*`,
        })),
      ),
      'PolicyTooLarge',
    ],
  ])('rejects a bucket policy that is %s', async (_n, Policy, code) => {
    const err = await failure(backupsRoot.s3.send(new PutBucketPolicyCommand({ Bucket: 'demo-backups', Policy })));
    expect(err.name).toBe(code);
    if (code === 'MalformedPolicy' && Policy.includes('ghost')) expect(err.message).toBe('Invalid principal in policy');
  });

  it('refuses a write when ExpectedBucketOwner is not the owner', async () => {
    const err = await failure(
      backupsRoot.s3.send(
        new PutBucketPolicyCommand({
          Bucket: 'demo-backups',
          Policy: grant({ AWS: `arn:aws:iam::${WORKLOADS}:root` }),
          ExpectedBucketOwner: WORKLOADS,
        }),
      ),
    );
    expect(err.name).toBe('AccessDenied');
  });

  it('refuses bucket-policy operations from another account even for its root', async () => {
    expect((await failure(workloadsRoot.s3.send(new GetBucketPolicyCommand({ Bucket: 'demo-backups' })))).name).toBe(
      'AccessDenied',
    );
  });

  it('fails to name a just-created role inside the propagation window and succeeds after it', async () => {
    await admin.propagation(400);
    await workloadsRoot.iam.send(new CreateRoleCommand({ RoleName: 'fresh', AssumeRolePolicyDocument: ec2Trust }));
    const policy = grant({ AWS: `arn:aws:iam::${WORKLOADS}:role/fresh` });
    const err = await failure(
      backupsRoot.s3.send(new PutBucketPolicyCommand({ Bucket: 'demo-backups', Policy: policy })),
    );
    expect(err.name).toBe('MalformedPolicy');
    expect(err.message).toBe('Invalid principal in policy');
    // a root principal with an aws:PrincipalArn condition does not wait for propagation
    await backupsRoot.s3.send(
      new PutBucketPolicyCommand({
        Bucket: 'demo-backups',
        Policy: grant(
          { AWS: `arn:aws:iam::${WORKLOADS}:root` },
          { Condition: { ArnEquals: { 'aws:PrincipalArn': `arn:aws:iam::${WORKLOADS}:role/fresh` } } },
        ),
      }),
    );
    await new Promise((r) => setTimeout(r, 450));
    await backupsRoot.s3.send(new PutBucketPolicyCommand({ Bucket: 'demo-backups', Policy: policy }));
    await admin.propagation(0);
  });

  it('shows a recreated role named in a bucket policy as its old unique id, and then refuses edits that keep it', async () => {
    const created = await workloadsRoot.iam.send(
      new CreateRoleCommand({ RoleName: 'recreated', AssumeRolePolicyDocument: ec2Trust }),
    );
    await backupsRoot.s3.send(
      new PutBucketPolicyCommand({ Bucket: 'demo-backups', Policy: grant({ AWS: created.Role!.Arn }) }),
    );
    await workloadsRoot.iam.send(new DeleteRoleCommand({ RoleName: 'recreated' }));
    await workloadsRoot.iam.send(new CreateRoleCommand({ RoleName: 'recreated', AssumeRolePolicyDocument: ec2Trust }));
    const shown = JSON.parse(
      (await backupsRoot.s3.send(new GetBucketPolicyCommand({ Bucket: 'demo-backups' }))).Policy!,
    );
    expect(shown.Statement[0].Principal.AWS).toBe(created.Role!.RoleId);
    const err = await failure(
      backupsRoot.s3.send(new PutBucketPolicyCommand({ Bucket: 'demo-backups', Policy: JSON.stringify(shown) })),
    );
    expect(err.message).toBe('Invalid principal in policy');
  });

  describe('data plane', () => {
    let reader: Clients;
    beforeEach(async () => {
      const cluster = await workloadsRoot.eks.send(new DescribeClusterCommand({ name: 'demo' }));
      const issuer = cluster.cluster!.identity!.oidc!.issuer!.replace('https://', '');
      const trust = doc([
        {
          Effect: 'Allow',
          Principal: { Federated: `arn:aws:iam::${WORKLOADS}:oidc-provider/${issuer}` },
          Action: 'sts:AssumeRoleWithWebIdentity',
          Condition: {
            StringEquals: {
              [`${issuer}:sub`]: 'system:serviceaccount:mongodb:reader',
              [`${issuer}:aud`]: 'sts.amazonaws.com',
            },
          },
        },
      ]);
      await workloadsRoot.iam.send(new CreateRoleCommand({ RoleName: 'reader', AssumeRolePolicyDocument: trust }));
      await workloadsRoot.iam.send(
        new PutRolePolicyCommand({
          RoleName: 'reader',
          PolicyName: 's3',
          PolicyDocument: doc([
            {
              Effect: 'Allow',
              Action: ['s3:GetObject', 's3:PutObject'],
              Resource: [
                'arn:aws:s3:::demo-backups/*',
                'arn:aws:s3:::demo-encrypted-backups/*',
                'arn:aws:s3:::workload-local-backups/*',
              ],
            },
            {
              Effect: 'Allow',
              Action: 's3:ListBucket',
              Resource: 'arn:aws:s3:::demo-backups',
              Condition: { StringLike: { 's3:prefix': 'team/*' } },
            },
          ]),
        }),
      );
      const token = await admin.token({ cluster: 'demo', namespace: 'mongodb', serviceAccount: 'reader' });
      const out = await workloadsRoot.sts.send(
        new AssumeRoleWithWebIdentityCommand({
          RoleArn: `arn:aws:iam::${WORKLOADS}:role/reader`,
          RoleSessionName: 'reader',
          WebIdentityToken: token,
        }),
      );
      reader = clientsFor(emu, credentialsOf(out.Credentials));
    });

    it('needs the bucket policy as well as the identity policy across accounts', async () => {
      expect(
        (await failure(reader.s3.send(new PutObjectCommand({ Bucket: 'demo-backups', Key: 'team/a', Body: 'x' }))))
          .name,
      ).toBe('AccessDenied');
      await backupsRoot.s3.send(
        new PutBucketPolicyCommand({
          Bucket: 'demo-backups',
          Policy: doc([
            {
              Sid: 'Grant',
              Effect: 'Allow',
              Principal: { AWS: `arn:aws:iam::${WORKLOADS}:root` },
              Action: ['s3:GetObject', 's3:PutObject', 's3:ListBucket'],
              Resource: ['arn:aws:s3:::demo-backups', 'arn:aws:s3:::demo-backups/*'],
              Condition: { ArnEquals: { 'aws:PrincipalArn': `arn:aws:iam::${WORKLOADS}:role/reader` } },
            },
          ]),
        }),
      );
      await reader.s3.send(new PutObjectCommand({ Bucket: 'demo-backups', Key: 'team/a', Body: 'hello' }));
      const got = await reader.s3.send(new GetObjectCommand({ Bucket: 'demo-backups', Key: 'team/a' }));
      expect(await got.Body!.transformToString()).toBe('hello');
      const listed = await reader.s3.send(new ListObjectsV2Command({ Bucket: 'demo-backups', Prefix: 'team/' }));
      expect(listed.Contents!.map((c) => c.Key)).toEqual(['team/a']);
      expect(
        (await failure(reader.s3.send(new ListObjectsV2Command({ Bucket: 'demo-backups', Prefix: 'other/' })))).name,
      ).toBe('AccessDenied');
      expect(
        (await failure(reader.s3.send(new DeleteObjectCommand({ Bucket: 'demo-backups', Key: 'team/a' })))).name,
      ).toBe('AccessDenied');
      expect(
        (await reader.s3.send(new HeadObjectCommand({ Bucket: 'demo-backups', Key: 'team/a' }))).ContentLength,
      ).toBe(5);
    });

    it('needs only the identity policy in the same account', async () => {
      await reader.s3.send(new PutObjectCommand({ Bucket: 'workload-local-backups', Key: 'k', Body: 'same-account' }));
    });

    it('needs the KMS key policy for an SSE-KMS bucket in another account', async () => {
      await backupsRoot.s3.send(
        new PutBucketPolicyCommand({
          Bucket: 'demo-encrypted-backups',
          Policy: doc([
            {
              Sid: 'Grant',
              Effect: 'Allow',
              Principal: { AWS: `arn:aws:iam::${WORKLOADS}:role/reader` },
              Action: ['s3:GetObject', 's3:PutObject'],
              Resource: 'arn:aws:s3:::demo-encrypted-backups/*',
            },
          ]),
        }),
      );
      const denied = await failure(
        reader.s3.send(new PutObjectCommand({ Bucket: 'demo-encrypted-backups', Key: 'k', Body: 'x' })),
      );
      expect(denied.name).toBe('AccessDenied');
      expect(denied.message).toMatch(/kms:GenerateDataKey/);
      const keyArn = 'arn:aws:kms:eu-west-1:300000000003:key/11111111-2222-3333-4444-555555555555';
      const current = JSON.parse(
        (await backupsRoot.kms.send(new GetKeyPolicyCommand({ KeyId: keyArn, PolicyName: 'default' }))).Policy!,
      );
      current.Statement.push({
        Sid: 'Reader',
        Effect: 'Allow',
        Principal: { AWS: `arn:aws:iam::${WORKLOADS}:root` },
        Action: ['kms:GenerateDataKey', 'kms:Decrypt'],
        Resource: '*',
      });
      await backupsRoot.kms.send(
        new PutKeyPolicyCommand({ KeyId: keyArn, PolicyName: 'default', Policy: JSON.stringify(current) }),
      );
      // the key policy delegates to the workload account; the reader's identity policy still lacks kms actions
      expect(
        (await failure(reader.s3.send(new PutObjectCommand({ Bucket: 'demo-encrypted-backups', Key: 'k', Body: 'x' }))))
          .message,
      ).toMatch(/kms:GenerateDataKey/);
      await workloadsRoot.iam.send(
        new PutRolePolicyCommand({
          RoleName: 'reader',
          PolicyName: 'kms',
          PolicyDocument: doc([{ Effect: 'Allow', Action: ['kms:GenerateDataKey', 'kms:Decrypt'], Resource: keyArn }]),
        }),
      );
      await reader.s3.send(new PutObjectCommand({ Bucket: 'demo-encrypted-backups', Key: 'k', Body: 'secret' }));
      expect(
        await (
          await reader.s3.send(new GetObjectCommand({ Bucket: 'demo-encrypted-backups', Key: 'k' }))
        ).Body!.transformToString(),
      ).toBe('secret');
    });
  });
});

describe('Emulator: EKS and KMS', () => {
  it('describes and lists clusters in the caller account and region', async () => {
    const c = await workloadsRoot.eks.send(new DescribeClusterCommand({ name: 'demo' }));
    expect(c.cluster!.identity!.oidc!.issuer).toMatch(
      /^https:\/\/oidc\.eks\.eu-west-1\.amazonaws\.com\/id\/[0-9A-F]{32}$/,
    );
    expect((await workloadsRoot.eks.send(new ListClustersCommand({}))).clusters).toEqual(['demo', 'restore']);
    expect(await failure(backupsRoot.eks.send(new DescribeClusterCommand({ name: 'demo' })))).toBeInstanceOf(
      ResourceNotFoundException,
    );
  });

  it('describes keys by alias, and refuses a key policy that would lock the caller out', async () => {
    const d = await backupsRoot.kms.send(new DescribeKeyCommand({ KeyId: 'alias/aws/s3' }));
    expect(d.KeyMetadata!.KeyManager).toBe('AWS');
    const keyArn = 'arn:aws:kms:eu-west-1:300000000003:key/11111111-2222-3333-4444-555555555555';
    const lockout = doc([
      { Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${WORKLOADS}:root` }, Action: 'kms:Decrypt', Resource: '*' },
    ]);
    const err = await failure(
      backupsRoot.kms.send(new PutKeyPolicyCommand({ KeyId: keyArn, PolicyName: 'default', Policy: lockout })),
    );
    expect(err.name).toBe('MalformedPolicyDocumentException');
    // the check sees the context the next call would have: a policy that lets the caller's account in by
    // kms:CallerAccount does not lock it out
    const byCallerAccount = doc([
      {
        Effect: 'Allow',
        Principal: { AWS: '*' },
        Action: 'kms:*',
        Resource: '*',
        Condition: { StringEquals: { 'kms:CallerAccount': BACKUPS } },
      },
    ]);
    await backupsRoot.kms.send(
      new PutKeyPolicyCommand({ KeyId: keyArn, PolicyName: 'default', Policy: byCallerAccount }),
    );
  });
});

describe('Emulator: provisioner role seeded from deploy/provisioner.yaml', () => {
  it('holds the same statements as the template in every account', async () => {
    for (const account of [PLATFORM, WORKLOADS, BACKUPS]) {
      const root = clientsFor(emu, rootCredentials(account));
      const role = await root.iam.send(new GetRoleCommand({ RoleName: 's3-onboarding-provisioner' }));
      const trust = JSON.parse(decodeURIComponent(role.Role!.AssumeRolePolicyDocument!));
      expect(trust.Statement[0].Principal.AWS).toBe(`arn:aws:iam::${PLATFORM}:role/s3-onboarding-api`);
      expect(trust.Statement[0].Condition).toEqual({ StringEquals: { 'sts:ExternalId': 's3-onboarding-local' } });
    }
  });

  it('may not update a role outside the service path (explicit deny)', async () => {
    const out = await api.sts.send(
      new AssumeRoleCommand({
        RoleArn: `arn:aws:iam::${WORKLOADS}:role/s3-onboarding-provisioner`,
        RoleSessionName: 'prov',
        ExternalId: 's3-onboarding-local',
      }),
    );
    const prov = clientsFor(emu, credentialsOf(out.Credentials));
    const err = await failure(
      prov.iam.send(new UpdateAssumeRolePolicyCommand({ RoleName: 'pbm-ec2-instance-role', PolicyDocument: ec2Trust })),
    );
    expect(err.name).toBe('AccessDenied');
    expect(err.message).toMatch(/explicit deny/);
  });
});
