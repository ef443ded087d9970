import { hashBody, type Store } from '../store/store';
import type { HttpResult } from './context';

/**
 * Runs `fn` once per Idempotency-Key and body: a retry gets the first response; another body is a 409. The scope
 * names the route and the caller, so one caller's key never answers for another. The body is hashed in canonical
 * form (keys sorted), so the same fields in another order are the same request.
 */
export async function idempotent(store: Store, scope: string, key: string | undefined, body: unknown, fn: () => Promise<HttpResult>): Promise<HttpResult> {
  if (!key) return fn();
  const stored = await store.claimIdempotencyKey(scope, key, hashBody(body));
  if (stored) return stored;
  try {
    const out = await fn();
    await store.completeIdempotencyKey(scope, key, out);
    return out;
  } catch (e) {
    await store.releaseIdempotencyKey(scope, key);
    throw e;
  }
}
