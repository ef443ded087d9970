import type { CallContext, Caller, ServiceModule } from '../context';
import { requireCaller } from '../context';
import { AwsError, accessDenied } from '../errors';
import { appliedQuota, GRANTS_PER_KEY } from '../quotas';
import { findRoleByArn, type KmsGrant, type KmsKey, type World } from '../state';
import { authorizeCall, decide, isRoot, requestTagContext, resourceTagContext, type AuthzRequest } from '../authz';
import { bindPrincipals, checkPrincipal } from '../principals';
import { createHash, randomBytes } from 'node:crypto';
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

export interface KeyUseOptions {
  /** S3 calls KMS on the caller's behalf (SSE-KMS): `kms:ViaService` is present; on a direct call it is absent */
  viaS3Region?: string;
  /** the call's encryption context (SSE-KMS: `aws:s3:arn`), for grant constraints and `kms:EncryptionContext:` keys */
  encryptionContext?: Record<string, string>;
  context?: Record<string, string | string[]>;
}

/**
 * Authorises use of a key: a grant for the operation to the caller (whose constraints the encryption context
 * meets) suffices without the key policy (KMS Developer Guide, "Grants in AWS KMS"); otherwise the key policy must
 * allow, or delegate to IAM via the account root.
 */
export function authorizeKeyUse(
  ctx: CallContext,
  caller: Caller,
  key: KmsKey,
  action: string,
  opts: KeyUseOptions = {},
): void {
  if (key.awsManaged && caller.accountId !== key.accountId) {
    throw accessDenied(
      `User: ${caller.arn} is not authorized to perform: ${action} on resource: ${key.arn} because AWS managed keys cannot be used from another account`,
    );
  }
  if (grantFor(ctx.world, caller, key, action.replace(/^kms:/, ''), opts.encryptionContext)) return;
  authorizeCall(ctx.world, caller, keyRequest(caller, key, action, JSON.parse(key.policy), opts));
}

/** Whether a grantee principal names the caller: its role (bound to the role's id when granted), its session, or its account. */
function granteeMatches(
  world: World,
  caller: Caller,
  principal: string,
  roleId: string | undefined,
  action: string,
  key: KmsKey,
): boolean {
  if (caller.session && principal === caller.session.roleArn)
    return roleId === undefined || roleId === caller.session.roleId;
  if (principal === caller.arn && !principal.endsWith(':root')) return true;
  const root = /^arn:aws:iam::(\d{12}):root$/.exec(principal);
  // a grant to an account: its root, and the principals its IAM policies allow the operation on the key
  if (root && root[1] === caller.accountId)
    return (
      isRoot(caller) ||
      decide(world, caller, { action, resource: key.arn, resourceAccountId: caller.accountId }).allowed
    );
  return false;
}

function constraintsMet(g: KmsGrant, ec: Record<string, string> | undefined): boolean {
  const c = g.constraints;
  if (!c) return true;
  const have = ec ?? {};
  if (c.EncryptionContextEquals) {
    const want = c.EncryptionContextEquals;
    if (Object.keys(want).length !== Object.keys(have).length || Object.entries(want).some(([k, v]) => have[k] !== v))
      return false;
  }
  if (c.EncryptionContextSubset && Object.entries(c.EncryptionContextSubset).some(([k, v]) => have[k] !== v))
    return false;
  return true;
}

/** The first grant on `key` that lets the caller perform `operation` with this encryption context. */
function grantFor(
  world: World,
  caller: Caller,
  key: KmsKey,
  operation: string,
  ec?: Record<string, string>,
): KmsGrant | undefined {
  for (const g of key.grants.values()) {
    if (!g.operations.includes(operation)) continue;
    if (!granteeMatches(world, caller, g.granteePrincipal, grantRoleIds.get(g), `kms:${operation}`, key)) continue;
    if (!constraintsMet(g, ec)) continue;
    return g;
  }
  return undefined;
}

/** The tokens of a grant's repeated CreateGrant calls (all interchangeable with the first). */
const grantTokens = new WeakMap<KmsGrant, Set<string>>();

/** The unique id of the role a grant's grantee named when it was made (a recreated role is another principal). */
const grantRoleIds = new WeakMap<KmsGrant, string>();

