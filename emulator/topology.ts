import * as z from 'zod';
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { KNOWN_QUOTA_KEYS, ROLE_TRUST_POLICY_LENGTH } from './quotas';

const accountId = z.string().regex(/^\d{12}$/, 'must be a 12-digit account id');
const policy = z.record(z.string(), z.unknown());

const topologySchema = z.strictObject({
  $comment: z.string().optional(),
  platformAccountId: accountId,
  accounts: z.array(accountId).min(1),
  clusters: z
    .array(
      z.strictObject({
        name: z.string().min(1),
        accountId,
        region: z.string(),
        oidcIssuer: z.string().url().optional(),
        oidcProvider: z.boolean().default(true),
        /** whether the eks-pod-identity-agent add-on is installed (DescribeAddon answers it) */
        podIdentityAgent: z.boolean().default(true),
      }),
    )
    .default([]),
  buckets: z
    .array(
      z.strictObject({
        name: z.string().min(3),
        accountId,
        region: z.string(),
        policy: policy.optional(),
        kmsKeyArn: z.string().optional(),
        tags: z.record(z.string(), z.string()).optional(),
        /** S3 ABAC (PutBucketAbac) on the bucket: its tags count as aws:ResourceTag only while it is on */
        abac: z.boolean().default(true),
      }),
    )
    .default([]),
  kmsKeys: z
    .array(
      z.strictObject({
        arn: z.string().regex(/^arn:aws:kms:[a-z0-9-]+:\d{12}:key\/[A-Za-z0-9-]+$/),
        policy: policy.optional(),
        aliases: z.array(z.string()).optional(),
        awsManaged: z.boolean().optional(),
        tags: z.record(z.string(), z.string()).optional(),
      }),
    )
    .default([]),
  roles: z
    .array(
      z.strictObject({
        accountId,
        name: z.string(),
        path: z.string().default('/'),
        trustPolicy: policy,
        inlinePolicies: z.record(z.string(), policy).default({}),
        tags: z.record(z.string(), z.string()).default({}),
      }),
    )
    .default([]),
  /** Extension: access points that already exist (someone else's: the service must never touch them). */
  accessPoints: z
    .array(
      z.strictObject({
        name: z
          .string()
          .regex(
            /^[a-z0-9][a-z0-9-]{1,48}[a-z0-9]$/,
            'must be an access point name (3-50 lower-case letters, digits and hyphens)',
          ),
        bucket: z.string(),
        accountId,
        region: z.string(),
        policy: policy.optional(),
        tags: z.record(z.string(), z.string()).optional(),
      }),
    )
    .default([]),
  /** Extension: per-account settings the real accounts would have. */
  accountSettings: z
    .record(
      accountId,
      z.strictObject({
        assumeRolePolicySizeQuota: z.number().int().positive().optional(),
        externalId: z.string().optional(),
        /** Service Quotas values applied to the account, `"<serviceCode>/<quotaCode>": value` (emulator/quotas.ts) */
        quotas: z.record(z.string(), z.number().int().nonnegative()).optional(),
      }),
    )
    .default({}),
});

export type Topology = z.output<typeof topologySchema>;
export type TopologyInput = z.input<typeof topologySchema>;

/** A topology that cannot be read, parsed or validated: the message names the source and every invalid field. */
class TopologyError extends Error {
  constructor(
    message: string,
    readonly issues: { path: string; message: string }[] = [],
  ) {
    super(message);
    this.name = 'TopologyError';
  }
}

const fieldPath = (path: readonly PropertyKey[]): string =>
  path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i ? '.' : ''}${String(p)}`)).join('') || '(file)';

/** `source` names the topology in errors (a file's path, or how it was given). */
export function parseTopology(input: unknown, source = 'topology'): Topology {
  const parsed = topologySchema.safeParse(input);
  const issues = parsed.success
    ? []
    : parsed.error.issues.map((i) => ({ path: fieldPath(i.path), message: i.message }));
  if (parsed.success) {
    const t = parsed.data;
    t.clusters.forEach((c, i) => {
      if (!t.accounts.includes(c.accountId))
        issues.push({
          path: `clusters[${i}].accountId`,
          message: `cluster ${c.name}: account ${c.accountId} is not in accounts`,
        });
    });
    t.buckets.forEach((b, i) => {
      if (!t.accounts.includes(b.accountId))
        issues.push({
          path: `buckets[${i}].accountId`,
          message: `bucket ${b.name}: account ${b.accountId} is not in accounts`,
        });
    });
    t.accessPoints.forEach((a, i) => {
      if (!t.accounts.includes(a.accountId))
        issues.push({
          path: `accessPoints[${i}].accountId`,
          message: `access point ${a.name}: account ${a.accountId} is not in accounts`,
        });
      const b = t.buckets.find((x) => x.name === a.bucket);
      if (!b)
        issues.push({
          path: `accessPoints[${i}].bucket`,
          message: `access point ${a.name}: bucket ${a.bucket} is not in buckets`,
        });
      else if (b.region !== a.region)
        issues.push({
          path: `accessPoints[${i}].region`,
          message: `access point ${a.name}: must be in its bucket's region ${b.region}`,
        });
    });
    for (const [id, settings] of Object.entries(t.accountSettings)) {
      if (!t.accounts.includes(id))
        issues.push({ path: `accountSettings.${id}`, message: `account ${id} is not in accounts` });
      for (const key of Object.keys(settings.quotas ?? {}))
        if (!KNOWN_QUOTA_KEYS.includes(key))
          issues.push({
            path: `accountSettings.${id}.quotas.${key}`,
            message: `not a quota the emulator knows (one of ${KNOWN_QUOTA_KEYS.join(', ')})`,
          });
      const trust = settings.quotas?.[ROLE_TRUST_POLICY_LENGTH];
      if (
        trust !== undefined &&
        settings.assumeRolePolicySizeQuota !== undefined &&
        trust !== settings.assumeRolePolicySizeQuota
      )
        issues.push({
          path: `accountSettings.${id}.quotas.${ROLE_TRUST_POLICY_LENGTH}`,
          message: `disagrees with assumeRolePolicySizeQuota (${settings.assumeRolePolicySizeQuota}): they are the same quota`,
        });
    }
    if (!t.accounts.includes(t.platformAccountId))
      issues.push({ path: 'platformAccountId', message: 'must be in accounts' });
  }
  if (issues.length)
    throw new TopologyError(
      `${source} is invalid:\n${issues.map((i) => `  ${i.path}: ${i.message}`).join('\n')}`,
      issues,
    );
  return parsed.data!;
}

export function loadTopology(file: string): Topology {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new TopologyError(`topology file ${file} cannot be read: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new TopologyError(`topology file ${file} is not valid JSON: ${(e as Error).message}`);
  }
  return parseTopology(doc, `topology file ${file}`);
}

/** The issuer EKS would give a cluster: deterministic, so restarts keep the same URLs. */
export function defaultIssuer(cluster: { name: string; accountId: string; region: string }): string {
  const id = createHash('sha256')
    .update(`${cluster.accountId}/${cluster.region}/${cluster.name}`)
    .digest('hex')
    .slice(0, 32)
    .toUpperCase();
  return `https://oidc.eks.${cluster.region}.amazonaws.com/id/${id}`;
}
