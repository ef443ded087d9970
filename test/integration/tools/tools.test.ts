/**
 * Every tool × the access levels it works with × every cross-account mode, proven on the emulator's S3 data plane:
 * what each tool does to S3 in its backup, restore, catalogue sync and cleanup, replayed call by call with the
 * credentials its pods get, and the outcome each level must give.
 *
 * The operations and the levels that allow them are stated here from the tools' source (docs/tool-research.md
 * §2-§3, with the upstream files cited per tool), independently of lib/policy/actions.ts: an operation a level
 * allows must succeed end to end, one it forbids must be denied (a restore role can never delete or overwrite a
 * backup object). Sizes are small: IAM sees a multipart upload of 10 MiB exactly as one of 2 KiB.
 */
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetBucketLocationCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { Stack } from '../../../scripts/stack';
import { BACKUPS, WORKLOADS, rootCredentials } from '../../helpers/emulator';
import { clients, podCredentials, useTestStack, writes, type TestStack } from '../../helpers/stack';

let stack: Stack;
let api: TestStack['api'];
let admin: TestStack['admin'];

useTestStack((t) => ({ stack, api, admin } = t));

type Level = 'read-write' | 'restore' | 'read-only';
type Tool = 'pbm' | 'psmdb-operator' | 'stackgres' | 'velero' | 'mountpoint-s3-csi' | 'generic';
const RW: Level[] = ['read-write'];
const RW_RESTORE: Level[] = ['read-write', 'restore'];
const ALL: Level[] = ['read-write', 'restore', 'read-only'];

/** One S3 call, keys relative to the onboarding's prefix. */
type Call =
  | { put: string }
  | { mpu: string; abort?: true } // CreateMultipartUpload, UploadPart ×2, then Complete (or Abort)
  | { get: string; missing?: true } // missing: the tool expects 404 (NoSuchKey), never 403
  | { head: string; missing?: true }
  | { list: string; delimiter?: string; maxKeys?: number; v1?: true }
  | { del: string }
  | { delMany: string[] } // DeleteObjects: every key must be deleted
  | { copy: string; to: string }
  | { location: true };

interface Operation {
  name: string;
  /** the levels under which the tool runs it and it must work; under any other supported level it is denied */
  levels: Level[];
  calls: Call[];
}

interface ToolReplay {
  /** the levels the tool works with: any other is a 400 */
  levels: Level[];
  /** what the bucket holds before the DR cluster starts: earlier backups, as the tool wrote them */
  seed: string[];
  ops: Operation[];
}

// ---------- PBM (percona/percona-backup-mongodb@6f9fc3b; research §2.1) ----------

const B = '2026-01-02T03:04:05Z';
const R = '2026-01-03T00:00:00.000000000Z';
const OLD_RESTORE = '.pbm.restore/2026-01-01T00:00:00.000000000Z.json';
const CHUNK = 'pbmPitr/rs0/20260102/20260102030405-1.20260102031405-1.oplog.s2';
const OPLOG = `${B}/rs0/oplog/20260102030405-1.20260102031405-1.s2`;
const PBM_SEED = [
  `${B}.pbm.json`,
  `${B}/rs0/metadata.json`,
  `${B}/rs0/db.coll.s2`,
  `${B}/rs0/filelist.pbm`,
  OPLOG,
  CHUNK,
  OLD_RESTORE,
];

