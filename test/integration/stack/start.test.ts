import { spawn } from 'node:child_process';
import path from 'node:path';

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
      while (!/\/v1\/onboardings/.test(out) && Date.now() - started < 60_000 && child.exitCode === null) await new Promise((r) => setTimeout(r, 100));
      expect(out).toMatch(/s3-onboarding ready: API (http:\/\/127\.0\.0\.1:\d+)\s+emulator (http:\/\/127\.0\.0\.1:\d+)/);
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
