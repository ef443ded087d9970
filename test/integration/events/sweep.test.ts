import { DeleteRolePolicyCommand } from '@aws-sdk/client-iam';
import { BACKUPS, WORKLOADS, rootCredentials } from '../../helpers/emulator';
import { clients, useTestStack, type TestStack } from '../../helpers/stack';
import { grantPolicyName } from '../../../lib/onboarding/model/onboarding';
import { serviceRuntime } from '../../../lib/runtime/service';
import {
  AccountRateLimiter,
  sweep,
  sweepOptions,
  sweepSessions,
  type SweepOptions,
} from '../../../lib/onboarding/verbs/sweep';
import type { ServiceDeps } from '../../../lib/onboarding/model/deps';
import type { Store } from '../../../lib/store/store';

// each test drives whole onboardings (and sweeps) over the local stack: on a loaded 2-core machine they take seconds
jest.setTimeout(60_000);

/** The drift sweep over the local stack: lib/onboarding/sweep.ts with the runtime the scheduled function uses. */
let t: TestStack;
useTestStack((s) => (t = s), { resetEach: true });

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
const options = (o: Partial<SweepOptions> = {}): SweepOptions => ({
  ...sweepOptions({}),
  marginMs: 1,
  callsPerSecond: 200,
  ...o,
});
const runtime = (o: SweepOptions, store?: Store, limiter = new AccountRateLimiter(o.callsPerSecond)): ServiceDeps => {
  const deps = serviceRuntime();
  return { ...deps, ...(store ? { store } : {}), sessions: sweepSessions(deps, limiter) };
};
const forever = () => 900_000;

async function onboardMany(n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const res = await t.api.onboard(request(`sweep/${i}/`));
    expect(res.status).toBe(201);
    ids.push(res.body.id);
  }
  return ids;
}

describe('drift sweep', () => {
  it('resumes from its cursor: an invocation short of time stops, and the next ones finish the table', async () => {
    await onboardMany(5);
    const o = options({ pageSize: 2, concurrency: 1 });
    // each invocation may start two verifies before it is "out of time"
    let started = 0;
    const budget = () => {
      let n = 0;
      return () => (n++ < 2 ? 900_000 : 0);
    };
    const runs = [];
    for (let i = 0; i < 10; i++) {
      const out = await sweep(runtime(o), o, budget());
      runs.push(out);
      started += out.checked;
      if (out.complete) break;
    }
    expect(runs.length).toBeGreaterThan(1);
    expect(runs.at(-1)!.complete).toBe(true);
    expect(runs.slice(0, -1).every((r) => !r.complete)).toBe(true);
    // every onboarding was checked at least once (a page interrupted midway is checked again from its start)
    expect(started).toBeGreaterThanOrEqual(5);
    const items = (await t.api.send('GET', '/v1/onboardings?drift=false')).body.items as { drift: { ok: boolean } }[];
    expect(items).toHaveLength(5);
    // the cursor is gone once the table is swept: the next sweep starts over
    expect(await sweep(runtime(o), o, forever)).toMatchObject({ checked: 5, drifted: 0, complete: true });
  });

  it('backs off while IAM throttles and finishes; never writes to AWS', async () => {
    const [id] = await onboardMany(1);
    const roleName = ((await t.api.send('GET', `/v1/onboardings/${id}`)).body.roleArn as string).split('/').pop()!;
    await clients(t.stack, rootCredentials(WORKLOADS)).iam.send(
      new DeleteRolePolicyCommand({ RoleName: roleName, PolicyName: grantPolicyName(id) }),
    );
    await t.admin.clearCalls();
    // enough throttling to exhaust the SDK's own retries of a verify's first reads
    await t.admin.fault({ service: 'iam', operation: 'GetRole', errorCode: 'Throttling', httpStatus: 400, count: 4 });
    const o = options();
    const out = await sweep(runtime(o), o, forever);
    expect(out).toMatchObject({ checked: 1, drifted: 1, skipped: 0, complete: true });
    const calls = await t.admin.calls();
    expect(calls.filter((c) => c.errorCode === 'Throttling')).toHaveLength(4);
    expect(calls.filter((c) => c.write)).toEqual([]);
    expect((await t.api.send('GET', '/v1/onboardings?drift=true')).body.items.map((i: { id: string }) => i.id)).toEqual(
      [id],
    );
  });

  it('skips an onboarding deleted while the sweep runs', async () => {
    const ids = await onboardMany(2);
    const real = serviceRuntime().store;
    // the list the sweep reads still has it: it is deleted right after the list was read
    const store = Object.create(real) as Store;
    const records = Object.create(real.records) as Store['records'];
    records.list = async (q) => {
      const page = await real.records.list(q);
      expect((await t.api.send('DELETE', `/v1/onboardings/${ids[0]}`)).status).toBe(200);
      return page;
    };
    Object.defineProperty(store, 'records', { value: records });
    const o = options();
    expect(await sweep(runtime(o, store), o, forever)).toMatchObject({ checked: 1, skipped: 1, complete: true });
    expect((await t.api.send('GET', `/v1/onboardings/${ids[0]}`)).status).toBe(404);
  });

  it('sends every AWS call of every account through the per-account rate limiter (its spacing: test/unit/onboarding/sweep.test.ts, its rate: npm run bench)', async () => {
    await onboardMany(3);
    await t.admin.clearCalls();
    const o = options({ concurrency: 8 });
    const limiter = new AccountRateLimiter(o.callsPerSecond);
    expect((await sweep(runtime(o, undefined, limiter), o, forever)).checked).toBe(3);
    const calls = (await t.admin.calls()).filter((c) =>
      c.principalArn?.includes(':assumed-role/s3-onboarding-provisioner/'),
    );
    const perAccount: Record<string, number> = {};
    for (const c of calls) perAccount[c.accountId!] = (perAccount[c.accountId!] ?? 0) + 1;
    expect(Object.keys(perAccount).length).toBeGreaterThan(0);
    expect(Object.fromEntries(limiter.granted)).toEqual(perAccount);
  });
});
