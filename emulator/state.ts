import { randomBytes, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { ROLE_TRUST_POLICY_LENGTH } from './quotas';
import type { PolicyDocument } from '../lib/iam-policy/types';

export interface Role {
  roleId: string;
  name: string;
  path: string;
  arn: string;
  accountId: string;
  trustPolicy: string;
  /** role ARNs the trust policy named, bound to their unique ids when it was written */
  trustBindings: Map<string, string>;
  description?: string;
  maxSessionDuration: number;
  permissionsBoundary?: string;
  tags: Map<string, string>;
  inlinePolicies: Map<string, string>;
  attachedPolicies: Set<string>;
  createDate: Date;
  /** epoch ms when the emulator considers the principal visible everywhere (propagation window) */
  visibleAt: number;
}

export interface ManagedPolicy {
  policyId: string;
  name: string;
  path: string;
  arn: string;
  description?: string;
  versions: { id: string; document: string; createDate: Date }[];
  defaultVersionId: string;
  createDate: Date;
  updateDate: Date;
  tags: Map<string, string>;
}

export interface OidcProvider {
  arn: string;
  url: string; // without scheme
  clientIds: string[];
  thumbprints: string[];
  tags: Map<string, string>;
  createDate: Date;
}

export interface Account {
  id: string;
  roles: Map<string, Role>; // key: lower-case name (IAM names are unique ignoring case)
  policies: Map<string, ManagedPolicy>; // key: arn
  oidcProviders: Map<string, OidcProvider>; // key: arn
  assumeRolePolicySizeQuota: number;
  /** Service Quotas values set for this account (`<serviceCode>/<quotaCode>` → value); others are AWS's defaults */
  quotas: Map<string, number>;
}

export interface Cluster {
  name: string;
  accountId: string;
  region: string;
  issuer: string;
  createdAt: Date;
  /** whether the eks-pod-identity-agent add-on is installed (topology `podIdentityAgent`, default true) */
  podIdentityAgent: boolean;
}

/** An EKS Pod Identity association (one per cluster, namespace and service account). */
export interface PodIdentityAssociation {
  associationId: string;
  associationArn: string;
  clusterName: string;
  accountId: string;
  region: string;
  namespace: string;
  serviceAccount: string;
  roleArn: string;
  targetRoleArn?: string;
  /** the value EKS passes as sts:ExternalId when it assumes the target role */
  externalId: string;
  disableSessionTags: boolean;
  tags: Record<string, string>;
  clientRequestToken?: string;
  createdAt: Date;
  modifiedAt: Date;
}

export interface Bucket {
  name: string;
  accountId: string;
  region: string;
  /** stored text as written, with role ARNs bound to unique ids (see principals.ts) */
  policy?: string;
  policyBindings?: Map<string, string>;
  kmsKeyArn?: string;
  tags: Record<string, string>;
  /** S3 ABAC (GetBucketAbac/PutBucketAbac): while on, the bucket's tags are aws:ResourceTag for bucket-level actions */
  abac: boolean;
  objects: Map<string, StoredObject>;
  createDate: Date;
}

interface StoredObject {
  body: Buffer;
  etag: string;
  lastModified: Date;
  kmsKeyArn?: string;
  /** the `aws:s3:arn` encryption context S3 used with the key: the object's ARN, or the bucket's with an S3 Bucket Key */
  kmsContextArn?: string;
  ownerAccountId: string;
  /** the CRC32 checksum (base64) S3 keeps when the upload named that algorithm */
  checksumCrc32?: string;
}

/** An S3 access point (S3 Control), in its owner's account and Region, attached to a bucket. */
export interface AccessPoint {
  name: string;
  accountId: string;
  region: string;
  arn: string;
  alias: string;
  bucket: string;
  /** the account that owns the bucket (a cross-account access point names it as BucketAccountId) */
  bucketAccountId: string;
  /** the access point policy as written, with role ARNs bound to unique ids (see principals.ts) */
  policy?: string;
  policyBindings?: Map<string, string>;
  /** Block Public Access of the access point (all four on unless the creator turned one off) */
  publicAccessBlock: {
    BlockPublicAcls: boolean;
    IgnorePublicAcls: boolean;
    BlockPublicPolicy: boolean;
    RestrictPublicBuckets: boolean;
  };
  vpcId?: string;
  createDate: Date;
  /** tags (CreateAccessPoint `Tags`, topology `accessPoints[].tags`): read with S3 Control ListTagsForResource */
  tags: Map<string, string>;
}

/** A KMS grant on a key. */
export interface KmsGrant {
  grantId: string;
  grantToken: string;
  keyArn: string;
  name?: string;
  granteePrincipal: string;
  retiringPrincipal?: string;
  operations: string[];
  constraints?: { EncryptionContextSubset?: Record<string, string>; EncryptionContextEquals?: Record<string, string> };
  /** `arn:aws:iam::<account>:root` of the account that created the grant */
  issuingAccount: string;
  creationDate: Date;
}

export interface KmsKey {
  arn: string;
  keyId: string;
  accountId: string;
  region: string;
  policy: string;
  aliases: string[];
  awsManaged: boolean;
  /** key tags (topology `kmsKeys[].tags`, TagResource): `aws:ResourceTag/<key>` for key operations */
  tags: Record<string, string>;
  createDate: Date;
  /** grants on the key, by grant id */
  grants: Map<string, KmsGrant>;
}

export interface Session {
  accessKeyId: string;
  arn: string; // arn:aws:sts::A:assumed-role/R/S
  accountId: string;
  roleArn: string;
  roleName: string;
  roleId: string;
  sessionName: string;
  expiresAt: number;
  chained: boolean;
  /** session tags (including incoming transitive ones): `aws:PrincipalTag/<key>` over the role's own tags */
  tags?: Record<string, string>;
  /** keys of `tags` that pass on to sessions this session assumes (role chaining) */
  transitiveTagKeys?: string[];
}

export interface CallRecord {
  seq: number;
  startedAt: string;
  durationMs: number;
  accountId: string | null;
  principalArn: string | null;
  service: string;
  operation: string;
  status: number;
  errorCode: string | null;
  write: boolean;
}

interface Fault {
  id: number;
  service?: string;
  operation?: string;
  /** absent: the fault only delays the call (delayMs), which then succeeds */
  errorCode?: string;
  httpStatus?: number;
  message?: string;
  count?: number;
  probability?: number;
  /** extension: let this many matching calls through before the fault applies */
  after?: number;
  /** extension: the call waits this long before it fails (or, without errorCode, proceeds) */
  delayMs?: number;
}

/** An event EventBridge accepted (PutEvents), as `GET /_emulator/events` lists it. */
interface EventRecord {
  id: string;
  time: string;
  eventBusName: string;
  account: string;
  region: string;
  source: string;
  detailType: string;
  resources: string[];
  detail: unknown;
}

export interface World {
  accounts: Map<string, Account>;
  clusters: Cluster[];
  buckets: Map<string, Bucket>;
  kmsKeys: Map<string, KmsKey>; // key: arn
  sessions: Map<string, Session>;
  calls: CallRecord[];
  /** every event PutEvents accepted, in order */
  events: EventRecord[];
  seq: number;
  faults: Fault[];
  faultSeq: number;
  perCallMs: number;
  propagationMs: number;
  signingKey: { privateKey: KeyObject; publicKey: KeyObject; kid: string };
  platformAccountId: string;
  /** S3 access points, by `<account>/<region>/<name>` */
  accessPoints: Map<string, AccessPoint>;
  /** EKS Pod Identity associations, by association id */
  podIdentityAssociations: Map<string, PodIdentityAssociation>;
  /** the role the instance-metadata stand-in hands out (see imds.ts); undefined: no instance profile */
  imdsRoleArn?: string;
}

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
/** AWS-looking unique ids: a 4-letter prefix and 17 upper-case characters (21 in all). */
export function uniqueId(prefix: string, length = 21): string {
  const bytes = randomBytes(length);
  let s = prefix;
  for (let i = prefix.length; i < length; i++) s += ALNUM[bytes[i] % ALNUM.length];
  return s;
}

export const requestId = (): string => {
  const h = randomBytes(16).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
};

export function newAccount(id: string, quotas: Map<string, number> = new Map()): Account {
  // the trust policy length quota (iam/L-C07B4B0D) is also GetAccountSummary's AssumeRolePolicySizeQuota
  const assumeRolePolicySizeQuota = quotas.get(ROLE_TRUST_POLICY_LENGTH) ?? 2048;
  return { id, roles: new Map(), policies: new Map(), oidcProviders: new Map(), assumeRolePolicySizeQuota, quotas };
}

export function newSigningKey(): World['signingKey'] {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { privateKey, publicKey, kid: uniqueId('KEY', 16).toLowerCase() };
}

export const parseDoc = (text: string): PolicyDocument => JSON.parse(text) as PolicyDocument;

/** The role an ARN names now (path included), or undefined. Role names are unique per account ignoring case. */
export function findRoleByArn(world: World, arn: string): Role | undefined {
  const m = /^arn:aws:iam::(\d{12}):role\/(.*\/)?([^/]+)$/.exec(arn);
  if (!m) return undefined;
  const role = world.accounts.get(m[1])?.roles.get(m[3].toLowerCase());
  return role && role.arn === arn ? role : undefined;
}

export const accessPointKey = (accountId: string, region: string, name: string): string =>
  `${accountId}/${region}/${name}`;

const ALIAS_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

/**
 * A new access point with AWS's defaults: Block Public Access all on, network origin Internet, and an alias
 * `<name>-<34 lower-case letters and digits>-s3alias` (at most 63 characters, like a bucket name, so the name
 * part is cut to 20 characters; AWS's exact rule for long names is not documented).
 */
export function newAccessPoint(a: {
  name: string;
  accountId: string;
  region: string;
  bucket: string;
  bucketAccountId: string;
  createDate: Date;
  vpcId?: string;
  publicAccessBlock?: Partial<AccessPoint['publicAccessBlock']>;
  tags?: Map<string, string>;
}): AccessPoint {
  const bytes = randomBytes(34);
  const suffix = Array.from(bytes, (b) => ALIAS_ALPHABET[b % ALIAS_ALPHABET.length]).join('');
  const stem = a.name.slice(0, 20).replace(/-+$/, '');
  return {
    name: a.name,
    accountId: a.accountId,
    region: a.region,
    arn: `arn:aws:s3:${a.region}:${a.accountId}:accesspoint/${a.name}`,
    alias: `${stem}-${suffix}-s3alias`,
    bucket: a.bucket,
    bucketAccountId: a.bucketAccountId,
    publicAccessBlock: {
      BlockPublicAcls: true,
      IgnorePublicAcls: true,
      BlockPublicPolicy: true,
      RestrictPublicBuckets: true,
      ...a.publicAccessBlock,
    },
    vpcId: a.vpcId,
    createDate: a.createDate,
    tags: new Map(a.tags ?? []),
  };
}
