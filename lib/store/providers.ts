import { DeleteCommand, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Store } from './store';

/**
 * IAM OIDC providers the service created, and which identities trust them (`PROV#<arn>`): a provider goes only
 * once none does, and one being deleted is not adopted meanwhile.
 */
export class ProviderRepository {
  constructor(private readonly t: Store) {}

  /** Adds a user; false while the provider is being deleted (the caller retries later). */
  async addUser(arn: string, identityKey: string): Promise<boolean> {
    return this.t.conditionally(
      new UpdateCommand({
        TableName: this.t.table,
        Key: { pk: `PROV#${arn}`, sk: 'PROVIDER' },
        UpdateExpression: 'ADD #users :u SET #type = :t',
        ConditionExpression: 'attribute_not_exists(deletingSince) OR deletingSince < :stale',
        ExpressionAttributeNames: { '#users': 'users', '#type': 'type' },
        ExpressionAttributeValues: { ':u': new Set([identityKey]), ':t': 'provider', ':stale': this.t.now() - 60_000 },
      }),
    );
  }

  /** The identities (other than `except`) that trust the provider. */
  async users(arn: string, except?: string): Promise<string[]> {
    const out = await this.t.doc.send(
      new GetCommand({ TableName: this.t.table, Key: { pk: `PROV#${arn}`, sk: 'PROVIDER' }, ConsistentRead: true }),
    );
    return [...((out.Item?.users as Set<string> | undefined) ?? [])].filter((u) => u !== except);
  }

  async removeUser(arn: string, identityKey: string): Promise<void> {
    await this.t.doc.send(
      new UpdateCommand({
        TableName: this.t.table,
        Key: { pk: `PROV#${arn}`, sk: 'PROVIDER' },
        UpdateExpression: 'DELETE #users :u',
        ExpressionAttributeNames: { '#users': 'users' },
        ExpressionAttributeValues: { ':u': new Set([identityKey]) },
      }),
    );
  }

  /** Marks the provider as being deleted, only while no identity uses it; adopters wait until it is gone. */
  async markDeleting(arn: string): Promise<boolean> {
    return this.t.conditionally(
      new UpdateCommand({
        TableName: this.t.table,
        Key: { pk: `PROV#${arn}`, sk: 'PROVIDER' },
        UpdateExpression: 'SET deletingSince = :now, #type = :t',
        ConditionExpression: 'attribute_not_exists(#users) OR size(#users) = :zero',
        ExpressionAttributeNames: { '#users': 'users', '#type': 'type' },
        ExpressionAttributeValues: { ':now': this.t.now(), ':zero': 0, ':t': 'provider' },
      }),
    );
  }

  /** Gives up a deletion that did not happen: adopters may use the provider again at once. */
  async unmarkDeleting(arn: string): Promise<void> {
    await this.t.doc.send(
      new UpdateCommand({
        TableName: this.t.table,
        Key: { pk: `PROV#${arn}`, sk: 'PROVIDER' },
        UpdateExpression: 'REMOVE deletingSince',
      }),
    );
  }

  async forget(arn: string): Promise<void> {
    await this.t.conditionally(
      new DeleteCommand({
        TableName: this.t.table,
        Key: { pk: `PROV#${arn}`, sk: 'PROVIDER' },
        ConditionExpression: 'attribute_not_exists(#users) OR size(#users) = :zero',
        ExpressionAttributeNames: { '#users': 'users' },
        ExpressionAttributeValues: { ':zero': 0 },
      }),
    );
  }
}
