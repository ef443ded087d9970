import {
  IdempotencyAlreadyInProgressError,
  IdempotencyConfig,
  IdempotencyInconsistentStateError,
  IdempotencyPersistenceLayerError,
  IdempotencyValidationError,
  makeIdempotent,
} from '@aws-lambda-powertools/idempotency';
import type { Context } from 'aws-lambda';
import { ConflictError, ContentionError, TransientError } from '../../errors';
import { idempotencyStore } from '../../store/idempotency';
import type { Store } from '../../store/store';
import type { HttpResult } from '../model/deps';

/**
 * `Idempotency-Key`, with the semantics of Powertools' idempotency utility (and through it): the key is scoped by
 * route and caller, so one caller's key never answers for another; the body is hashed after a deep sort of its
 * keys, so the same fields in another order are the same request, and another body with the same key is a 409;
 * a request in flight holds its key only until its function would have timed out (the Lambda context's remaining
 * time), so a timed-out attempt never blocks its retries for long; a failed request frees its key; a completed
 * one answers every retry for 24 hours with its first response, without touching AWS.
 */

interface Keyed {
  scope: string;
  key: string;
  body: unknown;
}

export async function idempotent(
  store: Store,
  scope: string,
  key: string | undefined,
  body: unknown,
  fn: () => Promise<HttpResult>,
  context?: Context,
): Promise<HttpResult> {
  if (!key) return fn();
  const config = new IdempotencyConfig({
    eventKeyJmesPath: '[scope, key]',
    payloadValidationJmesPath: 'body',
    expiresAfterSeconds: 24 * 3600,
    throwOnNoIdempotencyKey: true,
  });
  if (context) config.registerLambdaContext(context);
  // the answer is kept as text: request data never becomes a DynamoDB map key
  const run = makeIdempotent(
    async (_keyed: Keyed): Promise<{ statusCode: number; body: string }> => {
      const out = await fn();
      return { statusCode: out.statusCode, body: JSON.stringify(out.body) };
    },
    { persistenceStore: idempotencyStore(store), config },
  );
  try {
    const out = await run({ scope, key, body });
    return { statusCode: out.statusCode, body: JSON.parse(out.body) as unknown };
  } catch (e) {
    if (e instanceof IdempotencyValidationError)
      throw new ConflictError(`Idempotency-Key ${key} was already used with a different request body`);
    if (e instanceof IdempotencyAlreadyInProgressError || e instanceof IdempotencyInconsistentStateError) {
      throw new ContentionError(
        `a request with Idempotency-Key ${key} is still in progress; retry after it finishes (at most the function's timeout)`,
      );
    }
    if (e instanceof IdempotencyPersistenceLayerError)
      throw new TransientError(`the idempotency record of Idempotency-Key ${key} could not be read or written; retry`, {
        cause: e,
      });
    throw e;
  }
}
