/**
 * One local stack (emulator + dynalite + the API) in its own process, so that `startStack()`'s changes to
 * process.env stay out of the benchmark driver. Prints one JSON line (URLs and the environment the API runs
 * with), then runs until stdin closes or SIGTERM/SIGINT arrives.
 */
import { startStack } from '../scripts/stack';

async function main(): Promise<void> {
  const before = { ...process.env };
  const stack = await startStack({ port: 0, emulatorPort: 0, dynamodbPort: 0 });
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && before[k] !== v) env[k] = v;
  process.stdout.write(`${JSON.stringify({ apiUrl: stack.apiUrl, emulatorUrl: stack.emulator.url, dynamodbUrl: stack.dynamodbUrl, env })}\n`);
  let closing = false;
  const stop = async () => {
    if (closing) return;
    closing = true;
    await stack.close().catch(() => undefined);
    process.exit(0);
  };
  process.stdin.on('end', () => void stop());
  process.stdin.on('close', () => void stop());
  process.stdin.resume();
  process.on('SIGTERM', () => void stop());
  process.on('SIGINT', () => void stop());
}

main().catch((e: unknown) => {
  process.stderr.write(`stack failed to start: ${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
