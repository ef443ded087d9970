import * as z from 'zod';
import { accountOfArn, regionOfArn } from '../../arn';
import { accessLevels, UnsupportedAccessError } from '../../policy/actions';
import { defaultServiceAccounts } from '../../snippets/defaults';
import {
  accessSchema,
  accountIdSchema,
  bucketNameSchema,
  bucketPrefixSchema,
  crossAccountModeSchema,
  eksClusterNameSchema,
  iamRoleArnSchema,
  k8sLabelSchema,
  k8sNameSchema,
  kmsKeyArnSchema,
  namespaceSchema,
  regionSchema,
  serviceAccountNameSchema,
  tagsSchema,
  toolSchema,
  type Tool,
} from './validators';
import { mountpointIssues, psmdbOperatorIssues, stackgresIssues, veleroIssues } from './tools';

/**
 * The body of POST /v1/onboardings (contract section 4), and its parser.
 *
 * Every object is strict: an unknown field is an error at that field's path. Field rules live in
 * ./validators.ts; the rules that relate fields to each other run once every field is valid (see
 * `crossFieldIssues`), so their messages never pile onto a field error.
 */

const MAX_CLUSTERS = 10;
const MAX_SERVICE_ACCOUNTS = 10;
/** Tools that run on an EC2 instance (as the instance role) rather than in a Kubernetes pod. */
const EC2_TOOLS: readonly Tool[] = ['pbm', 'generic'];

const eksClusterSchema = z
  .strictObject({
    name: eksClusterNameSchema,
    accountId: accountIdSchema,
    region: regionSchema,
  })
  .meta({ id: 'EksCluster', description: 'An EKS cluster, identified by account, region and name.' });

/** Helm release names: an RFC 1123 subdomain of at most 53 characters (Helm's own rule). */
const helmReleaseNameSchema = k8sNameSchema.max(53, 'must be 1-53 characters (Helm release name)').meta({
  description: 'The Helm release name Velero was installed with (helm install <release> vmware-tanzu/velero).',
  example: 'velero',
});

const veleroInstallSchema = z
  .discriminatedUnion('installMethod', [
    z.strictObject({ installMethod: z.literal('cli') }),
    z.strictObject({
      installMethod: z.literal('helm'),
      helmReleaseName: helmReleaseNameSchema.optional(),
      helmFullnameOverride: k8sLabelSchema
        .optional()
        .meta({ description: "The chart's fullnameOverride value, when the release sets one." }),
    }),
  ])
  .meta({
    id: 'VeleroInstall',
    description:
      'tool velero only: how Velero was installed, which names its service account. cli (the default): `velero install` names it velero. helm: the chart names it <fullname>-server (fullname: helmFullnameOverride, else the release name when it contains "velero", else <release>-velero), so helmReleaseName is required unless workload.serviceAccounts names it.',
  });

const psmdbOperatorInstallSchema = z
  .strictObject({
    installMethod: z.enum(['bundle', 'helm']).default('bundle'),
    helmReleaseName: helmReleaseNameSchema.optional().meta({
      description: 'The Helm release name of the psmdb-operator chart (helm install <release> percona/psmdb-operator).',
      example: 'my-op',
    }),
    helmFullnameOverride: k8sLabelSchema
      .optional()
      .meta({ description: "The chart's fullnameOverride value, when the release sets one." }),
    namespace: namespaceSchema
      .optional()
      .meta({ description: "The operator's namespace when it is not workload.namespace (a cluster-wide install)." }),
  })
  .meta({
    id: 'PsmdbOperatorInstall',
    description:
      'tool psmdb-operator only: how the operator was installed, which names its service account. bundle (the default; deploy/bundle.yaml or cw-bundle.yaml): percona-server-mongodb-operator. helm (percona/psmdb-operator chart): the chart\'s fullname (helmFullnameOverride, else the release name when it contains "psmdb-operator", else <release>-psmdb-operator), so helmReleaseName is required unless workload.serviceAccounts names it. The pbm-agent sidecars run as the cluster\'s own service account (default). A cluster-wide install runs the operator in another namespace: that needs a second onboarding (see namespace).',
  });

