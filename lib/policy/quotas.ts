import { QuotaExceededError } from '../errors';

/**
 * The quotas an onboarding adds to, and the pure check of a plan against them (lib/aws/quotas.ts reads them).
 */

export type QuotaKind = 'roles' | 'oidcProviders' | 'accessPoints' | 'grants';

export interface QuotaDefinition {
  serviceCode: string;
  quotaCode: string;
  /** the quota's name in Service Quotas */
  quotaName: string;
  /** AWS's default, used when the applied value cannot be read */
  defaultLimit: number;
  /** IAM's quotas are global: Service Quotas answers them in us-east-1 only */
  global: boolean;
}

/**
 * The quotas an onboarding adds to. Codes: IAM's from the EKS Best Practices Guide ("Known limits and service
 * quotas"), KMS's from Service Quotas' own listing ("Grants per CMK"); defaults from the IAM User Guide, the S3 User
 * Guide (access points restrictions) and the KMS Developer Guide (resource quotas). The access point quota's code
 * (L-FCEEF8B2, the emulator's) is in no published source we could read: confirm it with
 * `aws service-quotas list-service-quotas --service-code s3` (the quota named "Access Points").
 */
export const QUOTAS: Readonly<Record<QuotaKind, QuotaDefinition>> = {
  roles: {
    serviceCode: 'iam',
    quotaCode: 'L-FE177D64',
    quotaName: 'Roles per account',
    defaultLimit: 1000,
    global: true,
  },
  oidcProviders: {
    serviceCode: 'iam',
    quotaCode: 'L-858F3967',
    quotaName: 'OpenId connect providers per account',
    defaultLimit: 100,
    global: true,
  },
  accessPoints: {
    serviceCode: 's3',
    quotaCode: 'L-FCEEF8B2',
    quotaName: 'Access Points',
    defaultLimit: 10_000,
    global: false,
  },
  grants: {
    serviceCode: 'kms',
    quotaCode: 'L-D594A657',
    quotaName: 'Grants per CMK',
    defaultLimit: 50_000,
    global: false,
  },
};

export interface QuotaReading extends QuotaDefinition {
  kind: QuotaKind;
  /** what the quota is counted over: the account id, `<account>:<region>`, or the key's ARN */
  scope: string;
  accountId: string;
  /** how many count against it now (counting stops at the limit: at or above it, at least that many) */
  used: number;
  limit: number;
  /** where the limit was read: Service Quotas, IAM's account summary, or AWS's default (nothing could be read) */
  source: 'service-quotas' | 'iam-account-summary' | 'default';
}

/** How many of each kind a request adds: one number for every reading of the kind, or per reading's `scope`. */
export type QuotaAdds = Partial<Record<QuotaKind, number | Record<string, number>>>;

export interface QuotaRefusal {
  status: 409;
  /** the request field whose resource the quota is about, when the caller named one */
  field?: string;
  detail: string;
  quota: {
    serviceCode: string;
    quotaCode: string;
    quotaName: string;
    scope: string;
    used: number;
    limit: number;
    adds: number;
    source: QuotaReading['source'];
  };
}

const SCOPE_TEXT: Record<QuotaKind, (r: QuotaReading) => string> = {
  roles: (r) => `account ${r.accountId}`,
  oidcProviders: (r) => `account ${r.accountId}`,
  accessPoints: (r) => `account ${r.accountId} in ${r.scope.split(':')[1]}`,
  grants: (r) => `key ${r.scope}`,
};

/**
 * The quotas a request would go beyond, as refusals (data, never thrown): one per reading whose `used + adds`
 * exceeds its limit. Pure: the readings are the caller's.
 */
export function quotaRefusals(
  quotas: readonly QuotaReading[],
  adds: QuotaAdds,
  fields: Partial<Record<QuotaKind, string>> = {},
): QuotaRefusal[] {
  const out: QuotaRefusal[] = [];
  for (const r of quotas) {
    const a = adds[r.kind];
    const n = typeof a === 'number' ? a : (a?.[r.scope] ?? 0);
    if (n <= 0 || r.used + n <= r.limit) continue;
    const whose = SCOPE_TEXT[r.kind](r);
    const limitText =
      r.source === 'default' ? `${r.limit} (AWS's default: the applied value could not be read)` : `${r.limit}`;
    out.push({
      status: 409,
      ...(fields[r.kind] ? { field: fields[r.kind] } : {}),
      detail:
        `quota "${r.quotaName}" (service code ${r.serviceCode}, quota code ${r.quotaCode}) of ${whose} is full: ` +
        `${r.used} used of ${limitText}, and this request adds ${n}; ` +
        `request an increase in Service Quotas (${r.serviceCode}/${r.quotaCode}) or free some, then retry`,
      quota: {
        serviceCode: r.serviceCode,
        quotaCode: r.quotaCode,
        quotaName: r.quotaName,
        scope: r.scope,
        used: r.used,
        limit: r.limit,
        adds: n,
        source: r.source,
      },
    });
  }
  return out;
}

/** The refusals as one 409 (problem+json `quota-exceeded` with the quotas listed), or undefined when there are none. */
export function quotaExceeded(refusals: readonly QuotaRefusal[]): QuotaExceededError | undefined {
  if (!refusals.length) return undefined;
  return new QuotaExceededError(refusals.map((r) => r.detail).join('; '), {
    quotas: refusals.map((r) => ({ ...(r.field ? { field: r.field } : {}), ...r.quota })),
  });
}
