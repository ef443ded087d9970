import { DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import {
  CreateRoleCommand,
  DeleteRolePolicyCommand,
  GetRoleCommand,
  ListRolesCommand,
  PutRolePolicyCommand,
} from '@aws-sdk/client-iam';
import {
  CreatePodIdentityAssociationCommand,
  DeletePodIdentityAssociationCommand,
  DescribePodIdentityAssociationCommand,
  ListPodIdentityAssociationsCommand,
  UpdatePodIdentityAssociationCommand,
} from '@aws-sdk/client-eks';
import { AssumeRoleCommand } from '@aws-sdk/client-sts';
import type { AwsCredentialIdentity } from '@smithy/types';
import type { Stack } from '../../../scripts/stack';
import { BACKUPS, WORKLOADS, DR, clientsFor, failure, withDrAccount, rootCredentials } from '../../helpers/emulator';
import { clients, podCredentials, useTestStack, writes, type TestStack } from '../../helpers/stack';
import { assumeForPod, podIdentityCredentials, type Pod } from '../../helpers/pod-identity';
import { validateSnippet } from '../../helpers/schemas';

/**
 * EKS Pod Identity (contract sections 3 and 4, `workload.identity: "pod-identity"`): one role per workload
 * identity, trusted by pods.eks.amazonaws.com for exactly its clusters, namespace and service accounts; one
 * association per cluster × service account; role chaining to the role in the bucket account through the
 * association's targetRoleArn. Every pod credential here comes from EKS Auth AssumeRoleForPodIdentity, as the
 * node's agent gets it.
 */

const topology = withDrAccount({}, [
  { name: 'batch', accountId: WORKLOADS, region: 'eu-west-1', podIdentityAgent: false },
]);

let stack: Stack;
let api: TestStack['api'];
let admin: TestStack['admin'];
useTestStack((t) => ({ stack, api, admin } = t), { resetEach: true, topology });

const demo = { name: 'demo', accountId: WORKLOADS, region: 'eu-west-1' };
const restore = { name: 'restore', accountId: WORKLOADS, region: 'eu-west-1' };
const dr = { name: 'dr', accountId: DR, region: 'eu-central-1' };
const batch = { name: 'batch', accountId: WORKLOADS, region: 'eu-west-1' };

type Cluster = typeof demo;
const pbm = (
  over: { clusters?: Cluster[]; bucket?: object; serviceAccounts?: string[]; [k: string]: unknown } = {},
) => {
  const { clusters = [demo], bucket, serviceAccounts = ['pbm-agent'], ...rest } = over;
  return {
    workload: { type: 'eks', clusters, namespace: 'mongodb', serviceAccounts, identity: 'pod-identity' },
    bucket: bucket ?? { name: 'workload-local-backups', region: 'eu-west-1', prefix: 'db/' },
    tool: 'pbm',
    ...rest,
  };
};
const crossBucket = (prefix: string) => ({ name: 'demo-backups', accountId: BACKUPS, region: 'eu-west-1', prefix });
const pod = (cluster: Cluster, serviceAccount = 'pbm-agent', namespace = 'mongodb'): Pod => ({
  cluster,
  namespace,
  serviceAccount,
});

const attempt = async (fn: () => Promise<unknown>) =>
  fn().then(
    () => 'ok',
    (e: Error) => e.name,
  );
async function probe(creds: AwsCredentialIdentity, bucket: string, key: string): Promise<Record<string, string>> {
  const s3 = clients(stack, creds).s3;
  const prefix = key.slice(0, key.lastIndexOf('/') + 1);
  return {
    put: await attempt(() => s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: 'backup' }))),
    get: await attempt(() => s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))),
    list: await attempt(() => s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }))),
    delete: await attempt(() => s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }))),
  };
}
const RW = { put: 'ok', get: 'ok', list: 'ok', delete: 'ok' };
const DENIED = { put: 'AccessDenied', get: 'AccessDenied', list: 'AccessDenied', delete: 'AccessDenied' };

const actions = (res: { body: { changes: { action: string }[] } }) => res.body.changes.map((c) => c.action).sort();
const verify = (id: string) => api.send('POST', `/v1/onboardings/${id}/verify`);
const failedChecks = (v: { body: { checks: { name: string; ok: boolean }[] } }) =>
  v.body.checks.filter((c) => !c.ok).map((c) => c.name);
const roleName = (arn: string) => arn.split('/').pop()!;
const serviceRoles = async (account: string) =>
  (
    (await clients(stack, rootCredentials(account)).iam.send(new ListRolesCommand({ PathPrefix: '/s3-onboarding/' })))
      .Roles ?? []
  ).map((r) => r.Arn);
/** EKS as the cluster account's administrator, in the cluster's region. */
const eksIn = (cluster: Cluster) => clientsFor(stack.emulator, rootCredentials(cluster.accountId), cluster.region).eks;
const associations = async (cluster: Cluster) =>
  (await eksIn(cluster).send(new ListPodIdentityAssociationsCommand({ clusterName: cluster.name }))).associations ?? [];