const pbmOps = (operator: boolean): Operation[] => [
  // pbm/resync/rsync.go:29-77: HasReadAccess, then Initialize (no .pbm.init yet) and the catalogue
  {
    name: 'resync on an empty store (pbm config --file)',
    levels: RW_RESTORE,
    calls: [
      { head: '.pbm.init', missing: true },
      { put: '.pbm.init' },
      { list: '' },
      { list: 'pbmPitr/' },
      { list: '.pbm.restore/' },
    ],
  },
  // Reinitialize (pbm/util/storage.go:106-125): delete and write .pbm.init, then sync backups, PITR and restores
  {
    name: 'resync (pbm config --force-resync, the operator after a physical restore)',
    levels: RW_RESTORE,
    calls: [
      { head: '.pbm.init' },
      { get: '.pbm.init' },
      { head: '.pbm.init' },
      { del: '.pbm.init' },
      { put: '.pbm.init' },
      { list: '' },
      { get: `${B}.pbm.json` },
      { head: `${B}/rs0/metadata.json` },
      { list: 'pbmPitr/' },
      { head: CHUNK },
      { list: '.pbm.restore/' },
      { get: OLD_RESTORE },
    ],
  },
  { name: 'agent heartbeat (storStatus)', levels: RW_RESTORE, calls: [{ head: '.pbm.init' }] },
  ...(operator
    ? [
        {
          name: 'operator: restore validation (pbm.go:910-931)',
          levels: RW_RESTORE,
          calls: [{ get: `${B}.pbm.json` }, { head: `${B}/rs0/metadata.json` }],
        },
      ]
    : []),
  {
    name: 'logical restore and PITR replay',
    levels: RW_RESTORE,
    calls: [
      { head: `${B}/rs0/metadata.json` },
      { get: `${B}/rs0/metadata.json` },
      { get: `${B}/rs0/db.coll.s2` },
      { list: `${B}/rs0/oplog/` },
      { get: CHUNK },
    ],
  },
  // pbm/restore/physical.go: state files, stats, logs and heartbeats under .pbm.restore/, never a delete
  {
    name: 'physical restore, then pbm restore-finish',
    levels: RW_RESTORE,
    calls: [
      { get: `${B}.pbm.json` },
      { get: `${B}/rs0/filelist.pbm` },
      { get: `${B}/rs0/db.coll.s2` },
      { put: `.pbm.restore/${R}.json` },
      { put: `.pbm.restore/${R}/rs.rs0/node.host1.starting` },
      { put: `.pbm.restore/${R}/rs.rs0/rs.starting` },
      { put: `.pbm.restore/${R}/cluster.starting` },
      { put: `.pbm.restore/${R}/rs.rs0/stat.host1` },
      { put: `.pbm.restore/${R}/rs.rs0/log/host1.0` },
      { put: `.pbm.restore/${R}/cluster.hb` },
      { put: `.pbm.restore/${R}.json` },
      { list: `.pbm.restore/${R}/` },
      { put: `.pbm.restore/${R}/cluster.copyDone` },
    ],
  },
  // what a DR cluster must never do to the backups it restores from
  {
    name: 'logical backup (multipart data file)',
    levels: RW,
    calls: [
      { head: '.pbm.init' },
      { get: '.pbm.init' },
      { put: '2026-01-04T00:00:00Z/rs0/metadata.json' },
      { mpu: '2026-01-04T00:00:00Z/rs0/db.coll.s2' },
      { put: '2026-01-04T00:00:00Z/rs0/oplog/x.s2' },
      { put: '2026-01-04T00:00:00Z.pbm.json' },
    ],
  },
  {
    name: 'PITR slice',
    levels: RW,
    calls: [{ put: 'pbmPitr/rs0/20260102/20260102031405-1.20260102032405-1.oplog.s2' }],
  },
  {
    name: 'PITR base copy (CopyObject)',
    levels: RW,
    calls: [{ copy: OPLOG, to: 'pbmPitr/rs0/20260102/base.oplog.s2' }],
  },
  { name: 'overwrite backup metadata', levels: RW, calls: [{ put: `${B}.pbm.json` }] },
  { name: 'write into a backup', levels: RW, calls: [{ put: `${B}/rs0/extra.s2` }] },
  { name: 'delete a restore record', levels: RW, calls: [{ del: `.pbm.restore/${R}.json` }] },
  { name: 'delete PITR chunks (oplog/chunk.go:497-503)', levels: RW, calls: [{ head: CHUNK }, { del: CHUNK }] },
  // pbm/backup/storage.go:202-253 (pbm delete-backup, cleanup; the operator's backup finalizer)
  {
    name: 'delete a backup',
    levels: RW,
    calls: [
      { list: `${B}/` },
      ...[`${B}/rs0/metadata.json`, `${B}/rs0/db.coll.s2`, `${B}/rs0/filelist.pbm`, OPLOG].flatMap((k): Call[] => [
        { head: k },
        { del: k },
      ]),
      { del: `${B}.pbm.json` },
    ],
  },
];

