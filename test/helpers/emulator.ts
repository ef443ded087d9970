import path from 'node:path';
import { readFileSync } from 'node:fs';
import { IAMClient } from '@aws-sdk/client-iam';
import { STSClient } from '@aws-sdk/client-sts';
import { S3Client } from '@aws-sdk/client-s3';
import { EKSClient } from '@aws-sdk/client-eks';
import { KMSClient } from '@aws-sdk/client-kms';
import { S3ControlClient } from '@aws-sdk/client-s3-control';
import { Agent } from 'node:http';
import { lookup as dnsLookup, type LookupOptions } from 'node:dns';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { AwsCredentialIdentity } from '@smithy/types';
import { startEmulator, type Emulator } from '../../emulator/server';
import { loadTopology, parseTopology, type TopologyInput } from '../../emulator/topology';
import type { CallRecord } from '../../emulator/state';

export const DEMO_TOPOLOGY = path.resolve(__dirname, '../../examples/topology.json');
export const PLATFORM = '100000000001';
export const WORKLOADS = '200000000002';
export const BACKUPS = '300000000003';

/** The demo topology as input, for a test file that needs a variant of it. */
export const demoTopology = (): TopologyInput => JSON.parse(readFileSync(DEMO_TOPOLOGY, 'utf8')) as TopologyInput;

/** A disaster-recovery account beside the demo's, with cluster `dr` (eu-central-1) in it. */
export const DR = '400000000004';

/** The demo topology plus the DR account and its cluster `dr` (`dr`: that cluster's own settings), and more clusters. */
export function withDrAccount(
  dr: Record<string, unknown> = {},
  moreClusters: NonNullable<TopologyInput['clusters']> = [],
): TopologyInput {
  const t = demoTopology();
  t.accounts = [...t.accounts, DR];
  t.clusters = [...(t.clusters ?? []), { name: 'dr', accountId: DR, region: 'eu-central-1', ...dr }, ...moreClusters];
  return t;
}

export async function startTestEmulator(topology?: TopologyInput): Promise<Emulator> {
  return startEmulator({ topology: topology ? parseTopology(topology) : loadTopology(DEMO_TOPOLOGY) });
}

export const rootCredentials = (accountId: string): AwsCredentialIdentity => ({
  accessKeyId: `AKIA${accountId}ROOT`,
  secretAccessKey: 'root-secret',
});

export interface Clients {
  iam: IAMClient;
  sts: STSClient;
  s3: S3Client;
  eks: EKSClient;
  kms: KMSClient;
  s3control: S3ControlClient;
}

/**
 * An S3 Control client for the emulator. The SDK's endpoint rules put the account id in front of the host of a
 * custom endpoint (`http://<account>.127.0.0.1:port`, which is no URL); `disableHostPrefix` does not change that
 * (the rules, not a host-prefix trait, add it), so the client is given the emulator's endpoint as its resolved
 * endpoint. The account still travels in `x-amz-account-id`, and the signature's scope says `s3`.
 */
export function s3ControlFor(
  emu: Emulator,
  credentials: AwsCredentialIdentity,
  region = 'eu-west-1',
  maxAttempts = 1,
): S3ControlClient {
  return new S3ControlClient({
    endpoint: emu.url,
    credentials,
    region,
    maxAttempts,
    disableHostPrefix: true,
    endpointProvider: () => ({ url: new URL(emu.url) }),
  });
}

/**
 * An S3 client that may name an access point by ARN. The SDK refuses ARNs with path-style addressing and sends
 * them virtual-hosted (`<name>-<account>.<endpoint host>`), so the endpoint is `localhost` and names under it
 * resolve to loopback (as RFC 6761 reserves them; this machine's resolver does not do it by itself).
 */
export function s3ForAccessPointArns(
  emu: Emulator,
  credentials: AwsCredentialIdentity,
  region = 'eu-west-1',
): S3Client {
  return new S3Client({
    endpoint: `http://localhost:${emu.port}`,
    credentials,
    region,
    maxAttempts: 1,
    requestHandler: localhostNamesHandler(),
  });
}

