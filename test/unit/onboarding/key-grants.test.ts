import { loadConfig } from '../../../lib/config';
import { resolveRequest, type KeyStatements } from '../../../lib/onboarding/model/desired';
import { type KeyGrant } from '../../../lib/onboarding/model/key-grant';
import type { OnboardingInput } from '../../../lib/onboarding/model/onboarding';
import { keyGrantKey, writtenKeyGrants } from '../../../lib/onboarding/model/records';
import type { KeyGrantEntry } from '../../../lib/aws/kms';
import type { Observed } from '../../../lib/onboarding/gather/observe';
import { planKeyGrants } from '../../../lib/onboarding/plan/key-grants';
import { keyPolicyStatement } from '../../../lib/policy/documents';
import { parseRawPolicy } from '../../../lib/policy/resource-policy';
import type { Step } from '../../../lib/onboarding/model/steps';
import { rankOf } from '../../../lib/onboarding/plan/make-before-break';

/** The KMS-grant planner on data: grants found (ListGrants by grantee) and the record in, steps out. */

const KEY = 'arn:aws:kms:eu-west-1:300000000003:key/11111111-2222-3333-4444-555555555555';
const config = loadConfig({});
const input = (over: Partial<OnboardingInput> = {}): OnboardingInput => ({
  workload: {
    type: 'eks',
    clusters: [{ name: 'demo', accountId: '200000000002', region: 'eu-west-1' }],
    namespace: 'mongodb',
    serviceAccounts: ['pbm-agent'],
  },
  bucket: { name: 'backups', accountId: '300000000003', region: 'eu-west-1', prefix: 'db/', kmsKeyArn: KEY },
  tool: 'pbm',
  access: 'read-write',
  ...over,
});
const r = resolveRequest(config, input());
const want = r.want.keyGrant!;
const NAME = `s3-onboarding_${r.id}`;
const PROVISIONER = 'arn:aws:iam::300000000003:role/s3-onboarding-provisioner';

const entry = (g: Partial<KeyGrantEntry> = {}): KeyGrantEntry => ({
  grantId: 'g1',
  name: NAME,
  granteePrincipal: want.granteePrincipal,
  retiringPrincipal: PROVISIONER,
  operations: ['Decrypt', 'GenerateDataKey'],
  ...g,
});
const observedWith = (grants: [KeyGrant | { keyArn: string; granteePrincipal: string }, KeyGrantEntry[]][]) => ({
  keyGrants: new Map(grants.map(([g, list]) => [keyGrantKey(g.keyArn, g.granteePrincipal), list])),
  resourcePolicies: new Map(),
  resourceTags: new Map(),
});
const summary = (steps: Step[]) =>
  steps.map((s) =>
    s.action === 'create-key-grant'
      ? [s.action, s.params.grant.granteePrincipal, s.params.grant.operations.join(',')]
      : s.action === 'retire-key-grant'
        ? [s.action, s.params.grantId, s.params.retiring]
        : [s.action, s.resource],
  );

