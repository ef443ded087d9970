import { accountOfArn } from '../arn';
import { NotAllowedError } from '../errors';
import { modeOf, type OnboardingInput } from '../onboarding/model/onboarding';
import { NO_RULE_FOR_CALLER, type Guardrails, type GuardrailsRule } from './schema';

/**
 * Whether a request stays inside the guardrails. Pure: no I/O, no clock.
 *
 * A rule applies to a caller whose principal ARN matches one of its `callers` (exact, or `*` in the last
 * segment matching anything but `/`; the lone `*` matches every caller) or whose JWT subject or one of whose
 * groups it lists. The request is allowed by the first applying rule that allows all of it:
 * - eks: every cluster matches one of `clusters` (account/region/name, `*` per segment) and the namespace is
 *   `namespaces` (`*`, an exact name or one starting with a prefix); ec2: the instance role matches one of
 *   `ec2InstanceRoles` (`*`: any role; else like callers). A rule without clusters allows no eks workload, one
 *   without ec2InstanceRoles no ec2 workload.
 * - the workload account, and the role account when the role lives in the bucket account, are in `accounts`;
 * - the bucket (name, and account: the workload's unless given) is one of `buckets` (name `*`: any bucket of
 *   that account). The request prefix, normalised to end with `/`, must start with one of the entry's
 *   `prefixes`; a request without prefix asks for the whole bucket, allowed only by an entry without prefixes;
 * - `tools`, `access` and `crossAccountModes` (absent: all) contain the request's (cross-account mode only
 *   when bucket and workload accounts differ);
 * - a KMS key is a key ARN (never an alias) listed in the rule's own `kmsKeys`;
 * and, whatever the rule: every
 * account involved (clusters, instance role, workload, bucket, role, key) is listed in the top-level `accounts`.
 *
 * Refusals are NotAllowedError: `rule` is `no-rule-for-caller` when no rule applies to the caller, else the
 * closest rule (the applying one with the fewest objections, first in file order on a tie), and the message
 * names every field of the request that rule refuses and what it allows.
 */

export interface Caller {
  /** the IAM principal that signed the request */
  principal?: string;
  /** a verified JWT's subject and groups */
  jwt?: { sub?: string; groups?: string[] };
}

/** A glob in which `*` matches any run of characters except `/`; everything else is literal. */
function globMatches(pattern: string, value: string): boolean {
  if (!pattern.includes('*')) return pattern === value;
  const source = pattern
    .split('*')
    .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('[^/]*');
  return new RegExp(`^${source}$`).test(value);
}

function callerMatches(rule: GuardrailsRule, caller: Caller): boolean {
  const { principal, jwt } = caller;
  if (principal !== undefined && rule.callers?.some((p) => p === '*' || globMatches(p, principal))) return true;
  if (jwt !== undefined && rule.callers?.includes('*')) return true;
  if (jwt?.sub !== undefined && rule.jwt?.subjects?.includes(jwt.sub)) return true;
  if (jwt?.groups?.some((g) => rule.jwt?.groups?.includes(g))) return true;
  return false;
}

const q = (v: string): string => JSON.stringify(v);
const listOf = (values: readonly string[]): string => `[${values.join(', ')}]`;

/** The request prefix as the rules compare it: ending with `/`; undefined for the whole bucket. */
function normalisedPrefix(prefix: string | undefined): string | undefined {
  if (prefix === undefined || prefix === '') return undefined;
  return prefix.endsWith('/') ? prefix : `${prefix}/`;
}

const isAlias = (key: string): boolean => /^alias\//.test(key) || /^arn:[^:]*:kms:[^:]*:[^:]*:alias\//.test(key);

