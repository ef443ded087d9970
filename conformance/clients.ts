/**
 * npm run clients: a pod's and an instance's credential paths through clients written elsewhere, against the local
 * stack (embedded emulator). The service onboards a pod (IRSA, cross-account bucket policy) and an EC2 instance role
 * over its HTTP API; then
 *   - the AWS CLI (botocore's own credential chain) with only AWS_ROLE_ARN + AWS_WEB_IDENTITY_TOKEN_FILE, the
 *     variables the EKS pod identity webhook injects, and
 *   - the AWS CLI with only the service's EC2 files (aws-config: credential_source = Ec2InstanceMetadata, selected
 *     by pbm-agent.env) and the emulator's instance-metadata stand-in
 * copy an object into the onboarded prefix and back, and are denied outside it; and
 *   - rclone (Debian's package; aws-sdk-go's credential chain) backs a directory tree up under the pod's prefix and
 *     restores it, and is denied outside it.
 * Both clients also upload multipart (the AWS CLI above 8 MiB, rclone with 5 MiB parts).
 * A missing tool skips its cases (and says so); with no tool at all the check is skipped.
 */
import './lib/env';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { rootClients } from '../scripts/aws-endpoint';
import { startStack, type Stack } from '../scripts/stack';
import { api, expectStatus } from './lib/api';
import { Checks, main, skippedCheck } from './lib/report';
import { which } from './lib/tools';

