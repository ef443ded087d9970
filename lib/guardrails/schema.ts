import * as z from 'zod';
import {
  ACCESS_LEVELS,
  ACCOUNT_ID_PATTERN,
  CROSS_ACCOUNT_MODES,
  TOOLS,
  bucketNameSchema,
  bucketPrefixSchema,
  k8sLabelSchema,
  kmsKeyArnSchema,
} from '../onboarding/request/validators';
import { accountOfArn } from '../arn';

/**
 * The guardrails file (GUARDRAILS=/path, YAML or JSON): which callers may onboard what. Every object is strict,
 * every ARN and account id is validated, and every account a rule (or a KMS key) refers to must be listed under
 * `accounts`. Semantics of each field: lib/guardrails/check.ts.
 */

/** Rule name a 403 carries when no rule matches the caller at all; no rule may be called this. */
export const NO_RULE_FOR_CALLER = 'no-rule-for-caller';

// ---------- leaves ----------

/** YAML reads an unquoted 12-digit account id as a number: say so instead of "expected string". */
const accountId = z
  .string({
    error: (iss) =>
      typeof iss.input === 'number'
        ? 'must be a quoted string: YAML reads an unquoted account id as a number'
        : 'must be a 12-digit AWS account id (a string)',
  })
  .regex(ACCOUNT_ID_PATTERN, 'must be a 12-digit AWS account id');

const SEG = '[\\w+=,.@-]+';
const LAST_SEG_GLOB = '[\\w+=,.@*-]+';

/**
 * An IAM principal ARN a caller may sign as, `*` allowed in the last `/` segment only (where it matches any run
 * of characters other than `/`): `arn:aws:iam::<acct>:role/[path/]<name>`, `…:user/[path/]<name>`,
 * `…:root`, `arn:aws:sts::<acct>:assumed-role/<role>/<session>`. The lone `*` matches every caller.
 */
const CALLER_PATTERN = new RegExp(
  `^arn:aws:(iam::\\d{12}:(root|(role|user)/(${SEG}/)*${LAST_SEG_GLOB})|sts::\\d{12}:assumed-role/${SEG}/${LAST_SEG_GLOB})$`,
);

const callerPattern = z
  .string()
  .max(2048, 'must be at most 2048 characters (IAM ARN limit)')
  .refine((v) => v === '*' || CALLER_PATTERN.test(v), {
    message:
      'must be "*" or an IAM principal ARN in the aws partition: arn:aws:iam::<account>:role/[path/]<name>, ' +
      'arn:aws:iam::<account>:user/[path/]<name>, arn:aws:iam::<account>:root or ' +
      'arn:aws:sts::<account>:assumed-role/<role>/<session>; "*" is allowed in the last segment only',
  });

/** An IAM role ARN, `*` allowed in the last segment only; the lone `*` matches every role in the rule's accounts. */
const ROLE_PATTERN = new RegExp(`^arn:aws:iam::\\d{12}:role/(${SEG}/)*${LAST_SEG_GLOB}$`);

const rolePattern = z
  .string()
  .max(2048, 'must be at most 2048 characters (IAM ARN limit)')
  .refine((v) => v === '*' || ROLE_PATTERN.test(v), {
    message:
      'must be "*" or an IAM role ARN arn:aws:iam::<account>:role/[path/]<name> in the aws partition; "*" is allowed in the last segment only',
  });

/** `account/region/name`; the account is 12 digits or `*`, region and name may contain `*`. */
const CLUSTER_PATTERN = /^(\d{12}|\*)\/[a-z0-9*-]+\/[A-Za-z0-9_*-]+$/;

const clusterPattern = z
  .string()
  .max(200, 'must be at most 200 characters (cluster pattern)')
  .regex(
    CLUSTER_PATTERN,
    'must be <account>/<region>/<cluster name> (e.g. 200000000002/eu-west-1/demo); the account is 12 digits or "*", region and name may contain "*"',
  );

const namespacePrefix = z
  .string()
  .min(1, 'must be 1-62 characters (namespace prefix)')
  .max(62, 'must be 1-62 characters (namespace prefix)')
  .regex(
    /^[a-z0-9][-a-z0-9]*$/,
    'must start with a lowercase letter or digit and contain only lowercase letters, digits and - (namespace prefix)',
  );

/** Arrays in the file: at least one entry (absent means the default, never an empty list) and no duplicates. */
function list<T extends z.ZodType>(item: T, what: string) {
  return z
    .array(item)
    .min(1, `must list at least one ${what} (leave the field out for its default)`)
    .superRefine((values, ctx) => {
      const seen = new Set<string>();
      values.forEach((v, i) => {
        const key = JSON.stringify(v);
        if (seen.has(key)) ctx.addIssue({ code: 'custom', path: [i], message: `duplicate ${what}` });
        seen.add(key);
      });
    });
}