// ---------- StackGres / WAL-G (ongres/stackgres@085f6d0, wal-g/wal-g@43fb039; research §2.4) ----------

const SG = 'sgbackups.stackgres.io/postgres/pg/2026-01-01-00-00-00/16/';
const BASE = `${SG}basebackups_005/base_000000010000000000000003`;
const SG_SEED = [
  `${BASE}_backup_stop_sentinel.json`,
  `${BASE}/metadata.json`,
  `${BASE}/files_metadata.json`,
  `${BASE}/tar_partitions/part_1.tar.lz4`,
  `${SG}wal_005/000000010000000000000003.lz4`,
];

const stackgresOps: Operation[] = [
  {
    name: 'storage validation (folder.go:531-546)',
    levels: ALL,
    calls: [{ list: SG, delimiter: '/', maxKeys: 1, v1: true }],
  },
  {
    name: 'backup-list',
    levels: ALL,
    calls: [{ list: `${SG}basebackups_005/` }, { get: `${BASE}_backup_stop_sentinel.json` }],
  },
  {
    name: 'backup-fetch (restore, replica bootstrap)',
    levels: ALL,
    calls: [
      { list: `${SG}basebackups_005/` },
      { get: `${BASE}_backup_stop_sentinel.json` },
      { get: `${BASE}/metadata.json` },
      { get: `${BASE}/files_metadata.json` },
      { get: `${BASE}/tar_partitions/part_1.tar.lz4` },
    ],
  },
  {
    name: 'wal-fetch (a missing history file is a 404)',
    levels: ALL,
    calls: [
      { get: `${SG}wal_005/000000010000000000000003.lz4` },
      { get: `${SG}wal_005/00000002.history.lz4`, missing: true },
    ],
  },
  { name: 'wal-push', levels: RW, calls: [{ put: `${SG}wal_005/000000010000000000000004.lz4` }] },
  {
    name: 'backup-push',
    levels: RW,
    calls: [
      { mpu: `${SG}basebackups_005/base_000000010000000000000005/tar_partitions/part_1.tar.lz4` },
      { put: `${SG}basebackups_005/base_000000010000000000000005/files_metadata.json` },
      { put: `${SG}basebackups_005/base_000000010000000000000005_backup_stop_sentinel.json` },
      { put: `${SG}basebackups_005/base_000000010000000000000005/metadata.json` },
    ],
  },
  {
    name: 'backup-push, failed upload aborted (s3manager default)',
    levels: RW,
    calls: [{ mpu: `${SG}basebackups_005/base_000000010000000000000006/tar_partitions/part_1.tar.lz4`, abort: true }],
  },
  {
    name: 'backup-mark (rewrites metadata.json)',
    levels: RW,
    calls: [{ get: `${BASE}/metadata.json` }, { put: `${BASE}/metadata.json` }],
  },
  { name: 'delete before (retention, DeleteObjects)', levels: RW, calls: [{ list: SG }, { delMany: [...SG_SEED] }] },
];

// ---------- Velero + AWS plugin (vmware-tanzu/velero@d30d389, velero-plugin-for-aws@800bcfb; research §2.5) ----------

const VB = 'backups/nightly-1/';
const VR = 'restores/nightly-1-restore/';
const VELERO_SEED = [
  `${VB}velero-backup.json`,
  `${VB}nightly-1.tar.gz`,
  `${VB}nightly-1-podvolumebackups.json.gz`,
  `${VB}nightly-1-volumesnapshots.json.gz`,
  `${VB}nightly-1-logs.gz`,
  'kopia/ns1/p0123',
  'kopia/ns1/kopia.repository',
];
const RESTORE_FILES = [
  'restore-nightly-1-restore-logs.gz',
  'restore-nightly-1-restore-results.gz',
  'restore-nightly-1-restore-resource-list.json.gz',
  'restore-nightly-1-restore-itemoperations.json.gz',
  'nightly-1-restore-volumeinfo.json.gz',
].map((f) => `${VR}${f}`);

