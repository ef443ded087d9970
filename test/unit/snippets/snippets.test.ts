import { spawnSync } from 'node:child_process';
import fc from 'fast-check';
import { parse, parseAllDocuments } from 'yaml';
import {
  defaultNamespace,
  defaultServiceAccounts,
  defaultStorageName,
  veleroHelmServiceAccount,
} from '../../../lib/snippets/defaults';
import { k8sName, shellQuote, trimPrefix } from '../../../lib/snippets/format';
import { renderMountpointVolume } from '../../../lib/snippets/mountpoint';
import { pbmSessionName, renderAwsConfig, renderPbmAgentEnv } from '../../../lib/snippets/ec2';
import {
  renderSnippets,
  SnippetInputError,
  type Access,
  type BucketRef,
  type SnippetInput,
  type Snippets,
  type Tool,
} from '../../../lib/snippets';
import { awsConfigSections, envFileVariables, parseMountOption, validateSnippet } from '../../helpers/schemas';

// ---------- fixtures ----------

const ROLE_ARN = 'arn:aws:iam::200000000002:role/s3-onboarding/ob-3f9a2c7d';
const INSTANCE_ROLE_ARN = 'arn:aws:iam::200000000002:role/pbm-ec2-instance-role';
const KMS_KEY_ARN = 'arn:aws:kms:eu-west-1:300000000003:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const CLUSTER = { name: 'demo', accountId: '200000000002', region: 'eu-west-1' };

const TOOLS: readonly Tool[] = ['pbm', 'psmdb-operator', 'stackgres', 'velero', 'mountpoint-s3-csi', 'generic'];

/** Where each tool's pods run in the fixtures, and as which service accounts. */
const WORKLOADS: Record<Tool, { namespace: string; serviceAccounts: string[] }> = {
  pbm: { namespace: 'mongodb', serviceAccounts: ['pbm-agent'] },
  'psmdb-operator': { namespace: 'mongodb', serviceAccounts: ['percona-server-mongodb-operator', 'default'] },
  stackgres: { namespace: 'postgres', serviceAccounts: ['pg-main-patroni'] },
  velero: { namespace: 'velero', serviceAccounts: ['velero'] },
  'mountpoint-s3-csi': { namespace: 'analytics', serviceAccounts: ['reports'] },
  generic: { namespace: 'apps', serviceAccounts: ['app'] },
};

type Case = 'read-write' | 'restore' | 'read-only' | 'kms' | 'ec2' | 'helm';
/** Every tool at each level it supports (lib/policy/actions.ts refuses the others), with a KMS key, and on EC2 where it runs there. */
const CASES: Record<Tool, readonly Case[]> = {
  pbm: ['read-write', 'restore', 'kms', 'ec2'],
  'psmdb-operator': ['read-write', 'restore', 'kms'],
  stackgres: ['read-write', 'restore', 'read-only', 'kms'],
  velero: ['read-write', 'restore', 'kms', 'helm'],
  'mountpoint-s3-csi': ['read-write', 'read-only', 'kms'],
  generic: ['read-write', 'read-only', 'kms', 'ec2'],
};

const PREFIXED_BUCKET: BucketRef = { name: 'demo-backups', region: 'eu-west-1', prefix: 'team-a/db/' };
const KMS_BUCKET: BucketRef = { name: 'demo-backups', region: 'eu-west-1', kmsKeyArn: KMS_KEY_ARN };

function input(tool: Tool, kase: Case): SnippetInput {
  return {
    onboardingId: 'ob-3f9a2c7d',
    tool,
    access: kase === 'read-only' || kase === 'restore' ? kase : 'read-write',
    roleArn: ROLE_ARN,
    bucket: kase === 'kms' ? { ...KMS_BUCKET } : { ...PREFIXED_BUCKET },
    workload:
      kase === 'ec2'
        ? { type: 'ec2', instanceRoleArn: INSTANCE_ROLE_ARN }
        : kase === 'helm'
          ? // the service account as lib/snippets/defaults.ts names it for release "backup"
            {
              type: 'eks',
              namespace: 'velero',
              serviceAccounts: ['backup-velero-server'],
              clusters: [CLUSTER],
              velero: { installMethod: 'helm', helmReleaseName: 'backup' },
            }
          : {
              type: 'eks',
              ...WORKLOADS[tool],
              serviceAccounts: [...WORKLOADS[tool].serviceAccounts],
              clusters: [CLUSTER],
            },
  };
}

// ---------- golden outputs ----------

const PBM_SERVICE_ACCOUNTS = `apiVersion: v1
kind: ServiceAccount
metadata:
  name: pbm-agent
  namespace: mongodb
  annotations:
    eks.amazonaws.com/role-arn: arn:aws:iam::200000000002:role/s3-onboarding/ob-3f9a2c7d
    eks.amazonaws.com/sts-regional-endpoints: "true"
`;

const PBM_ANNOTATE = `#!/bin/sh
# Annotates existing service accounts with the IAM role (run once per cluster, in its kubectl context).
# Restart the pods that use them afterwards so the EKS pod identity webhook injects the role.
set -eu
kubectl annotate serviceaccount --overwrite --namespace 'mongodb' -- 'pbm-agent' 'eks.amazonaws.com/role-arn=arn:aws:iam::200000000002:role/s3-onboarding/ob-3f9a2c7d' 'eks.amazonaws.com/sts-regional-endpoints=true'
`;

const PBM_RW = `# Percona Backup for MongoDB storage: pbm config --file pbm-config.yaml
# No credentials on purpose: pbm-agent gets them from its IAM role.
storage:
  type: s3
  s3:
    region: eu-west-1
    bucket: demo-backups
    prefix: team-a/db
`;

const PBM_RESTORE = `# Percona Backup for MongoDB storage: pbm config --file pbm-config.yaml
# No credentials on purpose: pbm-agent gets them from its IAM role.
# Access restore: resync (pbm config --file, pbm config --force-resync) and logical and physical restores work;
# backups, PITR and deleting backups are denied (the role may write only .pbm.init and .pbm.restore/).
storage:
  type: s3
  s3:
    region: eu-west-1
    bucket: demo-backups
    prefix: team-a/db
`;

const PBM_KMS = `# Percona Backup for MongoDB storage: pbm config --file pbm-config.yaml
# No credentials on purpose: pbm-agent gets them from its IAM role.
storage:
  type: s3
  s3:
    region: eu-west-1
    bucket: demo-backups
    serverSideEncryption:
      sseAlgorithm: aws:kms
      kmsKeyID: arn:aws:kms:eu-west-1:300000000003:key/1234abcd-12ab-34cd-56ef-1234567890ab
`;

const PSMDB_SERVICE_ACCOUNTS = `# Percona operator: the operator's own service account (deploy/bundle.yaml: percona-server-mongodb-operator;
# a Helm install: the chart's fullname, <release>-psmdb-operator) and default, which the cluster's pods and
# their pbm-agent sidecars run as. Restart the operator pod after annotating it. A cluster-wide install
# (deploy/cw-bundle.yaml) runs the operator in a namespace of its own: it is onboarded there on its own.
apiVersion: v1
kind: ServiceAccount
metadata:
  name: percona-server-mongodb-operator
  namespace: mongodb
  annotations:
    eks.amazonaws.com/role-arn: arn:aws:iam::200000000002:role/s3-onboarding/ob-3f9a2c7d
    eks.amazonaws.com/sts-regional-endpoints: "true"
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: default
  namespace: mongodb
  annotations:
    eks.amazonaws.com/role-arn: arn:aws:iam::200000000002:role/s3-onboarding/ob-3f9a2c7d
    eks.amazonaws.com/sts-regional-endpoints: "true"
`;

