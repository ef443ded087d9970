import { ConditionalCheckFailedException, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  BatchWriteCommand,
  DynamoDBDocumentClient,
  type PutCommand,
  type DeleteCommand,
  type UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { TransientError } from '../errors';
import { IdentityRepository } from './identities';
import { LockRepository } from './locks';
import { PolicyQueue } from './policy-queue';
import { ProviderRepository } from './providers';
import { RecordRepository } from './records';

/**
 * Records, identities, bindings, provider references, idempotency keys, locks and queued policy changes in one
 * DynamoDB table (pk/sk, one index `byKey` on gsi1pk/gsi1sk), each behind its repository: the service reaches
 * DynamoDB only through them. Every write that depends on what was read is conditional: a lost race becomes a
 * ConflictError, never a silent overwrite. Documents are stored as JSON text, so request data (tag keys such as
 * `constructor`) never becomes a DynamoDB map key.
 *
 * Access patterns, none of them a Scan:
 * - an onboarding by id, an identity by key, a binding by key, a provider by ARN: GetItem (strongly consistent);
 * - the onboardings of a cluster, a bucket or a requester, or all of them: Query on `byKey`, then BatchGet, at
 *   most LIST_ROUNDS of each a page (records.ts);
 * - whether an OIDC provider is still used: its reference item (`PROV#<arn>`, the identities trusting it).
 */

const isConditionFailed = (e: unknown) =>
  e instanceof ConditionalCheckFailedException || (e as Error)?.name === 'ConditionalCheckFailedException';

export class Store {
  readonly doc: DynamoDBDocumentClient;
  readonly records = new RecordRepository(this);
  readonly identities = new IdentityRepository(this);
  readonly providers = new ProviderRepository(this);
  readonly locks: LockRepository;
  /** the changes waiting for a shared resource policy's lease */
  readonly policyQueue = new PolicyQueue(this);

  constructor(
    readonly table: string,
    readonly client: DynamoDBClient = new DynamoDBClient({}),
    readonly now: () => number = Date.now,
    /** how long a lock holder keeps a lock without renewing it */
    lockLeaseMs = 30_000,
  ) {
    this.doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
    this.locks = new LockRepository(this, lockLeaseMs);
  }

  /** Sends a conditional write: true when it was made, false when its condition did not hold. */
  async conditionally(command: PutCommand | UpdateCommand | DeleteCommand): Promise<boolean> {
    try {
      await this.doc.send(command as PutCommand);
      return true;
    } catch (e) {
      if (isConditionFailed(e)) return false;
      throw e;
    }
  }

  /** Unconditional puts and deletes, 25 to a BatchWriteItem; what DynamoDB leaves unprocessed is sent again. */
  async batchWrite(requests: Record<string, unknown>[]): Promise<void> {
    for (let i = 0; i < requests.length; i += 25) {
      let batch: Record<string, unknown>[] | undefined = requests.slice(i, i + 25);
      for (let attempt = 0; batch?.length; attempt++) {
        if (attempt === 5) throw new TransientError('DynamoDB left writes unprocessed after 5 attempts; retry');
        if (attempt) await new Promise((r) => setTimeout(r, 20 * 2 ** attempt));
        const out = await this.doc.send(new BatchWriteCommand({ RequestItems: { [this.table]: batch as never } }));
        batch = out.UnprocessedItems?.[this.table] as Record<string, unknown>[] | undefined;
      }
    }
  }

  /** BatchGetItem, 100 keys to a call; what DynamoDB leaves unprocessed is asked again, never silently dropped. */
  async getMany(keys: { pk: string; sk: string }[]): Promise<Record<string, unknown>[]> {
    const out: Record<string, unknown>[] = [];
    for (let i = 0; i < keys.length; i += 100) {
      let pending: { pk: string; sk: string }[] | undefined = keys.slice(i, i + 100);
      for (let attempt = 0; pending?.length; attempt++) {
        if (attempt === 5) throw new TransientError('DynamoDB left reads unprocessed after 5 attempts; retry');
        if (attempt) await new Promise((r) => setTimeout(r, 20 * 2 ** attempt));
        const res = await this.doc.send(
          new BatchGetCommand({ RequestItems: { [this.table]: { Keys: pending, ConsistentRead: true } } }),
        );
        out.push(...(res.Responses?.[this.table] ?? []));
        pending = res.UnprocessedKeys?.[this.table]?.Keys as { pk: string; sk: string }[] | undefined;
      }
    }
    return out;
  }
}
