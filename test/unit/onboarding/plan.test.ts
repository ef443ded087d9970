import { config, input, ISSUER, liveRoleOf, PROVIDER } from '../../helpers/plan-fixtures';
import { ConflictError, QuotaExceededError, type ServiceError } from '../../../lib/errors';
import { grantDesired, identityDesired, resolveRequest, type GrantRef } from '../../../lib/onboarding/model/desired';
import { bucketTargetKey, type Observed, type ObservedRole } from '../../../lib/onboarding/gather/observe';
import { planRole } from '../../../lib/onboarding/plan/role';
import { planStatements } from '../../../lib/onboarding/plan/statements';
import type { Step } from '../../../lib/onboarding/model/steps';
import { parseRawPolicy } from '../../../lib/policy/resource-policy';
import { keyPolicyStatement } from '../../../lib/policy/documents';

/**
 * The planner on data: observed state in, steps out. Each golden plan lists (action, resource, after) for every
 * step, and the parameters where they carry the decision.
 */

const r = resolveRequest(config, input());
const ROLE = r.identity.roleArn;
const POLICY = `s3-onboarding-${r.id}`;

const empty = (): Observed => ({
  issuers: [ISSUER],
  providers: [PROVIDER],
  trustQuota: 2048,
  resourcePolicies: new Map(),
  resourceTags: new Map(),
  managedDocuments: new Map(),
});
const summary = (steps: Step[]) =>
  steps.map((s) => ({
    action: s.action,
    resource: s.resource.replace(ROLE, 'ROLE'),
    after: s.after.map((a) => a.replace(`${r.identity.key}:`, '')),
  }));

const liveRole = (grants: GrantRef[], extra: Partial<ObservedRole> = {}) => liveRoleOf(r, grants, extra);

/** The planners return refusals as data; here the first is thrown, as POST answers it. */
const orThrow = <T extends { refusals: ServiceError[] }>(p: T): T => {
  if (p.refusals.length) throw p.refusals[0];
  return p;
};
const statements = (...a: Parameters<typeof planStatements>) => orThrow(planStatements(...a)).steps;

const plan = (observed: Observed, grants: GrantRef[] = [{ id: r.id, tags: [] }]) =>
  orThrow(
    planRole({
      config,
      identity: r.identity,
      observed,
      desired: identityDesired(config, r.identity, grants, observed.issuers),
      grant: grantDesired(r.identity, r.grant),
    }),
  ).steps;

