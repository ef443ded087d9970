import * as z from 'zod';

/**
 * Small reusable zod schemas for the identifiers the API accepts. Runtime code: plain zod 4 only (no
 * zod-to-openapi). Descriptions and examples go through zod's own `.meta()`, which the OpenAPI generator in
 * scripts/openapi.ts reads.
 *
 * Every message names the rule it enforces, never echoes the rejected value, and reads after the field's path:
 * `bucket.name: must be 3-63 characters (S3 bucket naming rules)`.
 */

// ---------- AWS identifiers ----------

export const ACCOUNT_ID_PATTERN = /^\d{12}$/;
const REGION_PATTERN = /^[a-z]{2}(-gov)?-[a-z]+-\d$/;

export const accountIdSchema = z
  .string()
  .regex(ACCOUNT_ID_PATTERN, 'must be a 12-digit AWS account id')
  .meta({ description: 'A 12-digit AWS account id.', example: '200000000002' });

/** Regions of other partitions (aws-us-gov, aws-cn): their ARNs are not arn:aws:, which is all the service writes. */
const OTHER_PARTITION_REGION = /^(us-gov-|cn-)/;

export const regionSchema = z
  .string()
  .regex(REGION_PATTERN, 'must be an AWS region code such as eu-west-1')
  .refine((r) => !OTHER_PARTITION_REGION.test(r), {
    message:
      'must be a region of the aws partition: GovCloud (aws-us-gov) and China (aws-cn) regions use other ARN partitions, which this service does not support',
  })
  .meta({
    description: 'An AWS region code of the aws partition (GovCloud and China regions are refused).',
    example: 'eu-west-1',
  });

/** ARN partitions this service can act in. */
const SUPPORTED_PARTITION = 'aws';

const ARN_PARTITION = /^arn:([^:]*):/;

/** The partition of something that looks like an ARN, else undefined. */
function arnPartition(value: string): string | undefined {
  return ARN_PARTITION.exec(value)?.[1];
}

const PARTITION_MESSAGE = `only the ${SUPPORTED_PARTITION} partition is supported (arn:${SUPPORTED_PARTITION}:…)`;

/**
 * IAM role ARN in the `aws` partition: optional path (segments of IAM name characters, no `.`/`..` segment),
 * then a 1–64 character role name. Stricter than IAM (which allows any printable ASCII in a path) so that no
 * ARN we accept can carry `*`, `"`, `${…}` or `\` into a policy.
 */
const IAM_ROLE_ARN_PATTERN = /^arn:aws:iam::\d{12}:role\/([\w+=,.@-]+\/)*[\w+=,.@-]{1,64}$/;

export const iamRoleArnSchema = z
  .string()
  .max(2048, 'must be at most 2048 characters (IAM ARN limit)')
  .refine((v) => arnPartition(v) === undefined || arnPartition(v) === SUPPORTED_PARTITION, {
    message: PARTITION_MESSAGE,
    abort: true,
  })
  .regex(
    IAM_ROLE_ARN_PATTERN,
    'must be an IAM role ARN arn:aws:iam::<12-digit account>:role/[path/]<name> (name: 1-64 of A-Z a-z 0-9 _+=,.@-)',
  )
  .refine((v) => !/\/\.{1,2}\//.test(v), 'must not contain a "." or ".." path segment (IAM role ARN)')
  .meta({
    description: 'An IAM role ARN in the aws partition.',
    example: 'arn:aws:iam::200000000002:role/pbm-ec2-instance-role',
  });

const KMS_KEY_ARN_PATTERN = /^arn:aws:kms:[a-z0-9-]+:\d{12}:key\/([0-9a-f-]{36}|mrk-[0-9a-f]{32})$/;

export const kmsKeyArnSchema = z
  .string()
  .max(2048, 'must be at most 2048 characters (KMS key ARN)')
  .refine((v) => !/^alias\/|^arn:[^:]*:kms:[^:]*:[^:]*:alias\//.test(v), {
    message: 'must be a KMS key ARN, not an alias: use the key ARN (arn:aws:kms:<region>:<account>:key/<key id>)',
    abort: true,
  })
  .refine((v) => arnPartition(v) === undefined || arnPartition(v) === SUPPORTED_PARTITION, {
    message: PARTITION_MESSAGE,
    abort: true,
  })
  .regex(
    KMS_KEY_ARN_PATTERN,
    'must be a KMS key ARN arn:aws:kms:<region>:<12-digit account>:key/<key id> (a UUID or a multi-Region mrk- id)',
  )
  .meta({
    description: 'A KMS key ARN (single- or multi-Region key); aliases are not accepted.',
    example: 'arn:aws:kms:eu-west-1:300000000003:key/11111111-2222-3333-4444-555555555555',
  });