const TITLE = 'clients (a pod and an instance, through clients written elsewhere)';
const BUCKET = 'demo-backups';
const BACKUPS = '300000000003';
const WORKLOADS = '200000000002';
const OUTSIDE = 'clients/outside/secret.txt';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a tool with exactly `env` (nothing inherited: no stray credentials or CA bundles). */
const exec = (cmd: string, args: string[], env: Record<string, string>, cwd: string): Promise<Run> =>
  new Promise((resolve) => {
    execFile(cmd, args, { env, cwd, timeout: 120_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });

const must = (r: Run, what: string): Run => {
  if (r.code !== 0) throw new Error(`${what} exited with ${r.code}: ${(r.stderr || r.stdout).trim().slice(-1500)}`);
  return r;
};
const denied = (r: Run, what: string): string => {
  if (r.code === 0) throw new Error(`${what} succeeded; it must be denied`);
  const text = `${r.stderr}\n${r.stdout}`;
  const m = /AccessDenied|Forbidden|\b403\b/.exec(text);
  if (!m) throw new Error(`${what} failed, but not as denied: ${text.trim().slice(-800)}`);
  return `${what}: ${m[0]}`;
};

/** KEY=VALUE lines of an env file (comments and blank lines skipped). */
const envFile = (text: string): Record<string, string> =>
  Object.fromEntries(
    text
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#') && l.includes('='))
      .map((l) => [
        l.slice(0, l.indexOf('=')).replace(/^export\s+/, ''),
        l.slice(l.indexOf('=') + 1).replace(/^["']|["']$/g, ''),
      ]),
  );

function files(dir: string, base = dir): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = path.join(dir, f);
    return statSync(p).isDirectory() ? files(p, base) : [path.relative(base, p)];
  });
}

async function run(): Promise<void> {
  const aws = which('aws');
  const rclone = which('rclone');
  if (!aws && !rclone) return skippedCheck(TITLE, 'aws (the AWS CLI) and rclone');
  const checks = new Checks(TITLE);
  if (!aws) checks.toolMissing('aws');
  if (!rclone) checks.toolMissing('rclone');
  const dir = mkdtempSync(path.join(tmpdir(), 's3ob-clients-'));
  let stack: Stack | undefined;
  try {
    stack = await startStack({});
    const emu = stack.emulator;
    const client = api(stack.apiUrl);
    // the bucket owner keeps an object outside every onboarded prefix
    await rootClients(emu.url, BACKUPS).s3.send(
      new PutObjectCommand({ Bucket: BUCKET, Key: OUTSIDE, Body: 'not yours' }),
    );

    const pod = await client.onboard({
      workload: {
        type: 'eks',
        clusters: [{ name: 'demo', accountId: WORKLOADS, region: 'eu-west-1' }],
        namespace: 'clients',
        serviceAccounts: ['pbm-agent'],
      },
      bucket: { name: BUCKET, accountId: BACKUPS, region: 'eu-west-1', prefix: 'clients/pod/' },
      tool: 'pbm',
    });
    expectStatus(pod, 201);
    const ec2 = await client.onboard({
      workload: { type: 'ec2', instanceRoleArn: `arn:aws:iam::${WORKLOADS}:role/pbm-ec2-instance-role` },
      bucket: { name: BUCKET, accountId: BACKUPS, region: 'eu-west-1', prefix: 'clients/ec2/' },
      tool: 'pbm',
    });
    expectStatus(ec2, 201);

    // what the EKS webhook mounts: a projected service-account token of the cluster's issuer
    const tokenRes = await fetch(`${emu.url}/_emulator/tokens`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ cluster: 'demo', namespace: 'clients', serviceAccount: 'pbm-agent' }),
    });
    const tokenFile = path.join(dir, 'token');
    writeFileSync(tokenFile, ((await tokenRes.json()) as { token: string }).token);
    writeFileSync(path.join(dir, 'empty-config'), '');
    writeFileSync(path.join(dir, 'object.txt'), `written by a client at ${new Date().toISOString()}\n`);
    // over the AWS CLI's 8 MiB multipart threshold: CreateMultipartUpload, two UploadPart, CompleteMultipartUpload
    writeFileSync(path.join(dir, 'large.bin'), randomBytes(9 * 1024 * 1024));
    // AWS CLI v1 reads AWS_DEFAULT_REGION, the other SDKs AWS_REGION
    const base = {
      PATH: process.env.PATH ?? '',
      HOME: dir,
      AWS_SHARED_CREDENTIALS_FILE: path.join(dir, 'no-credentials'),
      AWS_ENDPOINT_URL: emu.url,
      AWS_REGION: 'eu-west-1',
      AWS_DEFAULT_REGION: 'eu-west-1',
    };
    const podEnv = {
      ...base,
      AWS_CONFIG_FILE: path.join(dir, 'empty-config'),
      AWS_ROLE_ARN: pod.body.roleArn as string,
      AWS_WEB_IDENTITY_TOKEN_FILE: tokenFile,
      AWS_ROLE_SESSION_NAME: 'pbm-agent',
    };

    const awsCases = async (who: string, env: Record<string, string>, roleArn: string, prefix: string) => {
      if (!aws)
        return ['who am I', 'copies in and out', 'denied outside'].forEach((n) =>
          checks.skip(`aws CLI, ${who}: ${n}`, 'aws not installed'),
        );
      const roleName = roleArn.split('/').pop()!;
      await checks.test(`aws CLI (botocore), ${who}: the credential chain assumes the onboarded role`, async () => {
        const r = must(
          await exec(aws, ['sts', 'get-caller-identity', '--output', 'json'], env, dir),
          'aws sts get-caller-identity',
        );
        const arn = (JSON.parse(r.stdout) as { Arn: string }).Arn;
        if (!arn.includes(`:assumed-role/${roleName}/`)) throw new Error(`the chain is ${arn}, not role ${roleArn}`);
        return arn;
      });
      await checks.test(
        `aws CLI (botocore), ${who}: copies objects into ${prefix} and back (one of them multipart)`,
        async () => {
          for (const f of ['object.txt', 'large.bin']) {
            const key = `s3://${BUCKET}/${prefix}cli/${f}`;
            must(await exec(aws, ['s3', 'cp', f, key], env, dir), `aws s3 cp ${f} (upload)`);
            must(await exec(aws, ['s3', 'cp', key, `back-${f}`], env, dir), `aws s3 cp ${f} (download)`);
            if (!readFileSync(path.join(dir, `back-${f}`)).equals(readFileSync(path.join(dir, f))))
              throw new Error(`${f} came back different`);
          }
          const ls = must(await exec(aws, ['s3', 'ls', `s3://${BUCKET}/${prefix}cli/`], env, dir), 'aws s3 ls');
          if (!ls.stdout.includes('object.txt') || !ls.stdout.includes('large.bin'))
            throw new Error(`aws s3 ls does not list them: ${ls.stdout}`);
          return `s3://${BUCKET}/${prefix}cli/: object.txt and large.bin (9 MiB, multipart) uploaded, listed, downloaded identical`;
        },
      );
      await checks.test(`aws CLI (botocore), ${who}: denied outside ${prefix}`, async () =>
        [
          denied(
            await exec(aws, ['s3', 'cp', 'object.txt', `s3://${BUCKET}/clients/outside/${roleName}.txt`], env, dir),
            'upload outside',
          ),
          denied(
            await exec(aws, ['s3', 'cp', `s3://${BUCKET}/${OUTSIDE}`, 'stolen.txt'], env, dir),
            'download outside',
          ),
          denied(await exec(aws, ['s3', 'ls', `s3://${BUCKET}/clients/outside/`], env, dir), 'list outside'),
        ].join('\n'),
      );
    };

    await awsCases('pod (AWS_ROLE_ARN + AWS_WEB_IDENTITY_TOKEN_FILE)', podEnv, pod.body.roleArn, 'clients/pod/');

    // the instance: only the service's own EC2 files, and instance metadata
    const snippets = (ec2.body.snippets ?? {}) as Record<string, string>;
    const missing = ['aws-config', 'pbm-agent.env'].filter((f) => !snippets[f]);
    let ec2Env: Record<string, string> | undefined;
    if (missing.length) {
      await checks.test('the service returns the EC2 files (aws-config, pbm-agent.env)', () => {
        throw new Error(
          `the ec2 onboarding returned no ${missing.join(', ')} (contract section 4); snippets: ${Object.keys(snippets).join(', ')}`,
        );
      });
    } else {
      const configFile = path.join(dir, 'aws-config');
      writeFileSync(configFile, snippets['aws-config']);
      const fromEnvFile = envFile(snippets['pbm-agent.env']);
      ec2Env = {
        ...base,
        ...fromEnvFile,
        // the file the snippet names, where this check keeps it
        AWS_CONFIG_FILE: configFile,
        AWS_EC2_METADATA_SERVICE_ENDPOINT: emu.imdsUrl,
      };
      await awsCases(
        `instance (credential_source = Ec2InstanceMetadata, profile ${fromEnvFile.AWS_PROFILE ?? 'default'})`,
        ec2Env,
        ec2.body.roleArn,
        'clients/ec2/',
      );
    }

    if (!rclone) {
      checks.skip('rclone, pod: backup and restore under the prefix', 'rclone not installed');
      checks.skip('rclone, pod: denied outside the prefix', 'rclone not installed');
      checks.skip('rclone, instance: backup and restore under the prefix', 'rclone not installed');
    } else {
      // 5 MiB parts from 5 MiB up, so that the 12 MiB archive goes up in three parts
      const remote = `:s3,provider=Other,env_auth=true,endpoint='${emu.url}',region=eu-west-1,force_path_style=true,no_check_bucket=true,upload_cutoff=5Mi,chunk_size=5Mi:`;
      writeFileSync(path.join(dir, 'rclone.conf'), '');
      const rcloneEnv = { ...podEnv, RCLONE_CONFIG: path.join(dir, 'rclone.conf') };
      const src = path.join(dir, 'backup');
      mkdirSync(path.join(src, 'oplog', '2026-11-30'), { recursive: true });
      writeFileSync(path.join(src, 'meta.json'), JSON.stringify({ backup: 'full', at: new Date().toISOString() }));
      writeFileSync(path.join(src, 'dump.archive'), randomBytes(12 * 1024 * 1024));
      writeFileSync(path.join(src, 'oplog', '2026-11-30', 'chunk-0001.bson'), randomBytes(64 * 1024));
      const backupAndRestore = async (env: Record<string, string>, prefix: string): Promise<string> => {
        const target = `${remote}${BUCKET}/${prefix}rclone/`;
        must(await exec(rclone, ['copy', src, target], env, dir), 'rclone copy (backup)');
        const restored = mkdtempSync(path.join(dir, 'restored-'));
        must(await exec(rclone, ['copy', target, restored], env, dir), 'rclone copy (restore)');
        const want = files(src).sort();
        const got = files(restored).sort();
        if (JSON.stringify(want) !== JSON.stringify(got))
          throw new Error(`restored ${got.join(', ')}; backed up ${want.join(', ')}`);
        for (const f of want)
          if (!readFileSync(path.join(src, f)).equals(readFileSync(path.join(restored, f))))
            throw new Error(`${f} came back different`);
        must(await exec(rclone, ['check', src, target], env, dir), 'rclone check');
        return `${want.length} files (${want.join(', ')}; the 12 MiB archive in 5 MiB parts) backed up under ${prefix}, restored byte for byte, rclone check clean`;
      };
      await checks.test(
        'rclone (Debian package, aws-sdk-go chain), pod: backs a tree up under the prefix and restores it',
        () => backupAndRestore(rcloneEnv, 'clients/pod/'),
      );
      await checks.test('rclone, pod: denied outside the prefix', async () =>
        [
          denied(
            await exec(rclone, ['copy', src, `${remote}${BUCKET}/clients/outside/rclone/`], rcloneEnv, dir),
            'backup outside',
          ),
          denied(
            await exec(
              rclone,
              ['copy', `${remote}${BUCKET}/clients/outside/`, path.join(dir, 'stolen')],
              rcloneEnv,
              dir,
            ),
            'restore from outside',
          ),
        ].join('\n'),
      );
      if (!ec2Env)
        checks.skip('rclone, instance: backup and restore under the prefix', 'the service returned no EC2 files');
      else {
        const instanceEnv = { ...ec2Env, RCLONE_CONFIG: path.join(dir, 'rclone.conf') };
        await checks.test(
          "rclone, instance (the service's aws-config, credential_source = Ec2InstanceMetadata): backs a tree up under the prefix and restores it",
          () => backupAndRestore(instanceEnv, 'clients/ec2/'),
        );
      }
    }
  } finally {
    await stack?.close();
    rmSync(dir, { recursive: true, force: true });
  }
  checks.finish();
}

main(TITLE, run);
