import { ValidationError } from '../errors';
import type { Access, Tool } from '../snippets/types';

/**
 * What each tool does to S3, per access level: the one table of the service (issue 10). Every row was read from
 * the tool's own source at a pinned commit (docs/tool-research.md has the call-by-call notes); the docs can be
 * wrong, the source is what runs.
 *
 * Paths shortened with `…` are as the research notes give them (the full path was not recorded there).
 *
 * Object paths are relative to the onboarding's prefix (which ends in '/', or is '' for the whole bucket):
 * `*` is everything under the prefix, `.pbm.init` one exact key, `restores/*` a sub-prefix.
 */

/** `s3:ListBucket` stays limited to the prefix by an `s3:prefix` condition (lib/policy/documents.ts). */
interface ObjectGrant {
  /** sorted */
  actions: string[];
  /** relative to the prefix, sorted; `*` only ever as the last character */
  paths: string[];
}

export interface ToolActions {
  /** on arn:aws:s3:::BUCKET */
  bucket: string[];
  /** on arn:aws:s3:::BUCKET/PREFIX<path>; the grant on `*` (the reads) first */
  object: ObjectGrant[];
}

interface Row {
  bucket: string[];
  /** action -> the paths it is granted on */
  object: Record<string, string[]>;
  /** read: kms:Decrypt; write: kms:Decrypt + kms:GenerateDataKey */
  kms: 'read' | 'write';
  /** where the tool's source shows these calls: owner/repo@commit:path[:lines] */
  source: string[];
}

interface Unsupported {
  /** why the tool cannot work at this level, for the 400 */
  reason: string;
  source: string[];
}

type ToolTable = Record<Access, Row | Unsupported>;

const PBM = 'percona/percona-backup-mongodb@6f9fc3bf2e59e0754b7c9d3d9fa1c84b2f3aba45';
const PSMDB = 'percona/percona-server-mongodb-operator@b15af50030bfc5558813b86b160e87fd304a409c';
const SG = 'ongres/stackgres@085f6d0e445be63bc5180f5ac049cf2d1e5c9aea';
const WALG = 'wal-g/wal-g@43fb039f6ed24a8063a9a69c212f6742066942a6';
const VEL = 'vmware-tanzu/velero@d30d389b56068eebd675d9953492183cb7b58a78';
const VPA = 'vmware-tanzu/velero-plugin-for-aws@800bcfb14d8e446ddd9aff91a36e551cbf79414d';
const MP = 'awslabs/mountpoint-s3@58817cab2fc3020a422d8aa14049a86b296f4498';
const MCSI = 'awslabs/mountpoint-s3-csi-driver@57c6bedb46e2c1281883b80dad4d5d54b438b0de';

const ALL = ['*'];
const LIST = ['s3:ListBucket'];

/** pbm-agent: PutObject (multipart above 10 MiB, LeavePartsOnError, so never Abort), HeadObject, GetObject, DeleteObject. */
const PBM_READ_WRITE: Row = {
  bucket: LIST,
  object: { 's3:GetObject': ALL, 's3:PutObject': ALL, 's3:DeleteObject': ALL },
  kms: 'write',
  source: [
    `${PBM}:pbm/storage/s3/s3.go:388-451,545-615`,
    `${PBM}:pbm/backup/storage.go:202-253`,
    `${PBM}:pbm/oplog/chunk.go:497-503`,
    `${PBM}:pbm/slicer/slicer.go:475-495`,
  ],
};

/**
 * A DR cluster's pbm-agents: resync (re)initialises `.pbm.init` (delete + put) before it syncs the catalogue, and
 * physical restores write their state under `.pbm.restore/`; logical restores only read.
 */
const PBM_RESTORE: Row = {
  bucket: LIST,
  object: { 's3:GetObject': ALL, 's3:PutObject': ['.pbm.init', '.pbm.restore/*'], 's3:DeleteObject': ['.pbm.init'] },
  kms: 'write',
  source: [
    `${PBM}:pbm/resync/rsync.go:43-59`,
    `${PBM}:pbm/util/storage.go:106-125`,
    `${PBM}:pbm/restore/physical.go:1130-1135,1563-1605,2427-2430,3043-3066,3142-3143`,
    `${PBM}:cmd/pbm/restore.go:576-586`,
  ],
};

const PBM_NO_READ_ONLY: Unsupported = {
  reason:
    'resync (pbm config, and the operator) deletes and writes .pbm.init before it syncs the backup list, and physical restores write under .pbm.restore/',
  source: [`${PBM}:pbm/resync/rsync.go:43-59`, `${PBM}:pbm/util/storage.go:106-125`],
};

