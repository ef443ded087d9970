import { STSClient } from '@aws-sdk/client-sts';
import { CreateGrantCommand } from '@aws-sdk/client-kms';
import type { Emulator } from '../../../emulator/server';
import { ProvisionerSessions } from '../../../lib/aws/session';
import { QuotaReader } from '../../../lib/aws/quotas';
import { loadConfig } from '../../../lib/config';
import {
  BACKUPS,
  PLATFORM,
  WORKLOADS,
  clientsFor,
  emulatorAdmin,
  rootCredentials,
  useTestEmulator,
} from '../../helpers/emulator';

const KEY = `arn:aws:kms:eu-west-1:${BACKUPS}:key/11111111-2222-3333-4444-555555555555`;
const GRANTS = 120;

let emu: Emulator;
useTestEmulator((e) => (emu = e));

let platform: STSClient;
const saved = process.env.AWS_ENDPOINT_URL;
beforeAll(async () => {
  process.env.AWS_ENDPOINT_URL = emu.url;
  platform = new STSClient({
    endpoint: emu.url,
    region: 'eu-west-1',
    credentials: await emulatorAdmin(emu).roleCredentials(`arn:aws:iam::${PLATFORM}:role/s3-onboarding-api`),
  });
});
afterAll(() => {
  if (saved === undefined) delete process.env.AWS_ENDPOINT_URL;
  else process.env.AWS_ENDPOINT_URL = saved;
});

const config = loadConfig({ PROVISIONER_EXTERNAL_ID: 's3-onboarding-local' });
const listGrantsCalls = async () =>
  (await emulatorAdmin(emu).calls()).filter((c) => c.operation === 'ListGrants' && c.status === 200).length;

describe('QuotaReader: counting through pages', () => {
  it('counts every page of grants below the limit, and stops counting once the limit is reached', async () => {
    const { kms } = clientsFor(emu, rootCredentials(BACKUPS));
    for (let i = 0; i < GRANTS; i++)
      await kms.send(
        new CreateGrantCommand({
          KeyId: KEY,
          GranteePrincipal: `arn:aws:iam::${WORKLOADS}:role/s3-onboarding-provisioner`,
          Operations: ['Decrypt'],
        }),
      );
    const sessions = new ProvisionerSessions(config, platform);

    await emulatorAdmin(emu).clearCalls();
    const all = await new QuotaReader(sessions, config).grants(KEY);
    expect([all.used, all.limit, all.source]).toEqual([GRANTS, 50_000, 'default']);
    expect(await listGrantsCalls()).toBe(2); // 100 a page

    // a key whose applied quota is 100: one page shows it full, the rest need not be read
    await emulatorAdmin(emu).clearCalls();
    const full = await new QuotaReader(sessions, config, async () => 100).grants(KEY);
    expect([full.used, full.limit, full.source]).toEqual([100, 100, 'service-quotas']);
    expect(await listGrantsCalls()).toBe(1);
  });
});
