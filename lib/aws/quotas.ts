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
 * Usage is read fresh, except a count that takes pages (access points, grants: kept `config.quotaUsageTtlMs` while
 * it is not within a tenth of its limit, or 50); a quota's applied value (its limit) is kept per account, Region and quota for
 * `config.quotaLimitTtlMs` (QUOTA_LIMIT_CACHE_SECONDS, default 5 minutes), concurrent reads sharing one call.
 *
 * Where limits come from:
 * - roles per account: IAM GetAccountSummary (`Roles`, `RolesQuota`), IAM's own applied value, in one call;
 * - OIDC providers per account: usage from ListOpenIDConnectProviders (GetAccountSummary's `Providers` counts SAML
 *   providers too, and it has no quota key for them); the limit from Service Quotas `iam`/`L-858F3967`, read in
 *   us-east-1 (where AWS keeps global quotas);
 * - access points per account and Region: ListAccessPoints in that Region; Service Quotas `s3` "Access Points";
 * - grants per KMS key: ListGrants on the key (in its account); Service Quotas `kms`/`L-D594A657` in the key's Region.
 * Service Quotas is read through a `ServiceQuotaSource` (`serviceQuotaSource(sessions)` below); without a source
 * every Service Quotas limit is AWS's documented default, flagged `source: 'default'`.
 */
import { GetAccountSummaryCommand, ListOpenIDConnectProvidersCommand } from '@aws-sdk/client-iam';
import { ListGrantsCommand } from '@aws-sdk/client-kms';
import type { Config } from '../config';
import { QUOTAS, type QuotaKind, type QuotaReading } from '../policy/quotas';
import { s3ControlSdk, serviceQuotasSdk } from './lazy';
import { call, errorName } from './errors';
import type { ProvisionerSessions } from './session';

/** Where Service Quotas keeps global quotas (the commercial partition's). */
const GLOBAL_QUOTA_REGION = 'us-east-1';

/** One applied quota value from Service Quotas; undefined when it has none there (NoSuchResourceException). */
export type ServiceQuotaSource = (q: {
  accountId: string;
  region: string;
  serviceCode: string;
  quotaCode: string;
}) => Promise<number | undefined>;

export class QuotaReader {
  private readonly kept = new Map<string, { readAt: number; value: Promise<unknown> }>();

