import path from 'node:path';
import { loadTopology, type Topology } from '../../emulator/topology';
import { REPO_ROOT } from '../../scripts/stack';

/**
 * The demo topology, with the buckets outside the workloads' accounts and the customer keys tagged s3-onboarding-managed=true
 * (opted in to the service's changes), and clusters sharing a region moved to regions of their own: moto gives
 * every cluster of one region the same OIDC issuer (a random string fixed when moto starts), and two clusters with
 * one issuer would hide the second cluster's IAM OIDC provider.
 */
export function checksTopology(): Topology {
  const t = loadTopology(path.join(REPO_ROOT, 'examples/topology.json'));
  const spare = ['eu-central-1', 'eu-north-1', 'eu-west-2', 'eu-west-3', 'us-west-2'];
  const used = new Set<string>();
  const managed = { 's3-onboarding-managed': 'true' };
  const workloadAccounts = new Set([...t.clusters.map((c) => c.accountId), ...t.roles.map((r) => r.accountId)]);
  return {
    ...t,
    // opted in to the service's changes (contract section 2), whatever the demo file says today
    buckets: [
      ...t.buckets.map((b) => (workloadAccounts.has(b.accountId) ? b : { ...b, tags: { ...managed, ...b.tags } })),
      // a bucket of no tags at all (GetBucketTagging's NoSuchTagSet): the demo's buckets are all opted in
      {
        name: 'workload-untagged-backups',
        accountId: [...workloadAccounts][0]!,
        region: t.buckets[0]!.region,
        tags: {},
        abac: true,
      },
    ],
    kmsKeys: t.kmsKeys.map((k) =>
      k.awsManaged ? k : { ...k, tags: { ...managed, ...(k as { tags?: Record<string, string> }).tags } },
    ),
    clusters: t.clusters.map((c) => {
      if (!used.has(c.region)) {
        used.add(c.region);
        return c;
      }
      const region = spare.find((r) => !used.has(r))!;
      used.add(region);
      return { ...c, region };
    }),
  };
}
