import { BACKUPS, WORKLOADS } from '../flows';
import { bucketPolicy, compactBytes, roleTrust } from '../lib/aws';
import { onboard, type BenchStack } from '../lib/stack';

export const BUCKET_POLICY_LIMIT = 20 * 1024;
export const TRUST_QUOTAS = [2048, 4096];

const demo = { name: 'demo', accountId: WORKLOADS, region: 'eu-west-1' };
const restore = { name: 'restore', accountId: WORKLOADS, region: 'eu-west-1' };

/** The onboarding the growth and contention numbers use: pbm, read-write, namespace and prefix `team-NN`. */
export const teamRequest = (i: number, bucket = 'shared-backups', clusters: object[] = [demo]) => {
  const team = `team-${String(i).padStart(2, '0')}`;
  return {
    workload: { type: 'eks', clusters, namespace: team, serviceAccounts: ['pbm-agent'] },
    bucket: { name: bucket, accountId: BACKUPS, region: 'eu-west-1', prefix: `${team}/` },
    tool: 'pbm',
  };
};

export interface GrowthResult {
  request: string;
  bucket: {
    /** bytes one onboarding adds to a policy that already has statements (foreign or ours) */
    bytesPerOnboarding: number;
    /** the same, measured on demo-backups, whose policy has a foreign statement */
    bytesAddedToForeignPolicy: number;
    /** the whole policy of a bucket that had none, after its first onboarding */
    firstOnboardingPolicyBytes: number;
    limitBytes: number;
    onboardingsThatFit: number;
  };
  trust: {
    oneClusterBytes: number;
    twoClustersBytes: number;
    bytesPerCluster: number;
    clustersThatFit: Record<string, number>;
  };
}

const fits = (first: number, per: number, limit: number): number =>
  first > limit ? 0 : 1 + Math.floor((limit - first) / per);

async function created(stack: BenchStack, body: unknown): Promise<{ roleArn: string }> {
  const res = await onboard<{ roleArn: string }>(stack, body);
  if (res.status !== 201)
    throw new Error(`growth: onboarding answered ${res.status}: ${JSON.stringify(res.body).slice(0, 300)}`);
  return res.body;
}

const policyBytes = async (stack: BenchStack, bucket: string): Promise<number> => {
  const p = await bucketPolicy(stack.emulatorUrl, BACKUPS, bucket);
  return p ? compactBytes(p) : 0;
};

/** Measures on the emulator what onboardings write: the bucket policy before and after, and the roles' trust. */
export async function growth(stack: BenchStack): Promise<GrowthResult> {
  await stack.admin.reset();
  // a bucket with a foreign statement
  const before = await policyBytes(stack, 'demo-backups');
  const one = await created(stack, teamRequest(1, 'demo-backups'));
  const afterForeign = await policyBytes(stack, 'demo-backups');
  // a bucket with no policy: its first and second onboarding
  await created(stack, teamRequest(2));
  const s1 = await policyBytes(stack, 'shared-backups');
  await created(stack, teamRequest(3));
  const s2 = await policyBytes(stack, 'shared-backups');
  const per = s2 - s1;
  // trust: one cluster, then two
  const t1 = compactBytes(await roleTrust(stack.emulatorUrl, one.roleArn));
  const two = await created(stack, teamRequest(4, 'shared-backups', [demo, restore]));
  const t2 = compactBytes(await roleTrust(stack.emulatorUrl, two.roleArn));
  const perCluster = t2 - t1;
  return {
    request:
      'pbm read-write, one service account (pbm-agent), namespace team-NN, prefix team-NN/, cluster demo (+ restore)',
    bucket: {
      bytesPerOnboarding: per,
      bytesAddedToForeignPolicy: afterForeign - before,
      firstOnboardingPolicyBytes: s1,
      limitBytes: BUCKET_POLICY_LIMIT,
      onboardingsThatFit: fits(s1, per, BUCKET_POLICY_LIMIT),
    },
    trust: {
      oneClusterBytes: t1,
      twoClustersBytes: t2,
      bytesPerCluster: perCluster,
      clustersThatFit: Object.fromEntries(TRUST_QUOTAS.map((q) => [String(q), fits(t1, perCluster, q)])),
    },
  };
}