  constructor(
    private readonly sessions: ProvisionerSessions,
    private readonly config: Pick<Config, 'quotaLimitTtlMs' | 'quotaUsageTtlMs'>,
    private readonly serviceQuotas?: ServiceQuotaSource,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Roles in the account against RolesQuota, both from one GetAccountSummary (IAM's applied value): kept like a
   * paged count while far from the limit (a warm container reads it at most once per QUOTA_USAGE_CACHE_SECONDS).
   */
  roles(accountId: string): Promise<QuotaReading> {
    return this.keep(
      `roles|${accountId}`,
      this.config.quotaUsageTtlMs,
      async () => {
        const out = await call(`reading the account summary of ${accountId}`, () =>
          this.sessions.iam(accountId).send(new GetAccountSummaryCommand({})),
        );
        const map = out.SummaryMap ?? {};
        return this.reading('roles', accountId, accountId, map.Roles ?? 0, {
          limit: map.RolesQuota ?? QUOTAS.roles.defaultLimit,
          source: map.RolesQuota !== undefined ? 'iam-account-summary' : 'default',
        });
      },
      (r) => farFrom(r.used, r.limit),
    );
  }

  /**
   * OIDC providers counted from a list the caller already read (the planner's reads list the account's providers):
   * only the limit is read (kept per TTL), no second ListOpenIDConnectProviders.
   */
  async oidcProvidersCounted(accountId: string, used: Promise<number>): Promise<QuotaReading> {
    const [n, limit] = await Promise.all([used, this.limit('oidcProviders', accountId, GLOBAL_QUOTA_REGION)]);
    return this.reading('oidcProviders', accountId, accountId, n, limit);
  }

  /** OIDC providers listed here (ListOpenIDConnectProviders), for a caller that has not listed them. */
  oidcProviders(accountId: string): Promise<QuotaReading> {
    const listed = call(`listing the IAM OIDC providers of ${accountId}`, () =>
      this.sessions.iam(accountId).send(new ListOpenIDConnectProvidersCommand({})),
    );
    return this.oidcProvidersCounted(
      accountId,
      listed.then((out) => out.OpenIDConnectProviderList?.length ?? 0),
    );
  }

  /** Access points of the account in the Region (every bucket's): they count against one quota. */
  async accessPoints(accountId: string, region: string): Promise<QuotaReading> {
    const limit = await this.limit('accessPoints', accountId, region);
    const scope = `${accountId}:${region}`;
    const used = await this.usage('accessPoints', scope, limit.limit, async () => {
      const s3control = this.sessions.s3control(accountId, region);
      let n = 0;
      let token: string | undefined;
      do {
        const page = await call(`listing the access points of ${accountId} in ${region}`, () =>
          s3control.send(
            new (s3ControlSdk().ListAccessPointsCommand)({ AccountId: accountId, NextToken: token, MaxResults: 1000 }),
          ),
        );
        n += page.AccessPointList?.length ?? 0;
        token = page.NextToken || undefined;
      } while (token && n < limit.limit);
      return n;
    });
    return this.reading('accessPoints', scope, accountId, used, limit);
  }

  /** Grants on one key, read in the key's account and Region (its ARN says which). */
  async grants(keyArn: string): Promise<QuotaReading> {
    const m = /^arn:aws[\w-]*:kms:([a-z0-9-]+):(\d{12}):key\/.+$/.exec(keyArn);
    if (!m) throw new Error(`not a KMS key ARN: ${keyArn}`);
    const [, region, accountId] = m;
    const limit = await this.limit('grants', accountId, region);
    const used = await this.usage('grants', keyArn, limit.limit, async () => {
      const kms = this.sessions.kms(accountId, region);
      let n = 0;
      let marker: string | undefined;
      do {
        const page = await call(`listing the grants of ${keyArn}`, () =>
          kms.send(new ListGrantsCommand({ KeyId: keyArn, Marker: marker, Limit: 100 })),
        );
        n += page.Grants?.length ?? 0;
        marker = page.Truncated ? page.NextMarker : undefined;
      } while (marker && n < limit.limit);
      return n;
    });
    return this.reading('grants', keyArn, accountId, used, limit);
  }

  /**
   * A count that takes pages to read (every access point of an account and Region, every grant on a key): kept
   * for `config.quotaUsageTtlMs` per scope, so an estate's onboardings cost the same calls whatever its size; read
   * afresh once it nears its limit, where the answer matters. A quota AWS enforces in any case: the read only
   * refuses early, before anything is written.
   */
  private usage(kind: QuotaKind, scope: string, limit: number, count: () => Promise<number>): Promise<number> {
    return this.keep(`${kind}|${scope}`, this.config.quotaUsageTtlMs, count, (used) => farFrom(used, limit));
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

  /** The applied value, kept per account, Region and quota for `config.quotaLimitTtlMs`. */
  private limit(
    kind: QuotaKind,
    accountId: string,
    region: string,
  ): Promise<{ limit: number; source: QuotaReading['source'] }> {
    const def = QUOTAS[kind];
    const source = this.serviceQuotas;
    return this.keep(
      `limit|${accountId}|${region}|${def.serviceCode}/${def.quotaCode}`,
      this.config.quotaLimitTtlMs,
      () =>
        source
          ? source({ accountId, region, serviceCode: def.serviceCode, quotaCode: def.quotaCode }).then((value) =>
              value === undefined
                ? { limit: def.defaultLimit, source: 'default' as const }
                : { limit: value, source: 'service-quotas' as const },
            )
          : Promise.resolve({ limit: def.defaultLimit, source: 'default' as const }),
    );
  }

  /**
   * One value per key, shared by concurrent callers and kept for `ttlMs` while `stillGood` says so; a failed read
   * is not kept.
   */
  private async keep<T>(
    key: string,
    ttlMs: number,
    read: () => Promise<T>,
    stillGood: (value: T) => boolean = () => true,
  ): Promise<T> {
    const kept = this.kept.get(key) as { readAt: number; value: Promise<T> } | undefined;
    const now = this.now();
    if (kept && now - kept.readAt < ttlMs) {
      const value = await kept.value.catch(() => undefined);
      if (value !== undefined && stillGood(value)) return value;
    }
    const entry = { readAt: now, value: read() };
    this.kept.set(key, entry);
    entry.value.catch(() => {
      if (this.kept.get(key) === entry) this.kept.delete(key);
    });
    return entry.value;
  }
}

/** A count far enough from its limit (a tenth of it, at least 50) to be kept a while rather than read again. */
const farFrom = (used: number, limit: number): boolean => used < limit - Math.max(limit / 10, 50);

/**
 * Applied quota values from Service Quotas, as the provisioner of each account reads them. NoSuchResourceException
 * (Service Quotas holds no applied value for it there) is undefined: AWS's default then applies.
 */
export const serviceQuotaSource =
  (sessions: ProvisionerSessions): ServiceQuotaSource =>
  (q) =>
    call(`reading quota ${q.serviceCode}/${q.quotaCode} of ${q.accountId}`, () =>
      sessions
        .serviceQuotas(q.accountId, q.region)
        .send(new (serviceQuotasSdk().GetServiceQuotaCommand)({ ServiceCode: q.serviceCode, QuotaCode: q.quotaCode }))
        .then((out) => out.Quota?.Value)
        .catch((e: unknown) => {
          if (errorName(e) === 'NoSuchResourceException') return undefined;
          throw e;
        }),
    );
