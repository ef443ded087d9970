import type { S3ControlClient } from '@aws-sdk/client-s3-control';
import { s3ControlSdk } from './lazy';
import type { PolicyDocument } from '../policy/types';
import { call, errorName, toDomainError } from './errors';

/** Thin adapters over S3 Control's access points (the account in `x-amz-account-id`: `AccountId`). */

export interface AccessPointSummary {
  name: string;
  arn: string;
  alias: string;
  bucket: string;
  bucketAccountId?: string;
}

const notFound = (e: unknown) => ['NoSuchAccessPoint', 'NoSuchAccessPointPolicy', 'NotFound'].includes(errorName(e));

/** Every access point of the account in the client's Region on `bucket`, in name order (all pages). */
export async function listAccessPoints(
  s3c: S3ControlClient,
  accountId: string,
  bucket: string,
): Promise<AccessPointSummary[]> {
  const out: AccessPointSummary[] = [];
  let token: string | undefined;
  do {
    const page = await call(`listing the access points of bucket ${bucket}`, () =>
      s3c.send(
        new (s3ControlSdk().ListAccessPointsCommand)({
          AccountId: accountId,
          Bucket: bucket,
          MaxResults: 1000,
          NextToken: token,
        }),
      ),
    );
    for (const a of page.AccessPointList ?? [])
      out.push({
        name: a.Name!,
        arn: a.AccessPointArn!,
        alias: a.Alias ?? '',
        bucket: a.Bucket!,
        ...(a.BucketAccountId ? { bucketAccountId: a.BucketAccountId } : {}),
      });
    token = page.NextToken;
  } while (token);
  return out;
}

/** One access point by name (undefined: there is none of that name in the account and Region). */
export async function getAccessPoint(
  s3c: S3ControlClient,
  accountId: string,
  name: string,
): Promise<AccessPointSummary | undefined> {
  try {
    const a = await s3c.send(new (s3ControlSdk().GetAccessPointCommand)({ AccountId: accountId, Name: name }));
    return {
      name: a.Name ?? name,
      arn: a.AccessPointArn ?? '',
      alias: a.Alias ?? '',
      bucket: a.Bucket ?? '',
      ...(a.BucketAccountId ? { bucketAccountId: a.BucketAccountId } : {}),
    };
  } catch (e) {
    if (notFound(e)) return undefined;
    throw toDomainError(e, `reading access point ${name}`);
  }
}

/** An access point's tags as pairs (undefined: it no longer exists). */
export async function accessPointTags(
  s3c: S3ControlClient,
  accountId: string,
  arn: string,
): Promise<[string, string][] | undefined> {
  try {
    const out = await s3c.send(
      new (s3ControlSdk().ListTagsForResourceCommand)({ AccountId: accountId, ResourceArn: arn }),
    );
    return (out.Tags ?? []).map((t) => [t.Key!, t.Value ?? '']);
  } catch (e) {
    if (notFound(e)) return undefined;
    throw toDomainError(e, `reading the tags of access point ${arn}`);
  }
}

/** The access point's policy (undefined: it has none, or the access point is gone). */
export async function getAccessPointPolicy(
  s3c: S3ControlClient,
  accountId: string,
  name: string,
): Promise<PolicyDocument | undefined> {
  try {
    const out = await s3c.send(new (s3ControlSdk().GetAccessPointPolicyCommand)({ AccountId: accountId, Name: name }));
    return out.Policy ? (JSON.parse(out.Policy) as PolicyDocument) : undefined;
  } catch (e) {
    if (notFound(e)) return undefined;
    throw toDomainError(e, `reading the policy of access point ${name}`);
  }
}

/**
 * Creates the access point with Block Public Access all on and the service's tags. `exists`: the name is taken
 * (AccessPointAlreadyOwnedByYou: by this account, whoever made it); the caller decides by its tags whether it is
 * the one it meant to make.
 */
export async function createAccessPoint(
  s3c: S3ControlClient,
  accountId: string,
  ap: { name: string; bucket: string; tags: [string, string][] },
): Promise<{ arn: string; alias: string } | 'exists'> {
  try {
    const out = await s3c.send(
      new (s3ControlSdk().CreateAccessPointCommand)({
        AccountId: accountId,
        Name: ap.name,
        Bucket: ap.bucket,
        BucketAccountId: accountId,
        PublicAccessBlockConfiguration: {
          BlockPublicAcls: true,
          IgnorePublicAcls: true,
          BlockPublicPolicy: true,
          RestrictPublicBuckets: true,
        },
        Tags: ap.tags.map(([Key, Value]) => ({ Key, Value })),
      }),
    );
    return { arn: out.AccessPointArn!, alias: out.Alias ?? '' };
  } catch (e) {
    if (errorName(e) === 'AccessPointAlreadyOwnedByYou') return 'exists';
    throw toDomainError(e, `creating access point ${ap.name} on bucket ${ap.bucket}`);
  }
}

export const putAccessPointPolicy = (s3c: S3ControlClient, accountId: string, name: string, policy: PolicyDocument) =>
  call(`writing the policy of access point ${name}`, () =>
    s3c.send(
      new (s3ControlSdk().PutAccessPointPolicyCommand)({
        AccountId: accountId,
        Name: name,
        Policy: JSON.stringify(policy),
      }),
    ),
  );

/** Deletes the access point (with its policy); false when it was already gone. */
export async function deleteAccessPoint(s3c: S3ControlClient, accountId: string, name: string): Promise<boolean> {
  try {
    await s3c.send(new (s3ControlSdk().DeleteAccessPointCommand)({ AccountId: accountId, Name: name }));
    return true;
  } catch (e) {
    if (notFound(e)) return false;
    throw toDomainError(e, `deleting access point ${name}`);
  }
}