const veleroOps: Operation[] = [
  { name: 'BSL validation (IsValid)', levels: RW_RESTORE, calls: [{ list: '', delimiter: '/' }] },
  {
    name: 'backup sync',
    levels: RW_RESTORE,
    calls: [
      { list: 'backups/', delimiter: '/' },
      { head: `${VB}velero-backup.json` },
      { get: `${VB}velero-backup.json` },
      { get: `${VB}nightly-1-podvolumebackups.json.gz` },
    ],
  },
  // restore_controller.go:630-675: the restore's log, results and lists are uploaded under restores/<name>/
  {
    name: 'restore',
    levels: RW_RESTORE,
    calls: [
      { get: `${VB}nightly-1.tar.gz` },
      { get: `${VB}nightly-1-volumesnapshots.json.gz` },
      { list: 'kopia/ns1/' },
      { get: 'kopia/ns1/p0123' },
      ...RESTORE_FILES.map((put): Call => ({ put })),
    ],
  },
  { name: 'restore log upload, multipart', levels: RW_RESTORE, calls: [{ mpu: RESTORE_FILES[0]! }] },
  {
    name: 'restore log upload, failed and aborted (manager.Uploader)',
    levels: RW_RESTORE,
    calls: [{ mpu: `${VR}restore-nightly-1-restore-logs.gz.tmp`, abort: true }],
  },
  // the Restore's finalizer (restore_controller.go:722-756)
  {
    name: 'delete a Restore',
    levels: RW_RESTORE,
    calls: [{ list: VR }, ...RESTORE_FILES.map((del): Call => ({ del }))],
  },
  {
    name: 'backup (with a kopia data write)',
    levels: RW,
    calls: [
      { put: 'backups/nightly-2/nightly-2-logs.gz' },
      { put: 'backups/nightly-2/velero-backup.json' },
      { mpu: 'backups/nightly-2/nightly-2.tar.gz' },
      { put: 'backups/nightly-2/nightly-2-podvolumebackups.json.gz' },
      { put: 'kopia/ns1/p0456' },
    ],
  },
  { name: 'backup finalizer rewrites velero-backup.json', levels: RW, calls: [{ put: `${VB}velero-backup.json` }] },
  { name: 'repository maintenance', levels: RW, calls: [{ put: 'kopia/ns1/xn0_1' }, { del: 'kopia/ns1/xn0_1' }] },
  { name: 'delete a kopia blob', levels: RW, calls: [{ del: 'kopia/ns1/p0123' }] },
  {
    name: 'delete a backup (GC, velero backup delete)',
    levels: RW,
    calls: [{ list: VB }, ...VELERO_SEED.filter((k) => k.startsWith(VB)).map((del): Call => ({ del }))],
  },
];

// ---------- Mountpoint for S3 (awslabs/mountpoint-s3@58817ca; research §2.6) ----------

const mountpointOps: Operation[] = [
  { name: 'mount', levels: ['read-write', 'read-only'], calls: [{ list: '', maxKeys: 0 }] },
  {
    name: 'lookup and read',
    levels: ['read-write', 'read-only'],
    calls: [{ head: 'dir/f' }, { list: 'dir/f/', delimiter: '/', maxKeys: 1 }, { get: 'dir/f' }],
  },
  {
    name: 'lookup of a missing file is a 404',
    levels: ['read-write', 'read-only'],
    calls: [
      { head: 'dir/nope', missing: true },
      { list: 'dir/nope/', delimiter: '/', maxKeys: 1 },
    ],
  },
  { name: 'write a new file', levels: RW, calls: [{ mpu: 'dir/new' }] },
  { name: 'write failed and aborted', levels: RW, calls: [{ mpu: 'dir/new2', abort: true }] },
  { name: 'overwrite (allow-overwrite)', levels: RW, calls: [{ put: 'dir/f' }] },
  { name: 'unlink (allow-delete)', levels: RW, calls: [{ del: 'dir/g' }] },
];

