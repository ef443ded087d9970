import { loadConfig } from '../../../lib/config';
import { modeOf, onboardingId, workloadIdentity, type OnboardingInput } from '../../../lib/onboarding/model/onboarding';

const config = loadConfig({});
const base: OnboardingInput = {
  workload: {
    type: 'eks',
    clusters: [{ name: 'demo', accountId: '200000000002', region: 'eu-west-1' }],
    namespace: 'mongodb',
    serviceAccounts: ['pbm-agent'],
  },
  bucket: { name: 'demo-backups', accountId: '300000000003', region: 'eu-west-1', prefix: 'demo/' },
  tool: 'pbm',
  access: 'read-write',
};

describe('Function: onboardingId', () => {
  it('is stable and the same for attribute changes (access, service accounts, tags, key)', () => {
    const id = onboardingId(base);
    expect(id).toMatch(/^ob-[0-9a-f]{12}$/);
    expect(
      onboardingId({
        ...base,
        access: 'read-only',
        tags: { t: '1' },
        bucket: { ...base.bucket, kmsKeyArn: 'arn:aws:kms:eu-west-1:300000000003:key/x' },
      }),
    ).toBe(id);
    expect(
      onboardingId({
        ...base,
        workload: { ...base.workload, serviceAccounts: ['other'] } as OnboardingInput['workload'],
      }),
    ).toBe(id);
  });

  it('differs for another prefix, bucket, namespace, tool, cluster set or role location', () => {
    const id = onboardingId(base);
    const variants: OnboardingInput[] = [
      { ...base, bucket: { ...base.bucket, prefix: 'other/' } },
      { ...base, bucket: { ...base.bucket, name: 'other-bucket' } },
      { ...base, workload: { ...base.workload, namespace: 'other' } as OnboardingInput['workload'] },
      { ...base, tool: 'velero' },
      {
        ...base,
        workload: {
          ...base.workload,
          clusters: [{ name: 'restore', accountId: '200000000002', region: 'eu-west-1' }],
        } as OnboardingInput['workload'],
      },
      { ...base, crossAccountMode: 'role-in-bucket-account' },
    ];
    for (const v of variants) expect(onboardingId(v)).not.toBe(id);
  });

  it('does not depend on cluster order', () => {
    const a = { name: 'a', accountId: '200000000002', region: 'eu-west-1' };
    const b = { name: 'b', accountId: '200000000002', region: 'eu-west-1' };
    expect(
      onboardingId({ ...base, workload: { ...base.workload, clusters: [a, b] } as OnboardingInput['workload'] }),
    ).toBe(onboardingId({ ...base, workload: { ...base.workload, clusters: [b, a] } as OnboardingInput['workload'] }));
  });
});

describe('Function: workloadIdentity', () => {
  const spec = {
    kind: 'irsa' as const,
    roleAccount: '200000000002',
    clusters: [{ name: 'demo', accountId: '200000000002', region: 'eu-west-1' }],
    namespace: 'mongodb',
    serviceAccounts: ['pbm-agent'],
  };

  it('names one role per identity: the prefix and 16 hex of the identity key, within 64 characters', () => {
    const w = workloadIdentity(config, spec);
    expect(w.key).toMatch(/^wi-[0-9a-f]{16}$/);
    expect(w.roleName).toBe(`s3ob-${w.key.slice(3)}`);
    expect(w.roleArn).toBe(`arn:aws:iam::200000000002:role/s3-onboarding/${w.roleName}`);
    expect(workloadIdentity({ ...config, roleNamePrefix: 'x'.repeat(70) }, spec).roleName).toHaveLength(64);
  });

  it('binds each service account of each cluster, or the instance role', () => {
    const two = workloadIdentity(config, {
      ...spec,
      clusters: [...spec.clusters, { name: 'restore', accountId: '400000000004', region: 'eu-west-1' }],
      serviceAccounts: ['a', 'b'],
    });
    expect(two.bindings).toEqual([
      'sa:200000000002/eu-west-1/demo/mongodb/a',
      'sa:200000000002/eu-west-1/demo/mongodb/b',
      'sa:400000000004/eu-west-1/restore/mongodb/a',
      'sa:400000000004/eu-west-1/restore/mongodb/b',
    ]);
    expect(
      workloadIdentity(config, {
        kind: 'ec2',
        roleAccount: '200000000002',
        clusters: [],
        serviceAccounts: [],
        instanceRoleArn: 'arn:aws:iam::200000000002:role/i',
      }).bindings,
    ).toEqual(['ec2:arn:aws:iam::200000000002:role/i']);
  });

  it('is another identity (another role) for other service accounts, clusters, namespace, role account or mechanism', () => {
    const key = workloadIdentity(config, spec).key;
    for (const other of [
      { ...spec, serviceAccounts: ['pbm-agent', 'x'] },
      { ...spec, namespace: 'other' },
      { ...spec, roleAccount: '300000000003' },
      { ...spec, clusters: [{ name: 'restore', accountId: '200000000002', region: 'eu-west-1' }] },
      { ...spec, kind: 'pod-identity' as const },
    ]) {
      expect(workloadIdentity(config, other).key).not.toBe(key);
    }
  });
});

describe('Function: modeOf', () => {
  it('puts the role in the workload account by default and in the bucket account when asked', () => {
    expect(modeOf(base)).toEqual({
      mode: 'bucket-policy',
      workloadAccounts: ['200000000002'],
      bucketAccount: '300000000003',
      roleAccount: '200000000002',
    });
    expect(modeOf({ ...base, crossAccountMode: 'role-in-bucket-account' }).roleAccount).toBe('300000000003');
    expect(modeOf({ ...base, bucket: { ...base.bucket, accountId: undefined } }).mode).toBe('same-account');
    expect(
      modeOf({ ...base, workload: { type: 'ec2', instanceRoleArn: 'arn:aws:iam::200000000002:role/i' } })
        .workloadAccounts,
    ).toEqual(['200000000002']);
  });

  it('lets clusters of several accounts share a role in the bucket account', () => {
    const clusters = [
      { name: 'prod', accountId: '200000000002', region: 'eu-west-1' },
      { name: 'dr', accountId: '400000000004', region: 'eu-central-1' },
    ];
    const m = modeOf({
      ...base,
      crossAccountMode: 'role-in-bucket-account',
      workload: { ...base.workload, clusters } as OnboardingInput['workload'],
    });
    expect(m).toEqual({
      mode: 'role-in-bucket-account',
      workloadAccounts: ['200000000002', '400000000004'],
      bucketAccount: '300000000003',
      roleAccount: '300000000003',
    });
  });
});
