import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type { CallRecord } from './calls';

export const REPO_ROOT = path.resolve(__dirname, '../..');
export const BUILD_DIR = path.join(REPO_ROOT, 'bench/.build');
const TSX = path.join(REPO_ROOT, 'node_modules/.bin/tsx');

export interface StackInfo {
  apiUrl: string;
  emulatorUrl: string;
  dynamodbUrl: string;
  /** the environment the API runs with (what startStack() set): credentials, endpoints, configuration */
  env: Record<string, string>;
}

export interface BenchStack extends StackInfo {
  admin: ReturnType<typeof emulatorAdmin>;
  close(): Promise<void>;
}

/**
 * Starts scripts/stack.ts (emulator + dynalite + the local API) in a child process of its own, so each stack
 * gets a fresh process (and so a cold credential cache) and its changes to process.env stay there.
 * Its log goes to bench/.build/<name>.log.
 */
export async function spawnStack(name: string, env: Record<string, string> = {}): Promise<BenchStack> {
  mkdirSync(BUILD_DIR, { recursive: true });
  const log = createWriteStream(path.join(BUILD_DIR, `${name}.log`));
  const child: ChildProcess = spawn(TSX, [path.join(REPO_ROOT, 'bench/stack-child.ts')], {
    cwd: REPO_ROOT,
    env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  child.stderr!.pipe(log);
  const info = await new Promise<StackInfo>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    let resolved = false;
    lines.on('line', (line) => {
      if (!resolved && line.startsWith('{')) {
        resolved = true;
        resolve(JSON.parse(line) as StackInfo);
      } else log.write(`${line}\n`);
    });
    child.once('exit', (code) => {
      if (!resolved)
        reject(new Error(`stack ${name} exited with ${code} before it was ready; see bench/.build/${name}.log`));
    });
    setTimeout(() => {
      if (!resolved) reject(new Error(`stack ${name} not ready after 60 s`));
    }, 60_000).unref();
  });
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  return {
    ...info,
    admin: emulatorAdmin(info.emulatorUrl),
    close: async () => {
      child.stdin!.end();
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
      log.end();
    },
  };
}

async function admin<T>(base: string, method: string, route: string, body?: unknown): Promise<T> {
  const res = await fetch(`${base}/_emulator/${route}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status >= 400) throw new Error(`${method} /_emulator/${route}: ${res.status} ${text}`);
  return (text ? JSON.parse(text) : undefined) as T;
}

/** The emulator's admin API (the same routes test/helpers/emulator.ts uses). */
export const emulatorAdmin = (base: string) => ({
  calls: () => admin<CallRecord[]>(base, 'GET', 'calls'),
  clearCalls: () => admin<void>(base, 'DELETE', 'calls'),
  /** a fresh world from the topology; sessions already issued stay valid; latency and propagation go back to 0 */
  reset: () => admin<unknown>(base, 'POST', 'reset'),
  latency: (perCallMs: number) => admin<unknown>(base, 'POST', 'latency', { perCallMs }),
  propagation: (delayMs: number) => admin<unknown>(base, 'POST', 'propagation', { delayMs }),
});

export interface Timed<T = any> {
  status: number;
  body: T;
  ms: number;
}

/** One JSON request, timed from before the request is sent until the whole response body is read. */
export async function request<T = any>(base: string, method: string, route: string, body?: unknown): Promise<Timed<T>> {
  const t0 = performance.now();
  const res = await fetch(`${base}${route}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  const ms = performance.now() - t0;
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    /* keep the text */
  }
  return { status: res.status, body: parsed as T, ms };
}

export const onboard = <T = any>(stack: StackInfo, body: unknown) =>
  request<T>(stack.apiUrl, 'POST', '/v1/onboardings', body);