const associationOf = async (cluster: Cluster, serviceAccount = 'pbm-agent') =>
  (await associations(cluster)).find((a) => a.serviceAccount === serviceAccount)!;

/** A role the account's administrator made for EKS Pod Identity, which the service does not manage. */
async function foreignPodRole(account: string, name: string, policy?: object[]): Promise<string> {
  const iam = clients(stack, rootCredentials(account)).iam;
  const trust = {
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Principal: { Service: 'pods.eks.amazonaws.com' },
        Action: ['sts:AssumeRole', 'sts:TagSession'],
      },
    ],
  };
  const arn = (
    await iam.send(new CreateRoleCommand({ RoleName: name, AssumeRolePolicyDocument: JSON.stringify(trust) }))
  ).Role!.Arn!;
  if (policy)
    await iam.send(
      new PutRolePolicyCommand({
        RoleName: name,
        PolicyName: 'p',
        PolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: policy }),
      }),
    );
  return arn;
}

/** Someone else's association (made with the account's own credentials). */
const associate = (
  cluster: Cluster,
  serviceAccount: string,
  roleArn: string,
  extra: { namespace?: string; targetRoleArn?: string } = {},
) =>
  eksIn(cluster).send(
    new CreatePodIdentityAssociationCommand({
      clusterName: cluster.name,
      namespace: extra.namespace ?? 'mongodb',
      serviceAccount,
      roleArn,
      ...(extra.targetRoleArn ? { targetRoleArn: extra.targetRoleArn } : {}),
    }),
  );