describe('Function: planKeyGrants', () => {
  it('wants a grant to the workload role in every mode: Decrypt and GenerateDataKey to write, retired by the provisioner', () => {
    expect(want).toEqual({
      accountId: '300000000003',
      region: 'eu-west-1',
      keyArn: KEY,
      name: NAME,
      granteePrincipal: r.identity.roleArn,
      retiringPrincipal: PROVISIONER,
      operations: ['Decrypt', 'GenerateDataKey'],
    });
    // same account and role-in-bucket-account too: a grant, never a key-policy statement
    for (const over of [
      { bucket: { name: 'local', region: 'eu-west-1', kmsKeyArn: KEY.replace('300000000003', '200000000002') } },
      { crossAccountMode: 'role-in-bucket-account' as const },
    ]) {
      const other = resolveRequest(config, input(over));
      expect(other.want.keyGrant?.granteePrincipal).toBe(other.identity.roleArn);
      expect(other.want.keyStatements).toBeUndefined();
    }
    const restore = resolveRequest(config, input({ access: 'restore' })).want.keyGrant!;
    expect(restore.operations).toEqual(['Decrypt', 'GenerateDataKey']);
    const readOnly = resolveRequest(config, input({ tool: 'generic', access: 'read-only' })).want.keyGrant!;
    expect(readOnly.operations).toEqual(['Decrypt']);
  });

  it('makes the grant, after the creation of its grantee role, when none of this onboarding is found', () => {
    const createRole = { id: 'k:role', action: 'create-role', resource: want.granteePrincipal } as Step;
    const { steps, left } = planKeyGrants({
      grantId: r.id,
      observed: observedWith([[want, [entry({ name: 'someone-else', grantId: 'x' })]]]),
      written: [],
      want,
      migrateKeyPolicies: false,
      others: [createRole],
    });
    expect(summary(steps)).toEqual([['create-key-grant', want.granteePrincipal, 'Decrypt,GenerateDataKey']]);
    expect(steps[0].after).toEqual(['k:role']);
    expect(left).toEqual([]);
  });

  it('a grantee role made anew (it was deleted): its old grant is stale, retired before the grant is made again', () => {
    const createRole = { id: 'k:role', action: 'create-role', resource: want.granteePrincipal } as Step;
    const { steps } = planKeyGrants({
      grantId: r.id,
      observed: observedWith([[want, [entry({ grantId: 'stale' })]]]),
      written: [want],
      want,
      migrateKeyPolicies: false,
      others: [createRole],
    });
    expect(summary(steps)).toEqual([
      ['create-key-grant', want.granteePrincipal, 'Decrypt,GenerateDataKey'],
      ['retire-key-grant', 'stale', true],
    ]);
    expect(steps[0].after).toEqual(['k:role', steps[1].id]);
  });

  it('changes nothing when the grant is in place (whatever its id), and ignores grants of other names', () => {
    const { steps } = planKeyGrants({
      grantId: r.id,
      observed: observedWith([[want, [entry(), entry({ grantId: 'foreign', name: 'other-onboarding' })]]]),
      written: [want],
      want,
      migrateKeyPolicies: false,
    });
    expect(steps).toEqual([]);
  });

  it('another access level: the new grant is made and the old one retired (make before break by rank)', () => {
    const readOnly = { ...want, operations: ['Decrypt'] };
    const { steps } = planKeyGrants({
      grantId: r.id,
      observed: observedWith([[want, [entry({ grantId: 'old' })]]]),
      written: [want],
      want: readOnly,
      migrateKeyPolicies: false,
    });
    expect(summary(steps)).toEqual([
      ['create-key-grant', want.granteePrincipal, 'Decrypt'],
      ['retire-key-grant', 'old', true],
    ]);
    // what orders them when they run: the retirement ranks after every making step
    expect(rankOf(steps[0])!).toBeLessThan(rankOf(steps[1])!);
  });

  it('a move to another role: a grant to the new role, the old role’s retired; a removal retires all (revoking one the service may not retire)', () => {
    const moved = { ...want, granteePrincipal: 'arn:aws:iam::300000000003:role/s3-onboarding/s3ob-new' };
    const moving = planKeyGrants({
      grantId: r.id,
      observed: observedWith([
        [want, [entry({ grantId: 'old' })]],
        [moved, []],
      ]),
      written: [want],
      want: moved,
      migrateKeyPolicies: false,
    });
    expect(summary(moving.steps)).toEqual([
      ['create-key-grant', moved.granteePrincipal, 'Decrypt,GenerateDataKey'],
      ['retire-key-grant', 'old', true],
    ]);
    const removal = planKeyGrants({
      grantId: r.id,
      observed: observedWith([[want, [entry({ grantId: 'a' }), entry({ grantId: 'b', retiringPrincipal: 'x' })]]]),
      written: writtenKeyGrants({ live: { keyGrant: want } }),
      migrateKeyPolicies: false,
    });
    expect(summary(removal.steps)).toEqual([
      ['retire-key-grant', 'a', true],
      ['retire-key-grant', 'b', false],
    ]);
  });

  describe('an older version’s key-policy statement', () => {
    const old: KeyStatements = {
      accountId: '300000000003',
      region: 'eu-west-1',
      keyArn: KEY,
      statements: [keyPolicyStatement(r.id, r.identity.roleArn, ['kms:Decrypt', 'kms:GenerateDataKey'])],
    };
    const policy = parseRawPolicy(
      JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          {
            Sid: 'Root',
            Effect: 'Allow',
            Principal: { AWS: 'arn:aws:iam::300000000003:root' },
            Action: 'kms:*',
            Resource: '*',
          },
          ...old.statements,
        ],
      }),
    );
    const observed = {
      ...observedWith([[want, []]]),
      resourcePolicies: new Map([[`key:${KEY}`, policy]]),
    } as unknown as Observed;

    it('is removed once the grant exists, while the provisioner may still migrate key policies', () => {
      const { steps, left } = planKeyGrants({
        grantId: r.id,
        observed,
        written: [],
        want,
        keyStatements: old,
        migrateKeyPolicies: true,
      });
      expect(summary(steps)).toEqual([
        ['create-key-grant', want.granteePrincipal, 'Decrypt,GenerateDataKey'],
        ['remove-key-policy-statement', KEY],
      ]);
      expect(rankOf(steps[0])!).toBeLessThan(rankOf(steps[1])!);
      expect(left).toEqual([]);
    });

    it('is otherwise left to the key’s owner, with the commands that remove it (never a key-policy write)', () => {
      const { steps, left } = planKeyGrants({
        grantId: r.id,
        observed,
        written: [],
        want,
        keyStatements: old,
        migrateKeyPolicies: false,
      });
      expect(summary(steps)).toEqual([['create-key-grant', want.granteePrincipal, 'Decrypt,GenerateDataKey']]);
      expect(left).toEqual([
        {
          accountId: '300000000003',
          resource: KEY,
          detail: expect.stringContaining(
            `aws kms put-key-policy --key-id ${KEY} --policy-name default --policy file://policy.json`,
          ),
        },
      ]);
      expect(left[0].detail).toContain(`Sid ${old.statements[0].Sid}`);
    });

    it('is not reported once it is gone', () => {
      const gone = { ...observed, resourcePolicies: new Map() } as unknown as Observed;
      const { steps, left } = planKeyGrants({
        grantId: r.id,
        observed: gone,
        written: [],
        want,
        keyStatements: old,
        migrateKeyPolicies: false,
      });
      expect(steps.map((s) => s.action)).toEqual(['create-key-grant']);
      expect(left).toEqual([]);
    });
  });
});
