import type { Context } from 'aws-lambda';
import { httpHandler, json, type HttpEvent } from '../../../lib/http/handler';

const context = (remainingMs: number): Context =>
  ({
    awsRequestId: 'r-1',
    functionName: 'f',
    getRemainingTimeInMillis: () => remainingMs,
    callbackWaitsForEmptyEventLoop: false,
  }) as unknown as Context;
const event = {
  requestContext: { requestId: 'r-1' },
  routeKey: 'POST /v1/onboardings',
  headers: {},
} as unknown as HttpEvent;

describe('Function: httpHandler', () => {
  it('answers a handler that reaches the function’s timeout with a 503 saying to retry or DELETE (it was a 500)', async () => {
    const slow = httpHandler(async () => {
      await new Promise((r) => setTimeout(r, 500));
      return json(200, {});
    });
    const out = (await slow(event as never, context(60))) as {
      statusCode: number;
      body: string;
      headers: Record<string, string>;
    };
    expect(out.statusCode).toBe(503);
    expect(JSON.parse(out.body).detail).toMatch(/ran out of time .* retry the same request .* or DELETE/);
    expect(out.headers['retry-after']).toBeDefined();
  });
});
