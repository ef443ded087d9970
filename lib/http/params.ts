import { ValidationError } from '../errors';
import { ONBOARDING_ID } from '../onboarding/model/onboarding';
import type { HttpEvent } from './handler';

/** The onboarding id of a `/v1/onboardings/{id}` route. */
export function idOf(event: HttpEvent): string {
  const id = event.pathParameters?.id ?? '';
  if (!ONBOARDING_ID.test(id))
    throw new ValidationError('invalid onboarding id', [
      { path: 'id', message: 'must look like ob- followed by 12 hex digits' },
    ]);
  return id;
}

export function idempotencyKey(event: HttpEvent): string | undefined {
  const key = event.headers?.['idempotency-key'];
  if (key === undefined) return undefined;
  if (!/^[\x21-\x7E]{1,255}$/.test(key))
    throw new ValidationError('invalid Idempotency-Key', [
      { path: 'headers.Idempotency-Key', message: 'must be 1-255 printable ASCII characters' },
    ]);
  return key;
}

/** `?dryRun=true|false` of DELETE. */
export function dryRunOf(event: HttpEvent): boolean {
  const v = event.queryStringParameters?.dryRun;
  if (v === undefined) return false;
  if (v === 'true' || v === 'false') return v === 'true';
  throw new ValidationError('invalid dryRun', [{ path: 'dryRun', message: 'must be true or false' }]);
}
