import type { CallContext, Caller, ServiceModule } from '../context';
import { requireCaller } from '../context';
import { AwsError } from '../errors';
import { QueryParams, queryError, queryResponse } from '../protocols/query';
import { uniqueId, type Account, type ManagedPolicy, type OidcProvider, type Role, type World } from '../state';
import { authorizeCall, requestTagContext, resourceTagContext } from '../authz';
import { bindPrincipals, renderBoundPolicy } from '../principals';
import { parsePolicyText, policySize, validatePolicy } from '../../lib/iam-policy/grammar';
import { xmlMap, type XmlNode } from '../xml';
import { appliedQuota, OIDC_PROVIDERS_PER_ACCOUNT, ROLES_PER_ACCOUNT } from '../quotas';

const NS = 'https://iam.amazonaws.com/doc/2010-05-08/';
const INLINE_POLICIES_PER_ROLE_BYTES = 10_240;
const MANAGED_POLICY_BYTES = 6_144;
const MANAGED_POLICIES_PER_ROLE = 10;

type Handler = (ctx: CallContext, p: QueryParams, account: Account, caller: Caller) => XmlNode | undefined;

const validation = (msg: string) => new AwsError('ValidationError', msg);
const constraint = (value: string, field: string, c: string) =>
  validation(`1 validation error detected: Value '${value}' at '${field}' failed to satisfy constraint: ${c}`);
const noSuchEntity = (msg: string) => new AwsError('NoSuchEntity', msg, 404);
const malformed = (msg: string) => new AwsError('MalformedPolicyDocument', msg, 400);
const limitExceeded = (msg: string) => new AwsError('LimitExceeded', msg, 409);

// ---------- validation like IAM's ----------
function checkName(value: string, field: string, max = 64): void {
  if (value.length > max) throw constraint(value, field, `Member must have length less than or equal to ${max}`);
  if (!/^[\w+=,.@-]+$/.test(value))
    throw constraint(value, field, 'Member must satisfy regular expression pattern: [\\w+=,.@-]+');
}

function checkPath(value: string, field = 'path'): void {
  if (value.length > 512) throw constraint(value, field, 'Member must have length less than or equal to 512');
  if (!/^(\/|\/[\u0021-\u007F]+\/)$/.test(value)) {
    throw constraint(
      value,
      field,
      'Member must satisfy regular expression pattern: (\\u002F)|(\\u002F[\\u0021-\\u007E]+\\u002F)',
    );
  }
}

function checkTags(tags: { Key: string; Value: string }[], existing = 0): void {
  // one request holds at most 50 (the API's own constraint); the resource too (a quota)
  if (tags.length > 50)
    throw validation(
      `1 validation error detected: Value at 'tags' failed to satisfy constraint: Member must have length less than or equal to 50`,
    );
  if (tags.length + existing > 50) throw limitExceeded('Cannot exceed quota for TagsPerRole: 50');
  const seen = new Set<string>();
  for (const t of tags) {
    if (t.Key.length < 1 || t.Key.length > 128)
      throw constraint(t.Key, 'tags.member.key', 'Member must have length less than or equal to 128');
    if (t.Value.length > 256)
      throw constraint(t.Value, 'tags.member.value', 'Member must have length less than or equal to 256');
    if (!/^[\p{L}\p{Z}\p{N}_.:/=+\-@]+$/u.test(t.Key))
      throw constraint(
        t.Key,
        'tags.member.key',
        'Member must satisfy regular expression pattern: [\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]+',
      );
    if (!/^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u.test(t.Value))
      throw constraint(
        t.Value,
        'tags.member.value',
        'Member must satisfy regular expression pattern: [\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*',
      );
    if (seen.has(t.Key.toLowerCase()))
      throw new AwsError('InvalidInput', 'Duplicate tag keys found. Please note that Tag keys are case insensitive.');
    seen.add(t.Key.toLowerCase());
  }
}

/** Parses and checks a policy the way IAM does; returns the text to store. */
function checkPolicy(text: string, kind: 'identity' | 'trust'): string {
  const parsed = parsePolicyText(text);
  if (!parsed.doc) throw malformed(parsed.error ?? 'Syntax errors in policy.');
  const problem = validatePolicy(parsed.doc, kind);
  if (problem) throw malformed(problem);
  return text;
}

