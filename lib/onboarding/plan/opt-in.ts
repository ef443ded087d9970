import { ConflictError, type FieldError, type ServiceError } from '../../errors';
import { tagValue } from '../model/desired';
import type { Mode } from '../model/onboarding';
import type { ObservedOptIn } from '../gather/observe';
import { MANAGED_TAG } from './statements';

/**
 * Pure: the owner's opt-in, in every mode. A bucket or KMS key is granted to a workload only when its owner opted
 * in (tag `s3-onboarding-managed=true`), whether the service edits its policy (bucket-policy mode) or not
 * (same account, role-in-bucket-account: the grant is the role's own policy). A tagged bucket also needs S3 ABAC on:
 * only then is its tag `aws:ResourceTag`, which the provisioner's bucket-policy writes and the workload boundary are
 * conditioned on. Refused from what was read, before any write.
 */

/** The command an owner runs to opt a bucket in (ABAC on first: with it on, bucket tags are set through S3 Control). */
const abacCommand = (bucket: string): string =>
  `aws s3api put-bucket-abac --bucket ${bucket} --abac-status Status=Enabled`;
const bucketTagCommand = (accountId: string, bucket: string): string =>
  `aws s3control tag-resource --account-id ${accountId} --resource-arn arn:aws:s3:::${bucket} --tags Key=${MANAGED_TAG},Value=true`;
const keyTagCommand = (keyArn: string): string =>
  `aws kms tag-resource --key-id ${keyArn} --tags TagKey=${MANAGED_TAG},TagValue=true`;

/** A 409 naming every field whose resource is not opted in (bucket.name, bucket.kmsKeyArn), or undefined. */
export function optInRefusal(mode: Mode, optIn: ObservedOptIn | undefined): ServiceError | undefined {
  if (!optIn) return undefined;
  const problems: { field: FieldError; detail: string }[] = [];
  const b = optIn.bucket;
  if (tagValue(b.tags, MANAGED_TAG) !== 'true') {
    problems.push({
      field: { path: 'bucket.name', message: `bucket ${b.bucket} is not tagged ${MANAGED_TAG}=true by its owner` },
      detail: `bucket ${b.bucket} is not opted in to access granted by s3-onboarding (account ${b.accountId}, mode ${mode}): its owner enables S3 ABAC on it and tags it ${MANAGED_TAG}=true (${abacCommand(b.bucket)}; ${bucketTagCommand(b.accountId, b.bucket)}), then retry`,
    });
  } else if (!b.abac) {
    problems.push({
      field: {
        path: 'bucket.name',
        message: `bucket ${b.bucket} is tagged ${MANAGED_TAG}=true but S3 ABAC is off on it, so the tag is not aws:ResourceTag`,
      },
      detail: `bucket ${b.bucket} (account ${b.accountId}, mode ${mode}) is tagged ${MANAGED_TAG}=true but S3 attribute-based access control (ABAC) is off on it: the tag counts as aws:ResourceTag only while ABAC is on, and the provisioner's policy writes and the workload boundary rely on it. Its owner enables it (${abacCommand(b.bucket)}), then retry`,
    });
  }
  if (optIn.key && tagValue(optIn.key.tags, MANAGED_TAG) !== 'true') {
    const k = optIn.key.keyArn;
    problems.push({
      field: { path: 'bucket.kmsKeyArn', message: `key ${k} is not tagged ${MANAGED_TAG}=true by its owner` },
      detail: `key ${k} is not opted in to use granted by s3-onboarding (mode ${mode}): its owner tags it ${MANAGED_TAG}=true (${keyTagCommand(k)}), then retry`,
    });
  }
  if (!problems.length) return undefined;
  return new ConflictError(
    problems.map((p) => p.detail).join('; '),
    problems.map((p) => p.field),
  );
}
