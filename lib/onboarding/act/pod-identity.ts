import type { ProvisionerSessions } from '../../aws/session';
import * as eksApi from '../../aws/eks';
import type { PodIdentityStep } from '../plan/pod-identity';

/** What an association step does in AWS. */
export async function runPodIdentityStep(sessions: ProvisionerSessions, s: PodIdentityStep): Promise<boolean> {
  const eks = sessions.eks(s.accountId, s.params.region);
  const p = s.params;
  switch (s.action) {
    case 'create-pod-identity-association':
      await eksApi.createPodIdentityAssociation(eks, {
        cluster: p.clusterName,
        namespace: p.namespace,
        serviceAccount: p.serviceAccount,
        roleArn: s.params.roleArn,
        targetRoleArn: s.params.targetRoleArn,
        tags: Object.fromEntries(s.params.tags),
      });
      return true;
    case 'update-pod-identity-association':
      // an empty target role removes one
      await eksApi.updatePodIdentityAssociation(
        eks,
        p.clusterName,
        s.params.associationId,
        s.params.roleArn,
        s.params.targetRoleArn ?? '',
      );
      return true;
    case 'delete-pod-identity-association':
      return (await eksApi.deletePodIdentityAssociation(eks, p.clusterName, s.params.associationId)) !== undefined;
  }
}
