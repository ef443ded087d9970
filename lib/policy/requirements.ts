import type { Access, Tool } from '../snippets/types';

/**
 * The versions the returned snippets need, as data beside the action table (lib/policy/actions.ts): for a tool,
 * an identity kind, a mode and an access level, the minimum version of each component without which the snippets
 * do not work. Every row was read from the component's own source at the tags named (docs/tool-research.md §4 has
 * the notes); `source` is the line that shows the minimum works, `why` says what fails below it.
 */

/** The component names the contract fixes (§4 "requirements", "versions"). */
export const COMPONENTS = [
  'percona-backup-mongodb',
  'percona-server-mongodb-operator',
  'stackgres',
  'wal-g',
  'velero',
  'velero-plugin-for-aws',
  'aws-mountpoint-s3-csi-driver',
] as const;

export type Component = (typeof COMPONENTS)[number];

type IdentityKind = 'irsa' | 'pod-identity' | 'ec2';
type RequirementMode = 'same-account' | 'bucket-policy' | 'role-in-bucket-account' | 'access-point';
/** Mountpoint: whose credentials mount the volume (`authenticationSource` of the PersistentVolume) */
export type MountpointCredentials = 'driver' | 'pod';

/** What an answer carries (contract §4). */
export interface Requirement {
  component: Component;
  minimumVersion: string;
  why: string;
  /** `<repo>@<tag>:<path>:<line>` */
  source: string;
}

export interface RequirementRow extends Requirement {
  tools: readonly Tool[];
  identities: readonly IdentityKind[];
  /** absent: every mode (none of the rows below depends on where the role lives) */
  modes?: readonly RequirementMode[];
  /** absent: every access level */
  levels?: readonly Access[];
  /** mountpoint-s3-csi only: absent, both */
  mountpointCredentials?: readonly MountpointCredentials[];
  /** what else was read, and what was not */
  notes: string;
}

const STACKGRES_ENV_FACTORY =
  'stackgres-k8s/src/operator/src/main/java/io/stackgres/operator/conciliation/factory/cluster/backup/BackupEnvVarFactory.java';

