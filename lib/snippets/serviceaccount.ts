import { shellQuote, toYamlStream, withComments } from './format';

const ROLE_ARN_ANNOTATION = 'eks.amazonaws.com/role-arn';
const STS_REGIONAL_ENDPOINTS_ANNOTATION = 'eks.amazonaws.com/sts-regional-endpoints';

export interface ServiceAccountBinding {
  namespace: string;
  serviceAccounts: readonly string[];
  roleArn: string;
}

interface ServiceAccountManifest {
  apiVersion: 'v1';
  kind: 'ServiceAccount';
  metadata: { name: string; namespace: string; annotations: Record<string, string> };
}

/** The annotations the EKS pod identity webhook reads, the same in serviceaccount.yaml and annotate.sh. */
export function serviceAccountAnnotations(roleArn: string): Record<string, string> {
  return {
    [ROLE_ARN_ANNOTATION]: roleArn,
    [STS_REGIONAL_ENDPOINTS_ANNOTATION]: 'true',
  };
}

function buildServiceAccounts(binding: ServiceAccountBinding): ServiceAccountManifest[] {
  return binding.serviceAccounts.map((name) => ({
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: { name, namespace: binding.namespace, annotations: serviceAccountAnnotations(binding.roleArn) },
  }));
}

/** serviceaccount.yaml: one annotated ServiceAccount per name, as a multi-document YAML stream. */
export function renderServiceAccounts(binding: ServiceAccountBinding, comments: readonly string[] = []): string {
  return withComments(comments, toYamlStream(buildServiceAccounts(binding)));
}

/** One `kubectl annotate` command setting every annotation; every variable argument single-quoted, `--` ends the options. */
function annotateCommand(namespace: string, serviceAccount: string, roleArn: string): string {
  return [
    'kubectl annotate serviceaccount --overwrite --namespace',
    shellQuote(namespace),
    '--',
    shellQuote(serviceAccount),
    ...Object.entries(serviceAccountAnnotations(roleArn)).map(([k, v]) => shellQuote(`${k}=${v}`)),
  ].join(' ');
}

/** annotate.sh: annotate existing service accounts in the current kubectl context. */
export function renderAnnotateScript(binding: ServiceAccountBinding, comments: readonly string[] = []): string {
  const lines = [
    '#!/bin/sh',
    '# Annotates existing service accounts with the IAM role (run once per cluster, in its kubectl context).',
    '# Restart the pods that use them afterwards so the EKS pod identity webhook injects the role.',
    ...comments.map((c) => `# ${c}`),
    'set -eu',
    ...binding.serviceAccounts.map((sa) => annotateCommand(binding.namespace, sa, binding.roleArn)),
  ];
  return `${lines.join('\n')}\n`;
}
