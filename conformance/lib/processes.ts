/** Child processes the checks start (moto_server): in their own process group, always stopped on exit. */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { openSync, closeSync, readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const running = new Set<ChildProcess>();

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal); // the group: the child and anything it started
  } catch {
    /* already gone */
  }
}

let hooked = false;
function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', () => {
    for (const c of running) killGroup(c, 'SIGKILL');
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      for (const c of running) killGroup(c, 'SIGKILL');
      process.exit(130);
    });
  }
}

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export interface Service {
  url: string;
  /** what the process wrote so far (stdout and stderr) */
  log(): string;
  stop(): Promise<void>;
}

/** Starts a server process, waits until `readyPath` answers, and returns how to stop it. */
export async function startServer(
  cmd: string,
  args: string[],
  port: number,
  readyPath: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<Service> {
  hookExit();
  const logDir = mkdtempSync(path.join(tmpdir(), 's3ob-checks-'));
  const logFile = path.join(logDir, `${path.basename(cmd)}.log`);
  const fd = openSync(logFile, 'w');
  const child = spawn(cmd, args, { stdio: ['ignore', fd, fd], detached: true, env });
  closeSync(fd);
  running.add(child);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.once('exit', () => running.delete(child));
  const url = `http://127.0.0.1:${port}`;
  const log = () => {
    try {
      return readFileSync(logFile, 'utf8');
    } catch {
      return '';
    }
  };
  const stop = async () => {
    killGroup(child, 'SIGTERM');
    const t = setTimeout(() => killGroup(child, 'SIGKILL'), 3000);
    await exited;
    clearTimeout(t);
    rmSync(logDir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) {
      const text = log();
      rmSync(logDir, { recursive: true, force: true });
      throw new Error(`${cmd} exited with ${child.exitCode}:\n${text}`);
    }
    try {
      const res = await fetch(`${url}${readyPath}`);
      await res.arrayBuffer();
      if (res.status < 500) break;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) {
      const text = log();
      await stop();
      throw new Error(`${cmd} did not answer on ${url} within 60 s:\n${text}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { url, log, stop };
}

/** moto_server on a free loopback port, in a clean environment (no MOTO_ACCOUNT_ID: the account comes from each call). */
export async function startMoto(motoServer: string): Promise<Service> {
  const port = await freePort();
  const env = { ...process.env };
  delete env.MOTO_ACCOUNT_ID;
  return startServer(motoServer, ['-H', '127.0.0.1', '-p', String(port)], port, '/moto-api/', env);
}