// ---------- S3 ----------

const BUCKET_NAME_RESERVED_PREFIXES = ['xn--', 'sthree-', 'amzn-s3-demo-'] as const;
const BUCKET_NAME_RESERVED_SUFFIXES = ['-s3alias', '--ol-s3', '.mrap', '--x-s3', '--table-s3'] as const;

const escapeRe = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The bucket naming rules as one ECMA-262 pattern (length aside), for documentation. */
export const BUCKET_NAME_DOC_PATTERN =
  `^(?!(${BUCKET_NAME_RESERVED_PREFIXES.map(escapeRe).join('|')}))` +
  `(?!.*(${BUCKET_NAME_RESERVED_SUFFIXES.map(escapeRe).join('|')})$)` +
  '(?!.*\\.\\.)(?!\\d{1,3}(\\.\\d{1,3}){3}$)[a-z0-9]([a-z0-9.-]*[a-z0-9])?$';

/**
 * S3 general purpose bucket naming rules
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html). One check per rule, so the
 * message says which one failed; BUCKET_NAME_DOC_PATTERN states them all at once for the OpenAPI document.
 */
export const bucketNameSchema = z
  .string()
  .min(3, 'must be 3-63 characters (S3 bucket naming rules)')
  .max(63, 'must be 3-63 characters (S3 bucket naming rules)')
  .regex(/^[a-z0-9.-]*$/, 'may contain only lowercase letters, digits, dots and hyphens (S3 bucket naming rules)')
  .regex(/^[a-z0-9](.*[a-z0-9])?$/s, 'must begin and end with a lowercase letter or digit (S3 bucket naming rules)')
  .regex(/^(?!.*\.\.)/s, 'must not contain two adjacent periods (S3 bucket naming rules)')
  .regex(/^(?!\d{1,3}(\.\d{1,3}){3}$)/, 'must not be formatted as an IP address (S3 bucket naming rules)')
  .regex(
    new RegExp(`^(?!(${BUCKET_NAME_RESERVED_PREFIXES.map(escapeRe).join('|')}))`),
    `must not start with a reserved prefix: ${BUCKET_NAME_RESERVED_PREFIXES.join(', ')} (S3 bucket naming rules)`,
  )
  .regex(
    new RegExp(`^(?!.*(${BUCKET_NAME_RESERVED_SUFFIXES.map(escapeRe).join('|')})$)`, 's'),
    `must not end with a reserved suffix: ${BUCKET_NAME_RESERVED_SUFFIXES.join(', ')} (S3 bucket naming rules)`,
  )
  .meta({
    description:
      'An S3 general purpose bucket name: 3-63 lowercase letters, digits, dots and hyphens, beginning and ending with a letter or digit, no "..", not an IP address, no reserved prefix or suffix.',
    example: 'demo-backups',
    // every check above in one pattern, for the OpenAPI document (a test proves they agree)
    pattern: BUCKET_NAME_DOC_PATTERN,
  });

const BUCKET_PREFIX_MAX = 512;

/** The prefix rules as one ECMA-262 pattern (length aside), for documentation. */
export const BUCKET_PREFIX_DOC_PATTERN =
  '^(?!/)(?!.*//)(?!(.*/)?\\.{1,2}(/|$))' +
  `(?![\\s\\S]{${BUCKET_PREFIX_MAX - 1}}[^/]$)` +
  '[\\x21\\x23-\\x29\\x2B-\\x3E\\x40-\\x5B\\x5D-\\x7A\\x7C\\x7E]+$';

/**
 * A key prefix inside a bucket. Printable ASCII only, without `"` `\` `{` `}` (policy and YAML safe; `{` also
 * rules out IAM policy variables `${…}`) and without the wildcards `*` `?`; no leading `/`, no `//`, no `.` or
 * `..` segment. Normalised to end with `/`; the limit of 512 characters applies to the normalised value, so
 * what is accepted always parses again unchanged.
 */
