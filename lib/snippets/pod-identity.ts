import { POD_IDENTITY_AGENT_ADDON } from '../policy/pod-identity';
import { shellQuote } from './format';
import type { EksCluster, PodIdentityAssociation } from './types';

const code = (s: string): string => `\`${s.replace(/`/g, "'")}\``;

/**
 * pod-identity.md: what the service did on the EKS side and what the clusters need. EKS Pod Identity needs no
 * service-account annotation (the association lives in EKS), so there is nothing to apply to the cluster.
 */
export function renderPodIdentityNotes(associations: readonly PodIdentityAssociation[]): string {
  const key = (c: EksCluster) => `${c.accountId}/${c.region}/${c.name}`;
  const clusters = [...new Map(associations.map((a) => [key(a.cluster), a.cluster])).values()];
  const chained = associations.some((a) => a.targetRoleArn);
  const lines = [
    '# EKS Pod Identity',
    '',
    'The service made these EKS Pod Identity associations (one per cluster and service account). Pods that run',
    "as these service accounts get the role's credentials from the EKS Pod Identity agent; no annotation is needed.",
    '',
    '| cluster | account | region | namespace | service account | role | target role |',
    '|---|---|---|---|---|---|---|',
    ...associations.map(
      (a) =>
        `| ${code(a.cluster.name)} | ${code(a.cluster.accountId)} | ${code(a.cluster.region)} | ${code(a.namespace)} | ${code(a.serviceAccount)} | ${code(a.roleArn)} | ${a.targetRoleArn ? code(a.targetRoleArn) : '—'} |`,
    ),
    '',
    '## What the clusters need',
    '',
    `- The ${code(POD_IDENTITY_AGENT_ADDON)} add-on on every cluster above (EKS Auto Mode clusters run the agent without it;`,
    '  the service checked it before creating the associations). Pod Identity works for pods on Linux EC2 nodes;',
    '  not for pods on AWS Fargate or Windows nodes.',
    '- Workloads whose AWS SDK supports EKS Pod Identity (the container credential provider; see "Use pod identity',
    '  with the AWS SDK" in the EKS User Guide for the minimum versions).',
    "- No `eks.amazonaws.com/role-arn` annotation on these service accounts: with one, the SDKs' default credential",
    '  chains read the IRSA web-identity token before the Pod Identity credentials. Remove it if present.',
    '- Restart the pods that already run as these service accounts: EKS injects the Pod Identity variables when a',
    '  pod starts.',
    ...(chained
      ? [
          "- Role chaining: EKS assumes the association's role in the cluster's account, then the target role; pods get",
          "  the target role's credentials (sessions of at most one hour).",
        ]
      : []),
    '',
    '## Check',
    '',
    '```sh',
    ...clusters.map((c) => {
      const namespace = associations.find((a) => key(a.cluster) === key(c))!.namespace;
      return `aws eks list-pod-identity-associations --region ${shellQuote(c.region)} --cluster-name ${shellQuote(c.name)} --namespace ${shellQuote(namespace)}`;
    }),
    '```',
    '',
  ];
  return lines.join('\n');
}
