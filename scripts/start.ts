/* npm start: the local stack on 127.0.0.1 (contract section 1). */
import { startEndpointStack, startStack } from './stack';

async function main(): Promise<void> {
  process.env.POWERTOOLS_LOG_LEVEL ??= 'INFO';
  const common = {
    port: Number(process.env.PORT ?? 3000),
    dynamodbPort: process.env.DYNAMODB_PORT ? Number(process.env.DYNAMODB_PORT) : undefined,
  };
  const out = process.stdout;
  // AWS_ENDPOINT: an already running, empty AWS-compatible endpoint (moto_server) instead of the embedded emulator
  const awsEndpoint = process.env.AWS_ENDPOINT;
  const stack = awsEndpoint
    ? await startEndpointStack({ ...common, awsEndpoint })
    : await startStack({
        ...common,
        emulatorPort: Number(process.env.EMULATOR_PORT ?? 4566),
        imdsPort: Number(process.env.EMULATOR_IMDS_PORT ?? 4567),
      });
  const aws =
    'emulator' in stack
      ? `emulator ${stack.emulator.url}  instance metadata ${stack.emulator.imdsUrl}`
      : `aws ${stack.awsEndpoint} (seeded)`;
  out.write(`s3-onboarding ready: API ${stack.apiUrl}  ${aws}  dynamodb ${stack.dynamodbUrl}\n`);
  // the endpoint assigns its own key ids: requests naming a topology key must use these
  if (!('emulator' in stack))
    for (const [given, assigned] of stack.keyArns) out.write(`key ${given} is ${assigned} there\n`);
  out.write(`try:  curl -s ${stack.apiUrl}/v1/health\n`);
  out.write(
    `      curl -s -X POST ${stack.apiUrl}/v1/onboardings -H 'content-type: application/json' -d @examples/requests/pbm-same-account.json\n`,
  );
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    out.write(`${signal}: stopping\n`);
    void stack.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
}

main().catch((e: Error) => {
  process.stderr.write(`s3-onboarding failed to start: ${e.message}\n`);
  process.exit(1);
});
