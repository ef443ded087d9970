import * as z from 'zod';
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';

const accountId = z.string().regex(/^\d{12}$/, 'must be a 12-digit account id');
const policy = z.record(z.string(), z.unknown());

export const topologySchema = z.strictObject({
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
  /** Extension: per-account settings the real accounts would have. */
  accountSettings: z
    .record(
      accountId,
      z.strictObject({
        assumeRolePolicySizeQuota: z.number().int().positive().optional(),
        externalId: z.string().optional(),
      }),
    )
    .default({}),
});

export type Topology = z.output<typeof topologySchema>;
export type TopologyInput = z.input<typeof topologySchema>;

export function parseTopology(input: unknown): Topology {
  const t = topologySchema.parse(input);
  for (const c of t.clusters) {
    if (!t.accounts.includes(c.accountId)) throw new Error(`cluster ${c.name}: account ${c.accountId} is not in accounts`);
  }
  for (const b of t.buckets) {
    if (!t.accounts.includes(b.accountId)) throw new Error(`bucket ${b.name}: account ${b.accountId} is not in accounts`);
  }
  if (!t.accounts.includes(t.platformAccountId)) throw new Error('platformAccountId must be in accounts');
  return t;
}

export const loadTopology = (file: string): Topology => parseTopology(JSON.parse(readFileSync(file, 'utf8')));

/** The issuer EKS would give a cluster: deterministic, so restarts keep the same URLs. */
export function defaultIssuer(cluster: { name: string; accountId: string; region: string }): string {
  const id = createHash('sha256').update(`${cluster.accountId}/${cluster.region}/${cluster.name}`).digest('hex').slice(0, 32).toUpperCase();
  return `https://oidc.eks.${cluster.region}.amazonaws.com/id/${id}`;
}