// ---------- generic (no tool to read: the conventional SDK client) ----------

const genericOps: Operation[] = [
  {
    name: 'probe',
    levels: ['read-write', 'read-only'],
    calls: [{ location: true }, { list: '' }, { head: 'x' }, { get: 'x' }],
  },
  { name: 'write', levels: RW, calls: [{ put: 'y' }, { mpu: 'z', abort: true }, { del: 'y' }] },
];

const REPLAY: Record<Tool, ToolReplay> = {
  pbm: { levels: RW_RESTORE, seed: PBM_SEED, ops: pbmOps(false) },
  'psmdb-operator': { levels: RW_RESTORE, seed: PBM_SEED, ops: pbmOps(true) },
  stackgres: { levels: ALL, seed: SG_SEED, ops: stackgresOps },
  velero: { levels: RW_RESTORE, seed: VELERO_SEED, ops: veleroOps },
  'mountpoint-s3-csi': { levels: ['read-write', 'read-only'], seed: ['dir/f', 'dir/g'], ops: mountpointOps },
  generic: { levels: ['read-write', 'read-only'], seed: ['x'], ops: genericOps },
};

// ---------- the replay ----------

const errorName = (e: unknown): string => {
  const err = e as { name?: string; $metadata?: { httpStatusCode?: number } };
  const status = err.$metadata?.httpStatusCode;
  if (status === 403) return 'AccessDenied';
  if (status === 404) return 'NotFound';
  return err.name ?? String(e);
};

async function multipart(s3: S3Client, Bucket: string, Key: string, abort: boolean): Promise<void> {
  const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket, Key }));
  const parts = [];
  for (const PartNumber of [1, 2]) {
    // S3 takes a part under 5 MiB only as the last one (EntityTooSmall on completing otherwise)
    const size = PartNumber === 1 ? 5 * 1024 * 1024 : 2048;
    const { ETag } = await s3.send(
      new UploadPartCommand({ Bucket, Key, UploadId, PartNumber, Body: Buffer.alloc(size, PartNumber) }),
    );
    parts.push({ ETag, PartNumber });
  }
  if (abort) await s3.send(new AbortMultipartUploadCommand({ Bucket, Key, UploadId }));
  else await s3.send(new CompleteMultipartUploadCommand({ Bucket, Key, UploadId, MultipartUpload: { Parts: parts } }));
}

async function call(s3: S3Client, Bucket: string, prefix: string, c: Call): Promise<void> {
  const k = (key: string) => `${prefix}${key}`;
  const missing = async (p: Promise<unknown>) => {
    const outcome = await p.then(
      () => 'found',
      (e: unknown) => errorName(e),
    );
    if (outcome !== 'NotFound')
      throw Object.assign(new Error(`expected a 404, got ${outcome}`), {
        name: outcome === 'found' ? 'Found' : outcome,
      });
  };
  if ('put' in c) await s3.send(new PutObjectCommand({ Bucket, Key: k(c.put), Body: `written ${c.put}` }));
  else if ('mpu' in c) await multipart(s3, Bucket, k(c.mpu), c.abort === true);
  else if ('get' in c) {
    const p = s3
      .send(new GetObjectCommand({ Bucket, Key: k(c.get), Range: 'bytes=0-1023' }))
      .then((o) => o.Body?.transformToByteArray());
    await (c.missing ? missing(p) : p);
  } else if ('head' in c) {
    const p = s3.send(new HeadObjectCommand({ Bucket, Key: k(c.head) }));
    await (c.missing ? missing(p) : p);
  } else if ('list' in c) {
    const input = { Bucket, Prefix: k(c.list), Delimiter: c.delimiter, MaxKeys: c.maxKeys };
    await s3.send(c.v1 ? new ListObjectsCommand(input) : new ListObjectsV2Command(input));
  } else if ('del' in c) await s3.send(new DeleteObjectCommand({ Bucket, Key: k(c.del) }));
  else if ('delMany' in c) {
    const out = await s3.send(
      new DeleteObjectsCommand({ Bucket, Delete: { Objects: c.delMany.map((key) => ({ Key: k(key) })) } }),
    );
    if (out.Errors?.length)
      throw Object.assign(new Error(`DeleteObjects: ${out.Errors.map((e) => `${e.Key} ${e.Code}`).join(', ')}`), {
        name: out.Errors[0]!.Code,
      });
  } else if ('copy' in c)
    await s3.send(new CopyObjectCommand({ Bucket, Key: k(c.to), CopySource: `${Bucket}/${k(c.copy)}` }));
  else await s3.send(new GetBucketLocationCommand({ Bucket }));
}