const eksWorkloadSchema = z
  .strictObject({
    type: z.literal('eks'),
    clusters: z
      .array(eksClusterSchema)
      .min(1, `must list 1-${MAX_CLUSTERS} clusters`)
      .max(MAX_CLUSTERS, `must list 1-${MAX_CLUSTERS} clusters`)
      .superRefine((clusters, ctx) => {
        const seen = new Set<string>();
        clusters.forEach((c, i) => {
          const key = clusterKey(c);
          if (seen.has(key)) {
            ctx.addIssue({
              code: 'custom',
              path: [i],
              message: 'duplicate cluster: (accountId, region, name) must be unique',
            });
          }
          seen.add(key);
        });
      })
      .meta({
        description:
          'The clusters whose pods get access (for example a backup and a restore cluster); they share one role. Clusters in several accounts need crossAccountMode role-in-bucket-account.',
      }),
    namespace: namespaceSchema,
    serviceAccounts: z
      .array(serviceAccountNameSchema)
      .min(1, `must list 1-${MAX_SERVICE_ACCOUNTS} service accounts`)
      .max(MAX_SERVICE_ACCOUNTS, `must list 1-${MAX_SERVICE_ACCOUNTS} service accounts`)
      .superRefine((names, ctx) => {
        const seen = new Set<string>();
        names.forEach((n, i) => {
          if (seen.has(n))
            ctx.addIssue({ code: 'custom', path: [i], message: 'duplicate service account: names must be unique' });
          seen.add(n);
        });
      })
      .optional()
      .meta({
        description:
          'Service accounts in the namespace that may assume the role. Required for pbm, stackgres and generic (and for mountpoint-s3-csi outside kube-system); other tools default to their own.',
      }),
    claimNamespace: namespaceSchema.optional().meta({
      description:
        'tool mountpoint-s3-csi only: the namespace of the pods that mount the volume, where the PersistentVolumeClaim goes. Required with driver-level credentials (namespace kube-system, service account s3-csi-driver-sa); with pod-level credentials it is workload.namespace.',
    }),
    velero: veleroInstallSchema.optional(),
    psmdbOperator: psmdbOperatorInstallSchema.optional(),
    identity: z.enum(['irsa', 'pod-identity']).optional().meta({
      description:
        "How the pods get the role. irsa (the default): IAM roles for service accounts, through an IAM OIDC provider for each cluster and the role annotation on the service accounts. pod-identity: EKS Pod Identity associations the service makes (one per cluster and service account; no OIDC provider, no annotation); every cluster needs the eks-pod-identity-agent add-on. With crossAccountMode role-in-bucket-account, a cluster in another account than the bucket gets a role in its own account that chains to the role in the bucket account (the association's target role).",
    }),
  })
  .meta({
    id: 'EksWorkload',
    description: 'Pods in EKS clusters, through IAM roles for service accounts (IRSA) or EKS Pod Identity.',
  });

const ec2WorkloadSchema = z
  .strictObject({
    type: z.literal('ec2'),
    instanceRoleArn: iamRoleArnSchema,
  })
  .meta({
    id: 'Ec2Workload',
    description:
      'An EC2 instance acting as its instance role (tool pbm or generic only). The role must be in the aws partition.',
  });

const workloadSchema = z.discriminatedUnion('type', [eksWorkloadSchema, ec2WorkloadSchema]);

const bucketSchema = z
  .strictObject({
    name: bucketNameSchema,
    accountId: accountIdSchema.optional().meta({ description: "The bucket's account; defaults to the workload's." }),
    region: regionSchema,
    prefix: bucketPrefixSchema.optional(),
    kmsKeyArn: kmsKeyArnSchema.optional().meta({
      description: "SSE-KMS key the workload may use; must be in the bucket's region.",
    }),
  })
  .meta({ id: 'Bucket', description: 'The bucket to grant access to.' });

