import { requirementsFor, type MountpointCredentials, type Requirement } from '../../policy/requirements';
import { modeOf, type OnboardingInput } from '../model/onboarding';

/**
 * The requirements of a request (contract §4): what its snippets need, for its tool, identity kind, mode and level.
 * One function for the request's `versions` check, POST's and dry run's answer, and GET (computed from the stored
 * request, so a record written before the table changed answers with today's table). Light on purpose: the read
 * routes load it, and they load no snippet renderer (.dependency-cruiser.js, read-routes-stay-light).
 */

/**
 * Mountpoint's `authenticationSource`, as lib/snippets/mountpoint.ts decides it (a unit test keeps the two equal):
 * driver-level only for the driver's own service account in kube-system, which is also the tool's default there.
 */
export function mountpointCredentialsOf(
  namespace: string,
  serviceAccounts: readonly string[] | undefined,
): MountpointCredentials {
  return namespace === 'kube-system' && (serviceAccounts ?? ['s3-csi-driver-sa']).includes('s3-csi-driver-sa')
    ? 'driver'
    : 'pod';
}

export function requirementsOf(
  input: Pick<OnboardingInput, 'workload' | 'bucket' | 'tool' | 'access' | 'crossAccountMode'>,
): Requirement[] {
  const w = input.workload;
  return requirementsFor({
    tool: input.tool,
    identity: w.type === 'ec2' ? 'ec2' : (w.identity ?? 'irsa'),
    mode: modeOf(input as OnboardingInput).mode,
    access: input.access,
    ...(input.tool === 'mountpoint-s3-csi' && w.type === 'eks'
      ? { mountpointCredentials: mountpointCredentialsOf(w.namespace, w.serviceAccounts) }
      : {}),
  });
}