describe('EKS Pod Identity, same account', () => {
  it('makes a role trusted by pods.eks.amazonaws.com for exactly these pods, one association, no OIDC provider, and no annotation snippet', async () => {
    const res = await api.onboard(pbm());
    expect(res.status).toBe(201);
    expect(actions(res)).toEqual(['create-pod-identity-association', 'create-role', 'put-role-policy']);
    const roleArn: string = res.body.roleArn;
    expect(roleArn).toMatch(new RegExp(`^arn:aws:iam::${WORKLOADS}:role/s3-onboarding/s3ob-[0-9a-f]{16}$`));
    expect(res.body.roles).toEqual([{ arn: roleArn, accountId: WORKLOADS, purpose: 'pod-identity-workload' }]);
    expect(res.body.policies.trust).toEqual({
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'EksPodIdentity',
          Effect: 'Allow',
          Principal: { Service: 'pods.eks.amazonaws.com' },
          Action: ['sts:AssumeRole', 'sts:TagSession'],
          Condition: {
            StringEquals: {
              'aws:RequestTag/eks-cluster-arn': `arn:aws:eks:eu-west-1:${WORKLOADS}:cluster/demo`,
              'aws:RequestTag/kubernetes-namespace': 'mongodb',
              'aws:RequestTag/kubernetes-service-account': 'pbm-agent',
            },
          },
        },
      ],
    });
    const calls = (await admin.calls()).filter((c) => c.principalArn?.includes('s3-onboarding-provisioner'));
    expect(
      calls
        .filter((c) => c.write)
        .map((c) => `${c.service}:${c.operation}`)
        .sort(),
    ).toEqual(['eks:CreatePodIdentityAssociation', 'iam:CreateRole', 'iam:PutRolePolicy']);
    expect(calls.map((c) => c.operation)).not.toEqual(expect.arrayContaining(['ListOpenIDConnectProviders']));
    expect(calls.map((c) => c.operation)).not.toContain('CreateOpenIDConnectProvider');
    const [association] = await associations(demo);
    expect(association).toMatchObject({ namespace: 'mongodb', serviceAccount: 'pbm-agent' });

    // the snippets: the note naming the association, and the tool's own file; nothing annotates a service account
    expect(Object.keys(res.body.snippets).sort()).toEqual(['pbm-config.yaml', 'pod-identity.md']);
    for (const [file, text] of Object.entries(res.body.snippets as Record<string, string>))
      expect({ file, errors: validateSnippet(file, text, { podIdentity: true }) }).toEqual({ file, errors: [] });
    expect(res.body.snippets['pod-identity.md']).toContain(
      `| \`demo\` | \`${WORKLOADS}\` | \`eu-west-1\` | \`mongodb\` | \`pbm-agent\` | \`${roleArn}\` | — |`,
    );

    // the pod gets the role from EKS Auth and reaches exactly its prefix
    const answer = await assumeForPod(stack.emulator, pod(demo));
    expect(answer.assumedRoleArn).toMatch(new RegExp(`^arn:aws:sts::${WORKLOADS}:assumed-role/${roleName(roleArn)}/`));
    expect(await probe(answer.credentials!, 'workload-local-backups', 'db/full-1')).toEqual(RW);
    expect(await probe(answer.credentials!, 'workload-local-backups', 'other/x')).toEqual(DENIED);
    // IRSA does not work for it: the role trusts no OIDC provider
    expect(
      (
        await failure(
          podCredentials(stack, roleArn, { cluster: 'demo', namespace: 'mongodb', serviceAccount: 'pbm-agent' }),
        )
      ).name,
    ).toBe('AccessDenied');
    expect((await verify(res.body.id)).body).toMatchObject({ ok: true });

    // a repeat writes nothing
    await admin.clearCalls();
    const again = await api.onboard(pbm());
    expect(again.status).toBe(200);
    expect(again.body.changes).toEqual([]);
    expect(await writes(stack)).toEqual([]);
  });

  it('gives the role to nobody else, even through associations someone else makes: another service account, namespace or cluster', async () => {
    const res = await api.onboard(pbm());
    const roleArn: string = res.body.roleArn;
    // an administrator associates the service's role with other pods: EKS Auth's AssumeRole is denied by the trust
    await associate(demo, 'intruder', roleArn);
    await associate(demo, 'pbm-agent', roleArn, { namespace: 'intruders' });
    await associate(restore, 'pbm-agent', roleArn);
    for (const other of [pod(demo, 'intruder'), pod(demo, 'pbm-agent', 'intruders'), pod(restore)]) {
      const a = await assumeForPod(stack.emulator, other);
      expect({ status: a.status, type: a.errorType }).toEqual({ status: 400, type: 'AccessDeniedException' });
      expect(a.message).toContain(`sts:AssumeRole on resource: ${roleArn}`);
    }
    // a service account without an association gets nothing at all
    expect((await assumeForPod(stack.emulator, pod(demo, 'default'))).errorType).toBe('ResourceNotFoundException');
    // the granted pod still works
    expect(
      (await probe(await podIdentityCredentials(stack.emulator, pod(demo)), 'workload-local-backups', 'db/a')).put,
    ).toBe('ok');
  });

  it('two clusters: one role, one association per cluster × service account, each pod reaching the prefix; DELETE leaves nothing', async () => {
    const res = await api.onboard(
      pbm({ clusters: [demo, restore], serviceAccounts: ['pbm-agent', 'pbm-restore'], bucket: crossBucket('multi/') }),
    );
    expect(res.status).toBe(201);
    expect(actions(res)).toEqual([
      'create-pod-identity-association',
      'create-pod-identity-association',
      'create-pod-identity-association',
      'create-pod-identity-association',
      'create-role',
      'put-bucket-policy-statements',
      'put-role-policy',
    ]);
    expect(res.body.policies.trust.Statement).toHaveLength(1);
    expect(res.body.policies.trust.Statement[0].Condition.StringEquals['aws:RequestTag/eks-cluster-arn']).toEqual([
      `arn:aws:eks:eu-west-1:${WORKLOADS}:cluster/demo`,
      `arn:aws:eks:eu-west-1:${WORKLOADS}:cluster/restore`,
    ]);
    for (const cluster of [demo, restore]) {
      for (const sa of ['pbm-agent', 'pbm-restore']) {
        expect(
          await probe(
            await podIdentityCredentials(stack.emulator, pod(cluster, sa)),
            'demo-backups',
            `multi/${cluster.name}-${sa}`,
          ),
        ).toEqual(RW);
      }
    }
    expect((await verify(res.body.id)).body.ok).toBe(true);
    const del = await api.send('DELETE', `/v1/onboardings/${res.body.id}`);
    expect(del.status).toBe(200);
    expect(actions(del)).toEqual([
      'delete-pod-identity-association',
      'delete-pod-identity-association',
      'delete-pod-identity-association',
      'delete-pod-identity-association',
      'delete-role',
      'delete-role-policy',
      'remove-bucket-policy-statements',
    ]);
    expect(await associations(demo)).toEqual([]);
    expect(await associations(restore)).toEqual([]);
    expect(await serviceRoles(WORKLOADS)).toEqual([]);
  });

  it('dryRun answers the plan and writes nothing', async () => {
    const res = await api.onboard({ ...pbm(), dryRun: true });
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('planned');
    expect(actions(res)).toEqual(['create-pod-identity-association', 'create-role', 'put-role-policy']);
    expect(await writes(stack)).toEqual([]);
  });

  it('waits, bounded, for EKS to see a role IAM just created (propagation), then associates it', async () => {
    await admin.propagation(1500);
    const res = await api.onboard(pbm());
    await admin.propagation(0);
    expect(res.status).toBe(201);
    const creates = (await writes(stack)).filter((c) => c.operation === 'CreatePodIdentityAssociation');
    // refused while IAM propagates (at least once, with 1.5 s of propagation), then accepted; bounded by the wait
    expect(creates.length).toBeGreaterThan(1);
    expect(creates.length).toBeLessThan(20);
    expect(creates.at(-1)!.status).toBe(200);
    expect(creates.slice(0, -1).every((c) => c.errorCode === 'InvalidParameterException')).toBe(true);
    expect((await verify(res.body.id)).body.ok).toBe(true);
  });
});

