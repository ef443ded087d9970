import { httpHandler, json } from '../lib/http/handler';
import { runtime, logger } from '../lib/runtime';
import { parseOnboardingRequest } from '../lib/onboarding/request';
import { onboard } from '../lib/onboarding/engine';

/** POST /v1/onboardings: validate, plan and apply (or only plan, with dryRun). */
export const create = httpHandler(
  async (event) => {
    const input = parseOnboardingRequest(event.body);
    const { result, changed } = await onboard(runtime(), input);
    logger.info('onboarding', { id: result.id, status: result.status, changes: result.changes.length });
    return json(changed ? 201 : 200, result);
  },
  { body: true },
);
