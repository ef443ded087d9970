/**
 * The provisioner's EKS Pod Identity permissions (deploy/provisioner.yaml: PodIdentityAssociationsOfClusters,
 * PodIdentityAssociationChanges, PodIdentityAgentAddon, PassWorkloadRolesToPodIdentity, and the boundary's
 * PodIdentityChainTagSession) cannot be used to escalate. Every test acts with the provisioner role's credentials,
 * assumed from the API role with the external id, as the service does.
 */
import { CreateRoleCommand, PutRolePolicyCommand } from '@aws-sdk/client-iam';
import { AssumeRoleCommand } from '@aws-sdk/client-sts';
import {
  CreatePodIdentityAssociationCommand,
  DescribeAddonCommand,
  UpdatePodIdentityAssociationCommand,
} from '@aws-sdk/client-eks';
import type { Emulator } from '../../../emulator/server';
import {
  BACKUPS,
  PLATFORM,
  WORKLOADS,
  clientsFor,
  credentialsOf,
  type emulatorAdmin,
  failure,
  rootCredentials,
  useTestEmulator,
  type Clients,
} from '../../helpers/emulator';
import { assumeForPod } from '../../helpers/pod-identity';
import { podIdentityTrust } from '../../../lib/policy/pod-identity';

const EXTERNAL_ID = 's3-onboarding-local';
const API_ROLE = `arn:aws:iam::${PLATFORM}:role/s3-onboarding-api`;
const PATH = '/s3-onboarding/';
const BOUNDARY = `arn:aws:iam::${WORKLOADS}:policy/s3-onboarding/s3-onboarding-workload-boundary`;
const MANAGED_BY = [{ Key: 'managed-by', Value: 's3-onboarding' }];
const demo = { name: 'demo', accountId: WORKLOADS, region: 'eu-west-1' };
const doc = (statements: object[]) => JSON.stringify({ Version: '2012-10-17', Statement: statements });
const podsTrust = doc([
  { Effect: 'Allow', Principal: { Service: 'pods.eks.amazonaws.com' }, Action: ['sts:AssumeRole', 'sts:TagSession'] },
]);
const everything = doc([{ Effect: 'Allow', Action: '*', Resource: '*' }]);

let emu: Emulator;
let admin: ReturnType<typeof emulatorAdmin>;
let prov: Clients;
let root: Clients;
useTestEmulator((e, a) => ((emu = e), (admin = a)));
beforeEach(async () => {
  const api = clientsFor(emu, await admin.roleCredentials(API_ROLE));
  const out = await api.sts.send(
    new AssumeRoleCommand({
      RoleArn: `arn:aws:iam::${WORKLOADS}:role/s3-onboarding-provisioner`,
      RoleSessionName: 's3-onboarding',
      ExternalId: EXTERNAL_ID,
    }),
  );
  prov = clientsFor(emu, credentialsOf(out.Credentials));
  root = clientsFor(emu, rootCredentials(WORKLOADS));
});

async function expectDenied(p: Promise<unknown>, how: 'no-allow' | 'boundary' | { sid: string }): Promise<string> {
  const err = await failure(p);
  expect(err.name).toMatch(/^AccessDenied(Exception)?$/);
  if (how === 'no-allow') expect(err.message).toMatch(/because no identity-based policy allows /);
  else if (how === 'boundary') expect(err.message).toMatch(/because permissions boundary does not allow /);
  else expect(err.message).toContain(`because explicit deny in identity-based policy (Sid ${how.sid})`);
  return err.message;
}

/** A workload role as the service makes it for EKS Pod Identity: path, prefix, boundary, tag, and the pinned trust. */
const workloadRole = async (name = 's3ob-pod-test') => {
  const trust = podIdentityTrust({
    roleArn: `arn:aws:iam::${WORKLOADS}:role${PATH}${name}`,
    roleAccount: WORKLOADS,
    clusters: [demo],
    namespace: 'mongodb',
    serviceAccounts: ['pbm-agent'],
  });
  const out = await prov.iam.send(
    new CreateRoleCommand({
      RoleName: name,
      Path: PATH,
      AssumeRolePolicyDocument: JSON.stringify(trust),
      PermissionsBoundary: BOUNDARY,
      Tags: MANAGED_BY,
    }),
  );
  return out.Role!.Arn!;
};
const associate = (c: Clients, serviceAccount: string, roleArn: string) =>
  c.eks.send(
    new CreatePodIdentityAssociationCommand({ clusterName: 'demo', namespace: 'mongodb', serviceAccount, roleArn }),
  );

