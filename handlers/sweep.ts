import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logger } from '../lib/log';
import { flushMetrics, metrics, recordAwsCalls, withAwsCallTally } from '../lib/metrics';
import { serviceRuntime } from '../lib/runtime/service';
import {
  AccountRateLimiter,
  sweep,
  sweepOptions,
  sweepSessions,
  type SweepSummary,
} from '../lib/onboarding/verbs/sweep';
import type { ServiceDeps } from '../lib/onboarding/model/deps';

/** The sweep's runtime: the service's, with provisioner sessions of its own that keep to the per-account rate. */
let current: { base: ServiceDeps; deps: ServiceDeps } | undefined;
function sweepRuntime(): ServiceDeps {
  const base = serviceRuntime();
  if (current?.base !== base)
    current = {
      base,
      deps: { ...base, sessions: sweepSessions(base, new AccountRateLimiter(sweepOptions().callsPerSecond)) },
    };
  return current.deps;
}

/** Scheduled (serverless.yml, hourly by default): one invocation of the drift sweep, resuming from its cursor. */
export const handler = middy<unknown, SweepSummary>()
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .handler(async (_event: unknown, context: Context) => {
    const { result, tally } = withAwsCallTally(() =>
      sweep(sweepRuntime(), sweepOptions(), () => context.getRemainingTimeInMillis()),
    );
    try {
      const summary = await result;
      metrics.addMetric('SweepChecked', MetricUnit.Count, summary.checked);
      metrics.addMetric('SweepDrifted', MetricUnit.Count, summary.drifted);
      metrics.addMetric('SweepDurationMs', MetricUnit.Milliseconds, summary.durationMs);
      logger.info('drift sweep', { ...summary });
      return summary;
    } finally {
      recordAwsCalls(tally);
      flushMetrics();
    }
  });
