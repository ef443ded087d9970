import type { ProvisionerSessions } from '../../aws/session';
import { readRole } from './role';
import * as iamApi from '../../aws/iam';
import * as s3Api from '../../aws/s3';
import * as kmsApi from '../../aws/kms';
import { clusterIssuer } from '../../aws/eks';
import { ValidationError } from '../../errors';
import { parseRawPolicy, type RawPolicy } from '../../policy/resource-policy';
import type { PolicyDocument } from '../../policy/types';
import { accountOfArn, nameOfArn, regionOfArn } from '../../arn';
import type { TagList } from '../model/desired';
import { instanceGrantName, type WorkloadIdentity } from '../model/onboarding';
import {
  observeAssociationsOf,
  observePodIdentity,
  type ObservedAssociation,
  type ObservedPodIdentity,
  type PodIdentityReadMode,
} from './pod-identity';
import { observeAccessPoints, type AccessPointRead, type ObservedAccessPoints } from './access-points';

/**
 * Reads what AWS holds, every independent read in parallel. What is read depends on the verb: provisioning reads
 * the clusters' issuers and the account's trust quota; every verb reads the role with all its inline and attached
 * policies (so nothing on the role goes unnoticed), and the resource policies the grant has or wants statements in.
 */

export interface ObservedRole {
  arn: string;
  path: string;
  trust: PolicyDocument;
  tags: TagList;
  boundaryArn?: string;
  /** every inline policy: its document and the size IAM counts */
  inline: Map<string, { document: PolicyDocument; size: number }>;
  attached: { arn: string; name: string }[];
}

interface ObservedInstanceRole {
  arn: string;
  tags: TagList;
  /** the identity's assume grant on it, when present */
  grant?: PolicyDocument;
}

export interface Observed {
  /** issuers[i] belongs to identity.clusters[i] (provisioning only) */
  issuers: string[];
  /** IAM OIDC providers that exist in the role's account */
  providers: string[];
  trustQuota: number;
  role?: ObservedRole;
  instanceRole?: ObservedInstanceRole;
  /** resource policies by target: `bucket:<account>/<name>` or `key:<arn>` (absent: the resource has none) */
  resourcePolicies: Map<string, RawPolicy | undefined>;
  /** the same targets' tags, when asked for: whether their owner opted in to changes by the service */
  resourceTags: Map<string, TagList>;
  /** verify: documents of attached managed policies, and of the boundary */
  managedDocuments: Map<string, PolicyDocument>;
  /** a pod-identity identity: its chaining roles, associations and agents (lib/onboarding/pod-identity-reads.ts) */
  podIdentity?: ObservedPodIdentity;
  /** verify of an IRSA identity: the Pod Identity associations of its service accounts (it should have none) */
  associations?: Map<string, ObservedAssociation>;
  /** provisioning: whether the requested bucket and key are opted in, in every mode (lib/onboarding/opt-in.ts) */
  optIn?: ObservedOptIn;
  /** access-point mode, or a grant that made an access point: what S3 Control holds (gather/access-points.ts) */
  accessPoints?: ObservedAccessPoints;
  /** KMS grants by `keyGrantKey(key, grantee)`: what ListGrants, filtered by that grantee, found on that key */
  keyGrants?: Map<string, kmsApi.KeyGrantEntry[]>;
}

/** A key and a grantee: one ListGrants (filtered by GranteePrincipal) reads its grants. */
interface KeyGranteeRef {
  keyArn: string;
  granteePrincipal: string;
}

export interface ObservedOptIn {
  bucket: { accountId: string; bucket: string; tags: TagList; abac: boolean };
  key?: { keyArn: string; tags: TagList };
}

import { bucketTargetKey, keyTargetKey } from '../model/onboarding';
import { keyGrantKey } from '../model/records';

export { bucketTargetKey, keyTargetKey };

export interface ObserveRequest {
  identity: WorkloadIdentity;
  /** DescribeCluster every cluster and read the trust quota (provisioning) */
  clusters?: boolean;
  /** verify the bucket exists in this account and region (provisioning) */
  bucketLocation?: { accountId: string; name: string; region: string; path: string };
  /** the key the request names: refuse AWS managed keys (provisioning) */
  key?: string;
  /** inline policies we expect on the role (read at once; others are read after listing them) */
  knownPolicies: string[];
  /**
   * reads that become known shortly (what the store says, while its answer is on the way): inline policies,
   * resource policies; each is read as soon as it is known, beside the others, unless already read
   */
  later?: Promise<{
    knownPolicies: string[];
    buckets: { accountId: string; bucket: string; region: string }[];
    keys: string[];
    keyGrants?: KeyGranteeRef[];
  }>;
  /** resource policies to read */
  buckets: { accountId: string; bucket: string; region: string }[];
  keys: string[];
  /** the grants to read: each key's grants to each grantee (never a key's whole list) */
  keyGrants?: KeyGranteeRef[];
  /**
   * what the store says of whether the identity's roles exist (it holds a record of the identity): until it says
   * so, or GetRole finds a role, a role's policies are not read
   */
  roleExists?: Promise<boolean>;
  /** read the buckets' and keys' tags too (a write needs the owner's opt-in tag) */
  tags?: boolean;
  /** verify: read the documents of attached managed policies and of the boundary */
  managedDocuments?: { boundaryArn?: string };
  /** a pod-identity identity: what its Pod Identity reads are for (default `remove`: no agent check) */
  podIdentity?: PodIdentityReadMode;
  /** provisioning: the requested bucket's tags and S3 ABAC status and the requested key's tags, whatever the mode */
  optIn?: {
    bucket: { accountId: string; bucket: string; region: string };
    key?: string;
    /** false: ABAC taken as on, not read (config.s3AbacCheck) */ readAbac?: boolean;
  };
  /** the grant's access points (access-point mode, or one its record names); pending: once the store says */
  accessPoint?: AccessPointRead | Promise<AccessPointRead | undefined>;
}

