import path from 'node:path';
import { startEmulator, type Emulator } from '../emulator/server';
import { loadTopology, type Topology } from '../emulator/topology';
import { DEFAULT_EXTERNAL_ID } from '../emulator/seed';
import { roleCredentialsAt, seedEndpoint } from './aws-endpoint';
import { startDynalite } from './dynalite';
import { startLocalApi, type LocalApi } from './local-api';
import { startStreamFeeder, streamFunctionFromServerless, type StreamFeeder } from './dynamodb-streams';
import { baseRuntime, resetRuntime, setLocalGuardrails } from '../lib/runtime';
import { allowAllFromTopology } from '../lib/guardrails/load';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { CreateTableCommand, DeleteTableCommand, DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';

export const REPO_ROOT = path.resolve(__dirname, '..');
export const DEMO_CALLER = 'arn:aws:iam::100000000001:role/platform-admin';

export const LOCAL_TABLE = 's3-onboarding-local';

type TableDefinition = {
  AttributeDefinitions: never;
  KeySchema: never;
  GlobalSecondaryIndexes?: never;
  BillingMode: 'PAY_PER_REQUEST';
};
let definition: TableDefinition | undefined;

/** The service table's keys, index and billing, as serverless.yml defines them (read once). */
export function tableDefinition(): TableDefinition {
  if (!definition) {
    const sls = parse(readFileSync(path.join(REPO_ROOT, 'serverless.yml'), 'utf8')) as {
      resources: { Resources: { OnboardingsTable: { Properties: Record<string, unknown> } } };
    };
    const p = sls.resources.Resources.OnboardingsTable.Properties as TableDefinition;
    definition = {
      AttributeDefinitions: p.AttributeDefinitions,
      KeySchema: p.KeySchema,
      GlobalSecondaryIndexes: p.GlobalSecondaryIndexes,
      BillingMode: p.BillingMode,
    };
  }
  return definition;
}

/** Creates the table exactly as serverless.yml defines it, in the local DynamoDB (`replace`: empties it). */
async function createTable(endpoint: string, name: string, replace = false): Promise<void> {
  const ddb = new DynamoDBClient({
    endpoint,
    region: 'eu-west-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  try {
    if (replace) {
      await ddb.send(new DeleteTableCommand({ TableName: name }));
      // DynamoDB (and dynalite) delete a table asynchronously: wait until it is gone before creating it again (the
      // SDK's waiter polls once a second at best; dynalite is done within milliseconds)
      const gone = () =>
        ddb.send(new DescribeTableCommand({ TableName: name })).then(
          () => false,
          (e: Error) => e.name === 'ResourceNotFoundException',
        );
      let i = 0;
      while (!(await gone())) {
        if (++i > 400) throw new Error(`table ${name} was not deleted within 2 s`);
        await new Promise((r) => setTimeout(r, 5));
      }
    }
    await ddb.send(new CreateTableCommand({ TableName: name, ...tableDefinition() }));
  } finally {
    ddb.destroy();
  }
}

export interface Stack {
  apiUrl: string;
  emulator: Emulator;
  dynamodbUrl: string;
  /** the table's change stream feeding the stream function (undefined: started with `streams: false`) */
  streams?: StreamFeeder;
  topology: Topology;
  /** empties the local DynamoDB (records, identities, locks): with an emulator reset, back to a fresh stack */
  resetStore(): Promise<void>;
  close(): Promise<void>;
}

export interface StackOptions {
  topology?: Topology;
  port?: number;
  emulatorPort?: number;
  /** the emulator's instance-metadata stand-in (EC2) */
  imdsPort?: number;
  dynamodbPort?: number;
  /** a DynamoDB already running elsewhere (the benchmark runs dynalite on a thread of its own): none is started */
  dynamodbUrl?: string;
  caller?: string;
  /**
   * DynamoDB Streams for the table, feeding the stream function of serverless.yml (events on the emulator's
   * EventBridge); default true. Tests that count AWS calls run without them (test/helpers/stack.ts).
   */
  streams?: boolean;
}

/**
 * The whole local stack in one process: the AWS emulator, an in-memory DynamoDB, and the API driving the
 * handlers of serverless.yml, configured exactly as in AWS but pointed at the emulator, running as the API's role.
 */
export async function startStack(opts: StackOptions = {}): Promise<Stack> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const topology =
    opts.topology ?? loadTopology(process.env.TOPOLOGY ?? path.join(REPO_ROOT, 'examples/topology.json'));
  // an emulator reset empties the store too: records must not outlive the AWS state they describe
  let resetStore = async (): Promise<void> => undefined;
  let clearStreams = async (): Promise<void> => undefined;
  const emulator = await startEmulator({
    topology,
    port: opts.emulatorPort ?? 0,
    imdsPort: opts.imdsPort ?? 0,
    onReset: () => resetStore(),
    beforeReset: () => clearStreams(),
  });
  try {
    const api = await startApiOnEmulator(emulator.url, topology, opts);
    resetStore = api.resetStore;
    clearStreams = async () => api.streams?.clear();
    return {
      ...api,
      emulator,
      close: async () => {
        await api.close();
        await emulator.close();
      },
    };
  } catch (e) {
    await emulator.close();
    throw e;
  }
}

/**
 * A local DynamoDB and the API against an emulator that runs elsewhere (another thread or process), as the
 * emulator's `s3-onboarding-api` role. Whoever resets that emulator calls `resetStore` too.
 */
export async function startApiOnEmulator(emulatorUrl: string, topology: Topology, opts: StackOptions = {}) {
  // the API runs as its own role, as Lambda would give it credentials
  const res = await fetch(`${emulatorUrl}/_emulator/credentials`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      roleArn: `arn:aws:iam::${topology.platformAccountId}:role/s3-onboarding-api`,
      sessionName: 's3-onboarding-local',
    }),
  });
  const creds = (await res.json()) as { accessKeyId: string; secretAccessKey: string; sessionToken: string };
  return startApiAgainst(emulatorUrl, creds, topology, opts);
}

