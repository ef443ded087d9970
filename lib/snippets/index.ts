import { renderPbmAgentEnv } from './ec2';
import { SnippetInputError } from './errors';
import { renderMountpointVolume } from './mountpoint';
import { renderPbmConfig } from './pbm';
import { renderPsmdbBackupStorages } from './psmdb-operator';
import { renderAnnotateScript, renderServiceAccounts } from './serviceaccount';
import { renderSgObjectStorage } from './stackgres';
import { SNIPPET_FILES, type EksWorkload, type SnippetInput, type Snippets } from './types';
import { renderVeleroBsl } from './velero';

export * from './types';
export { SnippetInputError } from './errors';
export { defaultNamespace, defaultServiceAccounts, defaultStorageName } from './defaults';

/** The tool's own file(s) for an eks request. */
function renderEksToolFiles(input: SnippetInput, workload: EksWorkload): Snippets {
  const { bucket, access } = input;
  switch (input.tool) {
    case 'pbm':
      return { [SNIPPET_FILES.pbmConfig]: renderPbmConfig(bucket) };
    case 'psmdb-operator':
      return { [SNIPPET_FILES.psmdbBackupStorages]: renderPsmdbBackupStorages(bucket, access) };
    case 'stackgres':
      return { [SNIPPET_FILES.sgObjectStorage]: renderSgObjectStorage(bucket, access, workload.namespace) };
    case 'velero':
      return { [SNIPPET_FILES.veleroBsl]: renderVeleroBsl(bucket, access, workload.namespace) };
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

/**
 * The contract's snippet set (section 4): every eks request gets serviceaccount.yaml and annotate.sh plus
 * the tool's file; every ec2 request gets pbm-agent.env, plus pbm-config.yaml for pbm. Never credentials.
 */
export function renderSnippets(input: SnippetInput): Snippets {
  const { workload } = input;
  if (workload.type === 'ec2') {
    return {
      [SNIPPET_FILES.pbmAgentEnv]: renderPbmAgentEnv({
        onboardingId: input.onboardingId,
        roleArn: input.roleArn,
        instanceRoleArn: workload.instanceRoleArn,
      }),
      ...(input.tool === 'pbm' && { [SNIPPET_FILES.pbmConfig]: renderPbmConfig(input.bucket) }),
    };
  }
  const eks: EksWorkload = { ...workload, serviceAccounts: uniqueServiceAccounts(workload) };
  const binding = { namespace: eks.namespace, serviceAccounts: eks.serviceAccounts, roleArn: input.roleArn };
  return {
    [SNIPPET_FILES.serviceAccounts]: renderServiceAccounts(binding),
    [SNIPPET_FILES.annotateScript]: renderAnnotateScript(binding),
    ...renderEksToolFiles(input, eks),
  };
}