export const REQUIREMENTS: readonly RequirementRow[] = [
  {
    component: 'percona-backup-mongodb',
    minimumVersion: '2.10.0',
    tools: ['pbm'],
    identities: ['ec2'],
    why: 'pbm-agent reads the shared-config profile of aws-config (role_arn, credential_source = Ec2InstanceMetadata) only from 2.10.0, where it loads the AWS SDK for Go v2 default config; before, it builds its own credential chain (static keys, environment, web identity, EC2/ECS metadata) on aws-sdk-go v1 and never reads the profile, even with AWS_SDK_LOAD_CONFIG=1: it runs as the instance role itself and S3 denies every call',
    source: 'percona/percona-backup-mongodb@v2.10.0:pbm/storage/s3/s3.go:600',
    notes:
      'v2.9.1:pbm/storage/s3/s3.go:561-618 (providers: StaticProvider, EnvProvider, WebIdentityRoleProvider, defaults.RemoteCredProvider; cfg.Credentials set explicitly at :616, so session.NewSession never resolves the profile); v2.9.1:go.mod:8 aws-sdk-go v1.55.5; v2.10.0:go.mod:11-16 aws-sdk-go-v2 (config v1.29.0); v2.10.0:pbm/storage/s3/s3.go:600 config.LoadDefaultConfig.',
  },
  {
    component: 'percona-backup-mongodb',
    minimumVersion: '2.7.0',
    tools: ['pbm', 'psmdb-operator'],
    identities: ['pod-identity'],
    why: 'EKS Pod Identity hands pods a container credentials endpoint (AWS_CONTAINER_CREDENTIALS_FULL_URI at 169.254.170.23 with a token file); pbm-agent reads it only from 2.7.0 (defaults.RemoteCredProvider); before, its chain ends with the EC2 instance-metadata provider and the pod runs as the node role',
    source: 'percona/percona-backup-mongodb@v2.7.0:pbm/storage/s3/s3.go:595',
    notes:
      'v2.6.0:pbm/storage/s3/s3.go:577 appends ec2rolecreds.EC2RoleProvider instead; the vendored aws-sdk-go v1.55.5 of v2.7.0 allows the Pod Identity agent host (vendor/github.com/aws/aws-sdk-go/aws/defaults/defaults.go:119-130) and reads AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE.',
  },
  {
    component: 'percona-server-mongodb-operator',
    minimumVersion: '1.18.0',
    tools: ['psmdb-operator'],
    identities: ['pod-identity'],
    why: 'the operator itself reads the storage through the PBM library it links (backup lists, deletes, restore checks); from 1.18.0 it links a PBM that reads the Pod Identity endpoint, and its default backup image is pbm 2.7.0; 1.17 links a PBM whose chain ends with EC2 instance metadata',
    source: 'percona/percona-server-mongodb-operator@v1.18.0:go.mod:17',
    notes:
      'v1.18.0:go.mod:17 links percona-backup-mongodb 957ac501f939, whose pbm/storage/s3/s3.go:595 calls defaults.RemoteCredProvider; v1.17.0:go.mod:17 links 883ad721e7cb (s3.go:565 EC2RoleProvider); v1.18.0:deploy/cr.yaml:611 image percona/percona-backup-mongodb:2.7.0-multi (v1.17.0:deploy/cr.yaml:556: 2.5.0).',
  },
  {
    component: 'velero',
    minimumVersion: '1.14.0',
    tools: ['velero'],
    identities: ['pod-identity'],
    why: 'the Velero server and node-agent resolve the repository credentials for file-system backups and data movement with the AWS SDK for Go v2 default chain; config v1.26.3 (Velero 1.14.0) reads the Pod Identity endpoint, config v1.18.42 (1.13) refuses its host (EKS Pod Identity support came with aws-sdk-go-v2 config v1.25.0)',
    source: 'vmware-tanzu/velero@v1.14.0:go.mod:13',
    notes:
      'v1.14.0:pkg/repository/config/aws.go:94 awsconfig.LoadDefaultConfig in GetS3Credentials; v1.13.2:go.mod:20 config v1.18.42; aws-sdk-go-v2 config CHANGELOG v1.25.0 "Add support for dynamic auth token from file and EKS container host" (read in the copy vendored by percona/percona-backup-mongodb@v2.10.0:vendor/github.com/aws/aws-sdk-go-v2/config/CHANGELOG.md:315-317; aws/aws-sdk-go-v2 itself was not fetched). velero-io/velero#7421 (the failure before) was not read.',
  },
  {
    component: 'velero-plugin-for-aws',
    minimumVersion: '1.10.0',
    tools: ['velero'],
    identities: ['pod-identity'],
    why: 'the plugin writes and reads the BackupStorageLocation through the AWS SDK for Go v2 default chain; 1.10.0 builds with config v1.26.3, which reads the Pod Identity endpoint; 1.9.x builds with config v1.18.42, before EKS Pod Identity support (config v1.25.0), and gets no credentials',
    source: 'vmware-tanzu/velero-plugin-for-aws@v1.10.0:go.mod:7',
    notes:
      'v1.9.2:go.mod:9 config v1.18.42; v1.10.0:go.mod:16 pairs it with velero v1.14.0. The config threshold is from the aws-sdk-go-v2 config CHANGELOG as vendored by PBM v2.10.0 (CHANGELOG.md:315-317).',
  },
  {
    component: 'aws-mountpoint-s3-csi-driver',
    minimumVersion: '2.0.0',
    tools: ['mountpoint-s3-csi'],
    identities: ['pod-identity'],
    why: 'v1 mounts through systemd on the node by default, and systemd mounts do not take EKS Pod Identity credentials (the driver refuses a pod without an IRSA role annotation); v2 always mounts in a Mountpoint pod, which takes them, at driver and pod level',
    source: 'awslabs/mountpoint-s3-csi-driver@v2.0.0:pkg/driver/driver.go:124',
    notes:
      'v1.15.0:pkg/driver/node/credentialprovider/provider_pod.go:100 ("SystemD mounts do not support EKS Pod Identity"); v1.15.0:pkg/driver/driver.go:112-134 (systemd unless MOUNTER_KIND=pod); v2.0.0:docs/CONFIGURATION.md:110-115 (driver-level EKS Pod Identity), :321 (pod-level with EKS Pod Identity or IRSA); the v1.15.0 docs name IRSA only.',
  },
  {
    component: 'aws-mountpoint-s3-csi-driver',
    minimumVersion: '1.9.0',
    tools: ['mountpoint-s3-csi'],
    identities: ['irsa'],
    mountpointCredentials: ['pod'],
    why: "the PersistentVolume mounts with the workload pod's own role (volumeAttributes.authenticationSource: pod), which the driver knows from 1.9.0; 1.8 has no authenticationSource and mounts every volume with the driver's credentials",
    source: 'awslabs/mountpoint-s3-csi-driver@v1.9.0:pkg/driver/credential.go:32',
    notes:
      'v1.8.0:pkg/driver/node.go:72 reads the volume context (bucketName); no authenticationSource anywhere in v1.8.0 pkg/ or docs/; v1.9.0:docs/CONFIGURATION.md:241-260 pod-level credentials. Driver-level IRSA (kube-system/s3-csi-driver-sa) has no minimum here.',
  },
  {
    component: 'stackgres',
    minimumVersion: '1.18.3',
    tools: ['stackgres'],
    identities: ['irsa', 'pod-identity'],
    why: 'sgobjectstorage.yaml sets awsCredentials.useIAMRole: true with no secretKeySelectors; useIAMRole exists from 1.18.0, and on 1.18.0-1.18.2 the operator reads secretKeySelectors before it checks useIAMRole and fails with a NullPointerException; 1.18.3 checks useIAMRole first',
    source: `ongres/stackgres@1.18.3:${STACKGRES_ENV_FACTORY}:157`,
    notes: `1.18.2:${STACKGRES_ENV_FACTORY}:157 calls getSecretKeySelectors().getAccessKeyId() inside Seq.of before the useIamRole filter; fixed by commit b3b81afd3 ("when useIamRole is true operator may fail due to secret not found", 1.18.3:CHANGELOG.md:23); 1.18.0:stackgres-k8s/src/common/src/main/resources/crds/SGObjectStorage.yaml:148 adds useIAMRole (absent in 1.17.4).`,
  },
  {
    component: 'wal-g',
    minimumVersion: '3.0.4',
    tools: ['stackgres'],
    identities: ['pod-identity'],
    why: "WAL-G in the StackGres Patroni image reads the Pod Identity endpoint through aws-sdk-go v1; v3.0.4 builds with aws-sdk-go v1.55.5, which allows the agent's address 169.254.170.23; v3.0.3 builds with v1.44.7, whose container credential provider accepts loopback hosts only",
    source: 'wal-g/wal-g@v3.0.4:go.mod:12',
    notes:
      'v3.0.3:go.mod:12 aws-sdk-go v1.44.7; v3.0.4:pkg/storages/s3/session.go:53 defaults.RemoteCredProvider; the loopback-only check read in aws-sdk-go 1.44.312 as vendored by percona/percona-backup-mongodb@v2.3.0:vendor/github.com/aws/aws-sdk-go/aws/defaults/defaults.go:167-170 (1.44.7 itself not read); which WAL-G a StackGres image ships was not found in ongres/stackgres.',
  },
];

