import { GetBucketPolicyCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import {
  AttachRolePolicyCommand,
  CreatePolicyCommand,
  ListOpenIDConnectProvidersCommand,
  ListRolePoliciesCommand,
  ListRolesCommand,
  PutRolePolicyCommand,
} from '@aws-sdk/client-iam';
import type { AwsCredentialIdentity } from '@smithy/types';
import type { Stack } from '../../../scripts/stack';
import { BACKUPS, DR, WORKLOADS, rootCredentials, withDrAccount } from '../../helpers/emulator';
import { DeleteCommand, DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { clients, podCredentials, useTestStack, writes, type TestStack } from '../../helpers/stack';

/**
 * One role per workload identity (contract section 4): every onboarding of the same service accounts is a grant
 * on one role; a service account is never bound to a second role; the role goes with its last grant.
 */

const topology = withDrAccount({ oidcProvider: true });

let stack: Stack;
let api: TestStack['api'];
let admin: TestStack['admin'];
useTestStack((t) => ({ stack, api, admin } = t), { resetEach: true, topology });

const demo = { name: 'demo', accountId: WORKLOADS, region: 'eu-west-1' };
const restore = { name: 'restore', accountId: WORKLOADS, region: 'eu-west-1' };
const dr = { name: 'dr', accountId: DR, region: 'eu-central-1' };

const velero = (bucket: string, prefix: string, over: Record<string, unknown> = {}) => ({
  workload: { type: 'eks', clusters: [demo], namespace: 'velero', serviceAccounts: ['velero'] },
  bucket: { name: bucket, accountId: BACKUPS, region: 'eu-west-1', prefix },
  tool: 'velero',
  ...over,
});

const attempt = (p: Promise<unknown>) =>
  p.then(
    () => 'ok',
    (e: Error) => e.name,
  );
async function putGet(creds: AwsCredentialIdentity, bucket: string, key: string) {
  const s3 = clients(stack, creds).s3;
  return {
    put: await attempt(s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: 'x' }))),
    get: await attempt(s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))),
  };
}
const OK = { put: 'ok', get: 'ok' };
const DENIED = { put: 'AccessDenied', get: 'AccessDenied' };
const serviceRoles = async (account = WORKLOADS) =>
  (await clients(stack, rootCredentials(account)).iam.send(new ListRolesCommand({ PathPrefix: '/s3-onboarding/' })))
    .Roles ?? [];

