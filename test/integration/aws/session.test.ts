import { STSClient, GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import type { Emulator } from '../../../emulator/server';
import { ProvisionerSessions } from '../../../lib/aws/session';
import { loadConfig } from '../../../lib/config';
import { NotAllowedError } from '../../../lib/errors';
import { BACKUPS, PLATFORM, WORKLOADS, emulatorAdmin, startTestEmulator } from '../../helpers/emulator';

let emu: Emulator;
let platform: STSClient;
beforeAll(async () => {
  emu = await startTestEmulator();
  const creds = await emulatorAdmin(emu).roleCredentials(`arn:aws:iam::${PLATFORM}:role/s3-onboarding-api`);
  platform = new STSClient({ endpoint: emu.url, region: 'eu-west-1', credentials: creds });
});
afterAll(() => emu.close());

const assumeCalls = async () => (await emulatorAdmin(emu).calls()).filter((c) => c.operation === 'AssumeRole');

describe('Class: ProvisionerSessions', () => {
  it('assumes each account once, shares one call between concurrent callers, and refreshes shortly before expiry', async () => {
    let now = Date.now();
    const sessions = new ProvisionerSessions(
      loadConfig({ PROVISIONER_EXTERNAL_ID: 's3-onboarding-local' }),
      platform,
      () => now,
    );
    await emulatorAdmin(emu).clearCalls();
    const [a, b] = await Promise.all([sessions.credentials(WORKLOADS), sessions.credentials(WORKLOADS)]);
    expect(a).toBe(b);
    await sessions.credentials(WORKLOADS);
    await sessions.credentials(BACKUPS);
    expect((await assumeCalls()).map((c) => c.status)).toEqual([200, 200]);
    const who = await new STSClient({ endpoint: emu.url, region: 'eu-west-1', credentials: a }).send(
      new GetCallerIdentityCommand({}),
    );
    expect(who.Arn).toBe(`arn:aws:sts::${WORKLOADS}:assumed-role/s3-onboarding-provisioner/s3-onboarding`);

    now += 54 * 60_000; // 6 minutes before the one-hour expiry: still cached (margin is 5 minutes)
    expect(await sessions.credentials(WORKLOADS)).toBe(a);
    now += 2 * 60_000; // 4 minutes before expiry: refreshed
    const c = await sessions.credentials(WORKLOADS);
    expect(c).not.toBe(a);
    expect(await assumeCalls()).toHaveLength(3);
  });

  it('refuses an account without an external id, and does not cache a failed AssumeRole', async () => {
    const none = new ProvisionerSessions(loadConfig({}), platform);
    await expect(none.credentials(WORKLOADS)).rejects.toBeInstanceOf(NotAllowedError);
    const wrong = new ProvisionerSessions(loadConfig({ PROVISIONER_EXTERNAL_ID: 'wrong' }), platform);
    await emulatorAdmin(emu).clearCalls();
    await expect(wrong.credentials(WORKLOADS)).rejects.toBeInstanceOf(NotAllowedError);
    await expect(wrong.credentials(WORKLOADS)).rejects.toBeInstanceOf(NotAllowedError);
    expect(await assumeCalls()).toHaveLength(2);
  });
});
