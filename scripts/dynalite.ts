import type { AddressInfo } from 'node:net';

// dynalite has no types of its own
const dynalite = require('dynalite') as (o: {
  createTableMs: number;
  deleteTableMs: number;
  updateTableMs: number;
}) => import('node:http').Server;

/** dynalite (DynamoDB in memory) on 127.0.0.1:`port` (0: any free port); tables are created and deleted at once. */
export async function startDynalite(port: number): Promise<{ url: string; close(): Promise<void> }> {
  const ddb = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    ddb.once('error', reject);
    ddb.listen(port, '127.0.0.1', () => resolve());
  });
  return {
    url: `http://127.0.0.1:${(ddb.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => ddb.close(() => resolve())),
  };
}
