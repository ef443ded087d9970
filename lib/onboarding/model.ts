import { createHash } from 'node:crypto';
import type { Access, Tool } from '../snippets/types';
import type { Config } from '../config';
import { accountOfArn } from '../arn';

/** What the engine needs of a validated request (lib/onboarding/request.ts produces it). */
export interface OnboardingInput {
  workload:
    | { type: 'eks'; clusters: { name: string; accountId: string; region: string }[]; namespace: string; serviceAccounts?: string[] }
    | { type: 'ec2'; instanceRoleArn: string };
  bucket: { name: string; accountId?: string; region: string; prefix?: string; kmsKeyArn?: string };
  tool: Tool;
  access: Access;
  crossAccountMode?: 'bucket-policy' | 'role-in-bucket-account';
  tags?: Record<string, string>;
  dryRun?: boolean;
}

export type Mode = 'same-account' | 'bucket-policy' | 'role-in-bucket-account';

export interface Change {
  action: string;
  accountId: string;
  resource: string;
}

export interface OnboardingResult {
  id: string;
  status: 'provisioned' | 'planned';
  roleArn: string;
  roles: { arn: string; accountId: string; purpose: string }[];
  changes: Change[];
  policies: { trust: unknown; permissions: unknown; bucketPolicyStatements: unknown[]; keyPolicyStatements?: unknown[]; instanceRoleGrant?: unknown };
  snippets: Record<string, string>;
}

export const workloadAccountOf = (w: OnboardingInput['workload']): string =>
  w.type === 'eks' ? w.clusters[0].accountId : accountOfArn(w.instanceRoleArn);

export function modeOf(input: OnboardingInput): { mode: Mode; workloadAccount: string; bucketAccount: string; roleAccount: string } {
  const workloadAccount = workloadAccountOf(input.workload);
  const bucketAccount = input.bucket.accountId ?? workloadAccount;
  const mode: Mode = bucketAccount === workloadAccount ? 'same-account' : (input.crossAccountMode ?? 'bucket-policy');
  return { mode, workloadAccount, bucketAccount, roleAccount: mode === 'role-in-bucket-account' ? bucketAccount : workloadAccount };
}

/** 48 bits of a SHA-256: unique in practice, and short, because it appears in every bucket-policy Sid and role ARN. */
export const ONBOARDING_ID_HEX = 12;
export const ONBOARDING_ID = /^ob-[0-9a-f]{12}$/;

/**
 * The identity of an onboarding: who (workload), where (bucket and prefix), with what tool, and where the role
 * lives. Service accounts, access level, key and tags are attributes that a repeat request converges.
 */
export function onboardingId(input: OnboardingInput): string {
  const { mode, bucketAccount } = modeOf(input);
  const w = input.workload;
  const who =
    w.type === 'eks'
      ? { type: 'eks', clusters: w.clusters.map((c) => `${c.accountId}/${c.region}/${c.name}`).sort(), namespace: w.namespace }
      : { type: 'ec2', instanceRoleArn: w.instanceRoleArn };
  const identity = JSON.stringify([who, bucketAccount, input.bucket.name, input.bucket.prefix ?? '', input.tool, mode === 'role-in-bucket-account']);
  return `ob-${createHash('sha256').update(identity).digest('hex').slice(0, ONBOARDING_ID_HEX)}`;
}

const TOOL_SHORT: Record<Tool, string> = {
  pbm: 'pbm',
  'psmdb-operator': 'psmdb',
  stackgres: 'sg',
  velero: 'velero',
  'mountpoint-s3-csi': 'mp',
  generic: 'gen',
};

/**
 * Deterministic and at most 64 characters: prefix, tool, the id's hash (e.g. `s3ob-pbm-3f9a1c2b4d5e`).
 * No free-text hint: the role ARN is repeated in every bucket-policy statement, whose 20 KB budget many
 * onboardings share. The role's description and tags say what it is for.
 */
export function roleName(config: Config, input: OnboardingInput, id: string): string {
  return `${config.roleNamePrefix}${TOOL_SHORT[input.tool]}-${id.replace(/^ob-/, '')}`.slice(0, 64);
}

export const ROLE_POLICY_NAME = 's3-onboarding';
export const grantPolicyName = (id: string): string => `s3-onboarding-assume-${id}`;
export const TAG_ID = 's3-onboarding/onboarding-id';
export const TAG_TOOL = 's3-onboarding/tool';
