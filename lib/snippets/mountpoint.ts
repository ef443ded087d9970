import {
  defaultPersistentVolumeName,
  defaultStorageName,
  MOUNTPOINT_DRIVER_NAMESPACE,
  MOUNTPOINT_DRIVER_SERVICE_ACCOUNT,
} from './defaults';
import { SnippetInputError } from './errors';
import { addressedBucket, toYamlStream, trimPrefix, withComments } from './format';
import type { Access, BucketRef, EksCluster } from './types';

const MOUNTPOINT_CSI_DRIVER = 's3.csi.aws.com';
/** Required by Kubernetes, ignored by the driver (S3 has no capacity). */
const MOUNTPOINT_CAPACITY = '1200Gi';

export interface MountpointTarget {
  namespace: string;
  serviceAccounts: readonly string[];
  clusters: readonly EksCluster[];
  /** the namespace of the pods that mount the volume; required for driver-level credentials */
  claimNamespace?: string;
}

export type MountpointAuthSource = 'driver' | 'pod';

/**
 * Driver-level credentials only when the role is for the driver's own SA in kube-system; otherwise the
 * workload pods' service accounts carry the role (`authenticationSource: pod`).
 */
export function mountpointAuthSource(
  target: Pick<MountpointTarget, 'namespace' | 'serviceAccounts'>,
): MountpointAuthSource {
  return target.namespace === MOUNTPOINT_DRIVER_NAMESPACE &&
    target.serviceAccounts.includes(MOUNTPOINT_DRIVER_SERVICE_ACCOUNT)
    ? 'driver'
    : 'pod';
}

/**
 * Mountpoint flags. Always `key=value`: the driver splits each option on the first '=' before trying a
 * space, so `key value` would break on values containing '='. Mountpoint wants the prefix to end in '/'.
 * Delete is allowed only for read-write (anything else mounts read-only); SSE-KMS (full key ARN only) only
 * matters for writes.
 */
function mountpointMountOptions(bucket: BucketRef, access: Access): string[] {
  const prefix = trimPrefix(bucket.prefix);
  const options = [`region=${bucket.region}`];
  if (prefix !== undefined) options.push(`prefix=${prefix}/`);
  if (access !== 'read-write') {
    options.push('read-only');
  } else {
    options.push('allow-delete');
    if (bucket.kmsKeyArn !== undefined) options.push('sse=aws:kms', `sse-kms-key-id=${bucket.kmsKeyArn}`);
  }
  return options;
}

/** volumeAttributes: pod-level auth gets `stsRegion` when every cluster is in one region. */
function mountpointVolumeAttributes(bucket: BucketRef, target: MountpointTarget): Record<string, string> {
  const source = mountpointAuthSource(target);
  const regions = [...new Set(target.clusters.map((c) => c.region))];
  return {
    bucketName: addressedBucket('mountpoint-s3-csi', bucket),
    authenticationSource: source,
    ...(source === 'pod' && regions.length === 1 && { stsRegion: regions[0] }),
  };
}

/**
 * The namespace of the claim: a pod can only mount a PVC of its own namespace. With pod-level credentials the pods
 * run as the service accounts of the request, so it is theirs; with driver-level credentials the role is the
 * driver's (kube-system) and the claim goes to the namespace of the pods that mount it.
 */
function mountpointClaimNamespace(target: MountpointTarget): string {
  if (mountpointAuthSource(target) === 'pod') return target.namespace;
  if (target.claimNamespace === undefined) {
    throw new SnippetInputError(
      'driver-level credentials need the namespace of the pods that mount the volume',
      'workload.claimNamespace',
    );
  }
  return target.claimNamespace;
}

/** A static PersistentVolume for the Mountpoint CSI driver and the PVC bound to it. */
function buildMountpointVolume(bucket: BucketRef, access: Access, target: MountpointTarget): [object, object] {
  const claimName = defaultStorageName(bucket, access);
  const claimNamespace = mountpointClaimNamespace(target);
  const volumeName = defaultPersistentVolumeName(claimNamespace, claimName);
  const accessModes = [access === 'read-write' ? 'ReadWriteMany' : 'ReadOnlyMany'];
  const pv = {
    apiVersion: 'v1',
    kind: 'PersistentVolume',
    metadata: { name: volumeName },
    spec: {
      capacity: { storage: MOUNTPOINT_CAPACITY },
      accessModes,
      storageClassName: '',
      claimRef: { namespace: claimNamespace, name: claimName },
      mountOptions: mountpointMountOptions(bucket, access),
      csi: {
        driver: MOUNTPOINT_CSI_DRIVER,
        volumeHandle: volumeName,
        volumeAttributes: mountpointVolumeAttributes(bucket, target),
      },
    },
  };
  const pvc = {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name: claimName, namespace: claimNamespace },
    spec: {
      accessModes: [...accessModes],
      storageClassName: '',
      resources: { requests: { storage: MOUNTPOINT_CAPACITY } },
      volumeName,
    },
  };
  return [pv, pvc];
}

export function renderMountpointVolume(bucket: BucketRef, access: Access, target: MountpointTarget): string {
  const text = toYamlStream(buildMountpointVolume(bucket, access, target));
  if (mountpointAuthSource(target) === 'pod') return text;
  return withComments(
    [
      'Driver-level credentials: the role belongs to the CSI driver (kube-system/s3-csi-driver-sa), so every pod',
      'on every node that mounts a Mountpoint volume without authenticationSource: pod uses it. The claim is in',
      'the namespace of the pods that mount it. Prefer pod-level credentials (onboard the service account of the pods).',
    ],
    text,
  );
}