describe('EKS Pod Identity, cross account', () => {
  it('bucket-policy mode, restore level: the role in the cluster account, granted by the bucket policy; the pod reads everything and never deletes or overwrites a backup', async () => {
    await clients(stack, rootCredentials(BACKUPS)).s3.send(
      new PutObjectCommand({ Bucket: 'demo-backups', Key: 'dr/backup-1', Body: 'backup' }),
    );
    const res = await api.onboard(pbm({ bucket: crossBucket('dr/'), access: 'restore' }));
    expect(res.status).toBe(201);
    expect(res.body.roleArn).toMatch(new RegExp(`^arn:aws:iam::${WORKLOADS}:role/`));
    expect(actions(res)).toEqual([
      'create-pod-identity-association',
      'create-role',
      'put-bucket-policy-statements',
      'put-role-policy',
    ]);
    const creds = await podIdentityCredentials(stack.emulator, pod(demo));
    const s3 = clients(stack, creds).s3;
    expect(await attempt(() => s3.send(new GetObjectCommand({ Bucket: 'demo-backups', Key: 'dr/backup-1' })))).toBe(
      'ok',
    );
    expect(await attempt(() => s3.send(new ListObjectsV2Command({ Bucket: 'demo-backups', Prefix: 'dr/' })))).toBe(
      'ok',
    );
    expect(
      await attempt(() =>
        s3.send(new PutObjectCommand({ Bucket: 'demo-backups', Key: 'dr/backup-1', Body: 'overwrite' })),
      ),
    ).toBe('AccessDenied');
    expect(await attempt(() => s3.send(new DeleteObjectCommand({ Bucket: 'demo-backups', Key: 'dr/backup-1' })))).toBe(
      'AccessDenied',
    );
    expect(await attempt(() => s3.send(new GetObjectCommand({ Bucket: 'demo-backups', Key: 'other/x' })))).toBe(
      'AccessDenied',
    );
    expect((await verify(res.body.id)).body.ok).toBe(true);
  });

  it('role-in-bucket-account: the association names a role in the cluster account whose target is the role in the bucket account; pods get the target role', async () => {
    const res = await api.onboard(pbm({ bucket: crossBucket('chain/'), crossAccountMode: 'role-in-bucket-account' }));
    expect(res.status).toBe(201);
    const target: string = res.body.roleArn;
    const source = target.replace(`::${BACKUPS}:`, `::${WORKLOADS}:`);
    expect(target).toMatch(new RegExp(`^arn:aws:iam::${BACKUPS}:role/s3-onboarding/s3ob-`));
    expect(res.body.roles).toEqual([
      { arn: target, accountId: BACKUPS, purpose: 'pod-identity-workload' },
      { arn: source, accountId: WORKLOADS, purpose: 'pod-identity-association' },
    ]);
    expect(
      res.body.changes.map((c: { action: string; accountId: string }) => `${c.accountId} ${c.action}`).sort(),
    ).toEqual([
      `${WORKLOADS} create-pod-identity-association`,
      `${WORKLOADS} create-role`,
      `${WORKLOADS} put-role-policy`,
      `${BACKUPS} create-role`,
      `${BACKUPS} put-role-policy`,
    ]);
    // the target trusts exactly the association's role, for these pods' session tags
    expect(res.body.policies.trust.Statement).toEqual([
      {
        Sid: `EksPodIdentityChain${WORKLOADS}`,
        Effect: 'Allow',
        Principal: { AWS: `arn:aws:iam::${WORKLOADS}:root` },
        Action: ['sts:AssumeRole', 'sts:TagSession'],
        Condition: {
          ArnEquals: { 'aws:PrincipalArn': source },
          StringEquals: {
            'aws:RequestTag/eks-cluster-arn': `arn:aws:eks:eu-west-1:${WORKLOADS}:cluster/demo`,
            'aws:RequestTag/kubernetes-namespace': 'mongodb',
            'aws:RequestTag/kubernetes-service-account': 'pbm-agent',
          },
        },
      },
    ]);
    const a = await associationOf(demo);
    const described = await eksIn(demo).send(
      new DescribePodIdentityAssociationCommand({ clusterName: 'demo', associationId: a.associationId }),
    );
    expect(described.association).toMatchObject({ roleArn: source, targetRoleArn: target, disableSessionTags: false });
    expect(res.body.snippets['pod-identity.md']).toContain(`| \`${source}\` | \`${target}\` |`);
    // the source role: bounded, its only permission is to assume the target
    const sourceRole = (
      await clients(stack, rootCredentials(WORKLOADS)).iam.send(new GetRoleCommand({ RoleName: roleName(source) }))
    ).Role!;
    expect(sourceRole.PermissionsBoundary?.PermissionsBoundaryArn).toBe(
      `arn:aws:iam::${WORKLOADS}:policy/s3-onboarding/s3-onboarding-workload-boundary`,
    );

    const answer = await assumeForPod(stack.emulator, pod(demo));
    expect(answer.assumedRoleArn).toMatch(new RegExp(`^arn:aws:sts::${BACKUPS}:assumed-role/${roleName(target)}/`));
    expect(await probe(answer.credentials!, 'demo-backups', 'chain/full-1')).toEqual(RW);
    expect(await probe(answer.credentials!, 'demo-backups', 'other/x')).toEqual(DENIED);
    expect((await verify(res.body.id)).body.ok).toBe(true);

    await admin.clearCalls();
    expect(
      (await api.onboard(pbm({ bucket: crossBucket('chain/'), crossAccountMode: 'role-in-bucket-account' }))).status,
    ).toBe(200);
    expect(await writes(stack)).toEqual([]);
  });

  it('the target role cannot be assumed by anything but the association role, and only with the granted pods’ tags', async () => {
    const res = await api.onboard(pbm({ bucket: crossBucket('chain/'), crossAccountMode: 'role-in-bucket-account' }));
    const target: string = res.body.roleArn;
    const source = target.replace(`::${BACKUPS}:`, `::${WORKLOADS}:`);
    // another role of the cluster account, allowed to assume the target, associated with its own target
    const other = await foreignPodRole(WORKLOADS, 'other-pod-role', [
      { Effect: 'Allow', Action: ['sts:AssumeRole', 'sts:TagSession'], Resource: target },
    ]);
    await associate(demo, 'intruder', other, { targetRoleArn: target });
    const viaOther = await assumeForPod(stack.emulator, pod(demo, 'intruder'));
    expect(viaOther.errorType).toBe('AccessDeniedException');
    expect(viaOther.message).toContain(`sts:AssumeRole on resource: ${target}`);
    // the service's source role associated (by someone else) with another service account: its trust refuses it
    await associate(demo, 'intruder2', source, { targetRoleArn: target });
    expect((await assumeForPod(stack.emulator, pod(demo, 'intruder2'))).message).toContain(
      `sts:AssumeRole on resource: ${source}`,
    );
    // the source role's own session, asking STS directly (no pod session tags): refused
    const sourceSession = clients(stack, await admin.roleCredentials(source));
    expect(
      (await failure(sourceSession.sts.send(new AssumeRoleCommand({ RoleArn: target, RoleSessionName: 'direct' }))))
        .name,
    ).toBe('AccessDenied');
    // nor with made-up tags of another service account
    expect(
      (
        await failure(
          sourceSession.sts.send(
            new AssumeRoleCommand({
              RoleArn: target,
              RoleSessionName: 'direct',
              Tags: [{ Key: 'kubernetes-service-account', Value: 'intruder' }],
            }),
          ),
        )
      ).name,
    ).toBe('AccessDenied');
    // a pod of another cluster (restore), through the source role: its trust pins the demo cluster
    await associate(restore, 'pbm-agent', source, { targetRoleArn: target });
    expect((await assumeForPod(stack.emulator, pod(restore))).errorType).toBe('AccessDeniedException');
    // the granted pod still works
    expect((await probe(await podIdentityCredentials(stack.emulator, pod(demo)), 'demo-backups', 'chain/ok')).put).toBe(
      'ok',
    );
  });

  it('clusters in two accounts share the target role, each through a source role in its own account; DELETE leaves nothing in any account', async () => {
    const body = pbm({ clusters: [demo, dr], bucket: crossBucket('two/'), crossAccountMode: 'role-in-bucket-account' });
    const res = await api.onboard(body);
    expect(res.status).toBe(201);
    const target: string = res.body.roleArn;
    expect(res.body.roles.map((r: { accountId: string }) => r.accountId)).toEqual([BACKUPS, WORKLOADS, DR]);
    expect(res.body.policies.trust.Statement.map((s: { Sid: string }) => s.Sid)).toEqual([
      `EksPodIdentityChain${WORKLOADS}`,
      `EksPodIdentityChain${DR}`,
    ]);
    for (const cluster of [demo, dr]) {
      const answer = await assumeForPod(stack.emulator, pod(cluster));
      expect(answer.assumedRoleArn).toMatch(new RegExp(`^arn:aws:sts::${BACKUPS}:assumed-role/${roleName(target)}/`));
      expect(await probe(answer.credentials!, 'demo-backups', `two/${cluster.name}`)).toEqual(RW);
    }
    // each source role is pinned to its own account's clusters (EKS Auth's eks-cluster-arn session tag)
    for (const [account, cluster] of [
      [WORKLOADS, demo],
      [DR, dr],
    ] as const) {
      const source = res.body.roles.find(
        (r: { accountId: string; purpose: string }) =>
          r.accountId === account && r.purpose === 'pod-identity-association',
      );
      const role = await clients(stack, rootCredentials(account)).iam.send(
        new GetRoleCommand({ RoleName: roleName(source.arn) }),
      );
      const trust = JSON.parse(decodeURIComponent(role.Role!.AssumeRolePolicyDocument!));
      expect(
        trust.Statement.flatMap((st: { Condition: { StringEquals: Record<string, string | string[]> } }) =>
          [st.Condition.StringEquals['aws:RequestTag/eks-cluster-arn']].flat(),
        ),
      ).toEqual([`arn:aws:eks:${cluster.region}:${account}:cluster/${cluster.name}`]);
    }
    // and a source role carries only the onboarded service accounts: another one's association is refused by EKS Auth
    await associate(demo, 'pbm-agent-x', target.replace(`::${BACKUPS}:`, `::${WORKLOADS}:`), { targetRoleArn: target });
    expect((await assumeForPod(stack.emulator, pod(demo, 'pbm-agent-x'))).errorType).toBe('AccessDeniedException');
    expect((await verify(res.body.id)).body.ok).toBe(true);

    const del = await api.send('DELETE', `/v1/onboardings/${res.body.id}`);
    expect(del.status).toBe(200);
    for (const account of [WORKLOADS, BACKUPS, DR]) expect(await serviceRoles(account)).toEqual([]);
    expect((await associations(demo)).map((a) => a.serviceAccount)).toEqual(['pbm-agent-x']); // someone else's stays
    expect(await associations(dr)).toEqual([]);
  });
});

