import { spawn } from 'node:child_process';
import path from 'node:path';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';

const ROOT = path.resolve(__dirname, '../../..');

/** `npm start` as a newcomer runs it: one command, loopback only, a `ready` line, clean exit on SIGTERM. */
describe('npm start (the local stack)', () => {
  it('prints ready with the API URL, serves the API and the emulator, and exits cleanly on SIGTERM', async () => {
    const child = spawn(process.execPath, [path.join(ROOT, 'node_modules/tsx/dist/cli.mjs'), 'scripts/start.ts'], {
      cwd: ROOT,
      env: { ...process.env, PORT: '0', EMULATOR_PORT: '0', POWERTOOLS_LOG_LEVEL: 'ERROR' },
      stdio: ['ignore', 'pipe', 'pipe'],
      // its own process group: tsx runs the script in a child process of its own
      detached: true,
    });
    // a failing assertion must not leave the stack running (it would hold the metadata port for every later run)
    const orphan = () => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        /* already gone */
      }
    };
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    try {
      const started = Date.now();
      // the ready line and the hints after it are separate writes: wait for the last hint, not only the first line
      while (!/\/v1\/onboardings/.test(out) && Date.now() - started < 60_000 && child.exitCode === null)
        await new Promise((r) => setTimeout(r, 100));
      expect(out).toMatch(
        /s3-onboarding ready: API (http:\/\/127\.0\.0\.1:\d+)\s+emulator (http:\/\/127\.0\.0\.1:\d+)/,
      );
      const [, apiUrl, emulatorUrl] = /API (\S+)\s+emulator (\S+)/.exec(out)!;
      expect(out).toMatch(/curl -s -X POST .*\/v1\/onboardings/);

      const health = await fetch(`${apiUrl}/v1/health`);
      expect(health.status).toBe(200);
      expect(((await health.json()) as { ok: boolean }).ok).toBe(true);
      expect(((await (await fetch(`${emulatorUrl}/_emulator/health`)).json()) as { ok: boolean }).ok).toBe(true);

      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      await expect(fetch(`${apiUrl}/v1/health`)).rejects.toThrow();
      await expect(fetch(`${emulatorUrl}/_emulator/health`)).rejects.toThrow();
    } finally {
      orphan();
    }
  }, 90_000);
});

/** Contract section 1: an invalid topology or guardrails file stops `npm start` before `ready`, naming the file and its fields. */
describe('npm start with an invalid file', () => {
  const startWith = (env: Record<string, string>) =>
    new Promise<{ code: number | null; out: string }>((resolve) => {
      const child = spawn(process.execPath, [path.join(ROOT, 'node_modules/tsx/dist/cli.mjs'), 'scripts/start.ts'], {
        cwd: ROOT,
        env: {
          ...process.env,
          PORT: '0',
          EMULATOR_PORT: '0',
          EMULATOR_IMDS_PORT: '0',
          POWERTOOLS_LOG_LEVEL: 'ERROR',
          ...env,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (out += d.toString()));
      const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
      child.once('exit', (code) => {
        clearTimeout(timer);
        resolve({ code, out });
      });
    });
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 's3-onboarding-start-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('exits non-zero before ready on a topology with invalid fields, naming the file and each field', async () => {
    const file = path.join(dir, 'topology.json');
    writeFileSync(
      file,
      JSON.stringify({
        platformAccountId: '1',
        accounts: ['100000000001'],
        buckets: [{ name: 'b', accountId: '100000000001', region: 'eu-west-1' }],
      }),
    );
    const { code, out } = await startWith({ TOPOLOGY: file });
    expect(code).not.toBe(0);
    expect(out).not.toMatch(/ready/);
    expect(out).toContain(`topology file ${file} is invalid`);
    expect(out).toMatch(/platformAccountId: must be a 12-digit account id/);
    expect(out).toMatch(/buckets\[0\]\.name: /);
  }, 90_000);

  it('exits non-zero before ready on a guardrails file with invalid fields (it used to print ready and answer 500)', async () => {
    const file = path.join(dir, 'guardrails.yaml');
    writeFileSync(file, 'version: 2\nrules: 5\n');
    const { code, out } = await startWith({ GUARDRAILS: file });
    expect(code).not.toBe(0);
    expect(out).not.toMatch(/ready/);
    expect(out).toContain(`guardrails file ${file} is invalid`);
    expect(out).toMatch(/version: /);
    expect(out).toMatch(/rules: /);
  }, 90_000);
});
