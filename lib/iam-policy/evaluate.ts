/**
 * The IAM policy evaluator: matches statements against a request and combines identity-based policies,
 * a permissions boundary and a resource-based policy (bucket / key / trust policy) the way AWS documents
 * its evaluation logic (explicit deny wins; same account: identity OR resource grant; cross account:
 * identity AND resource grant; KMS key and role trust policies must themselves allow).
 */
import { conditionsMatch, matchesWildcard, type Context, type ContextValue } from './conditions';
import { asArray, normalizeStatements } from './grammar';
import type { PolicyDocument, Principal, Statement } from './types';

export interface PrincipalInfo {
  /** Caller ARN: account root, IAM user, or a role session `arn:aws:sts::A:assumed-role/Role/session`. */
  arn: string;
  accountId: string;
  /** For role sessions: the role's IAM ARN including its path. */
  roleArn?: string;
  /** For AssumeRoleWithWebIdentity: the OIDC provider ARN. */
  federated?: string;
  /** For a service principal, e.g. `lambda.amazonaws.com`. */
  service?: string;
}

export interface RequestContext {
  action: string;
  resource: string;
  principal: PrincipalInfo;
  context: Record<string, ContextValue>;
}

/**
 * How a statement's Principal element named the caller, strongest first:
 * exact (user / session ARN), role (the session's role ARN), federated, service, wildcard (`*` or via
 * NotPrincipal), account (account id or `arn:aws:iam::ACCT:root`: delegates to identity policies).
 */
export type PrincipalMatch = 'exact' | 'role' | 'federated' | 'service' | 'wildcard' | 'account';

const RANK: Record<PrincipalMatch, number> = { exact: 6, role: 5, federated: 4, service: 4, wildcard: 2, account: 1 };

// ---------------------------------------------------------------------------------------------------------------
// principals

const ROOT_ARN = /^arn:[^:]+:iam::(\d{12}):root$/;

const isRootPrincipal = (p: PrincipalInfo): boolean => ROOT_ARN.test(p.arn) && !p.roleArn;

function matchAwsValue(v: string, p: PrincipalInfo): PrincipalMatch | undefined {
  if (v === '*') return 'wildcard';
  if (!p.arn) return undefined;
  if (v === p.arn && !ROOT_ARN.test(v)) return 'exact';
  if (p.roleArn && v === p.roleArn) return 'role';
  if (/^\d{12}$/.test(v)) return v === p.accountId ? 'account' : undefined;
  const root = ROOT_ARN.exec(v);
  if (root) return root[1] === p.accountId ? 'account' : undefined;
  return undefined;
}

function better(a: PrincipalMatch | undefined, b: PrincipalMatch | undefined): PrincipalMatch | undefined {
  if (!a) return b;
  if (!b) return a;
  return RANK[b] > RANK[a] ? b : a;
}

/** The strongest way `principal` names the caller, or undefined when it does not. */
export function matchPrincipal(principal: Principal, p: PrincipalInfo): PrincipalMatch | undefined {
  if (principal === '*') return 'wildcard';
  let best: PrincipalMatch | undefined;
  for (const v of asArray(principal.AWS)) best = better(best, matchAwsValue(String(v), p));
  for (const v of asArray(principal.Federated)) if (p.federated && v === p.federated) best = better(best, 'federated');
  for (const v of asArray(principal.Service)) {
    if (p.service && String(v).toLowerCase() === p.service.toLowerCase()) best = better(best, 'service');
  }
  return best;
}

/** Principal / NotPrincipal of a statement; statements naming no principal do not apply to anyone. */
function statementPrincipal(st: Statement, p: PrincipalInfo): PrincipalMatch | undefined {
  if (st.Principal !== undefined) return matchPrincipal(st.Principal, p);
  if (st.NotPrincipal !== undefined) return matchPrincipal(st.NotPrincipal, p) ? undefined : 'wildcard';
  return undefined;
}

