import { parse } from 'yaml';
import { renderSnippets, type SnippetInput } from '../../../lib/snippets';
import { validateSnippet } from '../../helpers/schemas';

/** The EKS Pod Identity snippet set: pod-identity.md instead of every file that annotates a service account. */

const TARGET = 'arn:aws:iam::300000000003:role/s3-onboarding/s3ob-0123456789abcdef';
const SOURCE = 'arn:aws:iam::200000000002:role/s3-onboarding/s3ob-0123456789abcdef';
const demo = { name: 'demo', accountId: '200000000002', region: 'eu-west-1' };
const restore = { name: 'restore', accountId: '200000000002', region: 'eu-west-1' };

const input = (over: Partial<SnippetInput> & { namespace?: string; serviceAccounts?: string[] } = {}): SnippetInput => {
  const { namespace = 'mongodb', serviceAccounts = ['pbm-agent'], ...rest } = over;
  const clusters = [demo, restore];
  return {
    onboardingId: 'ob-0123456789ab',
    tool: 'pbm',
    access: 'read-write',
    roleArn: TARGET,
    bucket: { name: 'demo-backups', region: 'eu-west-1', prefix: 'db/' },
    workload: { type: 'eks', clusters, namespace, serviceAccounts },
    podIdentity: {
      associations: clusters.flatMap((cluster) =>
        serviceAccounts.map((serviceAccount) => ({
          cluster,
          namespace,
          serviceAccount,
          roleArn: SOURCE,
          targetRoleArn: TARGET,
        })),
      ),
    },
    ...rest,
  };
};

describe('Function: renderSnippets with EKS Pod Identity', () => {
  it('pod-identity.md names every association and what the clusters need', () => {
    const snippets = renderSnippets(input());
    expect(Object.keys(snippets).sort()).toEqual(['pbm-config.yaml', 'pod-identity.md']);
    expect(validateSnippet('pod-identity.md', snippets['pod-identity.md']!)).toEqual([]);
    expect(snippets['pod-identity.md']).toMatchInlineSnapshot(`
"# EKS Pod Identity

The service made these EKS Pod Identity associations (one per cluster and service account). Pods that run
as these service accounts get the role's credentials from the EKS Pod Identity agent; no annotation is needed.

| cluster | account | region | namespace | service account | role | target role |
|---|---|---|---|---|---|---|
| \`demo\` | \`200000000002\` | \`eu-west-1\` | \`mongodb\` | \`pbm-agent\` | \`arn:aws:iam::200000000002:role/s3-onboarding/s3ob-0123456789abcdef\` | \`arn:aws:iam::300000000003:role/s3-onboarding/s3ob-0123456789abcdef\` |
| \`restore\` | \`200000000002\` | \`eu-west-1\` | \`mongodb\` | \`pbm-agent\` | \`arn:aws:iam::200000000002:role/s3-onboarding/s3ob-0123456789abcdef\` | \`arn:aws:iam::300000000003:role/s3-onboarding/s3ob-0123456789abcdef\` |

## What the clusters need

- The \`eks-pod-identity-agent\` add-on on every cluster above (EKS Auto Mode clusters run the agent without it;
  the service checked it before creating the associations). Pod Identity works for pods on Linux EC2 nodes;
  not for pods on AWS Fargate or Windows nodes.
- Workloads whose AWS SDK supports EKS Pod Identity (the container credential provider; see "Use pod identity
  with the AWS SDK" in the EKS User Guide for the minimum versions).
- No \`eks.amazonaws.com/role-arn\` annotation on these service accounts: with one, the SDKs' default credential
  chains read the IRSA web-identity token before the Pod Identity credentials. Remove it if present.
- Restart the pods that already run as these service accounts: EKS injects the Pod Identity variables when a
  pod starts.
- Role chaining: EKS assumes the association's role in the cluster's account, then the target role; pods get
  the target role's credentials (sessions of at most one hour).

## Check

\`\`\`sh
aws eks list-pod-identity-associations --region 'eu-west-1' --cluster-name 'demo' --namespace 'mongodb'
aws eks list-pod-identity-associations --region 'eu-west-1' --cluster-name 'restore' --namespace 'mongodb'
\`\`\`
"
`);
  });

  const veleroHelm = {
    tool: 'velero' as const,
    namespace: 'velero',
    serviceAccounts: ['velero-server'],
    workload: {
      type: 'eks' as const,
      clusters: [demo],
      namespace: 'velero',
      serviceAccounts: ['velero-server'],
      velero: { installMethod: 'helm' as const, helmReleaseName: 'velero' },
    },
  };

  it.each([
    [
      'stackgres',
      { tool: 'stackgres' as const, namespace: 'postgres', serviceAccounts: ['main-patroni'] },
      ['pod-identity.md', 'sgobjectstorage.yaml'],
    ],
    ['velero installed with Helm', veleroHelm, ['pod-identity.md', 'velero-bsl.yaml', 'velero-values.yaml']],
    [
      'velero installed with velero install',
      { ...veleroHelm, workload: { ...veleroHelm.workload, velero: { installMethod: 'cli' as const } } },
      ['pod-identity.md', 'velero-bsl.yaml'],
    ],
  ])(
    '%s: the tool’s configuration, and nothing that annotates its service account or points to such a file',
    (_what, over, files) => {
      const snippets = renderSnippets(input(over));
      expect(Object.keys(snippets).sort()).toEqual(files);
      expect(Object.values(snippets).join('\n')).not.toContain('eks.amazonaws.com/role-arn:');
      // the tool's own files name no file that is not there, and no IRSA step
      const toolFiles = Object.entries(snippets)
        .filter(([f]) => f !== 'pod-identity.md')
        .map(([, t]) => t)
        .join('\n');
      for (const gone of [
        'serviceaccount.yaml',
        'annotate.sh',
        'sgcluster-annotations.yaml',
        'IRSA',
        '--sa-annotations',
      ])
        expect({ gone, mentioned: toolFiles.includes(gone) }).toEqual({ gone, mentioned: false });
      for (const [file, text] of Object.entries(snippets))
        expect({ file, errors: validateSnippet(file, text, { podIdentity: true }) }).toEqual({ file, errors: [] });
    },
  );

  it('velero installed with Helm: the values turn the credentials secret off, which Pod Identity needs, and set nothing else', () => {
    const values = renderSnippets(input(veleroHelm))['velero-values.yaml']!;
    expect(parse(values)).toEqual({ credentials: { useSecret: false } });
    expect(renderSnippets(input(veleroHelm))['velero-bsl.yaml']).toContain('credentials.useSecret: false');
  });
});
