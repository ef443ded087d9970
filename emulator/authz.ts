import { authorize, type Decision, type PrincipalInfo } from '../lib/iam-policy/evaluate';
import { type ContextValue } from '../lib/iam-policy/conditions';
import type { PolicyDocument } from '../lib/iam-policy/types';
import { accessDenied } from './errors';
import type { Caller } from './context';
import { findRoleByArn, parseDoc, type Role, type World } from './state';
import { renderBoundPolicy } from './principals';

export interface AuthzRequest {
  action: string;
  resource: string;
  resourceAccountId: string;
  resourcePolicy?: PolicyDocument;
  resourcePolicyRequired?: boolean;
  context?: Record<string, ContextValue>;
}

export const isRoot = (caller: Caller): boolean => caller.arn.endsWith(':root');

export function principalOf(caller: Caller): PrincipalInfo {
  return { arn: caller.arn, accountId: caller.accountId, roleArn: caller.session?.roleArn };
}

/** The identity side of a caller: the role's inline and attached policies and its boundary. */
function identityOf(
  world: World,
  caller: Caller,
): { identityPolicies: PolicyDocument[]; permissionsBoundary?: PolicyDocument } {
  if (isRoot(caller)) {
    return {
      identityPolicies: [{ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] }],
    };
  }
  const role = caller.session ? findRoleByArn(world, caller.session.roleArn) : undefined;
  if (!role || role.roleId !== caller.session?.roleId) return { identityPolicies: [] };
  return rolePolicies(world, role);
}

function rolePolicies(
  world: World,
  role: Role,
): { identityPolicies: PolicyDocument[]; permissionsBoundary?: PolicyDocument } {
  const account = world.accounts.get(role.accountId)!;
  const identityPolicies = [...role.inlinePolicies.values()].map(parseDoc);
  for (const arn of role.attachedPolicies) {
    const p = account.policies.get(arn) ?? world.accounts.get(arn.split(':')[4])?.policies.get(arn);
    const v = p?.versions.find((x) => x.id === p.defaultVersionId);
    if (v) identityPolicies.push(parseDoc(v.document));
  }
  let permissionsBoundary: PolicyDocument | undefined;
  if (role.permissionsBoundary) {
    const p = world.accounts.get(role.permissionsBoundary.split(':')[4])?.policies.get(role.permissionsBoundary);
    const v = p?.versions.find((x) => x.id === p.defaultVersionId);
    // a boundary that no longer exists allows nothing
    permissionsBoundary = v ? parseDoc(v.document) : { Statement: [] };
  }
  return { identityPolicies, permissionsBoundary };
}

/** Evaluates a call as AWS would: the caller's identity policies and boundary, and the resource policy. */
export function decide(world: World, caller: Caller, r: AuthzRequest): Decision {
  const identity = identityOf(world, caller);
  return authorize({
    principal: principalOf(caller),
    action: r.action,
    resource: r.resource,
    resourceAccountId: r.resourceAccountId,
    identityPolicies: identity.identityPolicies,
    permissionsBoundary: identity.permissionsBoundary,
    resourcePolicy: r.resourcePolicy,
    resourcePolicyRequired: r.resourcePolicyRequired,
    context: { 'aws:SecureTransport': 'true', ...principalTagContext(world, caller), ...r.context },
  });
}

/** A request's tags as `aws:RequestTag/<key>`, and their keys as `aws:TagKeys` (present only when it has tags). */
export function requestTagContext(tags: Record<string, string>): Record<string, string | string[]> {
  const keys = Object.keys(tags);
  return keys.length
    ? { 'aws:TagKeys': keys, ...Object.fromEntries(keys.map((k) => [`aws:RequestTag/${k}`, tags[k]])) }
    : {};
}

/** A resource's tags as `aws:ResourceTag/<key>`. */
export const resourceTagContext = (tags: Record<string, string>): Record<string, string> =>
  Object.fromEntries(Object.entries(tags).map(([k, v]) => [`aws:ResourceTag/${k}`, v]));
/** S3's `s3:BucketTag/<key>`: the bucket's tags, for its bucket- and object-level actions (while its ABAC is on). */
export const bucketTagContext = (tags: Record<string, string>): Record<string, string> =>
  Object.fromEntries(Object.entries(tags).map(([k, v]) => [`s3:BucketTag/${k}`, v]));

/**
 * `aws:PrincipalTag/<key>` of a caller: the tags of the session's role, overridden (ignoring case) by the
 * session's own tags (those passed when it was assumed and those inherited as transitive).
 */
export function principalTagContext(world: World, caller: Caller): Record<string, string> {
  const s = caller.session;
  if (!s) return {};
  const tags = new Map<string, [string, string]>();
  const role = findRoleByArn(world, s.roleArn);
  if (role && role.roleId === s.roleId) for (const [k, v] of role.tags) tags.set(k.toLowerCase(), [k, v]);
  for (const [k, v] of Object.entries(s.tags ?? {})) tags.set(k.toLowerCase(), [k, v]);
  return Object.fromEntries([...tags.values()].map(([k, v]) => [`aws:PrincipalTag/${k}`, v]));
}

/** Throws AWS's AccessDenied unless the call is allowed. */
export function authorizeCall(world: World, caller: Caller, r: AuthzRequest): void {
  const decision = decide(world, caller, r);
  if (!decision.allowed) {
    throw accessDenied(
      `User: ${caller.arn} is not authorized to perform: ${r.action} on resource: ${r.resource} because ${decision.reason}`,
    );
  }
}

/** A stored resource policy as AWS would evaluate it now (stale role ARNs turned into unique ids). */
export function livePolicy(
  world: World,
  text: string | undefined,
  bindings?: Map<string, string>,
): PolicyDocument | undefined {
  if (!text) return undefined;
  return parseDoc(renderBoundPolicy(world, text, bindings));
}