// ---------------------------------------------------------------------------------------------------------------
// conditions

/** Request context with lower-cased keys plus `aws:PrincipalArn` / `aws:PrincipalAccount` derived from the caller. */
function buildContext(req: RequestContext): Context {
  const ctx: Context = new Map();
  const { principal } = req;
  const principalArn = principal.roleArn ?? principal.arn;
  if (principalArn) ctx.set('aws:principalarn', principalArn);
  if (principal.accountId) ctx.set('aws:principalaccount', principal.accountId);
  for (const [k, v] of Object.entries(req.context)) if (v !== undefined) ctx.set(k.toLowerCase(), v);
  return ctx;
}

function actionMatches(st: Statement, action: string): boolean {
  if (st.Action !== undefined) return asArray(st.Action).some((a) => matchesWildcard(a, action, true));
  if (st.NotAction !== undefined) return !asArray(st.NotAction).some((a) => matchesWildcard(a, action, true));
  return false;
}

function resourceMatches(st: Statement, resource: string): boolean {
  if (st.Resource !== undefined) return asArray(st.Resource).some((r) => matchesWildcard(r, resource));
  if (st.NotResource !== undefined) return !asArray(st.NotResource).some((r) => matchesWildcard(r, resource));
  return true; // trust policies name no resource
}

interface Hit {
  statement: Statement;
  index: number;
  principal?: PrincipalMatch;
}

interface Hits {
  allows: Hit[];
  denies: Hit[];
}

function policyHits(doc: PolicyDocument, req: RequestContext, checkPrincipal: boolean, ctx = buildContext(req)): Hits {
  const hits: Hits = { allows: [], denies: [] };
  normalizeStatements(doc).forEach((statement, index) => {
    let principal: PrincipalMatch | undefined;
    if (checkPrincipal) {
      principal = statementPrincipal(statement, req.principal);
      if (!principal) return;
    }
    if (!actionMatches(statement, req.action) || !resourceMatches(statement, req.resource)) return;
    if (!conditionsMatch(statement.Condition, ctx)) return;
    (statement.Effect === 'Deny' ? hits.denies : hits.allows).push({ statement, index, principal });
  });
  return hits;
}

/**
 * Evaluates one policy. With `checkPrincipal` (resource-based policies) a statement applies only when its
 * Principal names the caller (or its NotPrincipal does not); statements without either then never apply.
 * Without it (the default; identity policies, boundaries) Principal elements are ignored.
 */
export function evaluatePolicy(
  doc: PolicyDocument,
  req: RequestContext,
  opts: { checkPrincipal?: boolean } = {},
): 'Allow' | 'Deny' | 'NotApplicable' {
  const hits = policyHits(doc, req, opts.checkPrincipal ?? false);
  if (hits.denies.length > 0) return 'Deny';
  return hits.allows.length > 0 ? 'Allow' : 'NotApplicable';
}

// ---------------------------------------------------------------------------------------------------------------
// authorization

export interface AuthorizeInput {
  principal: PrincipalInfo;
  action: string;
  resource: string;
  /** Account owning the resource; defaults to the caller's account. */
  resourceAccountId?: string;
  /** Inline and attached policies of the caller. The account root is treated as allow-all regardless. */
  identityPolicies: PolicyDocument[];
  /** Ignored for the account root, which cannot have one. */
  permissionsBoundary?: PolicyDocument;
  /** Bucket policy, key policy, or a role's trust policy. */
  resourcePolicy?: PolicyDocument;
  /**
   * KMS key policies and role trust policies: the resource policy must allow, either naming the caller
   * (then it suffices) or naming the account (then identity policies must allow too).
   */
  resourcePolicyRequired?: boolean;
  /** Used in reasons, e.g. 'bucket policy', 'key policy', 'trust policy'. Default 'resource-based policy'. */
  resourcePolicyName?: string;
  context?: Record<string, ContextValue>;
}

