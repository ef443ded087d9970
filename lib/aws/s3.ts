import {
  DeleteBucketPolicyCommand,
  GetBucketAbacCommand,
  GetBucketLocationCommand,
  GetBucketPolicyCommand,
  GetBucketTaggingCommand,
  PutBucketPolicyCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { NotAllowedError, ValidationError } from '../errors';
import { call, errorName, isNotFound, toDomainError } from './errors';

/**
 * A failed read of a bucket, answered alike by every read (they run in parallel: whichever fails first answers):
 * missing is a 400 on the bucket's name; denied (ExpectedBucketOwner not matching answers AccessDenied too) is
 * a 403 that says both causes.
 */
function bucketReadError(e: unknown, bucket: string, expectedOwner: string, doing: string): Error {
  if (errorName(e) === 'NoSuchBucket')
    return new ValidationError(`bucket ${bucket} does not exist`, [
      { path: 'bucket.name', message: `no bucket named ${bucket}` },
    ]);
  if (errorName(e) === 'AccessDenied')
    return new NotAllowedError(
      `bucket ${bucket} is not owned by account ${expectedOwner}, or the provisioner may not read it`,
      'bucket-owner',
    );
  return toDomainError(e, `${doing} bucket ${bucket}`);
}

/** The bucket's region; refuses a bucket that is missing or not owned by the expected account. */
export async function bucketRegion(s3: S3Client, bucket: string, expectedOwner: string): Promise<string> {
  try {
    const out = await s3.send(new GetBucketLocationCommand({ Bucket: bucket, ExpectedBucketOwner: expectedOwner }));
    return out.LocationConstraint || 'us-east-1';
  } catch (e) {
    throw bucketReadError(e, bucket, expectedOwner, 'reading the location of');
  }
}

/** The bucket policy's text exactly as S3 returns it, or undefined when the bucket has none. */
export async function getBucketPolicyText(s3: S3Client, bucket: string, owner: string): Promise<string | undefined> {
  try {
    const out = await s3.send(new GetBucketPolicyCommand({ Bucket: bucket, ExpectedBucketOwner: owner }));
    return out.Policy || undefined;
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw bucketReadError(e, bucket, owner, 'reading the policy of');
  }
}

/** Writes the policy text as given (the caller keeps foreign statements exactly as read). */
export const putBucketPolicy = (s3: S3Client, bucket: string, owner: string, text: string) =>
  call(`writing the policy of bucket ${bucket}`, () =>
    s3.send(new PutBucketPolicyCommand({ Bucket: bucket, ExpectedBucketOwner: owner, Policy: text })),
  );

export const deleteBucketPolicy = (s3: S3Client, bucket: string, owner: string) =>
  call(`deleting the policy of bucket ${bucket}`, () =>
    s3.send(new DeleteBucketPolicyCommand({ Bucket: bucket, ExpectedBucketOwner: owner })),
  );

/** The bucket's tags (none: an empty list); with S3 ABAC on they are its aws:ResourceTag values. */
export async function getBucketTags(s3: S3Client, bucket: string, owner: string): Promise<[string, string][]> {
  try {
    const out = await s3.send(new GetBucketTaggingCommand({ Bucket: bucket, ExpectedBucketOwner: owner }));
    return (out.TagSet ?? []).map((t): [string, string] => [t.Key ?? '', t.Value ?? '']);
  } catch (e) {
    if (errorName(e) === 'NoSuchTagSet' || isNotFound(e)) return [];
    throw bucketReadError(e, bucket, owner, 'reading the tags of');
  }
}

/**
 * Whether S3 ABAC is on for the bucket (GetBucketAbac; a bucket that never had it set answers Disabled): only
 * while it is on do the bucket's tags count as aws:ResourceTag, which the provisioner's policy writes and the
 * workload boundary are conditioned on.
 */
export async function getBucketAbac(s3: S3Client, bucket: string, owner: string): Promise<boolean> {
  try {
    const out = await s3.send(new GetBucketAbacCommand({ Bucket: bucket, ExpectedBucketOwner: owner }));
    return out.AbacStatus?.Status === 'Enabled';
  } catch (e) {
    throw bucketReadError(e, bucket, owner, 'reading the ABAC status of');
  }
}