const PSMDB_ANNOTATE = `#!/bin/sh
# Annotates existing service accounts with the IAM role (run once per cluster, in its kubectl context).
# Restart the pods that use them afterwards so the EKS pod identity webhook injects the role.
# Percona operator: the operator's own service account (deploy/bundle.yaml: percona-server-mongodb-operator;
# a Helm install: the chart's fullname, <release>-psmdb-operator) and default, which the cluster's pods and
# their pbm-agent sidecars run as. Restart the operator pod after annotating it. A cluster-wide install
# (deploy/cw-bundle.yaml) runs the operator in a namespace of its own: it is onboarded there on its own.
set -eu
kubectl annotate serviceaccount --overwrite --namespace 'mongodb' -- 'percona-server-mongodb-operator' 'eks.amazonaws.com/role-arn=arn:aws:iam::200000000002:role/s3-onboarding/ob-3f9a2c7d' 'eks.amazonaws.com/sts-regional-endpoints=true'
kubectl annotate serviceaccount --overwrite --namespace 'mongodb' -- 'default' 'eks.amazonaws.com/role-arn=arn:aws:iam::200000000002:role/s3-onboarding/ob-3f9a2c7d' 'eks.amazonaws.com/sts-regional-endpoints=true'
`;

const PSMDB_RW = `# Merge into your PerconaServerMongoDB custom resource (spec.backup.storages).
# No credentialsSecret on purpose: the operator and pbm-agent use the IAM role of their service accounts.
# main: true makes this the main PBM storage (resync, PITR); crVersion 1.20 or later reads it. If the CR
# already has another storage with main: true, keep main on only one of them: the operator rejects two
# main storages and, when there is more than one storage, also none.
spec:
  backup:
    storages:
      s3-demo-backups-team-a-db:
        type: s3
        main: true
        s3:
          bucket: demo-backups
          region: eu-west-1
          prefix: team-a/db
`;

const PSMDB_RESTORE = `# Merge into your PerconaServerMongoDB custom resource (spec.backup.storages).
# No credentialsSecret on purpose: the operator and pbm-agent use the IAM role of their service accounts.
# main: true makes this the main PBM storage (resync, PITR); crVersion 1.20 or later reads it. If the CR
# already has another storage with main: true, keep main on only one of them: the operator rejects two
# main storages and, when there is more than one storage, also none.
# Access restore: the operator and pbm-agents can resync and restore from this storage; backups,
# PITR and deleting backups are denied (the role may write only .pbm.init and .pbm.restore/).
spec:
  backup:
    storages:
      s3-demo-backups-team-a-db-restore:
        type: s3
        main: true
        s3:
          bucket: demo-backups
          region: eu-west-1
          prefix: team-a/db
`;

const PSMDB_KMS = `# Merge into your PerconaServerMongoDB custom resource (spec.backup.storages).
# No credentialsSecret on purpose: the operator and pbm-agent use the IAM role of their service accounts.
# main: true makes this the main PBM storage (resync, PITR); crVersion 1.20 or later reads it. If the CR
# already has another storage with main: true, keep main on only one of them: the operator rejects two
# main storages and, when there is more than one storage, also none.
spec:
  backup:
    storages:
      s3-demo-backups:
        type: s3
        main: true
        s3:
          bucket: demo-backups
          region: eu-west-1
`;

const STACKGRES_SERVICE_ACCOUNTS = `# StackGres: the operator creates and owns <sgcluster>-patroni; sgcluster-annotations.yaml is the
# supported way to annotate it (StackGres 1.18.3 or later), this file is for reference.
apiVersion: v1
kind: ServiceAccount
metadata:
  name: pg-main-patroni
  namespace: postgres
  annotations:
    eks.amazonaws.com/role-arn: arn:aws:iam::200000000002:role/s3-onboarding/ob-3f9a2c7d
    eks.amazonaws.com/sts-regional-endpoints: "true"
`;

const STACKGRES_ANNOTATE = `#!/bin/sh
# Annotates existing service accounts with the IAM role (run once per cluster, in its kubectl context).
# Restart the pods that use them afterwards so the EKS pod identity webhook injects the role.
# StackGres: the operator creates and owns <sgcluster>-patroni; sgcluster-annotations.yaml is the
# supported way to annotate it (StackGres 1.18.3 or later), this file is for reference.
set -eu
kubectl annotate serviceaccount --overwrite --namespace 'postgres' -- 'pg-main-patroni' 'eks.amazonaws.com/role-arn=arn:aws:iam::200000000002:role/s3-onboarding/ob-3f9a2c7d' 'eks.amazonaws.com/sts-regional-endpoints=true'
`;

const STACKGRES_RW = `# Requires StackGres 1.18.3 or later: awsCredentials.useIAMRole exists from 1.18.0 (the 1.17 CRD requires
# secretKeySelectors), and 1.18.0-1.18.2 fail with a NullPointerException when secretKeySelectors are absent.
apiVersion: stackgres.io/v1beta1
kind: SGObjectStorage
metadata:
  name: s3-demo-backups-team-a-db
  namespace: postgres
spec:
  type: s3
  s3:
    bucket: demo-backups/team-a/db
    region: eu-west-1
    awsCredentials:
      useIAMRole: true
`;

const STACKGRES_RESTORE = `# Requires StackGres 1.18.3 or later: awsCredentials.useIAMRole exists from 1.18.0 (the 1.17 CRD requires
# secretKeySelectors), and 1.18.0-1.18.2 fail with a NullPointerException when secretKeySelectors are absent.
# Access restore: restores (SGCluster initialData.restore, replicas from backups) only read. The restored
# SGCluster must not use this storage in spec.configurations.backups: WAL archiving and backup Jobs
# would be denied.
apiVersion: stackgres.io/v1beta1
kind: SGObjectStorage
metadata:
  name: s3-demo-backups-team-a-db-restore
  namespace: postgres
spec:
  type: s3
  s3:
    bucket: demo-backups/team-a/db
    region: eu-west-1
    awsCredentials:
      useIAMRole: true
`;

const STACKGRES_RO = `# Requires StackGres 1.18.3 or later: awsCredentials.useIAMRole exists from 1.18.0 (the 1.17 CRD requires
# secretKeySelectors), and 1.18.0-1.18.2 fail with a NullPointerException when secretKeySelectors are absent.
# Access read-only: restores (SGCluster initialData.restore, replicas from backups) only read. The restored
# SGCluster must not use this storage in spec.configurations.backups: WAL archiving and backup Jobs
# would be denied.
apiVersion: stackgres.io/v1beta1
kind: SGObjectStorage
metadata:
  name: s3-demo-backups-team-a-db-ro
  namespace: postgres
spec:
  type: s3
  s3:
    bucket: demo-backups/team-a/db
    region: eu-west-1
    awsCredentials:
      useIAMRole: true
`;

const STACKGRES_CLUSTER = `# StackGres 1.18.3 or later. The operator owns the <sgcluster>-patroni service account and copies these
# annotations onto it. Merge into each existing SGCluster (it names the cluster and namespace):
#   kubectl apply --server-side --field-manager=s3-onboarding -f sgcluster-annotations.yaml
# or add spec.metadata.annotations.serviceAccount to your own SGCluster manifests. Then restart the
# cluster pods (SGDbOps restart) so the EKS pod identity webhook injects the role.
apiVersion: stackgres.io/v1
kind: SGCluster
metadata:
  name: pg-main
  namespace: postgres
spec:
  metadata:
    annotations:
      serviceAccount:
        eks.amazonaws.com/role-arn: arn:aws:iam::200000000002:role/s3-onboarding/ob-3f9a2c7d
        eks.amazonaws.com/sts-regional-endpoints: "true"
`;

