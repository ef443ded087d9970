import { WORKLOADS } from '../flows';
import { onboard, request, spawnStack } from '../lib/stack';

/**
 * The drift sweep over many onboardings at a per-call latency: `POST /_local/sweep` on a stack whose API runs with
 * SWEEP_CALLS_PER_SECOND / SWEEP_CONCURRENCY, over `onboardings` onboardings in one account (pbm, same account:
 * namespaces team-NNN with two prefixes each, so every role holds two grants). Reports onboardings verified per
 * second and how the service's calls per second in that account compare to the configured rate.
 */
export interface SweepBenchResult {
  onboardings: number;
  perCallMs: number;
  callsPerSecondLimit: number;
  concurrency: number;
  seedMs: number;
  checked: number;
  drifted: number;
  durationMs: number;
  verifiedPerSecond: number;
  /** the service's AWS calls during the sweep, in the account that holds the roles */
  calls: number;
  callsPerVerify: number;
  callsPerSecond: number;
  /** calls per second / the configured limit */
  ratioToLimit: number;
  /** the most calls that arrived within any one second (arrivals bunch when a thread of this busy VM stalls) */
  peakCallsInOneSecond: number;
  /** the most calls that arrived within any five seconds, per second */
  peakPerSecondOver5s: number;
  writes: number;
}

const requestOf = (i: number) => ({
  workload: {
    type: 'eks',
    clusters: [{ name: 'demo', accountId: WORKLOADS, region: 'eu-west-1' }],
    namespace: `team-${String(Math.floor(i / 2)).padStart(3, '0')}`,
    serviceAccounts: ['pbm-agent'],
  },
  bucket: { name: 'workload-local-backups', region: 'eu-west-1', prefix: `team-${Math.floor(i / 2)}/p${i % 2}/` },
  tool: 'pbm',
});

export async function sweepBench(
  cfg: { onboardings: number; perCallMs: number; callsPerSecond: number; concurrency: number },
  log: (s: string) => void,
): Promise<SweepBenchResult> {
  const saved = { rate: process.env.SWEEP_CALLS_PER_SECOND, conc: process.env.SWEEP_CONCURRENCY };
  process.env.SWEEP_CALLS_PER_SECOND = String(cfg.callsPerSecond);
  process.env.SWEEP_CONCURRENCY = String(cfg.concurrency);
  const stack = await spawnStack('stack-sweep');
  process.env.SWEEP_CALLS_PER_SECOND = saved.rate;
  process.env.SWEEP_CONCURRENCY = saved.conc;
  if (saved.rate === undefined) delete process.env.SWEEP_CALLS_PER_SECOND;
  if (saved.conc === undefined) delete process.env.SWEEP_CONCURRENCY;
  try {
    await stack.admin.reset();
    await stack.admin.latency(0);
    const t0 = performance.now();
    let next = 0;
    const failures: string[] = [];
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < cfg.onboardings) {
          const i = next++;
          const res = await onboard(stack, requestOf(i));
          if (res.status !== 201) failures.push(`${i}: ${res.status} ${JSON.stringify(res.body).slice(0, 200)}`);
        }
      }),
    );
    if (failures.length) throw new Error(`sweep bench: ${failures.length} onboardings failed, e.g. ${failures[0]}`);
    const seedMs = performance.now() - t0;
    log(
      `sweep: ${cfg.onboardings} onboardings seeded in ${(seedMs / 1000).toFixed(1)} s; sweeping at ${cfg.perCallMs} ms per call, ${cfg.callsPerSecond} calls/s per account, ${cfg.concurrency} at once`,
    );
    await stack.admin.latency(cfg.perCallMs);
    await stack.admin.clearCalls();
    const out = await request<{ checked: number; drifted: number; durationMs: number }>(
      stack.apiUrl,
      'POST',
      '/_local/sweep',
    );
    if (out.status !== 200) throw new Error(`sweep bench: POST /_local/sweep answered ${out.status}`);
    const calls = (await stack.admin.calls()).filter(
      (c) => c.accountId === WORKLOADS && c.principalArn?.includes(':assumed-role/s3-onboarding-provisioner/'),
    );
    const starts = calls.map((c) => Date.parse(c.startedAt)).sort((a, b) => a - b);
    const peakWithin = (ms: number) => {
      let peak = 0;
      for (let i = 0, j = 0; i < starts.length; i++) {
        while (starts[i] - starts[j] >= ms) j++;
        peak = Math.max(peak, i - j + 1);
      }
      return peak;
    };
    const peak = peakWithin(1000);
    const seconds = out.body.durationMs / 1000;
    return {
      onboardings: cfg.onboardings,
      perCallMs: cfg.perCallMs,
      callsPerSecondLimit: cfg.callsPerSecond,
      concurrency: cfg.concurrency,
      seedMs: Math.round(seedMs),
      checked: out.body.checked,
      drifted: out.body.drifted,
      durationMs: out.body.durationMs,
      verifiedPerSecond: Math.round((out.body.checked / seconds) * 10) / 10,
      calls: calls.length,
      callsPerVerify: Math.round((calls.length / Math.max(1, out.body.checked)) * 10) / 10,
      callsPerSecond: Math.round((calls.length / seconds) * 10) / 10,
      ratioToLimit: Math.round((calls.length / seconds / cfg.callsPerSecond) * 100) / 100,
      peakCallsInOneSecond: peak,
      peakPerSecondOver5s: Math.round((peakWithin(5000) / 5) * 10) / 10,
      writes: calls.filter((c) => c.write).length,
    };
  } finally {
    await stack.close();
  }
}
