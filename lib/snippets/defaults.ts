import { k8sName, trimPrefix } from './format';
import type { Access, BucketRef, Tool } from './types';

/** Namespace of the Mountpoint CSI driver's own service account (Helm chart default). */
export const MOUNTPOINT_DRIVER_NAMESPACE = 'kube-system';
/** The Mountpoint CSI driver's node service account (driver-level credentials). */
export const MOUNTPOINT_DRIVER_SERVICE_ACCOUNT = 's3-csi-driver-sa';

/**
 * The service accounts a tool's pods use when the request names none, or undefined when the tool has no
 * fixed name and the caller must give one.
 *
 * - psmdb-operator: the operator's SA and the workload SA the CR's pods (and pbm-agent sidecars) run as.
 * - velero: `velero install` always names its SA `velero`, whatever the namespace.
 * - mountpoint-s3-csi: the driver-level SA, which lives in kube-system; for any other namespace the pods'
 *   own SAs are used (pod-level credentials), which only the caller knows.
 * - pbm (standalone pbm-agent), stackgres (`<sgcluster>-patroni`), generic: no fixed name.
 */
export function defaultServiceAccounts(tool: Tool, namespace?: string): string[] | undefined {
  switch (tool) {
    case 'psmdb-operator':
      return ['percona-server-mongodb-operator', 'default'];
    case 'velero':
      return ['velero'];
    case 'mountpoint-s3-csi':
      return namespace === undefined || namespace === MOUNTPOINT_DRIVER_NAMESPACE
        ? [MOUNTPOINT_DRIVER_SERVICE_ACCOUNT]
        : undefined;
    case 'pbm':
    case 'stackgres':
    case 'generic':
      return undefined;
  }
}

/** The namespace a tool is installed in when it is fixed by convention, else undefined. */
export function defaultNamespace(tool: Tool): string | undefined {
  switch (tool) {
    case 'velero':
      return 'velero';
    case 'mountpoint-s3-csi':
      return MOUNTPOINT_DRIVER_NAMESPACE;
    case 'pbm':
    case 'psmdb-operator':
    case 'stackgres':
    case 'generic':
      return undefined;
  }
}

/**
 * The deterministic name of the storage object a snippet creates (PSMDB storage key, Velero BSL,
 * SGObjectStorage, Mountpoint PVC): `s3-<bucket>[-<prefix>][-ro]`, as a valid DNS label.
 */
export function defaultStorageName(bucket: Pick<BucketRef, 'name' | 'prefix'>, access: Access): string {
  return k8sName('s3', bucket.name, trimPrefix(bucket.prefix), access === 'read-only' ? 'ro' : undefined);
}

/** PersistentVolumes are cluster-scoped: qualify the PVC name by its namespace. */
export function defaultPersistentVolumeName(namespace: string, claimName: string): string {
  return k8sName(namespace, claimName);
}
