import type { Statement } from './types';
import type { Tool } from '../snippets/types';
import { TABLE_ACTIONS } from './actions';

/**
 * `crossAccountMode: access-point` (issue 19): each onboarding reaches its bucket through an S3 access point of its
 * own in the bucket's account; the bucket policy holds one delegation statement for all of them. Pure: names,
 * ARNs, the delegation statement, and which name each tool takes in its snippet (docs/access-points.md).
 */

/**
 * Every access point the service makes is named `s3ob-…`: the provisioner may create, change and delete only
 * those (deploy/provisioner.yaml), the workload boundary reaches only those, and the bucket's delegation serves
 * only those (`s3:DataAccessPointArn`), so the owner's other access points gain nothing from it.
 */
export const ACCESS_POINT_PREFIX = 's3ob-';
/** AWS: 3-50 lower-case letters, digits and hyphens, not ending in `-s3alias` */
const NAME_MAX = 50;
/** how many names the derivation tries before it gives up (each taken one costs a read) */
export const ACCESS_POINT_CANDIDATES = 8;

/**
 * The names an onboarding's access point may have, in the order they are tried: `s3ob-<the id's hex>`, then
 * `s3ob-<hex>-2`, `-3`… A name another onboarding or someone else holds is skipped, so two onboardings that would
 * derive the same name get distinct ones, and the same state always gives the same name (17-19 characters).
 */
export function accessPointNames(onboardingId: string): string[] {
  const stem = `${ACCESS_POINT_PREFIX}${onboardingId.replace(/^ob-/, '').replace(/[^a-z0-9]/g, '')}`.slice(
    0,
    NAME_MAX - 3,
  );
  return Array.from({ length: ACCESS_POINT_CANDIDATES }, (_, i) => (i === 0 ? stem : `${stem}-${i + 1}`));
}

/** The tag that names the onboarding an access point belongs to (with `managed-by`: the service's). */
export const TAG_ONBOARDING = 's3-onboarding/onboarding';

/** Whether an access point's tags make it this onboarding's: the service's `managed-by` value and the id. */
export const ownsAccessPoint = (tags: readonly [string, string][], managedBy: string, onboardingId: string): boolean =>
  tags.some(([k, v]) => k === 'managed-by' && v === managedBy) &&
  tags.some(([k, v]) => k === TAG_ONBOARDING && v === onboardingId);

export const accessPointArn = (region: string, accountId: string, name: string): string =>
  `arn:aws:s3:${region}:${accountId}:accesspoint/${name}`;

/** Every S3 action any tool is granted (lib/policy/actions.ts), for the delegation: the access points narrow it. */
const DELEGATED_ACTIONS = [...new Set(TABLE_ACTIONS)].sort();

const DELEGATION_SID = 'S3OnboardingAccessPoints';

/**
 * The bucket policy's one statement for every access point of the service on the bucket (AWS's documented
 * delegation, narrowed): any principal, the actions any tool is granted, on the bucket and its objects, only for
 * requests through an access point of the bucket's account named `s3ob-…`. It grants nothing by itself: a request
 * also needs the access point's policy and the caller's identity policy, both naming that access point. Fixed
 * content per bucket: added by the bucket's first access-point onboarding, removed (by content) after its last.
 */
export function delegationStatement(bucketAccount: string, region: string, bucket: string): Statement {
  return {
    Sid: DELEGATION_SID,
    Effect: 'Allow',
    Principal: { AWS: '*' },
    Action: DELEGATED_ACTIONS,
    Resource: [`arn:aws:s3:::${bucket}`, `arn:aws:s3:::${bucket}/*`],
    Condition: {
      StringEquals: { 's3:DataAccessPointAccount': bucketAccount },
      StringLike: { 's3:DataAccessPointArn': accessPointArn(region, bucketAccount, `${ACCESS_POINT_PREFIX}*`) },
    },
  };
}

// ---------- which name each tool takes (docs/access-points.md, read from each tool's source) ----------

/** How a tool's snippet names the access point, or why it cannot work through one. */
export type AccessPointUse =
  | {
      /** the snippet's bucket field: the access point's alias (a bucket name), or its ARN */
      name: 'alias' | 'arn';
      /** the field that turns path-style addressing off (access points answer virtual-hosted requests only) */
      virtualHosted?: string;
      source: string;
    }
  | { refused: string; source: string };

const DOC = 'docs/access-points.md';

/**
 * The verdict per tool. No tool is refused outright (the Percona operator below 1.22.0 is, through its version:
 * lib/policy/requirements.ts); a row `{ refused }` makes a request in access-point mode a 400 naming the modes the
 * tool can use.
 */
export const ACCESS_POINT_TOOLS: Readonly<Record<Tool, AccessPointUse>> = {
  // PBM passes the bucket as is and defaults to path style (s3.go:212-217): the alias, with forcePathStyle false;
  // an ARN fails its Copy (no /object/) and path style refuses it
  pbm: {
    name: 'alias',
    virtualHosted: 'storage.s3.forcePathStyle: false',
    source: `${DOC} §2.1; percona/percona-backup-mongodb@v2.15.0:pbm/storage/s3/s3.go:216`,
  },
  'psmdb-operator': {
    name: 'alias',
    virtualHosted: 'spec.backup.storages.<name>.s3.forcePathStyle: false',
    source: `${DOC} §2.2; percona/percona-server-mongodb-operator@v1.22.0:pkg/psmdb/backup/pbm.go:403,409`,
  },
  // WAL-G reads the bucket as the s3:// URL's host: an ARN does not parse; virtual-hosted by default
  stackgres: { name: 'alias', source: `${DOC} §2.3; wal-g/wal-g@v3.0.9:pkg/storages/storage/utils.go:47-56` },
  // Velero refuses a bucket with '/' (an ARN has one); the plugin is virtual-hosted unless s3ForcePathStyle
  velero: { name: 'alias', source: `${DOC} §2.4; vmware-tanzu/velero@v1.18.1:pkg/persistence/object_store.go:152` },
  // mount-s3 takes a name or anything starting with arn: (path.rs:26-34); the ARN names Region and account
  'mountpoint-s3-csi': {
    name: 'arn',
    source: `${DOC} §2.5; awslabs/mountpoint-s3@v1.23.0:mountpoint-s3-fs/src/s3/path.rs:29,147,153`,
  },
  generic: { name: 'alias', source: `${DOC} §3` },
};

/** The cross-account modes other than access-point, for a refusal. */
const MODES_WITHOUT_ACCESS_POINTS = ['bucket-policy', 'role-in-bucket-account'] as const;

/** Why a tool cannot be onboarded in access-point mode (with the modes it can use), or undefined. */
export function accessPointRefusal(
  tool: Tool,
  table: Readonly<Record<Tool, AccessPointUse>> = ACCESS_POINT_TOOLS,
): string | undefined {
  const use = table[tool];
  if (!('refused' in use)) return undefined;
  return `tool ${tool} cannot work through an S3 access point (${use.refused}; ${use.source}): use crossAccountMode ${MODES_WITHOUT_ACCESS_POINTS.join(' or ')}`;
}
