import { createHash, randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';
import type { CallContext, Caller, EmulatorRequest, ServiceModule, ServiceResponse } from '../context';
import { requireCaller } from '../context';
import { AwsError, accessDenied } from '../errors';
import { escapeXml, flat, toXml, type XmlNode } from '../xml';
import type { AccessPoint, Bucket, World } from '../state';
import {
  authorizeCall,
  bucketTagContext,
  decide,
  isRoot,
  livePolicy,
  principalOf,
  principalTagContext,
  resourceTagContext,
} from '../authz';
import { evaluatePolicy } from '../../lib/iam-policy/evaluate';
import { findAccessPoint } from './s3control';
import { bindPrincipals, renderBoundPolicy } from '../principals';
import {
  parsePolicyText,
  policySize,
  validatePolicy,
  normalizeStatements,
  asArray,
} from '../../lib/iam-policy/grammar';
import { authorizeKeyUse, findKey } from './kms';

const BUCKET_POLICY_MAX_BYTES = 20_480;
const NS = 'http://s3.amazonaws.com/doc/2006-03-01/';

const malformedPolicy = (m: string) => new AwsError('MalformedPolicy', m, 400);

/**
 * An access point addressed virtual-hosted style, as the SDK sends an access point ARN given as `Bucket` against
 * a custom endpoint: `<name>-<account>.<endpoint host>` (AWS: `<name>-<account>.s3-accesspoint.<region>.amazonaws.com`).
 */
function accessPointHost(req: EmulatorRequest): { name: string; accountId: string } | undefined {
  const host = String(req.headers.host ?? '').replace(/:\d+$/, '');
  const m = /^([a-z0-9][a-z0-9-]{1,48}[a-z0-9])-(\d{12})\.[^.]/.exec(host);
  return m ? { name: m[1] as string, accountId: m[2] as string } : undefined;
}

function route(req: EmulatorRequest): { bucket?: string; key?: string; apHost?: { name: string; accountId: string } } {
  const apHost = accessPointHost(req);
  if (apHost) {
    const rest = req.path.replace(/^\//, '');
    return { apHost, key: rest ? decodeURIComponent(rest) : undefined };
  }
  const parts = req.path.replace(/^\//, '').split('/');
  const bucket = parts[0] ? decodeURIComponent(parts[0]) : undefined;
  const rest = parts.slice(1).join('/');
  return { bucket, key: rest ? decodeURIComponent(rest) : undefined };
}

function s3Operation(req: EmulatorRequest): string {
  const { bucket, key, apHost } = route(req);
  const q = req.query;
  const m = req.method;
  if (!bucket && !apHost) return m === 'GET' ? 'ListBuckets' : 'Unknown';
  if (!key) {
    if (q.has('policy'))
      return { GET: 'GetBucketPolicy', PUT: 'PutBucketPolicy', DELETE: 'DeleteBucketPolicy' }[m] ?? 'Unknown';
    if (q.has('location') && m === 'GET') return 'GetBucketLocation';
    if (q.has('encryption') && m === 'GET') return 'GetBucketEncryption';
    if (q.has('tagging') && m === 'GET') return 'GetBucketTagging';
    if (q.has('abac')) return { GET: 'GetBucketAbac', PUT: 'PutBucketAbac' }[m] ?? 'Unknown';
    if (q.has('delete') && m === 'POST') return 'DeleteObjects';
    if (m === 'HEAD') return 'HeadBucket';
    if (m === 'GET') return q.get('list-type') === '2' ? 'ListObjectsV2' : 'ListObjects';
    return 'Unknown';
  }
  if (m === 'POST' && q.has('uploads')) return 'CreateMultipartUpload';
  if (m === 'POST' && q.has('uploadId')) return 'CompleteMultipartUpload';
  if (m === 'PUT' && q.has('uploadId') && q.has('partNumber'))
    return req.headers['x-amz-copy-source'] !== undefined ? 'UploadPartCopy' : 'UploadPart';
  if (m === 'DELETE' && q.has('uploadId')) return 'AbortMultipartUpload';
  if (m === 'PUT' && req.headers['x-amz-copy-source'] !== undefined) return 'CopyObject';
  return { PUT: 'PutObject', GET: 'GetObject', HEAD: 'HeadObject', DELETE: 'DeleteObject' }[m] ?? 'Unknown';
}

/** A multipart upload in progress: its parts, and the key it will write with. */
interface Upload {
  key: string;
  kmsKeyArn?: string;
  kmsContextArn?: string;
  parts: Map<number, { body: Buffer; etag: string }>;
}

/** Uploads in progress per bucket (a reset builds new buckets, so they go with it). */
const uploadsOf = new WeakMap<Bucket, Map<string, Upload>>();

function bucketUploads(bucket: Bucket): Map<string, Upload> {
  let m = uploadsOf.get(bucket);
  if (!m) uploadsOf.set(bucket, (m = new Map()));
  return m;
}

function uploadOf(bucket: Bucket, key: string, uploadId: string | null): Upload {
  const u = uploadId ? bucketUploads(bucket).get(uploadId) : undefined;
  if (!u || u.key !== key) {
    throw new AwsError(
      'NoSuchUpload',
      'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.',
      404,
    );
  }
  return u;
}

const unescapeXml = (s: string): string =>
  s
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&#(\d+);/g, (_, n: string) => String.fromCharCode(Number(n)))
    .replace(/&amp;/g, '&');

/** The text of every `<tag>` element in an XML body, in order. */
const elements = (xml: string, tag: string): string[] =>
  [...xml.matchAll(new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`, 'g'))].map((m) => m[1] as string);

function bucketOf(world: World, name: string): Bucket {
  const b = world.buckets.get(name);
  if (!b)
    throw Object.assign(new AwsError('NoSuchBucket', 'The specified bucket does not exist', 404), { bucketName: name });
  return b;
}

function checkExpectedOwner(req: EmulatorRequest, bucket: Bucket): void {
  const expected = req.headers['x-amz-expected-bucket-owner'];
  if (typeof expected === 'string' && expected !== bucket.accountId) throw accessDenied('Access Denied');
}

const xmlResponse = (root: string, node: XmlNode, status = 200): ServiceResponse => ({
  status,
  headers: { 'content-type': 'application/xml' },
  body: `<?xml version="1.0" encoding="UTF-8"?>\n<${root} xmlns="${NS}">${toXml(node)}</${root}>`,
});

/** What a request addresses: a bucket, directly or through one of its access points (by alias or ARN). */
interface Target {
  bucket: Bucket;
  ap?: AccessPoint;
}

/** Resolves a bucket name as S3 does: an access point alias (`…-s3alias`) names its access point's bucket. */
function targetOf(
  world: World,
  req: EmulatorRequest,
  name: string | undefined,
  apHost?: { name: string; accountId: string },
): Target {
  if (apHost) {
    const ap = findAccessPoint(world, apHost.accountId, req.region, apHost.name);
    if (!ap) throw new AwsError('NoSuchAccessPoint', 'The specified accesspoint does not exist', 404);
    return { bucket: bucketOf(world, ap.bucket), ap };
  }
  if (name!.endsWith('-s3alias')) {
    const ap = [...world.accessPoints.values()].find((a) => a.alias === name);
    if (!ap)
      throw Object.assign(new AwsError('NoSuchBucket', 'The specified bucket does not exist', 404), {
        bucketName: name,
      });
    return { bucket: bucketOf(world, ap.bucket), ap };
  }
  return { bucket: bucketOf(world, name!) };
}

/** The access point condition keys of a request through `ap` (S3 User Guide, access points: condition keys). */
const accessPointContext = (ap: AccessPoint): Record<string, string> => ({
  's3:DataAccessPointArn': ap.arn,
  's3:DataAccessPointAccount': ap.accountId,
  's3:AccessPointNetworkOrigin': ap.vpcId ? 'VPC' : 'Internet',
});

/**
 * Authorises an S3 call. `resource` is the bucket's ARN or an object's (`arn:aws:s3:::bucket/key`). Through an
 * access point AWS checks two things (S3 User Guide, "Configuring IAM policies for using access points"): the
 * request on the access point's ARN (`arn:aws:s3:<region>:<account>:accesspoint/<name>[/object/<key>]`) with the
 * caller's identity policies and boundary and the access point policy (same-account: either; cross-account: both),
 * and the underlying bucket's permission: its bucket policy must allow the request on the bucket's ARN (typically a
 * delegation to access points with `s3:DataAccessPointAccount`), or, for a caller of the bucket's own account, its
 * identity policies may allow it there instead; an explicit deny in any of them refuses.
 */
function authorizeS3(
  ctx: CallContext,
  caller: Caller,
  t: Target,
  action: string,
  resource: string,
  context: Record<string, string | undefined> = {},
): void {
  const { bucket, ap } = t;
  // S3 ABAC: while it is on (GetBucketAbac/PutBucketAbac, topology `abac`), bucket tags are aws:ResourceTag for
  // bucket-level actions and s3:BucketTag/<key> for bucket- and object-level actions alike; while it is off, tags
  // are for cost allocation only and no such key is present
  const tags = !bucket.abac
    ? {}
    : {
        ...bucketTagContext(bucket.tags),
        ...(resource === `arn:aws:s3:::${bucket.name}` ? resourceTagContext(bucket.tags) : {}),
      };
  const bucketPolicy = livePolicy(ctx.world, bucket.policy, bucket.policyBindings);
  if (!ap) {
    authorizeCall(ctx.world, caller, {
      action,
      resource,
      resourceAccountId: bucket.accountId,
      resourcePolicy: bucketPolicy,
      context: { 's3:ResourceAccount': bucket.accountId, ...tags, ...context },
    });
    return;
  }
  const apContext = { 's3:ResourceAccount': bucket.accountId, ...accessPointContext(ap), ...context };
  // an access point's own tags are aws:ResourceTag on its ARN (S3 ABAC for access points); the bucket's are not
  const apTags = Object.fromEntries([...ap.tags].map(([k, v]) => [`aws:ResourceTag/${k}`, v]));
  const apResource =
    resource === `arn:aws:s3:::${bucket.name}`
      ? ap.arn
      : `${ap.arn}/object/${resource.slice(`arn:aws:s3:::${bucket.name}/`.length)}`;
  authorizeCall(ctx.world, caller, {
    action,
    resource: apResource,
    resourceAccountId: ap.accountId,
    resourcePolicy: livePolicy(ctx.world, ap.policy, ap.policyBindings),
    context: { ...apTags, ...apContext },
  });
  const bucketContext = { ...tags, ...apContext };
  const verdict = bucketPolicy
    ? evaluatePolicy(
        bucketPolicy,
        {
          action,
          resource,
          principal: principalOf(caller),
          context: { 'aws:SecureTransport': 'true', ...principalTagContext(ctx.world, caller), ...bucketContext },
        },
        { checkPrincipal: true },
      )
    : 'NotApplicable';
  if (verdict === 'Allow') return;
  if (verdict === 'NotApplicable' && caller.accountId === bucket.accountId) {
    const own = decide(ctx.world, caller, {
      action,
      resource,
      resourceAccountId: bucket.accountId,
      context: bucketContext,
    });
    if (own.allowed) return;
  }
  throw accessDenied(
    `User: ${caller.arn} is not authorized to perform: ${action} on resource: ${resource} through access point ${ap.arn} because ${verdict === 'Deny' ? 'of an explicit deny in the bucket policy' : 'the bucket does not allow it (no bucket policy statement delegates to the access point or grants the caller)'}`,
  );
}

/** Bucket-policy operations are for the bucket owner's account only; its root is never locked out. */
function authorizePolicyOp(ctx: CallContext, caller: Caller, bucket: Bucket, action: string): void {
  if (caller.accountId !== bucket.accountId) throw accessDenied('Access Denied');
  if (isRoot(caller)) return;
  authorizeS3(ctx, caller, { bucket }, action, `arn:aws:s3:::${bucket.name}`);
}

/** Validates a bucket policy as S3 does. */
function checkBucketPolicy(world: World, bucket: Bucket, text: string, now: number): Map<string, string> {
  if (!text.trimStart().startsWith('{'))
    throw malformedPolicy("Policies must be valid JSON and the first byte must be '{'");
  const parsed = parsePolicyText(text);
  if (!parsed.doc) throw malformedPolicy(parsed.error ?? "Policies must be valid JSON and the first byte must be '{'");
  const problem = validatePolicy(parsed.doc, 'bucket');
  // S3 words principal errors without IAM's detail
  if (problem) throw malformedPolicy(problem.startsWith('Invalid principal') ? 'Invalid principal in policy' : problem);
  if (policySize(text) > BUCKET_POLICY_MAX_BYTES)
    throw new AwsError('PolicyTooLarge', 'Policy exceeds the maximum allowed document size.', 400);
  for (const st of normalizeStatements(parsed.doc)) {
    for (const a of asArray(st.Action ?? st.NotAction ?? [])) {
      if (a !== '*' && !/^s3:[A-Za-z*?]+$/i.test(String(a))) throw malformedPolicy('Policy has invalid action');
    }
    for (const r of asArray(st.Resource ?? st.NotResource ?? [])) {
      const arn = String(r);
      if (arn !== `arn:aws:s3:::${bucket.name}` && !arn.startsWith(`arn:aws:s3:::${bucket.name}/`)) {
        throw malformedPolicy('Policy has invalid resource');
      }
    }
  }
  return bindPrincipals(world, text, now, malformedPolicy);
}

/**
 * The byte range of a `Range: bytes=first-last` (or `first-`, or `-suffix`) header, clipped to the object; S3
 * ignores what it cannot parse and answers 416 InvalidRange for a range that starts past the end.
 */
function byteRange(header: string | string[] | undefined, size: number): { first: number; last: number } | undefined {
  const m = /^bytes=(\d*)-(\d*)$/.exec(String(header ?? '').trim());
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0) throw new AwsError('InvalidRange', 'The requested range is not satisfiable', 416);
    return { first: Math.max(0, size - suffix), last: size - 1 };
  }
  const first = Number(m[1]);
  const last = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (m[2] !== '' && Number(m[2]) < first) return undefined;
  if (first >= size) throw new AwsError('InvalidRange', 'The requested range is not satisfiable', 416);
  return { first, last };
}

/** The smallest part S3 accepts in a multipart upload, except for the last one. */
const MIN_PART_BYTES = 5 * 1024 * 1024;

/** An upload that names CRC32 (header, or aws-chunked trailer) has it kept and answered, as S3 does. */
function namedCrc32(req: EmulatorRequest, body: Buffer): string | undefined {
  const named = `${req.headers['x-amz-sdk-checksum-algorithm'] ?? ''} ${req.headers['x-amz-trailer'] ?? ''} ${'x-amz-checksum-crc32' in req.headers ? 'crc32' : ''}`;
  return /crc32(?!c)/i.test(named) ? crc32Base64(body) : undefined;
}

/** S3's checksum encoding: the big-endian CRC32 of the body, in base64. */
function crc32Base64(body: Buffer): string {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(crc32(body));
  return b.toString('base64');
}

/** The canonical user id S3 shows for an account (64 hex characters, stable per account). */
const canonicalId = (accountId: string): string => createHash('sha256').update(`canonical:${accountId}`).digest('hex');

/** Decodes an aws-chunked body (streaming uploads with trailing checksums). */
function decodeBody(req: EmulatorRequest): Buffer {
  const sha = String(req.headers['x-amz-content-sha256'] ?? '');
  const enc = String(req.headers['content-encoding'] ?? '');
  if (!sha.startsWith('STREAMING-') && !enc.includes('aws-chunked')) return req.body;
  const out: Buffer[] = [];
  let i = 0;
  const b = req.body;
  while (i < b.length) {
    const eol = b.indexOf('\r\n', i);
    if (eol < 0) break;
    const size = parseInt(b.subarray(i, eol).toString('latin1').split(';')[0], 16);
    if (!size) break;
    out.push(b.subarray(eol + 2, eol + 2 + size));
    i = eol + 2 + size + 2;
  }
  return Buffer.concat(out);
}

/**
 * SSE-KMS: S3 calls KMS for the caller with encryption context `aws:s3:arn` — the object's ARN, or the bucket's
 * when an S3 Bucket Key is used (the emulator's KMS-default buckets have Bucket Keys on, as GetBucketEncryption
 * answers; a request may turn it off with `x-amz-server-side-encryption-bucket-key-enabled: false`).
 */
function sseContextArn(req: EmulatorRequest, bucket: Bucket, key: string): string {
  const bucketKey =
    !!bucket.kmsKeyArn &&
    String(req.headers['x-amz-server-side-encryption-bucket-key-enabled'] ?? '').toLowerCase() !== 'false';
  return bucketKey ? `arn:aws:s3:::${bucket.name}` : objectArn(bucket, key);
}

const viaS3 = (bucket: Bucket, contextArn: string) => ({
  viaS3Region: bucket.region,
  encryptionContext: { 'aws:s3:arn': contextArn },
});

function objectArn(bucket: Bucket, key: string): string {
  return `arn:aws:s3:::${bucket.name}/${key}`;
}

/** The operations served through an access point (the data plane and the bucket reads SDKs and tools make first). */
const THROUGH_ACCESS_POINTS = new Set([
  'GetBucketLocation',
  'HeadBucket',
  'ListObjectsV2',
  'ListObjects',
  'PutObject',
  'GetObject',
  'HeadObject',
  'DeleteObject',
  'DeleteObjects',
  'CopyObject',
  'CreateMultipartUpload',
  'UploadPart',
  'CompleteMultipartUpload',
  'AbortMultipartUpload',
  'UploadPartCopy',
]);

function handle(ctx: CallContext): ServiceResponse {
  const caller = requireCaller(ctx);
  const { world, req } = ctx;
  const { bucket: name, key, apHost } = route(req);
  if (ctx.operation === 'ListBuckets') {
    const mine = [...world.buckets.values()].filter((b) => b.accountId === caller.accountId);
    return xmlResponse('ListAllMyBucketsResult', {
      Buckets: flat(mine.map((b) => ({ Bucket: { Name: b.name, CreationDate: b.createDate } }))),
      Owner: { ID: caller.accountId },
    });
  }
  const { bucket, ap } = targetOf(world, req, name, apHost);
  checkExpectedOwner(req, bucket);
  if (ap && !THROUGH_ACCESS_POINTS.has(ctx.operation)) {
    throw new AwsError('InvalidRequest', `The emulator does not serve ${ctx.operation} through an access point`, 400);
  }
  const bucketArn = `arn:aws:s3:::${bucket.name}`;
  switch (ctx.operation) {
    case 'GetBucketLocation':
      authorizeS3(ctx, caller, { bucket, ap }, 's3:GetBucketLocation', bucketArn);
      return {
        status: 200,
        headers: { 'content-type': 'application/xml' },
        body: `<?xml version="1.0" encoding="UTF-8"?>\n<LocationConstraint xmlns="${NS}">${bucket.region === 'us-east-1' ? '' : escapeXml(bucket.region)}</LocationConstraint>`,
      };
    case 'HeadBucket':
      authorizeS3(ctx, caller, { bucket, ap }, 's3:ListBucket', bucketArn);
      return { status: 200, headers: { 'x-amz-bucket-region': bucket.region } };
    case 'GetBucketPolicy': {
      authorizePolicyOp(ctx, caller, bucket, 's3:GetBucketPolicy');
      if (!bucket.policy) throw new AwsError('NoSuchBucketPolicy', 'The bucket policy does not exist', 404);
      return {
        status: 200,
        headers: { 'content-type': 'application/json' },
        body: renderBoundPolicy(world, bucket.policy, bucket.policyBindings),
      };
    }
    case 'PutBucketPolicy': {
      authorizePolicyOp(ctx, caller, bucket, 's3:PutBucketPolicy');
      const text = req.body.toString('utf8');
      bucket.policyBindings = checkBucketPolicy(world, bucket, text, ctx.now);
      bucket.policy = text;
      return { status: 204 };
    }
    case 'DeleteBucketPolicy':
      authorizePolicyOp(ctx, caller, bucket, 's3:DeleteBucketPolicy');
      bucket.policy = undefined;
      bucket.policyBindings = undefined;
      return { status: 204 };
    case 'GetBucketEncryption': {
      authorizeS3(ctx, caller, { bucket, ap }, 's3:GetEncryptionConfiguration', bucketArn);
      const rule = bucket.kmsKeyArn
        ? {
            ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: bucket.kmsKeyArn },
            BucketKeyEnabled: true,
          }
        : { ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' }, BucketKeyEnabled: false };
      return xmlResponse('ServerSideEncryptionConfiguration', { Rule: rule });
    }
    case 'GetBucketTagging': {
      authorizeS3(ctx, caller, { bucket, ap }, 's3:GetBucketTagging', bucketArn);
      const tags = Object.entries(bucket.tags);
      if (!tags.length) throw new AwsError('NoSuchTagSet', 'The TagSet does not exist', 404);
      return xmlResponse('Tagging', { TagSet: { Tag: flat(tags.map(([Key, Value]) => ({ Key, Value }))) } });
    }
    case 'GetBucketAbac':
      authorizeS3(ctx, caller, { bucket }, 's3:GetBucketABAC', bucketArn);
      return xmlResponse('AbacStatus', { Status: bucket.abac ? 'Enabled' : 'Disabled' });
    case 'PutBucketAbac': {
      authorizeS3(ctx, caller, { bucket }, 's3:PutBucketABAC', bucketArn);
      const status = elements(req.body.toString('utf8'), 'Status');
      if (status.length !== 1 || (status[0] !== 'Enabled' && status[0] !== 'Disabled')) {
        throw new AwsError(
          'MalformedXML',
          'The XML you provided was not well-formed or did not validate against our published schema',
          400,
        );
      }
      bucket.abac = status[0] === 'Enabled';
      return { status: 200 };
    }
    case 'ListObjectsV2':
    case 'ListObjects': {
      const prefix = req.query.get('prefix') ?? '';
      authorizeS3(ctx, caller, { bucket, ap }, 's3:ListBucket', bucketArn, {
        's3:prefix': prefix,
        's3:delimiter': req.query.get('delimiter') ?? undefined,
      });
      const max = Math.min(Number(req.query.get('max-keys') ?? 1000), 1000);
      const v2 = ctx.operation === 'ListObjectsV2';
      const delimiter = req.query.get('delimiter') || undefined;
      const token = v2 ? (req.query.get('continuation-token') ?? undefined) : undefined;
      const after = (v2 ? (token ?? req.query.get('start-after')) : req.query.get('marker')) ?? '';
      // keys, and with a delimiter the common prefixes they roll up into, in key order after the marker
      const entries: { key?: string; prefix?: string }[] = [];
      for (const k of [...bucket.objects.keys()].filter((x) => x.startsWith(prefix)).sort()) {
        const cut = delimiter ? k.indexOf(delimiter, prefix.length) : -1;
        if (cut >= 0) {
          const cp = k.slice(0, cut + delimiter!.length);
          if (cp > after && !after.startsWith(cp) && entries[entries.length - 1]?.prefix !== cp)
            entries.push({ prefix: cp });
        } else if (k > after) entries.push({ key: k });
      }
      const page = entries.slice(0, max);
      // max-keys=0 (Mountpoint's mount-time probe) answers an empty page that is not truncated, as S3 does
      const truncated = max > 0 && entries.length > page.length;
      const last = page[page.length - 1];
      const enc = (x: string) =>
        req.query.get('encoding-type') === 'url' ? encodeURIComponent(x).replace(/%2F/g, '/') : x;
      return xmlResponse('ListBucketResult', {
        Name: bucket.name,
        Prefix: enc(prefix),
        Delimiter: delimiter && enc(delimiter),
        Marker: v2 ? undefined : enc(after),
        NextMarker: !v2 && truncated && delimiter ? enc(last.key ?? last.prefix!) : undefined,
        ContinuationToken: token,
        StartAfter: v2 && req.query.get('start-after') ? enc(req.query.get('start-after')!) : undefined,
        KeyCount: v2 ? page.length : undefined,
        MaxKeys: max,
        EncodingType: req.query.get('encoding-type') ?? undefined,
        IsTruncated: truncated,
        NextContinuationToken: truncated && v2 ? (last.key ?? last.prefix) : undefined,
        Contents: flat(
          page
            .filter((e) => e.key !== undefined)
            .map((e) => {
              const o = bucket.objects.get(e.key!)!;
              return {
                Key: enc(e.key!),
                LastModified: o.lastModified,
                ETag: `"${o.etag}"`,
                ChecksumAlgorithm: o.checksumCrc32 ? 'CRC32' : undefined,
                Size: o.body.length,
                StorageClass: 'STANDARD',
                // version 1 names each object's owner; version 2 only with fetch-owner=true
                Owner:
                  !v2 || req.query.get('fetch-owner') === 'true'
                    ? { ID: canonicalId(o.ownerAccountId), DisplayName: `account-${o.ownerAccountId}` }
                    : undefined,
              };
            }),
        ),
        CommonPrefixes: flat(page.filter((e) => e.prefix !== undefined).map((e) => ({ Prefix: enc(e.prefix!) }))),
      });
    }
    case 'PutObject': {
      authorizeS3(ctx, caller, { bucket, ap }, 's3:PutObject', objectArn(bucket, key!));
      const sse = req.headers['x-amz-server-side-encryption'];
      const keyArn =
        (req.headers['x-amz-server-side-encryption-aws-kms-key-id'] as string | undefined) ??
        (sse === 'aws:kms' || !sse ? bucket.kmsKeyArn : undefined);
      const kmsContextArn = keyArn ? sseContextArn(req, bucket, key!) : undefined;
      if (keyArn)
        authorizeKeyUse(ctx, caller, findKey(world, keyArn), 'kms:GenerateDataKey', viaS3(bucket, kmsContextArn!));
      const body = decodeBody(req);
      const etag = createHash('md5').update(body).digest('hex');
      const checksumCrc32 = namedCrc32(req, body);
      bucket.objects.set(key!, {
        body,
        etag,
        lastModified: new Date(ctx.now),
        kmsKeyArn: keyArn ? findKey(world, keyArn).arn : undefined,
        kmsContextArn,
        ownerAccountId: bucket.accountId,
        checksumCrc32,
      });
      return {
        status: 200,
        headers: {
          etag: `"${etag}"`,
          ...(checksumCrc32 ? { 'x-amz-checksum-crc32': checksumCrc32 } : {}),
          ...(keyArn
            ? { 'x-amz-server-side-encryption': 'aws:kms', 'x-amz-server-side-encryption-aws-kms-key-id': keyArn }
            : {}),
          ...(kmsContextArn && !kmsContextArn.includes('/')
            ? { 'x-amz-server-side-encryption-bucket-key-enabled': 'true' }
            : {}),
        },
      };
    }
    case 'GetObject':
    case 'HeadObject': {
      authorizeS3(ctx, caller, { bucket, ap }, 's3:GetObject', objectArn(bucket, key!));
      const o = bucket.objects.get(key!);
      if (!o) {
        // without s3:ListBucket AWS answers 403 rather than revealing whether the key exists
        try {
          authorizeS3(ctx, caller, { bucket, ap }, 's3:ListBucket', bucketArn, { 's3:prefix': key });
        } catch {
          throw accessDenied('Access Denied');
        }
        throw new AwsError('NoSuchKey', 'The specified key does not exist.', 404);
      }
      if (o.kmsKeyArn && ctx.operation === 'GetObject')
        authorizeKeyUse(
          ctx,
          caller,
          findKey(world, o.kmsKeyArn),
          'kms:Decrypt',
          viaS3(bucket, o.kmsContextArn ?? objectArn(bucket, key!)),
        );
      // one byte range, as S3 serves it (ranged downloads: the AWS CLI above 8 MiB, Mountpoint, rclone)
      const range = byteRange(req.headers.range, o.body.length);
      const body = range ? o.body.subarray(range.first, range.last + 1) : o.body;
      const headers: Record<string, string> = {
        etag: `"${o.etag}"`,
        'content-length': String(body.length),
        'last-modified': o.lastModified.toUTCString(),
        'content-type': 'application/octet-stream',
        'accept-ranges': 'bytes',
        ...(range ? { 'content-range': `bytes ${range.first}-${range.last}/${o.body.length}` } : {}),
        // the whole object's checksum, so not for a range
        ...(!range && o.checksumCrc32 && String(req.headers['x-amz-checksum-mode'] ?? '').toUpperCase() === 'ENABLED'
          ? { 'x-amz-checksum-crc32': o.checksumCrc32 }
          : {}),
        ...(o.kmsKeyArn
          ? { 'x-amz-server-side-encryption': 'aws:kms', 'x-amz-server-side-encryption-aws-kms-key-id': o.kmsKeyArn }
          : {}),
      };
      return { status: range ? 206 : 200, headers, body: ctx.operation === 'GetObject' ? body : undefined };
    }
    case 'DeleteObject':
      authorizeS3(ctx, caller, { bucket, ap }, 's3:DeleteObject', objectArn(bucket, key!));
      bucket.objects.delete(key!);
      return { status: 204 };
    // multipart uploads: Create, UploadPart and Complete are s3:PutObject, Abort is s3:AbortMultipartUpload; with
    // SSE-KMS the parts need kms:GenerateDataKey and completing needs kms:Decrypt (S3 reads the parts back)
    case 'CreateMultipartUpload': {
      authorizeS3(ctx, caller, { bucket, ap }, 's3:PutObject', objectArn(bucket, key!));
      const sse = req.headers['x-amz-server-side-encryption'];
      const requested =
        (req.headers['x-amz-server-side-encryption-aws-kms-key-id'] as string | undefined) ??
        (sse === 'aws:kms' || !sse ? bucket.kmsKeyArn : undefined);
      const kmsKeyArn = requested ? findKey(world, requested).arn : undefined;
      const kmsContextArn = kmsKeyArn ? sseContextArn(req, bucket, key!) : undefined;
      if (kmsKeyArn)
        authorizeKeyUse(ctx, caller, findKey(world, kmsKeyArn), 'kms:GenerateDataKey', viaS3(bucket, kmsContextArn!));
      const uploadId = randomBytes(24).toString('base64url');
      bucketUploads(bucket).set(uploadId, { key: key!, kmsKeyArn, kmsContextArn, parts: new Map() });
      return xmlResponse('InitiateMultipartUploadResult', { Bucket: bucket.name, Key: key!, UploadId: uploadId });
    }
    case 'UploadPart': {
      authorizeS3(ctx, caller, { bucket, ap }, 's3:PutObject', objectArn(bucket, key!));
      const upload = uploadOf(bucket, key!, req.query.get('uploadId'));
      const partNumber = Number(req.query.get('partNumber'));
      if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > 10_000) {
        throw new AwsError('InvalidArgument', 'Part number must be an integer between 1 and 10000, inclusive', 400);
      }
      if (upload.kmsKeyArn)
        authorizeKeyUse(
          ctx,
          caller,
          findKey(world, upload.kmsKeyArn),
          'kms:GenerateDataKey',
          viaS3(bucket, upload.kmsContextArn!),
        );
      const body = decodeBody(req);
      const etag = createHash('md5').update(body).digest('hex');
      upload.parts.set(partNumber, { body, etag });
      const checksumCrc32 = namedCrc32(req, body);
      return {
        status: 200,
        headers: { etag: `"${etag}"`, ...(checksumCrc32 ? { 'x-amz-checksum-crc32': checksumCrc32 } : {}) },
      };
    }
    case 'CompleteMultipartUpload': {
      authorizeS3(ctx, caller, { bucket, ap }, 's3:PutObject', objectArn(bucket, key!));
      const uploadId = req.query.get('uploadId');
      const upload = uploadOf(bucket, key!, uploadId);
      if (upload.kmsKeyArn)
        authorizeKeyUse(
          ctx,
          caller,
          findKey(world, upload.kmsKeyArn),
          'kms:Decrypt',
          viaS3(bucket, upload.kmsContextArn!),
        );
      const numbers = elements(decodeBody(req).toString('utf8'), 'PartNumber').map(Number);
      if (numbers.length === 0)
        throw new AwsError(
          'MalformedXML',
          'The XML you provided was not well-formed or did not validate against our published schema',
          400,
        );
      if (numbers.some((n, i) => i > 0 && n <= numbers[i - 1]!))
        throw new AwsError(
          'InvalidPartOrder',
          'The list of parts was not in ascending order. The parts list must be specified in order by part number.',
          400,
        );
      const parts = numbers.map((n) => upload.parts.get(n));
      if (parts.some((p) => p === undefined))
        throw new AwsError('InvalidPart', 'One or more of the specified parts could not be found.', 400);
      // every part but the last must be at least 5 MiB
      if (parts.slice(0, -1).some((p) => p!.body.length < MIN_PART_BYTES)) {
        throw new AwsError(
          'EntityTooSmall',
          'Your proposed upload is smaller than the minimum allowed object size.',
          400,
        );
      }
      const body = Buffer.concat(parts.map((p) => p!.body));
      const etag = `${createHash('md5')
        .update(Buffer.concat(parts.map((p) => Buffer.from(p!.etag, 'hex'))))
        .digest('hex')}-${parts.length}`;
      bucket.objects.set(key!, {
        body,
        etag,
        lastModified: new Date(ctx.now),
        kmsKeyArn: upload.kmsKeyArn,
        kmsContextArn: upload.kmsContextArn,
        ownerAccountId: bucket.accountId,
      });
      bucketUploads(bucket).delete(uploadId!);
      return xmlResponse('CompleteMultipartUploadResult', {
        Location: `/${bucket.name}/${key!}`,
        Bucket: bucket.name,
        Key: key!,
        ETag: `"${etag}"`,
      });
    }
    case 'AbortMultipartUpload': {
      authorizeS3(ctx, caller, { bucket, ap }, 's3:AbortMultipartUpload', objectArn(bucket, key!));
      uploadOf(bucket, key!, req.query.get('uploadId'));
      bucketUploads(bucket).delete(req.query.get('uploadId')!);
      return { status: 204 };
    }
    // each key is authorised on its own (s3:DeleteObject); a refused key is an <Error> entry, not a failed call
    case 'DeleteObjects': {
      const xml = decodeBody(req).toString('utf8');
      const quiet = elements(xml, 'Quiet')[0] === 'true';
      const deleted: XmlNode[] = [];
      const errors: XmlNode[] = [];
      for (const object of elements(xml, 'Object')) {
        const k = unescapeXml(elements(object, 'Key')[0] ?? '');
        try {
          authorizeS3(ctx, caller, { bucket, ap }, 's3:DeleteObject', objectArn(bucket, k));
          bucket.objects.delete(k);
          if (!quiet) deleted.push({ Key: k });
        } catch (e) {
          if (!(e instanceof AwsError)) throw e;
          errors.push({ Key: k, Code: e.code, Message: e.message });
        }
      }
      return xmlResponse('DeleteResult', { Deleted: flat(deleted), Error: flat(errors) });
    }
    // s3:GetObject on the source (and kms:Decrypt when it is encrypted), s3:PutObject on the destination
    case 'CopyObject': {
      const source = decodeURIComponent(String(req.headers['x-amz-copy-source']).split('?')[0]!.replace(/^\//, ''));
      const slash = source.indexOf('/');
      const { bucket: from, ap: fromAp } = targetOf(world, req, source.slice(0, slash));
      const fromKey = source.slice(slash + 1);
      authorizeS3(ctx, caller, { bucket: from, ap: fromAp }, 's3:GetObject', objectArn(from, fromKey));
      const o = from.objects.get(fromKey);
      if (!o) throw new AwsError('NoSuchKey', 'The specified key does not exist.', 404);
      if (o.kmsKeyArn)
        authorizeKeyUse(
          ctx,
          caller,
          findKey(world, o.kmsKeyArn),
          'kms:Decrypt',
          viaS3(from, o.kmsContextArn ?? objectArn(from, fromKey)),
        );
      authorizeS3(ctx, caller, { bucket, ap }, 's3:PutObject', objectArn(bucket, key!));
      const kmsKeyArn = bucket.kmsKeyArn ? findKey(world, bucket.kmsKeyArn).arn : undefined;
      const kmsContextArn = kmsKeyArn ? sseContextArn(req, bucket, key!) : undefined;
      if (kmsKeyArn)
        authorizeKeyUse(ctx, caller, findKey(world, kmsKeyArn), 'kms:GenerateDataKey', viaS3(bucket, kmsContextArn!));
      const lastModified = new Date(ctx.now);
      bucket.objects.set(key!, {
        body: o.body,
        etag: o.etag,
        lastModified,
        kmsKeyArn,
        kmsContextArn,
        ownerAccountId: bucket.accountId,
      });
      return xmlResponse('CopyObjectResult', { ETag: `"${o.etag}"`, LastModified: lastModified });
    }
    default:
      throw new AwsError('NotImplemented', `The emulator does not implement ${req.method} ${req.path}`, 501);
  }
}

export const s3: ServiceModule = {
  name: 's3',
  operationOf: s3Operation,
  handle,
  renderError(code, message, status, c) {
    if (c.req.method === 'HEAD') return { status };
    const bucket = route(c.req).bucket;
    return {
      status,
      headers: { 'content-type': 'application/xml' },
      body: `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${escapeXml(code)}</Code><Message>${escapeXml(message)}</Message>${bucket ? `<BucketName>${escapeXml(bucket)}</BucketName>` : ''}<RequestId>${c.requestId}</RequestId></Error>`,
    };
  },
};
