/**
 * The IAM policy grammar: parsing policy text, checking a parsed document the way IAM / S3 / KMS reject
 * malformed policies (MalformedPolicyDocument messages), and measuring a policy's size for quotas.
 */
import type { PolicyDocument, PolicyKind, Statement } from './types';

const SYNTAX_ERROR = 'Syntax errors in policy.';
const VENDOR_ERROR = 'Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.';

const VERSIONS = ['2012-10-17', '2008-10-17'];
const TOP_FIELDS = ['Version', 'Id', 'Statement'];
const STATEMENT_FIELDS = [
  'Sid',
  'Effect',
  'Principal',
  'NotPrincipal',
  'Action',
  'NotAction',
  'Resource',
  'NotResource',
  'Condition',
];
const PRINCIPAL_KINDS = ['AWS', 'Federated', 'Service', 'CanonicalUser'];

/** `x` as an array: `undefined` -> `[]`, a single value -> `[x]`. */
export function asArray<T>(x: T | T[] | undefined): T[] {
  if (x === undefined) return [];
  return Array.isArray(x) ? x : [x];
}

/** The statements of a document whose `Statement` is one object or an array of them. */
export function normalizeStatements(doc: PolicyDocument): Statement[] {
  return asArray(doc.Statement);
}

// ---------------------------------------------------------------------------------------------------------------
// condition operators (shared with the evaluator)

type ConditionFamily = 'String' | 'Numeric' | 'Date' | 'Bool' | 'Binary' | 'IpAddress' | 'Arn' | 'Null';

export interface ConditionOperator {
  /** The operator without set prefix or IfExists suffix, e.g. `StringNotLike`. */
  base: string;
  family: ConditionFamily;
  /** A negated operator (`StringNotEquals`, `NotIpAddress`, `ArnNotLike`, ...). */
  negated: boolean;
  ifExists: boolean;
  set?: 'ForAnyValue' | 'ForAllValues';
}

const BASE_OPERATORS: Record<string, { family: ConditionFamily; negated: boolean }> = {
  StringEquals: { family: 'String', negated: false },
  StringNotEquals: { family: 'String', negated: true },
  StringEqualsIgnoreCase: { family: 'String', negated: false },
  StringNotEqualsIgnoreCase: { family: 'String', negated: true },
  StringLike: { family: 'String', negated: false },
  StringNotLike: { family: 'String', negated: true },
  NumericEquals: { family: 'Numeric', negated: false },
  NumericNotEquals: { family: 'Numeric', negated: true },
  NumericLessThan: { family: 'Numeric', negated: false },
  NumericLessThanEquals: { family: 'Numeric', negated: false },
  NumericGreaterThan: { family: 'Numeric', negated: false },
  NumericGreaterThanEquals: { family: 'Numeric', negated: false },
  DateEquals: { family: 'Date', negated: false },
  DateNotEquals: { family: 'Date', negated: true },
  DateLessThan: { family: 'Date', negated: false },
  DateLessThanEquals: { family: 'Date', negated: false },
  DateGreaterThan: { family: 'Date', negated: false },
  DateGreaterThanEquals: { family: 'Date', negated: false },
  Bool: { family: 'Bool', negated: false },
  BinaryEquals: { family: 'Binary', negated: false },
  IpAddress: { family: 'IpAddress', negated: false },
  NotIpAddress: { family: 'IpAddress', negated: true },
  ArnEquals: { family: 'Arn', negated: false },
  ArnLike: { family: 'Arn', negated: false },
  ArnNotEquals: { family: 'Arn', negated: true },
  ArnNotLike: { family: 'Arn', negated: true },
  Null: { family: 'Null', negated: false },
};

/** Splits `ForAllValues:StringLikeIfExists` into its parts; `undefined` for an operator IAM does not know. */
export function parseConditionOperator(name: string): ConditionOperator | undefined {
  let rest = name;
  let set: ConditionOperator['set'];
  const prefix = /^(ForAnyValue|ForAllValues):/.exec(rest);
  if (prefix) {
    set = prefix[1] as ConditionOperator['set'];
    rest = rest.slice(prefix[0].length);
  }
  let ifExists = false;
  if (rest.endsWith('IfExists') && rest !== 'IfExists') {
    ifExists = true;
    rest = rest.slice(0, -'IfExists'.length);
  }
  const known = Object.prototype.hasOwnProperty.call(BASE_OPERATORS, rest) ? BASE_OPERATORS[rest] : undefined;
  if (!known) return undefined;
  if (known.family === 'Null' && (ifExists || set)) return undefined;
  return { base: rest, family: known.family, negated: known.negated, ifExists, ...(set ? { set } : {}) };
}

// ---------------------------------------------------------------------------------------------------------------
// text

