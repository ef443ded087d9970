import {
  CreateOpenIDConnectProviderCommand,
  CreateRoleCommand,
  DeleteOpenIDConnectProviderCommand,
  DeleteRoleCommand,
  DeleteRolePolicyCommand,
  GetAccountSummaryCommand,
  GetOpenIDConnectProviderCommand,
  GetPolicyCommand,
  GetPolicyVersionCommand,
  GetRoleCommand,
  GetRolePolicyCommand,
  ListOpenIDConnectProvidersCommand,
  ListRolesCommand,
  ListRolePoliciesCommand,
  ListAttachedRolePoliciesCommand,
  DetachRolePolicyCommand,
  PutRolePermissionsBoundaryCommand,
  PutRolePolicyCommand,
  TagRoleCommand,
  UntagRoleCommand,
  UpdateAssumeRolePolicyCommand,
  type IAMClient,
} from '@aws-sdk/client-iam';
import { normalizeDocument } from '../policy/documents';
import { policySize } from '../iam-policy/grammar';
import type { PolicyDocument } from '../policy/types';
import { call, errorName, maybe, toDomainError } from './errors';

/** IAM returns policy documents URL-encoded. */
const decodePolicy = (text: string): PolicyDocument => normalizeDocument(JSON.parse(decodeURIComponent(text)));

export interface RoleState {
  arn: string;
  path: string;
  trust: PolicyDocument;
  /** as pairs: tag keys are data, never object keys */
  tags: [string, string][];
  boundaryArn?: string;
}

export async function getRole(iam: IAMClient, name: string): Promise<RoleState | undefined> {
  const out = await maybe(`reading role ${name}`, () => iam.send(new GetRoleCommand({ RoleName: name })));
  if (!out?.Role) return undefined;
  const r = out.Role;
  return {
    arn: r.Arn!,
    path: r.Path!,
    trust: decodePolicy(r.AssumeRolePolicyDocument!),
    tags: (r.Tags ?? []).map((t): [string, string] => [t.Key!, t.Value ?? '']),
    boundaryArn: r.PermissionsBoundary?.PermissionsBoundaryArn,
  };
}

export async function getRolePolicy(iam: IAMClient, role: string, policy: string): Promise<PolicyDocument | undefined> {
  const out = await maybe(`reading inline policy ${policy} of role ${role}`, () =>
    iam.send(new GetRolePolicyCommand({ RoleName: role, PolicyName: policy })),
  );
  return out?.PolicyDocument ? decodePolicy(out.PolicyDocument) : undefined;
}

/** An inline policy and the size IAM counts against the role's 10,240 bytes (no white space). */
export async function getRolePolicySized(
  iam: IAMClient,
  role: string,
  policy: string,
): Promise<{ document: PolicyDocument; size: number } | undefined> {
  const out = await maybe(`reading inline policy ${policy} of role ${role}`, () =>
    iam.send(new GetRolePolicyCommand({ RoleName: role, PolicyName: policy })),
  );
  if (!out?.PolicyDocument) return undefined;
  const text = decodeURIComponent(out.PolicyDocument);
  return { document: normalizeDocument(JSON.parse(text)), size: policySize(text) };
}

/** Every inline policy name of a role (all pages), or undefined when the role does not exist. */
export async function listRolePolicies(iam: IAMClient, role: string): Promise<string[] | undefined> {
  const names: string[] = [];
  let Marker: string | undefined;
  do {
    const out = await maybe(`listing inline policies of role ${role}`, () =>
      iam.send(new ListRolePoliciesCommand({ RoleName: role, Marker })),
    );
    if (!out) return undefined;
    names.push(...(out.PolicyNames ?? []));
    Marker = out.IsTruncated ? out.Marker : undefined;
  } while (Marker);
  return names;
}

