import type { CallContext, Caller, ServiceModule } from '../context';
import { requireCaller } from '../context';
import { AwsError, accessDenied } from '../errors';
import type { KmsKey, World } from '../state';
import { authorizeCall, decide, requestTagContext, resourceTagContext, type AuthzRequest } from '../authz';
import { bindPrincipals } from '../principals';
import { parsePolicyText, validatePolicy, policySize } from '../../lib/iam-policy/grammar';

const KEY_POLICY_MAX_BYTES = 32_768;

export function findKey(world: World, id: string): KmsKey {
  const direct = world.kmsKeys.get(id);
  if (direct) return direct;
  for (const k of world.kmsKeys.values()) {
    if (k.keyId === id) return k;
    if (k.aliases.some((a) => id === a || id.endsWith(`:${a}`))) return k;
  }
  throw new AwsError('NotFoundException', `Key '${id}' does not exist`, 400);
}

/**
 * Authorises use of a key: the key policy must allow, or delegate to IAM via the account root. `viaS3Region`: S3
 * calls KMS on the caller's behalf (SSE-KMS), so `kms:ViaService` is present; on a direct call it is absent.
 */
export function authorizeKeyUse(ctx: CallContext, caller: Caller, key: KmsKey, action: string, opts: { viaS3Region?: string; context?: Record<string, string | string[]> } = {}): void {
  if (key.awsManaged && caller.accountId !== key.accountId) {
    throw accessDenied(`User: ${caller.arn} is not authorized to perform: ${action} on resource: ${key.arn} because AWS managed keys cannot be used from another account`);
  }
  authorizeCall(ctx.world, caller, keyRequest(caller, key, action, JSON.parse(key.policy), opts));
}

/** A call on a key as its policy is evaluated: that policy (or a new one, for PutKeyPolicy's lockout check) and the key's context. */
function keyRequest(caller: Caller, key: KmsKey, action: string, policy: AuthzRequest['resourcePolicy'], opts: { viaS3Region?: string; context?: Record<string, string | string[]> } = {}): AuthzRequest {
  return {
    action,
    resource: key.arn,
    resourceAccountId: key.accountId,
    resourcePolicy: policy,
    resourcePolicyRequired: true,
    context: {
      ...(opts.viaS3Region ? { 'kms:ViaService': `s3.${opts.viaS3Region}.amazonaws.com` } : {}),
      'kms:CallerAccount': caller.accountId,
      // KMS ABAC: the key's tags
      ...resourceTagContext(key.tags),
      ...opts.context,
    },
  };
}

/** Tags as KMS takes them (`TagKey` 1–128, `TagValue` 0–256, keys starting `aws:` reserved) -> a map. */
function tagList(v: unknown): Record<string, string> {
  if (!Array.isArray(v)) throw new AwsError('ValidationException', 'Tags must be a list of { TagKey, TagValue }');
  const out: Record<string, string> = {};
  for (const t of v as { TagKey?: unknown; TagValue?: unknown }[]) {
    if (typeof t?.TagKey !== 'string' || typeof t.TagValue !== 'string' || t.TagKey.length < 1 || t.TagKey.length > 128 || t.TagValue.length > 256) {
      throw new AwsError('ValidationException', 'Each tag needs a TagKey of 1-128 characters and a TagValue of at most 256');
    }
    if (t.TagKey.toLowerCase().startsWith('aws:')) throw new AwsError('TagException', `Tag keys beginning with aws: are reserved: ${t.TagKey}`);
    out[t.TagKey] = t.TagValue;
  }
  return out;
}

function sameAccountOnly(caller: Caller, key: KmsKey, action: string): void {
  if (caller.accountId !== key.accountId) {
    throw accessDenied(`User: ${caller.arn} is not authorized to perform: ${action} on resource: ${key.arn} because the operation cannot be called across accounts`);
  }
}

function metadata(key: KmsKey) {
  return {
    AWSAccountId: key.accountId,
    KeyId: key.keyId,
    Arn: key.arn,
    CreationDate: key.createDate.getTime() / 1000,
    Enabled: true,
    Description: key.awsManaged ? 'Default key that protects my S3 objects when no other key is defined' : '',
    KeyUsage: 'ENCRYPT_DECRYPT',
    KeyState: 'Enabled',
    Origin: 'AWS_KMS',
    KeyManager: key.awsManaged ? 'AWS' : 'CUSTOMER',
    CustomerMasterKeySpec: 'SYMMETRIC_DEFAULT',
    KeySpec: 'SYMMETRIC_DEFAULT',
    EncryptionAlgorithms: ['SYMMETRIC_DEFAULT'],
    MultiRegion: false,
  };
}