function roleOf(account: Account, name: string): Role {
  const role = account.roles.get(name.toLowerCase());
  if (!role || role.name !== name) throw noSuchEntity(`The role with name ${name} cannot be found.`);
  return role;
}

const tagsXml = (tags: Map<string, string>) => [...tags].map(([Key, Value]) => ({ Key, Value }));

function roleXml(world: World, role: Role, full = true): XmlNode {
  return {
    Path: role.path,
    RoleName: role.name,
    RoleId: role.roleId,
    Arn: role.arn,
    CreateDate: role.createDate,
    AssumeRolePolicyDocument: encodeURIComponent(renderBoundPolicy(world, role.trustPolicy, role.trustBindings)),
    Description: role.description,
    MaxSessionDuration: role.maxSessionDuration,
    PermissionsBoundary:
      full && role.permissionsBoundary
        ? { PermissionsBoundaryType: 'PermissionsBoundaryPolicy', PermissionsBoundaryArn: role.permissionsBoundary }
        : undefined,
    Tags: full && role.tags.size ? tagsXml(role.tags) : undefined,
    RoleLastUsed: full ? {} : undefined,
  };
}

function tagContext(tags: Map<string, string>): Record<string, string> {
  const c: Record<string, string> = resourceTagContext(Object.fromEntries(tags));
  for (const [k, v] of tags) c[`iam:ResourceTag/${k}`] = v;
  return c;
}

function roleContext(role: Role | undefined): Record<string, string> {
  const c: Record<string, string> = {};
  if (!role) return c;
  if (role.permissionsBoundary) c['iam:PermissionsBoundary'] = role.permissionsBoundary;
  return { ...c, ...tagContext(role.tags) };
}

/** IAM's Key/Value tag list as request-tag context. */
const iamRequestTags = (tags: { Key: string; Value: string }[]): Record<string, string | string[]> =>
  requestTagContext(Object.fromEntries(tags.map((t) => [t.Key, t.Value])));

function authorizeIam(
  ctx: CallContext,
  caller: Caller,
  account: Account,
  resource: string,
  context: Record<string, string | string[]> = {},
): void {
  authorizeCall(ctx.world, caller, {
    action: `iam:${ctx.operation}`,
    resource,
    resourceAccountId: account.id,
    context,
  });
}

const roleArn = (account: Account, path: string, name: string) => `arn:aws:iam::${account.id}:role${path}${name}`;

function findPolicy(world: World, account: Account, arn: string): ManagedPolicy {
  const owner = /^arn:aws:iam::(\d{12}|aws):policy\//.exec(arn)?.[1];
  const p = owner ? world.accounts.get(owner)?.policies.get(arn) : undefined;
  if (!p || (owner !== account.id && owner !== 'aws'))
    throw noSuchEntity(`Policy ${arn} does not exist or is not attachable.`);
  return p;
}

function inlineSize(role: Role, except?: string): number {
  let n = 0;
  for (const [name, doc] of role.inlinePolicies) if (name !== except) n += policySize(doc);
  return n;
}