/** Checked against the requirements of the request once every field is valid (crossFieldIssues). */
const versionsSchema = z.record(z.string(), z.string()).meta({
  id: 'Versions',
  description: `The versions the caller runs, by component (${COMPONENTS.join(', ')}), each MAJOR.MINOR.PATCH (an optional leading v, -pre-release and +build as in semver; at most ${MAX_VERSION_LENGTH} characters). A component below what the returned snippets need (the answer's requirements) is a 400 on versions.<component> naming the minimum and why; an unknown component or a malformed version is a 400 naming it.`,
  example: { 'percona-backup-mongodb': '2.10.0' },
});

const onboardingRequestFields = z.strictObject({
  workload: workloadSchema,
  bucket: bucketSchema,
  tool: toolSchema,
  access: accessSchema.default('read-write'),
  crossAccountMode: crossAccountModeSchema.optional(),
  versions: versionsSchema.optional(),
  tags: tagsSchema.optional(),
  dryRun: z.boolean().default(false).meta({ description: 'true: plan only, write nothing.' }),
});

export type Fields = z.output<typeof onboardingRequestFields>;

export interface CrossFieldIssue {
  path: (string | number)[];
  message: string;
}

/** The rules between fields of an otherwise valid request. */
function crossFieldIssues(req: Fields): CrossFieldIssue[] {
  const issues: CrossFieldIssue[] = [];
  const { workload, bucket, tool } = req;

  if (workload.type === 'ec2' && !EC2_TOOLS.includes(tool)) {
    issues.push({
      path: ['tool'],
      message: `must be ${EC2_TOOLS.join(' or ')} for an ec2 workload (the other tools run on Kubernetes)`,
    });
  }

  if (workload.type === 'eks') {
    const accounts = new Set(workload.clusters.map((c) => c.accountId));
    if (accounts.size > 1 && req.crossAccountMode !== 'role-in-bucket-account') {
      issues.push({
        path: ['crossAccountMode'],
        message:
          "must be role-in-bucket-account when the clusters are in several accounts: one role in the bucket's account can trust clusters of any account, while bucket-policy mode puts the role in the workload's one account",
      });
    }
    if (accounts.size > 1 && bucket.accountId === undefined) {
      issues.push({
        path: ['bucket', 'accountId'],
        message: 'is required when the clusters are in several accounts (the role lives in the bucket account)',
      });
    }
    const helmWithoutName =
      tool === 'velero' &&
      workload.velero?.installMethod === 'helm' &&
      workload.velero.helmReleaseName === undefined &&
      workload.serviceAccounts === undefined;
    if (helmWithoutName) {
      issues.push({
        path: ['workload', 'velero', 'helmReleaseName'],
        message:
          'is required for a Helm install of Velero unless workload.serviceAccounts names its service account: the chart names it after the release (<fullname>-server)',
      });
    } else if (
      tool === 'psmdb-operator' &&
      workload.serviceAccounts === undefined &&
      defaultServiceAccounts(tool, workload.namespace, undefined, workload.psmdbOperator) === undefined
    ) {
      issues.push({
        path: ['workload', 'psmdbOperator', 'helmReleaseName'],
        message:
          'is required for a Helm install of the Percona operator unless workload.serviceAccounts names its service account: the chart names it after the release (<release>-psmdb-operator)',
      });
    } else if (
      workload.serviceAccounts === undefined &&
      defaultServiceAccounts(tool, workload.namespace, workload.velero, workload.psmdbOperator) === undefined
    ) {
      issues.push({
        path: ['workload', 'serviceAccounts'],
        message:
          tool === 'mountpoint-s3-csi'
            ? 'is required for tool mountpoint-s3-csi outside namespace kube-system (no default service account there)'
            : `is required for tool ${tool} (it has no default service account)`,
      });
    }
  }

  if (!accessLevels(tool).includes(req.access))
    issues.push({ path: ['access'], message: new UnsupportedAccessError(tool, req.access).errors[0]!.message });

  if (workload.type === 'eks')
    issues.push(
      ...mountpointIssues(req, workload),
      ...veleroIssues(req, workload),
      ...stackgresIssues(req, workload),
      ...psmdbOperatorIssues(req, workload),
    );

  // a tool that cannot work through an S3 access point (from its source): the modes it can use
  const refusal = req.crossAccountMode === 'access-point' ? accessPointRefusal(tool) : undefined;
  if (refusal) issues.push({ path: ['crossAccountMode'], message: refusal });

  if (req.crossAccountMode !== undefined) {
    const workloadAccounts =
      workload.type === 'eks' ? workload.clusters.map((c) => c.accountId) : [accountOfArn(workload.instanceRoleArn)];
    if (bucket.accountId === undefined || workloadAccounts.every((a) => a === bucket.accountId)) {
      issues.push({
        path: ['crossAccountMode'],
        message:
          "is only allowed when bucket.accountId is given and differs from the workload's account (cross-account access)",
      });
    }
  }

  // the caller's versions against what the snippets of this request need (lib/policy/requirements.ts)
  if (req.versions !== undefined) {
    for (const issue of versionIssues(req.versions, requirementsOf(req)))
      issues.push({ path: ['versions', issue.path.slice('versions.'.length)], message: issue.message });
  }

  if (bucket.kmsKeyArn !== undefined && regionOfArn(bucket.kmsKeyArn) !== bucket.region) {
    issues.push({
      path: ['bucket', 'kmsKeyArn'],
      message: "must be a key in the bucket's region (bucket.region): S3 uses SSE-KMS keys of its own region only",
    });
  }

  return issues;
}

