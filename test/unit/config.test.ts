import { loadConfig } from '../../lib/config';

describe('Function: loadConfig', () => {
  it('takes the leases from the environment, with their defaults', () => {
    expect(loadConfig({})).toMatchObject({
      lockLeaseMs: 30_000,
      policyLeaseMs: 15_000,
      credentialRefreshMarginSeconds: 300,
    });
    expect(loadConfig({ LOCK_LEASE_MS: '250', POLICY_LEASE_MS: '250' })).toMatchObject({
      lockLeaseMs: 250,
      policyLeaseMs: 250,
    });
  });

  it('keeps quota limits 5 minutes unless QUOTA_LIMIT_CACHE_SECONDS says otherwise', () => {
    expect(loadConfig({}).quotaLimitTtlMs).toBe(300_000);
    expect(loadConfig({ QUOTA_LIMIT_CACHE_SECONDS: '30' }).quotaLimitTtlMs).toBe(30_000);
    expect(() => loadConfig({ QUOTA_LIMIT_CACHE_SECONDS: '0' })).toThrow('QUOTA_LIMIT_CACHE_SECONDS');
  });

  it.each(['abc', '-5', '0', '1.5'])(
    'refuses LOCK_LEASE_MS=%s at cold start, naming it (a NaN lease would break every lock)',
    (value) => {
      expect(() => loadConfig({ LOCK_LEASE_MS: value })).toThrow(
        `LOCK_LEASE_MS must be a positive whole number, not "${value}"`,
      );
    },
  );
});