describe('EKS Pod Identity: preconditions, each a 409 naming the cause, before any write', () => {
  it('a cluster without the eks-pod-identity-agent add-on', async () => {
    const res = await api.onboard(pbm({ clusters: [demo, batch] }));
    expect(res.status).toBe(409);
    expect(res.body.detail).toContain('cluster batch');
    expect(res.body.detail).toContain('eks-pod-identity-agent');
    expect(res.body.detail).not.toContain('cluster demo');
    expect(await writes(stack)).toEqual([]);
  });

  it('an association of the same service account that names a role the service does not manage', async () => {
    const theirs = await foreignPodRole(WORKLOADS, 'team-pbm-role');
    const existing = (await associate(demo, 'pbm-agent', theirs)).association!;
    await admin.clearCalls();
    const res = await api.onboard(pbm());
    expect(res.status).toBe(409);
    expect(res.body.detail).toContain(existing.associationId);
    expect(res.body.detail).toContain(theirs);
    expect(res.body.detail).toContain('service account mongodb/pbm-agent of cluster demo');
    expect(await writes(stack)).toEqual([]);
  });

  it('an association someone else made whose role merely sits under the service’s path and name prefix: 409, never taken over', async () => {
    // ownership is by what the service tagged, never by a name pattern (the look-alike was re-pointed, then deleted)
    const iam = clients(stack, rootCredentials(WORKLOADS)).iam;
    const trust = {
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: { Service: 'pods.eks.amazonaws.com' },
          Action: ['sts:AssumeRole', 'sts:TagSession'],
        },
      ],
    };
    const lookalike = (
      await iam.send(
        new CreateRoleCommand({
          RoleName: 's3ob-ffffffffffffffff',
          Path: '/s3-onboarding/',
          AssumeRolePolicyDocument: JSON.stringify(trust),
        }),
      )
    ).Role!.Arn!;
    const existing = (await associate(demo, 'pbm-agent', lookalike)).association!;
    await admin.clearCalls();
    const res = await api.onboard(pbm());
    expect(res.status).toBe(409);
    expect(res.body.detail).toContain(existing.associationId);
    expect(res.body.detail).toContain('which this service does not manage');
    expect(await writes(stack)).toEqual([]);
    expect((await associationOf(demo)).associationId).toBe(existing.associationId);
  });

  it('a cluster that does not exist is a 400 naming it', async () => {
    const res = await api.onboard(pbm({ clusters: [{ name: 'nope', accountId: WORKLOADS, region: 'eu-west-1' }] }));
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([
      { path: 'workload.clusters.0.name', message: expect.stringContaining('no EKS cluster named nope') },
    ]);
    expect(await writes(stack)).toEqual([]);
  });
});