// ---------- parts ----------

const accountSettingsSchema = z.preprocess(
  (v) => (v === null ? {} : v), // `"200000000002":` with nothing after it, in YAML
  z.strictObject({
    externalId: z
      .string()
      .min(2, 'must be 2-1224 characters (sts:ExternalId)')
      .max(1224, 'must be 2-1224 characters (sts:ExternalId)')
      .regex(/^[\w+=,.@:/-]*$/, 'may contain only letters, digits and _ + = , . @ : / - (sts:ExternalId)')
      .optional(),
    permissionsBoundaryArn: z
      .string()
      .max(2048, 'must be at most 2048 characters (IAM ARN limit)')
      .regex(
        new RegExp(`^arn:aws:iam::\\d{12}:policy/(${SEG}/)*[\\w+=,.@-]{1,128}$`),
        'must be an IAM policy ARN arn:aws:iam::<account>:policy/[path/]<name> in the aws partition',
      )
      .optional(),
  }),
);

const defaultsSchema = z.strictObject({
  rolePath: z
    .string()
    .max(512, 'must be at most 512 characters (IAM role path)')
    .regex(
      new RegExp(`^/(${SEG}/)*$`),
      'must be an IAM path: / or /<segment>/…/ (segments of letters, digits and _ + = , . @ -)',
    )
    .optional(),
  roleNamePrefix: z
    .string()
    .max(32, 'must be at most 32 characters (role name prefix)')
    .regex(/^[\w+=,.@-]*$/, 'may contain only letters, digits and _ + = , . @ - (IAM role name characters)')
    .optional(),
});

const namespacesSchema = z.union(
  [
    z.literal('*'),
    z
      .strictObject({
        exact: list(k8sLabelSchema, 'namespace').optional(),
        prefixes: list(namespacePrefix, 'namespace prefix').optional(),
      })
      .refine((n) => n.exact !== undefined || n.prefixes !== undefined, 'must list exact namespaces, prefixes or both'),
  ],
  { error: 'must be "*" (every namespace) or { exact: [...], prefixes: [...] }' },
);

const bucketEntrySchema = z.strictObject({
  /** a bucket name, or `*`: every bucket of the account */
  name: z.string().superRefine((v, ctx) => {
    if (v === '*') return;
    const issue = bucketNameSchema.safeParse(v).error?.issues[0];
    if (issue)
      ctx.addIssue({
        code: 'custom',
        message: `must be "*" (every bucket of the account) or a bucket name; a bucket name ${issue.message}`,
      });
  }),
  accountId,
  /** the request prefix must start with one of these (normalised to end with `/`); absent: the whole bucket */
  prefixes: list(bucketPrefixSchema, 'prefix').optional(),
});

const jwtSchema = z
  .strictObject({
    subjects: list(
      z.string().min(1, 'must not be empty').max(1024, 'must be at most 1024 characters'),
      'subject',
    ).optional(),
    groups: list(
      z.string().min(1, 'must not be empty').max(1024, 'must be at most 1024 characters'),
      'group',
    ).optional(),
  })
  .refine((j) => j.subjects !== undefined || j.groups !== undefined, 'must list subjects, groups or both');

