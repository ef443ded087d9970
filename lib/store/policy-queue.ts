import { DeleteCommand, GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { Store } from './store';

/**
 * The queue of changes waiting for a shared resource policy's lease (lib/onboarding/act/policy-writer.ts groups
 * them into one write): one item per change under `PQ#<policy>`, marked with its outcome by the lease holder that
 * applied it, and removed by the caller that reads it. Items expire after an hour, whatever happened to them.
 */

export interface QueuedChange {
  pk: string;
  sk: string;
  /** the change as JSON text: statements are stored verbatim, whatever keys they hold */
  change: string;
  outcome?: 'written' | 'unchanged' | 'failed';
  error?: { name: string; message: string; details?: Record<string, unknown> };
}

const expiresAt = () => Math.floor(Date.now() / 1000) + 3600;

export class PolicyQueue {
  constructor(private readonly store: Store) {}

  async enqueue(item: QueuedChange): Promise<void> {
    await this.store.doc.send(
      new PutCommand({ TableName: this.store.table, Item: { ...item, type: 'policy-change', expiresAt: expiresAt() } }),
    );
  }

  async get(pk: string, sk: string): Promise<QueuedChange | undefined> {
    const out = await this.store.doc.send(
      new GetCommand({ TableName: this.store.table, Key: { pk, sk }, ConsistentRead: true }),
    );
    return out.Item as QueuedChange | undefined;
  }

  async remove(item: QueuedChange): Promise<void> {
    await this.store.doc.send(new DeleteCommand({ TableName: this.store.table, Key: { pk: item.pk, sk: item.sk } }));
  }

  /** Removes a queued change unless a holder already decided it; false when it had. */
  withdraw(pk: string, sk: string): Promise<boolean> {
    return this.store.conditionally(
      new DeleteCommand({
        TableName: this.store.table,
        Key: { pk, sk },
        ConditionExpression: 'attribute_not_exists(outcome)',
      }),
    );
  }

  /** The changes of one policy that no holder decided yet, in arrival order. */
  async undecided(pk: string): Promise<QueuedChange[]> {
    const out = await this.store.doc.send(
      new QueryCommand({
        TableName: this.store.table,
        KeyConditionExpression: 'pk = :pk',
        FilterExpression: 'attribute_not_exists(outcome)',
        ExpressionAttributeValues: { ':pk': pk },
        ConsistentRead: true,
      }),
    );
    return (out.Items ?? []) as QueuedChange[];
  }

  /**
   * Marks a change with its outcome, once: one its caller withdrew meanwhile stays withdrawn, and one a later
   * holder already marked keeps that mark (false).
   */
  mark(item: QueuedChange, outcome: Pick<QueuedChange, 'outcome' | 'error'> | undefined): Promise<boolean> {
    return this.store.conditionally(
      new PutCommand({
        TableName: this.store.table,
        Item: { ...item, ...outcome, type: 'policy-change', expiresAt: expiresAt() },
        ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(outcome)',
      }),
    );
  }
}