export const onboardingRequestSchema = onboardingRequestFields
  .superRefine(
    (req, ctx) => {
      for (const issue of crossFieldIssues(req)) ctx.addIssue({ code: 'custom', ...issue });
    },
    // only on a request whose every field is valid: the rules read fields as their types promise
    { when: (payload) => payload.issues.length === 0 },
  )
  .meta({
    id: 'OnboardingRequest',
    description: [
      'Who needs access (workload), to what (bucket), for which tool. Unknown fields are rejected. Rules across fields:',
      '- an ec2 workload takes tool pbm or generic;',
      '- access is a level the tool can work with: pbm, psmdb-operator and velero take read-write or restore; stackgres all three; mountpoint-s3-csi and generic read-write or read-only;',
      '- workload.serviceAccounts is required for pbm, stackgres and generic, and for mountpoint-s3-csi outside namespace kube-system;',
      '- workload.claimNamespace only for mountpoint-s3-csi: required with driver-level credentials (kube-system/s3-csi-driver-sa), else equal to workload.namespace;',
      '- workload.velero only for velero; with installMethod helm, helmReleaseName unless workload.serviceAccounts names the one service account;',
      '- workload.psmdbOperator only for psmdb-operator; with installMethod helm, helmReleaseName (or helmFullnameOverride) unless workload.serviceAccounts names them; a namespace other than workload.namespace (cluster-wide) is two onboardings;',
      '- stackgres service accounts are <sgcluster>-patroni;',
      '- clusters of an eks workload in several accounts need crossAccountMode role-in-bucket-account and bucket.accountId;',
      "- crossAccountMode only when bucket.accountId is given and differs from a workload account (a cluster's account, or the instance role's);",
      '- bucket.kmsKeyArn is a key in bucket.region;',
      "- versions name known components, each at least the minimum the answer's requirements give for this request.",
    ].join('\n'),
  });

export type OnboardingRequest = z.output<typeof onboardingRequestSchema>;

/** Validates the body of POST /v1/onboardings (already JSON-parsed). Throws ValidationError. */
export function parseOnboardingRequest(body: unknown): OnboardingRequest {
  return parseWith(onboardingRequestSchema, body, 'The request body');
}

import { COMPONENTS, MAX_VERSION_LENGTH, versionIssues } from '../../policy/requirements';
import { accessPointRefusal } from '../../policy/access-points';
import { requirementsOf } from '../model/requirements';
import { clusterKey } from '../model/onboarding';

// the request's field paths and messages, and the list query, live in their own light modules
import { parseWith } from './parse';
export { formatPath } from './parse';
export { listOnboardingsQuerySchema, parseListOnboardingsQuery } from './list-query';