describe('One role per workload identity, across IRSA and EKS Pod Identity', () => {
  const irsa = (bucket: object) => ({
    ...pbm({ bucket }),
    workload: { type: 'eks', clusters: [demo], namespace: 'mongodb', serviceAccounts: ['pbm-agent'] },
  });

  it('refuses Pod Identity for a service account an IRSA onboarding binds, and IRSA for one Pod Identity binds, before any write (AWS is only read)', async () => {
    const first = await api.onboard(irsa(crossBucket('irsa/')));
    expect(first.status).toBe(201);
    await admin.clearCalls();
    const second = await api.onboard(pbm({ bucket: crossBucket('pi/') }));
    expect(second.status).toBe(409);
    expect(second.body.detail).toContain('service account mongodb/pbm-agent of cluster demo');
    expect(second.body.detail).toContain(first.body.roleArn);
    expect((await admin.calls()).filter((c) => c.write)).toEqual([]);

    await api.send('DELETE', `/v1/onboardings/${first.body.id}`);
    const pi = await api.onboard(pbm({ bucket: crossBucket('pi/') }));
    expect(pi.status).toBe(201);
    await admin.clearCalls();
    const back = await api.onboard(irsa(crossBucket('irsa/')));
    expect(back.status).toBe(409);
    expect(back.body.detail).toContain(pi.body.roleArn);
    expect((await admin.calls()).filter((c) => c.write)).toEqual([]);
  });

  it('moves an onboarding from IRSA to Pod Identity when it is the identity’s only grant: the IRSA role goes, the association comes', async () => {
    const before = await api.onboard(irsa(crossBucket('move/')));
    const moved = await api.onboard(pbm({ bucket: crossBucket('move/') }));
    expect(moved.status).toBe(201);
    expect(moved.body.id).toBe(before.body.id);
    expect(moved.body.roleArn).not.toBe(before.body.roleArn);
    expect(await serviceRoles(WORKLOADS)).toEqual([moved.body.roleArn]);
    expect(await probe(await podIdentityCredentials(stack.emulator, pod(demo)), 'demo-backups', 'move/x')).toEqual(RW);
    expect((await verify(moved.body.id)).body.ok).toBe(true);
  });
});

