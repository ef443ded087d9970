/** Runtime configuration, read once from the environment (serverless.yml sets it in AWS, scripts/start.ts locally). */
export interface Config {
  provisionerRoleName: string;
  /** external id per account; `*` is the fallback for accounts not listed */
  externalIds: Record<string, string>;
  workloadRolePath: string;
  roleNamePrefix: string;
  /** empty: workload roles get no permissions boundary */
  boundaryPolicyName: string;
  managedByTag: string;
  targetAccounts: string[];
  s3ForcePathStyle: boolean;
  /**
   * read each bucket's S3 ABAC status (GetBucketAbac) and refuse a tagged bucket whose ABAC is off; `S3_ABAC_CHECK=off`
   * only for AWS-compatible endpoints that do not implement S3 ABAC (moto 5.2.1 answers GetBucketAbac as a listing),
   * where ABAC is then taken as on
   */
  s3AbacCheck: boolean;
  /** seconds before expiry at which cached provisioner credentials are refreshed */
  credentialRefreshMarginSeconds: number;
  /** leases: an identity's lock (longer than the function's timeout), and a resource policy's group-commit leader */
  lockLeaseMs: number;
  policyLeaseMs: number;
  /** no step starts when the function has less time left than this: what one AWS write may take, retries included */
  stepBudgetMs: number;
  /** how long a quota's applied value (Service Quotas) is kept per account before it is read again; usage never is */
  quotaLimitTtlMs: number;
  /** how long a count that takes pages (access points, grants on a key) is kept, unless it nears its limit */
  quotaUsageTtlMs: number;
  /**
   * `KEY_POLICY_MIGRATION=true` only while the provisioner template's AllowKeyPolicyMigration is true: key-policy
   * statements older versions wrote are then removed (once the onboarding's KMS grant exists); otherwise they are
   * left to the keys' owners. New access to a key is always a KMS grant.
   */
  keyPolicyMigration: boolean;
}

/** A whole number of ms/s from the environment; anything else stops the cold start (a NaN lease would break every lock). */
function positiveInt(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n <= 0)
    throw new Error(`configuration: ${name} must be a positive whole number, not ${JSON.stringify(raw)}`);
  return n;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const externalIds: Record<string, string> = JSON.parse(env.PROVISIONER_EXTERNAL_IDS || '{}');
  if (env.PROVISIONER_EXTERNAL_ID) externalIds['*'] = env.PROVISIONER_EXTERNAL_ID;
  return {
    provisionerRoleName: env.PROVISIONER_ROLE_NAME || 's3-onboarding-provisioner',
    externalIds,
    workloadRolePath: env.WORKLOAD_ROLE_PATH || '/s3-onboarding/',
    roleNamePrefix: env.WORKLOAD_ROLE_NAME_PREFIX ?? 's3ob-',
    boundaryPolicyName: env.BOUNDARY_POLICY_NAME ?? 's3-onboarding-workload-boundary',
    managedByTag: env.MANAGED_BY_TAG || 's3-onboarding',
    targetAccounts: (env.TARGET_ACCOUNTS || '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
    s3ForcePathStyle: env.S3_FORCE_PATH_STYLE === 'true',
    s3AbacCheck: env.S3_ABAC_CHECK !== 'off',
    credentialRefreshMarginSeconds: positiveInt(env, 'CREDENTIAL_REFRESH_MARGIN_SECONDS', 300),
    lockLeaseMs: positiveInt(env, 'LOCK_LEASE_MS', 30_000),
    policyLeaseMs: positiveInt(env, 'POLICY_LEASE_MS', 15_000),
    stepBudgetMs: positiveInt(env, 'STEP_TIME_BUDGET_MS', 5_000),
    quotaLimitTtlMs: positiveInt(env, 'QUOTA_LIMIT_CACHE_SECONDS', 300) * 1000,
    quotaUsageTtlMs: positiveInt(env, 'QUOTA_USAGE_CACHE_SECONDS', 30) * 1000,
    keyPolicyMigration: env.KEY_POLICY_MIGRATION === 'true',
  };
}

export const boundaryArn = (c: Config, accountId: string): string | undefined =>
  c.boundaryPolicyName ? `arn:aws:iam::${accountId}:policy${c.workloadRolePath}${c.boundaryPolicyName}` : undefined;

export const provisionerRoleArn = (c: Pick<Config, 'provisionerRoleName'>, accountId: string): string =>
  `arn:aws:iam::${accountId}:role/${c.provisionerRoleName}`;

export const externalIdFor = (c: Config, accountId: string): string | undefined =>
  c.externalIds[accountId] ?? c.externalIds['*'];