describe('One service account onboarded to two buckets', () => {
  it('shares one role with a grant each; deleting one grant keeps the other working, deleting the last removes the role', async () => {
    const first = await api.onboard(velero('demo-backups', 'velero/'));
    const second = await api.onboard(velero('shared-backups', 'velero/'));
    expect([first.status, second.status]).toEqual([201, 201]);
    expect(second.body.id).not.toBe(first.body.id);
    expect(second.body.roleArn).toBe(first.body.roleArn);
    // the second grant only adds its own policy and statements to the existing role
    expect(second.body.changes.map((c: { action: string }) => c.action).sort()).toEqual([
      'put-bucket-policy-statements',
      'put-role-policy',
    ]);
    const roleName = first.body.roleArn.split('/').pop();
    const names = (
      await clients(stack, rootCredentials(WORKLOADS)).iam.send(new ListRolePoliciesCommand({ RoleName: roleName }))
    ).PolicyNames;
    expect(names?.sort()).toEqual([`s3-onboarding-${first.body.id}`, `s3-onboarding-${second.body.id}`].sort());

    const pod = await podCredentials(stack, first.body.roleArn, {
      cluster: 'demo',
      namespace: 'velero',
      serviceAccount: 'velero',
    });
    expect(await putGet(pod, 'demo-backups', 'velero/backups/a')).toEqual(OK);
    expect(await putGet(pod, 'shared-backups', 'velero/backups/a')).toEqual(OK);
    expect(await putGet(pod, 'shared-backups', 'other/a')).toEqual(DENIED);
    for (const r of [first, second])
      expect((await api.send('POST', `/v1/onboardings/${r.body.id}/verify`)).body.ok).toBe(true);

    const del = await api.send('DELETE', `/v1/onboardings/${first.body.id}`);
    expect(del.status).toBe(200);
    expect(del.body.changes.map((c: { action: string }) => c.action).sort()).toEqual([
      'delete-role-policy',
      'remove-bucket-policy-statements',
    ]);
    expect(await putGet(pod, 'shared-backups', 'velero/backups/b')).toEqual(OK);
    expect(await putGet(pod, 'demo-backups', 'velero/backups/b')).toEqual(DENIED);
    expect((await api.send('POST', `/v1/onboardings/${second.body.id}/verify`)).body.ok).toBe(true);

    const last = await api.send('DELETE', `/v1/onboardings/${second.body.id}`);
    expect(last.body.changes.map((c: { action: string }) => c.action).sort()).toEqual([
      'delete-role',
      'delete-role-policy',
      'remove-bucket-policy-statements',
    ]);
    expect(await serviceRoles()).toEqual([]);
    // with its role gone the identity is free again: onboarding it anew makes a new role
    expect((await api.onboard(velero('demo-backups', 'velero/'))).status).toBe(201);
  });

  it('merges the grants’ tags on the role and removes a grant’s tags with it', async () => {
    const a = await api.onboard(velero('demo-backups', 'a/', { tags: { team: 'storage', ticket: 'OPS-1' } }));
    const b = await api.onboard(velero('demo-backups', 'b/', { tags: { ticket: 'OPS-2' } }));
    const { GetRoleCommand } = await import('@aws-sdk/client-iam');
    const tags = async () =>
      Object.fromEntries(
        (
          (
            await clients(stack, rootCredentials(WORKLOADS)).iam.send(
              new GetRoleCommand({ RoleName: a.body.roleArn.split('/').pop() }),
            )
          ).Role!.Tags ?? []
        ).map((t) => [t.Key, t.Value]),
      );
    const later = [a.body.id, b.body.id].sort()[1] === b.body.id ? 'OPS-2' : 'OPS-1';
    expect(await tags()).toMatchObject({ team: 'storage', ticket: later, 'managed-by': 's3-onboarding' });
    await api.send('DELETE', `/v1/onboardings/${a.body.id}`);
    const after = await tags();
    expect(after).toMatchObject({ ticket: 'OPS-2' });
    expect(after.team).toBeUndefined();
  });

  it('merges tag keys that differ only in case as IAM does (one key, the later grant’s), and repeats converge with no write', async () => {
    const a = await api.onboard(velero('demo-backups', 'a/', { tags: { Team: 'storage' } }));
    const b = await api.onboard(velero('demo-backups', 'b/', { tags: { team: 'backup' } }));
    // two keys in one CreateRole/TagRole were IAM's InvalidInput: every repair of the role answered 500
    expect([a.status, b.status]).toEqual([201, 201]);
    const { GetRoleCommand } = await import('@aws-sdk/client-iam');
    const tags = async () =>
      (
        (
          await clients(stack, rootCredentials(WORKLOADS)).iam.send(
            new GetRoleCommand({ RoleName: a.body.roleArn.split('/').pop() }),
          )
        ).Role!.Tags ?? []
      ).filter((t) => t.Key!.toLowerCase() === 'team');
    const later =
      [a.body.id, b.body.id].sort()[1] === b.body.id
        ? { Key: 'team', Value: 'backup' }
        : { Key: 'Team', Value: 'storage' };
    expect(await tags()).toEqual([later]);
    await admin.clearCalls();
    for (const r of [
      velero('demo-backups', 'a/', { tags: { Team: 'storage' } }),
      velero('demo-backups', 'b/', { tags: { team: 'backup' } }),
    ])
      expect((await api.onboard(r)).status).toBe(200);
    expect(await writes(stack)).toEqual([]);
    for (const r of [a, b]) expect((await api.send('POST', `/v1/onboardings/${r.body.id}/verify`)).body.ok).toBe(true);
    // the grant whose key won goes: the other grant's key and value take its place
    const winner = later.Key === 'team' ? b : a;
    expect((await api.send('DELETE', `/v1/onboardings/${winner.body.id}`)).status).toBe(200);
    expect(await tags()).toEqual([
      later.Key === 'team' ? { Key: 'Team', Value: 'storage' } : { Key: 'team', Value: 'backup' },
    ]);
  });
});

