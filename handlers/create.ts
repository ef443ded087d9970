import { callerOf, httpHandler, json } from '../lib/http/handler';
import { idempotencyKey } from '../lib/http/params';
import { logger } from '../lib/log';
import { serviceRuntime } from '../lib/runtime/service';
import { parseOnboardingRequest } from '../lib/onboarding/request/request';
import { idempotent } from '../lib/onboarding/verbs/idempotency';
import { provision } from '../lib/onboarding/verbs/provision';

/** POST /v1/onboardings: validate, plan and apply (or only plan, with dryRun). */
export const handler = httpHandler(
  async (event, context) => {
    const input = parseOnboardingRequest(event.body);
    const deps = serviceRuntime();
    const caller = callerOf(event);
    const out = await idempotent(
      deps.store,
      `POST /v1/onboardings#${caller.principal}`,
      idempotencyKey(event),
      event.body,
      () => provision(deps, input, caller, { deadline: Date.now() + context.getRemainingTimeInMillis() }),
      context,
    );
    logger.info('onboarding', { status: out.statusCode });
    return json(out.statusCode, out.body);
  },
  { body: true },
);
