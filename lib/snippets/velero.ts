import { defaultStorageName } from './defaults';
import { toYaml, trimPrefix, withComments } from './format';
import type { Access, BucketRef } from './types';

/** Keys of the AWS plugin's spec.config this service sets (all values are strings: map[string]string). */
export interface VeleroAwsConfig {
  region: string;
  kmsKeyId?: string;
}

export interface VeleroBackupStorageLocation {
  apiVersion: 'velero.io/v1';
  kind: 'BackupStorageLocation';
  metadata: { name: string; namespace: string };
  spec: {
    provider: 'aws';
    accessMode: 'ReadWrite' | 'ReadOnly';
    objectStorage: { bucket: string; prefix?: string };
    config: VeleroAwsConfig;
  };
}

/**
 * A BackupStorageLocation for velero-plugin-for-aws with IRSA: no `spec.credential` (any credentials file
 * disables IRSA in the plugin), `region` set explicitly, `kmsKeyId` when the bucket has a key (the plugin
 * then sets serverSideEncryption=aws:kms itself). A read-only grant becomes `accessMode: ReadOnly`.
 */
export function buildVeleroBsl(bucket: BucketRef, access: Access, namespace: string): VeleroBackupStorageLocation {
  const prefix = trimPrefix(bucket.prefix);
  return {
    apiVersion: 'velero.io/v1',
    kind: 'BackupStorageLocation',
    metadata: { name: defaultStorageName(bucket, access), namespace },
    spec: {
      provider: 'aws',
      accessMode: access === 'read-only' ? 'ReadOnly' : 'ReadWrite',
      objectStorage: { bucket: bucket.name, ...(prefix !== undefined && { prefix }) },
      config: {
        region: bucket.region,
        ...(bucket.kmsKeyArn !== undefined && { kmsKeyId: bucket.kmsKeyArn }),
      },
    },
  };
}

export function renderVeleroBsl(bucket: BucketRef, access: Access, namespace: string): string {
  return withComments(
    ['Velero must run without a credentials secret (velero install --no-secret), or IRSA is not used.'],
    toYaml(buildVeleroBsl(bucket, access, namespace)),
  );
}
