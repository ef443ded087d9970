import {
  DeleteRoleCommand,
  DeleteRolePolicyCommand,
  GetRoleCommand,
  GetRolePolicyCommand,
  ListRolePoliciesCommand,
  UntagRoleCommand,
} from '@aws-sdk/client-iam';
import { GetBucketPolicyCommand } from '@aws-sdk/client-s3';
import type { Stack } from '../../../scripts/stack';
import { BACKUPS, WORKLOADS, rootCredentials } from '../../helpers/emulator';
import { clients, useTestStack, writes, type TestStack } from '../../helpers/stack';

/**
 * Removal is never blocked by a precondition that only matters for adding (contract §4: DELETE removes exactly what
 * the service added, and repeating it never fails with 5xx). An EC2 instance role whose owner withdrew the opt-in
 * tag, or deleted the instance role, still lets its onboarding be deleted.
 */

let stack: Stack;
let api: TestStack['api'];
let admin: TestStack['admin'];
useTestStack((t) => ({ stack, api, admin } = t), { resetEach: true });

const INSTANCE_ROLE = 'pbm-ec2-instance-role';
const ec2 = {
  workload: { type: 'ec2', instanceRoleArn: `arn:aws:iam::${WORKLOADS}:role/${INSTANCE_ROLE}` },
  bucket: { name: 'demo-backups', accountId: BACKUPS, region: 'eu-west-1', prefix: 'ec2/' },
  tool: 'pbm',
};
const iam = () => clients(stack, rootCredentials(WORKLOADS)).iam;
const exists = (p: Promise<unknown>) =>
  p.then(
    () => true,
    (e: Error) => (e.name === 'NoSuchEntityException' ? false : Promise.reject(e)),
  );
const bucketPolicy = async () =>
  await clients(stack, rootCredentials(BACKUPS))
    .s3.send(new GetBucketPolicyCommand({ Bucket: 'demo-backups' }))
    .then(
      (o) => o.Policy ?? '',
      () => '',
    );

describe('DELETE of an EC2 onboarding whose instance role the owner changed', () => {
  it('instance role no longer opted in: 200, the workload role and statements removed, the instance role untouched and named as left to its owner (it was 503, then 403 forever)', async () => {
    const created = await api.onboard(ec2);
    expect(created.status).toBe(201);
    const workloadRole = created.body.roleArn.split('/').pop();
    const grantName = (await iam().send(new ListRolePoliciesCommand({ RoleName: INSTANCE_ROLE }))).PolicyNames!.find(
      (n) => n.startsWith('s3-onboarding-assume-'),
    )!;
    expect(grantName).toBeDefined();
    await iam().send(new UntagRoleCommand({ RoleName: INSTANCE_ROLE, TagKeys: ['s3-onboarding-grantable'] }));

    const dry = await api.send('DELETE', `/v1/onboardings/${created.body.id}?dryRun=true`);
    expect(dry.status).toBe(200);
    expect(dry.body.changes.map((c: { action: string }) => c.action)).not.toContain('delete-instance-role-grant');
    expect(dry.body.leftToOwner).toEqual([
      expect.objectContaining({
        accountId: WORKLOADS,
        resource: `arn:aws:iam::${WORKLOADS}:role/${INSTANCE_ROLE}#${grantName}`,
      }),
    ]);

    await admin.clearCalls();
    const del = await api.send('DELETE', `/v1/onboardings/${created.body.id}`);
    expect(del.status).toBe(200);
    expect(del.body.status).toBe('deleted');
    expect(del.body.leftToOwner[0].detail).toContain(
      `aws iam delete-role-policy --role-name ${INSTANCE_ROLE} --policy-name ${grantName}`,
    );
    // nothing was even tried on the instance role: the provisioner may not change it any more
    const calls = await writes(stack);
    expect(calls.filter((c) => c.operation === 'DeleteRolePolicy')).toHaveLength(1);
    expect(calls.filter((c) => c.status >= 400)).toEqual([]);
    expect(await exists(iam().send(new GetRoleCommand({ RoleName: workloadRole })))).toBe(false);
    expect(await bucketPolicy()).not.toContain(created.body.id);
    expect(await exists(iam().send(new GetRolePolicyCommand({ RoleName: INSTANCE_ROLE, PolicyName: grantName })))).toBe(
      true,
    );
    expect((await api.send('GET', `/v1/onboardings/${created.body.id}`)).status).toBe(404);
    expect((await api.send('DELETE', `/v1/onboardings/${created.body.id}`)).status).toBe(200);
  });

  it('instance role deleted: 200 and the workload role removed (it was a 400 on workload.instanceRoleArn forever); a new POST for it is still that 400', async () => {
    const created = await api.onboard(ec2);
    expect(created.status).toBe(201);
    for (const name of (await iam().send(new ListRolePoliciesCommand({ RoleName: INSTANCE_ROLE }))).PolicyNames ?? []) {
      await iam().send(new DeleteRolePolicyCommand({ RoleName: INSTANCE_ROLE, PolicyName: name }));
    }
    await iam().send(new DeleteRoleCommand({ RoleName: INSTANCE_ROLE }));

    const del = await api.send('DELETE', `/v1/onboardings/${created.body.id}`);
    expect(del.status).toBe(200);
    expect(del.body.changes.map((c: { action: string }) => c.action).sort()).toEqual([
      'delete-role',
      'delete-role-policy',
      'remove-bucket-policy-statements',
    ]);
    expect(await exists(iam().send(new GetRoleCommand({ RoleName: created.body.roleArn.split('/').pop() })))).toBe(
      false,
    );

    await admin.clearCalls();
    const again = await api.onboard(ec2);
    expect(again.status).toBe(400);
    expect(again.body.errors[0].path).toBe('workload.instanceRoleArn');
    expect(await writes(stack)).toEqual([]);
  });
});
