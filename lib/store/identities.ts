import { DeleteCommand, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { ContentionError } from '../errors';
import type { IdentityRecord } from '../onboarding/model/records';
import type { Store } from './store';

/**
 * Workload identities (`IDENT#<key>`, versioned) and their bindings (`BIND#<binding>`: which identity a service
 * account or instance role is bound to; claimed and released conditionally, so two identities never share one).
 */
export class IdentityRepository {
  constructor(private readonly t: Store) {}

  async get(key: string): Promise<IdentityRecord | undefined> {
    const out = await this.t.doc.send(
      new GetCommand({ TableName: this.t.table, Key: { pk: `IDENT#${key}`, sk: 'IDENTITY' }, ConsistentRead: true }),
    );
    return typeof out.Item?.doc === 'string' ? (JSON.parse(out.Item.doc) as IdentityRecord) : undefined;
  }

  async getMany(keys: string[]): Promise<Map<string, IdentityRecord>> {
    const items = await this.t.getMany([...new Set(keys)].map((k) => ({ pk: `IDENT#${k}`, sk: 'IDENTITY' })));
    return new Map(items.map((i) => JSON.parse(i.doc as string) as IdentityRecord).map((r) => [r.key, r]));
  }

  async save(record: IdentityRecord, expectedVersion: number): Promise<IdentityRecord> {
    const next: IdentityRecord = {
      ...record,
      version: expectedVersion + 1,
      updatedAt: new Date(this.t.now()).toISOString(),
    };
    const put = new PutCommand({
      TableName: this.t.table,
      Item: {
        pk: `IDENT#${next.key}`,
        sk: 'IDENTITY',
        type: 'identity',
        version: next.version,
        doc: JSON.stringify(next),
      },
      ConditionExpression: expectedVersion === 0 ? 'attribute_not_exists(pk)' : 'version = :v',
      ExpressionAttributeValues: expectedVersion === 0 ? undefined : { ':v': expectedVersion },
    });
    if (!(await this.t.conditionally(put)))
      throw new ContentionError(`workload identity ${record.key} was changed by another request; retry`);
    return next;
  }

  async delete(record: IdentityRecord): Promise<void> {
    const del = new DeleteCommand({
      TableName: this.t.table,
      Key: { pk: `IDENT#${record.key}`, sk: 'IDENTITY' },
      ConditionExpression: 'version = :v',
      ExpressionAttributeValues: { ':v': record.version },
    });
    if (!(await this.t.conditionally(del)))
      throw new ContentionError(`workload identity ${record.key} was changed by another request; retry`);
  }

  /** Bindings: which identity a service account (or instance role) is bound to. */
  async bindings(bindings: string[]): Promise<Map<string, string>> {
    const items = await this.t.getMany(bindings.map((b) => ({ pk: `BIND#${b}`, sk: 'BINDING' })));
    return new Map(items.map((i) => [(i.pk as string).slice(5), i.identityKey as string]));
  }

  /** Binds to `identityKey`, unless another identity holds it (`replacing`: take it over from that one only). */
  async claimBinding(binding: string, identityKey: string, replacing?: string): Promise<boolean> {
    return this.t.conditionally(
      new PutCommand({
        TableName: this.t.table,
        Item: { pk: `BIND#${binding}`, sk: 'BINDING', type: 'binding', identityKey },
        ConditionExpression: replacing
          ? 'identityKey = :old OR identityKey = :mine'
          : 'attribute_not_exists(pk) OR identityKey = :mine',
        ExpressionAttributeValues: replacing ? { ':old': replacing, ':mine': identityKey } : { ':mine': identityKey },
      }),
    );
  }

  async releaseBinding(binding: string, identityKey: string): Promise<void> {
    await this.t.conditionally(
      new DeleteCommand({
        TableName: this.t.table,
        Key: { pk: `BIND#${binding}`, sk: 'BINDING' },
        ConditionExpression: 'identityKey = :mine',
        ExpressionAttributeValues: { ':mine': identityKey },
      }),
    );
  }
}