describe('Function: planRole', () => {
  it('create: the role after the missing provider, then the grant policy after the role', () => {
    const steps = plan({ ...empty(), providers: [] });
    expect(summary(steps)).toEqual([
      { action: 'create-oidc-provider', resource: PROVIDER, after: [] },
      { action: 'create-role', resource: 'ROLE', after: [`oidc:${PROVIDER}`] },
      { action: 'put-role-policy', resource: `ROLE#${POLICY}`, after: ['role'] },
    ]);
    const create = steps[1] as Extract<Step, { action: 'create-role' }>;
    expect(create.params.boundaryArn).toBe(
      'arn:aws:iam::200000000002:policy/s3-onboarding/s3-onboarding-workload-boundary',
    );
    expect(create.params.tags).toEqual([
      ['managed-by', 's3-onboarding'],
      ['s3-onboarding/identity', r.identity.key],
    ]);
  });

  it('converged: no step at all', () => {
    expect(plan({ ...empty(), role: liveRole([{ id: r.id, tags: [] }]) })).toEqual([]);
  });

  it.each([
    [
      'a widened trust',
      { trust: { Version: '2012-10-17' as const, Statement: [] } },
      [{ action: 'update-trust-policy', resource: 'ROLE', after: [] }],
    ],
    [
      'a lost boundary',
      { boundaryArn: undefined },
      [{ action: 'set-permissions-boundary', resource: 'ROLE', after: [] }],
    ],
    [
      'a stray tag',
      { tags: [...liveRole([{ id: r.id, tags: [] }]).tags, ['owner', 'someone'] as [string, string]] },
      [{ action: 'untag-role', resource: 'ROLE', after: [] }],
    ],
    [
      'an attached managed policy',
      { attached: [{ arn: 'arn:aws:iam::aws:policy/AmazonS3FullAccess', name: 'AmazonS3FullAccess' }] },
      [{ action: 'detach-role-policy', resource: 'ROLE#arn:aws:iam::aws:policy/AmazonS3FullAccess', after: [] }],
    ],
  ])('converge %s', (_what, drift, expected) => {
    expect(
      summary(plan({ ...empty(), role: liveRole([{ id: r.id, tags: [] }], drift as Partial<ObservedRole>) })),
    ).toEqual(expected);
  });

  it('converge a removed tag: the grant’s tag is put back on the role', () => {
    const grants: GrantRef[] = [{ id: r.id, tags: [['ticket', 'OPS-1']] }];
    // the role as it was left for these grants, then someone removed the ticket tag
    const removed = liveRole(grants);
    removed.tags = removed.tags.filter(([k]) => k !== 'ticket');
    expect(liveRole(grants).tags).toContainEqual(['ticket', 'OPS-1']);
    const steps = plan({ ...empty(), role: removed }, grants);
    expect(summary(steps)).toEqual([{ action: 'tag-role', resource: 'ROLE', after: [] }]);
    expect((steps[0] as Extract<Step, { action: 'tag-role' }>).params.tags).toEqual([['ticket', 'OPS-1']]);
  });

  it('converge a tampered grant policy and an extra inline policy: put the one, delete the other, both after a restored boundary', () => {
    const role = liveRole([{ id: r.id, tags: [] }], { boundaryArn: undefined });
    role.inline.set(POLICY, {
      document: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:*', Resource: '*' }] },
      size: 80,
    });
    role.inline.set('by-hand', { document: { Version: '2012-10-17', Statement: [] }, size: 40 });
    expect(summary(plan({ ...empty(), role }))).toEqual([
      { action: 'set-permissions-boundary', resource: 'ROLE', after: [] },
      { action: 'delete-role-policy', resource: 'ROLE#by-hand', after: ['boundary'] },
      { action: 'put-role-policy', resource: `ROLE#${POLICY}`, after: ['boundary'] },
    ]);
  });

  it('a grant added to an existing role: only its policy, and the role tags its grants now merge', () => {
    const other = { id: 'ob-000000000001', tags: [['ticket', 'OPS-1']] as [string, string][] };
    const role = liveRole([other]);
    const steps = plan({ ...empty(), role }, [other, { id: r.id, tags: [['ticket', 'OPS-2']] }]);
    expect(summary(steps)).toEqual([
      { action: 'tag-role', resource: 'ROLE', after: [] },
      { action: 'put-role-policy', resource: `ROLE#${POLICY}`, after: [] },
    ]);
    expect((steps[0] as Extract<Step, { action: 'tag-role' }>).params.tags).toEqual([['ticket', 'OPS-2']]);
  });

  it('the last grant removed: every policy deleted and managed ones detached before the role, providers after it', () => {
    const role = liveRole([{ id: r.id, tags: [] }], {
      attached: [{ arn: 'arn:aws:iam::200000000002:policy/x', name: 'x' }],
    });
    const steps = planRole({
      config,
      identity: r.identity,
      observed: { ...empty(), role },
      desired: undefined,
      removableProviders: [PROVIDER],
    }).steps;
    expect(summary(steps)).toEqual([
      { action: 'delete-role-policy', resource: `ROLE#${POLICY}`, after: [] },
      { action: 'detach-role-policy', resource: 'ROLE#arn:aws:iam::200000000002:policy/x', after: [] },
      {
        action: 'delete-role',
        resource: 'ROLE',
        after: [`delete-policy:${POLICY}`, 'detach:arn:aws:iam::200000000002:policy/x'],
      },
      { action: 'delete-oidc-provider', resource: PROVIDER, after: ['delete-role'] },
    ]);
    expect(steps[0].scope).toEqual({ kind: 'grant', id: r.id });
  });

  it('a grant removed from a role that keeps others: only that grant’s policy', () => {
    const other = { id: 'ob-000000000001', tags: [] };
    const role = liveRole([other, { id: r.id, tags: [] }]);
    const steps = planRole({
      config,
      identity: r.identity,
      observed: { ...empty(), role },
      desired: identityDesired(config, r.identity, [other], [ISSUER]),
    }).steps;
    expect(summary(steps)).toEqual([{ action: 'delete-role-policy', resource: `ROLE#${POLICY}`, after: [] }]);
  });

  it('refuses a role it did not create (409), whatever else differs', () => {
    const role = liveRole([{ id: r.id, tags: [] }], { tags: [['managed-by', 'someone-else']] });
    expect(() => plan({ ...empty(), role })).toThrow(ConflictError);
  });

  it('refuses a trust over the account quota, saying how many clusters fit', () => {
    const many = resolveRequest(
      config,
      input({
        workload: {
          type: 'eks',
          clusters: Array.from({ length: 8 }, (_, i) => ({
            name: `c${i}`,
            accountId: '200000000002',
            region: 'eu-west-1',
          })),
          namespace: 'mongodb',
          serviceAccounts: ['pbm-agent', 'default'],
        },
      }),
    );
    const issuers = many.identity.clusters.map(
      (c) => `https://oidc.eks.eu-west-1.amazonaws.com/id/${c.name.toUpperCase()}`,
    );
    const observed: Observed = { ...empty(), issuers, providers: [] };
    const run = () =>
      orThrow(
        planRole({
          config,
          identity: many.identity,
          observed,
          desired: identityDesired(config, many.identity, [{ id: many.id, tags: [] }], issuers),
          grant: grantDesired(many.identity, many.grant),
        }),
      );
    expect(run).toThrow(QuotaExceededError);
    try {
      run();
    } catch (e) {
      expect((e as QuotaExceededError).message).toMatch(
        /AssumeRolePolicySizeQuota of 2048; [1-7] cluster\(s\) fit in one role with these 2 service account\(s\)/,
      );
      expect((e as QuotaExceededError).details).toMatchObject({
        clustersRequested: 8,
        clustersThatFit: expect.any(Number),
      });
    }
  });

  it('says plainly when not even one cluster fits (many long service accounts)', () => {
    const sas = Array.from({ length: 10 }, (_, i) => `backup-agent-${i}-${'x'.repeat(180)}`);
    const big = resolveRequest(
      config,
      input({
        workload: {
          type: 'eks',
          clusters: [{ name: 'demo', accountId: '200000000002', region: 'eu-west-1' }],
          namespace: 'mongodb',
          serviceAccounts: sas,
        },
      }),
    );
    expect(() =>
      orThrow(
        planRole({
          config,
          identity: big.identity,
          observed: empty(),
          desired: identityDesired(config, big.identity, [{ id: big.id, tags: [] }], [ISSUER]),
          grant: grantDesired(big.identity, big.grant),
        }),
      ),
    ).toThrow(
      /not even one cluster fits: one cluster's statement with these 10 service account\(s\) is \d+ characters/,
    );
  });

  it('refuses a grant that does not fit the role’s inline policy bytes, saying how many more fit', () => {
    const size = JSON.stringify(grantDesired(r.identity, r.grant).permissions).length;
    const n = Math.floor(10_240 / size); // as many as fit: no room for one more
    const grants = Array.from({ length: n }, (_, i) => ({
      id: `ob-${String(i).padStart(12, '0')}`,
      tags: [] as [string, string][],
    }));
    expect(() =>
      plan({ ...empty(), role: liveRole(grants.slice(1)) }, [...grants.slice(1), { id: r.id, tags: [] }]),
    ).not.toThrow();
    expect(() => plan({ ...empty(), role: liveRole(grants) }, [...grants, { id: r.id, tags: [] }])).toThrow(
      new RegExp(
        `holds ${n} other grant\\(s\\) using ${n * size} of IAM's 10240 bytes of inline policies per role; this grant needs ${size} bytes, so 0 more grant\\(s\\) of this size fit`,
      ),
    );
  });
});

