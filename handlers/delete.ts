import { callerOf, httpHandler, json } from '../lib/http/handler';
import { dryRunOf, idempotencyKey, idOf } from '../lib/http/params';
import { serviceRuntime } from '../lib/runtime/service';
import { idempotent } from '../lib/onboarding/verbs/idempotency';
import { offboard } from '../lib/onboarding/verbs/offboard';

/** DELETE /v1/onboardings/{id}[?dryRun=true]: removes exactly what this service added for the onboarding. */
export const handler = httpHandler(async (event, context) => {
  const id = idOf(event);
  const dryRun = dryRunOf(event);
  const deps = serviceRuntime();
  const caller = callerOf(event);
  const out = await idempotent(
    deps.store,
    `DELETE /v1/onboardings/${id}#${caller.principal}`,
    idempotencyKey(event),
    { id, dryRun },
    async () => ({
      statusCode: 200,
      body: await offboard(deps, id, caller, { dryRun, deadline: Date.now() + context.getRemainingTimeInMillis() }),
    }),
    context,
  );
  return json(out.statusCode, out.body);
});
