import { CreatePodIdentityAssociationCommand, DeletePodIdentityAssociationCommand } from '@aws-sdk/client-eks';
import { CreateRoleCommand } from '@aws-sdk/client-iam';
import type { Stack } from '../../../scripts/stack';
import { BACKUPS, WORKLOADS, demoTopology, rootCredentials } from '../../helpers/emulator';
import { clients, useTestStack, type TestStack } from '../../helpers/stack';

/**
 * Issue 17: verify of an IRSA onboarding reports an EKS Pod Identity association the service left on its service
 * account (a move from Pod Identity cut short): the identity uses none, and the association names a role it does
 * not use. Someone else's association is not the service's drift.
 */

let stack: Stack;
let api: TestStack['api'];
useTestStack((t) => ({ stack, api } = t), { resetEach: true, topology: demoTopology() });

const request = {
  workload: {
    type: 'eks',
    clusters: [{ name: 'demo', accountId: WORKLOADS, region: 'eu-west-1' }],
    namespace: 'apps',
    serviceAccounts: ['worker'],
  },
  bucket: { name: 'demo-backups', accountId: BACKUPS, region: 'eu-west-1', prefix: 'apps/' },
  tool: 'generic',
  crossAccountMode: 'bucket-policy',
};

const failing = async (id: string) => {
  const v = await api.send('POST', `/v1/onboardings/${id}/verify`);
  expect(v.status).toBe(200);
  return v.body.checks.filter((c: { ok: boolean }) => !c.ok) as { name: string; detail: string }[];
};

describe('verify of an IRSA identity', () => {
  it('fails pod-identity-associations while an association of the service is left on its service account', async () => {
    const created = await api.onboard(request);
    expect(created.status).toBe(201);
    const id = created.body.id;
    expect(await failing(id)).toEqual([]);

    const root = clients(stack, rootCredentials(WORKLOADS));
    const eks = root.eks;
    // a role EKS Pod Identity may name: it trusts the pods service
    const podRole = await root.iam.send(
      new CreateRoleCommand({
        RoleName: 'team-pod-role',
        AssumeRolePolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Principal: { Service: 'pods.eks.amazonaws.com' },
              Action: ['sts:AssumeRole', 'sts:TagSession'],
            },
          ],
        }),
      }),
    );
    const roleArn = podRole.Role!.Arn!;
    // someone else's association: not the service's to judge
    const foreign = await eks.send(
      new CreatePodIdentityAssociationCommand({
        clusterName: 'demo',
        namespace: 'apps',
        serviceAccount: 'worker',
        roleArn,
      }),
    );
    expect(await failing(id)).toEqual([]);
    await eks.send(
      new DeletePodIdentityAssociationCommand({
        clusterName: 'demo',
        associationId: foreign.association!.associationId!,
      }),
    );
    // one the service made (its tags say so), left behind
    const left = await eks.send(
      new CreatePodIdentityAssociationCommand({
        clusterName: 'demo',
        namespace: 'apps',
        serviceAccount: 'worker',
        roleArn,
        tags: { 'managed-by': 's3-onboarding', 's3-onboarding/identity': 'an-earlier-identity' },
      }),
    );
    const f = await failing(id);
    expect(f.map((c) => c.name)).toEqual(['pod-identity-associations']);
    expect(f[0].detail).toContain(`association ${left.association!.associationId}`);
    expect(f[0].detail).toContain('aws eks delete-pod-identity-association --cluster-name demo');
  });
});
