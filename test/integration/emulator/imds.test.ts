import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CreateRoleCommand, PutRolePolicyCommand } from '@aws-sdk/client-iam';
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { fromInstanceMetadata } from '@aws-sdk/credential-providers';
import type { Emulator } from '../../../emulator/server';
import { BACKUPS, WORKLOADS, clientsFor, rootCredentials, useTestEmulator, type Clients } from '../../helpers/emulator';

const doc = (statements: object[]) => JSON.stringify({ Version: '2012-10-17', Statement: statements });
const INSTANCE_ROLE = `arn:aws:iam::${WORKLOADS}:role/pbm-ec2-instance-role`;
const REPO_ROOT = path.resolve(__dirname, '../../..');

let emu: Emulator;
let workloads: Clients;
let backups: Clients;
useTestEmulator((e) => (emu = e));
beforeEach(() => {
  workloads = clientsFor(emu, rootCredentials(WORKLOADS));
  backups = clientsFor(emu, rootCredentials(BACKUPS));
});

const imds = (p: string, init: RequestInit = {}) => fetch(`${emu.imdsUrl}${p}`, init);
const imdsToken = async (ttl = '21600') =>
  (await imds('/latest/api/token', { method: 'PUT', headers: { 'x-aws-ec2-metadata-token-ttl-seconds': ttl } })).text();
const adminImds = (roleArn: string | null) =>
  fetch(`${emu.url}/_emulator/imds`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ roleArn }),
  });

