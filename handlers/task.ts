import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import * as z from 'zod';
import { logger } from '../lib/log';
import { serviceRuntime } from '../lib/runtime/service';
import { parseOnboardingRequest } from '../lib/onboarding/request/request';
import { idempotent } from '../lib/onboarding/verbs/idempotency';
import { provision } from '../lib/onboarding/verbs/provision';
import { offboard } from '../lib/onboarding/verbs/offboard';
import { verify } from '../lib/onboarding/verbs/verify';
import { getOnboarding } from '../lib/onboarding/verbs/read';
import { recordBody } from '../lib/onboarding/model/records';
import { ONBOARDING_ID } from '../lib/onboarding/model/onboarding';
import { ContentionError, InternalError, ServiceError, TransientError, ValidationError } from '../lib/errors';
import { flushMetrics, recordAwsCalls, withAwsCallTally } from '../lib/metrics';

const taskSchema = z.discriminatedUnion('action', [
  z.strictObject({
    action: z.literal('onboard'),
    request: z.unknown(),
    idempotencyKey: z.string().min(1).max(255).optional(),
  }),
  z.strictObject({ action: z.literal('offboard'), id: z.string().regex(ONBOARDING_ID) }),
  z.strictObject({ action: z.literal('verify'), id: z.string().regex(ONBOARDING_ID) }),
  z.strictObject({ action: z.literal('get'), id: z.string().regex(ONBOARDING_ID) }),
]);

/**
 * Who a direct invocation acts as, for the guardrails and the record: the principal allowed to invoke this
 * function (the state machine's role), configured, never taken from the event.
 */
const TASK_CALLER = (): string => process.env.TASK_CALLER || 'stepfunctions';

/** The error names a state machine can branch on (Catch / Retry `ErrorEquals`). */
export const TASK_ERRORS = [
  'ValidationError',
  'NotAllowedError',
  'NotFoundError',
  'ConflictError',
  'QuotaExceededError',
  'TransientError',
  'InternalError',
] as const;

/**
 * Step Functions sees `errorType` = the thrown error's name and `errorMessage` = its message (a ValidationError's
 * message names each invalid field, as the HTTP problem's `errors` do).
 */
function taskError(err: unknown): Error {
  if (err instanceof ServiceError) {
    const fields =
      err instanceof ValidationError && err.errors.length
        ? ` ${err.errors.map((f) => `${f.path}: ${f.message}`).join('; ')}`
        : '';
    const e = new Error(err.expose ? `${err.message}${fields}` : 'An internal error occurred; see the function logs');
    // a subclass answers as the class a state machine knows (a PartiallyAppliedError is a TransientError, and so is a
    // ContentionError, a race with another request in flight: retry)
    e.name =
      err instanceof TransientError || err instanceof ContentionError
        ? 'TransientError'
        : (TASK_ERRORS as readonly string[]).includes(err.name)
          ? err.name
          : err.status >= 500
            ? 'InternalError'
            : 'ValidationError';
    return e;
  }
  const e = new Error('An internal error occurred; see the function logs');
  e.name = new InternalError('').name;
  return e;
}

const deadlineOf = (context?: Context): number | undefined =>
  context?.getRemainingTimeInMillis ? Date.now() + context.getRemainingTimeInMillis() : undefined;

async function run(event: unknown, context?: Context): Promise<unknown> {
  const parsed = taskSchema.safeParse(event);
  if (!parsed.success) {
    throw new ValidationError(
      'invalid task input',
      parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
    );
  }
  const task = parsed.data;
  const deps = serviceRuntime();
  switch (task.action) {
    case 'onboard': {
      const input = parseOnboardingRequest(task.request);
      const caller = { principal: TASK_CALLER() };
      const out = await idempotent(
        deps.store,
        `POST /v1/onboardings#${caller.principal}`,
        task.idempotencyKey,
        task.request,
        () => provision(deps, input, caller, { deadline: deadlineOf(context) }),
        context,
      );
      return out.body;
    }
    case 'offboard':
      return offboard(deps, task.id, { principal: TASK_CALLER() }, { deadline: deadlineOf(context) });
    case 'verify':
      return verify(deps, task.id, { principal: TASK_CALLER() });
    case 'get':
      return recordBody(await getOnboarding(deps, task.id, { principal: TASK_CALLER() }));
  }
}

/** Direct invocation (Step Functions): `{ action: "onboard" | "offboard" | "verify" | "get", request | id }`. */
export const handler = middy<unknown, unknown>()
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .handler(async (event, context) => {
    const { result, tally } = withAwsCallTally(() => run(event, context));
    try {
      return await result;
    } catch (err) {
      if (!(err instanceof ServiceError) || err.status >= 500) logger.error('task failed', { error: err as Error });
      throw taskError(err);
    } finally {
      recordAwsCalls(tally);
      flushMetrics();
    }
  });
