import type { IAMClient } from '@aws-sdk/client-iam';
import { TRUST_QUOTA_TTL_MS, trustPolicyQuota } from '../../../lib/aws/iam';
import { TransientError } from '../../../lib/errors';

/** An IAM client that answers GetAccountSummary with `quota` (or fails), counting the calls. */
function fakeIam(answers: (number | Error)[]) {
  const state = { calls: 0 };
  const client = {
    send: async () => {
      const a = answers[Math.min(state.calls++, answers.length - 1)];
      if (a instanceof Error) throw a;
      return { SummaryMap: { AssumeRolePolicySizeQuota: a } };
    },
  } as unknown as IAMClient;
  return { client, state };
}

describe('trustPolicyQuota: read once per account and container', () => {
  it('shares one read between concurrent callers and reuses it until the TTL, then reads again', async () => {
    const { client, state } = fakeIam([4096, 8192]);
    const t0 = 1_000_000;
    expect(await Promise.all([trustPolicyQuota(client, t0), trustPolicyQuota(client, t0)])).toEqual([4096, 4096]);
    expect(await trustPolicyQuota(client, t0 + TRUST_QUOTA_TTL_MS - 1)).toBe(4096);
    expect(state.calls).toBe(1);
    expect(await trustPolicyQuota(client, t0 + TRUST_QUOTA_TTL_MS)).toBe(8192);
    expect(state.calls).toBe(2);
  });

  it('keeps no failure: the next caller reads again', async () => {
    const throttled = Object.assign(new Error('Rate exceeded'), {
      name: 'Throttling',
      $fault: 'client',
      $metadata: { httpStatusCode: 400 },
    });
    const { client, state } = fakeIam([throttled, 2048]);
    await expect(trustPolicyQuota(client, 5)).rejects.toBeInstanceOf(TransientError);
    expect(await trustPolicyQuota(client, 6)).toBe(2048);
    expect(state.calls).toBe(2);
  });

  it('an account without the key in its summary has the default 2048', async () => {
    const client = { send: async () => ({ SummaryMap: {} }) } as unknown as IAMClient;
    expect(await trustPolicyQuota(client)).toBe(2048);
  });
});
