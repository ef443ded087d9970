/** Runs one of the checks' Python helpers with a JSON document on stdin and JSON on stdout. */
import { spawn } from 'node:child_process';
import path from 'node:path';

export const CONFORMANCE_DIR = path.resolve(__dirname, '..');

export function runPython<T>(
  python: string,
  script: string,
  input: unknown,
  env: NodeJS.ProcessEnv = process.env,
  timeoutMs = 120_000,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn(python, [path.join(CONFORMANCE_DIR, script)], { stdio: ['pipe', 'pipe', 'pipe'], env });
    let out = '';
    let err = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code !== 0) return reject(new Error(`${script} exited with ${code}: ${err.slice(-3000)}`));
      try {
        resolve(JSON.parse(out) as T);
      } catch {
        reject(new Error(`${script} wrote no JSON: ${out.slice(0, 500)} ${err.slice(-2000)}`));
      }
    });
    child.stdin.end(JSON.stringify(input));
  });
}
