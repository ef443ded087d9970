/**
 * Domain errors. Each carries the HTTP status it maps to, whether its message may be shown to the caller,
 * and the name a Step Functions state machine can branch on. Mapped to HTTP once, in lib/http/problem.ts.
 */
export interface FieldError {
  path: string;
  message: string;
}

export abstract class ServiceError extends Error {
  abstract readonly status: number;
  /** 4xx messages are for the caller; 5xx messages stay in the logs */
  get expose(): boolean {
    return this.status < 500;
  }
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

export class ValidationError extends ServiceError {
  readonly status = 400;
  constructor(
    message: string,
    readonly errors: FieldError[] = [],
  ) {
    super(message);
  }
}

export class UnsupportedMediaTypeError extends ServiceError {
  readonly status = 415;
}

export class PayloadTooLargeError extends ServiceError {
  readonly status = 413;
}

export class NotAllowedError extends ServiceError {
  readonly status = 403;
  constructor(
    message: string,
    readonly rule?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export class NotFoundError extends ServiceError {
  readonly status = 404;
}

export class ConflictError extends ServiceError {
  readonly status = 409;
  constructor(
    message: string,
    /** the request fields the conflict is about, when it is about some */
    readonly errors: FieldError[] = [],
  ) {
    super(message);
  }
}

/**
 * A conflict with another request in flight (a lock held past the wait, a record changed between read and write, an
 * Idempotency-Key still in progress): the same 409 over HTTP, but a retry of the same request may succeed, so a state
 * machine sees it as a TransientError. Every other ConflictError needs the caller to change something.
 */
export class ContentionError extends ConflictError {}

export class QuotaExceededError extends ServiceError {
  readonly status = 409;
  constructor(
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

/** AWS throttled or failed in a way that a later retry may fix. */
export class TransientError extends ServiceError {
  readonly status = 503;
}

/** A bug or an AWS answer we did not expect; never shown to the caller. */
export class InternalError extends ServiceError {
  readonly status = 500;
}

/**
 * A change that failed after it had written something and could not be undone: a 503 whose detail tells the
 * caller what to do (retry the same request, or DELETE). Its message is written for the caller.
 */
export class PartiallyAppliedError extends TransientError {
  override get expose(): boolean {
    return true;
  }
}

/** The function's time ran out before the request finished (or before a step could start safely): retry it. */
export class DeadlineError extends TransientError {
  override get expose(): boolean {
    return true;
  }
}
