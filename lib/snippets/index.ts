import { renderAwsConfig, renderPbmAgentEnv } from './ec2';
import { SnippetInputError } from './errors';
import { renderMountpointVolume } from './mountpoint';
import { renderPbmConfig } from './pbm';
import { renderPodIdentityNotes } from './pod-identity';
import { renderPsmdbBackupStorages } from './psmdb-operator';
import { renderAnnotateScript, renderServiceAccounts } from './serviceaccount';
import { withRequirements } from './requirements';
import { renderSgClusterAnnotations, renderSgObjectStorage, sgClusterOf } from './stackgres';
import { SNIPPET_FILES, type EksWorkload, type SnippetInput, type Snippets } from './types';
import {
  renderVeleroBsl,
  renderVeleroHelmValues,
  renderVeleroPodIdentityValues,
  VELERO_HELM_SERVICE_ACCOUNT_NOTES,
  type PodCredentials,
} from './velero';

export * from './types';
export { SnippetInputError } from './errors';

/** The tool's own file(s) for an eks request. */
function renderEksToolFiles(input: SnippetInput, workload: EksWorkload, credentials: PodCredentials): Snippets {
  const { bucket, access, roleArn } = input;
  switch (input.tool) {
    case 'pbm':
      return { [SNIPPET_FILES.pbmConfig]: renderPbmConfig(bucket, access) };
    case 'psmdb-operator':
      return { [SNIPPET_FILES.psmdbBackupStorages]: renderPsmdbBackupStorages(bucket, access) };
    case 'stackgres': {
      if (workload.serviceAccounts.some((sa) => sgClusterOf(sa) === undefined)) {
        throw new SnippetInputError(
          'stackgres service accounts are named <sgcluster>-patroni',
          'workload.serviceAccounts',
        );
      }
      return {
        [SNIPPET_FILES.sgObjectStorage]: renderSgObjectStorage(bucket, access, workload.namespace),
        // the patroni service account's role annotation (no annotation with EKS Pod Identity)
        ...(credentials === 'irsa' && {
          [SNIPPET_FILES.sgClusterAnnotations]: renderSgClusterAnnotations(
            workload.namespace,
            workload.serviceAccounts,
            roleArn,
          ),
        }),
      };
    }
    case 'velero': {
      const install = workload.velero ?? { installMethod: 'cli' };
      return {
        [SNIPPET_FILES.veleroBsl]: renderVeleroBsl(bucket, access, workload.namespace, install, credentials),
        ...(install.installMethod === 'helm' && {
          [SNIPPET_FILES.veleroValues]:
            credentials === 'irsa'
              ? renderVeleroHelmValues(install, workload.serviceAccounts[0]!, roleArn)
              : renderVeleroPodIdentityValues(),
        }),
      };
    }
    case 'mountpoint-s3-csi':
      return { [SNIPPET_FILES.mountpointPv]: renderMountpointVolume(bucket, access, workload) };
    case 'generic':
      return {};
  }
}

function uniqueServiceAccounts(workload: EksWorkload): string[] {
  const names = [...new Set(workload.serviceAccounts)];
  if (names.length === 0) {
    throw new SnippetInputError('at least one service account is needed', 'workload.serviceAccounts');
  }
  return names;
}

/** Fixed notes on the service-account files where the tool (or its installer) owns the service account. */
function serviceAccountNotes(tool: SnippetInput['tool'], workload: EksWorkload): readonly string[] {
  if (tool === 'stackgres') {
    return [
      'StackGres: the operator creates and owns <sgcluster>-patroni; sgcluster-annotations.yaml is the',
      'supported way to annotate it (StackGres 1.18.3 or later), this file is for reference.',
    ];
  }
  if (tool === 'psmdb-operator') {
    return [
      "Percona operator: the operator's own service account (deploy/bundle.yaml: percona-server-mongodb-operator;",
      "a Helm install: the chart's fullname, <release>-psmdb-operator) and default, which the cluster's pods and",
      'their pbm-agent sidecars run as. Restart the operator pod after annotating it. A cluster-wide install',
      '(deploy/cw-bundle.yaml) runs the operator in a namespace of its own: it is onboarded there on its own.',
    ];
  }
  if (tool === 'velero' && workload.velero?.installMethod === 'helm') return VELERO_HELM_SERVICE_ACCOUNT_NOTES;
  return [];
}

/**
 * The contract's snippet set (section 4): every eks request gets serviceaccount.yaml and annotate.sh plus
 * the tool's files (with EKS Pod Identity: pod-identity.md instead of every annotation file); every ec2 request gets aws-config and pbm-agent.env (which selects its profile), plus
 * pbm-config.yaml for pbm. Never credentials.
 */
export function renderSnippets(input: SnippetInput): Snippets {
  // the versions the files need, in words where a person reads them (issue 18)
  return withRequirements(renderSnippetFiles(input), input.requirements ?? []);
}

function renderSnippetFiles(input: SnippetInput): Snippets {
  const { workload } = input;
  if (workload.type === 'ec2') {
    const profile = {
      onboardingId: input.onboardingId,
      tool: input.tool,
      roleArn: input.roleArn,
      instanceRoleArn: workload.instanceRoleArn,
    };
    return {
      [SNIPPET_FILES.awsConfig]: renderAwsConfig(profile),
      [SNIPPET_FILES.pbmAgentEnv]: renderPbmAgentEnv(profile),
      ...(input.tool === 'pbm' && { [SNIPPET_FILES.pbmConfig]: renderPbmConfig(input.bucket, input.access) }),
    };
  }
  const eks: EksWorkload = { ...workload, serviceAccounts: uniqueServiceAccounts(workload) };
  if (input.podIdentity) {
    // EKS Pod Identity: the associations are made on the EKS side, so no file annotates a service account with
    // the role (no serviceaccount.yaml, annotate.sh or StackGres annotations; Velero's Helm values only turn
    // the credentials secret off)
    return {
      [SNIPPET_FILES.podIdentity]: renderPodIdentityNotes(input.podIdentity.associations),
      ...renderEksToolFiles(input, eks, 'pod-identity'),
    };
  }
  const binding = { namespace: eks.namespace, serviceAccounts: eks.serviceAccounts, roleArn: input.roleArn };
  const notes = serviceAccountNotes(input.tool, eks);
  return {
    [SNIPPET_FILES.serviceAccounts]: renderServiceAccounts(binding, notes),
    [SNIPPET_FILES.annotateScript]: renderAnnotateScript(binding, notes),
    ...renderEksToolFiles(input, eks, 'irsa'),
  };
}
