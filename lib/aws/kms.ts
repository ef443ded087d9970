import { DescribeKeyCommand, GetKeyPolicyCommand, ListResourceTagsCommand, PutKeyPolicyCommand, type KMSClient } from '@aws-sdk/client-kms';
import { normalizeDocument } from '../policy/documents';
import type { PolicyDocument } from '../policy/types';
import { ValidationError } from '../errors';
import { call, errorName, toDomainError } from './errors';

export async function describeKey(kms: KMSClient, keyArn: string): Promise<{ arn: string; awsManaged: boolean }> {
  try {
    const out = await kms.send(new DescribeKeyCommand({ KeyId: keyArn }));
    return { arn: out.KeyMetadata!.Arn!, awsManaged: out.KeyMetadata!.KeyManager === 'AWS' };
  } catch (e) {
    if (errorName(e) === 'NotFoundException') throw new ValidationError(`key ${keyArn} does not exist`, [{ path: 'bucket.kmsKeyArn', message: 'no such KMS key' }]);
    throw toDomainError(e, `describing key ${keyArn}`);
  }
}

/** The key policy's text exactly as KMS returns it. */
export async function getKeyPolicyText(kms: KMSClient, keyArn: string): Promise<string> {
  try {
    const out = await kms.send(new GetKeyPolicyCommand({ KeyId: keyArn, PolicyName: 'default' }));
    return out.Policy!;
  } catch (e) {
    // the same answer as describeKey, whichever of the parallel reads fails first
    if (errorName(e) === 'NotFoundException') throw new ValidationError(`key ${keyArn} does not exist`, [{ path: 'bucket.kmsKeyArn', message: 'no such KMS key' }]);
    throw toDomainError(e, `reading the policy of key ${keyArn}`);
  }
}

export const getKeyPolicy = async (kms: KMSClient, keyArn: string): Promise<PolicyDocument> => normalizeDocument(JSON.parse(await getKeyPolicyText(kms, keyArn)));

/** Writes the policy text as given (the caller keeps foreign statements exactly as read). */
export const putKeyPolicy = (kms: KMSClient, keyArn: string, text: string) =>
  call(`writing the policy of key ${keyArn}`, () => kms.send(new PutKeyPolicyCommand({ KeyId: keyArn, PolicyName: 'default', Policy: text })));

/** The key's tags (all pages). */
export async function getKeyTags(kms: KMSClient, keyArn: string): Promise<[string, string][]> {
  const out: [string, string][] = [];
  let Marker: string | undefined;
  do {
    const page = await call(`reading the tags of key ${keyArn}`, () => kms.send(new ListResourceTagsCommand({ KeyId: keyArn, Marker })));
    out.push(...(page.Tags ?? []).map((t): [string, string] => [t.TagKey ?? '', t.TagValue ?? '']));
    Marker = page.Truncated ? page.NextMarker : undefined;
  } while (Marker);
  return out;
}
