import { AsyncLocalStorage } from 'node:async_hooks';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { DetailType } from './events/onboarding-events';

/**
 * CloudWatch metrics in the embedded metric format (Powertools Metrics: one JSON line on stdout per flush, which
 * CloudWatch Logs turns into metrics). Namespace `s3-onboarding` (POWERTOOLS_METRICS_NAMESPACE), dimension
 * `service`. POWERTOOLS_METRICS_DISABLED=true turns the output off (the test setup does).
 *
 * - OnboardingsProvisioned, OnboardingsUpdated, OnboardingsRemoved, OnboardingsFailed, DriftDetected, DriftResolved:
 *   from the events the stream function published (one per live change, whichever route or task made it)
 * - OnboardingsRefused, dimension `reason` (the problem type): a POST /v1/onboardings answered 4xx
 * - AwsCalls (Count) and AwsCallLatency (Milliseconds, one value per call) per request; AwsCallsPerRequest
 * - SweepChecked, SweepDrifted, SweepDurationMs per sweep invocation
 */
const NAMESPACE = process.env.POWERTOOLS_METRICS_NAMESPACE || 's3-onboarding';

const newMetrics = (): Metrics =>
  new Metrics({ namespace: NAMESPACE, serviceName: process.env.POWERTOOLS_SERVICE_NAME || 's3-onboarding' });

export const metrics = newMetrics();

/** Writes what was stored (nothing when nothing was: Powertools would warn about an empty flush). */
export function flushMetrics(m: Metrics = metrics): void {
  if (m.hasStoredMetrics()) m.publishStoredMetrics();
}

const EVENT_METRICS: Record<DetailType, string> = {
  'Onboarding Provisioned': 'OnboardingsProvisioned',
  'Onboarding Updated': 'OnboardingsUpdated',
  'Onboarding Removed': 'OnboardingsRemoved',
  'Onboarding Failed': 'OnboardingsFailed',
  'Onboarding Drift Detected': 'DriftDetected',
  'Onboarding Drift Resolved': 'DriftResolved',
};

export function countEvents(types: DetailType[], m: Metrics = metrics): void {
  for (const t of types) m.addMetric(EVENT_METRICS[t], MetricUnit.Count, 1);
}

/** A refused onboarding request, by reason (the problem type's slug), published at once with its own dimension. */
export function countRefused(reason: string, m: Metrics = metrics): void {
  const single = m.singleMetric();
  single.addDimension('reason', reason);
  single.addMetric('OnboardingsRefused', MetricUnit.Count, 1);
}

/** The AWS calls one request (or sweep) made: count and latency of each. */
export interface AwsCallTally {
  calls: number;
  latenciesMs: number[];
}

const scope = new AsyncLocalStorage<AwsCallTally>();

/** Runs `fn` counting the AWS calls made on its behalf (the provisioner clients are instrumented). */
export function withAwsCallTally<T>(fn: () => Promise<T>): { result: Promise<T>; tally: AwsCallTally } {
  const tally: AwsCallTally = { calls: 0, latenciesMs: [] };
  return { result: scope.run(tally, fn), tally };
}

export function recordAwsCalls(tally: AwsCallTally, m: Metrics = metrics): void {
  if (!tally.calls) return;
  m.addMetric('AwsCalls', MetricUnit.Count, tally.calls);
  // Powertools keeps at most 100 values per metric and flushes when it has them
  for (const ms of tally.latenciesMs.slice(0, 100)) m.addMetric('AwsCallLatency', MetricUnit.Milliseconds, ms);
}

type Stack = {
  add(
    mw: (next: (a: unknown) => Promise<unknown>) => (a: unknown) => Promise<unknown>,
    opts: { step: 'finalizeRequest'; priority: 'low'; name: string },
  ): void;
};

/**
 * Adds a middleware to an SDK client that counts each attempt (and its latency) in the current tally; `before`
 * runs first (the sweep's per-account rate limit waits there).
 */
export function instrumentClient(
  client: { middlewareStack: unknown },
  accountId: string,
  before?: (accountId: string) => Promise<void>,
): void {
  (client.middlewareStack as Stack).add(
    (next) => async (args) => {
      if (before) await before(accountId);
      const started = Date.now();
      try {
        return await next(args);
      } finally {
        const tally = scope.getStore();
        if (tally) {
          tally.calls++;
          tally.latenciesMs.push(Date.now() - started);
        }
      }
    },
    { step: 'finalizeRequest', priority: 'low', name: 's3OnboardingCallTally' },
  );
}
