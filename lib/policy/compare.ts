/**
 * Semantic comparison of IAM policies, as IAM evaluates them: statement order does not matter, a single value
 * and a one-element array are the same, the order of values in Action/Resource/Principal/Condition lists does
 * not matter, and neither does the order of keys or the case of action names. Everything else (Sid, Effect,
 * condition operators and keys, the values themselves) does.
 */

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const LIST_FIELDS = new Set(['Action', 'NotAction', 'Resource', 'NotResource']);
const ACTION_FIELDS = new Set(['Action', 'NotAction']);

/** A scalar or a list of scalars, as a sorted list of distinct strings (IAM reads `true` and `"true"` alike). */
function valueSet(v: unknown, lower = false): string[] {
  const list = Array.isArray(v) ? v : [v];
  const out = list
    .map((x) => (typeof x === 'string' ? x : JSON.stringify(x)))
    .map((x) => (lower ? x.toLowerCase() : x));
  return [...new Set(out)].sort();
}

function canonicalStatement(s: Record<string, unknown>): Json {
  const out: Record<string, Json> = {};
  for (const key of Object.keys(s).sort()) {
    const v = s[key];
    if (LIST_FIELDS.has(key)) out[key] = valueSet(v, ACTION_FIELDS.has(key));
    else if ((key === 'Principal' || key === 'NotPrincipal') && v && typeof v === 'object' && !Array.isArray(v)) {
      const p = v as Record<string, unknown>;
      out[key] = Object.fromEntries(
        Object.keys(p)
          .sort()
          .map((k) => [k, valueSet(p[k])]),
      );
    } else if (key === 'Condition' && v && typeof v === 'object') {
      const c = v as Record<string, Record<string, unknown>>;
      out[key] = Object.fromEntries(
        Object.keys(c)
          .sort()
          .map((op) => [
            op,
            Object.fromEntries(
              Object.keys(c[op] ?? {})
                .sort()
                .map((k) => [k, valueSet(c[op][k])]),
            ),
          ]),
      );
    } else out[key] = v as Json;
  }
  return out;
}

/** A statement's canonical text: equal texts mean IAM treats the statements alike. */
export const statementKey = (s: unknown): string =>
  JSON.stringify(canonicalStatement((s ?? {}) as Record<string, unknown>));

function statementList(doc: unknown): unknown[] {
  const st = (doc as { Statement?: unknown } | undefined)?.Statement;
  return st === undefined ? [] : Array.isArray(st) ? st : [st];
}

/** The canonical text of a policy document (statements as a multiset). */
export function canonicalPolicy(doc: unknown): string {
  const d = (doc ?? {}) as Record<string, unknown>;
  const statements = statementList(d).map(statementKey).sort();
  const rest = Object.keys(d)
    .filter((k) => k !== 'Statement')
    .sort()
    .map((k) => [k, d[k]]);
  return JSON.stringify([rest, statements]);
}

/** True when both documents grant and deny exactly the same (undefined equals only undefined). */
export function samePolicy(a: unknown, b: unknown): boolean {
  if (a === undefined || b === undefined) return a === b;
  return canonicalPolicy(a) === canonicalPolicy(b);
}

/** True when both lists hold the same statements, in any order. */
export function sameStatements(a: readonly unknown[], b: readonly unknown[]): boolean {
  if (a.length !== b.length) return false;
  const x = a.map(statementKey).sort();
  const y = b.map(statementKey).sort();
  return x.every((k, i) => k === y[i]);
}