export interface ParsedPolicy {
  doc?: PolicyDocument;
  error?: string;
  /** Why parsing failed: characters outside IAM's allowed set, or not a JSON object. */
  code?: 'InvalidCharacters' | 'Syntax';
}

/** The first character IAM does not accept in a policy (allowed: tab, LF, CR, U+0020–U+00FF), or -1. */
function firstInvalidCharacter(text: string): number {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x09 || c === 0x0a || c === 0x0d) continue;
    if (c < 0x20 || c > 0xff) return i;
  }
  return -1;
}

/**
 * Parses policy text. Fails on characters IAM does not allow and on anything that is not a JSON object.
 * Does not validate the grammar: call `validatePolicy` on the result.
 */
export function parsePolicyText(text: string): ParsedPolicy {
  const bad = firstInvalidCharacter(text);
  if (bad >= 0) {
    const hex = text.charCodeAt(bad).toString(16).toUpperCase().padStart(4, '0');
    return {
      code: 'InvalidCharacters',
      error: `The policy contains invalid characters (U+${hex} at offset ${bad}); only tab, line feed, carriage return and U+0020 through U+00FF are allowed.`,
    };
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { code: 'Syntax', error: SYNTAX_ERROR };
  }
  if (!isPlainObject(value)) return { code: 'Syntax', error: SYNTAX_ERROR };
  return { doc: value as unknown as PolicyDocument };
}

const JSON_WHITESPACE = new Set([' ', '\t', '\n', '\r']);

/**
 * The size IAM counts against policy quotas: IAM does not count white space. We drop every JSON white-space
 * character (space, tab, LF, CR) that lies OUTSIDE string literals and count the remaining UTF-16 code units
 * (policies are restricted to U+0000–U+00FF, so this equals the character count). White space inside a string
 * value (e.g. a `Sid` or a condition value with a space) is content and is counted.
 */
export function policySize(text: string): number {
  let size = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (inString) {
      size++;
      if (ch === '\\' && i + 1 < text.length) {
        size++;
        i++;
      } else if (ch === '"') {
        inString = false;
      }
      continue;
    }
    if (JSON_WHITESPACE.has(ch)) continue;
    if (ch === '"') inString = true;
    size++;
  }
  return size;
}

// ---------------------------------------------------------------------------------------------------------------
// grammar

function isPlainObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/** A string or a non-empty array of strings. */
function isStringList(x: unknown): x is string | string[] {
  if (typeof x === 'string') return true;
  return Array.isArray(x) && x.length > 0 && x.every((v) => typeof v === 'string');
}

function unknownField(obj: Record<string, unknown>, allowed: string[]): string | null {
  const extra = Object.keys(obj).find((k) => !allowed.includes(k));
  return extra === undefined ? null : `Unknown field ${extra}`;
}

/**
 * Checks a parsed policy document; returns null when it is valid or the error message AWS would give.
 * kind: 'identity' (IAM inline/managed policy, also permissions boundaries), 'trust' (role trust policy),
 * 'resource' (generic resource-based policy), 'bucket' (S3 bucket policy), 'key' (KMS key policy).
 */
export function validatePolicy(doc: unknown, kind: PolicyKind): string | null {
  if (!isPlainObject(doc)) return SYNTAX_ERROR;
  const extra = unknownField(doc, TOP_FIELDS);
  if (extra) return extra;
  if (doc.Version !== undefined && (typeof doc.Version !== 'string' || !VERSIONS.includes(doc.Version)))
    return 'Invalid Version';
  if (doc.Id !== undefined && typeof doc.Id !== 'string') return SYNTAX_ERROR;
  if (doc.Statement === undefined) return 'Missing required field Statement';
  const statements: unknown[] = Array.isArray(doc.Statement) ? doc.Statement : [doc.Statement];
  if (statements.length === 0) return SYNTAX_ERROR;
  const sids = new Set<string>();
  for (const st of statements) {
    const problem = validateStatement(st, kind, sids);
    if (problem) return problem;
  }
  return null;
}

function validateStatement(st: unknown, kind: PolicyKind, sids: Set<string>): string | null {
  if (!isPlainObject(st)) return SYNTAX_ERROR;
  return (
    unknownField(st, STATEMENT_FIELDS) ??
    validateSid(st.Sid, kind, sids) ??
    validateEffect(st) ??
    validatePrincipalElement(st, kind) ??
    validateActions(st, kind) ??
    validateResources(st, kind) ??
    validateCondition(st.Condition)
  );
}

function validateSid(sid: unknown, kind: PolicyKind, sids: Set<string>): string | null {
  if (sid === undefined) return null;
  if (typeof sid !== 'string') return SYNTAX_ERROR;
  if ((kind === 'identity' || kind === 'trust') && !/^[0-9A-Za-z]*$/.test(sid)) {
    return 'Statement IDs (SID) must be alpha-numeric. Check that your input satisfies the regular expression [0-9A-Za-z]*';
  }
  if (sid !== '' && sids.has(sid)) return 'Statement IDs (SID) in a single policy must be unique.';
  sids.add(sid);
  return null;
}

