/**
 * The emulator on a thread of its own (a worker of stack-child.ts): AWS does not run on the Lambda's CPU, so the
 * emulator's own work (parsing requests, evaluating policies, rendering XML) must not queue behind the service's
 * on one event loop. Messages: `ready` (its URLs) to the parent; `reset` to the parent, answered with `reset-done`
 * (with `error` when the store's reset failed: the emulator's reset fails too), so an emulator reset empties the
 * API's store as it does in the one-thread stack (scripts/stack.ts).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { startEmulator } from '../emulator/server';
import { loadTopology } from '../emulator/topology';

const port = parentPort!;
const waiting = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();
let seq = 0;

async function main(): Promise<void> {
  const topology = loadTopology((workerData as { topologyPath: string }).topologyPath);
  const emulator = await startEmulator({
    topology,
    port: 0,
    imdsPort: 0,
    onReset: () =>
      new Promise<void>((resolve, reject) => {
        const id = ++seq;
        waiting.set(id, { resolve, reject });
        port.postMessage({ type: 'reset', id });
      }),
  });
  port.on('message', (m: { type: string; id?: number; error?: string }) => {
    if (m.type !== 'reset-done') return;
    const w = waiting.get(m.id!);
    waiting.delete(m.id!);
    if (m.error) w?.reject(new Error(`the store's reset failed: ${m.error}`));
    else w?.resolve();
  });
  port.postMessage({ type: 'ready', url: emulator.url, imdsUrl: emulator.imdsUrl });
}

main().catch((e: unknown) => {
  port.postMessage({ type: 'failed', error: (e as Error).stack ?? String(e) });
});
