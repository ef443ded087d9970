import {
  defaultServiceAccounts,
  MOUNTPOINT_DRIVER_NAMESPACE,
  MOUNTPOINT_DRIVER_SERVICE_ACCOUNT,
} from '../../snippets/defaults';
import { STACKGRES_SA_SUFFIX } from '../../snippets/stackgres';
import {} from './validators';
import type { CrossFieldIssue, Fields } from './request';

/** The request's rules for one tool at a time (mountpoint, velero, the Percona operator, StackGres). */

type EksFields = Extract<Fields['workload'], { type: 'eks' }>;

/** Mountpoint: the claim belongs in the namespace of the pods that mount the volume. */
export function mountpointIssues(req: Fields, workload: EksFields): CrossFieldIssue[] {
  const { claimNamespace } = workload;
  if (req.tool !== 'mountpoint-s3-csi') {
    return claimNamespace === undefined
      ? []
      : [{ path: ['workload', 'claimNamespace'], message: 'is only for tool mountpoint-s3-csi' }];
  }
  const serviceAccounts = workload.serviceAccounts ?? defaultServiceAccounts(req.tool, workload.namespace) ?? [];
  const driverLevel =
    workload.namespace === MOUNTPOINT_DRIVER_NAMESPACE && serviceAccounts.includes(MOUNTPOINT_DRIVER_SERVICE_ACCOUNT);
  if (driverLevel && claimNamespace === undefined) {
    return [
      {
        path: ['workload', 'claimNamespace'],
        message: `is required for mountpoint-s3-csi with driver-level credentials (${MOUNTPOINT_DRIVER_NAMESPACE}/${MOUNTPOINT_DRIVER_SERVICE_ACCOUNT}): the namespace of the pods that mount the volume, where its PersistentVolumeClaim goes`,
      },
    ];
  }
  if (!driverLevel && claimNamespace !== undefined && claimNamespace !== workload.namespace) {
    return [
      {
        path: ['workload', 'claimNamespace'],
        message:
          'must equal workload.namespace with pod-level credentials: the pods mount with their own service account, so the claim is in their namespace',
      },
    ];
  }
  return [];
}

/** Velero: the install method names the one service account its server, node-agent and derived pods use. */
export function veleroIssues(req: Fields, workload: EksFields): CrossFieldIssue[] {
  if (workload.velero === undefined) return [];
  if (req.tool !== 'velero') return [{ path: ['workload', 'velero'], message: 'is only for tool velero' }];
  if ((workload.serviceAccounts?.length ?? 0) > 1) {
    return [
      {
        path: ['workload', 'serviceAccounts'],
        message: `must name one service account for velero installed with ${workload.velero.installMethod}: its server, node-agent and the pods it creates run as one`,
      },
    ];
  }
  return [];
}

/**
 * The Percona operator: one role's service accounts share one namespace (its trust names `system:serviceaccount:<ns>:<sa>`
 * for workload.namespace). A cluster-wide install runs the operator elsewhere, so it is onboarded on its own: the
 * operator's e2e test annotates `percona-server-mongodb-operator` in the operator's namespace and `default` in the
 * cluster's (percona-server-mongodb-operator@v1.22.0 e2e-tests/demand-backup-eks-credentials-irsa/run:68-80).
 */
export function psmdbOperatorIssues(req: Fields, workload: EksFields): CrossFieldIssue[] {
  const op = workload.psmdbOperator;
  if (op === undefined) return [];
  if (req.tool !== 'psmdb-operator')
    return [{ path: ['workload', 'psmdbOperator'], message: 'is only for tool psmdb-operator' }];
  if (op.installMethod !== 'helm' && (op.helmReleaseName !== undefined || op.helmFullnameOverride !== undefined)) {
    return [
      {
        path: ['workload', 'psmdbOperator', 'installMethod'],
        message: 'must be helm when helmReleaseName or helmFullnameOverride is given',
      },
    ];
  }
  if (op.namespace !== undefined && op.namespace !== workload.namespace) {
    const sa =
      op.installMethod === 'helm'
        ? (defaultServiceAccounts('psmdb-operator', workload.namespace, undefined, op)?.[0] ??
          '<release>-psmdb-operator')
        : 'percona-server-mongodb-operator';
    return [
      {
        path: ['workload', 'psmdbOperator', 'namespace'],
        message: `a cluster-wide install (operator in namespace ${op.namespace}, cluster in ${workload.namespace}) is two onboardings of the same bucket and prefix, because one role's service accounts share one namespace: one with namespace ${op.namespace} and serviceAccounts [${sa}] (the operator), one with namespace ${workload.namespace} and serviceAccounts [default] (the pbm-agent sidecars); leave psmdbOperator.namespace out of both`,
      },
    ];
  }
  return [];
}

/** StackGres runs WAL-G as `<sgcluster>-patroni`, the service account the operator creates for each SGCluster. */
export function stackgresIssues(req: Fields, workload: EksFields): CrossFieldIssue[] {
  if (req.tool !== 'stackgres') return [];
  return (workload.serviceAccounts ?? []).flatMap((sa, i) =>
    sa.endsWith(STACKGRES_SA_SUFFIX) && sa.length > STACKGRES_SA_SUFFIX.length
      ? []
      : [
          {
            path: ['workload', 'serviceAccounts', i],
            message:
              'must be <sgcluster>-patroni for tool stackgres: the operator runs backups and restores as that service account of each SGCluster',
          },
        ],
  );
}

/**
 * The request schema. Its output has the defaults filled in (`access`, `dryRun`) and `bucket.prefix`, when
 * given, ending with `/`; parsing an output again yields the same value.
 */
