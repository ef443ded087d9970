import { loadConfig } from '../../../lib/config';
import { modeOf, onboardingId, roleName, type OnboardingInput } from '../../../lib/onboarding/model';
import { applySteps, type Step } from '../../../lib/onboarding/engine';

const config = loadConfig({});
const base: OnboardingInput = {
  workload: { type: 'eks', clusters: [{ name: 'demo', accountId: '200000000002', region: 'eu-west-1' }], namespace: 'mongodb', serviceAccounts: ['pbm-agent'] },
  bucket: { name: 'demo-backups', accountId: '300000000003', region: 'eu-west-1', prefix: 'demo/' },
  tool: 'pbm',
  access: 'read-write',
};

describe('Function: onboardingId', () => {
  it('is stable and the same for attribute changes (access, service accounts, tags, key)', () => {
    const id = onboardingId(base);
    expect(id).toMatch(/^ob-[0-9a-f]{12}$/);
    expect(onboardingId({ ...base, access: 'read-only', tags: { t: '1' }, bucket: { ...base.bucket, kmsKeyArn: 'arn:aws:kms:eu-west-1:300000000003:key/x' } })).toBe(id);
    expect(onboardingId({ ...base, workload: { ...base.workload, serviceAccounts: ['other'] } as OnboardingInput['workload'] })).toBe(id);
  });

  it('differs for another prefix, bucket, namespace, tool, cluster set or role location', () => {
    const id = onboardingId(base);
    const variants: OnboardingInput[] = [
      { ...base, bucket: { ...base.bucket, prefix: 'other/' } },
      { ...base, bucket: { ...base.bucket, name: 'other-bucket' } },
      { ...base, workload: { ...base.workload, namespace: 'other' } as OnboardingInput['workload'] },
      { ...base, tool: 'velero' },
      { ...base, workload: { ...base.workload, clusters: [{ name: 'restore', accountId: '200000000002', region: 'eu-west-1' }] } as OnboardingInput['workload'] },
      { ...base, crossAccountMode: 'role-in-bucket-account' },
    ];
    for (const v of variants) expect(onboardingId(v)).not.toBe(id);
  });

  it('does not depend on cluster order', () => {
    const a = { name: 'a', accountId: '200000000002', region: 'eu-west-1' };
    const b = { name: 'b', accountId: '200000000002', region: 'eu-west-1' };
    expect(onboardingId({ ...base, workload: { ...base.workload, clusters: [a, b] } as OnboardingInput['workload'] })).toBe(
      onboardingId({ ...base, workload: { ...base.workload, clusters: [b, a] } as OnboardingInput['workload'] }),
    );
  });
});

describe('Function: roleName', () => {
  it('is the prefix, the tool and the id hash, within 64 characters', () => {
    const id = onboardingId(base);
    expect(roleName(config, base, id)).toBe(`s3ob-pbm-${id.slice(3)}`);
    expect(roleName({ ...config, roleNamePrefix: 'x'.repeat(70) }, base, id)).toHaveLength(64);
  });
});

describe('Function: modeOf', () => {
  it('puts the role in the workload account by default and in the bucket account when asked', () => {
    expect(modeOf(base)).toEqual({ mode: 'bucket-policy', workloadAccount: '200000000002', bucketAccount: '300000000003', roleAccount: '200000000002' });
    expect(modeOf({ ...base, crossAccountMode: 'role-in-bucket-account' }).roleAccount).toBe('300000000003');
    expect(modeOf({ ...base, bucket: { ...base.bucket, accountId: undefined } }).mode).toBe('same-account');
    expect(modeOf({ ...base, workload: { type: 'ec2', instanceRoleArn: 'arn:aws:iam::200000000002:role/i' } }).workloadAccount).toBe('200000000002');
  });
});

describe('Function: applySteps', () => {
  const step = (key: string, after: string[], log: string[], fail = false): Step => ({
    key,
    after,
    action: key,
    accountId: '1',
    resource: key,
    run: async () => {
      log.push(`start ${key}`);
      await new Promise((r) => setTimeout(r, 5));
      if (fail) throw new Error(`${key} failed`);
      log.push(`end ${key}`);
    },
  });

  it('runs independent steps at once and dependent ones after what they wait for', async () => {
    const log: string[] = [];
    await applySteps([step('role', ['oidc'], log), step('oidc', [], log), step('bucket', [], log), step('policy', ['role'], log)]);
    expect(log.slice(0, 2).sort()).toEqual(['start bucket', 'start oidc']);
    expect(log.indexOf('start role')).toBeGreaterThan(log.indexOf('end oidc'));
    expect(log.indexOf('start policy')).toBeGreaterThan(log.indexOf('end role'));
  });

  it('lets independent steps finish when one fails, skips its dependants, and rethrows', async () => {
    const log: string[] = [];
    await expect(applySteps([step('oidc', [], log, true), step('role', ['oidc'], log), step('bucket', [], log)])).rejects.toThrow('oidc failed');
    expect(log).toContain('end bucket');
    expect(log).not.toContain('start role');
  });
});
