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
  type FieldError,
} from '../errors';

/**
 * The one place where errors become HTTP answers: RFC 9457 `application/problem+json` bodies
 * `{ type, title, status, detail, errors?, requestId? }`. A 4xx shows the error's message as `detail`; a 5xx, or
 * anything that is not a ServiceError, shows a fixed text and never the original message or a stack.
 */

const PROBLEM_CONTENT_TYPE = 'application/problem+json';
const PROBLEM_TYPE_BASE = 'https://s3-onboarding.dev/problems/';
export const INTERNAL_DETAIL = 'An internal error occurred. Quote the request id when you report it.';
export const UNAVAILABLE_DETAIL =
  'A service this API depends on is temporarily unavailable. Retry later; quote the request id if it persists.';
/** Seconds a client should wait before retrying after a 503. */
const RETRY_AFTER_SECONDS = 5;

interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  errors?: FieldError[];
  requestId?: string;
  /** NotAllowedError: the guardrail rule that refused the request */
  rule?: string;
  /** QuotaExceededError: its details, spread */
  [extension: string]: unknown;
}

export interface ProblemResponse {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

interface Kind {
  slug: string;
  title: string;
}

/** Most specific first: QuotaExceededError and ConflictError share a status, not a type. */
const KINDS: ReadonlyArray<[abstract new (...args: never[]) => ServiceError, Kind]> = [
  [ValidationError, { slug: 'validation', title: 'Validation failed' }],
  [UnsupportedMediaTypeError, { slug: 'unsupported-media-type', title: 'Unsupported media type' }],
  [PayloadTooLargeError, { slug: 'payload-too-large', title: 'Payload too large' }],
  [NotAllowedError, { slug: 'not-allowed', title: 'Not allowed' }],
  [NotFoundError, { slug: 'not-found', title: 'Not found' }],
  [QuotaExceededError, { slug: 'quota-exceeded', title: 'Quota exceeded' }],
  [ConflictError, { slug: 'conflict', title: 'Conflict' }],
  [TransientError, { slug: 'transient', title: 'Temporarily unavailable' }],
  [InternalError, { slug: 'internal', title: 'Internal error' }],
];

const INTERNAL: Kind = { slug: 'internal', title: 'Internal error' };

/** `QuotaExceededError` → `quota-exceeded` */
export function kebabName(name: string): string {
  return name
    .replace(/Error$/, '')
    .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1-$2')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
}

function kindOf(err: ServiceError): Kind {
  for (const [cls, kind] of KINDS) if (err instanceof cls) return kind;
  // a ServiceError subclass not listed above: name it after its class
  const slug = kebabName(err.constructor.name) || 'error';
  const title = slug.charAt(0).toUpperCase() + slug.slice(1).replace(/-/g, ' ');
  return { slug, title };
}

/** Standard members an error's details may not overwrite. */
const RESERVED = new Set(['type', 'title', 'status', 'detail', 'errors', 'requestId', 'rule', 'instance']);

function render(problem: Problem, extraHeaders: Record<string, string> = {}): ProblemResponse {
  return {
    statusCode: problem.status,
    headers: { 'content-type': PROBLEM_CONTENT_TYPE, ...extraHeaders },
    body: JSON.stringify(problem),
  };
}

/** A problem+json response from its parts; `type` is derived from the title (`Not found` → …/not-found). */
export function problemJson(status: number, title: string, detail: string, errors?: FieldError[]): ProblemResponse {
  const slug =
    title
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '') || 'problem';
  const problem: Problem = { type: `${PROBLEM_TYPE_BASE}${slug}`, title, status, detail };
  if (errors !== undefined && errors.length > 0)
    problem.errors = errors.map(({ path, message }) => ({ path, message }));
  return render(problem);
}

/** Maps anything thrown to a problem+json response. */
export function problemFromError(err: unknown, requestId?: string): ProblemResponse {
  const isService =
    err instanceof ServiceError && Number.isInteger(err.status) && err.status >= 400 && err.status <= 599;
  const status = isService ? err.status : 500;
  const kind = isService ? kindOf(err) : INTERNAL;
  const exposed = isService && err.expose;

  const problem: Problem = {
    type: `${PROBLEM_TYPE_BASE}${kind.slug}`,
    title: kind.title,
    status,
    detail: exposed ? err.message : status === 503 ? UNAVAILABLE_DETAIL : INTERNAL_DETAIL,
  };
  if (exposed && (err instanceof ValidationError || err instanceof ConflictError) && err.errors.length > 0) {
    problem.errors = err.errors.map(({ path, message }) => ({ path, message }));
  }
  if (exposed && err instanceof NotAllowedError && err.rule !== undefined) problem.rule = err.rule;
  if (exposed && err instanceof QuotaExceededError) {
    for (const [key, value] of Object.entries(err.details)) {
      if (!RESERVED.has(key) && key !== '__proto__') problem[key] = value;
    }
  }
  if (requestId !== undefined && requestId !== '') problem.requestId = requestId;

  return render(problem, status === 503 ? { 'retry-after': String(RETRY_AFTER_SECONDS) } : {});
}
