/**
 * One local stack in its own process, so that the API's changes to process.env stay out of the benchmark
 * driver: the emulator and dynalite each on a worker thread (bench/emulator-thread.ts, bench/dynamodb-thread.ts),
 * the local API on the main thread, as scripts/stack.ts wires it. Prints one JSON line (URLs and the environment the API runs with),
 * then runs until stdin closes or SIGTERM/SIGINT arrives.
 */
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { loadTopology } from '../emulator/topology';
import { REPO_ROOT, startApiOnEmulator } from '../scripts/stack';

async function main(): Promise<void> {
  const before = { ...process.env };
  const topologyPath = process.env.TOPOLOGY ?? path.join(REPO_ROOT, 'examples/topology.json');
  const emulator = startWorker(path.join(__dirname, 'emulator-thread.ts'), { topologyPath });
  const dynamodb = startWorker(path.join(__dirname, 'dynamodb-thread.ts'), {});
  // an emulator reset empties the API's store too; a failed one fails the reset
  let resetStore = async (): Promise<void> => undefined;
  emulator.worker.on('message', (m: { type: string; id?: number }) => {
    if (m.type !== 'reset') return;
    resetStore().then(
      () => emulator.worker.postMessage({ type: 'reset-done', id: m.id }),
      (e: unknown) =>
        emulator.worker.postMessage({ type: 'reset-done', id: m.id, error: (e as Error).message ?? String(e) }),
    );
  });
  const [emulatorUrl, dynamodbUrl] = await Promise.all([emulator.ready, dynamodb.ready]);
  const api = await startApiOnEmulator(emulatorUrl, loadTopology(topologyPath), { port: 0, dynamodbUrl });
  resetStore = api.resetStore;
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && before[k] !== v) env[k] = v;
  process.stdout.write(`${JSON.stringify({ apiUrl: api.apiUrl, emulatorUrl, dynamodbUrl: api.dynamodbUrl, env })}\n`);
  let closing = false;
  const stop = async () => {
    if (closing) return;
    closing = true;
    await api.close().catch(() => undefined);
    await Promise.all([emulator.worker.terminate(), dynamodb.worker.terminate()]).catch(() => undefined);
    process.exit(0);
  };
  process.stdin.on('end', () => void stop());
  process.stdin.on('close', () => void stop());
  process.stdin.resume();
  process.on('SIGTERM', () => void stop());
  process.on('SIGINT', () => void stop());
}

/** A TypeScript file on a worker thread (a worker does not inherit tsx's loader: it registers it first); `ready`: the URL it posts. */
function startWorker(entry: string, workerData: unknown): { worker: Worker; ready: Promise<string> } {
  const worker = new Worker(`require('tsx/cjs'); require(${JSON.stringify(entry)});`, { eval: true, workerData });
  const ready = new Promise<string>((resolve, reject) => {
    worker.on('message', (m: { type: string; url?: string; error?: string }) => {
      if (m.type === 'ready') resolve(m.url!);
      else if (m.type === 'failed') reject(new Error(m.error));
    });
    worker.once('error', reject);
    worker.once('exit', (code) =>
      reject(new Error(`the thread of ${path.basename(entry)} exited (${code}) before it was ready`)),
    );
  });
  return { worker, ready };
}

main().catch((e: unknown) => {
  process.stderr.write(`stack failed to start: ${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
