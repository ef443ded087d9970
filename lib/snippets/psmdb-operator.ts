import { defaultStorageName } from './defaults';
import { toYaml, trimPrefix, withComments } from './format';
import type { Access, BucketRef } from './types';

export interface PsmdbS3Storage {
  type: 's3';
  s3: { bucket: string; region: string; prefix?: string };
}

export interface PsmdbBackupStoragesPatch {
  spec: { backup: { storages: Record<string, PsmdbS3Storage> } };
}

/**
 * A `spec.backup.storages` entry to merge into the PerconaServerMongoDB CR. No `credentialsSecret` (IRSA),
 * and no `serverSideEncryption`: with IRSA the operator drops it, so S3 bucket default encryption must do.
 */
export function buildPsmdbBackupStorages(bucket: BucketRef, access: Access): PsmdbBackupStoragesPatch {
  const prefix = trimPrefix(bucket.prefix);
  const storage: PsmdbS3Storage = {
    type: 's3',
    s3: {
      bucket: bucket.name,
      region: bucket.region,
      ...(prefix !== undefined && { prefix }),
    },
  };
  return { spec: { backup: { storages: { [defaultStorageName(bucket, access)]: storage } } } };
}

export function renderPsmdbBackupStorages(bucket: BucketRef, access: Access): string {
  return withComments(
    [
      'Merge into your PerconaServerMongoDB custom resource (spec.backup.storages).',
      'No credentialsSecret on purpose: the operator and pbm-agent use the IAM role of their service accounts.',
    ],
    toYaml(buildPsmdbBackupStorages(bucket, access)),
  );
}
