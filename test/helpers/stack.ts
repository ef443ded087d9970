import type { AwsCredentialIdentity } from '@smithy/types';
import { AssumeRoleWithWebIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { startStack, type Stack } from '../../scripts/stack';
import { parseTopology, type TopologyInput } from '../../emulator/topology';
import { clientsFor, emulatorAdmin, type Clients } from './emulator';

export interface ApiResponse<T = any> {
  status: number;
  headers: Headers;
  body: T;
}

/**
 * A local stack for tests. Without `streams` the table's change stream is off: no PutEvents calls arrive at the
 * emulator in the background of tests that count calls or inject faults (test/integration/events turns it on).
 */
export async function startTestStack(topology?: TopologyInput, opts: { streams?: boolean } = {}): Promise<Stack> {
  return startStack({ topology: topology ? parseTopology(topology) : undefined, streams: opts.streams ?? false });
}

export function apiClient(stack: Stack) {
  const send = async <T = any>(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<ApiResponse<T>> => {
    const res = await fetch(`${stack.apiUrl}${path}`, {
      method,
      headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      /* not JSON: keep the text */
    }
    return { status: res.status, headers: res.headers, body: parsed as T };
  };
  return {
    send,
    onboard: <T = any>(body: unknown, headers?: Record<string, string>) =>
      send<T>('POST', '/v1/onboardings', body, headers),
  };
}

/** Credentials a pod of `cluster` running as `namespace/serviceAccount` gets through IRSA. */
export async function podCredentials(
  stack: Stack,
  roleArn: string,
  /** `accountId`/`region`: of the cluster, when its name alone does not say which */
  pod: {
    cluster: string;
    namespace: string;
    serviceAccount: string;
    audience?: string;
    accountId?: string;
    region?: string;
  },
): Promise<AwsCredentialIdentity> {
  const token = await emulatorAdmin(stack.emulator).token(pod);
  const sts = new STSClient({
    endpoint: stack.emulator.url,
    region: 'eu-west-1',
    credentials: { accessKeyId: 'unused', secretAccessKey: 'unused' },
    maxAttempts: 1,
  });
  const out = await sts.send(
    new AssumeRoleWithWebIdentityCommand({ RoleArn: roleArn, RoleSessionName: 'pod', WebIdentityToken: token }),
  );
  return {
    accessKeyId: out.Credentials!.AccessKeyId!,
    secretAccessKey: out.Credentials!.SecretAccessKey!,
    sessionToken: out.Credentials!.SessionToken,
  };
}

export const clients = (stack: Stack, credentials: AwsCredentialIdentity): Clients =>
  clientsFor(stack.emulator, credentials);

/** Writes recorded by the emulator since the last clear. */
export async function writes(stack: Stack) {
  return (await emulatorAdmin(stack.emulator).calls()).filter((c) => c.write);
}

export interface TestStack {
  stack: Stack;
  api: ReturnType<typeof apiClient>;
  admin: ReturnType<typeof emulatorAdmin>;
}

/**
 * One local stack for a test file: started before its tests, closed after them, handed to `bind` each time it
 * (re)starts; with `resetEach`, the emulator (and with it the store) is reset and its call log cleared before every test.
 */
export function useTestStack(
  bind: (t: TestStack) => void,
  opts: { resetEach?: boolean; topology?: TopologyInput; streams?: boolean } = {},
) {
  let current: TestStack | undefined;
  const restart = async (topology?: TopologyInput): Promise<void> => {
    if (current) await current.stack.close();
    const stack = await startTestStack(topology, { streams: opts.streams });
    current = { stack, api: apiClient(stack), admin: emulatorAdmin(stack.emulator) };
    bind(current);
  };
  beforeAll(() => restart(opts.topology));
  afterAll(() => current?.stack.close());
  if (opts.resetEach) {
    beforeEach(async () => {
      await current!.admin.reset();
      await current!.admin.clearFaults();
      await current!.admin.clearCalls();
    });
  }
  return { restart };
}