const STACKGRES_KMS = `# Requires StackGres 1.18.3 or later: awsCredentials.useIAMRole exists from 1.18.0 (the 1.17 CRD requires
# secretKeySelectors), and 1.18.0-1.18.2 fail with a NullPointerException when secretKeySelectors are absent.
apiVersion: stackgres.io/v1beta1
kind: SGObjectStorage
metadata:
  name: s3-demo-backups
  namespace: postgres
spec:
  type: s3
  s3:
    bucket: demo-backups
    region: eu-west-1
    awsCredentials:
      useIAMRole: true
`;

const VELERO_SERVICE_ACCOUNTS = `apiVersion: v1
kind: ServiceAccount
metadata:
  name: velero
  namespace: velero
  annotations:
    eks.amazonaws.com/role-arn: arn:aws:iam::200000000002:role/s3-onboarding/ob-3f9a2c7d
    eks.amazonaws.com/sts-regional-endpoints: "true"
`;

const VELERO_ANNOTATE = `#!/bin/sh
# Annotates existing service accounts with the IAM role (run once per cluster, in its kubectl context).
# Restart the pods that use them afterwards so the EKS pod identity webhook injects the role.
set -eu
kubectl annotate serviceaccount --overwrite --namespace 'velero' -- 'velero' 'eks.amazonaws.com/role-arn=arn:aws:iam::200000000002:role/s3-onboarding/ob-3f9a2c7d' 'eks.amazonaws.com/sts-regional-endpoints=true'
`;

const VELERO_RW = `# Velero must run without a credentials secret (velero install --no-secret), or IRSA is not used.
# Installed with velero install: pass --sa-annotations with the annotations of serviceaccount.yaml
# (or run annotate.sh on the existing service account), then restart Velero.
apiVersion: velero.io/v1
kind: BackupStorageLocation
metadata:
  name: s3-demo-backups-team-a-db
  namespace: velero
spec:
  provider: aws
  accessMode: ReadWrite
  objectStorage:
    bucket: demo-backups
    prefix: team-a/db
  config:
    region: eu-west-1
`;

const VELERO_RESTORE = `# Velero must run without a credentials secret (velero install --no-secret), or IRSA is not used.
# Installed with velero install: pass --sa-annotations with the annotations of serviceaccount.yaml
# (or run annotate.sh on the existing service account), then restart Velero.
# Access restore: restores and backup sync work (a restore writes only under restores/); backups,
# deletion and repository maintenance are off for a ReadOnly location, and the role denies them.
apiVersion: velero.io/v1
kind: BackupStorageLocation
metadata:
  name: s3-demo-backups-team-a-db-restore
  namespace: velero
spec:
  provider: aws
  accessMode: ReadOnly
  objectStorage:
    bucket: demo-backups
    prefix: team-a/db
  config:
    region: eu-west-1
`;

const VELERO_KMS = `# Velero must run without a credentials secret (velero install --no-secret), or IRSA is not used.
# Installed with velero install: pass --sa-annotations with the annotations of serviceaccount.yaml
# (or run annotate.sh on the existing service account), then restart Velero.
apiVersion: velero.io/v1
kind: BackupStorageLocation
metadata:
  name: s3-demo-backups
  namespace: velero
spec:
  provider: aws
  accessMode: ReadWrite
  objectStorage:
    bucket: demo-backups
  config:
    region: eu-west-1
    kmsKeyId: arn:aws:kms:eu-west-1:300000000003:key/1234abcd-12ab-34cd-56ef-1234567890ab
`;

const VELERO_HELM_NOTE = `# Velero installed with Helm: the chart creates and owns this service account; velero-values.yaml is the
# supported way to annotate it (helm upgrade keeps it), this file is for reference.
`;

const VELERO_HELM_SERVICE_ACCOUNTS = `${VELERO_HELM_NOTE}apiVersion: v1
kind: ServiceAccount
metadata:
  name: backup-velero-server
  namespace: velero
  annotations:
    eks.amazonaws.com/role-arn: arn:aws:iam::200000000002:role/s3-onboarding/ob-3f9a2c7d
    eks.amazonaws.com/sts-regional-endpoints: "true"
`;

const VELERO_HELM_ANNOTATE = `#!/bin/sh
# Annotates existing service accounts with the IAM role (run once per cluster, in its kubectl context).
# Restart the pods that use them afterwards so the EKS pod identity webhook injects the role.
${VELERO_HELM_NOTE}set -eu
kubectl annotate serviceaccount --overwrite --namespace 'velero' -- 'backup-velero-server' 'eks.amazonaws.com/role-arn=arn:aws:iam::200000000002:role/s3-onboarding/ob-3f9a2c7d' 'eks.amazonaws.com/sts-regional-endpoints=true'
`;

const VELERO_HELM_BSL = `# Velero must run without a credentials secret (chart value credentials.useSecret: false), or IRSA is not used.
# Installed with Helm: the chart owns the service account, so set its annotations through
# velero-values.yaml (helm upgrade --reuse-values -f velero-values.yaml), not with kubectl.
apiVersion: velero.io/v1
kind: BackupStorageLocation
metadata:
  name: s3-demo-backups-team-a-db
  namespace: velero
spec:
  provider: aws
  accessMode: ReadWrite
  objectStorage:
    bucket: demo-backups
    prefix: team-a/db
  config:
    region: eu-west-1
`;

const VELERO_HELM_VALUES = `# Helm values for the vmware-tanzu/velero chart: merge into yours, or
#   helm upgrade <release> vmware-tanzu/velero --namespace <namespace> --reuse-values -f velero-values.yaml
# The chart owns the server service account: annotating it here keeps the role across upgrades.
credentials:
  useSecret: false
serviceAccount:
  server:
    create: true
    annotations:
      eks.amazonaws.com/role-arn: arn:aws:iam::200000000002:role/s3-onboarding/ob-3f9a2c7d
      eks.amazonaws.com/sts-regional-endpoints: "true"
`;

const MOUNTPOINT_SERVICE_ACCOUNTS = `apiVersion: v1
kind: ServiceAccount
metadata:
  name: reports
  namespace: analytics
  annotations:
    eks.amazonaws.com/role-arn: arn:aws:iam::200000000002:role/s3-onboarding/ob-3f9a2c7d
    eks.amazonaws.com/sts-regional-endpoints: "true"
`;

const MOUNTPOINT_ANNOTATE = `#!/bin/sh
# Annotates existing service accounts with the IAM role (run once per cluster, in its kubectl context).
# Restart the pods that use them afterwards so the EKS pod identity webhook injects the role.
set -eu
kubectl annotate serviceaccount --overwrite --namespace 'analytics' -- 'reports' 'eks.amazonaws.com/role-arn=arn:aws:iam::200000000002:role/s3-onboarding/ob-3f9a2c7d' 'eks.amazonaws.com/sts-regional-endpoints=true'
`;

const MOUNTPOINT_RW = `apiVersion: v1
kind: PersistentVolume
metadata:
  name: analytics-s3-demo-backups-team-a-db
spec:
  capacity:
    storage: 1200Gi
  accessModes:
    - ReadWriteMany
  storageClassName: ""
  claimRef:
    namespace: analytics
    name: s3-demo-backups-team-a-db
  mountOptions:
    - region=eu-west-1
    - prefix=team-a/db/
    - allow-delete
  csi:
    driver: s3.csi.aws.com
    volumeHandle: analytics-s3-demo-backups-team-a-db
    volumeAttributes:
      bucketName: demo-backups
      authenticationSource: pod
      stsRegion: eu-west-1
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: s3-demo-backups-team-a-db
  namespace: analytics
spec:
  accessModes:
    - ReadWriteMany
  storageClassName: ""
  resources:
    requests:
      storage: 1200Gi
  volumeName: analytics-s3-demo-backups-team-a-db
`;

