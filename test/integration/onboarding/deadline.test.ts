import type { Stack } from '../../../scripts/stack';
import { WORKLOADS } from '../../helpers/emulator';
import { useTestStack, writes, type TestStack } from '../../helpers/stack';

/**
 * Deadline-aware: no step starts when the function's remaining time cannot cover it (STEP_TIME_BUDGET_MS). The
 * answer is then a 503 saying what was done and to retry (Step Functions: TransientError), never a 500 after
 * writes (a function cut off by its timeout answered 500, which the example state machine does not retry).
 */

const saved = { budget: process.env.STEP_TIME_BUDGET_MS, timeout: process.env.LOCAL_FUNCTION_TIMEOUT_MS };
process.env.STEP_TIME_BUDGET_MS = '2000';
afterAll(() => {
  for (const [k, v] of [
    ['STEP_TIME_BUDGET_MS', saved.budget],
    ['LOCAL_FUNCTION_TIMEOUT_MS', saved.timeout],
  ] as const) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
});
afterEach(() => {
  delete process.env.LOCAL_FUNCTION_TIMEOUT_MS;
});

let stack: Stack;
let api: TestStack['api'];
let admin: TestStack['admin'];
useTestStack((t) => ({ stack, api, admin } = t), { resetEach: true });

const pbm = {
  workload: {
    type: 'eks',
    clusters: [{ name: 'demo', accountId: WORKLOADS, region: 'eu-west-1' }],
    namespace: 'mongodb',
    serviceAccounts: ['pbm-agent'],
  },
  bucket: { name: 'workload-local-backups', region: 'eu-west-1', prefix: 'deadline/' },
  tool: 'pbm',
};

describe('A request near the function’s deadline', () => {
  it('starts no write it cannot finish: 503 saying to retry, nothing written, nothing recorded', async () => {
    process.env.LOCAL_FUNCTION_TIMEOUT_MS = '5000';
    // the reads take 3.5 s: about 1.4 s are left, under the 2 s a write may take
    await admin.fault({ service: 'iam', operation: 'GetRole', delayMs: 3500, count: 1 });
    const res = await api.onboard(pbm);
    expect(res.status).toBe(503);
    expect(res.body.detail).toMatch(/too little to start .* safely/);
    expect(await writes(stack)).toEqual([]);
    expect((await api.send('GET', '/v1/onboardings')).body.items).toEqual([]);
    delete process.env.LOCAL_FUNCTION_TIMEOUT_MS;
    const retry = await api.onboard(pbm);
    expect(retry.status).toBe(201);
  });

  it('stops between writes once the time left cannot cover the next: 503 naming what was done and to retry or DELETE; a retry converges', async () => {
    process.env.LOCAL_FUNCTION_TIMEOUT_MS = '6000';
    // the role's creation is answered 4.5 s after it arrives: about 1.3 s are left for the policy put after it, under 2 s
    await admin.fault({ service: 'iam', operation: 'CreateRole', delayMs: 4500, count: 1 });
    const res = await api.onboard(pbm);
    expect(res.status).toBe(503);
    expect(res.body.detail).toMatch(/partially applied .*create-role.* Retry the same request to finish it, or DELETE/);
    expect((await writes(stack)).map((c) => c.operation)).toEqual(['CreateRole']);
    const record = await api.send('GET', `/v1/onboardings/${res.body.detail.match(/ob-[0-9a-f]{12}/)[0]}`);
    expect(record.body.status).toBe('failed');

    delete process.env.LOCAL_FUNCTION_TIMEOUT_MS;
    await admin.clearFaults();
    const retry = await api.onboard(pbm);
    expect(retry.status).toBe(201);
    expect((await api.send('POST', `/v1/onboardings/${retry.body.id}/verify`)).body.ok).toBe(true);
  });
});
