import {
  DescribeKeyCommand,
  GetKeyPolicyCommand,
  ListResourceTagsCommand,
  PutKeyPolicyCommand,
  type KMSClient,
} from '@aws-sdk/client-kms';
import { ValidationError } from '../errors';
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
