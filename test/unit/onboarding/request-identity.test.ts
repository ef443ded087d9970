import { ValidationError } from '../../../lib/errors';
import { parseOnboardingRequest } from '../../../lib/onboarding/request/request';

/** `workload.identity` (contract section 4): irsa (the default) or pod-identity, for eks workloads only. */

const body = (workload: Record<string, unknown> = {}) => ({
  workload: {
    type: 'eks',
    clusters: [{ name: 'demo', accountId: '200000000002', region: 'eu-west-1' }],
    namespace: 'mongodb',
    serviceAccounts: ['pbm-agent'],
    ...workload,
  },
  bucket: { name: 'demo-backups', accountId: '300000000003', region: 'eu-west-1' },
  tool: 'pbm',
});
const errorsOf = (b: unknown) => {
  try {
    parseOnboardingRequest(b);
  } catch (e) {
    if (e instanceof ValidationError) return e.errors;
    throw e;
  }
  return [];
};

describe('Function: parseOnboardingRequest › workload.identity', () => {
  it.each(['irsa', 'pod-identity'])('accepts %s and keeps it', (identity) => {
    const parsed = parseOnboardingRequest(body({ identity }));
    expect(parsed.workload).toMatchObject({ type: 'eks', identity });
  });

  it('leaves it out when absent (IRSA): an existing request parses exactly as before', () => {
    expect(parseOnboardingRequest(body()).workload).not.toHaveProperty('identity');
  });

  it('refuses another value, and the field on an ec2 workload, naming the field', () => {
    expect(errorsOf(body({ identity: 'kube2iam' }))).toEqual([
      { path: 'workload.identity', message: 'must be one of: "irsa", "pod-identity"' },
    ]);
    const ec2 = {
      ...body(),
      workload: {
        type: 'ec2',
        instanceRoleArn: 'arn:aws:iam::200000000002:role/pbm-ec2-instance-role',
        identity: 'pod-identity',
      },
    };
    expect(errorsOf(ec2)).toEqual([
      { path: 'workload.identity', message: 'is not an allowed field (unknown fields are rejected)' },
    ]);
  });
});