describe('Bindings: a service account is bound to at most one role', () => {
  it.each([
    [
      'another cluster set',
      { workload: { type: 'eks', clusters: [demo, restore], namespace: 'velero', serviceAccounts: ['velero'] } },
    ],
    [
      'another set of service accounts',
      { workload: { type: 'eks', clusters: [demo], namespace: 'velero', serviceAccounts: ['velero', 'extra'] } },
    ],
    ['another role account', { crossAccountMode: 'role-in-bucket-account' }],
  ])(
    'refuses %s with 409 naming the binding and its onboarding, before any write (AWS is only read)',
    async (_what, over) => {
      const first = await api.onboard(velero('demo-backups', 'velero/'));
      await admin.clearCalls();
      const res = await api.onboard(velero('shared-backups', 'velero/', over));
      expect(res.status).toBe(409);
      expect(res.body.detail).toContain('service account velero/velero of cluster demo');
      expect(res.body.detail).toContain(first.body.roleArn);
      expect(res.body.detail).toContain(first.body.id);
      expect((await admin.calls()).filter((c) => c.write)).toEqual([]);
      // the binding still works as before
      const pod = await podCredentials(stack, first.body.roleArn, {
        cluster: 'demo',
        namespace: 'velero',
        serviceAccount: 'velero',
      });
      expect(await putGet(pod, 'demo-backups', 'velero/x')).toEqual(OK);
    },
  );

  it('a dry run is refused the same way, and nothing is left rejecting in the background', async () => {
    const unhandled: unknown[] = [];
    const listener = (e: unknown) => unhandled.push(e);
    process.on('unhandledRejection', listener);
    try {
      await api.onboard(velero('demo-backups', 'velero/'));
      const res = await api.onboard({
        ...velero('shared-backups', 'velero/', {
          workload: { type: 'eks', clusters: [demo, restore], namespace: 'velero', serviceAccounts: ['velero'] },
        }),
        dryRun: true,
      });
      expect(res.status).toBe(409);
      await new Promise((r) => setTimeout(r, 100));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', listener);
    }
  });

  it('lets a repeat with other service accounts move its own grant when nothing else holds the old binding', async () => {
    const first = await api.onboard(velero('demo-backups', 'velero/'));
    const moved = await api.onboard(
      velero('demo-backups', 'velero/', {
        workload: { type: 'eks', clusters: [demo], namespace: 'velero', serviceAccounts: ['velero', 'velero-restore'] },
      }),
    );
    expect(moved.status).toBe(201);
    expect(moved.body.id).toBe(first.body.id);
    expect(moved.body.roleArn).not.toBe(first.body.roleArn);
    expect((await serviceRoles()).map((r) => r.Arn)).toEqual([moved.body.roleArn]);
    for (const sa of ['velero', 'velero-restore']) {
      const pod = await podCredentials(stack, moved.body.roleArn, {
        cluster: 'demo',
        namespace: 'velero',
        serviceAccount: sa,
      });
      expect(await putGet(pod, 'demo-backups', `velero/${sa}`)).toEqual(OK);
    }
    expect((await api.send('POST', `/v1/onboardings/${moved.body.id}/verify`)).body.ok).toBe(true);
  });

  it('two different identities racing for one service account: one wins, the other is 409, and nothing of the loser stays', async () => {
    await admin.latency(20);
    const [x, y] = await Promise.all([
      api.onboard(velero('demo-backups', 'race/')),
      api.onboard(
        velero('shared-backups', 'race/', {
          workload: { type: 'eks', clusters: [demo, restore], namespace: 'velero', serviceAccounts: ['velero'] },
        }),
      ),
    ]);
    await admin.latency(0);
    expect([x.status, y.status].sort()).toEqual([201, 409]);
    const winner = x.status === 201 ? x : y;
    expect((await serviceRoles()).map((r) => r.Arn)).toEqual([winner.body.roleArn]);
    expect((await api.send('GET', '/v1/onboardings')).body.items.map((i: { id: string }) => i.id)).toEqual([
      winner.body.id,
    ]);
  });
});