export interface EndpointStack {
  apiUrl: string;
  /** the AWS-compatible endpoint the API calls */
  awsEndpoint: string;
  dynamodbUrl: string;
  /** the topology as the endpoint holds it (key ARNs and cluster issuers as the endpoint assigned them) */
  topology: Topology;
  /** topology key ARN → the key ARN the endpoint assigned */
  keyArns: Map<string, string>;
  close(): Promise<void>;
}

/**
 * The local stack without the embedded emulator: the API (and a local DynamoDB) against an already running,
 * empty AWS-compatible endpoint such as moto_server, seeded here with the topology through ordinary AWS calls.
 * The API runs with credentials of its role obtained there by AssumeRole.
 */
export async function startEndpointStack(opts: StackOptions & { awsEndpoint: string }): Promise<EndpointStack> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const given = opts.topology ?? loadTopology(process.env.TOPOLOGY ?? path.join(REPO_ROOT, 'examples/topology.json'));
  const { topology, keyArns } = await seedEndpoint(opts.awsEndpoint, given, REPO_ROOT);
  const creds = await roleCredentialsAt(
    opts.awsEndpoint,
    `arn:aws:iam::${topology.platformAccountId}:role/s3-onboarding-api`,
    's3-onboarding-local',
  );
  // moto 5.2.1 has no S3 ABAC (it answers GetBucketAbac as a bucket listing): the service takes ABAC as on there
  const api = await startApiAgainst(opts.awsEndpoint, creds, topology, { ...opts, s3AbacCheck: false });
  return { ...api, awsEndpoint: opts.awsEndpoint, topology, keyArns };
}

