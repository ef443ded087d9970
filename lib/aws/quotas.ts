/**
 * Quotas read, not assumed: how much of each quota an onboarding would use is read before the plan's first write,
 * and a request that would go beyond one is refused with a 409 naming the quota to raise.
 *
 * Usage (the planner, once per request, before any write):
 *
 *   const reader = new QuotaReader(sessions, config);  // one per container, beside the ProvisionerSessions
 *   const quotas = await Promise.all([
 *     reader.roles(accountId),                           // only the quotas the plan adds to
 *     reader.oidcProviders(accountId),
 *     reader.accessPoints(bucketAccountId, bucketRegion),
 *     reader.grants(kmsKeyArn),
 *   ]);
 *   const refusals = quotaRefusals(quotas, {
 *     roles: 1,                                          // a number: added to every reading of that kind
 *     oidcProviders: 1,
 *     accessPoints: { [`${bucketAccountId}:${bucketRegion}`]: 1 },  // or per reading, by its `scope`
 *     grants: { [kmsKeyArn]: 1 },
 *   }, { roles: 'workload', accessPoints: 'bucket.name', grants: 'bucket.kmsKeyArn' });
 *   // join `refusals` to the plan's own, or `throw quotaExceeded(refusals)` when there are some
 *
 * Usage is read fresh on every call; a quota's applied value (its limit) is kept per account, Region and quota for
 * `config.quotaLimitTtlMs` (QUOTA_LIMIT_CACHE_SECONDS, default 5 minutes), concurrent reads sharing one call.
 *
 * Where limits come from:
 * - roles per account: IAM GetAccountSummary (`Roles`, `RolesQuota`), IAM's own applied value, in one call;
 * - OIDC providers per account: usage from ListOpenIDConnectProviders (GetAccountSummary's `Providers` counts SAML
 *   providers too, and it has no quota key for them); the limit from Service Quotas `iam`/`L-858F3967`, read in
 *   us-east-1 (where AWS keeps global quotas);
 * - access points per account and Region: ListAccessPoints in that Region; Service Quotas `s3` "Access Points";
 * - grants per KMS key: ListGrants on the key (in its account); Service Quotas `kms`/`L-D594A657` in the key's Region.
 * Service Quotas is read through a `ServiceQuotaSource`. `@aws-sdk/client-service-quotas` is not a dependency yet:
 * without a source every Service Quotas limit is AWS's documented default, flagged `source: 'default'`. With the
 * client added, the source is:
 *
 *   (q) => call(`reading quota ${q.serviceCode}/${q.quotaCode}`, () =>
 *     sessions.serviceQuotas(q.accountId, q.region)
 *       .send(new GetServiceQuotaCommand({ ServiceCode: q.serviceCode, QuotaCode: q.quotaCode }))
 *       .then((out) => out.Quota?.Value)
 *       .catch((e) => { if (errorName(e) === 'NoSuchResourceException') return undefined; throw e; }))
 *
 * (NoSuchResourceException: Service Quotas has no applied value for it there; the default then applies.)
 */
import { GetAccountSummaryCommand, ListOpenIDConnectProvidersCommand } from '@aws-sdk/client-iam';
import { ListAccessPointsCommand } from '@aws-sdk/client-s3-control';
import { ListGrantsCommand } from '@aws-sdk/client-kms';
import type { Config } from '../config';
import { QuotaExceededError } from '../errors';
import { call } from './errors';
import type { ProvisionerSessions } from './session';

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

/** Where Service Quotas keeps global quotas (the commercial partition's). */
const GLOBAL_QUOTA_REGION = 'us-east-1';

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

/** One applied quota value from Service Quotas; undefined when it has none there (NoSuchResourceException). */
export type ServiceQuotaSource = (q: {
  accountId: string;
  region: string;
  serviceCode: string;
  quotaCode: string;
}) => Promise<number | undefined>;

interface KeptLimit {
  readAt: number;
  limit: Promise<{ limit: number; source: QuotaReading['source'] }>;
}

export class QuotaReader {
  private readonly limits = new Map<string, KeptLimit>();

  constructor(
    private readonly sessions: ProvisionerSessions,
    private readonly config: Pick<Config, 'quotaLimitTtlMs'>,
    private readonly serviceQuotas?: ServiceQuotaSource,
    private readonly now: () => number = Date.now,
  ) {}