describe('An IAM OIDC provider another request is deleting', () => {
  // what a DELETE does once the last identity trusting a provider is gone: it marks the provider as being deleted
  // in the store, then deletes it in AWS. A new identity on the same cluster registers on the provider while
  // its first writes run; finding it marked, it starts nothing more and answers 503, and a retry converges.
  const providerOfDemo = async () => {
    const out = await clients(stack, rootCredentials(WORKLOADS)).iam.send(new ListOpenIDConnectProvidersCommand({}));
    const arns = (out.OpenIDConnectProviderList ?? []).map((p) => p.Arn!);
    expect(arns).toHaveLength(1);
    return arns[0];
  };

  it.each([
    ['the deletion is given up', false],
    ['the deletion goes through', true],
  ])('answers 503 with what to do; when %s, the retry converges and the pod gets in', async (_what, deleted) => {
    const { serviceRuntime } = await import('../../../lib/runtime/service');
    const { store } = serviceRuntime();
    const provider = await providerOfDemo();
    expect(await store.providers.markDeleting(provider)).toBe(true);

    const res = await api.onboard(velero('demo-backups', 'velero/'));
    expect(res.status).toBe(503);
    expect(res.body.detail).toContain(`the IAM OIDC provider ${provider} is being deleted by another request`);
    expect(res.body.detail).toMatch(/retry/i);
    expect(res.body.detail).not.toMatch(/ at \S+\.(ts|js):\d+/);

    if (deleted) {
      const { DeleteOpenIDConnectProviderCommand } = await import('@aws-sdk/client-iam');
      await clients(stack, rootCredentials(WORKLOADS)).iam.send(
        new DeleteOpenIDConnectProviderCommand({ OpenIDConnectProviderArn: provider }),
      );
      await store.providers.forget(provider);
    } else {
      await store.providers.unmarkDeleting(provider);
    }
    const retry = await api.onboard(velero('demo-backups', 'velero/'));
    expect([200, 201]).toContain(retry.status);
    expect(retry.body.status).toBe('provisioned');
    expect(await providerOfDemo()).toBe(provider);
    const pod = await podCredentials(stack, retry.body.roleArn, {
      cluster: 'demo',
      namespace: 'velero',
      serviceAccount: 'velero',
    });
    expect(await putGet(pod, 'demo-backups', 'velero/x')).toEqual(OK);
    expect((await api.send('POST', `/v1/onboardings/${retry.body.id}/verify`)).body.ok).toBe(true);
    // the provider now counts this identity as a user: a deletion of it is refused while the onboarding exists
    expect(await store.providers.markDeleting(provider)).toBe(false);
  });
});

