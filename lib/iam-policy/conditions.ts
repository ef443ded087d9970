import { BlockList, isIP } from 'node:net';
import { asArray, parseConditionOperator, type ConditionOperator } from './grammar';
import type { ConditionBlock } from './types';

/** The IAM policy language's wildcards and condition operators, over a request's context (evaluate.ts). */

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

/** A value of a condition key in a request's context. */
export type ContextValue = string | string[] | boolean | undefined;

export type Context = Map<string, ContextValue>;

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

export function conditionsMatch(cond: ConditionBlock | undefined, ctx: Context): boolean {
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
