import path from 'node:path';
import { loadTopology, type Topology } from '../../emulator/topology';
import { REPO_ROOT } from '../../scripts/stack';

/**
 * The demo topology, except that clusters sharing a region move to regions of their own: moto gives every cluster
 * of one region the same OIDC issuer (a random string fixed when moto starts), and two clusters with one issuer
 * would hide the second cluster's IAM OIDC provider.
 */
export function checksTopology(): Topology {
  const t = loadTopology(path.join(REPO_ROOT, 'examples/topology.json'));
  const spare = ['eu-central-1', 'eu-north-1', 'eu-west-2', 'eu-west-3', 'us-west-2'];
  const used = new Set<string>();
  return {
    ...t,
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