/** A call on a key as its policy is evaluated: that policy (or a new one, for PutKeyPolicy's lockout check) and the key's context. */
function keyRequest(
  caller: Caller,
  key: KmsKey,
  action: string,
  policy: AuthzRequest['resourcePolicy'],
  opts: KeyUseOptions = {},
): AuthzRequest {
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
      ...Object.fromEntries(
        Object.entries(opts.encryptionContext ?? {}).map(([k, v]) => [`kms:EncryptionContext:${k}`, v]),
      ),
      ...(opts.encryptionContext ? { 'kms:EncryptionContextKeys': Object.keys(opts.encryptionContext) } : {}),
      ...opts.context,
    },
  };
}

/** Tags as KMS takes them (`TagKey` 1–128, `TagValue` 0–256, keys starting `aws:` reserved) -> a map. */
function tagList(v: unknown): Record<string, string> {
  if (!Array.isArray(v)) throw new AwsError('ValidationException', 'Tags must be a list of { TagKey, TagValue }');
  const out: Record<string, string> = {};
  for (const t of v as { TagKey?: unknown; TagValue?: unknown }[]) {
    if (
      typeof t?.TagKey !== 'string' ||
      typeof t.TagValue !== 'string' ||
      t.TagKey.length < 1 ||
      t.TagKey.length > 128 ||
      t.TagValue.length > 256
    ) {
      throw new AwsError(
        'ValidationException',
        'Each tag needs a TagKey of 1-128 characters and a TagValue of at most 256',
      );
    }
    if (t.TagKey.toLowerCase().startsWith('aws:'))
      throw new AwsError('TagException', `Tag keys beginning with aws: are reserved: ${t.TagKey}`);
    out[t.TagKey] = t.TagValue;
  }
  return out;
}

