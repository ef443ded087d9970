import { defaultStorageName } from './defaults';
import { toYaml, trimPrefix } from './format';
import type { Access, BucketRef } from './types';

export interface SgObjectStorage {
  apiVersion: 'stackgres.io/v1beta1';
  kind: 'SGObjectStorage';
  metadata: { name: string; namespace: string };
  spec: {
    type: 's3';
    s3: { bucket: string; region: string; awsCredentials: { useIAMRole: true } };
  };
}

/**
 * SGObjectStorage has no prefix field: its `bucket` accepts `bucket/path` (CRD pattern
 * `^((s3|https?)://)?[^/]+(/[^/]*)*$`) and StackGres appends its own backup path after it.
 * `useIAMRole: true` (StackGres >= 1.18) makes WAL-G use the `<sgcluster>-patroni` service account's role.
 */
export function buildSgObjectStorage(bucket: BucketRef, access: Access, namespace: string): SgObjectStorage {
  const prefix = trimPrefix(bucket.prefix);
  return {
    apiVersion: 'stackgres.io/v1beta1',
    kind: 'SGObjectStorage',
    metadata: { name: defaultStorageName(bucket, access), namespace },
    spec: {
      type: 's3',
      s3: {
        bucket: prefix === undefined ? bucket.name : `${bucket.name}/${prefix}`,
        region: bucket.region,
        awsCredentials: { useIAMRole: true },
      },
    },
  };
}

export function renderSgObjectStorage(bucket: BucketRef, access: Access, namespace: string): string {
  return toYaml(buildSgObjectStorage(bucket, access, namespace));
}