/** An HTTP handler that resolves every name under `localhost` to loopback. */
export function localhostNamesHandler(): NodeHttpHandler {
  const lookup = (host: string, opts: LookupOptions, cb: (...args: never[]) => void) =>
    dnsLookup(host.endsWith('.localhost') ? 'localhost' : host, opts, cb as never);
  return new NodeHttpHandler({ httpAgent: new Agent({ lookup } as ConstructorParameters<typeof Agent>[0]) });
}

/** Real SDK v3 clients pointed at the emulator, with no retries so that injected faults surface at once. */
export function clientsFor(
  emu: Emulator,
  credentials: AwsCredentialIdentity,
  region = 'eu-west-1',
  maxAttempts = 1,
): Clients {
  const common = { endpoint: emu.url, credentials, region, maxAttempts };
  return {
    iam: new IAMClient({ ...common, region: 'us-east-1' }),
    sts: new STSClient(common),
    s3: new S3Client({ ...common, forcePathStyle: true }),
    eks: new EKSClient(common),
    kms: new KMSClient(common),
    s3control: s3ControlFor(emu, credentials, region, maxAttempts),
  };
}

async function admin<T>(emu: Emulator, method: string, route: string, body?: unknown): Promise<T> {
  const res = await fetch(`${emu.url}/_emulator/${route}`, {
    method,
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (res.status >= 400) throw new Error(`${method} /_emulator/${route}: ${res.status} ${await res.text()}`);
  return (res.status === 204 ? undefined : await res.json()) as T;
}

export const emulatorAdmin = (emu: Emulator) => ({
  calls: () => admin<CallRecord[]>(emu, 'GET', 'calls'),
  clearCalls: () => admin<void>(emu, 'DELETE', 'calls'),
  fault: (f: Record<string, unknown>) => admin<unknown>(emu, 'POST', 'faults', f),
  clearFaults: () => admin<void>(emu, 'DELETE', 'faults'),
  latency: (perCallMs: number) => admin<unknown>(emu, 'POST', 'latency', { perCallMs }),
  propagation: (delayMs: number) => admin<unknown>(emu, 'POST', 'propagation', { delayMs }),
  token: (b: {
    cluster: string;
    namespace: string;
    serviceAccount: string;
    audience?: string;
    accountId?: string;
    region?: string;
    podName?: string;
    podUid?: string;
    expiresInSeconds?: number;
  }) => admin<{ token: string }>(emu, 'POST', 'tokens', b).then((r) => r.token),
  reset: () => admin<unknown>(emu, 'POST', 'reset'),
  roleCredentials: async (roleArn: string): Promise<AwsCredentialIdentity> => {
    const c = await admin<{ accessKeyId: string; secretAccessKey: string; sessionToken: string }>(
      emu,
      'POST',
      'credentials',
      { roleArn },
    );
    return { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey, sessionToken: c.sessionToken };
  },
});

/** SDK credentials from an STS `Credentials` answer. */
export const credentialsOf = (
  c: { AccessKeyId?: string; SecretAccessKey?: string; SessionToken?: string } | undefined,
): AwsCredentialIdentity => ({
  accessKeyId: c!.AccessKeyId!,
  secretAccessKey: c!.SecretAccessKey!,
  sessionToken: c!.SessionToken,
});

/** Captures the rejection of a promise so a test can assert its class, name and message; fails if it resolves. */
export async function failure(p: Promise<unknown>): Promise<Error & { $metadata?: { httpStatusCode?: number } }> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected the call to fail, but it succeeded');
}

/**
 * One emulator for a test file (the demo topology unless one is given): started before its tests, closed after
 * them, reset before each test (before the file's own beforeEach hooks, which run after this one).
 */
export function useTestEmulator(
  bind: (emu: Emulator, admin: ReturnType<typeof emulatorAdmin>) => void,
  topology?: TopologyInput,
): void {
  let emu: Emulator | undefined;
  let admin: ReturnType<typeof emulatorAdmin>;
  beforeAll(async () => {
    emu = await startTestEmulator(topology);
    admin = emulatorAdmin(emu);
    bind(emu, admin);
  });
  afterAll(() => emu?.close());
  beforeEach(() => admin.reset());
}
