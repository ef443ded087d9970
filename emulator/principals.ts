import { type AwsError } from './errors';
import { findRoleByArn, parseDoc, type World } from './state';
import { normalizeStatements, asArray } from '../lib/iam-policy/grammar';
import type { Statement } from '../lib/iam-policy/types';

/**
 * AWS resolves role ARNs named as principals to the role's unique id when a policy is written. When the role is
 * deleted (or deleted and recreated) the stored policy shows the old `AROA…` id and no longer matches the role.
 */
export function bindPrincipals(
  world: World,
  text: string,
  now: number,
  invalid: (msg: string) => AwsError,
): Map<string, string> {
  const bindings = new Map<string, string>();
  for (const st of normalizeStatements(parseDoc(text))) {
    for (const p of principalValues(st)) {
      const problem = checkPrincipal(world, p.kind, p.value, now);
      if (problem) throw invalid('Invalid principal in policy');
      if (p.kind === 'AWS' && p.value.includes(':role/')) {
        const role = findRoleByArn(world, p.value);
        if (role) bindings.set(p.value, role.roleId);
      }
    }
  }
  return bindings;
}

function principalValues(st: Statement): { kind: string; value: string }[] {
  const out: { kind: string; value: string }[] = [];
  for (const el of [st.Principal, st.NotPrincipal]) {
    if (el === undefined || el === '*') continue;
    for (const [kind, v] of Object.entries(el))
      for (const value of asArray(v as string | string[])) out.push({ kind, value: String(value) });
  }
  return out;
}

/** Returns a reason when the principal would be rejected by AWS, or undefined when it is valid now. */
export function checkPrincipal(world: World, kind: string, value: string, now: number): string | undefined {
  if (kind === 'AWS') {
    if (value === '*') return undefined;
    if (/^\d{12}$/.test(value)) return world.accounts.has(value) ? undefined : 'unknown account';
    const root = /^arn:aws:iam::(\d{12}):root$/.exec(value);
    if (root) return world.accounts.has(root[1]) ? undefined : 'unknown account';
    if (/^AROA[A-Z0-9]+$/.test(value)) {
      for (const a of world.accounts.values())
        for (const r of a.roles.values()) if (r.roleId === value) return undefined;
      return 'stale unique id';
    }
    if (/^arn:aws:iam::\d{12}:role\//.test(value)) {
      const role = findRoleByArn(world, value);
      if (!role) return 'no such role';
      if (now < role.visibleAt) return 'role not yet propagated';
      return undefined;
    }
    const session = /^arn:aws:sts::(\d{12}):assumed-role\/([^/]+)\/[^/]+$/.exec(value);
    if (session)
      return world.accounts.get(session[1])?.roles.has(session[2].toLowerCase()) ? undefined : 'no such role';
    return 'unsupported principal';
  }
  if (kind === 'Federated') {
    const oidc = /^arn:aws:iam::(\d{12}):oidc-provider\/(.+)$/.exec(value);
    if (oidc) return world.accounts.get(oidc[1])?.oidcProviders.has(value) ? undefined : 'no such OIDC provider';
    return /^[a-z0-9.-]+\.[a-z]{2,}$/.test(value) ? undefined : 'unsupported federated principal';
  }
  if (kind === 'Service') return /^[a-z0-9.-]+\.amazonaws\.com(\.cn)?$/.test(value) ? undefined : 'unknown service';
  if (kind === 'CanonicalUser') return undefined;
  return 'unsupported principal type';
}

/** The text AWS would show now: role ARNs whose role is gone or recreated appear as their old unique id. */
export function renderBoundPolicy(world: World, text: string, bindings?: Map<string, string>): string {
  if (!bindings || bindings.size === 0) return text;
  const stale = new Map<string, string>();
  for (const [arn, id] of bindings) {
    const role = findRoleByArn(world, arn);
    if (!role || role.roleId !== id) stale.set(arn, id);
  }
  if (stale.size === 0) return text;
  const doc = parseDoc(text);
  const fix = (v: unknown): unknown =>
    typeof v === 'string' ? (stale.get(v) ?? v) : Array.isArray(v) ? v.map(fix) : v;
  for (const st of normalizeStatements(doc)) {
    for (const key of ['Principal', 'NotPrincipal'] as const) {
      const el = st[key];
      if (el && el !== '*' && 'AWS' in el && el.AWS !== undefined) el.AWS = fix(el.AWS) as string | string[];
    }
  }
  return JSON.stringify(doc);
}