describe('EKS Pod Identity: an onboarding whose service accounts change', () => {
  it('moves to the new identity: the association it keeps is re-pointed (never deleted), the new one created, the old role removed', async () => {
    const first = await api.onboard(pbm());
    const kept = await associationOf(demo);
    const moved = await api.onboard(pbm({ serviceAccounts: ['pbm-agent', 'pbm-restore'] }));
    expect(moved.status).toBe(201);
    expect(moved.body.id).toBe(first.body.id);
    expect(actions(moved)).toEqual([
      'create-pod-identity-association',
      'create-role',
      'delete-role',
      'delete-role-policy',
      'put-role-policy',
      'update-pod-identity-association',
    ]);
    const now = await associations(demo);
    expect(now.map((a) => a.serviceAccount).sort()).toEqual(['pbm-agent', 'pbm-restore']);
    expect(now.find((a) => a.serviceAccount === 'pbm-agent')!.associationId).toBe(kept.associationId);
    expect(await serviceRoles(WORKLOADS)).toEqual([moved.body.roleArn]);
    for (const sa of ['pbm-agent', 'pbm-restore'])
      expect(
        (await probe(await podIdentityCredentials(stack.emulator, pod(demo, sa)), 'workload-local-backups', `db/${sa}`))
          .put,
      ).toBe('ok');
    expect((await verify(moved.body.id)).body.ok).toBe(true);
  });
});

describe('EKS Pod Identity: drift', () => {
  it('an association removed: verify fails naming it, a repeat POST re-creates it', async () => {
    const res = await api.onboard(pbm());
    const a = await associationOf(demo);
    await eksIn(demo).send(
      new DeletePodIdentityAssociationCommand({ clusterName: 'demo', associationId: a.associationId }),
    );
    const v = await verify(res.body.id);
    expect(v.body.ok).toBe(false);
    expect(failedChecks(v)).toEqual(['pod-identity-associations']);
    expect(v.body.checks.find((c: { name: string }) => c.name === 'pod-identity-associations').detail).toContain(
      'service account mongodb/pbm-agent of cluster demo has no EKS Pod Identity association',
    );
    const again = await api.onboard(pbm());
    expect(again.status).toBe(201);
    expect(actions(again)).toEqual(['create-pod-identity-association']);
    expect((await verify(res.body.id)).body.ok).toBe(true);
  });

  it('an association re-pointed to a role the service does not manage: verify fails, and POST refuses to take it back (409)', async () => {
    const res = await api.onboard(pbm());
    const theirs = await foreignPodRole(WORKLOADS, 'team-pbm-role');
    const a = await associationOf(demo);
    await eksIn(demo).send(
      new UpdatePodIdentityAssociationCommand({ clusterName: 'demo', associationId: a.associationId, roleArn: theirs }),
    );
    const v = await verify(res.body.id);
    expect(failedChecks(v)).toEqual(['pod-identity-associations']);
    expect(v.body.checks.find((c: { name: string }) => c.name === 'pod-identity-associations').detail).toContain(
      theirs,
    );
    await admin.clearCalls();
    const again = await api.onboard(pbm());
    expect(again.status).toBe(409);
    expect(await writes(stack)).toEqual([]);
  });

  it.each([
    ['its target role removed', { targetRoleArn: '' }],
    ['session tags disabled', { disableSessionTags: true }],
  ])('an association with %s: verify fails, a repeat POST re-points it', async (_what, change) => {
    const body = pbm({ bucket: crossBucket('chain/'), crossAccountMode: 'role-in-bucket-account' });
    const res = await api.onboard(body);
    const a = await associationOf(demo);
    await eksIn(demo).send(
      new UpdatePodIdentityAssociationCommand({ clusterName: 'demo', associationId: a.associationId, ...change }),
    );
    expect((await assumeForPod(stack.emulator, pod(demo))).assumedRoleArn ?? '').not.toContain(
      `::${BACKUPS}:assumed-role/${roleName(res.body.roleArn)}`,
    );
    const v = await verify(res.body.id);
    expect(failedChecks(v)).toEqual(['pod-identity-associations']);
    const again = await api.onboard(body);
    expect(again.status).toBe(201);
    expect(actions(again)).toEqual(['update-pod-identity-association']);
    expect((await verify(res.body.id)).body.ok).toBe(true);
    expect(await probe(await podIdentityCredentials(stack.emulator, pod(demo)), 'demo-backups', 'chain/again')).toEqual(
      RW,
    );
  });

  it('the source role’s chain policy removed: verify names the source role, a repeat POST puts it back', async () => {
    const body = pbm({ bucket: crossBucket('chain/'), crossAccountMode: 'role-in-bucket-account' });
    const res = await api.onboard(body);
    const source = res.body.roles[1].arn as string;
    await clients(stack, rootCredentials(WORKLOADS)).iam.send(
      new DeleteRolePolicyCommand({ RoleName: roleName(source), PolicyName: 's3-onboarding-assume-target' }),
    );
    const v = await verify(res.body.id);
    expect(failedChecks(v).sort()).toEqual([`pod-role:${WORKLOADS}`, 'reach:pod-identity:200000000002/eu-west-1/demo']);
    const again = await api.onboard(body);
    expect(actions(again)).toEqual(['put-role-policy']);
    expect((await verify(res.body.id)).body.ok).toBe(true);
  });
});

