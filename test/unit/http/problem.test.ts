import fc from 'fast-check';
import {
  ConflictError,
  InternalError,
  NotAllowedError,
  NotFoundError,
  PayloadTooLargeError,
  QuotaExceededError,
  ServiceError,
  TransientError,
  UnsupportedMediaTypeError,
  ValidationError,
} from '../../../lib/errors';
import {
  INTERNAL_DETAIL,
  kebabName,
  problemFromError,
  problemJson,
  UNAVAILABLE_DETAIL,
} from '../../../lib/http/problem';
import { parseOnboardingRequest } from '../../../lib/onboarding/request/request';
import { problemSchema } from '../../../lib/onboarding/request/response-schema';

const REQUEST_ID = 'c0ffee00-1234-4abc-8def-0123456789ab';
const TYPE = 'https://s3-onboarding.dev/problems/';
const PROBLEM_HEADERS = { 'content-type': 'application/problem+json' };

class TeapotError extends ServiceError {
  readonly status = 418;
}

class PolicyTooLargeQuotaError extends ServiceError {
  readonly status = 409;
}

describe('Function: problemFromError', () => {
  // [error, status, exact body without requestId]
  const cases: Array<[string, unknown, number, Record<string, unknown>]> = [
    [
      'ValidationError',
      new ValidationError('The request body is invalid: 1 error.', [
        { path: 'bucket.name', message: 'must be 3-63 characters (S3 bucket naming rules)' },
      ]),
      400,
      {
        type: `${TYPE}validation`,
        title: 'Validation failed',
        status: 400,
        detail: 'The request body is invalid: 1 error.',
        errors: [{ path: 'bucket.name', message: 'must be 3-63 characters (S3 bucket naming rules)' }],
      },
    ],
    [
      'ValidationError without field errors',
      new ValidationError('the request body is not valid JSON'),
      400,
      {
        type: `${TYPE}validation`,
        title: 'Validation failed',
        status: 400,
        detail: 'the request body is not valid JSON',
      },
    ],
    [
      'UnsupportedMediaTypeError',
      new UnsupportedMediaTypeError('the request body must be application/json'),
      415,
      {
        type: `${TYPE}unsupported-media-type`,
        title: 'Unsupported media type',
        status: 415,
        detail: 'the request body must be application/json',
      },
    ],
    [
      'PayloadTooLargeError',
      new PayloadTooLargeError('the request body is over 65536 bytes'),
      413,
      {
        type: `${TYPE}payload-too-large`,
        title: 'Payload too large',
        status: 413,
        detail: 'the request body is over 65536 bytes',
      },
    ],
    [
      'NotAllowedError with a rule',
      new NotAllowedError('bucket demo-backups is not allowed for cluster demo', 'buckets'),
      403,
      {
        type: `${TYPE}not-allowed`,
        title: 'Not allowed',
        status: 403,
        detail: 'bucket demo-backups is not allowed for cluster demo',
        rule: 'buckets',
      },
    ],
    [
      'NotAllowedError without a rule',
      new NotAllowedError('caller may not onboard'),
      403,
      { type: `${TYPE}not-allowed`, title: 'Not allowed', status: 403, detail: 'caller may not onboard' },
    ],
    [
      'NotFoundError',
      new NotFoundError('no onboarding ob-123'),
      404,
      { type: `${TYPE}not-found`, title: 'Not found', status: 404, detail: 'no onboarding ob-123' },
    ],
    [
      'ConflictError',
      new ConflictError('Idempotency-Key k1 was used with another body'),
      409,
      {
        type: `${TYPE}conflict`,
        title: 'Conflict',
        status: 409,
        detail: 'Idempotency-Key k1 was used with another body',
      },
    ],
    [
      'QuotaExceededError',
      new QuotaExceededError('the trust policy is over the quota', {
        trustPolicySize: 2100,
        quota: 2048,
        clustersThatFit: 9,
      }),
      409,
      {
        type: `${TYPE}quota-exceeded`,
        title: 'Quota exceeded',
        status: 409,
        detail: 'the trust policy is over the quota',
        trustPolicySize: 2100,
        quota: 2048,
        clustersThatFit: 9,
      },
    ],
    [
      'QuotaExceededError whose details name standard members',
      new QuotaExceededError('over', {
        status: 200,
        type: 'x',
        title: 'x',
        detail: 'x',
        errors: [],
        rule: 'x',
        requestId: 'x',
        limit: 1,
      }),
      409,
      { type: `${TYPE}quota-exceeded`, title: 'Quota exceeded', status: 409, detail: 'over', limit: 1 },
    ],
    [
      'a ServiceError subclass it does not list (4xx)',
      new TeapotError('short and stout'),
      418,
      { type: `${TYPE}teapot`, title: 'Teapot', status: 418, detail: 'short and stout' },
    ],
    [
      'a subclass of a listed ServiceError',
      new (class SubNotFound extends NotFoundError {})('gone'),
      404,
      { type: `${TYPE}not-found`, title: 'Not found', status: 404, detail: 'gone' },
    ],
    [
      'TransientError',
      new TransientError('Throttling: Rate exceeded for arn:aws:iam::300000000003:role/x'),
      503,
      { type: `${TYPE}transient`, title: 'Temporarily unavailable', status: 503, detail: UNAVAILABLE_DETAIL },
    ],
    [
      'InternalError',
      new InternalError('unexpected IAM answer for role s3ob-secret', { cause: new Error('raw') }),
      500,
      { type: `${TYPE}internal`, title: 'Internal error', status: 500, detail: INTERNAL_DETAIL },
    ],
    [
      'a plain Error',
      new TypeError("Cannot read properties of undefined (reading 'accountId')"),
      500,
      { type: `${TYPE}internal`, title: 'Internal error', status: 500, detail: INTERNAL_DETAIL },
    ],
    [
      'a thrown string',
      'boom',
      500,
      { type: `${TYPE}internal`, title: 'Internal error', status: 500, detail: INTERNAL_DETAIL },
    ],
    [
      'undefined',
      undefined,
      500,
      { type: `${TYPE}internal`, title: 'Internal error', status: 500, detail: INTERNAL_DETAIL },
    ],
    [
      'an HTTP-looking error that is no ServiceError',
      Object.assign(new Error('Unprocessable Entity'), { statusCode: 422, expose: true }),
      500,
      { type: `${TYPE}internal`, title: 'Internal error', status: 500, detail: INTERNAL_DETAIL },
    ],
  ];

  it.each(cases)('maps %s', (_name, error, status, body) => {
    const response = problemFromError(error, REQUEST_ID);
    expect(response.statusCode).toBe(status);
    expect(response.headers).toStrictEqual(
      status === 503 ? { ...PROBLEM_HEADERS, 'retry-after': '5' } : PROBLEM_HEADERS,
    );
    expect(JSON.parse(response.body)).toStrictEqual({ ...body, requestId: REQUEST_ID });
  });

  it.each(cases)('answers %s with a body the Problem schema accepts', (_name, error) => {
    expect(() => problemSchema.parse(JSON.parse(problemFromError(error, REQUEST_ID).body))).not.toThrow();
  });

  it('writes the members in a fixed order', () => {
    const response = problemFromError(new NotAllowedError('no', 'clusters'), 'r1');
    expect(response.body).toBe(
      '{"type":"https://s3-onboarding.dev/problems/not-allowed","title":"Not allowed","status":403,"detail":"no","rule":"clusters","requestId":"r1"}',
    );
  });

  it('leaves requestId out when there is none', () => {
    expect(JSON.parse(problemFromError(new NotFoundError('no onboarding ob-1')).body)).toStrictEqual({
      type: `${TYPE}not-found`,
      title: 'Not found',
      status: 404,
      detail: 'no onboarding ob-1',
    });
    expect(JSON.parse(problemFromError(new NotFoundError('x'), '').body)).not.toHaveProperty('requestId');
  });

  it('keeps a QuotaExceededError whose details hold __proto__ from changing the body prototype', () => {
    const details = JSON.parse('{"__proto__":{"polluted":true},"quota":1}') as Record<string, unknown>;
    const body = JSON.parse(problemFromError(new QuotaExceededError('over', details)).body) as Record<string, unknown>;
    expect(body).toStrictEqual({
      type: `${TYPE}quota-exceeded`,
      title: 'Quota exceeded',
      status: 409,
      detail: 'over',
      quota: 1,
    });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('answers 500 for a ServiceError subclass with a status that is no HTTP error', () => {
    class OddError extends ServiceError {
      readonly status = 302;
    }
    const response = problemFromError(new OddError('redirect me to http://evil'));
    expect(response.statusCode).toBe(500);
    expect(response.body).not.toContain('evil');
  });

  it('names an unlisted 409 subclass after its class', () => {
    expect(JSON.parse(problemFromError(new PolicyTooLargeQuotaError('x')).body)).toMatchObject({
      type: `${TYPE}policy-too-large-quota`,
      title: 'Policy too large quota',
    });
  });

  it('turns a real validation failure into a 400 listing each field', () => {
    let error: unknown;
    try {
      parseOnboardingRequest({
        workload: { type: 'ec2', instanceRoleArn: 'arn:aws-cn:iam::200000000002:role/r' },
        bucket: { name: 'b', region: 'eu-west-1' },
        tool: 'pbm',
      });
    } catch (e) {
      error = e;
    }
    expect(JSON.parse(problemFromError(error, REQUEST_ID).body)).toStrictEqual({
      type: `${TYPE}validation`,
      title: 'Validation failed',
      status: 400,
      detail: 'The request body is invalid: 2 errors.',
      errors: [
        { path: 'workload.instanceRoleArn', message: 'only the aws partition is supported (arn:aws:…)' },
        { path: 'bucket.name', message: 'must be 3-63 characters (S3 bucket naming rules)' },
      ],
      requestId: REQUEST_ID,
    });
  });

  describe('5xx answers', () => {
    const SECRET = 'arn:aws:iam::300000000003:role/SECRET-internal-role';

    it.each([
      ['InternalError', new InternalError(`AccessDenied for ${SECRET}`, { cause: new Error(SECRET) })],
      ['TransientError', new TransientError(`Throttling on ${SECRET}`)],
      ['Error', new Error(`AccessDenied for ${SECRET}`)],
      [
        'a custom 5xx ServiceError',
        new (class BackendError extends ServiceError {
          readonly status = 502;
        })(SECRET),
      ],
    ])('never show the message or the stack of %s', (_name, error) => {
      const { body } = problemFromError(error, REQUEST_ID);
      expect(body).not.toContain('SECRET');
      expect(body).not.toContain('AccessDenied');
      expect(body).not.toContain('Throttling');
      expect(body).not.toMatch(/\bat .*\.(ts|js):\d+/);
      expect(body).not.toContain((error as Error).stack!.split('\n')[1]!.trim());
    });

    it('never show any message of a 5xx or non-ServiceError', () => {
      const message = fc.string({ minLength: 1 }).map((s) => `X7q${s}`);
      const error = fc.oneof(
        message.map((m) => new InternalError(m)),
        message.map((m) => new TransientError(m)),
        message.map((m) => new Error(m)),
        message.map((m) => new RangeError(m)),
        message.map((m) => ({ message: m, status: 400, expose: true })),
      );
      fc.assert(
        fc.property(error, fc.option(fc.uuid(), { nil: undefined }), (e, requestId) => {
          const response = problemFromError(e, requestId);
          expect(response.statusCode).toBeGreaterThanOrEqual(500);
          const body = JSON.parse(response.body) as Record<string, unknown>;
          expect(Object.keys(body).sort()).toEqual(
            requestId ? ['detail', 'requestId', 'status', 'title', 'type'] : ['detail', 'status', 'title', 'type'],
          );
          expect(response.body).not.toContain('X7q');
        }),
      );
    });
  });
});

describe('Function: problemJson', () => {
  it('builds a problem from its parts, deriving the type from the title', () => {
    const response = problemJson(404, 'Not found', 'no route GET /v2/onboardings');
    expect(response).toStrictEqual({
      statusCode: 404,
      headers: PROBLEM_HEADERS,
      body: JSON.stringify({
        type: `${TYPE}not-found`,
        title: 'Not found',
        status: 404,
        detail: 'no route GET /v2/onboardings',
      }),
    });
  });

  it('adds field errors when there are some, and only their path and message', () => {
    const errors = [{ path: 'id', message: 'must be an onboarding id', extra: 'dropped' }];
    expect(JSON.parse(problemJson(400, 'Validation failed', 'bad id', errors).body)).toStrictEqual({
      type: `${TYPE}validation-failed`,
      title: 'Validation failed',
      status: 400,
      detail: 'bad id',
      errors: [{ path: 'id', message: 'must be an onboarding id' }],
    });
    expect(JSON.parse(problemJson(400, 'Validation failed', 'bad id', []).body)).not.toHaveProperty('errors');
  });

  it('answers with a body the Problem schema accepts', () => {
    expect(() =>
      problemSchema.parse(JSON.parse(problemJson(405, 'Method not allowed', 'use POST').body)),
    ).not.toThrow();
  });
});

describe('Function: kebabName', () => {
  it.each([
    ['QuotaExceededError', 'quota-exceeded'],
    ['NotFoundError', 'not-found'],
    ['IAMPolicyError', 'iam-policy'],
    ['Error', ''],
  ])('turns %s into %j', (name, expected) => {
    expect(kebabName(name)).toBe(expected);
  });
});
