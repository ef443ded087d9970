import { ACCESS_POINT_TOOLS } from '../policy/access-points';
import type { BucketRef, Tool } from './types';
import { createHash } from 'node:crypto';
import { yamlLib } from '../yaml';

/**
 * Serialisation helpers shared by the renderers. User values only ever reach YAML through the `yaml`
 * library (never string concatenation), and reach shell text only through `shellQuote`.
 */

const YAML_OPTIONS = {
  lineWidth: 0, // never fold long scalars (ARNs, prefixes): one value, one line
  aliasDuplicateObjects: false, // never emit &anchors/*aliases
} as const;

/** One YAML document from a plain object. */
export function toYaml(value: unknown): string {
  return yamlLib().stringify(value, YAML_OPTIONS);
}

/** A multi-document YAML stream, documents separated by `---`. */
export function toYamlStream(values: readonly unknown[]): string {
  return values.map(toYaml).join('---\n');
}

/** Prefixes fixed comment lines (never user values) to a text. */
export function withComments(comments: readonly string[], text: string): string {
  return comments.map((c) => `# ${c}\n`).join('') + text;
}

/** POSIX single-quoting: safe for any string, including `'`, newlines and `$`. */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** The prefix without leading or trailing '/'; undefined when nothing is left. */
export function trimPrefix(prefix: string | undefined): string | undefined {
  if (prefix === undefined) return undefined;
  const trimmed = prefix.replace(/^\/+/, '').replace(/\/+$/, '');
  return trimmed === '' ? undefined : trimmed;
}

const MAX_NAME = 63;
const HASH_LEN = 8;

/**
 * A Kubernetes DNS-label name (lowercase [a-z0-9-], at most 63, starting and ending alphanumeric) built
 * deterministically from the given parts. Too-long names are cut and suffixed with a hash of the full input,
 * so different inputs keep different names.
 */
export function k8sName(...parts: ReadonlyArray<string | undefined>): string {
  const raw = parts.filter((p): p is string => p !== undefined && p !== '').join('-');
  const name = raw
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/-+/g, '-')
    .replace(/^-+|-+$/g, '');
  const base = name === '' ? 'x' : name;
  if (base.length <= MAX_NAME) return base;
  const hash = createHash('sha256').update(raw).digest('hex').slice(0, HASH_LEN);
  const head = base.slice(0, MAX_NAME - HASH_LEN - 1).replace(/-+$/, '');
  return `${head}-${hash}`;
}

/**
 * The name a tool's snippet gives the bucket: the bucket's own, or in access-point mode the access point's alias or
 * ARN, as the tool takes it (lib/policy/access-points.ts `ACCESS_POINT_TOOLS`, read from each tool's source).
 */
export function addressedBucket(tool: Tool, bucket: BucketRef): string {
  const ap = bucket.accessPoint;
  if (!ap) return bucket.name;
  const use = ACCESS_POINT_TOOLS[tool];
  return 'name' in use && use.name === 'arn' ? ap.arn : ap.alias;
}