const TABLE: Record<Tool, ToolTable> = {
  pbm: { 'read-write': PBM_READ_WRITE, restore: PBM_RESTORE, 'read-only': PBM_NO_READ_ONLY },
  // the operator pod links PBM and makes the same calls (restore validation reads, backup-finalizer deletes);
  // it runs resync itself, so restore needs the same .pbm.init writes
  'psmdb-operator': {
    'read-write': {
      ...PBM_READ_WRITE,
      source: [
        ...PBM_READ_WRITE.source,
        `${PSMDB}:pkg/controller/perconaservermongodbbackup/psmdb_backup_controller.go:697-704`,
        `${PSMDB}:pkg/psmdb/backup/pbm.go:1251-1256,1441-1457`,
      ],
    },
    restore: {
      ...PBM_RESTORE,
      source: [
        ...PBM_RESTORE.source,
        `${PSMDB}:pkg/psmdb/backup/pbm.go:910-931`,
        `${PSMDB}:pkg/controller/perconaservermongodb/pbm.go:180-182,567-622`,
        `${PSMDB}:pkg/controller/perconaservermongodbrestore/physical.go:313`,
      ],
    },
    'read-only': {
      ...PBM_NO_READ_ONLY,
      source: [...PBM_NO_READ_ONLY.source, `${PSMDB}:pkg/controller/perconaservermongodb/pbm.go:180-182`],
    },
  },
  // WAL-G in the patroni container; no GetBucketLocation because the snippet always sets the region
  stackgres: {
    'read-write': {
      bucket: LIST,
      object: { 's3:GetObject': ALL, 's3:PutObject': ALL, 's3:AbortMultipartUpload': ALL, 's3:DeleteObject': ALL },
      kms: 'write',
      source: [
        `${SG}:stackgres-k8s/…/templates/create-backup.sh:643-671,757-769,786-796`,
        `${WALG}:pkg/storages/s3/folder.go:484-506`,
        `${WALG}:pkg/storages/s3/uploader.go:102-116`,
        `${WALG}:pkg/storages/s3/session.go:191-199`,
      ],
    },
    // backup-fetch and wal-fetch only read; the restored cluster must not archive to this storage
    restore: {
      bucket: LIST,
      object: { 's3:GetObject': ALL },
      kms: 'read',
      source: [
        `${SG}:stackgres-k8s/…/templates/start-patroni.sh:64,106,205,306-325`,
        `${SG}:stackgres-k8s/…/cluster/patroni/PatroniConfigEndpoints.java:335-341`,
        `${WALG}:internal/fetch_helper.go:61-71`,
      ],
    },
    'read-only': {
      bucket: LIST,
      object: { 's3:GetObject': ALL },
      kms: 'read',
      source: [
        `${SG}:stackgres-k8s/…/templates/start-patroni.sh:64,106,205,306-325`,
        `${WALG}:internal/fetch_helper.go:61-71`,
      ],
    },
  },
  // the AWS plugin: manager.Uploader (aborts on failure), HeadObject, GetObject, ListObjectsV2, DeleteObject
  velero: {
    'read-write': {
      bucket: LIST,
      object: { 's3:GetObject': ALL, 's3:PutObject': ALL, 's3:AbortMultipartUpload': ALL, 's3:DeleteObject': ALL },
      kms: 'write',
      source: [
        `${VPA}:velero-plugin-for-aws/object_store.go:66-81,336-364,474-481`,
        `${VEL}:pkg/persistence/object_store.go:269-310,566-602`,
      ],
    },
    // a restore uploads its log, results and lists under restores/<name>/, and deleting the Restore deletes them
    restore: {
      bucket: LIST,
      object: {
        's3:GetObject': ALL,
        's3:PutObject': ['restores/*'],
        's3:AbortMultipartUpload': ['restores/*'],
        's3:DeleteObject': ['restores/*'],
      },
      kms: 'write',
      source: [
        `${VEL}:pkg/controller/restore_controller.go:630-675,722-756`,
        `${VEL}:pkg/persistence/object_store.go:585-622`,
        `${VEL}:pkg/persistence/object_store_layout.go:68-69,100-113,136-137`,
      ],
    },
    'read-only': {
      reason:
        'a restore uploads its log and results under restores/ (a failed upload makes it PartiallyFailed) and deleting a Restore deletes them',
      source: [`${VEL}:pkg/controller/restore_controller.go:189-195,635-685`],
    },
  },
  // the rendered volume mounts with allow-delete for read-write; --read-only mounts need List + Get
  'mountpoint-s3-csi': {
    'read-write': {
      bucket: LIST,
      object: { 's3:GetObject': ALL, 's3:PutObject': ALL, 's3:AbortMultipartUpload': ALL, 's3:DeleteObject': ALL },
      kms: 'write',
      source: [
        `${MP}:doc/CONFIGURATION.md:48-52`,
        `${MP}:mountpoint-s3-fs/src/upload/atomic.rs:104`,
        `${MP}:mountpoint-s3-fs/src/fs.rs:731`,
        `${MP}:mountpoint-s3-fs/src/superblock.rs:718`,
      ],
    },
    restore: {
      reason:
        'a file system has no restore or catalogue writes to tell apart, and IAM cannot tell a new object from an overwrite',
      source: [`${MP}:mountpoint-s3-fs/src/fs.rs:220,326`],
    },
    'read-only': {
      bucket: LIST,
      object: { 's3:GetObject': ALL },
      kms: 'read',
      source: [
        `${MP}:mountpoint-s3-fs/src/s3/config.rs:276-285`,
        `${MP}:mountpoint-s3-fs/src/superblock.rs:1560-1564`,
        `${MP}:mountpoint-s3-fs/src/prefetch/part_stream.rs:443`,
        `${MCSI}:pkg/driver/node/node.go:119-122`,
      ],
    },
  },
  // no tool to read: a convention (many SDK clients resolve the bucket's region with GetBucketLocation)
  generic: {
    'read-write': {
      bucket: ['s3:GetBucketLocation', 's3:ListBucket'],
      object: { 's3:GetObject': ALL, 's3:PutObject': ALL, 's3:AbortMultipartUpload': ALL, 's3:DeleteObject': ALL },
      kms: 'write',
      source: [],
    },
    restore: { reason: 'without a known tool there is no exact set of restore writes', source: [] },
    'read-only': {
      bucket: ['s3:GetBucketLocation', 's3:ListBucket'],
      object: { 's3:GetObject': ALL },
      kms: 'read',
      source: [],
    },
  },
};

