import middy from '@middy/core';
import httpJsonBodyParser from '@middy/http-json-body-parser';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { DeadlineError, PayloadTooLargeError, UnsupportedMediaTypeError, ValidationError } from '../errors';
import { logger } from '../log';
import { problemFromError } from './problem';
import { countRefused, flushMetrics, recordAwsCalls, withAwsCallTally, type AwsCallTally } from '../metrics';

const MAX_BODY_BYTES = 64 * 1024;

export type HttpEvent = Omit<APIGatewayProxyEventV2, 'body'> & { body?: unknown; rawBody?: string };
export type Route = (event: HttpEvent, context: Context) => Promise<APIGatewayProxyStructuredResultV2>;

export const json = (
  statusCode: number,
  body: unknown,
  headers: Record<string, string> = {},
): APIGatewayProxyStructuredResultV2 => ({
  statusCode,
  headers: { 'content-type': 'application/json', ...headers },
  body: JSON.stringify(body),
});

/** Refuses oversized bodies before anything parses them. */
const bodyLimit = (): middy.MiddlewareObj<HttpEvent> => ({
  before: (request) => {
    const body = request.event.body;
    if (
      typeof body === 'string' &&
      Buffer.byteLength(body, request.event.isBase64Encoded ? 'base64' : 'utf8') > MAX_BODY_BYTES
    ) {
      throw new PayloadTooLargeError(`the request body is over ${MAX_BODY_BYTES} bytes`);
    }
  },
});

/** middy's body parser raises 415 both for a wrong content type and for unparsable JSON; tell them apart. */
function fromMiddyError(err: unknown): unknown {
  const e = err as { name?: string; statusCode?: number; message?: string; cause?: { package?: string } };
  // middy answers for a handler about to reach the function's timeout: what it had started may still land
  if (e?.name === 'TimeoutError' && e.cause?.package === '@middy/core') {
    return new DeadlineError(
      'the request ran out of time before it finished, and may have been applied in part: retry the same request to finish it (a retry converges), or DELETE the onboarding',
    );
  }
  if (e?.cause?.package !== '@middy/http-json-body-parser') return err;
  if (e.message === 'Unsupported Media Type')
    return new UnsupportedMediaTypeError('the request body must be application/json');
  return new ValidationError('the request body is not valid JSON', [{ path: '', message: 'must be a JSON object' }]);
}

/**
 * Wraps a route: JSON body parsing (only where the route takes a body), the body size limit, structured logs
 * with the request id, and one place where errors become problem+json.
 */
export function httpHandler(route: Route, opts: { body?: boolean } = {}) {
  const handler = middy<HttpEvent, APIGatewayProxyStructuredResultV2>().use(
    injectLambdaContext(logger, { resetKeys: true }),
  );
  // metrics: the AWS calls each request made, and refused onboardings by reason; flushed when the request ends
  const tallies = new WeakMap<object, AwsCallTally>();
  handler.use({
    after: (request) => {
      const tally = tallies.get(request.event);
      if (tally) recordAwsCalls(tally);
      flushMetrics();
    },
    onError: (request) => {
      const tally = tallies.get(request.event);
      if (tally) recordAwsCalls(tally);
      flushMetrics();
    },
  });
  handler.use({
    before: (request) => {
      logger.appendKeys({ requestId: request.event.requestContext?.requestId, route: request.event.routeKey });
      if (typeof request.event.body === 'string') request.event.rawBody = request.event.body;
    },
    onError: (request) => {
      const err = fromMiddyError(request.error);
      const requestId = request.event.requestContext?.requestId;
      const problem = problemFromError(err, requestId);
      if (problem.statusCode >= 500) logger.error('request failed', { error: err as Error });
      else logger.info('request refused', { status: problem.statusCode, detail: (err as Error)?.message });
      if (problem.statusCode < 500 && request.event.routeKey === 'POST /v1/onboardings')
        countRefused(refusalReason(problem.body));
      request.response = problem;
    },
  });
  if (opts.body) {
    handler
      .use(bodyLimit())
      .use(httpJsonBodyParser({ disableContentTypeError: false }) as middy.MiddlewareObj<HttpEvent>);
  }
  return handler.handler((event, context) => {
    const { result, tally } = withAwsCallTally(() => route(event, context));
    tallies.set(event, tally);
    return result;
  });
}

/** The problem type's last segment (`…/problems/validation-error` → `validation-error`). */
function refusalReason(body: string | undefined): string {
  try {
    const type = (JSON.parse(body ?? '{}') as { type?: string }).type ?? '';
    return type.split('/').pop() || 'unknown';
  } catch {
    return 'unknown';
  }
}

/** The caller as API Gateway's IAM authorizer (or JWT authorizer, or the local stack) names it. */
export function callerOf(event: HttpEvent): { principal: string; jwt?: { sub?: string; groups?: string[] } } {
  const ctx = event.requestContext as unknown as {
    authorizer?: { iam?: { userArn?: string }; jwt?: { claims?: Record<string, unknown> } };
  };
  const claims = ctx?.authorizer?.jwt?.claims;
  const groups = claims?.['cognito:groups'] ?? claims?.groups;
  const jwt = claims
    ? {
        sub: claims.sub as string | undefined,
        groups: Array.isArray(groups)
          ? (groups as string[])
          : typeof groups === 'string'
            ? groups
                .replace(/^\[|\]$/g, '')
                .split(/[ ,]+/)
                .filter(Boolean)
            : undefined,
      }
    : undefined;
  return {
    principal: ctx?.authorizer?.iam?.userArn ?? (claims?.sub as string | undefined) ?? 'unknown',
    ...(jwt ? { jwt } : {}),
  };
}