describe('Clusters in several accounts', () => {
  it('share one role in the bucket account (role-in-bucket-account), each cluster trusted through a provider there', async () => {
    const res = await api.onboard({
      workload: { type: 'eks', clusters: [demo, dr], namespace: 'mongodb', serviceAccounts: ['pbm-agent'] },
      bucket: { name: 'demo-backups', accountId: BACKUPS, region: 'eu-west-1', prefix: 'dr/' },
      tool: 'pbm',
      crossAccountMode: 'role-in-bucket-account',
    });
    expect(res.status).toBe(201);
    expect(res.body.roleArn).toMatch(new RegExp(`^arn:aws:iam::${BACKUPS}:role/`));
    expect(
      res.body.changes
        .filter((c: { action: string }) => c.action === 'create-oidc-provider')
        .map((c: { accountId: string }) => c.accountId),
    ).toEqual([BACKUPS, BACKUPS]);
    const providers =
      (await clients(stack, rootCredentials(BACKUPS)).iam.send(new ListOpenIDConnectProvidersCommand({})))
        .OpenIDConnectProviderList ?? [];
    expect(providers).toHaveLength(2);
    for (const [cluster, accountId, region] of [
      ['demo', WORKLOADS, 'eu-west-1'],
      ['dr', DR, 'eu-central-1'],
    ]) {
      const creds = await podCredentials(stack, res.body.roleArn, {
        cluster,
        namespace: 'mongodb',
        serviceAccount: 'pbm-agent',
        accountId,
        region,
      });
      expect(await putGet(creds, 'demo-backups', `dr/${cluster}`)).toEqual(OK);
    }
    expect((await api.send('POST', `/v1/onboardings/${res.body.id}/verify`)).body.ok).toBe(true);
    await api.send('DELETE', `/v1/onboardings/${res.body.id}`);
    expect(
      (await clients(stack, rootCredentials(BACKUPS)).iam.send(new ListOpenIDConnectProvidersCommand({})))
        .OpenIDConnectProviderList ?? [],
    ).toEqual([]);
    expect(await serviceRoles(BACKUPS)).toEqual([]);
  });

  it('are refused in bucket-policy mode with the reason, before any AWS call', async () => {
    await admin.clearCalls();
    const res = await api.onboard({
      workload: { type: 'eks', clusters: [demo, dr], namespace: 'mongodb', serviceAccounts: ['pbm-agent'] },
      bucket: { name: 'demo-backups', accountId: BACKUPS, region: 'eu-west-1', prefix: 'dr/' },
      tool: 'pbm',
    });
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([
      {
        path: 'crossAccountMode',
        message: expect.stringMatching(/role-in-bucket-account when the clusters are in several accounts/),
      },
    ]);
    expect(await admin.calls()).toEqual([]);
  });
});

describe('verify looks at every policy of the role', () => {
  it('fails, naming it, for an extra inline policy and for an attached managed policy that widen access; a repeat POST removes both', async () => {
    // a bucket of the role's own account: no bucket policy stands between the role and the bucket
    const local = () =>
      velero('workload-local-backups', 'velero/', {
        bucket: { name: 'workload-local-backups', region: 'eu-west-1', prefix: 'velero/' },
      });
    const res = await api.onboard(local());
    const roleName = res.body.roleArn.split('/').pop();
    const iam = clients(stack, rootCredentials(WORKLOADS)).iam;
    const everything = JSON.stringify({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: '*' }],
    });
    await iam.send(
      new PutRolePolicyCommand({ RoleName: roleName, PolicyName: 'read-everything', PolicyDocument: everything }),
    );
    const managed = await iam.send(
      new CreatePolicyCommand({ PolicyName: 'read-all-buckets', PolicyDocument: everything }),
    );
    await iam.send(new AttachRolePolicyCommand({ RoleName: roleName, PolicyArn: managed.Policy!.Arn }));

    const v = await api.send('POST', `/v1/onboardings/${res.body.id}/verify`);
    expect(v.body.ok).toBe(false);
    const failed = v.body.checks.filter((c: { ok: boolean }) => !c.ok).map((c: { name: string }) => c.name);
    expect(failed).toEqual(
      expect.arrayContaining([
        'extra-policy:read-everything',
        `attached-policy:${managed.Policy!.Arn}`,
        'deny:outside-prefix',
      ]),
    );

    const again = await api.onboard(local());
    expect(again.body.changes.map((c: { action: string }) => c.action).sort()).toEqual([
      'delete-role-policy',
      'detach-role-policy',
    ]);
    expect((await api.send('POST', `/v1/onboardings/${res.body.id}/verify`)).body.ok).toBe(true);
  });

  it('compares policies by meaning: a reordered or reformatted but equal policy is not drift', async () => {
    const res = await api.onboard(velero('demo-backups', 'velero/'));
    const roleName = res.body.roleArn.split('/').pop();
    const p = res.body.policies.permissions as { Statement: { Action: string | string[] }[] };
    const reformatted = {
      ...p,
      Statement: [...p.Statement]
        .reverse()
        .map((s) => ({ ...s, Action: Array.isArray(s.Action) ? [...s.Action].reverse() : [s.Action] })),
    };
    await clients(stack, rootCredentials(WORKLOADS)).iam.send(
      new PutRolePolicyCommand({
        RoleName: roleName,
        PolicyName: `s3-onboarding-${res.body.id}`,
        PolicyDocument: JSON.stringify(reformatted, null, 2),
      }),
    );
    expect((await api.send('POST', `/v1/onboardings/${res.body.id}/verify`)).body.ok).toBe(true);
    await admin.clearCalls();
    const again = await api.onboard(velero('demo-backups', 'velero/'));
    expect(again.status).toBe(200);
    expect(await writes(stack)).toEqual([]);
  });
});

