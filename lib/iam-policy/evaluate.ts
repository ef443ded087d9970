/**
 * The IAM policy evaluator: matches statements against a request and combines identity-based policies,
 * a permissions boundary and a resource-based policy (bucket / key / trust policy) the way AWS documents
 * its evaluation logic (explicit deny wins; same account: identity OR resource grant; cross account:
 * identity AND resource grant; KMS key and role trust policies must themselves allow).
 */
import { BlockList, isIP } from 'node:net';
import { asArray, normalizeStatements, parseConditionOperator, type ConditionOperator } from './grammar';
import type { ConditionBlock, PolicyDocument, Principal, Statement } from './types';

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

export type ContextValue = string | string[] | boolean | undefined;

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
// wildcards

const regexCache = new Map<string, RegExp>();

/** `*` matches any run of characters (including none), `?` exactly one; everything else literally. */
export function matchesWildcard(pattern: string, value: string, ignoreCase = false): boolean {
  const cacheKey = `${ignoreCase ? 'i' : 's'}${pattern}`;
  let re = regexCache.get(cacheKey);
  if (!re) {
    let src = '';
    for (const ch of pattern) src += ch === '*' ? '.*' : ch === '?' ? '.' : ch.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
    re = new RegExp(`^${src}$`, ignoreCase ? 'is' : 's');
    if (regexCache.size > 10_000) regexCache.clear();
    regexCache.set(cacheKey, re);
  }
  return re.test(value);
}

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

type Context = Map<string, ContextValue>;

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

/** The request's values for a key (case-insensitive); undefined when absent or an empty list. */
function lookup(ctx: Context, key: string): string[] | undefined {
  const v = ctx.get(key.toLowerCase());
  if (v === undefined) return undefined;
  if (typeof v === 'boolean') return [String(v)];
  if (typeof v === 'string') return [v];
  return v.length > 0 ? v.map(String) : undefined;
}

function parseDate(s: string): number {
  if (/^-?\d+(\.\d+)?$/.test(s)) return Number(s) * 1000; // epoch seconds
  return Date.parse(s);
}

function ipInCidr(cidr: string, ip: string): boolean {
  const [addr, bits, ...extra] = cidr.trim().split('/');
  const family = isIP(addr);
  if (extra.length > 0 || family === 0 || family !== isIP(ip)) return false;
  const max = family === 4 ? 32 : 128;
  const prefix = bits === undefined ? max : Number(bits);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > max) return false;
  const type = family === 4 ? 'ipv4' : 'ipv6';
  const list = new BlockList();
  list.addSubnet(addr, prefix, type);
  return list.check(ip, type);
}

/**
 * ARNs compare component by component (6 colon-separated parts, the last may hold colons), each with `*` / `?`
 * wildcards that never span a colon. A pattern with fewer than 6 components matches nothing, except `*` alone.
 */
function arnMatches(pattern: string, value: string): boolean {
  const split = (s: string) => {
    const parts = s.split(':');
    return parts.length < 6 ? undefined : [...parts.slice(0, 5), parts.slice(5).join(':')];
  };
  const p = split(pattern);
  const v = split(value);
  if (!v) return false;
  if (!p) return pattern === '*';
  return p.every((part, i) => matchesWildcard(part, v[i]));
}

function compareNumbers(base: string, a: number, b: number): boolean {
  if (Number.isNaN(a) || Number.isNaN(b)) return false;
  if (base.endsWith('LessThanEquals')) return a <= b;
  if (base.endsWith('LessThan')) return a < b;
  if (base.endsWith('GreaterThanEquals')) return a >= b;
  if (base.endsWith('GreaterThan')) return a > b;
  return a === b; // Equals / NotEquals
}

/** The positive comparison of one request value `v` against one policy value `pv`. */
function compareOne(op: ConditionOperator, pv: string, v: string): boolean {
  switch (op.family) {
    case 'String':
      if (op.base.endsWith('IgnoreCase')) return pv.toLowerCase() === v.toLowerCase();
      if (op.base.endsWith('Like')) return matchesWildcard(pv, v);
      return pv === v;
    case 'Numeric':
      return compareNumbers(op.base, Number(v), Number(pv));
    case 'Date':
      return compareNumbers(op.base, parseDate(v), parseDate(pv));
    case 'Bool':
      return pv.toLowerCase() === v.toLowerCase();
    case 'Binary':
      return pv === v;
    case 'IpAddress':
      return ipInCidr(pv, v);
    case 'Arn':
      return arnMatches(pv, v);
    default:
      return false;
  }
}

/**
 * One operator applied to one key. Policy values are OR-ed (NOR for negated operators). A missing key:
 * IfExists -> true; ForAllValues -> true; ForAnyValue -> false; otherwise false for positive and TRUE for
 * negated operators (AWS: "If the policy condition requires that the key is not matched, such as
 * StringNotLike or ArnNotLike, and the right key is not present, the condition is true").
 */
function keyMatches(op: ConditionOperator, policyValues: string[], requestValues: string[] | undefined): boolean {
  if (op.family === 'Null') {
    const missing = requestValues === undefined;
    return policyValues.some((pv) =>
      pv.toLowerCase() === 'true' ? missing : pv.toLowerCase() === 'false' ? !missing : false,
    );
  }
  if (requestValues === undefined) {
    if (op.ifExists || op.set === 'ForAllValues') return true;
    if (op.set === 'ForAnyValue') return false;
    return op.negated;
  }
  const anyPolicyValue = (v: string) => policyValues.some((pv) => compareOne(op, pv, v));
  const perValue = (v: string) => (op.negated ? !anyPolicyValue(v) : anyPolicyValue(v));
  if (op.set === 'ForAllValues') return requestValues.every(perValue);
  if (op.set === 'ForAnyValue') return requestValues.some(perValue);
  // no set operator: a multi-valued key behaves like ForAnyValue for positive operators; a negated
  // operator matches only when no request value matches any policy value
  return op.negated ? !requestValues.some(anyPolicyValue) : requestValues.some(anyPolicyValue);
}

function conditionsMatch(cond: ConditionBlock | undefined, ctx: Context): boolean {
  if (!cond) return true;
  for (const [name, block] of Object.entries(cond)) {
    const op = parseConditionOperator(name);
    if (!op) return false;
    for (const [key, raw] of Object.entries(block)) {
      if (!keyMatches(op, asArray(raw).map(String), lookup(ctx, key))) return false;
    }
  }
  return true;
}

// ---------------------------------------------------------------------------------------------------------------
// statements and policies

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
