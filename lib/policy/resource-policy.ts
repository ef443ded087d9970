import { statementKey } from './compare';
import type { Statement } from './types';

/**
 * Resource policies (bucket and key policies) edited without re-serialising what the service does not own.
 *
 * A resource policy is shared with its owner and other tenants: every statement the service did not write is
 * kept as the exact text AWS returned (a condition value such as 12345678901234567891 must not come back as
 * 12345678901234567000), and the service removes only statements equal to what it wrote (ownership by content,
 * never by Sid prefix: an owner's statement whose Sid happens to look like the service's is the owner's).
 */

interface RawStatement {
  /** the statement's text exactly as read (or as the service serialised it) */
  raw: string;
  value: Statement;
}

export interface RawPolicy {
  /** top-level members other than Statement, in order, with their raw values */
  members: { name: string; raw: string }[];
  /** where Statement sat among the members (index into members, before which it is written) */
  statementIndex: number;
  statements: RawStatement[];
}

const WS = /\s/;

function skipWs(text: string, i: number): number {
  while (i < text.length && WS.test(text[i])) i++;
  return i;
}

function skipString(text: string, i: number): number {
  // text[i] === '"'
  for (let j = i + 1; j < text.length; j++) {
    if (text[j] === '\\') j++;
    else if (text[j] === '"') return j + 1;
  }
  throw new SyntaxError('unterminated string in policy');
}

/** The index just past the JSON value starting at `i`. */
function skipValue(text: string, i: number): number {
  const c = text[i];
  if (c === '"') return skipString(text, i);
  if (c === '{' || c === '[') {
    let depth = 0;
    for (let j = i; j < text.length; j++) {
      const d = text[j];
      if (d === '"') {
        j = skipString(text, j) - 1;
      } else if (d === '{' || d === '[') depth++;
      else if (d === '}' || d === ']') {
        depth--;
        if (depth === 0) return j + 1;
      }
    }
    throw new SyntaxError('unbalanced policy text');
  }
  let j = i;
  while (j < text.length && !/[,\]}\s]/.test(text[j])) j++;
  if (j === i) throw new SyntaxError(`unexpected character in policy at ${i}`);
  return j;
}

/** Splits the elements of the array starting at `i` into their raw texts. */
function arrayElements(text: string, i: number): string[] {
  const out: string[] = [];
  let j = skipWs(text, i + 1);
  if (text[j] === ']') return out;
  for (;;) {
    const end = skipValue(text, j);
    out.push(text.slice(j, end));
    j = skipWs(text, end);
    if (text[j] === ']') return out;
    if (text[j] !== ',') throw new SyntaxError('malformed statement list');
    j = skipWs(text, j + 1);
  }
}

/** Parses a policy's text, keeping each statement's raw text. Throws SyntaxError on text that is not a JSON object. */
export function parseRawPolicy(text: string): RawPolicy {
  const members: RawPolicy['members'] = [];
  let statements: RawStatement[] = [];
  let statementIndex = -1;
  let i = skipWs(text, 0);
  if (text[i] !== '{') throw new SyntaxError('a policy is a JSON object');
  i = skipWs(text, i + 1);
  while (text[i] !== '}') {
    if (text[i] !== '"') throw new SyntaxError('malformed policy member');
    const nameEnd = skipString(text, i);
    const name = JSON.parse(text.slice(i, nameEnd)) as string;
    i = skipWs(text, nameEnd);
    if (text[i] !== ':') throw new SyntaxError('malformed policy member');
    i = skipWs(text, i + 1);
    const end = skipValue(text, i);
    if (name === 'Statement') {
      statementIndex = members.length;
      const raws = text[i] === '[' ? arrayElements(text, i) : [text.slice(i, end)];
      statements = raws.map((raw) => ({ raw, value: JSON.parse(raw) as Statement }));
    } else {
      members.push({ name, raw: text.slice(i, end) });
    }
    i = skipWs(text, end);
    if (text[i] === ',') i = skipWs(text, i + 1);
    else if (text[i] !== '}') throw new SyntaxError('malformed policy');
  }
  if (skipWs(text, i + 1) !== text.length) throw new SyntaxError('text after the policy object');
  return { members, statementIndex: statementIndex < 0 ? members.length : statementIndex, statements };
}

/** A new policy holding only the given statements. */
const emptyRawPolicy = (): RawPolicy => ({
  members: [{ name: 'Version', raw: '"2012-10-17"' }],
  statementIndex: 1,
  statements: [],
});

/** The policy's text: members and foreign statements exactly as read, the service's own compactly serialised. */
export function renderRawPolicy(p: RawPolicy): string {
  const parts = p.members.map((m) => `${JSON.stringify(m.name)}:${m.raw}`);
  parts.splice(p.statementIndex, 0, `"Statement":[${p.statements.map((s) => s.raw).join(',')}]`);
  return `{${parts.join(',')}}`;
}

export interface StatementEdit {
  /** statements the service wrote before (from its record): removed where an equal statement is found */
  remove: Statement[];
  /** statements the service wants present */
  add: Statement[];
}

export interface EditResult {
  policy: RawPolicy;
  /** true when the text would change */
  changed: boolean;
  /** statements not equal to anything the service wrote, whose Sid is one the service needs: never overwritten */
  collisions: Statement[];
}

/**
 * Removes the service's previous statements (equal by content) and adds the new ones, keeping every other
 * statement as it was. A statement already present exactly as wanted is kept in place (no change).
 */
export function editStatements(current: RawPolicy | undefined, edit: StatementEdit): EditResult {
  const base = current ?? emptyRawPolicy();
  const removeKeys = new Set(edit.remove.map(statementKey));
  const addKeys = new Set(edit.add.map(statementKey));
  const kept: RawStatement[] = [];
  const present = new Set<string>();
  for (const s of base.statements) {
    const key = statementKey(s.value);
    if (addKeys.has(key) && !present.has(key)) {
      present.add(key);
      kept.push(s);
    } else if (!removeKeys.has(key)) kept.push(s);
  }
  const wantedSids = new Set(edit.add.map((s) => s.Sid).filter((x): x is string => !!x));
  const collisions = kept
    .filter((s) => s.value.Sid !== undefined && wantedSids.has(s.value.Sid) && !addKeys.has(statementKey(s.value)))
    .map((s) => s.value);
  const added = edit.add
    .filter((s) => !present.has(statementKey(s)))
    .map((value) => ({ raw: JSON.stringify(value), value }));
  const statements = [...kept, ...added];
  const changed =
    statements.length !== base.statements.length ||
    added.length > 0 ||
    (current === undefined && statements.length > 0);
  return { policy: { ...base, statements }, changed, collisions };
}

/** The service's statements as they stand in a policy: those equal to what it wrote. */
export function presentStatements(current: RawPolicy | undefined, wrote: Statement[]): Statement[] {
  const keys = new Set((current?.statements ?? []).map((s) => statementKey(s.value)));
  return wrote.filter((s) => keys.has(statementKey(s)));
}