describe('EKS Pod Identity: a fault on each new write step', () => {
  const body = () => pbm({ bucket: crossBucket('fault/'), crossAccountMode: 'role-in-bucket-account' });
  const nothingLeft = async () => {
    for (const account of [WORKLOADS, BACKUPS]) expect(await serviceRoles(account)).toEqual([]);
    expect(await associations(demo)).toEqual([]);
  };

  it('CreatePodIdentityAssociation fails after the roles were written: 503 (never a 4xx), the record says so, a retry converges, DELETE leaves nothing', async () => {
    await admin.fault({
      service: 'eks',
      operation: 'CreatePodIdentityAssociation',
      errorCode: 'ServerException',
      httpStatus: 500,
      count: 10,
    });
    const failed = await api.onboard(body());
    expect(failed.status).toBe(503);
    expect(failed.body.detail).toMatch(/partially applied/);
    await admin.clearFaults();
    const id = (await api.onboard({ ...body(), dryRun: true })).body.id;
    expect((await api.send('GET', `/v1/onboardings/${id}`)).body.status).toBe('failed');
    const retry = await api.onboard(body());
    expect(retry.status).toBe(201);
    expect(actions(retry)).toEqual(['create-pod-identity-association']);
    expect((await verify(id)).body.ok).toBe(true);
    expect((await api.send('DELETE', `/v1/onboardings/${id}`)).status).toBe(200);
    await nothingLeft();
  });

  it('UpdatePodIdentityAssociation fails (the only write of the repair): 503 with nothing written, a retry converges', async () => {
    const res = await api.onboard(body());
    const a = await associationOf(demo);
    await eksIn(demo).send(
      new UpdatePodIdentityAssociationCommand({
        clusterName: 'demo',
        associationId: a.associationId,
        targetRoleArn: '',
      }),
    );
    await admin.fault({
      service: 'eks',
      operation: 'UpdatePodIdentityAssociation',
      errorCode: 'ServerException',
      httpStatus: 500,
      count: 10,
    });
    await admin.clearCalls();
    const failed = await api.onboard(body());
    expect(failed.status).toBe(503);
    // every write it tried failed: nothing was written
    expect((await writes(stack)).filter((c) => c.status < 300)).toEqual([]);
    await admin.clearFaults();
    const retry = await api.onboard(body());
    expect(retry.status).toBe(201);
    expect(actions(retry)).toEqual(['update-pod-identity-association']);
    expect((await verify(res.body.id)).body.ok).toBe(true);
    expect((await api.send('DELETE', `/v1/onboardings/${res.body.id}`)).status).toBe(200);
    await nothingLeft();
  });

  it('DeletePodIdentityAssociation fails during DELETE: 503 naming what is done, a repeated DELETE finishes, nothing is left', async () => {
    const res = await api.onboard(body());
    await admin.fault({
      service: 'eks',
      operation: 'DeletePodIdentityAssociation',
      errorCode: 'ServerException',
      httpStatus: 500,
      count: 10,
    });
    const failed = await api.send('DELETE', `/v1/onboardings/${res.body.id}`);
    expect(failed.status).toBe(503);
    await admin.clearFaults();
    expect(await associations(demo)).toHaveLength(1);
    const again = await api.send('DELETE', `/v1/onboardings/${res.body.id}`);
    expect(again.status).toBe(200);
    expect(actions(again)).toContain('delete-pod-identity-association');
    await nothingLeft();
    expect((await api.send('DELETE', `/v1/onboardings/${res.body.id}`)).status).toBe(200);
  });
});
