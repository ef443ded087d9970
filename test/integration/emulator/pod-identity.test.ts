import {
  CreatePodIdentityAssociationCommand,
  DeletePodIdentityAssociationCommand,
  DescribeAddonCommand,
  DescribePodIdentityAssociationCommand,
  InvalidParameterException,
  ListPodIdentityAssociationsCommand,
  ResourceInUseException,
  ResourceNotFoundException,
  UpdatePodIdentityAssociationCommand,
} from '@aws-sdk/client-eks';
import { CreateRoleCommand, PutRolePolicyCommand } from '@aws-sdk/client-iam';
import { AssumeRoleCommand, GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { GetBucketLocationCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import type { AwsCredentialIdentity } from '@smithy/types';
import type { Emulator } from '../../../emulator/server';
import { signedAssumeForPod, type RawPodIdentityAnswer } from '../../helpers/pod-identity';
import {
  BACKUPS,
  WORKLOADS,
  clientsFor,
  credentialsOf,
  demoTopology,
  type emulatorAdmin,
  failure,
  rootCredentials,
  useTestEmulator,
  type Clients,
} from '../../helpers/emulator';

const doc = (statements: object[]) => JSON.stringify({ Version: '2012-10-17', Statement: statements });
const REGION = 'eu-west-1';
const podTrust = (extra: object = {}, actions: string[] = ['sts:AssumeRole', 'sts:TagSession']) =>
  doc([{ Effect: 'Allow', Principal: { Service: 'pods.eks.amazonaws.com' }, Action: actions, ...extra }]);
const ec2Trust = doc([{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }]);
const roleArn = (account: string, name: string) => `arn:aws:iam::${account}:role/${name}`;
const clusterArn = (name: string) => `arn:aws:eks:${REGION}:${WORKLOADS}:cluster/${name}`;

// the demo topology plus a cluster without the eks-pod-identity-agent add-on
const topology = demoTopology();
topology.clusters = [
  ...(topology.clusters ?? []),
  { name: 'batch', accountId: WORKLOADS, region: REGION, podIdentityAgent: false },
];

let emu: Emulator;
let admin: ReturnType<typeof emulatorAdmin>;
let workloads: Clients;
let backups: Clients;
useTestEmulator((e, a) => ((emu = e), (admin = a)), topology);

type PodIdentityAnswer = RawPodIdentityAnswer;

/** EKS Auth AssumeRoleForPodIdentity as the node's agent sends it (test/helpers/pod-identity.ts). */
const assumeForPod = (node: AwsCredentialIdentity, cluster: string, token: string): Promise<PodIdentityAnswer> =>
  signedAssumeForPod(emu, node, { name: cluster, region: REGION }, token);

const podCredentials = (a: PodIdentityAnswer): AwsCredentialIdentity => {
  if (a.status !== 200)
    throw new Error(`AssumeRoleForPodIdentity failed: ${a.status} ${a.errorType} ${a.body.message}`);
  const c = a.body.credentials!;
  return { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey, sessionToken: c.sessionToken };
};

async function createRole(c: Clients, name: string, trust: string, policy?: object[]): Promise<string> {
  const out = await c.iam.send(new CreateRoleCommand({ RoleName: name, AssumeRolePolicyDocument: trust }));
  if (policy)
    await c.iam.send(new PutRolePolicyCommand({ RoleName: name, PolicyName: 'p', PolicyDocument: doc(policy) }));
  return out.Role!.Arn!;
}

const associate = (input: {
  clusterName?: string;
  namespace: string;
  serviceAccount: string;
  roleArn: string;
  targetRoleArn?: string;
  disableSessionTags?: boolean;
}) =>
  workloads.eks
    .send(new CreatePodIdentityAssociationCommand({ clusterName: 'demo', ...input }))
    .then((o) => o.association!);

let node: AwsCredentialIdentity;
let podRole: string;
beforeEach(async () => {
  workloads = clientsFor(emu, rootCredentials(WORKLOADS));
  backups = clientsFor(emu, rootCredentials(BACKUPS));
  // the node's instance role may call EKS Auth for the demo cluster only
  const nodeRole = await createRole(workloads, 'eks-node', ec2Trust, [
    { Effect: 'Allow', Action: 'eks-auth:AssumeRoleForPodIdentity', Resource: clusterArn('demo') },
  ]);
  node = await admin.roleCredentials(nodeRole);
  podRole = await createRole(workloads, 'pod-reader', podTrust(), [
    {
      Effect: 'Allow',
      Action: 's3:ListBucket',
      Resource: 'arn:aws:s3:::workload-local-backups',
      Condition: { StringEquals: { 'aws:PrincipalTag/kubernetes-namespace': 'mongodb' } },
    },
  ]);
});

describe('Emulator: EKS Pod Identity associations', () => {
  it('creates, describes, lists (filtered and paginated), updates and deletes associations', async () => {
    const a = await associate({ namespace: 'mongodb', serviceAccount: 'pbm', roleArn: podRole });
    expect(a).toMatchObject({
      clusterName: 'demo',
      namespace: 'mongodb',
      serviceAccount: 'pbm',
      roleArn: podRole,
      disableSessionTags: false,
      tags: {},
    });
    expect(a.associationId).toMatch(/^a-[a-z0-9]{17}$/);
    expect(a.associationArn).toBe(`arn:aws:eks:${REGION}:${WORKLOADS}:podidentityassociation/demo/${a.associationId}`);
    expect(a.createdAt).toBeInstanceOf(Date);
    expect(a.targetRoleArn).toBeUndefined();
    expect(a.externalId).toBeUndefined();
    const b = await associate({ namespace: 'mongodb', serviceAccount: 'agent', roleArn: podRole });
    const c = await associate({ namespace: 'velero', serviceAccount: 'velero', roleArn: podRole });

    const described = await workloads.eks.send(
      new DescribePodIdentityAssociationCommand({ clusterName: 'demo', associationId: a.associationId }),
    );
    expect(described.association).toEqual(a);

    const list = (q: object) =>
      workloads.eks.send(new ListPodIdentityAssociationsCommand({ clusterName: 'demo', ...q }));
    expect((await list({})).associations!.map((x) => x.associationId)).toEqual([a, b, c].map((x) => x.associationId));
    expect((await list({ namespace: 'mongodb' })).associations!.map((x) => x.serviceAccount)).toEqual(['pbm', 'agent']);
    expect((await list({ serviceAccount: 'velero' })).associations).toEqual([
      {
        clusterName: 'demo',
        namespace: 'velero',
        serviceAccount: 'velero',
        associationArn: c.associationArn,
        associationId: c.associationId,
      },
    ]);
    const page1 = await list({ maxResults: 2 });
    expect(page1.associations!.map((x) => x.associationId)).toEqual([a.associationId, b.associationId]);
    const page2 = await list({ maxResults: 2, nextToken: page1.nextToken });
    expect(page2.associations!.map((x) => x.associationId)).toEqual([c.associationId]);
    expect(page2.nextToken).toBeUndefined();
    expect(await failure(list({ maxResults: 101 }))).toBeInstanceOf(InvalidParameterException);

    const target = roleArn(BACKUPS, 'anything');
    const updated = await workloads.eks.send(
      new UpdatePodIdentityAssociationCommand({
        clusterName: 'demo',
        associationId: a.associationId,
        targetRoleArn: target,
        disableSessionTags: true,
      }),
    );
    expect(updated.association).toMatchObject({
      targetRoleArn: target,
      externalId: `${REGION}/${WORKLOADS}/demo/mongodb/pbm`,
      disableSessionTags: true,
    });
    const removed = await workloads.eks.send(
      new UpdatePodIdentityAssociationCommand({
        clusterName: 'demo',
        associationId: a.associationId,
        targetRoleArn: '',
      }),
    );
    expect(removed.association!.targetRoleArn).toBeUndefined();

    const deleted = await workloads.eks.send(
      new DeletePodIdentityAssociationCommand({ clusterName: 'demo', associationId: a.associationId }),
    );
    expect(deleted.association!.associationId).toBe(a.associationId);
    expect(
      await failure(
        workloads.eks.send(
          new DescribePodIdentityAssociationCommand({ clusterName: 'demo', associationId: a.associationId }),
        ),
      ),
    ).toBeInstanceOf(ResourceNotFoundException);
  });

  it('allows one association per cluster, namespace and service account (ResourceInUseException)', async () => {
    const first = await associate({ namespace: 'mongodb', serviceAccount: 'pbm', roleArn: podRole });
    const err = await failure(associate({ namespace: 'mongodb', serviceAccount: 'pbm', roleArn: podRole }));
    expect(err).toBeInstanceOf(ResourceInUseException);
    expect(err.message).toBe(`Association already exists: ${first.associationId}`);
    expect(err.$metadata?.httpStatusCode).toBe(409);
    // the same names in another namespace are another service account
    await associate({ namespace: 'other', serviceAccount: 'pbm', roleArn: podRole });
  });

  it('answers a retried create with the same client request token with the association it created', async () => {
    const input = {
      clusterName: 'demo',
      namespace: 'mongodb',
      serviceAccount: 'pbm',
      roleArn: podRole,
      clientRequestToken: 'retry-1',
    };
    const first = await workloads.eks.send(new CreatePodIdentityAssociationCommand(input));
    const again = await workloads.eks.send(new CreatePodIdentityAssociationCommand(input));
    expect(again.association!.associationId).toBe(first.association!.associationId);
  });

  it.each([
    ['a role that does not exist', () => roleArn(WORKLOADS, 'ghost'), 'Role provided in the request does not exist'],
    [
      'a role that does not trust pods.eks.amazonaws.com',
      async () => createRole(workloads, 'ec2-only', ec2Trust),
      'Trust policy of the role provided is invalid',
    ],
  ])('refuses %s with InvalidParameterException', async (_n, role, message) => {
    const err = await failure(associate({ namespace: 'mongodb', serviceAccount: 'pbm', roleArn: await role() }));
    expect(err).toBeInstanceOf(InvalidParameterException);
    expect(err.message).toBe(message);
  });

  it('refuses a role of another account: it cannot be passed (AccessDeniedException for iam:PassRole)', async () => {
    const foreign = await createRole(backups, 'foreign-pod-role', podTrust());
    const err = await failure(associate({ namespace: 'mongodb', serviceAccount: 'pbm', roleArn: foreign }));
    expect(err.name).toBe('AccessDeniedException');
    expect(err.message).toContain(`iam:PassRole on resource: ${foreign}`);
  });

  it('requires iam:PassRole on the role for pods.eks.amazonaws.com', async () => {
    const eksOnly = [{ Effect: 'Allow', Action: 'eks:*', Resource: '*' }];
    const withoutPass = clientsFor(
      emu,
      await admin.roleCredentials(await createRole(workloads, 'eks-admin', ec2Trust, eksOnly)),
    );
    const err = await failure(
      withoutPass.eks.send(
        new CreatePodIdentityAssociationCommand({
          clusterName: 'demo',
          namespace: 'mongodb',
          serviceAccount: 'pbm',
          roleArn: podRole,
        }),
      ),
    );
    expect(err.name).toBe('AccessDeniedException');
    expect(err.message).toContain(`iam:PassRole on resource: ${podRole}`);
    // PassRole scoped to another service does not count
    const passToEc2 = {
      Effect: 'Allow',
      Action: 'iam:PassRole',
      Resource: podRole,
      Condition: { StringEquals: { 'iam:PassedToService': 'ec2.amazonaws.com' } },
    };
    const wrongService = clientsFor(
      emu,
      await admin.roleCredentials(await createRole(workloads, 'eks-admin-ec2', ec2Trust, [...eksOnly, passToEc2])),
    );
    expect(
      (
        await failure(
          wrongService.eks.send(
            new CreatePodIdentityAssociationCommand({
              clusterName: 'demo',
              namespace: 'mongodb',
              serviceAccount: 'pbm',
              roleArn: podRole,
            }),
          ),
        )
      ).name,
    ).toBe('AccessDeniedException');
    const passToPods = {
      ...passToEc2,
      Condition: { StringEquals: { 'iam:PassedToService': 'pods.eks.amazonaws.com' } },
    };
    const withPass = clientsFor(
      emu,
      await admin.roleCredentials(await createRole(workloads, 'eks-admin-pods', ec2Trust, [...eksOnly, passToPods])),
    );
    await withPass.eks.send(
      new CreatePodIdentityAssociationCommand({
        clusterName: 'demo',
        namespace: 'mongodb',
        serviceAccount: 'pbm',
        roleArn: podRole,
      }),
    );
  });

  it('authorises each operation with its eks: action on the cluster or the association', async () => {
    const a = await associate({ namespace: 'mongodb', serviceAccount: 'pbm', roleArn: podRole });
    const reader = clientsFor(
      emu,
      await admin.roleCredentials(
        await createRole(workloads, 'eks-reader', ec2Trust, [
          {
            Effect: 'Allow',
            Action: ['eks:ListPodIdentityAssociations', 'eks:DescribePodIdentityAssociation'],
            Resource: '*',
          },
        ]),
      ),
    );
    expect(
      (await reader.eks.send(new ListPodIdentityAssociationsCommand({ clusterName: 'demo' }))).associations,
    ).toHaveLength(1);
    await reader.eks.send(
      new DescribePodIdentityAssociationCommand({ clusterName: 'demo', associationId: a.associationId }),
    );
    const err = await failure(
      reader.eks.send(new DeletePodIdentityAssociationCommand({ clusterName: 'demo', associationId: a.associationId })),
    );
    expect(err.name).toBe('AccessDeniedException');
    expect(err.message).toContain(`eks:DeletePodIdentityAssociation on resource: ${a.associationArn}`);
  });

  it('refuses an unknown cluster with ResourceNotFoundException', async () => {
    expect(
      await failure(associate({ clusterName: 'nope', namespace: 'mongodb', serviceAccount: 'pbm', roleArn: podRole })),
    ).toBeInstanceOf(ResourceNotFoundException);
    expect(
      await failure(backups.eks.send(new ListPodIdentityAssociationsCommand({ clusterName: 'demo' }))),
    ).toBeInstanceOf(ResourceNotFoundException);
  });

  it('describes the eks-pod-identity-agent add-on, and answers ResourceNotFoundException where it is not installed', async () => {
    const addon = (
      await workloads.eks.send(new DescribeAddonCommand({ clusterName: 'demo', addonName: 'eks-pod-identity-agent' }))
    ).addon!;
    expect(addon).toMatchObject({
      addonName: 'eks-pod-identity-agent',
      clusterName: 'demo',
      status: 'ACTIVE',
      health: { issues: [] },
    });
    expect(addon.addonArn).toMatch(
      new RegExp(`^arn:aws:eks:${REGION}:${WORKLOADS}:addon/demo/eks-pod-identity-agent/[0-9a-f-]{36}$`),
    );
    const missing = await failure(
      workloads.eks.send(new DescribeAddonCommand({ clusterName: 'batch', addonName: 'eks-pod-identity-agent' })),
    );
    expect(missing).toBeInstanceOf(ResourceNotFoundException);
    expect(missing.message).toBe('No addon: eks-pod-identity-agent found in cluster: batch');
    expect(
      await failure(workloads.eks.send(new DescribeAddonCommand({ clusterName: 'demo', addonName: 'vpc-cni' }))),
    ).toBeInstanceOf(ResourceNotFoundException);
  });

  it('forgets associations on reset', async () => {
    await associate({ namespace: 'mongodb', serviceAccount: 'pbm', roleArn: podRole });
    await admin.reset();
    expect(
      (await workloads.eks.send(new ListPodIdentityAssociationsCommand({ clusterName: 'demo' }))).associations,
    ).toEqual([]);
  });
});

describe('Emulator: EKS Auth AssumeRoleForPodIdentity', () => {
  const podToken = (
    b: {
      cluster?: string;
      namespace?: string;
      serviceAccount?: string;
      audience?: string;
      expiresInSeconds?: number;
    } = {},
  ) =>
    admin.token({
      cluster: 'demo',
      namespace: 'mongodb',
      serviceAccount: 'pbm',
      audience: 'pods.eks.amazonaws.com',
      podName: 'pbm-7d9f',
      podUid: 'uid-1234',
      ...b,
    });

  it("returns the association role's credentials in AWS's shape, tagged with the pod's session tags", async () => {
    const a = await associate({ namespace: 'mongodb', serviceAccount: 'pbm', roleArn: podRole });
    const out = await assumeForPod(node, 'demo', await podToken());
    expect(out.status).toBe(200);
    expect(out.body.subject).toEqual({ namespace: 'mongodb', serviceAccount: 'pbm' });
    expect(out.body.audience).toBe('pods.eks.amazonaws.com');
    expect(out.body.podIdentityAssociation).toEqual({
      associationArn: a.associationArn,
      associationId: a.associationId,
    });
    expect(out.body.assumedRoleUser!.arn).toMatch(
      new RegExp(`^arn:aws:sts::${WORKLOADS}:assumed-role/pod-reader/eks-demo-pbm-7d9f-[0-9a-f-]+$`),
    );
    expect(out.body.assumedRoleUser!.assumeRoleId).toMatch(/^AROA[A-Z2-7]{17}:eks-demo-pbm-7d9f-/);
    expect(out.body.credentials!.expiration * 1000).toBeGreaterThan(Date.now() + 5 * 3600_000);
    const pod = clientsFor(emu, podCredentials(out));
    expect((await pod.sts.send(new GetCallerIdentityCommand({}))).Arn).toBe(out.body.assumedRoleUser!.arn);
    // aws:PrincipalTag/kubernetes-namespace = mongodb lets this pod list the bucket
    await pod.s3.send(new ListObjectsV2Command({ Bucket: 'workload-local-backups' }));
  });

  it('gives a pod of another namespace the same role without the namespace-scoped permission', async () => {
    await associate({ namespace: 'other', serviceAccount: 'pbm', roleArn: podRole });
    const pod = clientsFor(
      emu,
      podCredentials(await assumeForPod(node, 'demo', await podToken({ namespace: 'other' }))),
    );
    expect((await failure(pod.s3.send(new ListObjectsV2Command({ Bucket: 'workload-local-backups' })))).name).toBe(
      'AccessDenied',
    );
  });

  it.each([
    ['another service account (no association)', { serviceAccount: 'default' }, 404, 'ResourceNotFoundException'],
    ['another namespace (no association)', { namespace: 'kube-system' }, 404, 'ResourceNotFoundException'],
    ["another cluster's token", { cluster: 'restore' }, 400, 'InvalidTokenException'],
    ['an IRSA token (audience sts.amazonaws.com)', { audience: 'sts.amazonaws.com' }, 400, 'InvalidTokenException'],
    ['an expired token', { expiresInSeconds: -60 }, 400, 'ExpiredTokenException'],
  ])('refuses %s', async (_n, token, status, type) => {
    await associate({ namespace: 'mongodb', serviceAccount: 'pbm', roleArn: podRole });
    const out = await assumeForPod(node, 'demo', await podToken(token));
    expect({ status: out.status, type: out.errorType }).toEqual({ status, type });
  });

  it('refuses a forged token and a node that may not call EKS Auth for the cluster', async () => {
    await associate({ namespace: 'mongodb', serviceAccount: 'pbm', roleArn: podRole });
    const forged = (await podToken()).replace(/\.[^.]+$/, '.AAAA');
    expect((await assumeForPod(node, 'demo', forged)).errorType).toBe('InvalidTokenException');
    await associate({ clusterName: 'restore', namespace: 'mongodb', serviceAccount: 'pbm', roleArn: podRole });
    const denied = await assumeForPod(node, 'restore', await podToken({ cluster: 'restore' }));
    expect({ status: denied.status, type: denied.errorType }).toEqual({ status: 400, type: 'AccessDeniedException' });
    expect(denied.body.message).toContain(`eks-auth:AssumeRoleForPodIdentity on resource: ${clusterArn('restore')}`);
  });

  it('lets a trust policy pin the service account with aws:RequestTag', async () => {
    const pinned = await createRole(
      workloads,
      'pinned',
      podTrust({
        Condition: {
          StringEquals: {
            'aws:RequestTag/kubernetes-service-account': 'pbm',
            'aws:RequestTag/eks-cluster-arn': clusterArn('demo'),
          },
        },
      }),
    );
    await associate({ namespace: 'mongodb', serviceAccount: 'pbm', roleArn: pinned });
    await associate({ namespace: 'mongodb', serviceAccount: 'intruder', roleArn: pinned });
    expect((await assumeForPod(node, 'demo', await podToken())).status).toBe(200);
    const other = await assumeForPod(node, 'demo', await podToken({ serviceAccount: 'intruder' }));
    expect(other.errorType).toBe('AccessDeniedException');
    expect(other.body.message).toContain('sts:AssumeRole');
  });

  it('needs sts:TagSession in the trust unless the association disables session tags', async () => {
    const noTag = await createRole(workloads, 'no-tag-session', podTrust({}, ['sts:AssumeRole']));
    const a = await associate({ namespace: 'mongodb', serviceAccount: 'pbm', roleArn: noTag });
    const denied = await assumeForPod(node, 'demo', await podToken());
    expect(denied.errorType).toBe('AccessDeniedException');
    expect(denied.body.message).toContain('sts:TagSession');
    await workloads.eks.send(
      new UpdatePodIdentityAssociationCommand({
        clusterName: 'demo',
        associationId: a.associationId,
        disableSessionTags: true,
      }),
    );
    expect((await assumeForPod(node, 'demo', await podToken())).status).toBe(200);
  });

  describe('with a target role in another account', () => {
    let target: string;
    const externalId = `${REGION}/${WORKLOADS}/demo/mongodb/pbm`;
    beforeEach(async () => {
      // the target trusts only the pod-reader role, only for this association (external id), and lets it pass tags
      target = await createRole(
        backups,
        'backup-writer',
        doc([
          {
            Effect: 'Allow',
            Principal: { AWS: podRole },
            Action: 'sts:AssumeRole',
            Condition: { StringEquals: { 'sts:ExternalId': externalId } },
          },
          { Effect: 'Allow', Principal: { AWS: podRole }, Action: 'sts:TagSession' },
        ]),
        [
          {
            Effect: 'Allow',
            Action: 's3:GetBucketLocation',
            Resource: 'arn:aws:s3:::shared-backups',
            Condition: { StringEquals: { 'aws:PrincipalTag/eks-cluster-name': 'demo' } },
          },
        ],
      );
      await workloads.iam.send(
        new PutRolePolicyCommand({
          RoleName: 'pod-reader',
          PolicyName: 'chain',
          PolicyDocument: doc([{ Effect: 'Allow', Action: ['sts:AssumeRole', 'sts:TagSession'], Resource: target }]),
        }),
      );
    });

    it("returns the target role's credentials, which keep the pod's transitive session tags", async () => {
      await associate({ namespace: 'mongodb', serviceAccount: 'pbm', roleArn: podRole, targetRoleArn: target });
      const out = await assumeForPod(node, 'demo', await podToken());
      expect(out.body.assumedRoleUser!.arn).toMatch(
        new RegExp(`^arn:aws:sts::${BACKUPS}:assumed-role/backup-writer/eks-demo-pbm-7d9f-`),
      );
      expect(out.body.credentials!.expiration * 1000).toBeLessThanOrEqual(Date.now() + 3600_000);
      const pod = clientsFor(emu, podCredentials(out));
      expect((await pod.sts.send(new GetCallerIdentityCommand({}))).Account).toBe(BACKUPS);
      // aws:PrincipalTag/eks-cluster-name reached the target session
      await pod.s3.send(new GetBucketLocationCommand({ Bucket: 'shared-backups' }));
    });

    it('is not assumable through another role, another association, or without the tag permission', async () => {
      // another pod role with the same permissions: the target's trust does not name it
      const other = await createRole(workloads, 'other-pod', podTrust(), [
        { Effect: 'Allow', Action: ['sts:AssumeRole', 'sts:TagSession'], Resource: target },
      ]);
      await associate({ namespace: 'mongodb', serviceAccount: 'agent', roleArn: other, targetRoleArn: target });
      const viaOther = await assumeForPod(node, 'demo', await podToken({ serviceAccount: 'agent' }));
      expect(viaOther.errorType).toBe('AccessDeniedException');
      expect(viaOther.body.message).toContain(`sts:AssumeRole on resource: ${target}`);
      // the right role for another service account: its external id differs
      await associate({ namespace: 'mongodb', serviceAccount: 'intruder', roleArn: podRole, targetRoleArn: target });
      expect((await assumeForPod(node, 'demo', await podToken({ serviceAccount: 'intruder' }))).errorType).toBe(
        'AccessDeniedException',
      );
      // the pod role's own session, asking STS directly without the association's external id
      await associate({ namespace: 'mongodb', serviceAccount: 'plain', roleArn: podRole });
      const plain = clientsFor(
        emu,
        podCredentials(await assumeForPod(node, 'demo', await podToken({ serviceAccount: 'plain' }))),
      );
      expect(
        (await failure(plain.sts.send(new AssumeRoleCommand({ RoleArn: target, RoleSessionName: 'direct' })))).name,
      ).toBe('AccessDenied');
      // the association's role may assume the target but not tag the session (the pod's tags are transitive)
      await workloads.iam.send(
        new PutRolePolicyCommand({
          RoleName: 'pod-reader',
          PolicyName: 'chain',
          PolicyDocument: doc([{ Effect: 'Allow', Action: 'sts:AssumeRole', Resource: target }]),
        }),
      );
      await associate({ namespace: 'mongodb', serviceAccount: 'pbm', roleArn: podRole, targetRoleArn: target });
      const untagged = await assumeForPod(node, 'demo', await podToken());
      expect(untagged.errorType).toBe('AccessDeniedException');
      expect(untagged.body.message).toContain(`sts:TagSession on resource: ${target}`);
    });

    it('passes the external id so the pod role can reach the target through STS only with it', async () => {
      await associate({ namespace: 'mongodb', serviceAccount: 'plain', roleArn: podRole });
      const plain = clientsFor(
        emu,
        podCredentials(await assumeForPod(node, 'demo', await podToken({ serviceAccount: 'plain' }))),
      );
      const out = await plain.sts.send(
        new AssumeRoleCommand({ RoleArn: target, RoleSessionName: 'direct', ExternalId: externalId }),
      );
      const chained = clientsFor(emu, credentialsOf(out.Credentials));
      // the pod's transitive tags were carried into the chained session
      await chained.s3.send(new GetBucketLocationCommand({ Bucket: 'shared-backups' }));
    });
  });
});
