/**
 * The Service Quotas the emulator knows and enforces: their codes, names, AWS defaults, and whether AWS treats them
 * as global (IAM's, read in us-east-1) or per Region. An account's applied value is its topology override
 * (`accountSettings.<account>.quotas["<serviceCode>/<quotaCode>"]`) or the default; the same value holds in every
 * Region (a topology cannot give one Region of an account another value).
 *
 * Sources: IAM User Guide "IAM and AWS STS quotas" (defaults) and the EKS Best Practices Guide "Known limits and
 * service quotas" (codes L-FE177D64, L-858F3967, L-C07B4B0D); KMS Developer Guide "Resource quotas" (50,000 grants
 * per KMS key; Service Quotas lists it as "Grants per CMK", L-D594A657); S3 User Guide "Access points restrictions and
 * limitations" (10,000 per account and Region; Service Quotas name "Access Points"). The access point quota's code,
 * L-FCEEF8B2, was not found in any published source: confirm it with
 * `aws service-quotas list-service-quotas --service-code s3` before relying on it against AWS.
 */
export interface QuotaDef {
  serviceCode: string;
  serviceName: string;
  quotaCode: string;
  quotaName: string;
  value: number;
  adjustable: boolean;
  global: boolean;
}

const IAM = 'AWS Identity and Access Management (IAM)';
/** every quota here is adjustable (a quota increase can be requested) */
const QUOTAS: readonly QuotaDef[] = [
  q('iam', IAM, 'L-FE177D64', 'Roles per account', 1000, true),
  q('iam', IAM, 'L-858F3967', 'OpenId connect providers per account', 100, true),
  q('iam', IAM, 'L-C07B4B0D', 'Role trust policy length', 2048, true),
  q('s3', 'Amazon Simple Storage Service (Amazon S3)', 'L-FCEEF8B2', 'Access Points', 10_000, false),
  q('kms', 'AWS Key Management Service (AWS KMS)', 'L-D594A657', 'Grants per CMK', 50_000, false),
];

function q(
  serviceCode: string,
  serviceName: string,
  quotaCode: string,
  quotaName: string,
  value: number,
  global: boolean,
): QuotaDef {
  return { serviceCode, serviceName, quotaCode, quotaName, value, adjustable: true, global };
}

/** `<serviceCode>/<quotaCode>` of the quotas the emulator enforces */
export const ROLES_PER_ACCOUNT = 'iam/L-FE177D64';
export const OIDC_PROVIDERS_PER_ACCOUNT = 'iam/L-858F3967';
export const ROLE_TRUST_POLICY_LENGTH = 'iam/L-C07B4B0D';
export const ACCESS_POINTS_PER_REGION = 's3/L-FCEEF8B2';
export const GRANTS_PER_KEY = 'kms/L-D594A657';

export const quotaKey = (d: Pick<QuotaDef, 'serviceCode' | 'quotaCode'>): string => `${d.serviceCode}/${d.quotaCode}`;
export const findQuota = (serviceCode: string, quotaCode: string): QuotaDef | undefined =>
  QUOTAS.find((d) => d.serviceCode === serviceCode && d.quotaCode === quotaCode);
export const KNOWN_QUOTA_KEYS: readonly string[] = QUOTAS.map(quotaKey);

/** The value applied to an account: its topology override, else AWS's default. */
export function appliedQuota(account: { quotas: Map<string, number> }, key: string): number {
  const own = account.quotas.get(key);
  if (own !== undefined) return own;
  const def = QUOTAS.find((d) => quotaKey(d) === key);
  if (!def) throw new Error(`emulator: unknown quota ${key}`);
  return def.value;
}
