import autocannon from 'autocannon';
import { onboard, type BenchStack } from '../lib/stack';
import { round } from '../lib/stats';

export interface ThroughputResult {
  durationS: number;
  connections: number;
  requests: number;
  requestsPerSecond: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  latencyMaxMs: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  awsCallsPerRequest: number;
}

/** Dry-run onboardings against the local API with autocannon (emulator latency 0: this measures the service). */
export async function throughput(
  stack: BenchStack,
  body: unknown,
  durationS: number,
  connections: number,
): Promise<ThroughputResult> {
  await stack.admin.reset();
  for (let i = 0; i < 20; i++) {
    const res = await onboard(stack, body);
    if (res.status !== 200)
      throw new Error(`throughput warm-up: dry run answered ${res.status}: ${JSON.stringify(res.body).slice(0, 300)}`);
  }
  await stack.admin.clearCalls();
  const r = await autocannon({
    url: `${stack.apiUrl}/v1/onboardings`,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    connections,
    duration: durationS,
  });
  const calls = (await stack.admin.calls()).length;
  await stack.admin.clearCalls();
  return {
    durationS,
    connections,
    requests: r.requests.total,
    requestsPerSecond: round(r.requests.average),
    latencyP50Ms: r.latency.p50,
    latencyP99Ms: r.latency.p99,
    latencyMaxMs: r.latency.max,
    non2xx: r.non2xx,
    errors: r.errors,
    timeouts: r.timeouts,
    awsCallsPerRequest: round(calls / Math.max(1, r.requests.total), 2),
  };
}
