import {
  ConflictError,
  InternalError,
  NotAllowedError,
  QuotaExceededError,
  TransientError,
  ServiceError,
} from '../errors';

interface SdkError {
  name?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
  $fault?: string;
}

export const errorName = (e: unknown): string => (e as SdkError)?.name ?? '';
const httpStatusOf = (e: unknown): number | undefined => (e as SdkError)?.$metadata?.httpStatusCode;

const THROTTLING = new Set([
  'Throttling',
  'ThrottlingException',
  'TooManyRequestsException',
  'SlowDown',
  'RequestLimitExceeded',
]);

/** True when AWS said the thing is not there (the answer, not a failure). */
export const isNotFound = (e: unknown): boolean =>
  [
    'NoSuchEntityException',
    'NoSuchEntity',
    'NoSuchBucketPolicy',
    'NotFound',
    'NoSuchKey',
    'ResourceNotFoundException',
    'NotFoundException',
  ].includes(errorName(e));

/**
 * Turns an AWS SDK error into a domain error. `what` says what the service was doing, for the caller.
 * IAM's LimitExceeded is a quota (final), even though the SDK would treat it as throttling.
 */
export function toDomainError(e: unknown, what: string): ServiceError {
  if (e instanceof ServiceError) return e;
  const name = errorName(e);
  const status = httpStatusOf(e);
  if (
    name === 'LimitExceededException' ||
    name === 'LimitExceeded' ||
    name === 'PolicyTooLarge' ||
    name === 'TooManyAccessPoints'
  ) {
    return new QuotaExceededError(`${what}: ${(e as SdkError).message ?? name}`);
  }
  if (name === 'AccessDenied' || name === 'AccessDeniedException' || status === 403) {
    // AWS's own message names the provisioner's policies: it stays in the logs (cause), never in the answer
    return new NotAllowedError(
      `${what}: AWS denied the provisioner role (${name || 'AccessDenied'})`,
      'aws-access-denied',
      { cause: e },
    );
  }
  if (name === 'MalformedPolicy' || name === 'MalformedPolicyDocument' || name === 'MalformedPolicyDocumentException') {
    // e.g. a statement someone else wrote that names a deleted principal: AWS refuses the whole policy
    return new ConflictError(`${what}: AWS refused the policy (${(e as SdkError).message ?? name})`);
  }
  if (
    name === 'EntityAlreadyExistsException' ||
    name === 'ConcurrentModificationException' ||
    name === 'EntityTemporarilyUnmodifiableException'
  ) {
    return new ConflictError(`${what}: ${(e as SdkError).message ?? name}; retry the request`);
  }
  if (
    THROTTLING.has(name) ||
    (status !== undefined && status >= 500) ||
    (e as SdkError).$fault === 'server' ||
    name === 'TimeoutError' ||
    name === 'ECONNRESET'
  ) {
    return new TransientError(`${what}: AWS is throttling or unavailable (${name}); retry later`, { cause: e });
  }
  return new InternalError(`${what}: unexpected AWS error ${name}`, { cause: e });
}

/** Runs one AWS call and maps its failure. */
export async function call<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw toDomainError(e, what);
  }
}

/** Runs one AWS read whose "not found" answer is a valid result. */
export async function maybe<T>(what: string, fn: () => Promise<T>): Promise<T | undefined> {
  try {
    return await fn();
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw toDomainError(e, what);
  }
}