/** A local DynamoDB and the API, calling AWS at `awsUrl` with `creds` (the API role's). */
async function startApiAgainst(
  awsUrl: string,
  creds: { accessKeyId: string; secretAccessKey: string; sessionToken?: string },
  topology: Topology,
  opts: StackOptions & { s3AbacCheck?: boolean },
): Promise<{
  apiUrl: string;
  dynamodbUrl: string;
  topology: Topology;
  streams?: StreamFeeder;
  resetStore(): Promise<void>;
  close(): Promise<void>;
}> {
  const { url: localDynamodbUrl, close: closeDdb } = opts.dynamodbUrl
    ? { url: opts.dynamodbUrl, close: async () => undefined }
    : await startDynalite(opts.dynamodbPort ?? 0);
  let api: LocalApi;
  let streams: StreamFeeder | undefined;
  // every writer goes through the stream's proxy, so each write of the table is a stream record
  let dynamodbUrl = localDynamodbUrl;
  try {
    await createTable(localDynamodbUrl, LOCAL_TABLE);
    const streamFn = opts.streams === false ? undefined : streamFunctionFromServerless(REPO_ROOT);
    if (streamFn) {
      const keyNames = (tableDefinition().KeySchema as unknown as { AttributeName: string }[]).map(
        (k) => k.AttributeName,
      );
      streams = await startStreamFeeder({
        target: localDynamodbUrl,
        table: LOCAL_TABLE,
        keyNames,
        repoRoot: REPO_ROOT,
        fn: streamFn,
        region: topology.clusters[0]?.region ?? 'eu-west-1',
      });
      dynamodbUrl = streams.url;
    }
    const externalIds: Record<string, string> = { '*': DEFAULT_EXTERNAL_ID };
    for (const [account, s] of Object.entries(topology.accountSettings))
      if (s.externalId) externalIds[account] = s.externalId;
    Object.assign(process.env, {
      AWS_ENDPOINT_URL: awsUrl,
      AWS_ENDPOINT_URL_DYNAMODB: dynamodbUrl,
      AWS_REGION: topology.clusters[0]?.region ?? 'eu-west-1',
      AWS_ACCESS_KEY_ID: creds.accessKeyId,
      AWS_SECRET_ACCESS_KEY: creds.secretAccessKey,
      AWS_SESSION_TOKEN: creds.sessionToken ?? '',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      S3_FORCE_PATH_STYLE: 'true',
      S3_ABAC_CHECK: opts.s3AbacCheck === false ? 'off' : '',
      TABLE_NAME: LOCAL_TABLE,
      TARGET_ACCOUNTS: topology.accounts.join(','),
      PROVISIONER_EXTERNAL_IDS: JSON.stringify(externalIds),
      POWERTOOLS_LOG_LEVEL: process.env.POWERTOOLS_LOG_LEVEL ?? 'WARN',
    });
    delete process.env.AWS_PROFILE;
    // without a GUARDRAILS file the local stack allows everything in the topology (contract section 1)
    setLocalGuardrails(process.env.GUARDRAILS ? undefined : allowAllFromTopology(topology));
    resetRuntime();
    // a GUARDRAILS file is read and validated now, as a function's cold start would: an invalid one stops the
    // stack before it says ready (naming the file and each invalid field) instead of answering 500 to every request
    if (process.env.GUARDRAILS) baseRuntime();
    api = await startLocalApi({
      port: opts.port ?? 0,
      repoRoot: REPO_ROOT,
      caller: opts.caller ?? process.env.LOCAL_CALLER ?? DEMO_CALLER,
    });
  } catch (e) {
    await streams?.close();
    await closeDdb();
    throw e;
  }
  return {
    apiUrl: api.url,
    dynamodbUrl,
    topology,
    streams,
    resetStore: async () => {
      await streams?.clear();
      await createTable(localDynamodbUrl, LOCAL_TABLE, true);
    },
    close: async () => {
      await api.close();
      await streams?.close();
      await closeDdb();
    },
  };
}