/** 'ok', or the error of the first call that failed (as the tool would stop there). */
async function run(s3: S3Client, bucket: string, prefix: string, op: Operation): Promise<string> {
  for (const c of op.calls) {
    try {
      await call(s3, bucket, prefix, c);
    } catch (e) {
      return `${errorName(e)} at ${JSON.stringify(c)}`;
    }
  }
  return 'ok';
}

// ---------- the cases ----------

const MODES = {
  'same account': {
    bucket: { name: 'workload-local-backups', accountId: WORKLOADS, region: 'eu-west-1' },
    owner: WORKLOADS,
  },
  'bucket-policy': {
    bucket: { name: 'demo-backups', accountId: BACKUPS, region: 'eu-west-1' },
    owner: BACKUPS,
    crossAccountMode: 'bucket-policy',
  },
  'role-in-bucket-account': {
    bucket: { name: 'demo-backups', accountId: BACKUPS, region: 'eu-west-1' },
    owner: BACKUPS,
    crossAccountMode: 'role-in-bucket-account',
  },
  // SSE-KMS by default: writes need kms:GenerateDataKey (and multipart kms:Decrypt), reads kms:Decrypt
  'bucket-policy, SSE-KMS': {
    bucket: {
      name: 'demo-encrypted-backups',
      accountId: BACKUPS,
      region: 'eu-west-1',
      kmsKeyArn: 'arn:aws:kms:eu-west-1:300000000003:key/11111111-2222-3333-4444-555555555555',
    },
    owner: BACKUPS,
    crossAccountMode: 'bucket-policy',
  },
} as const;
type Mode = keyof typeof MODES;

const SHORT: Record<Tool, string> = {
  pbm: 'pbm',
  'psmdb-operator': 'psmdb',
  stackgres: 'sg',
  velero: 'vel',
  'mountpoint-s3-csi': 'mp',
  generic: 'gen',
};
const LEVEL_SHORT: Record<Level, string> = { 'read-write': 'rw', restore: 'rs', 'read-only': 'ro' };
const MODE_SHORT: Record<Mode, string> = {
  'same account': 'same',
  'bucket-policy': 'bp',
  'role-in-bucket-account': 'rba',
  'bucket-policy, SSE-KMS': 'kms',
};

/** Onboards one tool at one level in one mode, seeds the bucket as its owner, and replays every operation. */
async function replay(tool: Tool, level: Level, mode: Mode): Promise<Record<string, string>> {
  const m = MODES[mode];
  const id = `${SHORT[tool]}-${LEVEL_SHORT[level]}-${MODE_SHORT[mode]}`;
  const namespace = `t-${id}`;
  const serviceAccount = tool === 'stackgres' ? 'pg-patroni' : 'agent';
  const prefix = `tools/${id}/`;
  const res = await api.onboard({
    workload: {
      type: 'eks',
      clusters: [{ name: 'demo', accountId: WORKLOADS, region: 'eu-west-1' }],
      namespace,
      serviceAccounts: [serviceAccount],
    },
    bucket: { ...m.bucket, prefix },
    tool,
    access: level,
    ...('crossAccountMode' in m ? { crossAccountMode: m.crossAccountMode } : {}),
  });
  if (res.status !== 201) throw new Error(`${tool} ${level} ${mode}: ${res.status} ${JSON.stringify(res.body)}`);
  const owner = clients(stack, rootCredentials(m.owner)).s3;
  await Promise.all(
    REPLAY[tool].seed.map((key) =>
      owner.send(new PutObjectCommand({ Bucket: m.bucket.name, Key: `${prefix}${key}`, Body: `seed ${key}` })),
    ),
  );
  const s3 = clients(
    stack,
    await podCredentials(stack, res.body.roleArn, { cluster: 'demo', namespace, serviceAccount }),
  ).s3;
  const results: Record<string, string> = {};
  for (const op of REPLAY[tool].ops) results[op.name] = await run(s3, m.bucket.name, prefix, op);
  return results;
}

