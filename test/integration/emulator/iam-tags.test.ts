import { CreateRoleCommand, ListRoleTagsCommand, TagRoleCommand, UntagRoleCommand } from '@aws-sdk/client-iam';
import type { Emulator } from '../../../emulator/server';
import { WORKLOADS, clientsFor, failure, rootCredentials, useTestEmulator } from '../../helpers/emulator';

/** IAM compares a role's tag keys ignoring case (the IAM User Guide's tagging rules): the emulator does too. */
let emu: Emulator;
useTestEmulator((e) => (emu = e));

const trust = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }],
});

describe('Emulator: IAM role tag keys are case-insensitive', () => {
  it('refuses two keys differing only in case in one call, overwrites an existing key given in another case, and untags it in any case', async () => {
    const iam = clientsFor(emu, rootCredentials(WORKLOADS)).iam;
    await iam.send(
      new CreateRoleCommand({
        RoleName: 'tag-case',
        AssumeRolePolicyDocument: trust,
        Tags: [{ Key: 'Team', Value: 'a' }],
      }),
    );
    expect(
      await failure(
        iam.send(
          new TagRoleCommand({
            RoleName: 'tag-case',
            Tags: [
              { Key: 'x', Value: '1' },
              { Key: 'X', Value: '2' },
            ],
          }),
        ),
      ),
    ).toMatchObject({ name: 'InvalidInputException' });
    await iam.send(new TagRoleCommand({ RoleName: 'tag-case', Tags: [{ Key: 'team', Value: 'b' }] }));
    const tags = async () => (await iam.send(new ListRoleTagsCommand({ RoleName: 'tag-case' }))).Tags;
    expect(await tags()).toEqual([{ Key: 'team', Value: 'b' }]);
    await iam.send(new UntagRoleCommand({ RoleName: 'tag-case', TagKeys: ['TEAM'] }));
    expect(await tags()).toEqual([]);
  });
});
