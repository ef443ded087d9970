/* Runs the emulator alone: `npm run emulator` (TOPOLOGY, EMULATOR_PORT, EMULATOR_IMDS_PORT). */
import path from 'node:path';
import { startEmulator } from './server';
import { loadTopology } from './topology';

async function main(): Promise<void> {
  const topology = loadTopology(process.env.TOPOLOGY ?? path.resolve(__dirname, '../examples/topology.json'));
  const emu = await startEmulator({
    topology,
    port: Number(process.env.EMULATOR_PORT ?? 4566),
    imdsPort: Number(process.env.EMULATOR_IMDS_PORT ?? 4567),
  });
  process.stdout.write(`emulator ready at ${emu.url} (instance metadata at ${emu.imdsUrl})\n`);
  const stop = () => void emu.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
void main();