const expected = (tool: Tool, level: Level): Record<string, string> =>
  Object.fromEntries(
    REPLAY[tool].ops.map((op) => [
      op.name,
      op.levels.includes(level) ? 'ok' : expect.stringMatching(/^AccessDenied at /),
    ]),
  );

const CASES = (Object.keys(REPLAY) as Tool[]).flatMap((tool) =>
  REPLAY[tool].levels.map((level) => [tool, level] as const),
);

describe('Tools replayed on the S3 data plane: each level allows exactly what the tool needs', () => {
  it.each(CASES)('%s %s: every operation in every cross-account mode', async (tool, level) => {
    const modes = Object.keys(MODES) as Mode[];
    const outcomes = await Promise.all(modes.map(async (mode) => [mode, await replay(tool, level, mode)] as const));
    expect(Object.fromEntries(outcomes)).toEqual(
      Object.fromEntries(modes.map((mode) => [mode, expected(tool, level)])),
    );
  });

  it('covers every tool at every level it supports, and denies something at each level but read-write', () => {
    expect(CASES).toHaveLength(13);
    for (const [tool, level] of CASES) {
      const ops = REPLAY[tool].ops;
      expect({ tool, level, allowed: ops.some((op) => op.levels.includes(level)) }).toEqual({
        tool,
        level,
        allowed: true,
      });
      if (level !== 'read-write')
        expect({ tool, level, denied: ops.some((op) => !op.levels.includes(level)) }).toEqual({
          tool,
          level,
          denied: true,
        });
    }
  });
});

describe('A level a tool cannot work with', () => {
  it.each([
    ['pbm', 'read-only', ['read-write', 'restore']],
    ['psmdb-operator', 'read-only', ['read-write', 'restore']],
    ['velero', 'read-only', ['read-write', 'restore']],
    ['mountpoint-s3-csi', 'restore', ['read-write', 'read-only']],
    ['generic', 'restore', ['read-write', 'read-only']],
  ] as const)(
    '%s %s is a 400 on access naming the levels it can (%j), and nothing is written',
    async (tool, access, levels) => {
      await admin.clearCalls();
      const res = await api.onboard({
        workload: {
          type: 'eks',
          clusters: [{ name: 'demo', accountId: WORKLOADS, region: 'eu-west-1' }],
          namespace: 'refused',
          serviceAccounts: ['agent'],
        },
        bucket: { name: 'demo-backups', accountId: BACKUPS, region: 'eu-west-1', prefix: 'refused/' },
        tool,
        access,
      });
      expect(res.status).toBe(400);
      expect(res.body.errors).toEqual([
        {
          path: 'access',
          message: expect.stringContaining(
            `must be one of: ${levels.map((l) => JSON.stringify(l)).join(', ')} for tool ${tool}`,
          ),
        },
      ]);
      expect(await writes(stack)).toEqual([]);
    },
  );
});