const MOUNTPOINT_RO = `apiVersion: v1
kind: PersistentVolume
metadata:
  name: analytics-s3-demo-backups-team-a-db-ro
spec:
  capacity:
    storage: 1200Gi
  accessModes:
    - ReadOnlyMany
  storageClassName: ""
  claimRef:
    namespace: analytics
    name: s3-demo-backups-team-a-db-ro
  mountOptions:
    - region=eu-west-1
    - prefix=team-a/db/
    - read-only
  csi:
    driver: s3.csi.aws.com
    volumeHandle: analytics-s3-demo-backups-team-a-db-ro
    volumeAttributes:
      bucketName: demo-backups
      authenticationSource: pod
      stsRegion: eu-west-1
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: s3-demo-backups-team-a-db-ro
  namespace: analytics
spec:
  accessModes:
    - ReadOnlyMany
  storageClassName: ""
  resources:
    requests:
      storage: 1200Gi
  volumeName: analytics-s3-demo-backups-team-a-db-ro
`;

const MOUNTPOINT_KMS = `apiVersion: v1
kind: PersistentVolume
metadata:
  name: analytics-s3-demo-backups
spec:
  capacity:
    storage: 1200Gi
  accessModes:
    - ReadWriteMany
  storageClassName: ""
  claimRef:
    namespace: analytics
    name: s3-demo-backups
  mountOptions:
    - region=eu-west-1
    - allow-delete
    - sse=aws:kms
    - sse-kms-key-id=arn:aws:kms:eu-west-1:300000000003:key/1234abcd-12ab-34cd-56ef-1234567890ab
  csi:
    driver: s3.csi.aws.com
    volumeHandle: analytics-s3-demo-backups
    volumeAttributes:
      bucketName: demo-backups
      authenticationSource: pod
      stsRegion: eu-west-1
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: s3-demo-backups
  namespace: analytics
spec:
  accessModes:
    - ReadWriteMany
  storageClassName: ""
  resources:
    requests:
      storage: 1200Gi
  volumeName: analytics-s3-demo-backups
`;

const GENERIC_SERVICE_ACCOUNTS = `apiVersion: v1
kind: ServiceAccount
metadata:
  name: app
  namespace: apps
  annotations:
    eks.amazonaws.com/role-arn: arn:aws:iam::200000000002:role/s3-onboarding/ob-3f9a2c7d
    eks.amazonaws.com/sts-regional-endpoints: "true"
`;

const GENERIC_ANNOTATE = `#!/bin/sh
# Annotates existing service accounts with the IAM role (run once per cluster, in its kubectl context).
# Restart the pods that use them afterwards so the EKS pod identity webhook injects the role.
set -eu
kubectl annotate serviceaccount --overwrite --namespace 'apps' -- 'app' 'eks.amazonaws.com/role-arn=arn:aws:iam::200000000002:role/s3-onboarding/ob-3f9a2c7d' 'eks.amazonaws.com/sts-regional-endpoints=true'
`;

const EC2_PBM_AWS_CONFIG = `# AWS shared config profile for pbm-agent and the pbm CLI on EC2. No secrets in it.
# Install as root: install -D -m 0644 aws-config /etc/s3-onboarding/aws-config
# (if that file already holds other s3-onboarding profiles, add this section to it instead).
# pbm-agent runs as user mongod, so the file must stay readable by it.
# The instance role below gets its credentials from instance metadata and assumes role_arn:
# arn:aws:iam::200000000002:role/pbm-ec2-instance-role
[profile s3-onboarding-ob-3f9a2c7d]
role_arn = arn:aws:iam::200000000002:role/s3-onboarding/ob-3f9a2c7d
credential_source = Ec2InstanceMetadata
role_session_name = pbm-agent-ob-3f9a2c7d
`;

const EC2_PBM_ENV = `# Environment for pbm-agent on EC2: selects the profile in aws-config (install that file first).
# Append to /etc/sysconfig/pbm-agent (RHEL) or /etc/default/pbm-agent (Debian, Ubuntu), then run
# systemctl restart pbm-agent. Export the same two variables in the shell that runs the pbm CLI:
# describe-backup, describe-restore and restore-finish read the storage with its own credentials.
# No access keys: the instance role arn:aws:iam::200000000002:role/pbm-ec2-instance-role
# assumes the role named in the profile. Set no access keys, AWS_ROLE_ARN or AWS_WEB_IDENTITY_TOKEN_FILE
# for this service: they take precedence over the profile.
# Keep storage.s3.credentials out of the PBM config for the same reason.
AWS_CONFIG_FILE=/etc/s3-onboarding/aws-config
AWS_PROFILE=s3-onboarding-ob-3f9a2c7d
`;

const EC2_GENERIC_AWS_CONFIG = `# AWS shared config profile for your tool on EC2. No secrets in it.
# Install as root: install -D -m 0644 aws-config /etc/s3-onboarding/aws-config
# (if that file already holds other s3-onboarding profiles, add this section to it instead).
# The instance role below gets its credentials from instance metadata and assumes role_arn:
# arn:aws:iam::200000000002:role/pbm-ec2-instance-role
[profile s3-onboarding-ob-3f9a2c7d]
role_arn = arn:aws:iam::200000000002:role/s3-onboarding/ob-3f9a2c7d
credential_source = Ec2InstanceMetadata
role_session_name = s3-onboarding-ob-3f9a2c7d
`;

const EC2_GENERIC_ENV = `# Environment for a tool on EC2 that uses an AWS SDK's default credential chain: selects the profile
# in aws-config (install that file first). Add it to the service environment (systemd
# EnvironmentFile=) and restart the service. Tools built on the AWS SDK for Go v1 also need
# AWS_SDK_LOAD_CONFIG=1 to read AWS_CONFIG_FILE.
# No access keys: the instance role arn:aws:iam::200000000002:role/pbm-ec2-instance-role
# assumes the role named in the profile. Set no access keys, AWS_ROLE_ARN or AWS_WEB_IDENTITY_TOKEN_FILE
# for this service: they take precedence over the profile.
AWS_CONFIG_FILE=/etc/s3-onboarding/aws-config
AWS_PROFILE=s3-onboarding-ob-3f9a2c7d
`;