// ---------- operations ----------
const ops: Record<string, Handler> = {
  CreateRole(ctx, p, account, caller) {
    const name = p.req('RoleName');
    checkName(name, 'roleName');
    const path = p.opt('Path') ?? '/';
    checkPath(path);
    const description = p.opt('Description');
    if (description && description.length > 1000)
      throw constraint(description, 'description', 'Member must have length less than or equal to 1000');
    const maxSession = p.int('MaxSessionDuration') ?? 3600;
    if (!(maxSession >= 3600 && maxSession <= 43200)) {
      throw constraint(
        String(maxSession),
        'maxSessionDuration',
        'Member must have value less than or equal to 43200 and greater than or equal to 3600',
      );
    }
    const tags = p.tags();
    checkTags(tags);
    const boundary = p.opt('PermissionsBoundary');
    const arn = roleArn(account, path, name);
    authorizeIam(ctx, caller, account, arn, {
      ...(boundary ? { 'iam:PermissionsBoundary': boundary } : {}),
      ...iamRequestTags(tags),
    });
    // tag-on-create: tags in CreateRole also need iam:TagRole
    if (tags.length) {
      authorizeCall(ctx.world, caller, {
        action: 'iam:TagRole',
        resource: arn,
        resourceAccountId: account.id,
        context: { ...(boundary ? { 'iam:PermissionsBoundary': boundary } : {}), ...iamRequestTags(tags) },
      });
    }
    const trust = p.req('AssumeRolePolicyDocument');
    if (account.roles.has(name.toLowerCase()))
      throw new AwsError('EntityAlreadyExists', `Role with name ${name} already exists.`, 409);
    const rolesQuota = appliedQuota(account, ROLES_PER_ACCOUNT);
    if (account.roles.size >= rolesQuota) throw limitExceeded(`Cannot exceed quota for RolesPerAccount: ${rolesQuota}`);
    checkPolicy(trust, 'trust');
    checkTrustQuota(account, trust);
    if (boundary) findPolicy(ctx.world, account, boundary);
    const bindings = bindPrincipals(ctx.world, trust, ctx.now, malformed);
    const role: Role = {
      roleId: uniqueId('AROA'),
      name,
      path,
      arn,
      accountId: account.id,
      trustPolicy: trust,
      trustBindings: bindings,
      description,
      maxSessionDuration: maxSession,
      permissionsBoundary: boundary,
      tags: new Map(tags.map((t) => [t.Key, t.Value])),
      inlinePolicies: new Map(),
      attachedPolicies: new Set(),
      createDate: new Date(ctx.now),
      visibleAt: ctx.now + ctx.world.propagationMs,
    };
    account.roles.set(name.toLowerCase(), role);
    return { Role: roleXml(ctx.world, role) };
  },

  GetRole(ctx, p, account, caller) {
    const role = roleOf(account, p.req('RoleName'));
    authorizeIam(ctx, caller, account, role.arn, roleContext(role));
    return { Role: roleXml(ctx.world, role) };
  },

  ListRoles(ctx, p, account, caller) {
    const prefix = p.opt('PathPrefix') ?? '/';
    authorizeIam(ctx, caller, account, roleArn(account, prefix, '*'));
    const all = [...account.roles.values()]
      .filter((r) => r.path.startsWith(prefix))
      .sort((a, b) => a.name.localeCompare(b.name));
    return paginate(all, p, (r) => roleXml(ctx.world, r, false), 'Roles');
  },

  UpdateAssumeRolePolicy(ctx, p, account, caller) {
    const role = roleOf(account, p.req('RoleName'));
    authorizeIam(ctx, caller, account, role.arn, roleContext(role));
    const trust = p.req('PolicyDocument');
    checkPolicy(trust, 'trust');
    checkTrustQuota(account, trust);
    role.trustBindings = bindPrincipals(ctx.world, trust, ctx.now, malformed);
    role.trustPolicy = trust;
    return undefined;
  },

  UpdateRole(ctx, p, account, caller) {
    const role = roleOf(account, p.req('RoleName'));
    authorizeIam(ctx, caller, account, role.arn, roleContext(role));
    const d = p.opt('Description');
    const m = p.int('MaxSessionDuration');
    if (m !== undefined && !(m >= 3600 && m <= 43200))
      throw constraint(
        String(m),
        'maxSessionDuration',
        'Member must have value less than or equal to 43200 and greater than or equal to 3600',
      );
    if (d !== undefined) role.description = d;
    if (m !== undefined) role.maxSessionDuration = m;
    return {};
  },

  DeleteRole(ctx, p, account, caller) {
    const role = roleOf(account, p.req('RoleName'));
    authorizeIam(ctx, caller, account, role.arn, roleContext(role));
    if (role.inlinePolicies.size)
      throw new AwsError('DeleteConflict', 'Cannot delete entity, must delete policies first.', 409);
    if (role.attachedPolicies.size)
      throw new AwsError('DeleteConflict', 'Cannot delete entity, must detach all policies first.', 409);
    account.roles.delete(role.name.toLowerCase());
    return undefined;
  },

  PutRolePermissionsBoundary(ctx, p, account, caller) {
    const role = roleOf(account, p.req('RoleName'));
    const boundary = p.req('PermissionsBoundary');
    authorizeIam(ctx, caller, account, role.arn, { ...roleContext(role), 'iam:PermissionsBoundary': boundary });
    findPolicy(ctx.world, account, boundary);
    role.permissionsBoundary = boundary;
    return undefined;
  },

  DeleteRolePermissionsBoundary(ctx, p, account, caller) {
    const role = roleOf(account, p.req('RoleName'));
    authorizeIam(ctx, caller, account, role.arn, roleContext(role));
    role.permissionsBoundary = undefined;
    return undefined;
  },

  PutRolePolicy(ctx, p, account, caller) {
    const role = roleOf(account, p.req('RoleName'));
    const name = p.req('PolicyName');
    checkName(name, 'policyName', 128);
    authorizeIam(ctx, caller, account, role.arn, roleContext(role));
    const doc = checkPolicy(p.req('PolicyDocument'), 'identity');
    if (inlineSize(role, name) + policySize(doc) > INLINE_POLICIES_PER_ROLE_BYTES) {
      throw limitExceeded(
        `Maximum policy size of ${INLINE_POLICIES_PER_ROLE_BYTES} bytes exceeded for role ${role.name}`,
      );
    }
    role.inlinePolicies.set(name, doc);
    return undefined;
  },

  GetRolePolicy(ctx, p, account, caller) {
    const role = roleOf(account, p.req('RoleName'));
    const name = p.req('PolicyName');
    authorizeIam(ctx, caller, account, role.arn, roleContext(role));
    const doc = role.inlinePolicies.get(name);
    if (doc === undefined) throw noSuchEntity(`The role policy with name ${name} cannot be found.`);
    return { RoleName: role.name, PolicyName: name, PolicyDocument: encodeURIComponent(doc) };
  },

  ListRolePolicies(ctx, p, account, caller) {
    const role = roleOf(account, p.req('RoleName'));
    authorizeIam(ctx, caller, account, role.arn, roleContext(role));
    return paginate([...role.inlinePolicies.keys()].sort(), p, (n) => n, 'PolicyNames');
  },

  DeleteRolePolicy(ctx, p, account, caller) {
    const role = roleOf(account, p.req('RoleName'));
    const name = p.req('PolicyName');
    authorizeIam(ctx, caller, account, role.arn, roleContext(role));
    if (!role.inlinePolicies.delete(name)) throw noSuchEntity(`The role policy with name ${name} cannot be found.`);
    return undefined;
  },

  CreatePolicy(ctx, p, account, caller) {
    const name = p.req('PolicyName');
    checkName(name, 'policyName', 128);
    const path = p.opt('Path') ?? '/';
    checkPath(path);
    const arn = `arn:aws:iam::${account.id}:policy${path}${name}`;
    const tags = p.tags();
    checkTags(tags);
    authorizeIam(ctx, caller, account, arn, iamRequestTags(tags));
    const doc = checkPolicy(p.req('PolicyDocument'), 'identity');
    if (policySize(doc) > MANAGED_POLICY_BYTES)
      throw limitExceeded(`Cannot exceed quota for PolicySize: ${MANAGED_POLICY_BYTES}`);
    if (account.policies.has(arn))
      throw new AwsError(
        'EntityAlreadyExists',
        `A policy called ${name} already exists. Duplicate names are not allowed.`,
        409,
      );
    const now = new Date(ctx.now);
    const policy: ManagedPolicy = {
      policyId: uniqueId('ANPA'),
      name,
      path,
      arn,
      description: p.opt('Description'),
      versions: [{ id: 'v1', document: doc, createDate: now }],
      defaultVersionId: 'v1',
      createDate: now,
      updateDate: now,
      tags: new Map(tags.map((t) => [t.Key, t.Value])),
    };
    account.policies.set(arn, policy);
    return { Policy: policyXml(policy, account) };
  },

  GetPolicy(ctx, p, account, caller) {
    const policy = findPolicy(ctx.world, account, p.req('PolicyArn'));
    authorizeIam(ctx, caller, account, policy.arn);
    return { Policy: policyXml(policy, account) };
  },

  GetPolicyVersion(ctx, p, account, caller) {
    const policy = findPolicy(ctx.world, account, p.req('PolicyArn'));
    authorizeIam(ctx, caller, account, policy.arn);
    const id = p.req('VersionId');
    const v = policy.versions.find((x) => x.id === id);
    if (!v) throw noSuchEntity(`Policy ${policy.arn} version ${id} does not exist or is not attachable.`);
    return {
      PolicyVersion: {
        Document: encodeURIComponent(v.document),
        VersionId: v.id,
        IsDefaultVersion: v.id === policy.defaultVersionId,
        CreateDate: v.createDate,
      },
    };
  },

  CreatePolicyVersion(ctx, p, account, caller) {
    const policy = findPolicy(ctx.world, account, p.req('PolicyArn'));
    authorizeIam(ctx, caller, account, policy.arn);
    const doc = checkPolicy(p.req('PolicyDocument'), 'identity');
    if (policySize(doc) > MANAGED_POLICY_BYTES)
      throw limitExceeded(`Cannot exceed quota for PolicySize: ${MANAGED_POLICY_BYTES}`);
    if (policy.versions.length >= 5)
      throw limitExceeded(
        `A managed policy can have up to 5 versions. Before you create a new version, you must delete an existing version.`,
      );
    const n = Math.max(...policy.versions.map((v) => Number(v.id.slice(1)))) + 1;
    const v = { id: `v${n}`, document: doc, createDate: new Date(ctx.now) };
    policy.versions.push(v);
    if (p.opt('SetAsDefault') === 'true') policy.defaultVersionId = v.id;
    policy.updateDate = v.createDate;
    return {
      PolicyVersion: { VersionId: v.id, IsDefaultVersion: v.id === policy.defaultVersionId, CreateDate: v.createDate },
    };
  },

  DeletePolicy(ctx, p, account, caller) {
    const policy = findPolicy(ctx.world, account, p.req('PolicyArn'));
    authorizeIam(ctx, caller, account, policy.arn);
    if (attachmentCount(ctx.world, policy.arn) > 0)
      throw new AwsError('DeleteConflict', 'Cannot delete a policy attached to entities.', 409);
    account.policies.delete(policy.arn);
    return undefined;
  },

  AttachRolePolicy(ctx, p, account, caller) {
    const role = roleOf(account, p.req('RoleName'));
    const arn = p.req('PolicyArn');
    authorizeIam(ctx, caller, account, role.arn, { ...roleContext(role), 'iam:PolicyARN': arn });
    findPolicy(ctx.world, account, arn);
    if (!role.attachedPolicies.has(arn) && role.attachedPolicies.size >= MANAGED_POLICIES_PER_ROLE) {
      throw limitExceeded(`Cannot exceed quota for PoliciesPerRole: ${MANAGED_POLICIES_PER_ROLE}`);
    }
    role.attachedPolicies.add(arn);
    return undefined;
  },

  DetachRolePolicy(ctx, p, account, caller) {
    const role = roleOf(account, p.req('RoleName'));
    const arn = p.req('PolicyArn');
    authorizeIam(ctx, caller, account, role.arn, { ...roleContext(role), 'iam:PolicyARN': arn });
    if (!role.attachedPolicies.delete(arn)) throw noSuchEntity(`Policy ${arn} was not found.`);
    return undefined;
  },

  ListAttachedRolePolicies(ctx, p, account, caller) {
    const role = roleOf(account, p.req('RoleName'));
    authorizeIam(ctx, caller, account, role.arn, roleContext(role));
    const items = [...role.attachedPolicies].map((arn) => ({ PolicyArn: arn, PolicyName: arn.split('/').pop()! }));
    return paginate(items, p, (x) => x, 'AttachedPolicies');
  },

  TagRole(ctx, p, account, caller) {
    const role = roleOf(account, p.req('RoleName'));
    const tags = p.tags();
    authorizeIam(ctx, caller, account, role.arn, { ...roleContext(role), ...iamRequestTags(tags) });
    // IAM's tag keys are case-insensitive: a key that matches an existing one in another case overwrites it
    const existing = (key: string) => [...role.tags.keys()].find((k) => k.toLowerCase() === key.toLowerCase());
    const fresh = tags.filter((t) => existing(t.Key) === undefined);
    checkTags(tags, role.tags.size - (tags.length - fresh.length));
    for (const t of tags) {
      const old = existing(t.Key);
      if (old !== undefined) role.tags.delete(old);
      role.tags.set(t.Key, t.Value);
    }
    return undefined;
  },

  UntagRole(ctx, p, account, caller) {
    const role = roleOf(account, p.req('RoleName'));
    const keys = p.list('TagKeys');
    authorizeIam(ctx, caller, account, role.arn, { ...roleContext(role), 'aws:TagKeys': keys } as Record<
      string,
      string | string[]
    >);
    for (const k of keys)
      for (const have of [...role.tags.keys()]) if (have.toLowerCase() === k.toLowerCase()) role.tags.delete(have);
    return undefined;
  },

  ListRoleTags(ctx, p, account, caller) {
    const role = roleOf(account, p.req('RoleName'));
    authorizeIam(ctx, caller, account, role.arn, roleContext(role));
    return { Tags: tagsXml(role.tags), IsTruncated: false };
  },

  CreateOpenIDConnectProvider(ctx, p, account, caller) {
    const rawUrl = p.req('Url');
    if (!/^https:\/\/[^\s/]+(\/[^\s]*)?$/.test(rawUrl) || rawUrl.length > 255)
      throw validation('Invalid URL: must start with https:// and be at most 255 characters');
    const url = rawUrl.replace(/^https:\/\//, '').replace(/\/$/, '');
    const arn = `arn:aws:iam::${account.id}:oidc-provider/${url}`;
    const tags = p.tags();
    checkTags(tags);
    authorizeIam(ctx, caller, account, arn, iamRequestTags(tags));
    const clientIds = p.list('ClientIDList');
    const thumbprints = p.list('ThumbprintList');
    for (const t of thumbprints)
      if (!/^[0-9a-fA-F]{40}$/.test(t))
        throw constraint(t, 'thumbprintList.member', 'Member must have length greater than or equal to 40');
    if (thumbprints.length > 5) throw limitExceeded('Cannot exceed quota for ThumbprintsPerOpenIdConnectProvider: 5');
    if (account.oidcProviders.has(arn))
      throw new AwsError('EntityAlreadyExists', `Provider with url ${rawUrl} already exists.`, 409);
    const providersQuota = appliedQuota(account, OIDC_PROVIDERS_PER_ACCOUNT);
    if (account.oidcProviders.size >= providersQuota)
      throw limitExceeded(`Cannot exceed quota for OpenIdIdpsPerAccount: ${providersQuota}`);
    const provider: OidcProvider = {
      arn,
      url,
      clientIds,
      thumbprints,
      tags: new Map(tags.map((t) => [t.Key, t.Value])),
      createDate: new Date(ctx.now),
    };
    account.oidcProviders.set(arn, provider);
    return { OpenIDConnectProviderArn: arn, Tags: tags.length ? tags : undefined };
  },

  GetOpenIDConnectProvider(ctx, p, account, caller) {
    const provider = oidcOf(ctx.world, account, p.req('OpenIDConnectProviderArn'));
    authorizeIam(ctx, caller, account, provider.arn, tagContext(provider.tags));
    return {
      Url: provider.url,
      ClientIDList: provider.clientIds,
      ThumbprintList: provider.thumbprints,
      CreateDate: provider.createDate,
      Tags: provider.tags.size ? tagsXml(provider.tags) : undefined,
    };
  },

  ListOpenIDConnectProviders(ctx, _p, account, caller) {
    authorizeIam(ctx, caller, account, '*');
    return { OpenIDConnectProviderList: [...account.oidcProviders.keys()].map((Arn) => ({ Arn })) };
  },

  DeleteOpenIDConnectProvider(ctx, p, account, caller) {
    const arn = p.req('OpenIDConnectProviderArn');
    const existing = account.oidcProviders.get(arn);
    authorizeIam(ctx, caller, account, arn, existing ? tagContext(existing.tags) : {});
    account.oidcProviders.delete(arn); // AWS: deleting a missing provider is not an error
    return undefined;
  },

  AddClientIDToOpenIDConnectProvider(ctx, p, account, caller) {
    const provider = oidcOf(ctx.world, account, p.req('OpenIDConnectProviderArn'));
    authorizeIam(ctx, caller, account, provider.arn, tagContext(provider.tags));
    const id = p.req('ClientID');
    if (!provider.clientIds.includes(id)) provider.clientIds.push(id);
    return undefined;
  },

  TagOpenIDConnectProvider(ctx, p, account, caller) {
    const provider = oidcOf(ctx.world, account, p.req('OpenIDConnectProviderArn'));
    const tags = p.tags();
    authorizeIam(ctx, caller, account, provider.arn, { ...tagContext(provider.tags), ...iamRequestTags(tags) });
    checkTags(tags, provider.tags.size);
    for (const t of tags) provider.tags.set(t.Key, t.Value);
    return undefined;
  },

  GetAccountSummary(ctx, _p, account, caller) {
    authorizeIam(ctx, caller, account, '*');
    // every key AWS returns; the emulator has no users, groups, certificates, MFA devices or instance profiles
    const summary: Record<string, number> = {
      Users: 0,
      UsersQuota: 5000,
      Groups: 0,
      GroupsQuota: 300,
      ServerCertificates: 0,
      ServerCertificatesQuota: 20,
      UserPolicySizeQuota: 2048,
      GroupPolicySizeQuota: 5120,
      GroupsPerUserQuota: 10,
      SigningCertificatesPerUserQuota: 2,
      AccessKeysPerUserQuota: 2,
      MFADevices: 0,
      MFADevicesInUse: 0,
      AccountMFAEnabled: 0,
      AccountAccessKeysPresent: 0,
      AccountSigningCertificatesPresent: 0,
      AttachedPoliciesPerGroupQuota: 10,
      AttachedPoliciesPerRoleQuota: MANAGED_POLICIES_PER_ROLE,
      AttachedPoliciesPerUserQuota: 10,
      Policies: account.policies.size,
      PoliciesQuota: 1500,
      PolicySizeQuota: MANAGED_POLICY_BYTES,
      PolicyVersionsInUse: [...account.policies.values()].reduce((n, p) => n + p.versions.length, 0),
      PolicyVersionsInUseQuota: 10000,
      VersionsPerPolicyQuota: 5,
      GlobalEndpointTokenVersion: 1,
      AssumeRolePolicySizeQuota: account.assumeRolePolicySizeQuota,
      InstanceProfiles: 0,
      InstanceProfilesQuota: 1000,
      // identity providers of both kinds (SAML and OIDC; the emulator has no SAML): no quota key, and not the
      // OIDC quota's usage against AWS, where SAML providers count here too
      Providers: account.oidcProviders.size,
      RolePolicySizeQuota: INLINE_POLICIES_PER_ROLE_BYTES,
      Roles: account.roles.size,
      RolesQuota: appliedQuota(account, ROLES_PER_ACCOUNT),
    };
    return { SummaryMap: xmlMap(summary) };
  },
};

function checkTrustQuota(account: Account, trust: string): void {
  if (policySize(trust) > account.assumeRolePolicySizeQuota) {
    throw limitExceeded(`Cannot exceed quota for ACLSizePerRole: ${account.assumeRolePolicySizeQuota}`);
  }
}

function oidcOf(world: World, account: Account, arn: string): OidcProvider {
  const provider = account.oidcProviders.get(arn);
  if (!provider) throw noSuchEntity(`OpenIDConnect Provider not found for arn ${arn}`);
  return provider;
}

function attachmentCount(world: World, arn: string): number {
  let n = 0;
  for (const a of world.accounts.values()) for (const r of a.roles.values()) if (r.attachedPolicies.has(arn)) n++;
  return n;
}

function policyXml(policy: ManagedPolicy, account: Account): XmlNode {
  let attachments = 0;
  for (const r of account.roles.values()) if (r.attachedPolicies.has(policy.arn)) attachments++;
  return {
    PolicyName: policy.name,
    PolicyId: policy.policyId,
    Arn: policy.arn,
    Path: policy.path,
    DefaultVersionId: policy.defaultVersionId,
    AttachmentCount: attachments,
    PermissionsBoundaryUsageCount: [...account.roles.values()].filter((r) => r.permissionsBoundary === policy.arn)
      .length,
    IsAttachable: true,
    Description: policy.description,
    CreateDate: policy.createDate,
    UpdateDate: policy.updateDate,
    Tags: policy.tags.size ? tagsXml(policy.tags) : undefined,
  };
}

function paginate<T>(all: T[], p: QueryParams, render: (t: T) => XmlNode | string, key: string): XmlNode {
  const start = Number(p.opt('Marker') ?? '0') || 0;
  const max = Math.min(p.int('MaxItems') ?? 100, 1000);
  const page = all.slice(start, start + max);
  const truncated = start + max < all.length;
  return { [key]: page.map(render), IsTruncated: truncated, Marker: truncated ? String(start + max) : undefined };
}

export const iam: ServiceModule = {
  name: 'iam',
  operationOf: (req) => QueryParams.from(req).action,
  handle(ctx) {
    const caller = requireCaller(ctx);
    const p = QueryParams.from(ctx.req);
    const op = ops[ctx.operation];
    if (!op) throw new AwsError('InvalidAction', `Could not find operation ${ctx.operation} for version 2010-05-08`);
    const account = ctx.world.accounts.get(caller.accountId)!;
    return queryResponse(NS, ctx.operation, op(ctx, p, account, caller), ctx.requestId);
  },
  renderError: (code, message, status, c) => queryError(NS, code, message, status, c.requestId, c.type),
};