export const bucketPrefixSchema = z
  .string()
  .min(1, `must be 1-${BUCKET_PREFIX_MAX} characters (bucket prefix)`)
  .max(BUCKET_PREFIX_MAX, `must be 1-${BUCKET_PREFIX_MAX} characters (bucket prefix)`)
  .regex(
    /^[\x21-\x7E]*$/,
    'may contain only printable ASCII characters without spaces or control characters (bucket prefix)',
  )
  .regex(/^[^*?]*$/, 'must not contain the wildcards * or ? (bucket prefix)')
  .regex(/^[^"\\{}]*$/, 'must not contain ", \\, { or } (bucket prefix)')
  .regex(/^(?!\/)/, 'must not start with / (bucket prefix)')
  .regex(/^(?!.*\/\/)/s, 'must not contain // (bucket prefix)')
  .regex(/^(?!(.*\/)?\.{1,2}(\/|$))/s, 'must not contain a "." or ".." segment (bucket prefix)')
  .regex(
    new RegExp(`^(?![\\s\\S]{${BUCKET_PREFIX_MAX - 1}}[^/]$)`),
    `must be at most ${BUCKET_PREFIX_MAX} characters including the trailing / it is given (bucket prefix)`,
  )
  .meta({
    description: `Key prefix inside the bucket, normalised to end with "/" (at most ${BUCKET_PREFIX_MAX} characters after that). Printable ASCII without space, " \\ { } * ?; no leading /, no //, no . or .. segment.`,
    example: 'demo/mongodb/',
    pattern: BUCKET_PREFIX_DOC_PATTERN,
  })
  .transform((p) => (p.endsWith('/') ? p : `${p}/`));

// ---------- Kubernetes / EKS ----------

const EKS_CLUSTER_NAME_PATTERN = /^[0-9A-Za-z][A-Za-z0-9\-_]*$/;

export const eksClusterNameSchema = z
  .string()
  .min(1, 'must be 1-100 characters (EKS cluster name)')
  .max(100, 'must be 1-100 characters (EKS cluster name)')
  .regex(
    EKS_CLUSTER_NAME_PATTERN,
    'must start with a letter or digit and contain only letters, digits, - and _ (EKS cluster name)',
  )
  .meta({ description: 'An EKS cluster name.', example: 'demo' });

const RFC1123_LABEL_PATTERN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const RFC1123_SUBDOMAIN_PATTERN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** An RFC 1123 DNS label (Kubernetes namespace names). */
export const k8sLabelSchema = z
  .string()
  .min(1, 'must be 1-63 characters (RFC 1123 label)')
  .max(63, 'must be 1-63 characters (RFC 1123 label)')
  .regex(
    RFC1123_LABEL_PATTERN,
    'must be an RFC 1123 label: lowercase letters, digits and -, starting and ending with a letter or digit',
  );

/** An RFC 1123 DNS subdomain (most Kubernetes object names, service accounts among them). */
export const k8sNameSchema = z
  .string()
  .min(1, 'must be 1-253 characters (RFC 1123 subdomain)')
  .max(253, 'must be 1-253 characters (RFC 1123 subdomain)')
  .regex(
    RFC1123_SUBDOMAIN_PATTERN,
    'must be an RFC 1123 subdomain: dot-separated labels of lowercase letters, digits and -, each starting and ending with a letter or digit',
  );

export const namespaceSchema = k8sLabelSchema.meta({
  description: 'Kubernetes namespace (RFC 1123 label).',
  example: 'mongodb',
});

export const serviceAccountNameSchema = k8sNameSchema.meta({
  description: 'Kubernetes service account name (RFC 1123 subdomain).',
  example: 'pbm-agent',
});

// ---------- enums ----------

export const TOOLS = ['pbm', 'psmdb-operator', 'stackgres', 'velero', 'mountpoint-s3-csi', 'generic'] as const;
export type Tool = (typeof TOOLS)[number];
export const toolSchema = z.enum(TOOLS).meta({ description: 'The tool whose access and snippets to provision.' });

export const ACCESS_LEVELS = ['read-write', 'restore', 'read-only'] as const;
export const accessSchema = z.enum(ACCESS_LEVELS).meta({
  description:
    "What the workload may do under the prefix, defined per tool from its source: read-write (the default: backups and restores); restore (reads everything, writes only what the tool's restore and catalogue sync write, never deletes or overwrites a backup: pbm, psmdb-operator, velero, stackgres); read-only (no writes: stackgres, mountpoint-s3-csi, generic). A level the tool cannot work with is a 400 listing the ones it can.",
});

export const CROSS_ACCOUNT_MODES = ['bucket-policy', 'role-in-bucket-account', 'access-point'] as const;
export const crossAccountModeSchema = z.enum(CROSS_ACCOUNT_MODES).meta({
  description:
    "Where the workload role lives when the bucket is in another account: bucket-policy (workload account; the bucket policy grants it), role-in-bucket-account, or access-point (workload account; an S3 access point of the onboarding's own in the bucket account grants it the prefix, and the bucket policy holds one delegation statement for all of them: the snippets name the access point, by alias or, for mountpoint-s3-csi, ARN).",
});

// ---------- tags ----------

const MAX_REQUEST_TAGS = 40;
const TAG_KEY_MAX = 128;
const TAG_VALUE_MAX = 256;
/** Prefixes (case-insensitive) the caller may not use: AWS's own, and the tags this service sets. */
const RESERVED_TAG_KEY_PREFIXES = ['aws:', 's3-onboarding'] as const;
/** Exact keys (case-insensitive) the service sets and relies on to recognise what it owns. */
const RESERVED_TAG_KEYS = ['managed-by'] as const;

/**
 * IAM's tag character set `[\p{L}\p{Z}\p{N}_.:/=+\-@]`, narrowed to space separators (`\p{Zs}`): the line and
 * paragraph separators U+2028/U+2029 are `\p{Z}` too, and are line breaks to YAML and most log viewers.
 */
const TAG_CHARS_CLASS = '[\\p{L}\\p{Zs}\\p{N}_.:/=+\\-@]';
const TAG_CHARS = new RegExp(`^${TAG_CHARS_CLASS}*$`, 'u');
const TAG_CHARS_MESSAGE = 'may contain only letters, digits, spaces and _ . : / = + - @ (IAM tag rules)';

const tagKeySchema = z
  .string()
  .min(1, `must be 1-${TAG_KEY_MAX} characters (tag key)`)
  .max(TAG_KEY_MAX, `must be 1-${TAG_KEY_MAX} characters (tag key)`)
  .regex(TAG_CHARS, `tag key ${TAG_CHARS_MESSAGE}`)
  .meta({ pattern: `^${TAG_CHARS_CLASS}*$` })
  .refine(
    (k) =>
      !RESERVED_TAG_KEY_PREFIXES.some((p) => k.toLowerCase().startsWith(p)) &&
      !RESERVED_TAG_KEYS.some((r) => k.toLowerCase() === r),
    `tag key is reserved: it must not be ${RESERVED_TAG_KEYS.join(', ')} nor start with a reserved prefix: ${RESERVED_TAG_KEY_PREFIXES.join(', ')}`,
  );

const tagValueSchema = z
  .string()
  .max(TAG_VALUE_MAX, `must be 0-${TAG_VALUE_MAX} characters (tag value)`)
  .regex(TAG_CHARS, `tag value ${TAG_CHARS_MESSAGE}`)
  .meta({ pattern: `^${TAG_CHARS_CLASS}*$` });

const hasOwnProtoKey = (v: unknown): boolean =>
  typeof v === 'object' && v !== null && Object.prototype.hasOwnProperty.call(v, '__proto__');

export const tagsSchema = z
  .preprocess(
    (v, ctx) => {
      // JSON.parse makes "__proto__" an own key; a zod record skips it silently, so the tag would vanish
      if (hasOwnProtoKey(v))
        ctx.addIssue({ code: 'custom', path: ['__proto__'], message: 'tag key __proto__ is not allowed' });
      return v;
    },
    z.record(tagKeySchema, tagValueSchema),
  )
  .superRefine((tags, ctx) => {
    const keys = Object.keys(tags);
    if (keys.length > MAX_REQUEST_TAGS) {
      ctx.addIssue({
        code: 'custom',
        message: `must have at most ${MAX_REQUEST_TAGS} tags (the service adds its own to IAM's limit of 50)`,
      });
    }
    // IAM tag keys are case-insensitive on roles: "Team" and "team" would collide
    const seen = new Map<string, string>();
    for (const key of keys) {
      const folded = key.toLowerCase();
      if (seen.has(folded)) {
        ctx.addIssue({
          code: 'custom',
          path: [key],
          message: 'duplicate tag key: keys differing only in case are the same key to IAM',
        });
      } else seen.set(folded, key);
    }
  })
  .meta({
    description: `Up to ${MAX_REQUEST_TAGS} tags copied onto what is created (IAM tag rules). Keys starting with aws: or s3-onboarding (any case) are reserved; keys differing only in case are the same key.`,
    example: { ticket: 'OPS-1234' },
    maxProperties: MAX_REQUEST_TAGS,
    propertyNames: {
      minLength: 1,
      maxLength: TAG_KEY_MAX,
      pattern: `^(?![aA][wW][sS]:|[sS]3-[oO][nN][bB][oO][aA][rR][dD][iI][nN][gG])${TAG_CHARS_CLASS}*$`,
    },
  });

// ---------- headers ----------

/** `Idempotency-Key` header: 1-255 printable ASCII characters. */
export const idempotencyKeySchema = z
  .string()
  .min(1, 'must be 1-255 characters (Idempotency-Key)')
  .max(255, 'must be 1-255 characters (Idempotency-Key)')
  .regex(/^[\x21-\x7E]*$/, 'may contain only printable ASCII characters without spaces (Idempotency-Key)')
  .meta({
    description:
      'Makes a retry safe: a repeat with the same key and body returns the first response; the same key with another body is a 409.',
    example: '7f0c2a8e-4b1d-4d7e-9a53-0c1f8b2e6d94',
  });
