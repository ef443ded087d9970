import path from 'node:path';
import { readFileSync } from 'node:fs';
import type { Context } from 'aws-lambda';
import { StateMachine } from 'aws-local-stepfunctions';
import { DeleteRolePolicyCommand } from '@aws-sdk/client-iam';
import type { Stack } from '../../../scripts/stack';
import { BACKUPS, WORKLOADS, emulatorAdmin, rootCredentials } from '../../helpers/emulator';
import { clients, startTestStack } from '../../helpers/stack';
import { grantPolicyName } from '../../../lib/onboarding/model/onboarding';

// each test drives whole onboardings (and sweeps) over the local stack: on a loaded 2-core machine they take seconds
jest.setTimeout(60_000);

/**
 * examples/stepfunctions/onboarding.asl.json executed by a local Amazon States Language interpreter: its Lambda
 * tasks invoke handlers/task.ts against the local stack (answering as the `lambda:invoke` integration does), its SNS
 * tasks go to a recorder. Only the retry pauses are shortened (the interpreter's retryIntervalOverrides): the
 * retriers' ErrorEquals and MaxAttempts are the shipped ones.
 */
// aws-local-stepfunctions 3 declares Node >= 22 and uses Promise.withResolvers (Node 22) once, for a Task's timeout;
// this machine runs Node 20 (the deployed runtime is nodejs22.x): the same few lines, for this test only
if (!('withResolvers' in Promise)) {
  Object.defineProperty(Promise, 'withResolvers', {
    configurable: true,
    value: <T>() => {
      let resolve!: (v: T) => void;
      let reject!: (e: unknown) => void;
      const promise = new Promise<T>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      return { promise, resolve, reject };
    },
  });
}

const definition = JSON.parse(
  readFileSync(path.resolve(__dirname, '../../../examples/stepfunctions/onboarding.asl.json'), 'utf8'),
);

let stack: Stack;
let handler: (event: unknown, context: Context) => Promise<unknown>;
beforeAll(async () => {
  stack = await startTestStack();
  handler = (await import('../../../handlers/task')).handler as never;
});
afterAll(() => stack.close());
beforeEach(async () => {
  await emulatorAdmin(stack.emulator).reset();
  await emulatorAdmin(stack.emulator).clearFaults();
});

const context = {
  awsRequestId: 'sfn-run',
  functionName: 'task',
  getRemainingTimeInMillis: () => 28_000,
} as unknown as Context;
const TOPIC = 'arn:aws:sns:eu-west-1:100000000001:onboarding-notices';
const request = (prefix: string) => ({
  workload: {
    type: 'eks',
    clusters: [{ name: 'demo', accountId: WORKLOADS, region: 'eu-west-1' }],
    namespace: 'mongodb',
    serviceAccounts: ['pbm-agent'],
  },
  bucket: { name: 'demo-backups', accountId: BACKUPS, region: 'eu-west-1', prefix },
  tool: 'pbm',
});

interface Run {
  status: 'succeeded' | 'failed';
  error?: string;
  notices: { TopicArn: string; Subject: string; Message: string }[];
  invocations: { state: string; action: string; error?: string }[];
  /** what the Onboard task answered last */
  onboarded?: { id: string; roleArn: string };
  retries: Record<string, number>;
}

/**
 * Runs the machine. `beforeTask(state)` runs before each Lambda task (to inject a fault or drift). A Lambda error
 * surfaces as the `lambda:invoke` integration surfaces it: Error = the function's errorType (the thrown error's
 * name), Cause = the JSON of { errorType, errorMessage, trace }.
 */
async function execute(
  input: object,
  beforeTask: (state: string, run: Run) => Promise<void> = async () => undefined,
): Promise<Run> {
  const run: Run = { status: 'succeeded', notices: [], invocations: [], retries: {} };
  const lambda = (state: string) => async (params: { FunctionName: string; Payload: { action: string } }) => {
    expect(params.FunctionName).toBe('${TaskFunctionArn}');
    await beforeTask(state, run);
    try {
      const payload = await handler(params.Payload, context);
      run.invocations.push({ state, action: params.Payload.action });
      if (state === 'Onboard') run.onboarded = payload as Run['onboarded'];
      return {
        ExecutedVersion: '$LATEST',
        Payload: payload,
        StatusCode: 200,
        SdkHttpMetadata: { HttpStatusCode: 200 },
      };
    } catch (e) {
      const err = e as Error;
      run.invocations.push({ state, action: params.Payload.action, error: err.name });
      const failure = new Error(JSON.stringify({ errorType: err.name, errorMessage: err.message, trace: [] }));
      failure.name = err.name;
      throw failure;
    }
  };
  const sns = async (params: { TopicArn: string; Subject: string; Message: string }) => {
    run.notices.push(params);
    return { MessageId: `m-${run.notices.length}`, SdkHttpMetadata: { HttpStatusCode: 200 } };
  };
  const machine = new StateMachine(definition);
  const execution = machine.run(input as never, {
    overrides: {
      taskResourceLocalHandlers: {
        Onboard: lambda('Onboard'),
        Verify: lambda('Verify'),
        NotifyDone: sns,
        NotifyRejected: sns,
        NotifyFailed: sns,
      } as never,
      retryIntervalOverrides: { Onboard: 10, Verify: 10 },
    },
  });
  const events = (async () => {
    for await (const ev of execution.eventLogs) {
      if (ev.type === 'StateRetried') run.retries[ev.state.name] = (run.retries[ev.state.name] ?? 0) + 1;
      if (ev.type === 'ExecutionFailed') run.error = ev.Error;
    }
  })();
  try {
    await execution.result;
  } catch {
    run.status = 'failed';
  }
  await events;
  return run;
}