/**
 * crossAccountMode access-point (docs/access-points.md §2.1-2.2, §3): an access point answers virtual-hosted requests
 * only, and PBM defaults to path style; the snippets set forcePathStyle false, which needs these releases. Below
 * them the request is a 400 that names the modes the tool can use instead.
 */
const ACCESS_POINT_ROWS: readonly RequirementRow[] = [
  {
    component: 'percona-backup-mongodb',
    minimumVersion: '2.2.0',
    tools: ['pbm', 'psmdb-operator'],
    identities: ['irsa', 'pod-identity', 'ec2'],
    modes: ['access-point'],
    why: 'an S3 access point answers virtual-hosted requests only; PBM reads storage.s3.forcePathStyle (false in these snippets) from 2.2.0, and 2.0.x always sends path-style requests. With an older PBM use crossAccountMode bucket-policy or role-in-bucket-account',
    source: 'percona/percona-backup-mongodb@v2.2.0:pbm/storage/s3/s3.go:48',
    notes:
      'docs/access-points.md §2.1: v2.0.0:pbm/storage/s3/s3.go:641 hard-codes path style; v2.15.0:pbm/storage/s3/s3.go:212-217 defaults ForcePathStyle to true.',
  },
  {
    component: 'percona-server-mongodb-operator',
    minimumVersion: '1.22.0',
    tools: ['psmdb-operator'],
    identities: ['irsa', 'pod-identity'],
    modes: ['access-point'],
    why: "an S3 access point answers virtual-hosted requests only; the operator passes the storage's forcePathStyle to PBM only from 1.22.0 (before, PBM defaults to path style whatever the CR says). With an older operator use crossAccountMode bucket-policy or role-in-bucket-account",
    source: 'percona/percona-server-mongodb-operator@v1.22.0:pkg/psmdb/backup/pbm.go:409',
    notes:
      'docs/access-points.md §2.2: v1.21.2:pkg/psmdb/backup/pbm.go:337-355 copies no ForcePathStyle; the fallback delete of psmdb_backup_controller.go:355-364 stays path-style in 1.22.0.',
  },
];