export interface Decision {
  allowed: boolean;
  decision: 'Allow' | 'ExplicitDeny' | 'ImplicitDeny';
  reason: string;
}

const allow = (reason: string): Decision => ({ allowed: true, decision: 'Allow', reason });
const implicitDeny = (reason: string): Decision => ({ allowed: false, decision: 'ImplicitDeny', reason });

function label(hit: Hit): string {
  return hit.statement.Sid ? `Sid ${hit.statement.Sid}` : `statement #${hit.index + 1}`;
}

function explicitDeny(where: string, hits: Hits[]): Decision | undefined {
  for (const h of hits) {
    const d = h.denies[0];
    if (d) return { allowed: false, decision: 'ExplicitDeny', reason: `explicit deny in ${where} (${label(d)})` };
  }
  return undefined;
}

/** The strongest principal match among the resource policy's applicable Allow statements. */
function strongestGrant(hits: Hits | undefined): PrincipalMatch | undefined {
  let best: PrincipalMatch | undefined;
  for (const h of hits?.allows ?? []) best = better(best, h.principal);
  return best;
}

export function authorize(input: AuthorizeInput): Decision {
  const { principal, action } = input;
  const req: RequestContext = { action, resource: input.resource, principal, context: input.context ?? {} };
  const ctx = buildContext(req);
  const root = isRootPrincipal(principal);
  const rpName = input.resourcePolicyName ?? 'resource-based policy';

  const identity = input.identityPolicies.map((d) => policyHits(d, req, false, ctx));
  const boundary =
    input.permissionsBoundary && !root ? policyHits(input.permissionsBoundary, req, false, ctx) : undefined;
  const resource = input.resourcePolicy ? policyHits(input.resourcePolicy, req, true, ctx) : undefined;

  const denied =
    explicitDeny('identity-based policy', identity) ??
    explicitDeny('permissions boundary', boundary ? [boundary] : []) ??
    explicitDeny(rpName, resource ? [resource] : []);
  if (denied) return denied;

  const identityAllows = root || identity.some((h) => h.allows.length > 0);
  const boundaryAllows = !boundary || boundary.allows.length > 0;
  const identityOk = identityAllows && boundaryAllows;
  const grant = strongestGrant(resource);
  const boundaryReason = `permissions boundary does not allow ${action}`;
  const identityReason = identityAllows ? boundaryReason : `no identity-based policy allows ${action}`;

  // web-identity and service principals have no identity policies: the resource policy decides alone
  if (grant === 'federated' || grant === 'service') return allow(`allowed by ${rpName} (${grant} principal)`);

  const sameAccount = (input.resourceAccountId ?? principal.accountId) === principal.accountId;
  if (!sameAccount) {
    if (!identityOk) return implicitDeny(identityReason);
    if (!grant) return implicitDeny(`the ${rpName} does not grant cross-account access`);
    return allow(`allowed by identity-based policy and ${rpName}`);
  }

  // same account: a grant naming the user / session ARN suffices; one naming the role ARN (or everyone)
  // is capped by the boundary; one naming the account only delegates to identity policies
  const direct = grant === 'exact' || ((grant === 'role' || grant === 'wildcard') && boundaryAllows);
  if (direct) return allow(`allowed by ${rpName}`);
  const boundaryBlockedGrant = grant === 'role' || grant === 'wildcard';

  if (input.resourcePolicyRequired) {
    if (!grant) return implicitDeny(`the ${rpName} does not allow ${action}`);
    if (boundaryBlockedGrant) return implicitDeny(boundaryReason);
    if (!identityOk) return implicitDeny(identityReason);
    return allow(`allowed by identity-based policy (the ${rpName} grants the account)`);
  }

  if (identityOk) return allow('allowed by identity-based policy');
  return implicitDeny(boundaryBlockedGrant ? boundaryReason : identityReason);
}
