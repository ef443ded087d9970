import {
  CreateOpenIDConnectProviderCommand,
  CreateRoleCommand,
  GetAccountSummaryCommand,
  ListOpenIDConnectProvidersCommand,
} from '@aws-sdk/client-iam';
import { CreateGrantCommand } from '@aws-sdk/client-kms';
import { CreateAccessPointCommand } from '@aws-sdk/client-s3-control';
import type { Emulator } from '../../../emulator/server';
import { buildWorld } from '../../../emulator/seed';
import { parseTopology, type TopologyInput } from '../../../emulator/topology';
import {
  BACKUPS,
  PLATFORM,
  WORKLOADS,
  clientsFor,
  demoTopology,
  emulatorAdmin,
  failure,
  rootCredentials,
  useTestEmulator,
} from '../../helpers/emulator';
import { serviceQuotasCall } from '../../helpers/service-quotas';

const KEY = `arn:aws:kms:eu-west-1:${BACKUPS}:key/11111111-2222-3333-4444-555555555555`;
const trust = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }],
});

// the demo's seeded roles and OIDC providers in the workloads account: each quota leaves room for exactly one more
const seeded = buildWorld(parseTopology(demoTopology())).accounts.get(WORKLOADS)!;
const ROLES = seeded.roles.size;
const PROVIDERS = seeded.oidcProviders.size;

function topology(): TopologyInput {
  const t = demoTopology();
  t.accountSettings = {
    [WORKLOADS]: { quotas: { 'iam/L-FE177D64': ROLES + 1, 'iam/L-858F3967': PROVIDERS + 1 } },
    [BACKUPS]: { quotas: { 's3/L-FCEEF8B2': 1, 'kms/L-D594A657': 1 } },
  };
  return t;
}

let emu: Emulator;
useTestEmulator((e) => (emu = e), topology());

const quota = (account: string, region: string, operation: string, serviceCode: string, quotaCode: string) =>
  serviceQuotasCall(emu, rootCredentials(account), region, operation, {
    ServiceCode: serviceCode,
    QuotaCode: quotaCode,
  });

describe('Service Quotas: GetServiceQuota and GetAWSDefaultServiceQuota', () => {
  it("answers the account's applied value (the topology's) and AWS's default, in Service Quotas' shape", async () => {
    const applied = await quota(WORKLOADS, 'us-east-1', 'GetServiceQuota', 'iam', 'L-FE177D64');
    expect(applied).toEqual({
      status: 200,
      body: {
        Quota: {
          ServiceCode: 'iam',
          ServiceName: 'AWS Identity and Access Management (IAM)',
          QuotaArn: `arn:aws:servicequotas:us-east-1:${WORKLOADS}:iam/L-FE177D64`,
          QuotaCode: 'L-FE177D64',
          QuotaName: 'Roles per account',
          Value: ROLES + 1,
          Unit: 'None',
          Adjustable: true,
          GlobalQuota: true,
          QuotaAppliedAtLevel: 'ACCOUNT',
        },
      },
    });
    const def = await quota(WORKLOADS, 'us-east-1', 'GetAWSDefaultServiceQuota', 'iam', 'L-FE177D64');
    expect(def.body.Quota).toMatchObject({ Value: 1000, QuotaArn: 'arn:aws:servicequotas:us-east-1::iam/L-FE177D64' });
    // an account the topology leaves alone has the defaults
    for (const [sc, qc, value] of [
      ['iam', 'L-858F3967', 100],
      ['iam', 'L-C07B4B0D', 2048],
    ] as const)
      expect((await quota(PLATFORM, 'us-east-1', 'GetServiceQuota', sc, qc)).body.Quota.Value).toBe(value);
    for (const [sc, qc, value] of [
      ['s3', 'L-FCEEF8B2', 10_000],
      ['kms', 'L-D594A657', 50_000],
    ] as const) {
      const out = await quota(WORKLOADS, 'eu-west-1', 'GetServiceQuota', sc, qc);
      expect(out.body.Quota).toMatchObject({ Value: value, GlobalQuota: false });
    }
    expect((await quota(BACKUPS, 'eu-central-1', 'GetServiceQuota', 's3', 'L-FCEEF8B2')).body.Quota.Value).toBe(1);
  });

  it('answers a global (IAM) quota only in us-east-1, and an unknown service or quota code not at all', async () => {
    for (const [region, sc, qc] of [
      ['eu-west-1', 'iam', 'L-FE177D64'],
      ['us-east-1', 'iam', 'L-00000000'],
      ['us-east-1', 'nosuchservice', 'L-FE177D64'],
    ])
      expect(await quota(WORKLOADS, region, 'GetServiceQuota', sc, qc)).toEqual({
        status: 400,
        body: {
          __type: 'NoSuchResourceException',
          message: 'The request failed because the specified service does not exist.',
        },
      });
    const bad = await serviceQuotasCall(emu, rootCredentials(WORKLOADS), 'us-east-1', 'GetServiceQuota', {
      ServiceCode: 'iam',
    });
    expect([bad.status, bad.body.__type]).toEqual([400, 'IllegalArgumentException']);
  });

  it('needs servicequotas:GetServiceQuota: the provisioner role has it for its own account, the API role none', async () => {
    const admin = emulatorAdmin(emu);
    const provisioner = await admin.roleCredentials(`arn:aws:iam::${WORKLOADS}:role/s3-onboarding-provisioner`);
    const ok = await serviceQuotasCall(emu, provisioner, 'us-east-1', 'GetServiceQuota', {
      ServiceCode: 'iam',
      QuotaCode: 'L-858F3967',
    });
    expect([ok.status, ok.body.Quota?.Value]).toEqual([200, PROVIDERS + 1]);
    const api = await admin.roleCredentials(`arn:aws:iam::${PLATFORM}:role/s3-onboarding-api`);
    const denied = await serviceQuotasCall(emu, api, 'us-east-1', 'GetServiceQuota', {
      ServiceCode: 'iam',
      QuotaCode: 'L-858F3967',
    });
    expect(denied.status).toBe(400);
    expect(denied.body.__type).toBe('AccessDeniedException');
    expect(denied.body.message).toContain('servicequotas:GetServiceQuota');
  });
});