export interface RequirementContext {
  tool: Tool;
  identity: IdentityKind;
  mode: RequirementMode;
  access: Access;
  mountpointCredentials?: MountpointCredentials;
}

const applies = (row: RequirementRow, c: RequirementContext): boolean =>
  row.tools.includes(c.tool) &&
  row.identities.includes(c.identity) &&
  (!row.modes || row.modes.includes(c.mode)) &&
  (!row.levels || row.levels.includes(c.access)) &&
  (!row.mountpointCredentials ||
    (c.mountpointCredentials !== undefined && row.mountpointCredentials.includes(c.mountpointCredentials)));

/** The requirements of one request, in the table's order, without the research notes. */
export function requirementsFor(c: RequirementContext): Requirement[] {
  return [...REQUIREMENTS, ...ACCESS_POINT_ROWS]
    .filter((row) => applies(row, c))
    .map(({ component, minimumVersion, why, source }) => ({
      component,
      minimumVersion,
      why,
      source,
    }));
}

// ---------- versions ----------

/** The longest version the request takes (a semantic version fits in far less). */
export const MAX_VERSION_LENGTH = 64;
/** MAJOR.MINOR.PATCH, an optional leading v, an optional -pre-release and +build (semver 2.0.0). */
const VERSION =
  /^v?(0|[1-9]\d{0,8})\.(0|[1-9]\d{0,8})\.(0|[1-9]\d{0,8})(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$/;

export interface Version {
  core: [number, number, number];
  prerelease: string[];
}

export function parseVersion(text: string): Version | undefined {
  if (text.length > MAX_VERSION_LENGTH) return undefined;
  const m = VERSION.exec(text);
  if (!m) return undefined;
  return { core: [Number(m[1]), Number(m[2]), Number(m[3])], prerelease: m[4] ? m[4].split('.') : [] };
}

/** Semver precedence: negative when a < b (a pre-release is below its release; build metadata does not count). */
export function compareVersions(a: Version, b: Version): number {
  for (let i = 0; i < 3; i++) if (a.core[i] !== b.core[i]) return a.core[i]! - b.core[i]!;
  if (!a.prerelease.length || !b.prerelease.length) return b.prerelease.length - a.prerelease.length;
  for (let i = 0; i < Math.max(a.prerelease.length, b.prerelease.length); i++) {
    const x = a.prerelease[i];
    const y = b.prerelease[i];
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    if (x === y) continue;
    const nx = /^\d+$/.test(x);
    const ny = /^\d+$/.test(y);
    if (nx && ny) return Number(x) - Number(y);
    if (nx !== ny) return nx ? -1 : 1;
    return x < y ? -1 : 1;
  }
  return 0;
}

export interface VersionIssue {
  /** the request field: `versions.<component>` */
  path: string;
  message: string;
}

/**
 * The caller's versions against the requirements: a component below its minimum (each requirement of it), an
 * unknown component and a malformed version are issues naming the field. A component the request does not
 * need is accepted as long as its version is well formed.
 */
export function versionIssues(
  versions: Readonly<Record<string, string>>,
  requirements: readonly Requirement[],
): VersionIssue[] {
  const issues: VersionIssue[] = [];
  for (const [name, text] of Object.entries(versions)) {
    const path = `versions.${name}`;
    if (!(COMPONENTS as readonly string[]).includes(name)) {
      issues.push({
        path,
        message: `unknown component ${JSON.stringify(name.slice(0, 100))}; the components are ${COMPONENTS.join(', ')}`,
      });
      continue;
    }
    const version = typeof text === 'string' ? parseVersion(text) : undefined;
    if (!version) {
      issues.push({
        path,
        message: `must be a version MAJOR.MINOR.PATCH such as 2.10.0 (at most ${MAX_VERSION_LENGTH} characters; not a range or a tag like latest)`,
      });
      continue;
    }
    for (const r of requirements) {
      if (r.component !== name) continue;
      if (compareVersions(version, parseVersion(r.minimumVersion)!) < 0) {
        issues.push({
          path,
          message: `${name} ${text} is below ${r.minimumVersion}, the minimum these snippets need: ${r.why} (${r.source})`,
        });
      }
    }
  }
  return issues;
}
