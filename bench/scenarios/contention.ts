import { BACKUPS } from '../flows';
import { bucketPolicy, compactBytes } from '../lib/aws';
import { serviceCalls } from '../lib/calls';
import { onboard, type BenchStack } from '../lib/stack';
import { percentile, median, round } from '../lib/stats';
import { teamRequest } from './growth';

export interface ContentionResult {
  onboardings: number;
  perCallMs: number;
  wallMs: number;
  medianMs: number;
  p95Ms: number;
  maxMs: number;
  statuses: Record<string, number>;
  awsCalls: number;
  serviceAwsCalls: number;
  writeCalls: number;
  putBucketPolicyCalls: number;
  statementsPresent: number;
  policyBytes: number;
  errors: string[];
}

/**
 * N onboardings of different workloads (namespace and prefix team-NN, NN from `first`) into one bucket
 * (shared-backups, which has no policy of its own), all sent at once.
 */
export async function contention(
  stack: BenchStack,
  n: number,
  perCallMs: number,
  first = 0,
): Promise<ContentionResult> {
  await stack.admin.reset();
  await stack.admin.latency(perCallMs);
  await stack.admin.clearCalls();
  const bodies = Array.from({ length: n }, (_, i) => teamRequest(first + i));
  const t0 = performance.now();
  const results = await Promise.all(
    bodies.map((b) => onboard<{ policies?: { bucketPolicyStatements?: { Sid: string }[] } }>(stack, b)),
  );
  const wallMs = performance.now() - t0;
  const calls = await stack.admin.calls();
  await stack.admin.latency(0);
  const policy = await bucketPolicy(stack.emulatorUrl, BACKUPS, 'shared-backups');
  const sids = new Set(
    ((policy ? JSON.parse(policy) : { Statement: [] }) as { Statement: { Sid?: string }[] }).Statement.map(
      (s) => s.Sid,
    ),
  );
  const wanted = results.flatMap((r) => r.body?.policies?.bucketPolicyStatements ?? []).map((s) => s.Sid);
  const statuses: Record<string, number> = {};
  for (const r of results) statuses[r.status] = (statuses[r.status] ?? 0) + 1;
  const ms = results.map((r) => r.ms);
  const own = serviceCalls(calls);
  return {
    onboardings: n,
    perCallMs,
    wallMs: round(wallMs),
    medianMs: round(median(ms)),
    p95Ms: round(percentile(ms, 95)),
    maxMs: round(Math.max(...ms)),
    statuses,
    awsCalls: calls.length,
    serviceAwsCalls: own.length,
    writeCalls: own.filter((c) => c.write).length,
    putBucketPolicyCalls: own.filter((c) => c.operation === 'PutBucketPolicy').length,
    // one statement per onboarding: count the onboardings whose statements are all in the bucket policy
    statementsPresent: new Set(wanted.filter((sid) => sids.has(sid))).size,
    policyBytes: policy ? compactBytes(policy) : 0,
    errors: results
      .filter((r) => r.status !== 201)
      .map((r) => `HTTP ${r.status}: ${JSON.stringify(r.body).slice(0, 200)}`),
  };
}
