import type * as z from 'zod';
import { ValidationError, type FieldError } from '../../errors';

/**
 * Validation errors as data: zod issues become `{ path, message }` with paths callers can use. Shared by the
 * request body, the list query and the guardrails file; light on purpose (no schemas of its own).
 */

const IDENTIFIER = /^[A-Za-z0-9_$-]+$/;
const MAX_SEGMENT = 100;
const MAX_ERRORS = 50;

/**
 * The path of a field, as used in `errors[].path`: segments joined with `.`, array indexes as numbers
 * (`workload.clusters.0.name`, `bucket.prefix`). A segment that is not made only of `A-Z a-z 0-9 _ $ -` (an
 * unknown field or a tag key such as `team.name`) is written as a bracketed JSON string with every non-ASCII or
 * control character escaped: `tags["team.name"]`, `bucket["\u202e"]`. Segments over 100 characters are cut,
 * ending in `...`. The request body itself is the empty path `""`.
 */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const raw of path) {
    const seg = typeof raw === 'symbol' ? (raw.description ?? '') : String(raw);
    if (IDENTIFIER.test(seg) && seg.length <= MAX_SEGMENT) {
      out += out === '' ? seg : `.${seg}`;
    } else {
      const cut = seg.length > MAX_SEGMENT ? `${seg.slice(0, MAX_SEGMENT)}...` : seg;
      const quoted = JSON.stringify(cut).replace(
        /[^\x20-\x7E]/g,
        (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
      );
      out += `[${quoted}]`;
    }
  }
  return out;
}

function typeOf(input: unknown): string {
  if (input === null) return 'null';
  if (Array.isArray(input)) return 'array';
  return typeof input;
}

const withArticle = (t: string): string => (/^[aeiou]/.test(t) ? `an ${t}` : `a ${t}`);

/** Messages for the issues that no schema names itself (types, enums, unknown keys). */
const errorMap: z.core.$ZodErrorMap = (iss) => {
  switch (iss.code) {
    case 'invalid_type': {
      if (iss.input === undefined) return 'is required';
      const expected = iss.expected === 'object' ? 'JSON object' : iss.expected;
      const received = typeOf(iss.input);
      return `must be ${withArticle(expected)}, not ${received === 'null' ? 'null' : withArticle(received)}`;
    }
    case 'invalid_value':
      if (iss.input === undefined) return 'is required';
      return `must be ${iss.values.length === 1 ? '' : 'one of: '}${iss.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'invalid_union':
      if ('options' in iss && Array.isArray(iss.options)) {
        return `must be one of: ${iss.options.map((v) => JSON.stringify(v)).join(', ')}`;
      }
      return 'matches none of the allowed shapes';
    case 'unrecognized_keys':
      return 'is not an allowed field (unknown fields are rejected)';
    default:
      return undefined;
  }
};

/** zod issues as `{ path, message }`: one per unknown key, and one per rule a record key breaks. */
function fieldErrors(error: z.ZodError): FieldError[] {
  const out: FieldError[] = [];
  for (const issue of error.issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) out.push({ path: formatPath([...issue.path, key]), message: issue.message });
    } else if (issue.code === 'invalid_key') {
      // a record key broke the key schema's rules: report each rule at the key's path
      for (const sub of issue.issues) out.push({ path: formatPath(issue.path), message: sub.message });
    } else {
      out.push({ path: formatPath(issue.path), message: issue.message });
    }
  }
  return out;
}

/**
 * Parses any value against a schema, turning failure into a ValidationError whose `errors` are data (at most
 * 50; the message says when there were more).
 */
export function parseWith<S extends z.ZodType>(schema: S, input: unknown, what: string): z.output<S> {
  const result = schema.safeParse(input, { error: errorMap });
  if (result.success) return result.data;
  const all = fieldErrors(result.error);
  const errors = all.slice(0, MAX_ERRORS);
  const count = all.length === 1 ? '1 error' : `${all.length} errors`;
  const shown = errors.length < all.length ? `, the first ${errors.length} listed` : '';
  throw new ValidationError(`${what} is invalid: ${count}${shown}.`, errors);
}
