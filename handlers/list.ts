import { callerOf, httpHandler, json } from '../lib/http/handler';
import { baseRuntime } from '../lib/runtime';
import { parseListOnboardingsQuery } from '../lib/onboarding/request/list-query';
import { listOnboardings } from '../lib/onboarding/verbs/read';
import { recordBody } from '../lib/onboarding/model/records';

/** GET /v1/onboardings?cluster=&bucket=&requester=&drift=&limit=&nextToken= */
export const handler = httpHandler(async (event) => {
  const q = parseListOnboardingsQuery(event.queryStringParameters ?? {});
  const page = await listOnboardings(baseRuntime(), callerOf(event), {
    cluster: q.cluster,
    bucket: q.bucket,
    requester: q.requester,
    drift: q.drift,
    limit: q.limit ?? 50,
    nextToken: q.nextToken,
  });
  return json(200, { items: page.items.map(recordBody), ...(page.nextToken ? { nextToken: page.nextToken } : {}) });
});
