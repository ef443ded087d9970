import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import type { Store } from './store';

/**
 * Where `Idempotency-Key`s are kept (lib/onboarding/verbs/idempotency.ts): Powertools' persistence layer over the
 * service's own table, under its own partition (`IDEMPOTENCY`), one layer per store.
 */

const layers = new WeakMap<Store, DynamoDBPersistenceLayer>();

export function idempotencyStore(store: Store): DynamoDBPersistenceLayer {
  let layer = layers.get(store);
  if (!layer) {
    layer = new DynamoDBPersistenceLayer({
      tableName: store.table,
      awsSdkV3Client: store.client,
      keyAttr: 'pk',
      sortKeyAttr: 'sk',
      staticPkValue: 'IDEMPOTENCY',
      expiryAttr: 'expiresAt',
      inProgressExpiryAttr: 'inProgressExpiresAt',
      statusAttr: 'idempotencyStatus',
      dataAttr: 'response',
      validationKeyAttr: 'bodyHash',
    });
    layers.set(store, layer);
  }
  return layer;
}