describe('examples/stepfunctions/onboarding.asl.json, executed', () => {
  it('happy path: onboards, verifies and notifies that access is ready', async () => {
    const run = await execute({ request: request('sfn/happy/'), idempotencyKey: 'exec-happy', topicArn: TOPIC });
    expect(run.status).toBe('succeeded');
    expect(run.invocations.map((i) => `${i.state}:${i.action}:${i.error ?? 'ok'}`)).toEqual([
      'Onboard:onboard:ok',
      'Verify:verify:ok',
    ]);
    expect(run.notices).toHaveLength(1);
    expect(run.notices[0]).toMatchObject({ TopicArn: TOPIC, Subject: 'S3 access ready' });
    expect(run.notices[0].Message).toMatch(
      /^Onboarding ob-[0-9a-f]+ is ready: role arn:aws:iam::200000000002:role\/s3-onboarding\/s3ob-/,
    );
  });

  it('retries a TransientError (AWS throttling past the SDK retries) until the onboarding converges', async () => {
    // the first invocation's writes are throttled past the SDK's own retries: a partial apply, a TransientError
    await emulatorAdmin(stack.emulator).fault({
      service: 'iam',
      operation: 'PutRolePolicy',
      errorCode: 'Throttling',
      httpStatus: 400,
      count: 4,
    });
    const run = await execute({
      request: request('sfn/transient/'),
      idempotencyKey: 'exec-transient',
      topicArn: TOPIC,
    });
    const onboards = run.invocations.filter((i) => i.state === 'Onboard');
    expect(onboards[0].error).toBe('TransientError');
    expect(onboards.at(-1)!.error).toBeUndefined();
    expect(run.retries.Onboard).toBe(onboards.length - 1);
    expect(run.status).toBe('succeeded');
    expect(run.notices.map((n) => n.Subject)).toEqual(['S3 access ready']);
  });

  it('catches a ValidationError into the rejection notice, without retrying it', async () => {
    const run = await execute({
      request: { ...request('sfn/invalid/'), tool: 'rsync' },
      idempotencyKey: 'exec-invalid',
      topicArn: TOPIC,
    });
    expect(run.invocations).toEqual([{ state: 'Onboard', action: 'onboard', error: 'ValidationError' }]);
    expect(run.status).toBe('succeeded');
    expect(run.notices).toHaveLength(1);
    expect(run.notices[0].Subject).toBe('S3 access request rejected');
    expect(run.notices[0].Message).toMatch(
      /^The request was rejected \(ValidationError\): \{"errorType":"ValidationError","errorMessage":"The request body is invalid: 1 error\. tool: /,
    );
  });

  it('a conflict the caller must resolve (an identity bound to another role) is a rejection, not retried', async () => {
    await execute({ request: request('sfn/first/'), idempotencyKey: 'exec-first', topicArn: TOPIC });
    // the same service account, now with a restore cluster: it would need a second role (contract: a 409)
    const r = request('sfn/second/');
    const second = {
      ...r,
      workload: {
        ...r.workload,
        clusters: [...r.workload.clusters, { name: 'restore', accountId: WORKLOADS, region: 'eu-west-1' }],
      },
    };
    const run = await execute({ request: second, idempotencyKey: 'exec-second', topicArn: TOPIC });
    expect(run.invocations).toEqual([{ state: 'Onboard', action: 'onboard', error: 'ConflictError' }]);
    expect(run.retries.Onboard).toBeUndefined();
    expect(run.notices.map((n) => n.Subject)).toEqual(['S3 access request rejected']);
  });

  it('a verify that finds drift ends in the failure notice and a failed execution', async () => {
    const run = await execute(
      { request: request('sfn/drift/'), idempotencyKey: 'exec-drift', topicArn: TOPIC },
      async (state, sofar) => {
        if (state !== 'Verify') return;
        // the grant's inline policy is deleted by hand between the onboarding and its verification
        const { id, roleArn } = sofar.onboarded!;
        await clients(stack, rootCredentials(WORKLOADS)).iam.send(
          new DeleteRolePolicyCommand({ RoleName: roleArn.split('/').pop()!, PolicyName: grantPolicyName(id) }),
        );
      },
    );
    expect(run.invocations.map((i) => `${i.state}:${i.error ?? 'ok'}`)).toEqual(['Onboard:ok', 'Verify:ok']);
    expect(run.status).toBe('failed');
    expect(run.error).toBe('OnboardingFailed');
    expect(run.notices).toHaveLength(1);
    expect(run.notices[0].Subject).toBe('S3 access request failed');
    // the message is the whole state (States.JsonToString($)); this interpreter drops the backslashes of escaped
    // characters in it (the snippets' newlines), so it is matched as text rather than parsed
    const message = run.notices[0].Message;
    expect(message).toContain('"verify":{"verification":{"ok":false,');
    expect(message).toMatch(
      /\{"name":"permissions-policy","ok":false,"detail":"inline policy s3-onboarding-ob-[0-9a-f]+ is missing/,
    );
  });
});