describe('Emulator: EC2 instance metadata (IMDSv2)', () => {
  it('hands out credentials of the instance role after the IMDSv2 token handshake', async () => {
    expect((await imds('/latest/api/token', { method: 'PUT' })).status).toBe(400);
    expect(
      (await imds('/latest/api/token', { method: 'PUT', headers: { 'x-aws-ec2-metadata-token-ttl-seconds': '21601' } }))
        .status,
    ).toBe(400);
    // IMDSv1 (no token) is refused, as with HttpTokens=required
    expect((await imds('/latest/meta-data/iam/security-credentials/')).status).toBe(401);
    expect(
      (
        await imds('/latest/meta-data/iam/security-credentials/', {
          headers: { 'x-aws-ec2-metadata-token': 'made-up' },
        })
      ).status,
    ).toBe(401);

    const headers = { 'x-aws-ec2-metadata-token': await imdsToken() };
    const names = await imds('/latest/meta-data/iam/security-credentials/', { headers });
    expect(await names.text()).toBe('pbm-ec2-instance-role');
    const res = await imds('/latest/meta-data/iam/security-credentials/pbm-ec2-instance-role', { headers });
    const creds = (await res.json()) as Record<string, string>;
    expect(creds).toMatchObject({ Code: 'Success', Type: 'AWS-HMAC' });
    expect(creds.AccessKeyId).toMatch(/^ASIA/);
    expect(creds.Expiration).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(creds.LastUpdated).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    const info = (await (await imds('/latest/meta-data/iam/info', { headers })).json()) as Record<string, string>;
    expect(info).toMatchObject({
      Code: 'Success',
      InstanceProfileArn: `arn:aws:iam::${WORKLOADS}:instance-profile/pbm-ec2-instance-role`,
    });
    expect((await imds('/latest/meta-data/iam/security-credentials/other-role', { headers })).status).toBe(404);

    // a real STS session of the role, named after the instance
    const ec2 = clientsFor(emu, {
      accessKeyId: creds.AccessKeyId,
      secretAccessKey: creds.SecretAccessKey,
      sessionToken: creds.Token,
    });
    const who = await ec2.sts.send(new GetCallerIdentityCommand({}));
    expect(who.Arn).toMatch(
      new RegExp(`^arn:aws:sts::${WORKLOADS}:assumed-role/pbm-ec2-instance-role/i-[0-9a-f]{17}$`),
    );
    // the same credentials until they near expiry
    const again = (await (
      await imds('/latest/meta-data/iam/security-credentials/pbm-ec2-instance-role', { headers })
    ).json()) as Record<string, string>;
    expect(again.AccessKeyId).toBe(creds.AccessKeyId);
  });

  it('works with the JS SDK instance-metadata provider given only the endpoint', async () => {
    const saved = process.env.AWS_EC2_METADATA_SERVICE_ENDPOINT;
    process.env.AWS_EC2_METADATA_SERVICE_ENDPOINT = emu.imdsUrl;
    try {
      const creds = await fromInstanceMetadata({ timeout: 2000, maxRetries: 0 })();
      const who = await clientsFor(emu, creds).sts.send(new GetCallerIdentityCommand({}));
      expect(who.Arn).toContain(':assumed-role/pbm-ec2-instance-role/');
    } finally {
      if (saved === undefined) delete process.env.AWS_EC2_METADATA_SERVICE_ENDPOINT;
      else process.env.AWS_EC2_METADATA_SERVICE_ENDPOINT = saved;
    }
  });

  it('serves the role chosen through the admin API, refuses a role EC2 may not assume, and none at all', async () => {
    await workloads.iam.send(
      new CreateRoleCommand({
        RoleName: 'other-instance',
        AssumeRolePolicyDocument: doc([
          { Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' },
        ]),
      }),
    );
    expect((await adminImds(`arn:aws:iam::${WORKLOADS}:role/other-instance`)).status).toBe(200);
    const headers = { 'x-aws-ec2-metadata-token': await imdsToken() };
    expect(await (await imds('/latest/meta-data/iam/security-credentials/', { headers })).text()).toBe(
      'other-instance',
    );

    // an instance profile whose role does not trust EC2: IMDS answers an error document, not credentials
    await workloads.iam.send(
      new CreateRoleCommand({
        RoleName: 'not-for-ec2',
        AssumeRolePolicyDocument: doc([
          { Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' },
        ]),
      }),
    );
    await adminImds(`arn:aws:iam::${WORKLOADS}:role/not-for-ec2`);
    const refused = (await (
      await imds('/latest/meta-data/iam/security-credentials/not-for-ec2', { headers })
    ).json()) as Record<string, string>;
    expect(refused.Code).toBe('AssumeRoleUnauthorizedAccess');
    expect(refused.AccessKeyId).toBeUndefined();

    expect((await adminImds(null)).status).toBe(200);
    expect((await imds('/latest/meta-data/iam/security-credentials/', { headers })).status).toBe(404);
    expect((await adminImds(`arn:aws:iam::${WORKLOADS}:role/ghost`)).status).toBe(404);

    // reset brings back the topology's instance role
    await fetch(`${emu.url}/_emulator/reset`, { method: 'POST' });
    expect(await (await fetch(`${emu.url}/_emulator/imds`)).json()).toEqual({ roleArn: INSTANCE_ROLE });
  });

  describe('an unmodified SDK credential chain with a credential_source = Ec2InstanceMetadata profile', () => {
    let dir: string;
    const target = `arn:aws:iam::${BACKUPS}:role/backup-writer`;
    beforeEach(async () => {
      dir = mkdtempSync(path.join(tmpdir(), 'imds-'));
      writeFileSync(
        path.join(dir, 'config'),
        [
          '[profile backup]',
          `role_arn = ${target}`,
          'credential_source = Ec2InstanceMetadata',
          'role_session_name = pbm-backup',
          'region = eu-west-1',
          '',
        ].join('\n'),
      );
      // the target trusts the instance role (cross-account: the instance role's own policy must allow it too)
      await backups.iam.send(
        new CreateRoleCommand({
          RoleName: 'backup-writer',
          AssumeRolePolicyDocument: doc([
            { Effect: 'Allow', Principal: { AWS: INSTANCE_ROLE }, Action: 'sts:AssumeRole' },
          ]),
        }),
      );
    });
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    /** Only the profile files and the endpoints: no credentials in the environment. */
    const env = () => ({
      PATH: process.env.PATH ?? '',
      HOME: dir,
      AWS_CONFIG_FILE: path.join(dir, 'config'),
      AWS_SHARED_CREDENTIALS_FILE: path.join(dir, 'credentials-none'),
      AWS_PROFILE: 'backup',
      AWS_EC2_METADATA_SERVICE_ENDPOINT: emu.imdsUrl,
      AWS_ENDPOINT_URL: emu.url,
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    });
    const run = (cmd: string, args: string[]) =>
      new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
        execFile(cmd, args, { cwd: REPO_ROOT, env: env(), timeout: 60_000 }, (err, stdout, stderr) =>
          resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
        );
      });
    const jsChain = `const { STSClient, GetCallerIdentityCommand } = require('@aws-sdk/client-sts');
new STSClient({}).send(new GetCallerIdentityCommand({})).then((r) => console.log(r.Arn), (e) => { console.error(e.name + ': ' + e.message); process.exit(3); });`;
    const grant = () =>
      workloads.iam.send(
        new PutRolePolicyCommand({
          RoleName: 'pbm-ec2-instance-role',
          PolicyName: 'assume-backup-writer',
          PolicyDocument: doc([{ Effect: 'Allow', Action: 'sts:AssumeRole', Resource: target }]),
        }),
      );

    it('assumes the target role through the emulator STS (AWS SDK for JavaScript v3, default chain)', async () => {
      const denied = await run(process.execPath, ['-e', jsChain]);
      expect(denied.code).toBe(3);
      expect(denied.stderr).toContain('AccessDenied');
      await grant();
      const ok = await run(process.execPath, ['-e', jsChain]);
      expect(ok.stderr).toBe('');
      expect(ok.stdout.trim()).toBe(`arn:aws:sts::${BACKUPS}:assumed-role/backup-writer/pbm-backup`);
    });

    const hasAwsCli = spawnSync('aws', ['--version'], { encoding: 'utf8' }).status === 0;
    (hasAwsCli ? it : it.skip)('assumes the target role through the emulator STS (botocore: aws CLI)', async () => {
      const denied = await run('aws', ['sts', 'get-caller-identity', '--output', 'json']);
      expect(denied.code).not.toBe(0);
      expect(denied.stderr).toContain('AccessDenied');
      await grant();
      const ok = await run('aws', ['sts', 'get-caller-identity', '--output', 'json']);
      expect(ok.stderr).toBe('');
      expect((JSON.parse(ok.stdout) as { Arn: string }).Arn).toBe(
        `arn:aws:sts::${BACKUPS}:assumed-role/backup-writer/pbm-backup`,
      );
    });

    it('fails in the JS SDK chain when the instance has no role', async () => {
      await adminImds(null);
      const out = await run(process.execPath, ['-e', jsChain]);
      expect(out.code).toBe(3);
      expect(out.stdout).toBe('');
      expect(out.stderr).toContain('CredentialsProviderError');
    });
  });
});
