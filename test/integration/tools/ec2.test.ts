/**
 * EC2 (contract §3, §4): the files the service returns for an ec2 workload are all an unmodified AWS SDK credential
 * chain needs. A child process with no credentials, given only aws-config (installed where AWS_CONFIG_FILE says,
 * here a temporary directory) and the variables of pbm-agent.env, plus the emulator's endpoints and instance
 * metadata, assumes the onboarded role from the instance role and writes under the prefix; without those files,
 * or with the AWS_ROLE_ARN/AWS_SESSION_NAME the service used to return, it acts as the bare instance role and S3
 * refuses it.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Stack } from '../../../scripts/stack';
import { BACKUPS, WORKLOADS } from '../../helpers/emulator';
import { envFileVariables, validateSnippet } from '../../helpers/schemas';
import { useTestStack, type TestStack } from '../../helpers/stack';

let stack: Stack;
let api: TestStack['api'];
useTestStack((t) => ({ stack, api } = t));

const REPO_ROOT = path.resolve(__dirname, '../../..');
const INSTANCE_ROLE = `arn:aws:iam::${WORKLOADS}:role/pbm-ec2-instance-role`;

let dir: string;
beforeAll(() => (dir = mkdtempSync(path.join(tmpdir(), 'ec2-profile-'))));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** What the instance runs: the SDK's default chain (no credentials in code), its identity and two writes. */
const TOOL = `const { S3Client, PutObjectCommand } = require('@aws-sdk/client-s3');
const { STSClient, GetCallerIdentityCommand } = require('@aws-sdk/client-sts');
const [bucket, inside, outside] = process.argv.slice(1);
const put = (Key) => new S3Client({ forcePathStyle: true }).send(new PutObjectCommand({ Bucket: bucket, Key, Body: 'pbm' })).then(() => 'ok', (e) => e.name);
(async () => {
  const who = await new STSClient({}).send(new GetCallerIdentityCommand({})).then((r) => r.Arn, (e) => 'error ' + e.name);
  console.log(JSON.stringify({ who, inside: await put(inside), outside: await put(outside) }));
})();`;

/** Runs TOOL with exactly `vars` (plus the emulator's endpoints and a region) in an otherwise empty environment. */
function runOnInstance(
  vars: Record<string, string>,
  bucket: string,
  inside: string,
  outside: string,
): Promise<{ who: string; inside: string; outside: string }> {
  const env = {
    PATH: process.env.PATH ?? '',
    HOME: dir, // no ~/.aws to fall back on
    AWS_SHARED_CREDENTIALS_FILE: path.join(dir, 'no-credentials'),
    AWS_EC2_METADATA_SERVICE_ENDPOINT: stack.emulator.imdsUrl,
    AWS_ENDPOINT_URL: stack.emulator.url,
    AWS_REGION: 'eu-west-1',
    ...vars,
  };
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['-e', TOOL, bucket, inside, outside],
      { cwd: REPO_ROOT, env, timeout: 60_000 },
      (err, stdout, stderr) =>
        err
          ? reject(new Error(`${err.message}\n${stderr}`))
          : resolve(JSON.parse(stdout) as { who: string; inside: string; outside: string }),
    );
  });
}

/** Installs the returned aws-config where a test instance keeps it, and the env file's variables pointing at it. */
function install(snippets: Record<string, string>, name: string): Record<string, string> {
  const file = path.join(dir, name);
  writeFileSync(file, snippets['aws-config']!);
  const vars = Object.fromEntries(envFileVariables(snippets['pbm-agent.env']!));
  expect(Object.keys(vars).sort()).toEqual(['AWS_CONFIG_FILE', 'AWS_PROFILE']);
  expect(vars.AWS_CONFIG_FILE).toBe('/etc/s3-onboarding/aws-config');
  return { ...vars, AWS_CONFIG_FILE: file };
}

describe('EC2: the returned aws-config and pbm-agent.env drive an unmodified SDK credential chain', () => {
  it.each([
    [
      'pbm',
      'bucket-policy',
      { name: 'demo-backups', accountId: BACKUPS, region: 'eu-west-1', prefix: 'ec2/pbm/' },
      'pbm-agent',
    ],
    [
      'generic',
      'same account',
      { name: 'workload-local-backups', accountId: WORKLOADS, region: 'eu-west-1', prefix: 'ec2/generic/' },
      's3-onboarding',
    ],
  ] as const)(
    '%s (%s): assumes the role from the instance role and writes under the prefix, and only there',
    async (tool, _mode, bucket, session) => {
      const res = await api.onboard({ workload: { type: 'ec2', instanceRoleArn: INSTANCE_ROLE }, bucket, tool });
      expect(res.status).toBe(201);
      const snippets = res.body.snippets as Record<string, string>;
      for (const file of ['aws-config', 'pbm-agent.env'])
        expect({ file, errors: validateSnippet(file, snippets[file]!) }).toEqual({ file, errors: [] });
      const roleName = String(res.body.roleArn).split('/').pop();

      const out = await runOnInstance(
        install(snippets, `${tool}-aws-config`),
        bucket.name,
        `${bucket.prefix}from-ec2`,
        'elsewhere/from-ec2',
      );
      expect(out).toEqual({
        who: `arn:aws:sts::${WORKLOADS}:assumed-role/${roleName}/${session}-${res.body.id}`,
        inside: 'ok',
        outside: 'AccessDenied',
      });
    },
  );

  it('without the files the chain stops at the instance role, which S3 refuses; AWS_ROLE_ARN and AWS_SESSION_NAME alone change nothing', async () => {
    const res = await api.onboard({
      workload: { type: 'ec2', instanceRoleArn: INSTANCE_ROLE },
      bucket: { name: 'demo-backups', accountId: BACKUPS, region: 'eu-west-1', prefix: 'ec2/pbm/' },
      tool: 'pbm',
    });
    expect(res.status).toBeLessThan(300);
    const bare = {
      who: expect.stringMatching(
        new RegExp(`^arn:aws:sts::${WORKLOADS}:assumed-role/pbm-ec2-instance-role/i-[0-9a-f]{17}$`),
      ),
      inside: 'AccessDenied',
      outside: 'AccessDenied',
    };
    expect(await runOnInstance({}, 'demo-backups', 'ec2/pbm/from-ec2', 'elsewhere/from-ec2')).toEqual(bare);
    // the variables the service returned before: the SDK reads AWS_ROLE_ARN only with a web-identity token file
    expect(
      await runOnInstance(
        { AWS_ROLE_ARN: res.body.roleArn, AWS_SESSION_NAME: `pbm-agent-${res.body.id}` },
        'demo-backups',
        'ec2/pbm/from-ec2',
        'elsewhere/from-ec2',
      ),
    ).toEqual(bare);
  });
});