const GOLDEN: Record<Tool, Partial<Record<Case, Snippets>>> = {
  pbm: {
    'read-write': {
      'serviceaccount.yaml': PBM_SERVICE_ACCOUNTS,
      'annotate.sh': PBM_ANNOTATE,
      'pbm-config.yaml': PBM_RW,
    },
    restore: {
      'serviceaccount.yaml': PBM_SERVICE_ACCOUNTS,
      'annotate.sh': PBM_ANNOTATE,
      'pbm-config.yaml': PBM_RESTORE,
    },
    kms: { 'serviceaccount.yaml': PBM_SERVICE_ACCOUNTS, 'annotate.sh': PBM_ANNOTATE, 'pbm-config.yaml': PBM_KMS },
    ec2: { 'aws-config': EC2_PBM_AWS_CONFIG, 'pbm-agent.env': EC2_PBM_ENV, 'pbm-config.yaml': PBM_RW },
  },
  'psmdb-operator': {
    'read-write': {
      'serviceaccount.yaml': PSMDB_SERVICE_ACCOUNTS,
      'annotate.sh': PSMDB_ANNOTATE,
      'psmdb-backup-storages.yaml': PSMDB_RW,
    },
    restore: {
      'serviceaccount.yaml': PSMDB_SERVICE_ACCOUNTS,
      'annotate.sh': PSMDB_ANNOTATE,
      'psmdb-backup-storages.yaml': PSMDB_RESTORE,
    },
    kms: {
      'serviceaccount.yaml': PSMDB_SERVICE_ACCOUNTS,
      'annotate.sh': PSMDB_ANNOTATE,
      'psmdb-backup-storages.yaml': PSMDB_KMS,
    },
  },
  stackgres: {
    'read-write': {
      'serviceaccount.yaml': STACKGRES_SERVICE_ACCOUNTS,
      'annotate.sh': STACKGRES_ANNOTATE,
      'sgobjectstorage.yaml': STACKGRES_RW,
      'sgcluster-annotations.yaml': STACKGRES_CLUSTER,
    },
    restore: {
      'serviceaccount.yaml': STACKGRES_SERVICE_ACCOUNTS,
      'annotate.sh': STACKGRES_ANNOTATE,
      'sgobjectstorage.yaml': STACKGRES_RESTORE,
      'sgcluster-annotations.yaml': STACKGRES_CLUSTER,
    },
    'read-only': {
      'serviceaccount.yaml': STACKGRES_SERVICE_ACCOUNTS,
      'annotate.sh': STACKGRES_ANNOTATE,
      'sgobjectstorage.yaml': STACKGRES_RO,
      'sgcluster-annotations.yaml': STACKGRES_CLUSTER,
    },
    kms: {
      'serviceaccount.yaml': STACKGRES_SERVICE_ACCOUNTS,
      'annotate.sh': STACKGRES_ANNOTATE,
      'sgobjectstorage.yaml': STACKGRES_KMS,
      'sgcluster-annotations.yaml': STACKGRES_CLUSTER,
    },
  },
  velero: {
    'read-write': {
      'serviceaccount.yaml': VELERO_SERVICE_ACCOUNTS,
      'annotate.sh': VELERO_ANNOTATE,
      'velero-bsl.yaml': VELERO_RW,
    },
    restore: {
      'serviceaccount.yaml': VELERO_SERVICE_ACCOUNTS,
      'annotate.sh': VELERO_ANNOTATE,
      'velero-bsl.yaml': VELERO_RESTORE,
    },
    kms: {
      'serviceaccount.yaml': VELERO_SERVICE_ACCOUNTS,
      'annotate.sh': VELERO_ANNOTATE,
      'velero-bsl.yaml': VELERO_KMS,
    },
    helm: {
      'serviceaccount.yaml': VELERO_HELM_SERVICE_ACCOUNTS,
      'annotate.sh': VELERO_HELM_ANNOTATE,
      'velero-bsl.yaml': VELERO_HELM_BSL,
      'velero-values.yaml': VELERO_HELM_VALUES,
    },
  },
  'mountpoint-s3-csi': {
    'read-write': {
      'serviceaccount.yaml': MOUNTPOINT_SERVICE_ACCOUNTS,
      'annotate.sh': MOUNTPOINT_ANNOTATE,
      'mountpoint-pv.yaml': MOUNTPOINT_RW,
    },
    'read-only': {
      'serviceaccount.yaml': MOUNTPOINT_SERVICE_ACCOUNTS,
      'annotate.sh': MOUNTPOINT_ANNOTATE,
      'mountpoint-pv.yaml': MOUNTPOINT_RO,
    },
    kms: {
      'serviceaccount.yaml': MOUNTPOINT_SERVICE_ACCOUNTS,
      'annotate.sh': MOUNTPOINT_ANNOTATE,
      'mountpoint-pv.yaml': MOUNTPOINT_KMS,
    },
  },
  generic: {
    'read-write': { 'serviceaccount.yaml': GENERIC_SERVICE_ACCOUNTS, 'annotate.sh': GENERIC_ANNOTATE },
    'read-only': { 'serviceaccount.yaml': GENERIC_SERVICE_ACCOUNTS, 'annotate.sh': GENERIC_ANNOTATE },
    kms: { 'serviceaccount.yaml': GENERIC_SERVICE_ACCOUNTS, 'annotate.sh': GENERIC_ANNOTATE },
    ec2: { 'aws-config': EC2_GENERIC_AWS_CONFIG, 'pbm-agent.env': EC2_GENERIC_ENV },
  },
};

const MATRIX = TOOLS.flatMap((tool) => CASES[tool].map((kase) => [tool, kase] as const));

// ---------- helpers ----------

