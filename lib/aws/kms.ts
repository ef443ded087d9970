import {
  CreateGrantCommand,
  DescribeKeyCommand,
  ListGrantsCommand,
  RetireGrantCommand,
  RevokeGrantCommand,
  GetKeyPolicyCommand,
  ListResourceTagsCommand,
  PutKeyPolicyCommand,
  type KMSClient,
} from '@aws-sdk/client-kms';
import { TransientError, ValidationError } from '../errors';
import { call, errorName, toDomainError } from './errors';

/** A failed read of a key, answered alike by every read (they run in parallel: whichever fails first answers). */
function keyReadError(e: unknown, keyArn: string, doing: string): Error {
  if (errorName(e) === 'NotFoundException')
    return new ValidationError(`key ${keyArn} does not exist`, [
      { path: 'bucket.kmsKeyArn', message: 'no such KMS key' },
    ]);
  return toDomainError(e, `${doing} key ${keyArn}`);
}

export async function describeKey(kms: KMSClient, keyArn: string): Promise<{ arn: string; awsManaged: boolean }> {
  try {
    const out = await kms.send(new DescribeKeyCommand({ KeyId: keyArn }));
    return { arn: out.KeyMetadata!.Arn!, awsManaged: out.KeyMetadata!.KeyManager === 'AWS' };
  } catch (e) {
    throw keyReadError(e, keyArn, 'describing');
  }
}

/** The key policy's text exactly as KMS returns it. */
export async function getKeyPolicyText(kms: KMSClient, keyArn: string): Promise<string> {
  try {
    const out = await kms.send(new GetKeyPolicyCommand({ KeyId: keyArn, PolicyName: 'default' }));
    return out.Policy!;
  } catch (e) {
    throw keyReadError(e, keyArn, 'reading the policy of');
  }
}

/** Writes the policy text as given (the caller keeps foreign statements exactly as read). */
export const putKeyPolicy = (kms: KMSClient, keyArn: string, text: string) =>
  call(`writing the policy of key ${keyArn}`, () =>
    kms.send(new PutKeyPolicyCommand({ KeyId: keyArn, PolicyName: 'default', Policy: text })),
  );

/** The key's tags (all pages). */
export async function getKeyTags(kms: KMSClient, keyArn: string): Promise<[string, string][]> {
  const out: [string, string][] = [];
  let Marker: string | undefined;
  do {
    const page = await kms.send(new ListResourceTagsCommand({ KeyId: keyArn, Marker })).catch((e: unknown) => {
      throw keyReadError(e, keyArn, 'reading the tags of');
    });
    out.push(...(page.Tags ?? []).map((t): [string, string] => [t.TagKey ?? '', t.TagValue ?? '']));
    Marker = page.Truncated ? page.NextMarker : undefined;
  } while (Marker);
  return out;
}

// ---------- grants (KMS Developer Guide, "Grants in AWS KMS"; API Reference CreateGrant/ListGrants/RetireGrant) ----------

/** A grant as ListGrants answers it, in the fields the service reads. */
export interface KeyGrantEntry {
  grantId: string;
  name?: string;
  granteePrincipal: string;
  retiringPrincipal?: string;
  operations: string[];
  constraints?: { EncryptionContextSubset?: Record<string, string>; EncryptionContextEquals?: Record<string, string> };
}

/**
 * The grants of a key to one grantee principal (all pages). ListGrants is always filtered by `GranteePrincipal`: a
 * key may hold 50,000 grants, and only the grantee's are ever ours to read.
 */
export async function listGrantsFor(kms: KMSClient, keyArn: string, grantee: string): Promise<KeyGrantEntry[]> {
  const out: KeyGrantEntry[] = [];
  let Marker: string | undefined;
  do {
    const page = await kms
      .send(new ListGrantsCommand({ KeyId: keyArn, GranteePrincipal: grantee, Limit: 100, Marker }))
      .catch((e: unknown) => {
        throw keyReadError(e, keyArn, 'listing the grants of');
      });
    for (const g of page.Grants ?? []) {
      out.push({
        grantId: g.GrantId!,
        ...(g.Name ? { name: g.Name } : {}),
        granteePrincipal: g.GranteePrincipal!,
        ...(g.RetiringPrincipal ? { retiringPrincipal: g.RetiringPrincipal } : {}),
        operations: [...(g.Operations ?? [])].map(String).sort(),
        ...(g.Constraints ? { constraints: g.Constraints as KeyGrantEntry['constraints'] } : {}),
      });
    }
    Marker = page.Truncated ? page.NextMarker : undefined;
  } while (Marker);
  return out;
}

export interface CreateGrantInput {
  keyArn: string;
  name: string;
  granteePrincipal: string;
  retiringPrincipal: string;
  operations: string[];
}

/** IAM is eventually consistent: KMS may refuse a role created a moment ago as a grantee. A bounded wait, then a 503. */
const GRANTEE_DELAYS_MS = [250, 500, 1000, 2000, 4000];
const wait = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Creates the grant. With a Name, CreateGrant is idempotent: the same name and parameters again answer the existing
 * grant's id (API Reference, CreateGrant `Name`), so a retry after a lost answer makes no second grant.
 */
export async function createGrant(kms: KMSClient, g: CreateGrantInput, sleep = wait): Promise<string> {
  const what = `granting ${g.granteePrincipal} the use of key ${g.keyArn}`;
  for (let attempt = 0; ; attempt++) {
    try {
      const out = await kms.send(
        new CreateGrantCommand({
          KeyId: g.keyArn,
          Name: g.name,
          GranteePrincipal: g.granteePrincipal,
          RetiringPrincipal: g.retiringPrincipal,
          Operations: g.operations as never,
        }),
      );
      return out.GrantId!;
    } catch (e) {
      if (errorName(e) === 'InvalidArnException') {
        if (attempt < GRANTEE_DELAYS_MS.length) {
          await sleep(GRANTEE_DELAYS_MS[attempt]);
          continue;
        }
        throw new TransientError(`${what}: KMS does not see the role yet (IAM propagation); retry in a minute`, {
          cause: e,
        });
      }
      throw toDomainError(e, what);
    }
  }
}

/**
 * Retires a grant by key and id (the service is its retiring principal). False when it was already gone: a repeated
 * removal is not a failure.
 */
export async function retireGrant(kms: KMSClient, keyArn: string, grantId: string): Promise<boolean> {
  try {
    await kms.send(new RetireGrantCommand({ KeyId: keyArn, GrantId: grantId }));
    return true;
  } catch (e) {
    if (errorName(e) === 'NotFoundException') return false;
    throw toDomainError(e, `retiring grant ${grantId} of key ${keyArn}`);
  }
}

/** Revokes a grant (for a grant whose retiring principal is not the service: needs kms:RevokeGrant on the key). */
export async function revokeGrant(kms: KMSClient, keyArn: string, grantId: string): Promise<boolean> {
  try {
    await kms.send(new RevokeGrantCommand({ KeyId: keyArn, GrantId: grantId }));
    return true;
  } catch (e) {
    if (errorName(e) === 'NotFoundException') return false;
    throw toDomainError(e, `revoking grant ${grantId} of key ${keyArn}`);
  }
}
