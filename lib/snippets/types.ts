import type { Requirement } from '../policy/requirements';
export type Tool = 'pbm' | 'psmdb-operator' | 'stackgres' | 'velero' | 'mountpoint-s3-csi' | 'generic';

export type Access = 'read-write' | 'restore' | 'read-only';

export interface BucketRef {
  name: string;
  region: string;
  /** Key prefix inside the bucket, as requested (leading/trailing '/' are normalised per tool). */
  prefix?: string;
  kmsKeyArn?: string;
  /**
   * crossAccountMode access-point: the onboarding's access point. The snippets name it instead of the bucket: its
   * alias where the tool takes a bucket name, its ARN where it accepts one (lib/policy/access-points.ts)
   */
  accessPoint?: { alias: string; arn: string };
}

import type { EksCluster } from '../arn';
import type { DesiredAssociation } from '../policy/pod-identity';

export type { EksCluster };

/** How Velero was installed: it decides the service account's name and where its annotation goes. */
export type VeleroInstall =
  { installMethod: 'cli' } | { installMethod: 'helm'; helmReleaseName?: string; helmFullnameOverride?: string };

/**
 * How the Percona operator for MongoDB was installed: it names the operator's service account and namespace. bundle
 * (deploy/bundle.yaml, the default): percona-server-mongodb-operator in the cluster's namespace; helm
 * (percona/psmdb-operator chart): the chart's fullname, in the release's namespace; cluster-wide installs run the
 * operator in a namespace of its own (deploy/cw-bundle.yaml: psmdb-operator).
 */
export interface PsmdbOperatorInstall {
  installMethod: 'bundle' | 'helm';
  helmReleaseName?: string;
  helmFullnameOverride?: string;
  /** the operator's namespace, when not the cluster's (a cluster-wide install) */
  namespace?: string;
}

export interface EksWorkload {
  type: 'eks';
  namespace: string;
  serviceAccounts: string[];
  clusters: EksCluster[];
  /** mountpoint-s3-csi: the namespace of the pods that mount the volume (driver-level credentials) */
  claimNamespace?: string;
  /** velero: how it was installed (default cli) */
  velero?: VeleroInstall;
  /** psmdb-operator: how the operator was installed (default bundle) */
  psmdbOperator?: PsmdbOperatorInstall;
}

interface Ec2Workload {
  type: 'ec2';
  instanceRoleArn: string;
}

export interface SnippetInput {
  /** e.g. 'ob-3f9a…' (already safe: [a-z0-9-]) */
  onboardingId: string;
  tool: Tool;
  access: Access;
  /** The role the workload uses (IRSA annotation / AWS_ROLE_ARN). */
  roleArn: string;
  bucket: BucketRef;
  workload: EksWorkload | Ec2Workload;
  /** EKS Pod Identity instead of IRSA: the associations the service made (no service-account annotation) */
  podIdentity?: { associations: readonly PodIdentityAssociation[] };
  /** the minimum versions the files need (the answer's requirements), said again in their comments */
  requirements?: readonly Requirement[];
}

/** One EKS Pod Identity association: a service account of a cluster, the role it gets, and the target it chains to. */
export type PodIdentityAssociation = DesiredAssociation;

/** file name -> text */
export type Snippets = Record<string, string>;

/** The snippet file names of the external contract (section 4). */
export const SNIPPET_FILES = {
  pbmConfig: 'pbm-config.yaml',
  psmdbBackupStorages: 'psmdb-backup-storages.yaml',
  sgObjectStorage: 'sgobjectstorage.yaml',
  sgClusterAnnotations: 'sgcluster-annotations.yaml',
  veleroBsl: 'velero-bsl.yaml',
  veleroValues: 'velero-values.yaml',
  mountpointPv: 'mountpoint-pv.yaml',
  serviceAccounts: 'serviceaccount.yaml',
  annotateScript: 'annotate.sh',
  pbmAgentEnv: 'pbm-agent.env',
  awsConfig: 'aws-config',
  podIdentity: 'pod-identity.md',
} as const;

export type SnippetFileName = (typeof SNIPPET_FILES)[keyof typeof SNIPPET_FILES];