/** Every managed policy attached to a role (all pages), or undefined when the role does not exist. */
export async function listAttachedRolePolicies(
  iam: IAMClient,
  role: string,
): Promise<{ arn: string; name: string }[] | undefined> {
  const out: { arn: string; name: string }[] = [];
  let Marker: string | undefined;
  do {
    const page = await maybe(`listing managed policies of role ${role}`, () =>
      iam.send(new ListAttachedRolePoliciesCommand({ RoleName: role, Marker })),
    );
    if (!page) return undefined;
    out.push(...(page.AttachedPolicies ?? []).map((p) => ({ arn: p.PolicyArn!, name: p.PolicyName ?? '' })));
    Marker = page.IsTruncated ? page.Marker : undefined;
  } while (Marker);
  return out;
}

export const detachRolePolicy = (iam: IAMClient, role: string, policyArn: string) =>
  maybe(`detaching managed policy ${policyArn} from role ${role}`, () =>
    iam.send(new DetachRolePolicyCommand({ RoleName: role, PolicyArn: policyArn })),
  );

/** How long a container trusts an account's trust-policy quota it read. */
export const TRUST_QUOTA_TTL_MS = 15 * 60_000;
const trustQuotas = new WeakMap<IAMClient, { readAt: number; quota: Promise<number> }>();

/**
 * The account's AssumeRolePolicySizeQuota. It changes only when its owner has the quota raised, so a container
 * reads it once per account (its client) and `TRUST_QUOTA_TTL_MS`, and concurrent requests share that read; a
 * failed read is not kept.
 */
export function trustPolicyQuota(iam: IAMClient, now = Date.now()): Promise<number> {
  const kept = trustQuotas.get(iam);
  if (kept && now - kept.readAt < TRUST_QUOTA_TTL_MS) return kept.quota;
  const entry = {
    readAt: now,
    quota: call('reading the account summary', () => iam.send(new GetAccountSummaryCommand({}))).then(
      (out) => out.SummaryMap?.AssumeRolePolicySizeQuota ?? 2048,
    ),
  };
  trustQuotas.set(iam, entry);
  entry.quota.catch(() => {
    if (trustQuotas.get(iam) === entry) trustQuotas.delete(iam);
  });
  return entry.quota;
}

export async function listOidcProviders(iam: IAMClient): Promise<string[]> {
  const out = await call('listing IAM OIDC providers', () => iam.send(new ListOpenIDConnectProvidersCommand({})));
  return (out.OpenIDConnectProviderList ?? []).map((p) => p.Arn!);
}

/** Creates the provider; one created meanwhile by a concurrent onboarding of the same cluster is just as good. */
export async function createOidcProvider(iam: IAMClient, issuerUrl: string, tags: [string, string][]): Promise<void> {
  try {
    await iam.send(
      new CreateOpenIDConnectProviderCommand({
        Url: issuerUrl,
        ClientIDList: ['sts.amazonaws.com'],
        Tags: toTags(tags),
      }),
    );
  } catch (e) {
    if (errorName(e) === 'EntityAlreadyExistsException') return;
    throw toDomainError(e, `creating the IAM OIDC provider for ${issuerUrl}`);
  }
}

/** Deletes a provider; undefined when it was already gone (a concurrent DELETE). */
export const deleteOidcProvider = (iam: IAMClient, arn: string) =>
  maybe(`deleting the IAM OIDC provider ${arn}`, () =>
    iam.send(new DeleteOpenIDConnectProviderCommand({ OpenIDConnectProviderArn: arn })),
  );

/** Names of the roles of an account whose trust policy names `principal` (all pages of ListRoles). */
export async function rolesTrusting(iam: IAMClient, principal: string): Promise<string[]> {
  const names: string[] = [];
  let Marker: string | undefined;
  do {
    const out = await call('listing roles', () => iam.send(new ListRolesCommand({ Marker, MaxItems: 1000 })));
    for (const r of out.Roles ?? [])
      if (decodeURIComponent(r.AssumeRolePolicyDocument ?? '').includes(`"${principal}"`)) names.push(r.RoleName!);
    Marker = out.IsTruncated ? out.Marker : undefined;
  } while (Marker);
  return names;
}

