import { callerOf, httpHandler, json } from '../lib/http/handler';
import { idOf } from '../lib/http/params';
import { baseRuntime } from '../lib/runtime';
import { getOnboarding } from '../lib/onboarding/verbs/read';
import { recordBody } from '../lib/onboarding/model/records';

/** GET /v1/onboardings/{id} */
export const handler = httpHandler(async (event) =>
  json(200, recordBody(await getOnboarding(baseRuntime(), idOf(event), callerOf(event)))),
);
