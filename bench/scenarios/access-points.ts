import { BACKUPS, WORKLOADS } from '../flows';
import { bucketPolicy, compactBytes } from '../lib/aws';
import { serviceCalls } from '../lib/calls';
import { onboard, spawnStack, type Timed } from '../lib/stack';
import { percentile, median, round } from '../lib/stats';

/**
 * Scale of crossAccountMode access-point (issue 19): N onboardings of different workloads (namespace and prefix
 * team-NNNN) into one bucket (shared-backups), `concurrency` at a time, at a per-call latency. The 1st, the middle one
 * and the last are sent alone (nothing else in flight), so the call log holds exactly their AWS calls; the others
 * run in a pool of `concurrency`. Every answer must be 201 and the bucket policy after the last must be the size it
 * had after the first (one delegation statement for all of them).
 */

export interface AccessPointScaleResult {
  onboardings: number;
  concurrency: number;
  perCallMs: number;
  statuses: Record<string, number>;
  errors: string[];
  policyBytesAfterFirst: number;
  policyBytesAfterLast: number;
  accessPointsOnBucket: number;
  /** the AWS calls (and writes) of the onboardings sent alone, by their position */
  callsPerOnboarding: {
    position: number;
    ms: number;
    calls: number;
    writes: number;
    byOperation: Record<string, number>;
  }[];
  medianMs: number;
  p95Ms: number;
  maxMs: number;
  /** the pooled part: onboardings answered per second */
  throughputPerS: number;
  pooledWallMs: number;
}

const body = (i: number) => {
  const team = `team-${String(i).padStart(4, '0')}`;
  return {
    workload: {
      type: 'eks',
      clusters: [{ name: 'demo', accountId: WORKLOADS, region: 'eu-west-1' }],
      namespace: team,
      serviceAccounts: ['pbm-agent'],
    },
    bucket: { name: 'shared-backups', accountId: BACKUPS, region: 'eu-west-1', prefix: `${team}/` },
    tool: 'pbm',
    crossAccountMode: 'access-point',
  };
};

export async function accessPointScale(
  opts: { onboardings: number; concurrency: number; perCallMs: number },
  log: (s: string) => void,
): Promise<AccessPointScaleResult> {
  const stack = await spawnStack('stack-access-points');
  try {
    await stack.admin.reset();
    await stack.admin.latency(opts.perCallMs);
    const answers: Timed[] = [];
    const calls: AccessPointScaleResult['callsPerOnboarding'] = [];
    const policyBytes = async () => {
      const p = await bucketPolicy(stack.emulatorUrl, BACKUPS, 'shared-backups');
      return p ? compactBytes(p) : 0;
    };
    const alone = async (i: number) => {
      await stack.admin.clearCalls();
      const a = await onboard(stack, body(i));
      answers.push(a);
      const own = serviceCalls(await stack.admin.calls());
      const byOperation: Record<string, number> = {};
      for (const c of own)
        byOperation[`${c.service}:${c.operation}`] = (byOperation[`${c.service}:${c.operation}`] ?? 0) + 1;
      calls.push({
        position: i,
        ms: round(a.ms),
        calls: own.length,
        writes: own.filter((c) => c.write).length,
        byOperation,
      });
    };
    const pool = async (from: number, to: number) => {
      let next = from;
      const t0 = performance.now();
      await Promise.all(
        Array.from({ length: opts.concurrency }, async () => {
          while (next <= to) {
            const i = next++;
            answers.push(await onboard(stack, body(i)));
          }
        }),
      );
      return performance.now() - t0;
    };
    const n = opts.onboardings;
    const middle = Math.ceil(n / 2);
    await alone(1);
    const policyBytesAfterFirst = await policyBytes();
    log(`access points: 1st alone, then ${middle - 2} at ${opts.concurrency} at a time`);
    let pooledMs = await pool(2, middle - 1);
    await alone(middle);
    log(`access points: ${middle}th alone, then ${n - middle - 1} more`);
    pooledMs += await pool(middle + 1, n - 1);
    await alone(n);
    await stack.admin.latency(0);
    const policyBytesAfterLast = await policyBytes();
    const statuses: Record<string, number> = {};
    for (const a of answers) statuses[a.status] = (statuses[a.status] ?? 0) + 1;
    const ms = answers.map((a) => a.ms);
    const pooled = n - 3;
    return {
      onboardings: n,
      concurrency: opts.concurrency,
      perCallMs: opts.perCallMs,
      statuses,
      errors: answers
        .filter((a) => a.status !== 201)
        .slice(0, 5)
        .map((a) => `HTTP ${a.status}: ${JSON.stringify(a.body).slice(0, 300)}`),
      policyBytesAfterFirst,
      policyBytesAfterLast,
      accessPointsOnBucket: answers.filter((a) => a.body?.policies?.accessPoint?.name).length,
      callsPerOnboarding: calls,
      medianMs: round(median(ms)),
      p95Ms: round(percentile(ms, 95)),
      maxMs: round(Math.max(...ms)),
      throughputPerS: round((pooled / pooledMs) * 1000),
      pooledWallMs: round(pooledMs),
    };
  } finally {
    await stack.close();
  }
}