const toTags = (tags: [string, string][]) => tags.map(([Key, Value]) => ({ Key, Value }));

export const createRole = (
  iam: IAMClient,
  r: {
    name: string;
    path: string;
    trust: PolicyDocument;
    tags: [string, string][];
    boundaryArn?: string;
    description: string;
  },
) =>
  call(`creating role ${r.name}`, () =>
    iam.send(
      new CreateRoleCommand({
        RoleName: r.name,
        Path: r.path,
        AssumeRolePolicyDocument: JSON.stringify(r.trust),
        Tags: toTags(r.tags),
        PermissionsBoundary: r.boundaryArn,
        Description: r.description,
        MaxSessionDuration: 3600,
      }),
    ),
  );

export const updateTrust = (iam: IAMClient, role: string, trust: PolicyDocument) =>
  call(`updating the trust policy of role ${role}`, () =>
    iam.send(new UpdateAssumeRolePolicyCommand({ RoleName: role, PolicyDocument: JSON.stringify(trust) })),
  );

export const putRolePolicy = (iam: IAMClient, role: string, name: string, doc: PolicyDocument) =>
  call(`writing inline policy ${name} of role ${role}`, () =>
    iam.send(new PutRolePolicyCommand({ RoleName: role, PolicyName: name, PolicyDocument: JSON.stringify(doc) })),
  );

export const deleteRolePolicy = (iam: IAMClient, role: string, name: string) =>
  maybe(`deleting inline policy ${name} of role ${role}`, () =>
    iam.send(new DeleteRolePolicyCommand({ RoleName: role, PolicyName: name })),
  );

export const tagRole = (iam: IAMClient, role: string, tags: [string, string][]) =>
  call(`tagging role ${role}`, () => iam.send(new TagRoleCommand({ RoleName: role, Tags: toTags(tags) })));

export const untagRole = (iam: IAMClient, role: string, keys: string[]) =>
  call(`untagging role ${role}`, () => iam.send(new UntagRoleCommand({ RoleName: role, TagKeys: keys })));

export const putBoundary = (iam: IAMClient, role: string, boundaryArn: string) =>
  call(`setting the permissions boundary of role ${role}`, () =>
    iam.send(new PutRolePermissionsBoundaryCommand({ RoleName: role, PermissionsBoundary: boundaryArn })),
  );

export const deleteRole = (iam: IAMClient, role: string) =>
  maybe(`deleting role ${role}`, () => iam.send(new DeleteRoleCommand({ RoleName: role })));

/** The default version of a managed policy (used to read the permissions boundary). */
export async function getManagedPolicyDocument(iam: IAMClient, arn: string): Promise<PolicyDocument | undefined> {
  const p = await maybe(`reading managed policy ${arn}`, () => iam.send(new GetPolicyCommand({ PolicyArn: arn })));
  if (!p?.Policy?.DefaultVersionId) return undefined;
  const v = await call(`reading managed policy ${arn}`, () =>
    iam.send(new GetPolicyVersionCommand({ PolicyArn: arn, VersionId: p.Policy!.DefaultVersionId! })),
  );
  return v.PolicyVersion?.Document ? decodePolicy(v.PolicyVersion.Document) : undefined;
}

/** The tags of an OIDC provider, or undefined when it does not exist. */
export async function oidcProviderTags(iam: IAMClient, arn: string): Promise<[string, string][] | undefined> {
  const out = await maybe(`reading IAM OIDC provider ${arn}`, () =>
    iam.send(new GetOpenIDConnectProviderCommand({ OpenIDConnectProviderArn: arn })),
  );
  return out ? (out.Tags ?? []).map((t): [string, string] => [t.Key!, t.Value ?? '']) : undefined;
}
