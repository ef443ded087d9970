/**
 * The five onboarding flows the benchmark drives, over the demo topology (examples/topology.json), and for each
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

export interface Flow {
  name: string;
  crossAccount: boolean;
  /** a request whose onboarding identity is new for every distinct `tag` (the tag goes into the prefix) */
  request(tag: string): Record<string, unknown>;
  /** fewest levels of AWS calls that wait on each other, with the provisioner credentials already cached */
  minDepth: number;
  /** the critical path those levels make up */
  minPath: string;
}

export const FLOWS: Flow[] = [
  {
    name: 'same account',
    crossAccount: false,
    request: (tag) => ({ workload: eks([demo]), bucket: { name: 'workload-local-backups', region: 'eu-west-1', prefix: `bench/${tag}/` }, tool: 'pbm' }),
    minDepth: 3,
    minPath: 'reads ∥ → CreateRole → PutRolePolicy',
  },
  {
    name: 'cross account, bucket policy',
    crossAccount: true,
    request: (tag) => ({ workload: eks([demo]), bucket: demoBackups(`bench/${tag}/`), tool: 'pbm' }),
    minDepth: 3,
    minPath: 'reads ∥ → CreateRole → PutRolePolicy  ∥  reads → GetBucketPolicy (locked re-read) → PutBucketPolicy',
  },
  {
    name: 'cross account, role in bucket account',
    crossAccount: true,
    request: (tag) => ({ workload: eks([demo]), bucket: demoBackups(`bench/${tag}/`), tool: 'pbm', crossAccountMode: 'role-in-bucket-account' }),
    minDepth: 4,
    minPath: 'reads ∥ → CreateOpenIDConnectProvider → CreateRole → PutRolePolicy',
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
    request: (tag) => ({ workload: { type: 'ec2', instanceRoleArn: INSTANCE_ROLE }, bucket: demoBackups(`bench/${tag}/`), tool: 'pbm' }),
    minDepth: 3,
    minPath: 'reads ∥ → CreateRole → PutRolePolicy  ∥  reads → PutRolePolicy (instance grant)  ∥  reads → GetBucketPolicy → PutBucketPolicy',
  },
];

/** A repeat only reads: one level. */
export const REPEAT_MIN_DEPTH = 1;
/** With a cold credential cache every chain starts with the API's AssumeRole into the provisioner roles. */
export const COLD_EXTRA_DEPTH = 1;