describe('Function: planStatements', () => {
  const want = grantDesired(r.identity, r.grant);
  const withPolicy = (text?: string): Observed => ({
    ...empty(),
    resourcePolicies: new Map([[bucketTargetKey('300000000003', 'backups'), text ? parseRawPolicy(text) : undefined]]),
  });
  const foreign =
    '{"Version":"2012-10-17","Statement":[{"Sid":"Owner","Effect":"Deny","Principal":"*","Action":"s3:DeleteObject","Resource":"arn:aws:s3:::backups/legal/*","Condition":{"NumericEquals":{"s3:x":12345678901234567891}}}]}';

  it('adds the grant’s statement when missing', () => {
    const steps = statements(r.id, withPolicy(foreign), {}, want);
    expect(steps.map((s) => s.action)).toEqual(['put-bucket-policy-statements']);
    expect(steps[0].params).toMatchObject({ remove: [], add: want.bucketStatements!.statements });
  });

  it('writes nothing when the policy already holds it', () => {
    const text = JSON.stringify({
      Version: '2012-10-17',
      Statement: [...JSON.parse(foreign).Statement, ...want.bucketStatements!.statements],
    });
    expect(statements(r.id, withPolicy(text), { bucketStatements: want.bucketStatements }, want)).toEqual([]);
  });

  it('removes exactly what it wrote on DELETE', () => {
    const text = JSON.stringify({ Version: '2012-10-17', Statement: want.bucketStatements!.statements });
    const steps = statements(r.id, withPolicy(text), { bucketStatements: want.bucketStatements }, undefined);
    expect(steps.map((s) => [s.action, s.params])).toEqual([
      [
        'remove-bucket-policy-statements',
        expect.objectContaining({ remove: want.bucketStatements!.statements, add: [] }),
      ],
    ]);
  });

  it('refuses (409) an owner’s statement that took the Sid it needs, never overwriting it', () => {
    const collision = { ...JSON.parse(foreign).Statement[0], Sid: want.bucketStatements!.statements[0].Sid };
    const text = JSON.stringify({ Version: '2012-10-17', Statement: [collision] });
    expect(() => statements(r.id, withPolicy(text), {}, want)).toThrow(
      /holds a statement with Sid S3Onboarding[0-9a-f]+ that this service did not write/,
    );
  });

  it('keeps an owner statement whose Sid merely starts like the service’s (ownership by content)', () => {
    const lookalike = {
      ...JSON.parse(foreign).Statement[0],
      Sid: `${want.bucketStatements!.statements[0].Sid}LegalHold`,
    };
    const text = JSON.stringify({
      Version: '2012-10-17',
      Statement: [lookalike, ...want.bucketStatements!.statements],
    });
    const steps = statements(r.id, withPolicy(text), { bucketStatements: want.bucketStatements }, undefined);
    expect(steps).toHaveLength(1);
    const remove = steps[0].params as { remove: unknown[] };
    expect(remove.remove).toEqual(want.bucketStatements!.statements);
  });

  it('removes a key-policy statement an older version wrote (key grants are KMS grants now)', () => {
    const KEY = 'arn:aws:kms:eu-west-1:300000000003:key/11111111-2222-3333-4444-555555555555';
    const old = {
      accountId: '300000000003',
      region: 'eu-west-1',
      keyArn: KEY,
      statements: [keyPolicyStatement(r.id, ROLE, ['kms:Decrypt', 'kms:GenerateDataKey'])],
    };
    const keyText = JSON.stringify({
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
    });
    const observed: Observed = {
      ...withPolicy(JSON.stringify({ Version: '2012-10-17', Statement: want.bucketStatements!.statements })),
      resourcePolicies: new Map([
        [
          bucketTargetKey('300000000003', 'backups'),
          parseRawPolicy(JSON.stringify({ Version: '2012-10-17', Statement: want.bucketStatements!.statements })),
        ],
        [`key:${KEY}`, parseRawPolicy(keyText)],
      ]),
    };
    const steps = statements(r.id, observed, { bucketStatements: want.bucketStatements, keyStatements: old }, want);
    expect(steps.map((s) => [s.action, s.resource])).toEqual([['remove-key-policy-statement', KEY]]);
  });
});