const ruleSchema = z
  .strictObject({
    name: z
      .string()
      .regex(
        /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/,
        'must be 1-64 letters, digits and . _ -, starting with a letter or digit',
      )
      .refine((n) => n !== NO_RULE_FOR_CALLER, `"${NO_RULE_FOR_CALLER}" is reserved`),
    description: z.string().max(1024, 'must be at most 1024 characters').optional(),
    callers: list(callerPattern, 'caller').optional(),
    jwt: jwtSchema.optional(),
    accounts: list(accountId, 'account'),
    clusters: list(clusterPattern, 'cluster').optional(),
    namespaces: namespacesSchema.optional(),
    buckets: list(bucketEntrySchema, 'bucket'),
    tools: list(z.enum(TOOLS), 'tool').optional(),
    access: list(z.enum(ACCESS_LEVELS), 'access level').optional(),
    ec2InstanceRoles: list(rolePattern, 'instance role').optional(),
    crossAccountModes: list(z.enum(CROSS_ACCOUNT_MODES), 'cross-account mode').optional(),
    /** KMS keys this rule's callers may grant: exact key ARNs, never aliases (absent: none) */
    kmsKeys: list(kmsKeyArnSchema, 'KMS key').optional(),
  })
  .superRefine((r, ctx) => {
    if (r.callers === undefined && r.jwt === undefined) {
      ctx.addIssue({ code: 'custom', message: 'must list callers, jwt or both (who the rule is for)' });
    }
    if (r.clusters !== undefined && r.namespaces === undefined) {
      ctx.addIssue({ code: 'custom', path: ['namespaces'], message: 'is required when the rule lists clusters' });
    }
    if (r.namespaces !== undefined && r.clusters === undefined) {
      ctx.addIssue({ code: 'custom', path: ['clusters'], message: 'is required when the rule lists namespaces' });
    }
    if (r.clusters === undefined && r.ec2InstanceRoles === undefined) {
      ctx.addIssue({
        code: 'custom',
        message: 'must list clusters (eks workloads), ec2InstanceRoles (ec2 workloads) or both',
      });
    }
    // a workload in an account the rule does not list can never match: say so now rather than at request time
    r.clusters?.forEach((c, i) => {
      const account = c.split('/')[0];
      if (account !== '*' && !r.accounts.includes(account)) {
        ctx.addIssue({
          code: 'custom',
          path: ['clusters', i],
          message: `account ${account} is not in the rule's accounts`,
        });
      }
    });
    r.ec2InstanceRoles?.forEach((arn, i) => {
      const account = accountOfArn(arn);
      if (arn !== '*' && !r.accounts.includes(account)) {
        ctx.addIssue({
          code: 'custom',
          path: ['ec2InstanceRoles', i],
          message: `account ${account} is not in the rule's accounts`,
        });
      }
    });
  });

export const guardrailsSchema = z
  .strictObject({
    version: z.literal(1, { error: 'must be 1 (the only guardrails file version)' }),
    defaults: defaultsSchema.optional(),
    /** the accounts the service may touch, with their settings */
    accounts: z
      .record(
        z.string().regex(ACCOUNT_ID_PATTERN, 'account keys must be 12-digit AWS account ids'),
        accountSettingsSchema,
      )
      .refine((a) => Object.keys(a).length > 0, 'must list at least one account'),
    /** refused: keys are granted per rule (rules[].kmsKeys); kept here only to say so */
    kmsKeys: z.unknown().optional(),
    rules: z.array(ruleSchema).min(1, 'must list at least one rule'),
  })
  .superRefine((g, ctx) => {
    const listed = new Set(Object.keys(g.accounts));
    const unlisted = (account: string, path: PropertyKey[], what: string) => {
      if (account !== '*' && !listed.has(account)) {
        ctx.addIssue({ code: 'custom', path, message: `${what} ${account} is not listed under accounts` });
      }
    };
    for (const [id, settings] of Object.entries(g.accounts)) {
      const arn = settings.permissionsBoundaryArn;
      if (arn !== undefined && accountOfArn(arn) !== id) {
        ctx.addIssue({
          code: 'custom',
          path: ['accounts', id, 'permissionsBoundaryArn'],
          message: `must be a policy in account ${id}`,
        });
      }
    }
    if (g.kmsKeys !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['kmsKeys'],
        message:
          "must move under the rules that may grant them (rules[].kmsKeys): a top-level list let every rule's callers grant every key",
      });
    }
    const names = new Set<string>();
    g.rules.forEach((r, i) => {
      if (names.has(r.name))
        ctx.addIssue({ code: 'custom', path: ['rules', i, 'name'], message: `duplicate rule name "${r.name}"` });
      names.add(r.name);
      r.accounts.forEach((a, j) => unlisted(a, ['rules', i, 'accounts', j], 'account'));
      r.clusters?.forEach((c, j) => unlisted(c.split('/')[0], ['rules', i, 'clusters', j], 'cluster account'));
      r.buckets.forEach((b, j) => unlisted(b.accountId, ['rules', i, 'buckets', j, 'accountId'], 'bucket account'));
      r.kmsKeys?.forEach((arn, j) => unlisted(accountOfArn(arn), ['rules', i, 'kmsKeys', j], 'key account'));
      r.ec2InstanceRoles?.forEach((arn, j) => {
        if (arn !== '*') unlisted(accountOfArn(arn), ['rules', i, 'ec2InstanceRoles', j], 'instance role account');
      });
    });
  });

/** A loaded, validated guardrails file (prefixes normalised to end with `/`). */
export type Guardrails = z.output<typeof guardrailsSchema>;
export type GuardrailsRule = Guardrails['rules'][number];
/** What a guardrails file may contain, before normalisation. */
export type GuardrailsInput = z.input<typeof guardrailsSchema>;
