import type { DynamoDBStreamEvent } from 'aws-lambda';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { Context } from 'aws-lambda';
import { useTestStack, type TestStack } from '../../helpers/stack';
import { BACKUPS, WORKLOADS } from '../../helpers/emulator';

/**
 * Metrics are on in this file only (test/setup-env.js turns them off so that a passing run prints nothing): the
 * service's functions write CloudWatch embedded-metric-format lines to stdout, captured here.
 */
process.env.POWERTOOLS_METRICS_DISABLED = 'false';

let t: TestStack;
useTestStack((s) => (t = s), { resetEach: true });

interface Emf {
  _aws: {
    CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string; Unit: string }[] }[];
  };
  [k: string]: unknown;
}

/** Runs `fn`, capturing the EMF lines written to stdout meanwhile (and only those: nothing reaches the terminal). */
async function emfOf(fn: () => Promise<unknown>): Promise<Emf[]> {
  const lines: string[] = [];
  const write = process.stdout.write.bind(process.stdout);
  const spy = jest.spyOn(process.stdout, 'write').mockImplementation(((chunk: string | Uint8Array) => {
    const text = chunk.toString();
    if (text.includes('"_aws"')) lines.push(...text.split('\n').filter(Boolean));
    else write(chunk);
    return true;
  }) as typeof process.stdout.write);
  try {
    await fn();
  } finally {
    spy.mockRestore();
  }
  return lines.map((l) => JSON.parse(l) as Emf);
}

const metricNames = (emf: Emf[]) =>
  emf.flatMap((e) => e._aws.CloudWatchMetrics.flatMap((m) => m.Metrics.map((x) => x.Name)));
const context = {
  awsRequestId: 'metrics',
  functionName: 'x',
  getRemainingTimeInMillis: () => 60_000,
} as unknown as Context;
const request = {
  workload: {
    type: 'eks',
    clusters: [{ name: 'demo', accountId: WORKLOADS, region: 'eu-west-1' }],
    namespace: 'mongodb',
    serviceAccounts: ['pbm-agent'],
  },
  bucket: { name: 'demo-backups', accountId: BACKUPS, region: 'eu-west-1', prefix: 'metrics/' },
  tool: 'pbm',
};

describe('metrics (embedded metric format)', () => {
  it('a POST counts its AWS calls and their latency; a refused one is counted by reason', async () => {
    const emf = await emfOf(async () => {
      expect((await t.api.onboard(request)).status).toBe(201);
      expect((await t.api.onboard({ ...request, tool: 'rsync' })).status).toBe(400);
    });
    expect(emf[0]._aws.CloudWatchMetrics[0].Namespace).toBe('s3-onboarding');
    expect(metricNames(emf)).toEqual(expect.arrayContaining(['AwsCalls', 'AwsCallLatency', 'OnboardingsRefused']));
    const calls = emf.find((e) => 'AwsCalls' in e)!;
    expect(calls.AwsCalls).toBeGreaterThan(5);
    expect(calls.service).toBe('s3-onboarding');
    const refused = emf.find((e) => 'OnboardingsRefused' in e)!;
    expect(refused).toMatchObject({ OnboardingsRefused: 1, reason: 'validation' });
    expect(refused._aws.CloudWatchMetrics[0].Dimensions[0]).toEqual(expect.arrayContaining(['service', 'reason']));
  });

  it('the stream function counts the events it published; the sweep its checks, drift and duration', async () => {
    let created!: { body: { id: string } };
    await emfOf(async () => {
      created = await t.api.onboard(request);
    });
    // streams are off in this file: the stream function is invoked here with a record as DynamoDB Streams sends it
    expect(t.stack.streams).toBeUndefined();
    const item = (version: number, doc: object) =>
      marshall({ pk: `ONB#${created.body.id}`, sk: 'RECORD', version, doc: JSON.stringify(doc) });
    let got!: Record<string, string>;
    await emfOf(async () => {
      got = (await t.api.send('GET', `/v1/onboardings/${created.body.id}`)).body;
    });
    const stored = {
      schema: 2,
      id: created.body.id,
      version: 2,
      status: 'provisioned',
      request,
      identityKey: 'k',
      roleArn: got.roleArn,
      live: {},
      result: { changes: got.changes },
      createdAt: got.createdAt,
      updatedAt: got.updatedAt,
      requestedBy: got.requestedBy,
    };
    const event = {
      Records: [
        {
          eventName: 'MODIFY',
          dynamodb: {
            SequenceNumber: '1',
            OldImage: item(1, { ...stored, version: 1, status: 'provisioning', result: undefined }),
            NewImage: item(2, stored),
          },
        },
        // an image that cannot be read is skipped (retrying it would block the stream), never a failure
        {
          eventName: 'MODIFY',
          dynamodb: { SequenceNumber: '2', NewImage: marshall({ pk: 'ONB#ob-000000000000', sk: 'RECORD', doc: '{' }) },
        },
      ],
    } as unknown as DynamoDBStreamEvent;
    const { handler: stream } = await import('../../../handlers/stream');
    let answer: unknown;
    const streamEmf = await emfOf(async () => {
      answer = await stream(event);
    });
    expect(answer).toEqual({ batchItemFailures: [] });
    expect(streamEmf.find((e) => 'OnboardingsProvisioned' in e)).toMatchObject({ OnboardingsProvisioned: 1 });

    const { handler: sweepHandler } = await import('../../../handlers/sweep');
    let summary: unknown;
    const sweepEmf = await emfOf(async () => {
      summary = await sweepHandler({}, context);
    });
    expect(summary).toMatchObject({ checked: 1, drifted: 0, complete: true });
    expect(metricNames(sweepEmf)).toEqual(
      expect.arrayContaining(['SweepChecked', 'SweepDrifted', 'SweepDurationMs', 'AwsCalls']),
    );
  });
});