describe('the quotas are enforced where things are made', () => {
  it('CreateRole beyond RolesQuota: LimitExceeded (409), and GetAccountSummary reports the applied value', async () => {
    const { iam } = clientsFor(emu, rootCredentials(WORKLOADS));
    const before = (await iam.send(new GetAccountSummaryCommand({}))).SummaryMap!;
    expect([before.Roles, before.RolesQuota]).toEqual([ROLES, ROLES + 1]);
    await iam.send(new CreateRoleCommand({ RoleName: 'one-more', AssumeRolePolicyDocument: trust }));
    const e = await failure(iam.send(new CreateRoleCommand({ RoleName: 'too-many', AssumeRolePolicyDocument: trust })));
    expect([e.name, e.$metadata?.httpStatusCode, e.message]).toEqual([
      'LimitExceededException',
      409,
      `Cannot exceed quota for RolesPerAccount: ${ROLES + 1}`,
    ]);
    expect((await iam.send(new GetAccountSummaryCommand({}))).SummaryMap!.Roles).toBe(ROLES + 1);
  });

  it('CreateOpenIDConnectProvider beyond the OIDC providers quota: LimitExceeded (409)', async () => {
    const { iam } = clientsFor(emu, rootCredentials(WORKLOADS));
    const create = (n: number) =>
      iam.send(
        new CreateOpenIDConnectProviderCommand({
          Url: `https://oidc.eks.eu-west-1.amazonaws.com/id/QUOTA${n}`,
          ClientIDList: ['sts.amazonaws.com'],
        }),
      );
    await create(1);
    const e = await failure(create(2));
    expect([e.name, e.$metadata?.httpStatusCode, e.message]).toEqual([
      'LimitExceededException',
      409,
      `Cannot exceed quota for OpenIdIdpsPerAccount: ${PROVIDERS + 1}`,
    ]);
    expect((await iam.send(new ListOpenIDConnectProvidersCommand({}))).OpenIDConnectProviderList).toHaveLength(
      PROVIDERS + 1,
    );
  });

  it('CreateAccessPoint beyond the access points quota of the account and Region: TooManyAccessPoints', async () => {
    const { s3control } = clientsFor(emu, rootCredentials(BACKUPS));
    const create = (name: string) =>
      s3control.send(new CreateAccessPointCommand({ AccountId: BACKUPS, Name: name, Bucket: 'demo-backups' }));
    await create('quota-one');
    const e = await failure(create('quota-two'));
    expect([e.name, e.$metadata?.httpStatusCode]).toEqual(['TooManyAccessPoints', 400]);
  });

  it('CreateGrant beyond the grants per key quota: LimitExceededException', async () => {
    const { kms } = clientsFor(emu, rootCredentials(BACKUPS));
    const grant = () =>
      kms.send(
        new CreateGrantCommand({
          KeyId: KEY,
          GranteePrincipal: `arn:aws:iam::${WORKLOADS}:role/s3-onboarding-provisioner`,
          Operations: ['Decrypt'],
        }),
      );
    await grant();
    const e = await failure(grant());
    expect([e.name, e.$metadata?.httpStatusCode, e.message]).toEqual([
      'LimitExceededException',
      400,
      `The request was rejected because the number of grants on key ${KEY} exceeds the quota (1)`,
    ]);
  });
});

describe('topology accountSettings.quotas', () => {
  it('refuses a quota the emulator does not know, and a trust policy length that disagrees with assumeRolePolicySizeQuota', () => {
    const t = demoTopology();
    t.accountSettings = {
      [WORKLOADS]: { quotas: { 'iam/L-NOPE': 5, 'iam/L-C07B4B0D': 4096 }, assumeRolePolicySizeQuota: 2048 },
    };
    expect(() => parseTopology(t)).toThrow(/accountSettings\.200000000002\.quotas\.iam\/L-NOPE: not a quota/);
    expect(() => parseTopology(t)).toThrow(/quotas\.iam\/L-C07B4B0D: disagrees with assumeRolePolicySizeQuota/);
  });

  it('sets the trust policy length quota, which GetAccountSummary reports as AssumeRolePolicySizeQuota', () => {
    const t = demoTopology();
    t.accountSettings = { [WORKLOADS]: { quotas: { 'iam/L-C07B4B0D': 4096 } } };
    expect(buildWorld(parseTopology(t)).accounts.get(WORKLOADS)!.assumeRolePolicySizeQuota).toBe(4096);
  });
});