describe('What is read of a role follows what the store knows', () => {
  const roleReads = async () =>
    (await admin.calls())
      .filter((c) => ['ListRolePolicies', 'ListAttachedRolePolicies', 'GetRolePolicy'].includes(c.operation))
      .map((c) => c.operation);

  it('a new identity: its role is one GetRole, not four reads; a second grant on it reads every policy of the role', async () => {
    const local = { name: 'workload-local-backups', region: 'eu-west-1' };
    await admin.clearCalls();
    const first = await api.onboard(velero('workload-local-backups', 'a/', { bucket: { ...local, prefix: 'a/' } }));
    expect(first.status).toBe(201);
    expect((await admin.calls()).filter((c) => c.operation === 'GetRole')).toHaveLength(1);
    expect(await roleReads()).toEqual([]);
    await admin.clearCalls();
    const second = await api.onboard(velero('workload-local-backups', 'b/', { bucket: { ...local, prefix: 'b/' } }));
    expect(second.status).toBe(201);
    expect((await roleReads()).sort()).toEqual(
      expect.arrayContaining(['GetRolePolicy', 'ListAttachedRolePolicies', 'ListRolePolicies']),
    );
  });

  it('a role the store lost track of is read whole once GetRole finds it: a policy added by hand is still removed', async () => {
    const body = velero('workload-local-backups', 'lost/', {
      bucket: { name: 'workload-local-backups', region: 'eu-west-1', prefix: 'lost/' },
    });
    const res = await api.onboard(body);
    const roleName = res.body.roleArn.split('/').pop();
    const iam = clients(stack, rootCredentials(WORKLOADS)).iam;
    await iam.send(
      new PutRolePolicyCommand({
        RoleName: roleName,
        PolicyName: 'added-by-hand',
        PolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: '*' }],
        }),
      }),
    );
    // the store forgets everything (a table restored from an old backup, say); AWS still has the role
    const doc = DynamoDBDocumentClient.from(
      new DynamoDBClient({
        endpoint: stack.dynamodbUrl,
        region: 'eu-west-1',
        credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
      }),
    );
    const items = (await doc.send(new ScanCommand({ TableName: process.env.TABLE_NAME! }))).Items ?? [];
    await Promise.all(
      items.map((i) =>
        doc.send(new DeleteCommand({ TableName: process.env.TABLE_NAME!, Key: { pk: i.pk, sk: i.sk } })),
      ),
    );
    doc.destroy();
    await admin.clearCalls();
    const again = await api.onboard(body);
    expect(again.status).toBe(201); // a record made anew: the store had none
    expect(again.body.changes.map((c: { action: string }) => c.action)).toContain('delete-role-policy');
    expect(await roleReads()).toEqual(expect.arrayContaining(['ListRolePolicies', 'ListAttachedRolePolicies']));
    expect((await iam.send(new ListRolePoliciesCommand({ RoleName: roleName }))).PolicyNames).toEqual([
      `s3-onboarding-${res.body.id}`,
    ]);
  });
});

