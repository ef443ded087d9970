import { STSClient } from '@aws-sdk/client-sts';
import { CreateRoleCommand } from '@aws-sdk/client-iam';
import { CreateAccessPointCommand } from '@aws-sdk/client-s3-control';
import { CreateGrantCommand } from '@aws-sdk/client-kms';
import type { Emulator } from '../../../emulator/server';
import { buildWorld } from '../../../emulator/seed';
import { parseTopology, type TopologyInput } from '../../../emulator/topology';
import { ProvisionerSessions } from '../../../lib/aws/session';
import { QuotaReader } from '../../../lib/aws/quotas';
import { quotaExceeded, quotaRefusals } from '../../../lib/policy/quotas';
import { loadConfig } from '../../../lib/config';
import { NotAllowedError } from '../../../lib/errors';
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
import { emulatorQuotaSource } from '../../helpers/service-quotas';

const KEY = `arn:aws:kms:eu-west-1:${BACKUPS}:key/11111111-2222-3333-4444-555555555555`;
const seeded = buildWorld(parseTopology(demoTopology())).accounts.get(WORKLOADS)!;
const ROLES = seeded.roles.size;
const PROVIDERS = seeded.oidcProviders.size;

function topology(): TopologyInput {
  const t = demoTopology();
  t.accountSettings = {
    [WORKLOADS]: { quotas: { 'iam/L-FE177D64': ROLES + 1, 'iam/L-858F3967': PROVIDERS + 3 } },
    [BACKUPS]: { quotas: { 's3/L-FCEEF8B2': 2, 'kms/L-D594A657': 3 } },
  };
  return t;
}

let emu: Emulator;
useTestEmulator((e) => (emu = e), topology());

let platform: STSClient;
const saved = process.env.AWS_ENDPOINT_URL;
beforeAll(async () => {
  // the provisioner's clients find the emulator as the deployed service's find AWS: through the environment
  process.env.AWS_ENDPOINT_URL = emu.url;
  const creds = await emulatorAdmin(emu).roleCredentials(`arn:aws:iam::${PLATFORM}:role/s3-onboarding-api`);
  platform = new STSClient({ endpoint: emu.url, region: 'eu-west-1', credentials: creds });
});
afterAll(() => {
  if (saved === undefined) delete process.env.AWS_ENDPOINT_URL;
  else process.env.AWS_ENDPOINT_URL = saved;
});

const config = () => loadConfig({ PROVISIONER_EXTERNAL_ID: 's3-onboarding-local' });

/** A reader acting as the provisioner roles, with Service Quotas read over the emulator (calls recorded). */
function reader(now = () => Date.now()) {
  const sessions = new ProvisionerSessions(config(), platform);
  const calls: { region: string; key: string }[] = [];
  const source = emulatorQuotaSource(emu, (account) => sessions.credentials(account), calls);
  return { quotas: new QuotaReader(sessions, config(), source, now), sessions, calls };
}

