import { callerOf, httpHandler, json } from '../lib/http/handler';
import { idOf } from '../lib/http/params';
import { serviceRuntime } from '../lib/runtime/service';
import { verify } from '../lib/onboarding/verbs/verify';

/** POST /v1/onboardings/{id}/verify: drift and reachability over the live IAM, S3 and KMS state. */
export const handler = httpHandler(async (event) =>
  json(200, await verify(serviceRuntime(), idOf(event), callerOf(event))),
);
