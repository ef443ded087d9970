import { defaultStorageName, veleroHelmServiceAccount } from './defaults';
import { addressedBucket, toYaml, trimPrefix, withComments } from './format';
import { serviceAccountAnnotations } from './serviceaccount';
import type { Access, BucketRef, VeleroInstall } from './types';

/** Keys of the AWS plugin's spec.config this service sets (all values are strings: map[string]string). */
interface VeleroAwsConfig {
  region: string;
  kmsKeyId?: string;
}

interface VeleroBackupStorageLocation {
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
 * then sets serverSideEncryption=aws:kms itself). A restore grant becomes `accessMode: ReadOnly`: Velero then
 * runs no backups, garbage collection, deletion or repository maintenance against it, while restores (which
 * write only under restores/, as the role allows) still work.
 */
function buildVeleroBsl(bucket: BucketRef, access: Access, namespace: string): VeleroBackupStorageLocation {
  const prefix = trimPrefix(bucket.prefix);
  return {
    apiVersion: 'velero.io/v1',
    kind: 'BackupStorageLocation',
    metadata: { name: defaultStorageName(bucket, access), namespace },
    spec: {
      provider: 'aws',
      accessMode: access === 'read-write' ? 'ReadWrite' : 'ReadOnly',
      objectStorage: { bucket: addressedBucket('velero', bucket), ...(prefix !== undefined && { prefix }) },
      config: {
        region: bucket.region,
        ...(bucket.kmsKeyArn !== undefined && { kmsKeyId: bucket.kmsKeyArn }),
      },
    },
  };
}

/** How the pods get the role: IRSA (an annotated service account) or EKS Pod Identity (an association, no annotation). */
export type PodCredentials = 'irsa' | 'pod-identity';

const INSTALL_COMMENTS: Record<PodCredentials, Record<VeleroInstall['installMethod'], string[]>> = {
  irsa: {
    cli: [
      'Velero must run without a credentials secret (velero install --no-secret), or IRSA is not used.',
      'Installed with velero install: pass --sa-annotations with the annotations of serviceaccount.yaml',
      '(or run annotate.sh on the existing service account), then restart Velero.',
    ],
    helm: [
      'Velero must run without a credentials secret (chart value credentials.useSecret: false), or IRSA is not used.',
      'Installed with Helm: the chart owns the service account, so set its annotations through',
      'velero-values.yaml (helm upgrade --reuse-values -f velero-values.yaml), not with kubectl.',
    ],
  },
  // a credentials secret's file comes before EKS Pod Identity's credentials in the plugin's credential chain
  'pod-identity': {
    cli: [
      'Velero must run without a credentials secret (velero install --no-secret), or EKS Pod Identity is not used.',
    ],
    helm: [
      'Velero must run without a credentials secret (chart value credentials.useSecret: false, as velero-values.yaml',
      'sets it), or EKS Pod Identity is not used.',
    ],
  },
};

/** Notes on serviceaccount.yaml and annotate.sh where the install method owns the service account. */
export const VELERO_HELM_SERVICE_ACCOUNT_NOTES = [
  'Velero installed with Helm: the chart creates and owns this service account; velero-values.yaml is the',
  'supported way to annotate it (helm upgrade keeps it), this file is for reference.',
] as const;

export function renderVeleroBsl(
  bucket: BucketRef,
  access: Access,
  namespace: string,
  install: VeleroInstall = { installMethod: 'cli' },
  credentials: PodCredentials = 'irsa',
): string {
  return withComments(
    [
      ...INSTALL_COMMENTS[credentials][install.installMethod],
      ...(access === 'restore'
        ? [
            'Access restore: restores and backup sync work (a restore writes only under restores/); backups,',
            'deletion and repository maintenance are off for a ReadOnly location, and the role denies them.',
          ]
        : []),
    ],
    toYaml(buildVeleroBsl(bucket, access, namespace)),
  );
}

interface VeleroHelmValues {
  credentials: { useSecret: false };
  serviceAccount: { server: { create: true; name?: string; annotations: Record<string, string> } };
}

/**
 * Values for the vmware-tanzu/velero chart: no credentials secret, and the role annotations on the server
 * service account the chart creates (used by the deployment, the node-agent and the pods Velero creates). A
 * service account named in the request that differs from the chart's default name is set as its name.
 */
function buildVeleroHelmValues(
  install: Extract<VeleroInstall, { installMethod: 'helm' }>,
  serviceAccount: string,
  roleArn: string,
): VeleroHelmValues {
  const chartDefault =
    install.helmReleaseName === undefined
      ? undefined
      : veleroHelmServiceAccount(install.helmReleaseName, install.helmFullnameOverride);
  return {
    credentials: { useSecret: false },
    serviceAccount: {
      server: {
        create: true,
        ...(serviceAccount !== chartDefault && { name: serviceAccount }),
        annotations: serviceAccountAnnotations(roleArn),
      },
    },
  };
}

/** EKS Pod Identity: the chart's only value to set is no credentials secret (the association names the role). */
export function renderVeleroPodIdentityValues(): string {
  return withComments(
    [
      'Helm values for the vmware-tanzu/velero chart with EKS Pod Identity: merge into yours, or',
      '  helm upgrade <release> vmware-tanzu/velero --namespace <namespace> --reuse-values -f velero-values.yaml',
      'No service account annotation: the Pod Identity association (pod-identity.md) gives the role.',
    ],
    toYaml({ credentials: { useSecret: false } }),
  );
}

export function renderVeleroHelmValues(
  install: Extract<VeleroInstall, { installMethod: 'helm' }>,
  serviceAccount: string,
  roleArn: string,
): string {
  return withComments(
    [
      'Helm values for the vmware-tanzu/velero chart: merge into yours, or',
      '  helm upgrade <release> vmware-tanzu/velero --namespace <namespace> --reuse-values -f velero-values.yaml',
      'The chart owns the server service account: annotating it here keeps the role across upgrades.',
    ],
    toYaml(buildVeleroHelmValues(install, serviceAccount, roleArn)),
  );
}