describe('Provisioner: EKS Pod Identity associations (iam:PassRole)', () => {
  it('may associate a workload role of the service (the legitimate path)', async () => {
    const role = await workloadRole();
    const a = (await associate(prov, 'pbm-agent', role)).association!;
    expect(a.roleArn).toBe(role);
    expect((await assumeForPod(emu, { cluster: demo, namespace: 'mongodb', serviceAccount: 'pbm-agent' })).status).toBe(
      200,
    );
  });

  it('may not hand a role outside the service path to EKS Pod Identity, such as an administrator role that trusts pods.eks.amazonaws.com', async () => {
    const adminRole = (
      await root.iam.send(
        new CreateRoleCommand({ RoleName: 'cluster-admin-pods', AssumeRolePolicyDocument: podsTrust }),
      )
    ).Role!.Arn!;
    await root.iam.send(
      new PutRolePolicyCommand({
        RoleName: 'cluster-admin-pods',
        PolicyName: 'everything',
        PolicyDocument: everything,
      }),
    );
    const message = await expectDenied(associate(prov, 'pbm-agent', adminRole), 'no-allow');
    expect(message).toContain(`iam:PassRole on resource: ${adminRole}`);
    // nor re-point an existing association at it
    const mine = (await associate(prov, 'pbm-agent', await workloadRole())).association!;
    await expectDenied(
      prov.eks.send(
        new UpdatePodIdentityAssociationCommand({
          clusterName: 'demo',
          associationId: mine.associationId,
          roleArn: adminRole,
        }),
      ),
      'no-allow',
    );
  });

  it('may not pass a role nested below the service path (role/s3-onboarding/s3ob-x/<any name> matches the prefix pattern)', async () => {
    const nested = (
      await root.iam.send(
        new CreateRoleCommand({
          RoleName: 'Nested',
          Path: '/s3-onboarding/s3ob-x/',
          AssumeRolePolicyDocument: podsTrust,
        }),
      )
    ).Role!.Arn!;
    await expectDenied(associate(prov, 'pbm-agent', nested), { sid: 'DenyRoleChangesBelowTheServicePath' });
  });

  it('cannot hand a workload role to other pods: an association it makes for another service account yields no credentials (the trust pins the pods)', async () => {
    const role = await workloadRole();
    await associate(prov, 'intruder', role);
    const answer = await assumeForPod(emu, { cluster: demo, namespace: 'mongodb', serviceAccount: 'intruder' });
    expect({ status: answer.status, type: answer.errorType }).toEqual({ status: 400, type: 'AccessDeniedException' });
  });

  it('reads only the eks-pod-identity-agent add-on', async () => {
    expect(
      (await prov.eks.send(new DescribeAddonCommand({ clusterName: 'demo', addonName: 'eks-pod-identity-agent' })))
        .addon!.status,
    ).toBe('ACTIVE');
    await expectDenied(
      prov.eks.send(new DescribeAddonCommand({ clusterName: 'demo', addonName: 'vpc-cni' })),
      'no-allow',
    );
  });
});

describe('Workload boundary: EKS Pod Identity role chaining', () => {
  it('lets a workload role assume another workload role with the pod’s session tags, and nothing else', async () => {
    // a chaining role exactly as the service makes it, plus an identity policy allowing everything
    const source = await workloadRole('s3ob-chain-test');
    await prov.iam.send(
      new PutRolePolicyCommand({ RoleName: 's3ob-chain-test', PolicyName: 'everything', PolicyDocument: everything }),
    );
    const backups = clientsFor(emu, rootCredentials(BACKUPS));
    const trustingSource = doc([
      {
        Effect: 'Allow',
        Principal: { AWS: `arn:aws:iam::${WORKLOADS}:root` },
        Action: ['sts:AssumeRole', 'sts:TagSession'],
        Condition: { ArnEquals: { 'aws:PrincipalArn': source } },
      },
    ]);
    const foreign = (
      await backups.iam.send(
        new CreateRoleCommand({ RoleName: 'foreign-target', AssumeRolePolicyDocument: trustingSource }),
      )
    ).Role!.Arn!;
    const ours = (
      await backups.iam.send(
        new CreateRoleCommand({ RoleName: 's3ob-target-test', Path: PATH, AssumeRolePolicyDocument: trustingSource }),
      )
    ).Role!.Arn!;
    const session = clientsFor(emu, await admin.roleCredentials(source));
    const tags = [{ Key: 'kubernetes-service-account', Value: 'pbm-agent' }];
    await session.sts.send(new AssumeRoleCommand({ RoleArn: ours, RoleSessionName: 'chain', Tags: tags }));
    // a role that is not the service's, although its trust names the source role and the source's identity policy
    // allows everything: only the boundary is left to refuse it (STS names no reason)
    for (const input of [{}, { Tags: tags }]) {
      const err = await failure(
        session.sts.send(new AssumeRoleCommand({ RoleArn: foreign, RoleSessionName: 'chain', ...input })),
      );
      expect(err.name).toBe('AccessDenied');
      expect(err.message).toContain(`is not authorized to perform: sts:AssumeRole on resource: ${foreign}`);
    }
  });
});