describe('Tool-specific fields, through the API', () => {
  const demo = { name: 'demo', accountId: WORKLOADS, region: 'eu-west-1' };
  const bucket = (prefix: string) => ({ name: 'demo-backups', accountId: BACKUPS, region: 'eu-west-1', prefix });

  it('velero installed with Helm: the role is bound to <fullname>-server, the one the chart creates, and the values annotate it', async () => {
    const res = await api.onboard({
      workload: {
        type: 'eks',
        clusters: [demo],
        namespace: 'velero',
        velero: { installMethod: 'helm', helmReleaseName: 'backup' },
      },
      bucket: bucket('helm/velero/'),
      tool: 'velero',
    });
    expect(res.status).toBe(201);
    expect(res.body.snippets['velero-values.yaml']).toContain(`eks.amazonaws.com/role-arn: ${res.body.roleArn}\n`);
    expect(res.body.snippets['serviceaccount.yaml']).toContain('name: backup-velero-server\n');
    await podCredentials(stack, res.body.roleArn, {
      cluster: 'demo',
      namespace: 'velero',
      serviceAccount: 'backup-velero-server',
    });
    await expect(
      podCredentials(stack, res.body.roleArn, { cluster: 'demo', namespace: 'velero', serviceAccount: 'velero' }),
    ).rejects.toMatchObject({ name: 'AccessDenied' });
  });

  it('mountpoint-s3-csi with driver-level credentials: the claim goes to workload.claimNamespace, which is required', async () => {
    const body = {
      workload: { type: 'eks', clusters: [demo], namespace: 'kube-system' },
      bucket: bucket('mp/driver/'),
      tool: 'mountpoint-s3-csi',
      access: 'read-only',
    };
    const refused = await api.onboard(body);
    expect(refused.status).toBe(400);
    expect(refused.body.errors).toEqual([
      {
        path: 'workload.claimNamespace',
        message: expect.stringContaining('the namespace of the pods that mount the volume'),
      },
    ]);
    const res = await api.onboard({ ...body, workload: { ...body.workload, claimNamespace: 'analytics' } });
    expect(res.status).toBe(201);
    const pv = res.body.snippets['mountpoint-pv.yaml'] as string;
    expect(pv).toContain('  claimRef:\n    namespace: analytics\n');
    expect(pv).toContain(
      'kind: PersistentVolumeClaim\nmetadata:\n  name: s3-demo-backups-mp-driver-ro\n  namespace: analytics\n',
    );
    await podCredentials(stack, res.body.roleArn, {
      cluster: 'demo',
      namespace: 'kube-system',
      serviceAccount: 's3-csi-driver-sa',
    });
  });

  it('stackgres: the SGCluster fragment annotates <sgcluster>-patroni; another service account name is a 400', async () => {
    const res = await api.onboard({
      workload: { type: 'eks', clusters: [demo], namespace: 'pg', serviceAccounts: ['main-patroni'] },
      bucket: bucket('sg/main/'),
      tool: 'stackgres',
      access: 'restore',
    });
    expect(res.status).toBe(201);
    expect(res.body.snippets['sgcluster-annotations.yaml']).toContain(
      `kind: SGCluster\nmetadata:\n  name: main\n  namespace: pg\n`,
    );
    expect(res.body.snippets['sgobjectstorage.yaml']).toMatch(/^# Requires StackGres 1\.18\.3 or later/);
    const refused = await api.onboard({
      workload: { type: 'eks', clusters: [demo], namespace: 'pg', serviceAccounts: ['postgres'] },
      bucket: bucket('sg/main/'),
      tool: 'stackgres',
    });
    expect(refused.status).toBe(400);
    expect(refused.body.errors.map((e: { path: string }) => e.path)).toEqual(['workload.serviceAccounts.0']);
  });

  it('verify: a restore onboarding reaches exactly its restore paths and can neither write nor delete elsewhere under the prefix', async () => {
    const res = await api.onboard({
      workload: { type: 'eks', clusters: [demo], namespace: 'dr', serviceAccounts: ['pbm-agent'] },
      bucket: bucket('dr/pbm/'),
      tool: 'pbm',
      access: 'restore',
    });
    expect(res.status).toBe(201);
    const verify = await api.send('POST', `/v1/onboardings/${res.body.id}/verify`);
    expect(verify.status).toBe(200);
    expect(verify.body.checks.filter((c: { ok: boolean }) => !c.ok)).toEqual([]);
    expect(verify.body.ok).toBe(true);
    expect(verify.body.checks.map((c: { name: string }) => c.name)).toEqual(
      expect.arrayContaining([
        'reach:s3:PutObject',
        'reach:s3:DeleteObject',
        'reach:s3:GetObject',
        'deny:s3:PutObject',
        'deny:s3:DeleteObject',
      ]),
    );
  });
});