const none = async <T>(): Promise<T | undefined> => undefined;

export async function observe(sessions: ProvisionerSessions, req: ObserveRequest): Promise<Observed> {
  const { identity } = req;
  const roleIam = sessions.iam(identity.roleAccount);
  const irsa = identity.kind === 'irsa';
  const instanceRoleArn = identity.instanceRoleArn;
  const resourcePolicies = new Map<string, RawPolicy | undefined>();
  const resourceTags = new Map<string, TagList>();
  const managedDocuments = new Map<string, PolicyDocument>();
  let podIdentity: ObservedPodIdentity | undefined;
  let associations: Map<string, ObservedAssociation> | undefined;
  let optIn: ObservedOptIn | undefined;
  let accessPoints: ObservedAccessPoints | undefined;
  // a bucket's or key's tags are read once, whether the opt-in check or a resource policy's edit asks first
  const tagReads = new Map<string, Promise<TagList>>();
  const once = (key: string, read: () => Promise<TagList>): Promise<TagList> => {
    let p = tagReads.get(key);
    if (!p) tagReads.set(key, (p = read()));
    return p;
  };
  const bucketTags = (b: { accountId: string; bucket: string; region: string }) =>
    once(bucketTargetKey(b.accountId, b.bucket), () =>
      s3Api.getBucketTags(sessions.s3(b.accountId, b.region), b.bucket, b.accountId),
    );
  const keyTags = (k: string) =>
    once(keyTargetKey(k), () => kmsApi.getKeyTags(sessions.kms(accountOfArn(k), regionOfArn(k)), k));
  const readBucket = async (b: { accountId: string; bucket: string; region: string }) => {
    const s3 = sessions.s3(b.accountId, b.region);
    const [text, tags] = await Promise.all([
      s3Api.getBucketPolicyText(s3, b.bucket, b.accountId),
      req.tags ? bucketTags(b) : undefined,
    ]);
    resourcePolicies.set(bucketTargetKey(b.accountId, b.bucket), text === undefined ? undefined : parseRawPolicy(text));
    if (tags) resourceTags.set(bucketTargetKey(b.accountId, b.bucket), tags);
  };
  // a key's tags may be unreadable where DescribeKey says why (an AWS managed key: a 400 on bucket.kmsKeyArn): that
  // answer comes first, whichever read fails first
  let keyTagsFailure: { error: unknown } | undefined;
  const readOptIn = async (o: NonNullable<ObserveRequest['optIn']>) => {
    const b = o.bucket;
    const [tags, abac, kTags] = await Promise.all([
      bucketTags(b),
      o.readAbac === false ? true : s3Api.getBucketAbac(sessions.s3(b.accountId, b.region), b.bucket, b.accountId),
      o.key
        ? keyTags(o.key).catch((error: unknown) => {
            keyTagsFailure = { error };
            return undefined;
          })
        : undefined,
    ]);
    optIn = {
      bucket: { accountId: b.accountId, bucket: b.bucket, tags, abac },
      ...(o.key && kTags ? { key: { keyArn: o.key, tags: kTags } } : {}),
    };
  };
  const keyGrants = new Map<string, kmsApi.KeyGrantEntry[]>();
  const readGrants = async (refs: KeyGranteeRef[]) => {
    await Promise.all(
      refs.map(async (g) => {
        const k = keyGrantKey(g.keyArn, g.granteePrincipal);
        if (keyGrants.has(k)) return;
        keyGrants.set(k, []);
        const kms = sessions.kms(accountOfArn(g.keyArn), regionOfArn(g.keyArn));
        keyGrants.set(k, await kmsApi.listGrantsFor(kms, g.keyArn, g.granteePrincipal));
      }),
    );
  };
  const readKey = async (k: string) => {
    const kms = sessions.kms(accountOfArn(k), regionOfArn(k));
    const [text, tags] = await Promise.all([kmsApi.getKeyPolicyText(kms, k), req.tags ? keyTags(k) : undefined]);
    resourcePolicies.set(keyTargetKey(k), parseRawPolicy(text));
    if (tags) resourceTags.set(keyTargetKey(k), tags);
  };

  const [issuers, providers, trustQuota, role, instanceRole, instanceGrant, key] = await Promise.all([
    req.clusters
      ? Promise.all(
          identity.clusters.map((c, i) =>
            clusterIssuer(sessions.eks(c.accountId, c.region), c.name, `workload.clusters.${i}.name`),
          ),
        )
      : Promise.resolve([] as string[]),
    irsa ? iamApi.listOidcProviders(roleIam) : Promise.resolve([] as string[]),
    req.clusters ? iamApi.trustPolicyQuota(roleIam) : Promise.resolve(Infinity),
    readRole(
      sessions,
      identity,
      req.knownPolicies,
      req.later?.then((l) => l.knownPolicies),
      req.roleExists,
    ),
    instanceRoleArn
      ? iamApi.getRole(sessions.iam(accountOfArn(instanceRoleArn)), nameOfArn(instanceRoleArn))
      : none<iamApi.RoleState>(),
    instanceRoleArn
      ? iamApi.getRolePolicy(
          sessions.iam(accountOfArn(instanceRoleArn)),
          nameOfArn(instanceRoleArn),
          instanceGrantName(identity.roleName),
        )
      : none<PolicyDocument>(),
    req.key
      ? kmsApi.describeKey(sessions.kms(accountOfArn(req.key), regionOfArn(req.key)), req.key)
      : none<{ arn: string; awsManaged: boolean }>(),
    req.bucketLocation
      ? s3Api
          .bucketRegion(
            sessions.s3(req.bucketLocation.accountId, req.bucketLocation.region),
            req.bucketLocation.name,
            req.bucketLocation.accountId,
          )
          .then((region) => {
            const b = req.bucketLocation!;
            if (region !== b.region)
              throw new ValidationError(`bucket ${b.name} is in ${region}`, [
                { path: `${b.path}.region`, message: `the bucket is in ${region}, not ${b.region}` },
              ]);
          })
      : Promise.resolve(),
    ...req.buckets.map(readBucket),
    ...req.keys.map(readKey),
    readGrants(req.keyGrants ?? []),
    req.later?.then((l) =>
      Promise.all([
        ...l.buckets
          .filter((b) => !req.buckets.some((x) => x.accountId === b.accountId && x.bucket === b.bucket))
          .map(readBucket),
        ...l.keys.filter((k) => !req.keys.includes(k)).map(readKey),
        readGrants(l.keyGrants ?? []),
      ]),
    ),
    req.managedDocuments?.boundaryArn
      ? iamApi.getManagedPolicyDocument(roleIam, req.managedDocuments.boundaryArn).then((d) => {
          if (d) managedDocuments.set(req.managedDocuments!.boundaryArn!, d);
        })
      : Promise.resolve(),
    req.optIn ? readOptIn(req.optIn) : Promise.resolve(),
    Promise.resolve(req.accessPoint).then(async (a) => {
      if (a) accessPoints = await observeAccessPoints(sessions, a);
    }),
    identity.kind === 'pod-identity'
      ? observePodIdentity(sessions, identity, req.podIdentity ?? 'remove', (id, known) =>
          readRole(sessions, id, known, undefined, req.roleExists),
        ).then((p) => void (podIdentity = p))
      : identity.kind === 'irsa' && req.podIdentity === 'verify'
        ? // a report, not a precondition: where EKS cannot be read (no Pod Identity API there) verify leaves it out
          observeAssociationsOf(sessions, identity).then(
            (a) => void (associations = a),
            () => undefined,
          )
        : Promise.resolve(),
  ]);
  if (key?.awsManaged) {
    throw new ValidationError('AWS managed keys cannot be granted', [
      { path: 'bucket.kmsKeyArn', message: 'the AWS managed aws/s3 key cannot be shared; use a customer managed key' },
    ]);
  }
  if (keyTagsFailure) throw keyTagsFailure.error;
  if (req.managedDocuments && role) {
    await Promise.all(
      role.attached.map(async (p) => {
        const d = await iamApi.getManagedPolicyDocument(roleIam, p.arn);
        if (d) managedDocuments.set(p.arn, d);
      }),
    );
  }
  return {
    issuers,
    providers,
    trustQuota: podIdentity?.quotas.get(identity.roleAccount) ?? trustQuota,
    role,
    // what is read, not a refusal: a missing instance role stops a grant (the planner refuses it) but never its removal
    instanceRole:
      instanceRole && instanceRole.arn === instanceRoleArn
        ? { arn: instanceRole.arn, tags: instanceRole.tags, grant: instanceGrant }
        : undefined,
    resourcePolicies,
    resourceTags,
    managedDocuments,
    keyGrants,
    ...(podIdentity ? { podIdentity } : {}),
    ...(associations ? { associations } : {}),
    ...(optIn ? { optIn } : {}),
    ...(accessPoints ? { accessPoints } : {}),
  };
}