describe('DELETE of a role someone attached a managed policy to', () => {
  it('detaches it and removes the role (it was the service’s own)', async () => {
    const res = await api.onboard(velero('demo-backups', 'velero/'));
    const iam = clients(stack, rootCredentials(WORKLOADS)).iam;
    const managed = await iam.send(
      new CreatePolicyCommand({
        PolicyName: 'extra',
        PolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Action: 's3:ListAllMyBuckets', Resource: '*' }],
        }),
      }),
    );
    await iam.send(
      new AttachRolePolicyCommand({ RoleName: res.body.roleArn.split('/').pop(), PolicyArn: managed.Policy!.Arn }),
    );
    const del = await api.send('DELETE', `/v1/onboardings/${res.body.id}`);
    expect(del.status).toBe(200);
    expect(del.body.changes.map((c: { action: string }) => c.action).sort()).toEqual([
      'delete-role',
      'delete-role-policy',
      'detach-role-policy',
      'remove-bucket-policy-statements',
    ]);
    expect(await serviceRoles()).toEqual([]);
    const policy = JSON.parse(
      (await clients(stack, rootCredentials(BACKUPS)).s3.send(new GetBucketPolicyCommand({ Bucket: 'demo-backups' })))
        .Policy!,
    );
    expect(policy.Statement.map((s: { Sid: string }) => s.Sid)).toEqual(['DenyInsecureTransport']);
  });

  it('dryRun answers the removal plan and writes nothing', async () => {
    const res = await api.onboard(velero('demo-backups', 'velero/'));
    await admin.clearCalls();
    const plan = await api.send('DELETE', `/v1/onboardings/${res.body.id}?dryRun=true`);
    expect(plan.status).toBe(200);
    expect(plan.body).toEqual({ id: res.body.id, status: 'planned', changes: expect.any(Array) });
    expect(plan.body.changes.map((c: { action: string }) => c.action).sort()).toEqual([
      'delete-role',
      'delete-role-policy',
      'remove-bucket-policy-statements',
    ]);
    expect(await writes(stack)).toEqual([]);
    expect((await api.send('GET', `/v1/onboardings/${res.body.id}`)).body.status).toBe('provisioned');
  });
});

describe('Lists by Query on the index, never a Scan', () => {
  it('by requester, cluster and bucket, each in pages that neither lose nor repeat items', async () => {
    const a = 'arn:aws:iam::100000000001:role/team-a-portal';
    const b = 'arn:aws:iam::100000000001:role/team-b-portal';
    const made: Record<string, string[]> = { [a]: [], [b]: [] };
    for (let i = 0; i < 5; i++) {
      for (const who of [a, b]) {
        const res = await api.onboard(
          velero('demo-backups', `${who.slice(-13)}-${i}/`, {
            workload: {
              type: 'eks',
              clusters: [demo],
              namespace: `ns-${who.slice(-13, -7)}-${i}`,
              serviceAccounts: ['velero'],
            },
          }),
          { 'x-local-caller': who },
        );
        expect(res.status).toBe(201);
        made[who].push(res.body.id);
      }
    }
    const all = async (query: string) => {
      const ids: string[] = [];
      let next: string | undefined;
      do {
        const page = await api.send('GET', `/v1/onboardings?${query}&limit=2${next ? `&nextToken=${next}` : ''}`);
        expect(page.status).toBe(200);
        ids.push(...page.body.items.map((i: { id: string }) => i.id));
        next = page.body.nextToken;
      } while (next);
      return ids;
    };
    expect((await all(`requester=${encodeURIComponent(a)}`)).sort()).toEqual([...made[a]].sort());
    expect((await all('cluster=demo')).sort()).toEqual([...made[a], ...made[b]].sort());
    expect((await all('bucket=demo-backups')).sort()).toEqual([...made[a], ...made[b]].sort());
    expect(await all('bucket=shared-backups')).toEqual([]);
    // a token of one list is refused by another
    const first = await api.send('GET', '/v1/onboardings?cluster=demo&limit=1');
    const reused = await api.send('GET', `/v1/onboardings?bucket=demo-backups&nextToken=${first.body.nextToken}`);
    expect(reused.status).toBe(400);
    expect(reused.body.errors[0].path).toBe('nextToken');
  });
});
