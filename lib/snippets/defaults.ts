import { k8sName, trimPrefix } from './format';
import type { Access, BucketRef, PsmdbOperatorInstall, Tool, VeleroInstall } from './types';

/** Namespace of the Mountpoint CSI driver's own service account (Helm chart default). */
export const MOUNTPOINT_DRIVER_NAMESPACE = 'kube-system';
/** The Mountpoint CSI driver's node service account (driver-level credentials). */
export const MOUNTPOINT_DRIVER_SERVICE_ACCOUNT = 's3-csi-driver-sa';

/** The service account `velero install` creates (vmware-tanzu/velero pkg/install/resources.go:37). */
const VELERO_CLI_SERVICE_ACCOUNT = 'velero';
/** The Helm chart's name, part of its fullname unless the release name contains it. */
const VELERO_CHART_NAME = 'velero';

/** Helm's `trunc 63 | trimSuffix "-"` (Sprig: strings.TrimSuffix removes one "-"). */
const trunc63 = (s: string): string => {
  const cut = s.slice(0, 63);
  return cut.endsWith('-') ? cut.slice(0, -1) : cut;
};

/**
 * The Velero Helm chart's server service account with its defaults (`serviceAccount.server.create: true`, no
 * `serviceAccount.server.name`, no nameOverride): `<fullname>-server`, where fullname is fullnameOverride, else
 * the release name when it contains "velero", else `<release>-velero`
 * (vmware-tanzu/helm-charts@73466ca986bbfe34dbd5c30bbf7d62d545d634a2 charts/velero/templates/_helpers.tpl:14-25,
 * 37-43). The deployment, the node-agent and the pods Velero derives from them all run as it.
 */
export function veleroHelmServiceAccount(releaseName: string, fullnameOverride?: string): string {
  const fullname =
    fullnameOverride !== undefined && fullnameOverride !== ''
      ? trunc63(fullnameOverride)
      : releaseName.includes(VELERO_CHART_NAME)
        ? trunc63(releaseName)
        : trunc63(`${releaseName}-${VELERO_CHART_NAME}`);
  return `${fullname}-server`;
}

/** The operator's service account in deploy/bundle.yaml and deploy/cw-bundle.yaml (percona-server-mongodb-operator@v1.22.0 deploy/operator.yaml:25). */
const PSMDB_OPERATOR_SERVICE_ACCOUNT = 'percona-server-mongodb-operator';
const PSMDB_CHART_NAME = 'psmdb-operator';

/**
 * The psmdb-operator Helm chart's service account: its fullname (fullnameOverride, else the release name when it
 * contains "psmdb-operator", else `<release>-psmdb-operator`; percona/percona-helm-charts@3df2bb55
 * charts/psmdb-operator/templates/_helpers.tpl:14-25, deployment.yaml:37 `serviceAccountName: {{ include
 * "psmdb-operator.fullname" . }}`).
 */
function psmdbOperatorHelmServiceAccount(releaseName: string, fullnameOverride?: string): string {
  if (fullnameOverride !== undefined && fullnameOverride !== '') return trunc63(fullnameOverride);
  return releaseName.includes(PSMDB_CHART_NAME) ? trunc63(releaseName) : trunc63(`${releaseName}-${PSMDB_CHART_NAME}`);
}

/**
 * The service accounts a tool's pods use when the request names none, or undefined when the tool has no
 * fixed name and the caller must give one.
 *
 * - psmdb-operator: the operator's SA and the workload SA the CR's pods (and pbm-agent sidecars) run as; with a
 *   Helm install the operator's SA is named after the release (`psmdbOperatorHelmServiceAccount`).
 * - velero: `velero install` names its SA `velero` whatever the namespace (the default install method); the Helm
 *   chart names it after the release (`veleroHelmServiceAccount`), so a Helm install needs its release name.
 * - mountpoint-s3-csi: the driver-level SA, which lives in kube-system; for any other namespace the pods'
 *   own SAs are used (pod-level credentials), which only the caller knows.
 * - pbm (standalone pbm-agent), stackgres (`<sgcluster>-patroni`), generic: no fixed name.
 */
export function defaultServiceAccounts(
  tool: Tool,
  namespace?: string,
  velero?: VeleroInstall,
  psmdbOperator?: PsmdbOperatorInstall,
): string[] | undefined {
  switch (tool) {
    case 'psmdb-operator':
      if (psmdbOperator?.installMethod === 'helm') {
        return psmdbOperator.helmReleaseName === undefined && !psmdbOperator.helmFullnameOverride
          ? undefined
          : [
              psmdbOperatorHelmServiceAccount(psmdbOperator.helmReleaseName ?? '', psmdbOperator.helmFullnameOverride),
              'default',
            ];
      }
      return [PSMDB_OPERATOR_SERVICE_ACCOUNT, 'default'];
    case 'velero':
      if (velero?.installMethod === 'helm') {
        return velero.helmReleaseName === undefined
          ? undefined
          : [veleroHelmServiceAccount(velero.helmReleaseName, velero.helmFullnameOverride)];
      }
      return [VELERO_CLI_SERVICE_ACCOUNT];
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

const STORAGE_SUFFIX: Record<Access, string | undefined> = {
  'read-write': undefined,
  restore: 'restore',
  'read-only': 'ro',
};

/**
 * The deterministic name of the storage object a snippet creates (PSMDB storage key, Velero BSL,
 * SGObjectStorage, Mountpoint PVC): `s3-<bucket>[-<prefix>][-restore|-ro]`, as a valid DNS label.
 */
export function defaultStorageName(bucket: Pick<BucketRef, 'name' | 'prefix'>, access: Access): string {
  return k8sName('s3', bucket.name, trimPrefix(bucket.prefix), STORAGE_SUFFIX[access]);
}

/** PersistentVolumes are cluster-scoped: qualify the PVC name by its namespace. */
export function defaultPersistentVolumeName(namespace: string, claimName: string): string {
  return k8sName(namespace, claimName);
}
