/**
 * The onboarding flows the benchmark drives (five IRSA and EC2 flows, four EKS Pod Identity flows), over the demo topology (examples/topology.json), and for each
 * the minimum critical-path depth its data dependencies allow (the reasoning is in bench/README.md).
 */
export const PLATFORM = '100000000001';
export const WORKLOADS = '200000000002';
export const BACKUPS = '300000000003';
export const INSTANCE_ROLE = `arn:aws:iam::${WORKLOADS}:role/pbm-ec2-instance-role`;

const demo = { name: 'demo', accountId: WORKLOADS, region: 'eu-west-1' };
const restore = { name: 'restore', accountId: WORKLOADS, region: 'eu-west-1' };
const demoBackups = (prefix: string) => ({ name: 'demo-backups', accountId: BACKUPS, region: 'eu-west-1', prefix });
const eks = (clusters: object[]) => ({ type: 'eks', clusters, namespace: 'mongodb', serviceAccounts: ['pbm-agent'] });
const podIdentity = (clusters: object[]) => ({ ...eks(clusters), identity: 'pod-identity' });

export interface Flow {
  name: string;
  crossAccount: boolean;
  /** a request whose onboarding identity is new for every distinct `tag` (the tag goes into the prefix) */
  request(tag: string): Record<string, unknown>;
  /** fewest levels of AWS calls that wait on each other, with the provisioner credentials already cached */
  minDepth: number;
  /** the critical path those levels make up */
  minPath: string;
  /** fewest levels of a repeat (default REPEAT_MIN_DEPTH) */
  repeatMinDepth?: number;
  /**
   * runs in the propagation scenario (default: all of them, under its budget). EKS Pod Identity cannot meet that
   * budget: EKS refuses an association naming a role it does not see yet, so the service waits (bounded) for IAM.
   */
  propagation?: { runs: number; budget: false };
}

export const FLOWS: Flow[] = [
  {
    name: 'same account',
    crossAccount: false,
    request: (tag) => ({
      workload: eks([demo]),
      bucket: { name: 'workload-local-backups', region: 'eu-west-1', prefix: `bench/${tag}/` },
      tool: 'pbm',
    }),
    minDepth: 3,
    minPath: 'reads ∥ → CreateRole → PutRolePolicy',
  },
  {
    name: 'cross account, bucket policy',
    crossAccount: true,
    request: (tag) => ({ workload: eks([demo]), bucket: demoBackups(`bench/${tag}/`), tool: 'pbm' }),
    minDepth: 3,
    minPath: 'reads ∥ → CreateRole → PutRolePolicy  ∥  reads ∥ GetBucketPolicy (under the lease) → PutBucketPolicy',
  },
  {
    name: 'cross account, role in bucket account',
    crossAccount: true,
    request: (tag) => ({
      workload: eks([demo]),
      bucket: demoBackups(`bench/${tag}/`),
      tool: 'pbm',
      crossAccountMode: 'role-in-bucket-account',
    }),
    minDepth: 4,
    minPath: 'reads ∥ → CreateOpenIDConnectProvider → CreateRole → PutRolePolicy',
  },
  {
    name: 'cross account, access point',
    crossAccount: true,
    request: (tag) => ({
      workload: eks([demo]),
      bucket: demoBackups(`bench/${tag}/`),
      tool: 'pbm',
      crossAccountMode: 'access-point',
    }),
    // the bucket's delegation is added only once the onboarding's own access point exists (a removal deciding
    // under the lease then sees it), and a bucket policy is written only from a read under its lease
    minDepth: 4,
    minPath:
      'reads ∥ → CreateRole → PutRolePolicy  ∥  reads ∥ → CreateAccessPoint → GetBucketPolicy (under the lease) → PutBucketPolicy',
  },
  {
    name: 'two clusters',
    crossAccount: true,
    request: (tag) => ({ workload: eks([demo, restore]), bucket: demoBackups(`bench/${tag}/`), tool: 'pbm' }),
    minDepth: 4,
    minPath: 'reads ∥ → CreateOpenIDConnectProvider (restore) → CreateRole → PutRolePolicy',
  },
  {
    name: 'ec2',
    crossAccount: true,
    request: (tag) => ({
      workload: { type: 'ec2', instanceRoleArn: INSTANCE_ROLE },
      bucket: demoBackups(`bench/${tag}/`),
      tool: 'pbm',
    }),
    minDepth: 3,
    minPath:
      'reads ∥ → CreateRole → PutRolePolicy  ∥  reads → PutRolePolicy (instance grant)  ∥  reads ∥ GetBucketPolicy (under the lease) → PutBucketPolicy',
  },
  {
    name: 'pod identity, same account',
    crossAccount: false,
    request: (tag) => ({
      workload: podIdentity([demo]),
      bucket: { name: 'workload-local-backups', region: 'eu-west-1', prefix: `bench/${tag}/` },
      tool: 'pbm',
    }),
    minDepth: 3,
    minPath: 'reads ∥ → CreateRole → PutRolePolicy ∥ CreatePodIdentityAssociation',
    repeatMinDepth: 2,
    propagation: { runs: 2, budget: false },
  },
  {
    name: 'pod identity, cross account, bucket policy',
    crossAccount: true,
    request: (tag) => ({ workload: podIdentity([demo]), bucket: demoBackups(`bench/${tag}/`), tool: 'pbm' }),
    minDepth: 3,
    minPath:
      'reads ∥ → CreateRole → PutRolePolicy ∥ CreatePodIdentityAssociation  ∥  reads ∥ GetBucketPolicy (under the lease) → PutBucketPolicy',
    repeatMinDepth: 2,
    propagation: { runs: 0, budget: false },
  },
  {
    name: 'pod identity, target role in bucket account',
    crossAccount: true,
    request: (tag) => ({
      workload: podIdentity([demo]),
      bucket: demoBackups(`bench/${tag}/`),
      tool: 'pbm',
      crossAccountMode: 'role-in-bucket-account',
    }),
    minDepth: 3,
    minPath:
      'reads ∥ → CreateRole (target) ∥ CreateRole (source) → PutRolePolicy ∥ PutRolePolicy (chain) ∥ CreatePodIdentityAssociation',
    repeatMinDepth: 2,
    propagation: { runs: 0, budget: false },
  },
  {
    name: 'pod identity, two clusters',
    crossAccount: true,
    request: (tag) => ({ workload: podIdentity([demo, restore]), bucket: demoBackups(`bench/${tag}/`), tool: 'pbm' }),
    minDepth: 3,
    minPath: 'reads ∥ → CreateRole → PutRolePolicy ∥ CreatePodIdentityAssociation × 2',
    repeatMinDepth: 2,
    propagation: { runs: 0, budget: false },
  },
];

/** A repeat only reads: one level (EKS Pod Identity: two, the associations' list before their descriptions). */
export const REPEAT_MIN_DEPTH = 1;
/** With a cold credential cache every chain starts with the API's AssumeRole into the provisioner roles. */
export const COLD_EXTRA_DEPTH = 1;
