import { httpHandler, json, callerOf, type HttpEvent } from '../lib/http/handler';
import { runtime, logger } from '../lib/runtime';
import { parseListOnboardingsQuery, parseOnboardingRequest } from '../lib/onboarding/request';
import { getOnboarding, idempotent, provision, recordBody } from '../lib/onboarding/lifecycle';
import { offboard } from '../lib/onboarding/offboard';
import { verify as verifyOnboarding } from '../lib/onboarding/verify';
import { ONBOARDING_ID } from '../lib/onboarding/model';
import { ValidationError } from '../lib/errors';


function idOf(event: HttpEvent): string {
  const id = event.pathParameters?.id ?? '';
  if (!ONBOARDING_ID.test(id)) throw new ValidationError('invalid onboarding id', [{ path: 'id', message: 'must look like ob- followed by 12 hex digits' }]);
  return id;
}

function idempotencyKey(event: HttpEvent): string | undefined {
  const key = event.headers?.['idempotency-key'];
  if (key === undefined) return undefined;
  if (!/^[\x21-\x7E]{1,255}$/.test(key)) throw new ValidationError('invalid Idempotency-Key', [{ path: 'headers.Idempotency-Key', message: 'must be 1-255 printable ASCII characters' }]);
  return key;
}

/** POST /v1/onboardings: validate, plan and apply (or only plan, with dryRun). */
export const create = httpHandler(
  async (event) => {
    const input = parseOnboardingRequest(event.body);
    const deps = runtime();
    const caller = callerOf(event);
    const out = await idempotent(deps.store, `POST /v1/onboardings#${caller.principal}`, idempotencyKey(event), event.body, () => provision(deps, input, caller));
    logger.info('onboarding', { status: out.statusCode });
    return json(out.statusCode, out.body);
  },
  { body: true },
);

/** GET /v1/onboardings/{id} */
export const get = httpHandler(async (event) => json(200, recordBody(await getOnboarding(runtime(), idOf(event)))));

/** GET /v1/onboardings?cluster=&bucket=&limit=&nextToken= */
export const list = httpHandler(async (event) => {
  const q = parseListOnboardingsQuery(event.queryStringParameters ?? {});
  const page = await runtime().store.listRecords({ cluster: q.cluster, bucket: q.bucket, limit: q.limit ?? 50, nextToken: q.nextToken });
  return json(200, { items: page.items.map(recordBody), ...(page.nextToken ? { nextToken: page.nextToken } : {}) });
});

/** DELETE /v1/onboardings/{id}: removes exactly what this service added. */
export const remove = httpHandler(async (event) => {
  const id = idOf(event);
  const deps = runtime();
  const caller = callerOf(event);
  const out = await idempotent(deps.store, `DELETE /v1/onboardings/${id}#${caller.principal}`, idempotencyKey(event), { id }, async () => ({ statusCode: 200, body: await offboard(deps, id, caller) }));
  return json(out.statusCode, out.body);
});

/** POST /v1/onboardings/{id}/verify */
export const verify = httpHandler(async (event) => json(200, await verifyOnboarding(runtime(), idOf(event))));
