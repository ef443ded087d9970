/**
 * DynamoDB (dynalite) on a thread of its own (a worker of stack-child.ts): like AWS, DynamoDB does not run on the
 * Lambda's CPU, so validating, evaluating and storing the store's requests must not queue behind the service's
 * work on its event loop. The service's side of each call (the SDK building, signing and parsing it) stays on
 * the API's thread. Messages: `ready` (its URL) or `failed` to the parent.
 */
import { parentPort } from 'node:worker_threads';
import { startDynalite } from '../scripts/dynalite';

startDynalite(0).then(
  ({ url }) => parentPort!.postMessage({ type: 'ready', url }),
  (e: unknown) => parentPort!.postMessage({ type: 'failed', error: (e as Error).stack ?? String(e) }),
);