function sameAccountOnly(caller: Caller, key: KmsKey, action: string): void {
  if (caller.accountId !== key.accountId) {
    throw accessDenied(
      `User: ${caller.arn} is not authorized to perform: ${action} on resource: ${key.arn} because the operation cannot be called across accounts`,
    );
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

/** A key as a cross-account caller must name it (its ARN: ids and aliases resolve in the caller's own account). */
function keyFor(ctx: CallContext, caller: Caller, id: unknown): KmsKey {
  const text = String(id ?? '');
  if (!text) throw validation(`Value null at 'keyId' failed to satisfy constraint: Member must not be null`);
  const key = findKey(ctx.world, text);
  if (key.accountId !== caller.accountId && !text.startsWith('arn:'))
    throw new AwsError('NotFoundException', `Key '${text}' does not exist`, 400);
  return key;
}

const validation = (m: string) => new AwsError('ValidationException', `1 validation error detected: ${m}`, 400);

/** The operations a grant may allow (KMS API Reference, CreateGrant `Operations`). */
const GRANT_OPERATIONS = [
  'Decrypt',
  'Encrypt',
  'GenerateDataKey',
  'GenerateDataKeyWithoutPlaintext',
  'ReEncryptFrom',
  'ReEncryptTo',
  'Sign',
  'Verify',
  'GetPublicKey',
  'CreateGrant',
  'RetireGrant',
  'DescribeKey',
  'GenerateDataKeyPair',
  'GenerateDataKeyPairWithoutPlaintext',
  'GenerateMac',
  'VerifyMac',
  'DeriveSharedSecret',
];
/** Operations a symmetric encryption key supports (the others are refused on it). */
const SYMMETRIC_OPERATIONS = new Set([
  'Decrypt',
  'Encrypt',
  'GenerateDataKey',
  'GenerateDataKeyWithoutPlaintext',
  'ReEncryptFrom',
  'ReEncryptTo',
  'CreateGrant',
  'RetireGrant',
  'DescribeKey',
  'GenerateDataKeyPair',
  'GenerateDataKeyPairWithoutPlaintext',
]);
/** Operations that take an encryption context, the only ones a grant constraint may go with. */
const CONTEXT_OPERATIONS = new Set([
  'Decrypt',
  'Encrypt',
  'GenerateDataKey',
  'GenerateDataKeyWithoutPlaintext',
  'ReEncryptFrom',
  'ReEncryptTo',
  'GenerateDataKeyPair',
  'GenerateDataKeyPairWithoutPlaintext',
  'CreateGrant',
  'RetireGrant',
]);
/** Grants per KMS key (AWS's quota). */

/** A grantee or retiring principal: an IAM principal ARN that exists now, or an AWS service principal. */
function checkGrantPrincipal(ctx: CallContext, field: string, p: unknown): string {
  if (typeof p !== 'string' || p.length < 1 || p.length > 256)
    throw validation(`Value at '${field}' failed to satisfy constraint: Member must have length between 1 and 256`);
  if (/^[a-z0-9.-]+\.amazonaws\.com$/.test(p)) return p;
  if (!/^arn:aws:(iam|sts)::\d{12}:\S+$/.test(p) || checkPrincipal(ctx.world, 'AWS', p, ctx.now)) {
    throw new AwsError(
      'InvalidArnException',
      `${field === 'granteePrincipal' ? 'GranteePrincipal' : 'RetiringPrincipal'} is not a valid principal: ${p}`,
      400,
    );
  }
  return p;
}

function stringMap(v: unknown, field: string): Record<string, string> {
  if (v === null || typeof v !== 'object' || Array.isArray(v) || Object.values(v).some((x) => typeof x !== 'string')) {
    throw validation(`Value at '${field}' failed to satisfy constraint: Member must be a map of strings`);
  }
  return v as Record<string, string>;
}

const grantJson = (g: KmsGrant) => ({
  KeyId: g.keyArn,
  GrantId: g.grantId,
  ...(g.name !== undefined ? { Name: g.name } : {}),
  CreationDate: g.creationDate.getTime() / 1000,
  GranteePrincipal: g.granteePrincipal,
  ...(g.retiringPrincipal !== undefined ? { RetiringPrincipal: g.retiringPrincipal } : {}),
  IssuingAccount: g.issuingAccount,
  Operations: g.operations,
  ...(g.constraints ? { Constraints: g.constraints } : {}),
});

/** Whether `principal` (a retiring principal) names the caller: its role or session, or its account (root, or delegated by IAM). */
function principalIsCaller(ctx: CallContext, caller: Caller, principal: string | undefined, key: KmsKey): boolean {
  if (!principal) return false;
  if (caller.session && principal === caller.session.roleArn) return true;
  if (principal === caller.arn) return true;
  const root = /^arn:aws:iam::(\d{12}):root$/.exec(principal);
  return (
    !!root &&
    root[1] === caller.accountId &&
    (isRoot(caller) ||
      decide(ctx.world, caller, { action: 'kms:RetireGrant', resource: key.arn, resourceAccountId: caller.accountId })
        .allowed)
  );
}

/** The emulator's ciphertext: not encrypted (the emulator models authorisation, not cryptography), only tied to its key and context. */
const CIPHERTEXT_MAGIC = 'emulator-kms-1:';
function seal(key: KmsKey, ec: Record<string, string>, plaintext: Buffer): string {
  return Buffer.from(
    CIPHERTEXT_MAGIC + JSON.stringify({ k: key.arn, c: ec, p: plaintext.toString('base64') }),
  ).toString('base64');
}
function unseal(blob: unknown): { k: string; c: Record<string, string>; p: string } {
  const text = Buffer.from(String(blob ?? ''), 'base64').toString('utf8');
  if (!text.startsWith(CIPHERTEXT_MAGIC)) throw new AwsError('InvalidCiphertextException', '', 400);
  try {
    return JSON.parse(text.slice(CIPHERTEXT_MAGIC.length)) as { k: string; c: Record<string, string>; p: string };
  } catch {
    throw new AwsError('InvalidCiphertextException', '', 400);
  }
}

function dataKeyBytes(body: Record<string, unknown>): number {
  if (body.NumberOfBytes !== undefined && body.KeySpec !== undefined)
    throw validation('NumberOfBytes and KeySpec cannot both be specified');
  if (body.NumberOfBytes !== undefined) {
    const n = Number(body.NumberOfBytes);
    if (!Number.isInteger(n) || n < 1 || n > 1024)
      throw validation(
        `Value '${String(body.NumberOfBytes)}' at 'numberOfBytes' failed to satisfy constraint: Member must have value between 1 and 1024`,
      );
    return n;
  }
  if (body.KeySpec === 'AES_256') return 32;
  if (body.KeySpec === 'AES_128') return 16;
  throw validation('Either KeySpec or NumberOfBytes is required');
}

const ops: Record<string, (ctx: CallContext, body: Record<string, unknown>, caller: Caller) => unknown> = {
  CreateGrant(ctx, body, caller) {
    const key = keyFor(ctx, caller, body.KeyId);
    const grantee = checkGrantPrincipal(ctx, 'granteePrincipal', body.GranteePrincipal);
    const retiring =
      body.RetiringPrincipal === undefined
        ? undefined
        : checkGrantPrincipal(ctx, 'retiringPrincipal', body.RetiringPrincipal);
    const operations = body.Operations;
    if (!Array.isArray(operations) || operations.length === 0)
      throw validation(`Value at 'operations' failed to satisfy constraint: Member must not be null or empty`);
    for (const op of operations) {
      if (!GRANT_OPERATIONS.includes(String(op))) {
        throw validation(
          `Value '[${operations.join(', ')}]' at 'operations' failed to satisfy constraint: Member must satisfy constraint: [Member must satisfy enum value set: [${GRANT_OPERATIONS.join(', ')}]]`,
        );
      }
      if (!SYMMETRIC_OPERATIONS.has(String(op)))
        throw validation(`Operation ${String(op)} is not supported for a symmetric encryption KMS key`);
    }
    const ops = [...new Set(operations.map(String))];
    let constraints: KmsGrant['constraints'];
    if (body.Constraints !== undefined) {
      const c = body.Constraints as Record<string, unknown>;
      constraints = {
        ...(c.EncryptionContextSubset !== undefined
          ? { EncryptionContextSubset: stringMap(c.EncryptionContextSubset, 'constraints.encryptionContextSubset') }
          : {}),
        ...(c.EncryptionContextEquals !== undefined
          ? { EncryptionContextEquals: stringMap(c.EncryptionContextEquals, 'constraints.encryptionContextEquals') }
          : {}),
      };
      if (!Object.keys(constraints).length) constraints = undefined;
      else if (ops.some((o) => !CONTEXT_OPERATIONS.has(o))) {
        throw validation('Grant constraints are allowed only with operations that take an encryption context');
      }
    }
    const name = body.Name === undefined ? undefined : String(body.Name);
    if (name !== undefined && !/^[a-zA-Z0-9:/_-]{1,256}$/.test(name))
      throw validation(
        `Value '${name}' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9:/_-]+$`,
      );
    // a grantee with CreateGrant in a grant may pass on a subset of that grant's operations; otherwise the key policy decides
    const parent = [...key.grants.values()].find(
      (g) =>
        g.operations.includes('CreateGrant') &&
        ops.every((o) => g.operations.includes(o)) &&
        granteeMatches(ctx.world, caller, g.granteePrincipal, grantRoleIds.get(g), 'kms:CreateGrant', key),
    );
    if (!parent) {
      authorizeCall(
        ctx.world,
        caller,
        keyRequest(caller, key, 'kms:CreateGrant', JSON.parse(key.policy), {
          context: {
            'kms:GrantOperations': ops,
            'kms:GranteePrincipal': grantee,
            ...(retiring ? { 'kms:RetiringPrincipal': retiring } : {}),
            'kms:GrantIsForAWSResource': 'false',
            ...(constraints ? { 'kms:GrantConstraintType': Object.keys(constraints)[0]! } : {}),
          },
        }),
      );
    }
    if (body.DryRun === true)
      throw new AwsError(
        'DryRunOperationException',
        'The request would have succeeded, but the DryRun option is set.',
        412,
      );
    // a Name makes the call idempotent: the same grant again answers the existing grant's id
    const same =
      name === undefined
        ? undefined
        : [...key.grants.values()].find(
            (g) =>
              g.name === name &&
              g.granteePrincipal === grantee &&
              g.retiringPrincipal === retiring &&
              JSON.stringify(g.operations) === JSON.stringify(ops) &&
              JSON.stringify(g.constraints) === JSON.stringify(constraints),
          );
    if (same) {
      // a new token every time, each usable like the first (API Reference, CreateGrant `Name`)
      const token = randomBytes(96).toString('base64url');
      grantTokens.set(same, new Set([...(grantTokens.get(same) ?? []), token]));
      return { GrantId: same.grantId, GrantToken: token };
    }
    // the key's account's quota (an account's value holds in every Region)
    const grantsQuota = appliedQuota(ctx.world.accounts.get(key.arn.split(':')[4])!, GRANTS_PER_KEY);
    if (key.grants.size >= grantsQuota)
      throw new AwsError(
        'LimitExceededException',
        `The request was rejected because the number of grants on key ${key.arn} exceeds the quota (${grantsQuota})`,
        400,
      );
    const grant: KmsGrant = {
      grantId: createHash('sha256').update(randomBytes(32)).digest('hex'),
      grantToken: randomBytes(96).toString('base64url'),
      keyArn: key.arn,
      name,
      granteePrincipal: grantee,
      retiringPrincipal: retiring,
      operations: ops,
      constraints,
      issuingAccount: `arn:aws:iam::${caller.accountId}:root`,
      creationDate: new Date(ctx.now),
    };
    const role = findRoleByArn(ctx.world, grantee);
    if (role) grantRoleIds.set(grant, role.roleId);
    key.grants.set(grant.grantId, grant);
    return { GrantId: grant.grantId, GrantToken: grant.grantToken };
  },
  ListGrants(ctx, body, caller) {
    const key = keyFor(ctx, caller, body.KeyId);
    authorizeCall(ctx.world, caller, keyRequest(caller, key, 'kms:ListGrants', JSON.parse(key.policy)));
    const limit = body.Limit === undefined ? 50 : Number(body.Limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 100)
      throw validation(
        `Value '${String(body.Limit)}' at 'limit' failed to satisfy constraint: Member must have value between 1 and 100`,
      );
    const all = [...key.grants.values()].filter(
      (g) =>
        (body.GrantId === undefined || g.grantId === body.GrantId) &&
        (body.GranteePrincipal === undefined || g.granteePrincipal === body.GranteePrincipal),
    );
    let start = 0;
    if (body.Marker !== undefined) {
      start = Number(Buffer.from(String(body.Marker), 'base64url').toString('utf8'));
      if (!Number.isInteger(start) || start < 0 || start > all.length)
        throw new AwsError('InvalidMarkerException', 'The Marker is not valid');
    }
    const page = all.slice(start, start + limit);
    const truncated = start + limit < all.length;
    return {
      Grants: page.map(grantJson),
      Truncated: truncated,
      ...(truncated ? { NextMarker: Buffer.from(String(start + limit)).toString('base64url') } : {}),
    };
  },
  RetireGrant(ctx, body, caller) {
    let grant: KmsGrant | undefined;
    let key: KmsKey | undefined;
    if (body.GrantToken !== undefined) {
      for (const k of ctx.world.kmsKeys.values()) {
        for (const g of k.grants.values())
          if (g.grantToken === body.GrantToken || grantTokens.get(g)?.has(String(body.GrantToken)))
            [grant, key] = [g, k];
      }
      if (!grant) throw new AwsError('InvalidGrantTokenException', 'The grant token is not valid', 400);
    } else {
      if (body.KeyId === undefined || body.GrantId === undefined)
        throw validation('Either GrantToken, or both KeyId and GrantId, must be specified');
      key = keyFor(ctx, caller, body.KeyId);
      grant = key.grants.get(String(body.GrantId));
      if (!grant) throw new AwsError('NotFoundException', `Grant ID ${String(body.GrantId)} not found`, 400);
    }
    // who may retire (KMS Developer Guide, "Retiring and revoking grants"): the retiring principal, the grantee when
    // the grant allows RetireGrant, and the account that created the grant
    const may =
      principalIsCaller(ctx, caller, grant.retiringPrincipal, key!) ||
      (grant.operations.includes('RetireGrant') &&
        granteeMatches(ctx.world, caller, grant.granteePrincipal, grantRoleIds.get(grant), 'kms:RetireGrant', key!)) ||
      principalIsCaller(ctx, caller, grant.issuingAccount, key!);
    if (!may)
      throw accessDenied(
        `User: ${caller.arn} is not authorized to perform: kms:RetireGrant on resource: ${key!.arn} because it is neither the grant's retiring principal, nor its grantee with RetireGrant, nor in the account that created it`,
      );
    if (body.DryRun === true)
      throw new AwsError(
        'DryRunOperationException',
        'The request would have succeeded, but the DryRun option is set.',
        412,
      );
    key!.grants.delete(grant.grantId);
    return {};
  },
  RevokeGrant(ctx, body, caller) {
    const key = keyFor(ctx, caller, body.KeyId);
    if (body.GrantId === undefined)
      throw validation(`Value null at 'grantId' failed to satisfy constraint: Member must not be null`);
    authorizeCall(ctx.world, caller, keyRequest(caller, key, 'kms:RevokeGrant', JSON.parse(key.policy)));
    if (!key.grants.has(String(body.GrantId)))
      throw new AwsError('NotFoundException', `Grant ID ${String(body.GrantId)} not found`, 400);
    if (body.DryRun === true)
      throw new AwsError(
        'DryRunOperationException',
        'The request would have succeeded, but the DryRun option is set.',
        412,
      );
    key.grants.delete(String(body.GrantId));
    return {};
  },
  GenerateDataKey(ctx, body, caller) {
    const key = keyFor(ctx, caller, body.KeyId);
    const ec = body.EncryptionContext === undefined ? {} : stringMap(body.EncryptionContext, 'encryptionContext');
    const n = dataKeyBytes(body);
    authorizeKeyUse(ctx, caller, key, 'kms:GenerateDataKey', { encryptionContext: ec });
    const plaintext = randomBytes(n);
    return { KeyId: key.arn, Plaintext: plaintext.toString('base64'), CiphertextBlob: seal(key, ec, plaintext) };
  },
  Encrypt(ctx, body, caller) {
    const key = keyFor(ctx, caller, body.KeyId);
    const ec = body.EncryptionContext === undefined ? {} : stringMap(body.EncryptionContext, 'encryptionContext');
    const plaintext = Buffer.from(String(body.Plaintext ?? ''), 'base64');
    if (plaintext.length < 1 || plaintext.length > 4096)
      throw validation(`Value at 'plaintext' failed to satisfy constraint: Member must have length between 1 and 4096`);
    authorizeKeyUse(ctx, caller, key, 'kms:Encrypt', { encryptionContext: ec });
    return { KeyId: key.arn, CiphertextBlob: seal(key, ec, plaintext), EncryptionAlgorithm: 'SYMMETRIC_DEFAULT' };
  },
  Decrypt(ctx, body, caller) {
    const sealed = unseal(body.CiphertextBlob);
    const key = findKey(ctx.world, sealed.k);
    if (body.KeyId !== undefined && keyFor(ctx, caller, body.KeyId) !== key)
      throw new AwsError(
        'IncorrectKeyException',
        'The key ID in the request does not identify a KMS key that can perform this operation.',
        400,
      );
    const ec = body.EncryptionContext === undefined ? {} : stringMap(body.EncryptionContext, 'encryptionContext');
    authorizeKeyUse(ctx, caller, key, 'kms:Decrypt', { encryptionContext: ec });
    // the context is part of the ciphertext's authentication: another context does not decrypt
    const stored = sealed.c;
    if (Object.keys(stored).length !== Object.keys(ec).length || Object.entries(stored).some(([k, v]) => ec[k] !== v))
      throw new AwsError('InvalidCiphertextException', '', 400);
    return { KeyId: key.arn, Plaintext: sealed.p, EncryptionAlgorithm: 'SYMMETRIC_DEFAULT' };
  },

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
    if (policySize(text) > KEY_POLICY_MAX_BYTES)
      throw new AwsError('LimitExceededException', 'Key policy exceeds the 32 KB quota');
    bindPrincipals(
      ctx.world,
      text,
      ctx.now,
      () =>
        new AwsError(
          'MalformedPolicyDocumentException',
          'Policy contains a statement with one or more invalid principals.',
        ),
    );
    if (body.BypassPolicyLockoutSafetyCheck !== true) {
      const still = decide(ctx.world, caller, keyRequest(caller, key, 'kms:PutKeyPolicy', parsed.doc));
      if (!still.allowed) {
        throw new AwsError(
          'MalformedPolicyDocumentException',
          'The new key policy will not allow you to update the key policy in the future.',
        );
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
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
      throw new AwsError('ValidationException', 'Limit must be between 1 and 1000');
    let start = 0;
    if (body.Marker !== undefined) {
      start = Number(Buffer.from(String(body.Marker), 'base64url').toString('utf8'));
      if (!Number.isInteger(start) || start < 0 || start > all.length)
        throw new AwsError('InvalidMarkerException', 'The Marker is not valid');
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
    if (Object.keys({ ...key.tags, ...tags }).length > 50)
      throw new AwsError('LimitExceededException', 'A KMS key can have at most 50 tags');
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
  operationOf: (req) =>
    String(req.headers['x-amz-target'] ?? '')
      .split('.')
      .pop() || 'Unknown',
  handle(ctx) {
    const caller = requireCaller(ctx);
    const op = ops[ctx.operation];
    if (!op)
      throw new AwsError('UnsupportedOperationException', `The emulator does not implement KMS ${ctx.operation}`);
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(ctx.req.body.toString('utf8') || '{}');
    } catch {
      throw new AwsError('SerializationException', 'Invalid JSON body');
    }
    return {
      status: 200,
      headers: { 'content-type': 'application/x-amz-json-1.1' },
      body: JSON.stringify(op(ctx, body, caller)),
    };
  },
  renderError(code, message, status) {
    const type = code === 'AccessDenied' ? 'AccessDeniedException' : code;
    return {
      status: status === 403 ? 400 : status,
      headers: { 'content-type': 'application/x-amz-json-1.1' },
      body: JSON.stringify({ __type: type, message }),
    };
  },
};
