import path from 'node:path';
import { readFileSync } from 'node:fs';
import type { Context } from 'aws-lambda';
import type { Stack } from '../../../scripts/stack';
import { BACKUPS, WORKLOADS, emulatorAdmin } from '../../helpers/emulator';
import { startTestStack, writes } from '../../helpers/stack';

const aslValidator = require('asl-validator') as (definition: unknown) => { isValid: boolean; errors: unknown[] };

let stack: Stack;
let handler: (event: unknown, context: Context) => Promise<unknown>;
beforeAll(async () => {
  stack = await startTestStack();
  handler = (await import('../../../handlers/task')).handler as never;
});
afterAll(() => stack.close());
beforeEach(() => emulatorAdmin(stack.emulator).reset());

const context = {
  awsRequestId: 'sfn-test',
  functionName: 'task',
  getRemainingTimeInMillis: () => 30_000,
} as unknown as Context;
const invoke = (event: unknown) => handler(event, context);
const request = (prefix = 'sfn/') => ({
  workload: {
    type: 'eks',
    clusters: [{ name: 'demo', accountId: WORKLOADS, region: 'eu-west-1' }],
    namespace: 'mongodb',
    serviceAccounts: ['pbm-agent'],
  },
  bucket: { name: 'demo-backups', accountId: BACKUPS, region: 'eu-west-1', prefix },
  tool: 'pbm',
});

async function errorOf(p: Promise<unknown>): Promise<{ name: string; message: string }> {
  try {
    await p;
  } catch (e) {
    return { name: (e as Error).name, message: (e as Error).message };
  }
  throw new Error('expected the task to fail');
}

describe('Step Functions task handler', () => {
  it('onboards, gets, verifies and offboards with the same bodies as the HTTP API', async () => {
    const onboarded = (await invoke({ action: 'onboard', request: request(), idempotencyKey: 'exec-1' })) as {
      id: string;
      status: string;
      roleArn: string;
    };
    expect(onboarded.status).toBe('provisioned');
    expect(await invoke({ action: 'get', id: onboarded.id })).toMatchObject({
      id: onboarded.id,
      roleArn: onboarded.roleArn,
      requestedBy: 'stepfunctions',
    });
    expect(((await invoke({ action: 'verify', id: onboarded.id })) as { ok: boolean }).ok).toBe(true);
    expect(await invoke({ action: 'offboard', id: onboarded.id })).toMatchObject({
      id: onboarded.id,
      status: 'deleted',
    });
  });

  it.each([
    ['ValidationError', { action: 'onboard', request: { ...request(), tool: 'rsync' } }],
    ['ValidationError', { action: 'launch', id: 'x' }],
    ['NotFoundError', { action: 'get', id: 'ob-000000000000' }],
    [
      'NotAllowedError',
      {
        action: 'onboard',
        request: { ...request(), bucket: { name: 'demo-backups', accountId: '999999999999', region: 'eu-west-1' } },
      },
    ],
  ])('fails with %s, a name a state machine can branch on', async (name, event) => {
    expect((await errorOf(invoke(event))).name).toBe(name);
  });

  it('fails with QuotaExceededError when the trust policy would exceed the account quota', async () => {
    const clusters = ['demo', 'restore'].map((name) => ({ name, accountId: WORKLOADS, region: 'eu-west-1' }));
    const serviceAccounts = Array.from({ length: 10 }, (_, i) => `very-long-service-account-name-number-${i}`);
    const r = request();
    const err = await errorOf(
      invoke({ action: 'onboard', request: { ...r, workload: { ...r.workload, clusters, serviceAccounts } } }),
    );
    expect(err.name).toBe('QuotaExceededError');
  });

  it('fails with ConflictError when the Idempotency-Key was used with another request', async () => {
    await invoke({ action: 'onboard', request: request('a/'), idempotencyKey: 'exec-2' });
    expect((await errorOf(invoke({ action: 'onboard', request: request('b/'), idempotencyKey: 'exec-2' }))).name).toBe(
      'ConflictError',
    );
  });

  it('fails with a retryable TransientError when AWS is throttling, and writes nothing', async () => {
    await emulatorAdmin(stack.emulator).clearCalls();
    await emulatorAdmin(stack.emulator).fault({
      service: 'eks',
      errorCode: 'ThrottlingException',
      httpStatus: 429,
      count: 100,
    });
    const err = await errorOf(invoke({ action: 'onboard', request: request('t/') }));
    expect(err.name).toBe('TransientError');
    expect(await writes(stack)).toEqual([]);
    await emulatorAdmin(stack.emulator).clearFaults();
  });

  it('fails with a retryable TransientError, saying what was done, when it failed after writing (a partial apply)', async () => {
    // the permissions policy fails (throttled past the SDK's retries) after the role was created
    await emulatorAdmin(stack.emulator).fault({
      service: 'iam',
      operation: 'PutRolePolicy',
      errorCode: 'Throttling',
      httpStatus: 400,
      count: 100,
    });
    const err = await errorOf(invoke({ action: 'onboard', request: request('partial/') }));
    await emulatorAdmin(stack.emulator).clearFaults();
    expect(err.name).toBe('TransientError');
    expect(err.message).toMatch(/partially applied .*Retry the same request/);
    // and the retry the state machine makes converges
    expect(await invoke({ action: 'onboard', request: request('partial/') })).toMatchObject({ status: 'provisioned' });
  });

  it('never leaks internals: an unexpected failure is an InternalError with a generic message', async () => {
    await emulatorAdmin(stack.emulator).fault({
      service: 'iam',
      operation: 'GetRole',
      errorCode: 'SomethingOdd',
      httpStatus: 400,
      count: 100,
    });
    const err = await errorOf(invoke({ action: 'onboard', request: request('odd/') }));
    expect(err).toEqual({ name: 'InternalError', message: 'An internal error occurred; see the function logs' });
    await emulatorAdmin(stack.emulator).clearFaults();
  });
});

describe('examples/stepfunctions/onboarding.asl.json', () => {
  const definition = JSON.parse(
    readFileSync(path.resolve(__dirname, '../../../examples/stepfunctions/onboarding.asl.json'), 'utf8'),
  );

  it('is valid Amazon States Language', () => {
    expect(aslValidator(definition)).toEqual(expect.objectContaining({ isValid: true }));
  });

  it('retries TransientError on verify and branches on the task error names', () => {
    expect(definition.States.Verify.Retry[0].ErrorEquals).toEqual(['TransientError']);
    expect(definition.States.Onboard.Catch[0].ErrorEquals).toEqual([
      'ValidationError',
      'NotAllowedError',
      'QuotaExceededError',
      'ConflictError',
    ]);
    expect(definition.States.Onboard.Next).toBe('Verify');
  });
});