/** What the rule objects to in the request, one message per field. */
function ruleObjections(rule: GuardrailsRule, input: OnboardingInput): string[] {
  const out: string[] = [];
  const by = `is not allowed by rule ${q(rule.name)}`;
  const w = input.workload;
  const { mode, bucketAccount, roleAccount } = modeOf(input);

  // who: the workload
  const workloadAccounts = new Set<string>();
  if (w.type === 'eks') {
    w.clusters.forEach((c) => workloadAccounts.add(c.accountId));
    if (rule.clusters === undefined) {
      out.push(`eks workload ${by} (it lists no clusters; only ec2InstanceRoles)`);
    } else {
      for (const c of w.clusters) {
        const key = `${c.accountId}/${c.region}/${c.name}`;
        if (!rule.clusters.some((p) => globMatches(p, key)))
          out.push(`cluster ${q(key)} ${by} (allowed: ${listOf(rule.clusters)})`);
      }
      const ns = rule.namespaces;
      if (ns !== undefined && ns !== '*') {
        const ok = (ns.exact ?? []).includes(w.namespace) || (ns.prefixes ?? []).some((p) => w.namespace.startsWith(p));
        if (!ok) {
          const allowed = [
            ns.exact && `exact ${listOf(ns.exact)}`,
            ns.prefixes && `prefixes ${listOf(ns.prefixes)}`,
          ].filter(Boolean);
          out.push(`namespace ${q(w.namespace)} ${by} (allowed: ${allowed.join(', ')})`);
        }
      }
    }
  } else {
    workloadAccounts.add(accountOfArn(w.instanceRoleArn));
    if (rule.ec2InstanceRoles === undefined) {
      out.push(`ec2 workload ${by} (it lists no ec2InstanceRoles; only clusters)`);
    } else if (!rule.ec2InstanceRoles.some((p) => p === '*' || globMatches(p, w.instanceRoleArn))) {
      out.push(`ec2 instance role ${q(w.instanceRoleArn)} ${by} (allowed: ${listOf(rule.ec2InstanceRoles)})`);
    }
  }

  // where the role lives
  for (const account of workloadAccounts) {
    if (!rule.accounts.includes(account))
      out.push(`workload account ${q(account)} ${by} (allowed: ${listOf(rule.accounts)})`);
  }
  if (!workloadAccounts.has(roleAccount) && !rule.accounts.includes(roleAccount)) {
    out.push(`role account ${q(roleAccount)} (crossAccountMode ${mode}) ${by} (allowed: ${listOf(rule.accounts)})`);
  }
  if (mode !== 'same-account' && rule.crossAccountModes !== undefined && !rule.crossAccountModes.includes(mode)) {
    out.push(`crossAccountMode ${q(mode)} ${by} (allowed: ${listOf(rule.crossAccountModes)})`);
  }

  // what: bucket and prefix
  const entries = rule.buckets.filter(
    (b) => b.accountId === bucketAccount && (b.name === '*' || b.name === input.bucket.name),
  );
  if (entries.length === 0) {
    const allowed = rule.buckets.map((b) => `${b.name} in ${b.accountId}`);
    out.push(`bucket ${q(input.bucket.name)} in account ${q(bucketAccount)} ${by} (allowed: ${listOf(allowed)})`);
  } else {
    const prefix = normalisedPrefix(input.bucket.prefix);
    const ok = entries.some(
      (b) => b.prefixes === undefined || (prefix !== undefined && b.prefixes.some((p) => prefix.startsWith(p))),
    );
    if (!ok) {
      const allowed = [...new Set(entries.flatMap((b) => b.prefixes ?? []))];
      const asked = prefix === undefined ? '(none: the whole bucket)' : q(prefix);
      out.push(`bucket prefix ${asked} ${by} (allowed: prefixes ${listOf(allowed)} of bucket ${input.bucket.name})`);
    }
  }

  // how
  if (rule.tools !== undefined && !rule.tools.includes(input.tool))
    out.push(`tool ${q(input.tool)} ${by} (allowed: ${listOf(rule.tools)})`);
  if (rule.access !== undefined && !rule.access.includes(input.access))
    out.push(`access ${q(input.access)} ${by} (allowed: ${listOf(rule.access)})`);
  const key = input.bucket.kmsKeyArn;
  if (key !== undefined && !isAlias(key) && !(rule.kmsKeys ?? []).includes(key)) {
    out.push(`kmsKeyArn ${q(key)} ${by} (allowed: ${rule.kmsKeys?.length ? listOf(rule.kmsKeys) : 'no KMS key'})`);
  }
  return out;
}

/** What the guardrails refuse whatever the rule: KMS keys and accounts outside the file. */
function globalObjections(g: Guardrails, input: OnboardingInput): string[] {
  const out: string[] = [];
  const w = input.workload;
  const { bucketAccount, roleAccount } = modeOf(input);
  const involved = new Map<string, string>(); // account → what it is, first mention wins
  const note = (account: string, what: string) => {
    if (!involved.has(account)) involved.set(account, what);
  };
  if (w.type === 'eks') w.clusters.forEach((c) => note(c.accountId, 'cluster account'));
  else note(accountOfArn(w.instanceRoleArn), 'instance role account');
  note(bucketAccount, 'bucket account');
  note(roleAccount, 'role account');

  const key = input.bucket.kmsKeyArn;
  if (key !== undefined) {
    if (isAlias(key)) {
      out.push(
        `kmsKeyArn ${q(key)} is a key alias: guardrails allow key ARNs only (arn:aws:kms:<region>:<account>:key/<key id>)`,
      );
    } else {
      note(accountOfArn(key), 'KMS key account');
    }
  }
  for (const [account, what] of involved) {
    if (!Object.prototype.hasOwnProperty.call(g.accounts, account))
      out.push(`${what} ${q(account)} is not in the guardrails accounts`);
  }
  return out;
}

function describeCaller(caller: Caller): string {
  if (caller.principal !== undefined) return `caller ${q(caller.principal)}`;
  if (caller.jwt?.sub !== undefined) return `caller with JWT subject ${q(caller.jwt.sub)}`;
  if (caller.jwt !== undefined) return 'caller with a JWT without subject';
  return 'anonymous caller';
}

/**
 * The first rule that allows the whole request (semantics above), or a NotAllowedError naming what is out of
 * bounds and the closest rule.
 */
export function checkGuardrails(g: Guardrails, caller: Caller, input: OnboardingInput): { rule: string } {
  const applying = g.rules.filter((r) => callerMatches(r, caller));
  if (applying.length === 0) {
    throw new NotAllowedError(`${describeCaller(caller)} is not allowed by any guardrails rule`, NO_RULE_FOR_CALLER);
  }
  const global = globalObjections(g, input);
  let closest: { rule: string; own: string[] } | undefined;
  for (const rule of applying) {
    const own = ruleObjections(rule, input);
    if (own.length === 0 && global.length === 0) return { rule: rule.name };
    if (closest === undefined || own.length < closest.own.length) closest = { rule: rule.name, own };
  }
  const { rule, own } = closest as { rule: string; own: string[] };
  // objections that hold whatever the rule do not name one: say which rule they were checked with
  const message = own.length > 0 ? [...own, ...global].join('; ') : `${global.join('; ')} (closest rule ${q(rule)})`;
  throw new NotAllowedError(message, rule);
}