const isRow = (entry: Row | Unsupported): entry is Row => 'object' in entry;

const ACCESS_ORDER: readonly Access[] = ['read-write', 'restore', 'read-only'];

/** The levels a tool can work with, in the order read-write, restore, read-only. */
export function accessLevels(tool: Tool): Access[] {
  return ACCESS_ORDER.filter((a) => isRow(TABLE[tool][a]));
}

/** Why a tool cannot work at a level (undefined when it can). */
function unsupportedReason(tool: Tool, access: Access): string | undefined {
  const entry = TABLE[tool][access];
  return isRow(entry) ? undefined : entry.reason;
}

/**
 * A level the tool cannot work with. The request parser refuses those first; this reaches a caller only for a
 * record written before the level was withdrawn (a 400 on `access`, like the parser's).
 */
export class UnsupportedAccessError extends ValidationError {
  public constructor(
    public readonly tool: Tool,
    public readonly access: Access,
  ) {
    const message = `must be one of: ${accessLevels(tool)
      .map((l) => JSON.stringify(l))
      .join(', ')} for tool ${tool} (${access}: ${unsupportedReason(tool, access)})`;
    super(`access ${message}`, [{ path: 'access', message }]);
  }
}

function row(tool: Tool, access: Access): Row {
  const entry = TABLE[tool][access];
  if (!isRow(entry)) throw new UnsupportedAccessError(tool, access);
  return entry;
}

const key = (paths: string[]) => paths.join('\n');

/**
 * The S3 actions a tool needs at a level: bucket-level actions, and object actions grouped by the paths they are
 * granted on (the reads on `*` first, then by first action). Everything sorted, so policies are stable.
 * Throws UnsupportedAccessError for a level the tool cannot use (the request parser refuses those first).
 */
export function toolActions(tool: Tool, access: Access): ToolActions {
  const r = row(tool, access);
  const groups = new Map<string, ObjectGrant>();
  for (const [action, paths] of Object.entries(r.object)) {
    const sorted = [...paths].sort();
    const g = groups.get(key(sorted)) ?? { actions: [], paths: sorted };
    g.actions.push(action);
    groups.set(key(sorted), g);
  }
  const object = [...groups.values()]
    .map((g) => ({ actions: g.actions.sort(), paths: g.paths }))
    .sort(
      (a, b) =>
        Number(key(b.paths) === '*') - Number(key(a.paths) === '*') || a.actions[0]!.localeCompare(b.actions[0]!),
    );
  return { bucket: [...r.bucket].sort(), object };
}

/** Every object action of a level, whatever its paths (sorted). */
export const objectActions = (actions: ToolActions): string[] =>
  [...new Set(actions.object.flatMap((g) => g.actions))].sort();

/** A key a path grants, for probes: `*` at the end is replaced by `name` (`restores/*` → `restores/<name>`). */
export const samplePath = (path: string, name: string): string =>
  path.endsWith('*') ? `${path.slice(0, -1)}${name}` : path;

/** KMS actions for SSE-KMS: kms:GenerateDataKey wherever the level writes objects. */
export function kmsActions(tool: Tool, access: Access): string[] {
  return row(tool, access).kms === 'write' ? ['kms:Decrypt', 'kms:GenerateDataKey'] : ['kms:Decrypt'];
}

/** Every S3 action of the table, at any level and for any tool (the bucket's delegation to access points). */
export const TABLE_ACTIONS: readonly string[] = Object.values(TABLE).flatMap((levels) =>
  Object.values(levels).flatMap((e: Row | Unsupported) => (isRow(e) ? [...e.bucket, ...Object.keys(e.object)] : [])),
);