function validateEffect(st: Record<string, unknown>): string | null {
  if (st.Effect === undefined) return 'Missing required field Effect';
  if (st.Effect !== 'Allow' && st.Effect !== 'Deny') return `Invalid effect: ${String(st.Effect)}`;
  return null;
}

function validatePrincipalElement(st: Record<string, unknown>, kind: PolicyKind): string | null {
  const has = st.Principal !== undefined;
  const hasNot = st.NotPrincipal !== undefined;
  if (kind === 'identity') return has || hasNot ? 'Policy document should not specify a principal.' : null;
  if (has && hasNot) return SYNTAX_ERROR;
  if (!has && !hasNot) return 'Missing required field Principal';
  return validatePrincipal(has ? st.Principal : st.NotPrincipal);
}

function validatePrincipal(p: unknown): string | null {
  if (p === '*') return null;
  if (!isPlainObject(p)) return 'Invalid principal in policy';
  const keys = Object.keys(p);
  if (keys.length === 0) return 'Invalid principal in policy';
  for (const k of keys) {
    if (!PRINCIPAL_KINDS.includes(k)) return 'Invalid principal in policy';
    const values = p[k];
    if (!isStringList(values)) return 'Invalid principal in policy';
    for (const v of typeof values === 'string' ? [values] : values) {
      if (!isValidPrincipalValue(k, v)) return `Invalid principal in policy: "${k}":"${v}"`;
    }
  }
  return null;
}

function isValidPrincipalValue(kind: string, v: string): boolean {
  if (v === '') return false;
  // unique ids (AROA…, AIDA…) are accepted by the grammar; whether they resolve is checked by the caller
  if (kind === 'AWS')
    return (
      v === '*' ||
      /^\d{12}$/.test(v) ||
      /^A(RO|ID)A[A-Z0-9]{12,}$/.test(v) ||
      /^arn:[a-z-]+:(iam|sts)::\d{12}:\S+$/.test(v)
    );
  return !/\s/.test(v);
}

const ACTION_RE = /^[A-Za-z0-9-]+:[A-Za-z0-9*?_-]+$/;

function validateActions(st: Record<string, unknown>, kind: PolicyKind): string | null {
  if (st.Action !== undefined && st.NotAction !== undefined) return SYNTAX_ERROR;
  const raw = st.Action ?? st.NotAction;
  if (raw === undefined || (Array.isArray(raw) && raw.length === 0)) return 'Policy statement must contain actions.';
  if (!isStringList(raw)) return SYNTAX_ERROR;
  for (const a of typeof raw === 'string' ? [raw] : raw) {
    if (a === '*') continue;
    if (!/^[^:]+:/.test(a)) return VENDOR_ERROR;
    if (!ACTION_RE.test(a)) return SYNTAX_ERROR;
    if (kind === 'trust' && st.Action !== undefined && !/^sts:/i.test(a))
      return 'AssumeRole policy may only specify STS AssumeRole actions.';
  }
  return null;
}

function validateResources(st: Record<string, unknown>, kind: PolicyKind): string | null {
  if (kind === 'trust') {
    if (st.Resource !== undefined) return 'Has prohibited field Resource';
    if (st.NotResource !== undefined) return 'Has prohibited field NotResource';
    return null;
  }
  if (st.Resource !== undefined && st.NotResource !== undefined) return SYNTAX_ERROR;
  const raw = st.Resource ?? st.NotResource;
  if (raw === undefined || (Array.isArray(raw) && raw.length === 0)) return 'Policy statement must contain resources.';
  if (!isStringList(raw)) return SYNTAX_ERROR;
  for (const r of typeof raw === 'string' ? [raw] : raw) {
    if (r !== '*' && !r.startsWith('arn:')) return `Resource ${r} must be in ARN format or "*".`;
  }
  return null;
}

function isConditionValue(v: unknown): boolean {
  const scalar = (x: unknown) =>
    typeof x === 'string' || typeof x === 'boolean' || (typeof x === 'number' && Number.isFinite(x));
  return scalar(v) || (Array.isArray(v) && v.length > 0 && v.every(scalar));
}

function validateCondition(cond: unknown): string | null {
  if (cond === undefined) return null;
  if (!isPlainObject(cond)) return SYNTAX_ERROR;
  for (const [op, block] of Object.entries(cond)) {
    if (!parseConditionOperator(op)) return `Invalid Condition type : ${op}`;
    if (!isPlainObject(block)) return SYNTAX_ERROR;
    for (const [key, value] of Object.entries(block)) {
      if (!/^[^:]+:./.test(key)) return VENDOR_ERROR;
      if (!isConditionValue(value)) return SYNTAX_ERROR;
    }
  }
  return null;
}