const ops: Record<string, (ctx: CallContext, body: Record<string, unknown>, caller: Caller) => unknown> = {
  DescribeKey(ctx, body, caller) {
    const key = findKey(ctx.world, String(body.KeyId ?? ''));
    authorizeKeyUse(ctx, caller, key, 'kms:DescribeKey');
    return { KeyMetadata: metadata(key) };
  },
  GetKeyPolicy(ctx, body, caller) {
    const key = findKey(ctx.world, String(body.KeyId ?? ''));
    sameAccountOnly(caller, key, 'kms:GetKeyPolicy');
    authorizeKeyUse(ctx, caller, key, 'kms:GetKeyPolicy');
    return { Policy: key.policy, PolicyName: 'default' };
  },
  PutKeyPolicy(ctx, body, caller) {
    const key = findKey(ctx.world, String(body.KeyId ?? ''));
    sameAccountOnly(caller, key, 'kms:PutKeyPolicy');
    if (key.awsManaged) throw accessDenied('AWS managed keys cannot be modified');
    authorizeKeyUse(ctx, caller, key, 'kms:PutKeyPolicy');
    const text = String(body.Policy ?? '');
    const parsed = parsePolicyText(text);
    if (!parsed.doc) throw new AwsError('MalformedPolicyDocumentException', parsed.error ?? 'Syntax errors in policy.');
    const problem = validatePolicy(parsed.doc, 'key');
    if (problem) throw new AwsError('MalformedPolicyDocumentException', problem);
    if (policySize(text) > KEY_POLICY_MAX_BYTES) throw new AwsError('LimitExceededException', 'Key policy exceeds the 32 KB quota');
    bindPrincipals(ctx.world, text, ctx.now, () => new AwsError('MalformedPolicyDocumentException', 'Policy contains a statement with one or more invalid principals.'));
    if (body.BypassPolicyLockoutSafetyCheck !== true) {
      const still = decide(ctx.world, caller, keyRequest(caller, key, 'kms:PutKeyPolicy', parsed.doc));
      if (!still.allowed) {
        throw new AwsError('MalformedPolicyDocumentException', 'The new key policy will not allow you to update the key policy in the future.');
      }
    }
    key.policy = text;
    return {};
  },
  ListResourceTags(ctx, body, caller) {
    const key = findKey(ctx.world, String(body.KeyId ?? ''));
    sameAccountOnly(caller, key, 'kms:ListResourceTags');
    authorizeKeyUse(ctx, caller, key, 'kms:ListResourceTags');
    const all = Object.entries(key.tags).sort(([a], [b]) => a.localeCompare(b));
    const limit = body.Limit === undefined ? 50 : Number(body.Limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new AwsError('ValidationException', 'Limit must be between 1 and 1000');
    let start = 0;
    if (body.Marker !== undefined) {
      start = Number(Buffer.from(String(body.Marker), 'base64url').toString('utf8'));
      if (!Number.isInteger(start) || start < 0 || start > all.length) throw new AwsError('InvalidMarkerException', 'The Marker is not valid');
    }
    const page = all.slice(start, start + limit);
    const truncated = start + limit < all.length;
    return {
      Tags: page.map(([TagKey, TagValue]) => ({ TagKey, TagValue })),
      Truncated: truncated,
      ...(truncated ? { NextMarker: Buffer.from(String(start + limit)).toString('base64url') } : {}),
    };
  },
  TagResource(ctx, body, caller) {
    const key = findKey(ctx.world, String(body.KeyId ?? ''));
    sameAccountOnly(caller, key, 'kms:TagResource');
    if (key.awsManaged) throw accessDenied('AWS managed keys cannot be tagged');
    const tags = tagList(body.Tags);
    authorizeKeyUse(ctx, caller, key, 'kms:TagResource', { context: requestTagContext(tags) });
    if (Object.keys({ ...key.tags, ...tags }).length > 50) throw new AwsError('LimitExceededException', 'A KMS key can have at most 50 tags');
    Object.assign(key.tags, tags);
    return {};
  },
  UntagResource(ctx, body, caller) {
    const key = findKey(ctx.world, String(body.KeyId ?? ''));
    sameAccountOnly(caller, key, 'kms:UntagResource');
    if (key.awsManaged) throw accessDenied('AWS managed keys cannot be tagged');
    const keys = Array.isArray(body.TagKeys) ? (body.TagKeys as unknown[]).map(String) : [];
    if (!keys.length) throw new AwsError('ValidationException', 'TagKeys must be a non-empty list');
    authorizeKeyUse(ctx, caller, key, 'kms:UntagResource', { context: { 'aws:TagKeys': keys } });
    for (const k of keys) delete key.tags[k];
    return {};
  },
};

export const kms: ServiceModule = {
  name: 'kms',
  operationOf: (req) => String(req.headers['x-amz-target'] ?? '').split('.').pop() || 'Unknown',
  handle(ctx) {
    const caller = requireCaller(ctx);
    const op = ops[ctx.operation];
    if (!op) throw new AwsError('UnsupportedOperationException', `The emulator does not implement KMS ${ctx.operation}`);
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(ctx.req.body.toString('utf8') || '{}');
    } catch {
      throw new AwsError('SerializationException', 'Invalid JSON body');
    }
    return { status: 200, headers: { 'content-type': 'application/x-amz-json-1.1' }, body: JSON.stringify(op(ctx, body, caller)) };
  },
  renderError(code, message, status) {
    const type = code === 'AccessDenied' ? 'AccessDeniedException' : code;
    return { status: status === 403 ? 400 : status, headers: { 'content-type': 'application/x-amz-json-1.1' }, body: JSON.stringify({ __type: type, message }) };
  },
};