/** Runs a script with `kubectl` replaced by a function that prints each argument NUL-terminated, one call per record. */
function kubectlCalls(script: string): string[][] {
  const fake = `kubectl() { for a in "$@"; do printf '%s\\0' "$a"; done; printf '\\001'; }\n`;
  const result = spawnSync('sh', ['-s'], { input: fake + script, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`sh failed (${result.status}): ${result.stderr}`);
  return result.stdout
    .split('\u0001')
    .filter((call) => call !== '')
    .map((call) => call.split('\u0000').slice(0, -1));
}

function yamlDocuments(text: string): unknown[] {
  const docs = parseAllDocuments(text);
  for (const doc of docs) expect(doc.errors).toEqual([]);
  return docs.map((doc) => doc.toJS() as unknown);
}

// ---------- tests ----------

describe('Module: lib/snippets', () => {
  describe('Function: renderSnippets', () => {
    it.each(MATRIX)('renders the exact golden files for %s, %s', (tool, kase) => {
      expect(renderSnippets(input(tool, kase))).toEqual(GOLDEN[tool][kase]);
    });

    it('returns only the two service-account files for a generic eks request', () => {
      expect(Object.keys(renderSnippets(input('generic', 'read-write'))).sort()).toEqual([
        'annotate.sh',
        'serviceaccount.yaml',
      ]);
    });

    it('returns aws-config and pbm-agent.env (+ pbm-config.yaml for pbm) for every ec2 request', () => {
      for (const tool of ['pbm', 'generic'] as const) {
        const expected =
          tool === 'pbm' ? ['aws-config', 'pbm-agent.env', 'pbm-config.yaml'] : ['aws-config', 'pbm-agent.env'];
        expect(Object.keys(renderSnippets(input(tool, 'ec2'))).sort()).toEqual(expected);
      }
    });

    it('ec2: pbm-agent.env selects the profile aws-config defines, and sets none of the variables the SDKs ignore or prefer', () => {
      for (const tool of ['pbm', 'generic'] as const) {
        const files = renderSnippets(input(tool, 'ec2'));
        const env = envFileVariables(files['pbm-agent.env'] as string);
        const sections = awsConfigSections(files['aws-config'] as string);
        expect([...env.keys()].sort()).toEqual(['AWS_CONFIG_FILE', 'AWS_PROFILE']);
        expect([...sections.keys()]).toEqual([`profile ${env.get('AWS_PROFILE')}`]);
        expect(sections.get(`profile ${env.get('AWS_PROFILE')}`)?.get('role_arn')).toBe(ROLE_ARN);
        expect(files['pbm-agent.env']).not.toMatch(
          /^AWS_(ROLE_ARN|SESSION_NAME|ROLE_SESSION_NAME|WEB_IDENTITY_TOKEN_FILE)=/m,
        );
      }
    });

    it('annotate.sh sets exactly the annotations of serviceaccount.yaml, for every tool', () => {
      for (const [tool, kase] of MATRIX.filter(([, k]) => k !== 'ec2')) {
        const files = renderSnippets(input(tool, kase));
        const docs = yamlDocuments(files['serviceaccount.yaml'] as string) as {
          metadata: { name: string; namespace: string; annotations: Record<string, string> };
        }[];
        const calls = kubectlCalls(files['annotate.sh'] as string);
        expect(calls).toEqual(
          docs.map((d) => [
            'annotate',
            'serviceaccount',
            '--overwrite',
            '--namespace',
            d.metadata.namespace,
            '--',
            d.metadata.name,
            ...Object.entries(d.metadata.annotations).map(([k, v]) => `${k}=${v}`),
          ]),
        );
      }
    });

    it('never writes credentials or secrets into any snippet', () => {
      const forbiddenKeys =
        /^(credentials?|credentialsSecret|credentialsFile|secretKeySelectors|access-key-id|secret-access-key|session-token|sseCustomerKey)$/;
      const keysOf = (value: unknown): string[] =>
        typeof value === 'object' && value !== null ? Object.entries(value).flatMap(([k, v]) => [k, ...keysOf(v)]) : [];
      for (const [tool, kase] of MATRIX) {
        for (const [file, text] of Object.entries(renderSnippets(input(tool, kase)))) {
          expect(text).not.toMatch(/AKIA|ASIA|AWS_ACCESS_KEY_ID|AWS_SECRET_ACCESS_KEY|AWS_SESSION_TOKEN/);
          if (file === 'velero-values.yaml') {
            // the chart's switch that turns its credentials secret off
            const { credentials, ...rest } = parse(text) as { credentials: unknown };
            expect(credentials).toEqual({ useSecret: false });
            expect(keysOf(rest).filter((k) => forbiddenKeys.test(k))).toEqual([]);
          } else if (file.endsWith('.yaml')) {
            expect(
              yamlDocuments(text)
                .flatMap(keysOf)
                .filter((k) => forbiddenKeys.test(k)),
            ).toEqual([]);
          }
        }
      }
    });

    it('renders one ServiceAccount per distinct name, in request order', () => {
      const request = input('generic', 'read-write');
      request.workload = { type: 'eks', namespace: 'apps', serviceAccounts: ['b', 'a', 'b'], clusters: [CLUSTER] };
      const docs = yamlDocuments(renderSnippets(request)['serviceaccount.yaml'] as string);
      expect(docs.map((d) => (d as { metadata: { name: string } }).metadata.name)).toEqual(['b', 'a']);
    });

    it('throws SnippetInputError when an eks request names no service account', () => {
      const request = input('generic', 'read-write');
      request.workload = { type: 'eks', namespace: 'apps', serviceAccounts: [], clusters: [CLUSTER] };
      expect(() => renderSnippets(request)).toThrow(SnippetInputError);
    });

    it('is pure: the same input gives the same output and the input is not modified', () => {
      const request = input('mountpoint-s3-csi', 'kms');
      const copy = structuredClone(request);
      expect(renderSnippets(request)).toEqual(renderSnippets(copy));
      expect(request).toEqual(copy);
    });
  });

  describe('Function: renderMountpointVolume', () => {
    it('uses driver-level credentials for the driver service account in kube-system, the claim in the namespace of the pods that mount it', () => {
      const text = renderMountpointVolume(PREFIXED_BUCKET, 'read-only', {
        namespace: 'kube-system',
        serviceAccounts: ['s3-csi-driver-sa'],
        clusters: [CLUSTER],
        claimNamespace: 'analytics',
      });
      expect(text)
        .toBe(`# Driver-level credentials: the role belongs to the CSI driver (kube-system/s3-csi-driver-sa), so every pod
# on every node that mounts a Mountpoint volume without authenticationSource: pod uses it. The claim is in
# the namespace of the pods that mount it. Prefer pod-level credentials (onboard the service account of the pods).
apiVersion: v1
kind: PersistentVolume
metadata:
  name: analytics-s3-demo-backups-team-a-db-ro
spec:
  capacity:
    storage: 1200Gi
  accessModes:
    - ReadOnlyMany
  storageClassName: ""
  claimRef:
    namespace: analytics
    name: s3-demo-backups-team-a-db-ro
  mountOptions:
    - region=eu-west-1
    - prefix=team-a/db/
    - read-only
  csi:
    driver: s3.csi.aws.com
    volumeHandle: analytics-s3-demo-backups-team-a-db-ro
    volumeAttributes:
      bucketName: demo-backups
      authenticationSource: driver
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: s3-demo-backups-team-a-db-ro
  namespace: analytics
spec:
  accessModes:
    - ReadOnlyMany
  storageClassName: ""
  resources:
    requests:
      storage: 1200Gi
  volumeName: analytics-s3-demo-backups-team-a-db-ro
`);
      expect(validateSnippet('mountpoint-pv.yaml', text)).toEqual([]);
    });

    it('refuses driver-level credentials without the namespace of the pods that mount the volume', () => {
      const target = { namespace: 'kube-system', serviceAccounts: ['s3-csi-driver-sa'], clusters: [CLUSTER] };
      expect(() => renderMountpointVolume(PREFIXED_BUCKET, 'read-write', target)).toThrow(
        expect.objectContaining({ name: 'SnippetInputError', path: 'workload.claimNamespace' }),
      );
    });

    it('puts the claim in the service account namespace with pod-level credentials, whatever claimNamespace says', () => {
      const [pv, pvc] = yamlDocuments(
        renderMountpointVolume(PREFIXED_BUCKET, 'read-write', {
          namespace: 'analytics',
          serviceAccounts: ['reports'],
          clusters: [CLUSTER],
          claimNamespace: 'analytics',
        }),
      ) as [{ spec: { claimRef: { namespace: string } } }, { metadata: { namespace: string } }];
      expect([pv.spec.claimRef.namespace, pvc.metadata.namespace]).toEqual(['analytics', 'analytics']);
    });

    it('leaves stsRegion out when the clusters are in different regions', () => {
      const text = renderMountpointVolume(PREFIXED_BUCKET, 'read-write', {
        namespace: 'analytics',
        serviceAccounts: ['reports'],
        clusters: [CLUSTER, { name: 'dr', accountId: '200000000002', region: 'eu-central-1' }],
      });
      const [pv] = yamlDocuments(text) as [{ spec: { csi: { volumeAttributes: Record<string, string> } } }];
      expect(pv.spec.csi.volumeAttributes).toEqual({ bucketName: 'demo-backups', authenticationSource: 'pod' });
    });
  });

  describe('Functions: renderPbmAgentEnv, renderAwsConfig', () => {
    it.each([
      ['roleArn', { roleArn: `${ROLE_ARN}\nAWS_ACCESS_KEY_ID=x` }],
      ['roleArn', { roleArn: 'arn:aws:iam::2000:role/x' }],
      ['roleArn', { roleArn: `${ROLE_ARN}\n[profile default]` }],
      ['workload.instanceRoleArn', { instanceRoleArn: `${INSTANCE_ROLE_ARN} # x` }],
      ['onboardingId', { onboardingId: 'ob-1\nAWS_ROLE_ARN=evil' }],
      ['onboardingId', { onboardingId: 'ob-1]\n[profile x' }],
    ])('refuses a value that could break out of its line (%s)', (path, override) => {
      const base = {
        onboardingId: 'ob-1',
        tool: 'pbm' as const,
        roleArn: ROLE_ARN,
        instanceRoleArn: INSTANCE_ROLE_ARN,
      };
      expect(() => renderPbmAgentEnv({ ...base, ...override })).toThrow(
        expect.objectContaining({ name: 'SnippetInputError', path }),
      );
      expect(() => renderAwsConfig({ ...base, ...override })).toThrow(
        expect.objectContaining({ name: 'SnippetInputError', path }),
      );
    });

    it('keeps the session name within the 64 characters STS allows', () => {
      const name = pbmSessionName('ob-' + 'a'.repeat(100));
      expect(name).toHaveLength(64);
      expect(name).toMatch(/^[\w+=,.@-]{2,64}$/);
    });
  });

  describe('Module: defaults', () => {
    it.each([
      ['psmdb-operator', undefined, ['percona-server-mongodb-operator', 'default']],
      ['velero', undefined, ['velero']],
      ['velero', 'backup', ['velero']],
      ['mountpoint-s3-csi', undefined, ['s3-csi-driver-sa']],
      ['mountpoint-s3-csi', 'kube-system', ['s3-csi-driver-sa']],
      ['mountpoint-s3-csi', 'analytics', undefined],
      ['pbm', 'mongodb', undefined],
      ['stackgres', 'postgres', undefined],
      ['generic', 'apps', undefined],
    ] as const)('defaultServiceAccounts(%s, %s) is %j', (tool, namespace, expected) => {
      expect(defaultServiceAccounts(tool, namespace)).toEqual(expected);
    });

    it.each([
      ['velero', 'velero'],
      ['mountpoint-s3-csi', 'kube-system'],
      ['pbm', undefined],
      ['psmdb-operator', undefined],
      ['stackgres', undefined],
      ['generic', undefined],
    ] as const)('defaultNamespace(%s) is %s', (tool, expected) => {
      expect(defaultNamespace(tool)).toBe(expected);
    });

    // vmware-tanzu/helm-charts charts/velero/templates/_helpers.tpl: velero.fullname and velero.serverServiceAccount
    it.each([
      ['velero', undefined, 'velero-server'],
      ['backup', undefined, 'backup-velero-server'],
      ['prod-velero-1', undefined, 'prod-velero-1-server'],
      ['backup', 'dr', 'dr-server'],
      // trunc 63, then trimSuffix "-"
      ['a'.repeat(57) + '-b', undefined, `${'a'.repeat(57)}-b-vel-server`],
      ['a'.repeat(62), undefined, `${'a'.repeat(62)}-server`],
    ] as const)(
      'the Helm chart names the server service account of release %s (fullnameOverride %s) %s',
      (release, override, expected) => {
        expect(veleroHelmServiceAccount(release, override)).toBe(expected);
        expect(
          defaultServiceAccounts('velero', 'velero', {
            installMethod: 'helm',
            helmReleaseName: release,
            ...(override && { helmFullnameOverride: override }),
          }),
        ).toEqual([expected]);
      },
    );

    it('has no default Velero service account for a Helm install without its release name; velero for velero install', () => {
      expect(defaultServiceAccounts('velero', 'velero', { installMethod: 'helm' })).toBeUndefined();
      expect(defaultServiceAccounts('velero', 'velero', { installMethod: 'cli' })).toEqual(['velero']);
    });

    it('returns a fresh array each time, so callers cannot change the defaults', () => {
      (defaultServiceAccounts('velero') as string[]).push('x');
      expect(defaultServiceAccounts('velero')).toEqual(['velero']);
    });

    it('derives storage names as DNS labels, distinct for read-only and for long inputs', () => {
      const long = { name: 'b'.repeat(63), prefix: 'p'.repeat(50) };
      expect(defaultStorageName({ name: 'my.bucket', prefix: '/a/B_c/' }, 'read-write')).toBe('s3-my-bucket-a-b-c');
      expect(defaultStorageName({ name: 'my.bucket' }, 'read-only')).toBe('s3-my-bucket-ro');
      expect(defaultStorageName({ name: 'my.bucket' }, 'restore')).toBe('s3-my-bucket-restore');
      expect(defaultStorageName(long, 'read-write')).toMatch(/^s3-b+-[0-9a-f]{8}$/);
      expect(defaultStorageName(long, 'read-write')).toHaveLength(63);
      expect(defaultStorageName(long, 'read-write')).not.toBe(
        defaultStorageName({ ...long, prefix: 'q' + long.prefix }, 'read-write'),
      );
    });

    it('k8sName always yields a valid DNS label', () => {
      fc.assert(
        fc.property(fc.array(fc.string({ unit: 'binary' }), { maxLength: 4 }), (parts) => {
          expect(k8sName('s3', ...parts)).toMatch(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/);
        }),
      );
    });
  });

  describe('Schema validation (../shared/schemas)', () => {
    const rendered = MATRIX.flatMap(([tool, kase]) =>
      Object.entries(renderSnippets(input(tool, kase))).map(([file, text]) => [tool, kase, file, text] as const),
    );

    it.each(rendered)('%s / %s: %s is valid', (_tool, _kase, file, text) => {
      expect(validateSnippet(file, text)).toEqual([]);
    });

    it('covers every snippet file name of the contract', () => {
      expect([...new Set(rendered.map(([, , file]) => file))].sort()).toEqual([
        'annotate.sh',
        'aws-config',
        'mountpoint-pv.yaml',
        'pbm-agent.env',
        'pbm-config.yaml',
        'psmdb-backup-storages.yaml',
        'serviceaccount.yaml',
        'sgcluster-annotations.yaml',
        'sgobjectstorage.yaml',
        'velero-bsl.yaml',
        'velero-values.yaml',
      ]);
    });

    // The validators must be able to fail, or the tests above prove nothing.
    it.each([
      ['pbm-config.yaml', PBM_RW.replace('    prefix: team-a/db\n', '    prefx: team-a/db\n'), /prefx|additional/],
      ['pbm-config.yaml', PBM_RW + '    credentials:\n      access-key-id: AKIA\n', /credentials/],
      ['pbm-config.yaml', PBM_RW.replace('bucket: demo-backups', 'bucket: 12'), /string/],
      ['psmdb-backup-storages.yaml', PSMDB_RW.replace('        type: s3\n', ''), /type/],
      [
        'psmdb-backup-storages.yaml',
        PSMDB_RW + '          serverSideEncryption:\n            sseAlgorithm: aws:kms\n',
        /serverSideEncryption/,
      ],
      ['sgobjectstorage.yaml', STACKGRES_RW.replace('useIAMRole: true', 'useIAMRole: false'), /useIAMRole/],
      ['sgobjectstorage.yaml', STACKGRES_RW.replace('type: s3', 'type: s4'), /enum|s3/],
      ['velero-bsl.yaml', VELERO_RW + '    s3ForcePathStyle: true\n', /string/],
      ['velero-bsl.yaml', VELERO_RW + '    credential: x\n', /additional/],
      ['velero-bsl.yaml', VELERO_RW.replace('provider: aws', 'provider: gcp'), /provider/],
      [
        'mountpoint-pv.yaml',
        MOUNTPOINT_RW.replace('authenticationSource: pod', 'authenticationSource: secret'),
        /allowed values/,
      ],
      [
        'mountpoint-pv.yaml',
        MOUNTPOINT_RW.replace('    - allow-delete\n', '    - allow-delete\n    - foreground\n'),
        /foreground/,
      ],
      ['mountpoint-pv.yaml', MOUNTPOINT_RW.replace('prefix=team-a/db/', 'prefix=team-a/db'), /prefix/],
      ['mountpoint-pv.yaml', MOUNTPOINT_RO.replace('    - read-only\n', '    - allow-delete\n'), /allow-delete/],
      [
        'serviceaccount.yaml',
        VELERO_SERVICE_ACCOUNTS.replace('role-arn: arn:aws:iam', 'role-arn: arn:aws:s3'),
        /pattern/,
      ],
      ['annotate.sh', VELERO_ANNOTATE.replace("'velero' 'eks", "'velero 'eks"), /sh -n/],
      ['pbm-agent.env', EC2_PBM_ENV + 'AWS_ACCESS_KEY_ID=AKIA\n', /unexpected variable/],
      [
        'pbm-agent.env',
        'AWS_ROLE_ARN=arn:aws:iam::200000000002:role/x\nAWS_SESSION_NAME=pbm\n',
        /unexpected variable AWS_ROLE_ARN/,
      ],
      ['aws-config', EC2_PBM_AWS_CONFIG.replace('Ec2InstanceMetadata', 'Environment'), /credential_source/],
      ['aws-config', EC2_PBM_AWS_CONFIG.replace('[profile ', '['), /profile NAME/],
      ['aws-config', EC2_PBM_AWS_CONFIG + 'aws_access_key_id = AKIA\n', /unexpected key/],
      [
        'annotate.sh',
        VELERO_ANNOTATE.replace(" 'eks.amazonaws.com/sts-regional-endpoints=true'", ''),
        /sts-regional-endpoints/,
      ],
      ['psmdb-backup-storages.yaml', PSMDB_RW.replace('        main: true\n', ''), /main/],
      [
        'sgcluster-annotations.yaml',
        STACKGRES_CLUSTER.replace('serviceAccount:', 'clusterPods:'),
        /serviceAccount|additional/,
      ],
      [
        'velero-values.yaml',
        'credentials:\n  useSecret: true\nserviceAccount:\n  server:\n    create: true\n    annotations: {}\n',
        /useSecret|role-arn/,
      ],
      ['nothing.txt', '', /unknown snippet file/],
    ])('rejects a broken %s', (file, text, message) => {
      const errors = validateSnippet(file, text);
      expect(errors.length).toBeGreaterThan(0);
      expect(errors.join('\n')).toMatch(message);
    });
  });

  describe('Hostile input', () => {
    const HOSTILE = [
      `a': "b\n#c`,
      `--all`,
      `$(touch /tmp/pwned) \`id\` $HOME`,
      `it's`,
      `'`,
      `x\\y\\'z`,
      `- item`,
      `key: value`,
      `*alias`,
      `&anchor !!binary`,
      `{a: 1}`,
      `---`,
      `...`,
      `true`,
      `null`,
      `~`,
      `0x10`,
      `  padded  `,
      `tab\there`,
      `ünïcødé \u2028 line`,
    ];

    function hostileInput(tool: Tool, value: string, access: Access = 'read-write'): SnippetInput {
      // StackGres service accounts are always <sgcluster>-patroni
      const serviceAccounts = tool === 'stackgres' ? [`${value}-patroni`, `${value}2-patroni`] : [value, `${value}2`];
      return {
        onboardingId: 'ob-1',
        tool,
        access,
        roleArn: ROLE_ARN,
        bucket: { name: value, region: value, prefix: value, kmsKeyArn: value },
        workload: { type: 'eks', namespace: value, serviceAccounts, clusters: [CLUSTER] },
      };
    }

    it.each(HOSTILE)('keeps %j unchanged through serviceaccount.yaml', (value) => {
      const docs = yamlDocuments(renderSnippets(hostileInput('generic', value))['serviceaccount.yaml'] as string);
      expect(docs).toEqual(
        [value, `${value}2`].map((name) => ({
          apiVersion: 'v1',
          kind: 'ServiceAccount',
          metadata: {
            name,
            namespace: value,
            annotations: { 'eks.amazonaws.com/role-arn': ROLE_ARN, 'eks.amazonaws.com/sts-regional-endpoints': 'true' },
          },
        })),
      );
    });

    it.each(HOSTILE)('passes %j to kubectl as exactly one argument each in annotate.sh', (value) => {
      const script = renderSnippets(hostileInput('generic', value))['annotate.sh'] as string;
      expect(kubectlCalls(script)).toEqual(
        [value, `${value}2`].map((sa) => [
          'annotate',
          'serviceaccount',
          '--overwrite',
          '--namespace',
          value,
          '--',
          sa,
          `eks.amazonaws.com/role-arn=${ROLE_ARN}`,
          'eks.amazonaws.com/sts-regional-endpoints=true',
        ]),
      );
      expect(validateSnippet('annotate.sh', script)).toEqual([]);
    });

    it('quotes a single quote as close-escape-reopen', () => {
      expect(shellQuote(`it's`)).toBe(`'it'\\''s'`);
      expect(shellQuote('')).toBe(`''`);
    });

    // Control characters never reach a snippet (request validation refuses them), and /bin/sh (dash) uses some
    // of them as internal markers, so the property covers printable text: ASCII and beyond, quotes included.
    it('keeps any printable string intact through shell quoting (property)', () => {
      fc.assert(
        fc.property(
          fc.string({ unit: 'binary' }).filter((s) => !/[\u0000-\u001f\u007f-\u009f]/.test(s)),
          (value) => {
            const [call] = kubectlCalls(`kubectl ${shellQuote(value)}\n`);
            expect(call).toEqual([value]);
          },
        ),
        { numRuns: 50 },
      );
    });

    it.each(HOSTILE)('keeps %j unchanged through every tool file', (value) => {
      const prefix = trimPrefix(value);
      const pbm = parse(renderSnippets(hostileInput('pbm', value))['pbm-config.yaml'] as string);
      expect(pbm).toEqual({
        storage: {
          type: 's3',
          s3: {
            region: value,
            bucket: value,
            prefix,
            serverSideEncryption: { sseAlgorithm: 'aws:kms', kmsKeyID: value },
          },
        },
      });

      const psmdb = parse(
        renderSnippets(hostileInput('psmdb-operator', value))['psmdb-backup-storages.yaml'] as string,
      );
      expect(Object.values(psmdb.spec.backup.storages)).toEqual([
        { type: 's3', main: true, s3: { bucket: value, region: value, prefix } },
      ]);

      const stackgres = renderSnippets(hostileInput('stackgres', value));
      const sg = parse(stackgres['sgobjectstorage.yaml'] as string);
      expect(sg.metadata.namespace).toBe(value);
      expect(
        (yamlDocuments(stackgres['sgcluster-annotations.yaml'] as string) as { metadata: unknown }[]).map(
          (d) => d.metadata,
        ),
      ).toEqual([
        { name: value, namespace: value },
        { name: `${value}2`, namespace: value },
      ]);
      expect(sg.spec.s3).toEqual({ bucket: `${value}/${prefix}`, region: value, awsCredentials: { useIAMRole: true } });

      const bsl = parse(renderSnippets(hostileInput('velero', value))['velero-bsl.yaml'] as string);
      expect(bsl.metadata.namespace).toBe(value);
      expect(bsl.spec.objectStorage).toEqual({ bucket: value, prefix });
      expect(bsl.spec.config).toEqual({ region: value, kmsKeyId: value });

      const [pv, pvc] = yamlDocuments(
        renderSnippets(hostileInput('mountpoint-s3-csi', value))['mountpoint-pv.yaml'] as string,
      ) as [
        {
          spec: {
            mountOptions: string[];
            claimRef: { namespace: string };
            csi: { volumeAttributes: { bucketName: string } };
          };
        },
        { metadata: { namespace: string } },
      ];
      expect(pv.spec.csi.volumeAttributes.bucketName).toBe(value);
      expect(pv.spec.claimRef.namespace).toBe(value);
      expect(pvc.metadata.namespace).toBe(value);
      // What the CSI driver will hand to Mountpoint (its own parsing of mountOptions).
      expect(pv.spec.mountOptions.map(parseMountOption)).toEqual([
        { key: 'region', value: value.trim() === value ? value : expect.any(String) },
        { key: 'prefix', value: `${prefix}/` },
        { key: 'allow-delete', value: '' },
        { key: 'sse', value: 'aws:kms' },
        { key: 'sse-kms-key-id', value: expect.any(String) },
      ]);
    });

    it('keeps generated Kubernetes names valid whatever the input', () => {
      for (const value of HOSTILE) {
        const sg = parse(
          renderSnippets(hostileInput('stackgres', value, 'read-only'))['sgobjectstorage.yaml'] as string,
        );
        expect(sg.metadata.name).toMatch(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/);
        const [pv] = yamlDocuments(
          renderSnippets(hostileInput('mountpoint-s3-csi', value))['mountpoint-pv.yaml'] as string,
        ) as [{ metadata: { name: string } }];
        expect(pv.metadata.name).toMatch(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/);
      }
    });
  });
});
