import { BACKUPS, WORKLOADS } from '../flows';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { bucketPolicy, compactBytes, keyState } from '../lib/aws';
import { serviceCalls } from '../lib/calls';
import { onboard, spawnStack, type Timed } from '../lib/stack';
import { percentile, median, round } from '../lib/stats';

/**
 * Scale of crossAccountMode access-point (issue 19): N onboardings of different workloads (namespace and prefix
 * team-NNNN) into one bucket (shared-backups), `concurrency` at a time, at a per-call latency. The 1st, the middle one
 * and the last are sent alone (nothing else in flight), so the call log holds exactly their AWS calls; the others
 * run in a pool of `concurrency`. Every answer must be 201 and the bucket policy after the last must be the size it
 * had after the first (one delegation statement for all of them). Every `KMS_EVERY`th one (30 %: 300 of 1,000) asks for
 * SSE-KMS with one key: each gets a KMS grant, and the key policy after the last is the one before the first.
 *
 * The workloads account's roles quota (IAM's default 1,000, which the demo account's own roles already use some of)
 * is raised to 5,000 in the stack's topology, as an estate of a thousand workloads in one account would have it:
 * the service reads the quota before it writes, and would refuse the last ones with a 409 naming L-FE177D64.
 */

const KEY = 'arn:aws:kms:eu-west-1:300000000003:key/11111111-2222-3333-4444-555555555555';
/** of every 10 onboardings, these get SSE-KMS (3 in 10) */
const withKms = (i: number) => i % 10 < 3;

/** The demo topology with the estate's raised roles quota. */
function estateTopology(): string {
  const REPO_ROOT = path.resolve(__dirname, '../..');
  const t = JSON.parse(readFileSync(path.join(REPO_ROOT, 'examples/topology.json'), 'utf8')) as Record<string, unknown>;
  t.accountSettings = { ...(t.accountSettings as object), [WORKLOADS]: { quotas: { 'iam/L-FE177D64': 5000 } } };
  const dir = path.join(REPO_ROOT, 'bench/.build');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'topology-access-points.json');
  writeFileSync(file, JSON.stringify(t, null, 2));
  return file;
}

export interface AccessPointScaleResult {
  onboardings: number;
  concurrency: number;
  perCallMs: number;
  statuses: Record<string, number>;
  errors: string[];
  policyBytesAfterFirst: number;
  policyBytesAfterLast: number;
  accessPointsOnBucket: number;
  /** SSE-KMS: onboardings with the key, grants on it after the last, and whether its policy never changed */
  kms: { onboardings: number; grantsAfterLast: number; keyPolicyUnchanged: boolean };
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
    bucket: {
      name: 'shared-backups',
      accountId: BACKUPS,
      region: 'eu-west-1',
      prefix: `${team}/`,
      ...(withKms(i) ? { kmsKeyArn: KEY } : {}),
    },
    tool: 'pbm',
    crossAccountMode: 'access-point',
  };
};

export async function accessPointScale(
  opts: { onboardings: number; concurrency: number; perCallMs: number },
  log: (s: string) => void,
): Promise<AccessPointScaleResult> {
  const stack = await spawnStack('stack-access-points', { TOPOLOGY: estateTopology() });
  try {
    await stack.admin.reset();
    const keyBefore = await keyState(stack.emulatorUrl, KEY);
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
    const keyAfter = await keyState(stack.emulatorUrl, KEY);
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
      kms: {
        onboardings: Array.from({ length: opts.onboardings }, (_, i) => i + 1).filter(withKms).length,
        grantsAfterLast: keyAfter.grants - keyBefore.grants,
        keyPolicyUnchanged: keyAfter.policy === keyBefore.policy,
      },
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