  /** Roles in the account against RolesQuota, both from GetAccountSummary (IAM's applied value, read every time). */
  async roles(accountId: string): Promise<QuotaReading> {
    const out = await call(`reading the account summary of ${accountId}`, () =>
      this.sessions.iam(accountId).send(new GetAccountSummaryCommand({})),
    );
    const map = out.SummaryMap ?? {};
    const read = map.RolesQuota !== undefined;
    return this.reading('roles', accountId, accountId, map.Roles ?? 0, {
      limit: map.RolesQuota ?? QUOTAS.roles.defaultLimit,
      source: read ? 'iam-account-summary' : 'default',
    });
  }

  async oidcProviders(accountId: string): Promise<QuotaReading> {
    const [out, limit] = await Promise.all([
      call(`listing the IAM OIDC providers of ${accountId}`, () =>
        this.sessions.iam(accountId).send(new ListOpenIDConnectProvidersCommand({})),
      ),
      this.limit('oidcProviders', accountId, GLOBAL_QUOTA_REGION),
    ]);
    return this.reading('oidcProviders', accountId, accountId, out.OpenIDConnectProviderList?.length ?? 0, limit);
  }

  /** Access points of the account in the Region (every bucket's): they count against one quota. */
  async accessPoints(accountId: string, region: string): Promise<QuotaReading> {
    const limit = await this.limit('accessPoints', accountId, region);
    const s3control = this.sessions.s3control(accountId, region);
    let used = 0;
    let token: string | undefined;
    do {
      const page = await call(`listing the access points of ${accountId} in ${region}`, () =>
        s3control.send(new ListAccessPointsCommand({ AccountId: accountId, NextToken: token, MaxResults: 1000 })),
      );
      used += page.AccessPointList?.length ?? 0;
      token = page.NextToken || undefined;
    } while (token && used < limit.limit);
    return this.reading('accessPoints', `${accountId}:${region}`, accountId, used, limit);
  }

  /** Grants on one key, read in the key's account and Region (its ARN says which). */
  async grants(keyArn: string): Promise<QuotaReading> {
    const m = /^arn:aws[\w-]*:kms:([a-z0-9-]+):(\d{12}):key\/.+$/.exec(keyArn);
    if (!m) throw new Error(`not a KMS key ARN: ${keyArn}`);
    const [, region, accountId] = m;
    const limit = await this.limit('grants', accountId, region);
    const kms = this.sessions.kms(accountId, region);
    let used = 0;
    let marker: string | undefined;
    do {
      const page = await call(`listing the grants of ${keyArn}`, () =>
        kms.send(new ListGrantsCommand({ KeyId: keyArn, Marker: marker, Limit: 100 })),
      );
      used += page.Grants?.length ?? 0;
      marker = page.Truncated ? page.NextMarker : undefined;
    } while (marker && used < limit.limit);
    return this.reading('grants', keyArn, accountId, used, limit);
  }

  private reading(
    kind: QuotaKind,
    scope: string,
    accountId: string,
    used: number,
    limit: { limit: number; source: QuotaReading['source'] },
  ): QuotaReading {
    return { ...QUOTAS[kind], kind, scope, accountId, used, ...limit };
  }

  /** The applied value, kept per account, Region and quota for the configured time; a failed read is not kept. */
  private limit(kind: QuotaKind, accountId: string, region: string): KeptLimit['limit'] {
    const def = QUOTAS[kind];
    const key = `${accountId}|${region}|${def.serviceCode}/${def.quotaCode}`;
    const kept = this.limits.get(key);
    const now = this.now();
    if (kept && now - kept.readAt < this.config.quotaLimitTtlMs) return kept.limit;
    const source = this.serviceQuotas;
    const entry: KeptLimit = {
      readAt: now,
      limit: source
        ? source({ accountId, region, serviceCode: def.serviceCode, quotaCode: def.quotaCode }).then((value) =>
            value === undefined
              ? { limit: def.defaultLimit, source: 'default' as const }
              : { limit: value, source: 'service-quotas' as const },
          )
        : Promise.resolve({ limit: def.defaultLimit, source: 'default' as const }),
    };
    this.limits.set(key, entry);
    entry.limit.catch(() => {
      if (this.limits.get(key) === entry) this.limits.delete(key);
    });
    return entry.limit;
  }
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
