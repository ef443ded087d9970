import { QUOTAS, quotaExceeded, quotaRefusals, type QuotaKind, type QuotaReading } from '../../../lib/policy/quotas';
import { QuotaExceededError } from '../../../lib/errors';
import { problemFromError } from '../../../lib/http/problem';

const KEY = 'arn:aws:kms:eu-west-1:300000000003:key/11111111-2222-3333-4444-555555555555';

function reading(kind: QuotaKind, used: number, limit: number, more: Partial<QuotaReading> = {}): QuotaReading {
  const scope = kind === 'grants' ? KEY : kind === 'accessPoints' ? '300000000003:eu-west-1' : '200000000002';
  const accountId = kind === 'roles' || kind === 'oidcProviders' ? '200000000002' : '300000000003';
  return { ...QUOTAS[kind], kind, scope, accountId, used, limit, source: 'service-quotas', ...more };
}

describe('Function: quotaRefusals', () => {
  it('refuses only what would go beyond the limit: filling a quota exactly is allowed', () => {
    const readings = [reading('roles', 998, 1000), reading('oidcProviders', 99, 100)];
    expect(quotaRefusals(readings, { roles: 2, oidcProviders: 1 })).toEqual([]);
    expect(quotaRefusals(readings, { roles: 3, oidcProviders: 1 }).map((r) => r.quota.quotaCode)).toEqual([
      'L-FE177D64',
    ]);
    // nothing added: nothing refused, even over the limit (a quota lowered below its usage)
    expect(quotaRefusals([reading('roles', 1200, 1000)], {})).toEqual([]);
    expect(quotaRefusals([reading('roles', 1200, 1000)], { roles: 0 })).toEqual([]);
  });

  it('names the quota code, service code, usage and limit, and says to request an increase in Service Quotas', () => {
    const [r] = quotaRefusals([reading('oidcProviders', 100, 100)], { oidcProviders: 1 }, { oidcProviders: 'cluster' });
    expect(r).toEqual({
      status: 409,
      field: 'cluster',
      detail:
        'quota "OpenId connect providers per account" (service code iam, quota code L-858F3967) of account ' +
        '200000000002 is full: 100 used of 100, and this request adds 1; request an increase in Service Quotas ' +
        '(iam/L-858F3967) or free some, then retry',
      quota: {
        serviceCode: 'iam',
        quotaCode: 'L-858F3967',
        quotaName: 'OpenId connect providers per account',
        scope: '200000000002',
        used: 100,
        limit: 100,
        adds: 1,
        source: 'service-quotas',
      },
    });
  });

  it('applies per-scope additions to the reading of that scope only (grants per key, access points per Region)', () => {
    const other = 'arn:aws:kms:eu-west-1:300000000003:key/other';
    const readings = [
      reading('grants', 50_000, 50_000),
      reading('grants', 49_999, 50_000, { scope: other }),
      reading('accessPoints', 10_000, 10_000),
      reading('accessPoints', 0, 10_000, { scope: '300000000003:eu-central-1' }),
    ];
    const refusals = quotaRefusals(readings, {
      grants: { [other]: 1 },
      accessPoints: { '300000000003:eu-central-1': 1 },
    });
    expect(refusals).toEqual([]);
    const full = quotaRefusals(readings, { grants: { [KEY]: 1, [other]: 2 }, accessPoints: 1 });
    expect(full.map((r) => [r.quota.scope, r.quota.adds])).toEqual([
      [KEY, 1],
      [other, 2],
      ['300000000003:eu-west-1', 1],
    ]);
    expect(full[0].detail).toContain(`of key ${KEY} is full`);
    expect(full[2].detail).toContain('of account 300000000003 in eu-west-1 is full');
    expect(full.every((r) => r.field === undefined)).toBe(true);
  });

  it("says when the limit is AWS's default because the applied value could not be read", () => {
    const [r] = quotaRefusals([reading('accessPoints', 10_000, 10_000, { source: 'default' })], { accessPoints: 1 });
    expect(r.detail).toContain("10000 (AWS's default: the applied value could not be read)");
    expect(r.quota.source).toBe('default');
  });
});

describe('Function: quotaExceeded', () => {
  it('is nothing without refusals, else one 409 problem listing every quota', () => {
    expect(quotaExceeded([])).toBeUndefined();
    const refusals = quotaRefusals(
      [reading('roles', 1000, 1000), reading('grants', 50_000, 50_000)],
      {
        roles: 1,
        grants: 1,
      },
      { roles: 'workload' },
    );
    const err = quotaExceeded(refusals)!;
    expect(err).toBeInstanceOf(QuotaExceededError);
    const problem = problemFromError(err);
    expect(problem.statusCode).toBe(409);
    const body = JSON.parse(problem.body);
    expect(body.type).toMatch(/quota-exceeded$/);
    expect(body.detail).toContain('quota code L-FE177D64');
    expect(body.detail).toContain('quota code L-D594A657');
    expect(body.quotas.map((q: { field?: string; quotaCode: string }) => [q.field, q.quotaCode])).toEqual([
      ['workload', 'L-FE177D64'],
      [undefined, 'L-D594A657'],
    ]);
  });
});
