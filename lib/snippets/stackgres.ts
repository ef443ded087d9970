import { defaultStorageName } from './defaults';
import { addressedBucket, toYaml, toYamlStream, trimPrefix, withComments } from './format';
import { serviceAccountAnnotations } from './serviceaccount';
import type { Access, BucketRef } from './types';

/** StackGres names the patroni service account `<sgcluster>-patroni` (PatroniUtil.java:80, 136-142). */
export const STACKGRES_SA_SUFFIX = '-patroni';

interface SgObjectStorage {
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
 * `useIAMRole: true` (StackGres >= 1.18.3; 1.18.0-1.18.2 throw without secretKeySelectors) makes WAL-G use the `<sgcluster>-patroni` service account's role.
 */
function buildSgObjectStorage(bucket: BucketRef, access: Access, namespace: string): SgObjectStorage {
  const prefix = trimPrefix(bucket.prefix);
  return {
    apiVersion: 'stackgres.io/v1beta1',
    kind: 'SGObjectStorage',
    metadata: { name: defaultStorageName(bucket, access), namespace },
    spec: {
      type: 's3',
      s3: {
        bucket:
          prefix === undefined
            ? addressedBucket('stackgres', bucket)
            : `${addressedBucket('stackgres', bucket)}/${prefix}`,
        region: bucket.region,
        awsCredentials: { useIAMRole: true },
      },
    },
  };
}

export function renderSgObjectStorage(bucket: BucketRef, access: Access, namespace: string): string {
  return withComments(
    [
      'Requires StackGres 1.18.3 or later: awsCredentials.useIAMRole exists from 1.18.0 (the 1.17 CRD requires',
      'secretKeySelectors), and 1.18.0-1.18.2 fail with a NullPointerException when secretKeySelectors are absent.',
      ...(access === 'read-write'
        ? []
        : [
            `Access ${access}: restores (SGCluster initialData.restore, replicas from backups) only read. The restored`,
            'SGCluster must not use this storage in spec.configurations.backups: WAL archiving and backup Jobs',
            'would be denied.',
          ]),
    ],
    toYaml(buildSgObjectStorage(bucket, access, namespace)),
  );
}

interface SgClusterAnnotationsFragment {
  apiVersion: 'stackgres.io/v1';
  kind: 'SGCluster';
  metadata: { name: string; namespace: string };
  spec: { metadata: { annotations: { serviceAccount: Record<string, string> } } };
}

/** The SGCluster a patroni service account belongs to (undefined when the name is not `<sgcluster>-patroni`). */
export function sgClusterOf(serviceAccount: string): string | undefined {
  return serviceAccount.endsWith(STACKGRES_SA_SUFFIX) && serviceAccount.length > STACKGRES_SA_SUFFIX.length
    ? serviceAccount.slice(0, -STACKGRES_SA_SUFFIX.length)
    : undefined;
}

/**
 * The operator creates and owns `<sgcluster>-patroni` and sets its annotations from
 * `SGCluster.spec.metadata.annotations.serviceAccount` (ongres/stackgres 1.18: PatroniRole.java:92-96; the field
 * exists from 1.18.0-rc1): one fragment per cluster, to merge into the existing SGClusters.
 */
function buildSgClusterAnnotations(
  namespace: string,
  serviceAccounts: readonly string[],
  roleArn: string,
): SgClusterAnnotationsFragment[] {
  return serviceAccounts.flatMap((sa) => {
    const cluster = sgClusterOf(sa);
    return cluster === undefined
      ? []
      : [
          {
            apiVersion: 'stackgres.io/v1' as const,
            kind: 'SGCluster' as const,
            metadata: { name: cluster, namespace },
            spec: { metadata: { annotations: { serviceAccount: serviceAccountAnnotations(roleArn) } } },
          },
        ];
  });
}

export function renderSgClusterAnnotations(
  namespace: string,
  serviceAccounts: readonly string[],
  roleArn: string,
): string {
  return withComments(
    [
      'StackGres 1.18.3 or later. The operator owns the <sgcluster>-patroni service account and copies these',
      'annotations onto it. Merge into each existing SGCluster (it names the cluster and namespace):',
      '  kubectl apply --server-side --field-manager=s3-onboarding -f sgcluster-annotations.yaml',
      'or add spec.metadata.annotations.serviceAccount to your own SGCluster manifests. Then restart the',
      'cluster pods (SGDbOps restart) so the EKS pod identity webhook injects the role.',
    ],
    toYamlStream(buildSgClusterAnnotations(namespace, serviceAccounts, roleArn)),
  );
}
