import { randomBytes, generateKeyPairSync, type KeyObject } from 'node:crypto';
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
  objects: Map<string, StoredObject>;
  createDate: Date;
}

export interface StoredObject {
  body: Buffer;
  etag: string;
  lastModified: Date;
  kmsKeyArn?: string;
  ownerAccountId: string;
  /** the CRC32 checksum (base64) S3 keeps when the upload named that algorithm */
  checksumCrc32?: string;
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

export interface Fault {
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
export interface EventRecord {
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

export function newAccount(id: string, assumeRolePolicySizeQuota = 2048): Account {
  return { id, roles: new Map(), policies: new Map(), oidcProviders: new Map(), assumeRolePolicySizeQuota };
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