describe('Class: QuotaReader (against the emulator, as the provisioner roles)', () => {
  it('reads usage and the applied limits the topology sets, with the quota codes to raise', async () => {
    const { quotas, calls } = reader();
    const [roles, providers, accessPoints, grants] = await Promise.all([
      quotas.roles(WORKLOADS),
      quotas.oidcProviders(WORKLOADS),
      quotas.accessPoints(BACKUPS, 'eu-west-1'),
      quotas.grants(KEY),
    ]);
    expect(roles).toMatchObject({
      kind: 'roles',
      serviceCode: 'iam',
      quotaCode: 'L-FE177D64',
      scope: WORKLOADS,
      used: ROLES,
      limit: ROLES + 1,
      source: 'iam-account-summary',
    });
    expect(providers).toMatchObject({
      quotaCode: 'L-858F3967',
      used: PROVIDERS,
      limit: PROVIDERS + 3,
      source: 'service-quotas',
    });
    expect(accessPoints).toMatchObject({
      serviceCode: 's3',
      scope: `${BACKUPS}:eu-west-1`,
      used: 0,
      limit: 2,
      source: 'service-quotas',
    });
    expect(grants).toMatchObject({
      serviceCode: 'kms',
      quotaCode: 'L-D594A657',
      scope: KEY,
      accountId: BACKUPS,
      used: 0,
      limit: 3,
    });
    // IAM's quotas are global: Service Quotas is asked in us-east-1; the others in their Region
    expect(calls.sort((a, b) => a.key.localeCompare(b.key))).toEqual([
      { region: 'us-east-1', key: 'iam/L-858F3967' },
      { region: 'eu-west-1', key: 'kms/L-D594A657' },
      { region: 'eu-west-1', key: 's3/L-FCEEF8B2' },
    ]);
  });

  it('reads a usage near its limit fresh every time and the limits once per TTL; a refusal follows what was made meanwhile', async () => {
    let now = 1_000_000;
    const { quotas, calls } = reader(() => now);
    const root = clientsFor(emu, rootCredentials(BACKUPS));
    expect(quotaRefusals([await quotas.accessPoints(BACKUPS, 'eu-west-1')], { accessPoints: 2 })).toEqual([]);
    await root.s3control.send(
      new CreateAccessPointCommand({ AccountId: BACKUPS, Name: 'made-meanwhile', Bucket: 'demo-backups' }),
    );
    const after = await quotas.accessPoints(BACKUPS, 'eu-west-1');
    expect([after.used, after.limit]).toEqual([1, 2]);
    const [refusal] = quotaRefusals([after], { accessPoints: 2 }, { accessPoints: 'bucket.name' });
    expect(refusal).toMatchObject({ status: 409, field: 'bucket.name', quota: { used: 1, limit: 2, adds: 2 } });
    expect(refusal.detail).toContain('quota code L-FCEEF8B2');
    expect(calls).toHaveLength(1);
    now += config().quotaLimitTtlMs;
    await quotas.accessPoints(BACKUPS, 'eu-west-1');
    expect(calls).toHaveLength(2);

    // what the emulator then refuses is what the reading foresaw: a second access point fits, a third does not
    await root.s3control.send(
      new CreateAccessPointCommand({ AccountId: BACKUPS, Name: 'second', Bucket: 'demo-backups' }),
    );
    const full = await quotas.accessPoints(BACKUPS, 'eu-west-1');
    expect(quotaRefusals([full], { accessPoints: 1 })).toHaveLength(1);
    const e = await failure(
      root.s3control.send(new CreateAccessPointCommand({ AccountId: BACKUPS, Name: 'third', Bucket: 'demo-backups' })),
    );
    expect(e.name).toBe('TooManyAccessPoints');
  });

  it('keeps a count that takes pages while it is far from its limit (calls constant in the size of the estate), and reads it afresh after the TTL', async () => {
    // the workloads account keeps the default 10,000 access points: a count of 1 is far from it
    let now = 5_000_000;
    const { quotas } = reader(() => now);
    const admin = emulatorAdmin(emu);
    const root = clientsFor(emu, rootCredentials(WORKLOADS));
    await root.s3control.send(
      new CreateAccessPointCommand({ AccountId: WORKLOADS, Name: 'one', Bucket: 'workload-local-backups' }),
    );
    await admin.clearCalls();
    const lists = async () =>
      (await admin.calls()).filter((c) => c.operation === 'ListAccessPoints' && c.accountId === WORKLOADS).length;
    expect((await quotas.accessPoints(WORKLOADS, 'eu-west-1')).used).toBe(1);
    await root.s3control.send(
      new CreateAccessPointCommand({ AccountId: WORKLOADS, Name: 'two', Bucket: 'workload-local-backups' }),
    );
    // within the TTL: the kept count, no call
    expect((await quotas.accessPoints(WORKLOADS, 'eu-west-1')).used).toBe(1);
    expect(await lists()).toBe(1);
    now += config().quotaUsageTtlMs;
    expect((await quotas.accessPoints(WORKLOADS, 'eu-west-1')).used).toBe(2);
    expect(await lists()).toBe(2);
  });

  it('keeps the roles count (one account summary) while far from its limit, and reads it afresh near it', async () => {
    let now = 7_000_000;
    const { quotas } = reader(() => now);
    const admin = emulatorAdmin(emu);
    await admin.clearCalls();
    const summaries = async (account: string) =>
      (await admin.calls()).filter((c) => c.operation === 'GetAccountSummary' && c.accountId === account).length;
    // the bucket account keeps IAM's default 1,000 roles: far from it, one call serves the TTL
    await quotas.roles(BACKUPS);
    await quotas.roles(BACKUPS);
    expect(await summaries(BACKUPS)).toBe(1);
    now += config().quotaUsageTtlMs;
    await quotas.roles(BACKUPS);
    expect(await summaries(BACKUPS)).toBe(2);
    // the workloads account's quota leaves one role: near it, every reading is fresh
    await quotas.roles(WORKLOADS);
    await quotas.roles(WORKLOADS);
    expect(await summaries(WORKLOADS)).toBe(2);
  });

  it('refuses, before any write, a role and grants beyond what is left, naming each quota; one more role still fits', async () => {
    const { quotas } = reader();
    const root = clientsFor(emu, rootCredentials(BACKUPS));
    for (let i = 0; i < 2; i++)
      await root.kms.send(
        new CreateGrantCommand({
          KeyId: KEY,
          GranteePrincipal: `arn:aws:iam::${WORKLOADS}:role/s3-onboarding-provisioner`,
          Operations: ['Decrypt'],
        }),
      );
    const readings = [await quotas.roles(WORKLOADS), await quotas.grants(KEY)];
    expect(quotaRefusals(readings, { roles: 1, grants: { [KEY]: 1 } })).toEqual([]);
    const refusals = quotaRefusals(readings, { roles: 2, grants: { [KEY]: 2 } });
    expect(refusals.map((r) => [r.quota.serviceCode, r.quota.quotaCode, r.quota.used, r.quota.limit])).toEqual([
      ['iam', 'L-FE177D64', ROLES, ROLES + 1],
      ['kms', 'L-D594A657', 2, 3],
    ]);
    expect(quotaExceeded(refusals)!.status).toBe(409);

    // the one role that fits is created; the next is what IAM refuses
    const iam = clientsFor(emu, rootCredentials(WORKLOADS)).iam;
    const trust = JSON.stringify({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }],
    });
    await iam.send(new CreateRoleCommand({ RoleName: 'fits', AssumeRolePolicyDocument: trust }));
    expect(quotaRefusals([await quotas.roles(WORKLOADS)], { roles: 1 })).toHaveLength(1);
    expect(
      (await failure(iam.send(new CreateRoleCommand({ RoleName: 'no', AssumeRolePolicyDocument: trust })))).name,
    ).toBe('LimitExceededException');
  });

  it("without a Service Quotas source, takes AWS's documented defaults and says so", async () => {
    const sessions = new ProvisionerSessions(config(), platform);
    const quotas = new QuotaReader(sessions, config());
    const providers = await quotas.oidcProviders(WORKLOADS);
    expect(providers).toMatchObject({ used: PROVIDERS, limit: 100, source: 'default' });
    expect((await quotas.grants(KEY)).limit).toBe(50_000);
    // roles need no Service Quotas: IAM's account summary has the applied value
    expect(await quotas.roles(WORKLOADS)).toMatchObject({ limit: ROLES + 1, source: 'iam-account-summary' });
  });

  it('maps a denied read to the service error (the provisioner of another account may not list these grants)', async () => {
    const { sessions } = reader();
    // the workloads provisioner reading the backups key's grants: KMS answers AccessDenied
    const foreign = new QuotaReader(
      {
        ...sessions,
        kms: (_account: string, region: string) => sessions.kms(WORKLOADS, region),
      } as ProvisionerSessions,
      config(),
    );
    await expect(foreign.grants(KEY)).rejects.toBeInstanceOf(NotAllowedError);
  });
});
