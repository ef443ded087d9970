import { loadConfig } from '../../../lib/config';
import { grantDesired, identityDesired, resolveRequest, type GrantRef } from '../../../lib/onboarding/model/desired';
import type { OnboardingInput } from '../../../lib/onboarding/model/onboarding';
import type { Observed, ObservedRole } from '../../../lib/onboarding/gather/observe';
import { planRole } from '../../../lib/onboarding/plan/role';
import { planPodIdentity } from '../../../lib/onboarding/plan/pod-identity';
import type { ObservedAssociation, ObservedPodIdentity } from '../../../lib/onboarding/gather/pod-identity';
import type { Step } from '../../../lib/onboarding/model/steps';
import { CHAIN_POLICY_NAME, chainGrant, podRoleTrust } from '../../../lib/policy/pod-identity';

/**
 * The Pod Identity planner on data (lib/onboarding/pod-identity.ts): observed associations and chaining roles in,
 * steps (and the refusals) out. Golden plans list action, account, resource and what each step waits for.
 */

const config = loadConfig({});
const WORKLOADS = '200000000002';
const BACKUPS = '300000000003';
const demo = { name: 'demo', accountId: WORKLOADS, region: 'eu-west-1' };
const input = (over: Partial<OnboardingInput> = {}): OnboardingInput => ({
  workload: {
    type: 'eks',
    clusters: [demo],
    namespace: 'mongodb',
    serviceAccounts: ['pbm-agent'],
    identity: 'pod-identity',
  },
  bucket: { name: 'backups', accountId: BACKUPS, region: 'eu-west-1', prefix: 'db/' },
  tool: 'pbm',
  access: 'read-write',
  crossAccountMode: 'role-in-bucket-account',
  ...over,
});
const r = resolveRequest(config, input());
const k = r.identity.key;
const TARGET = r.identity.roleArn;
const SOURCE = TARGET.replace(`::${BACKUPS}:`, `::${WORKLOADS}:`);
const BINDING = `sa:${WORKLOADS}/eu-west-1/demo/mongodb/pbm-agent`;
const grants: GrantRef[] = [{ id: r.id, tags: [] }];

const pod = (over: Partial<ObservedPodIdentity> = {}): ObservedPodIdentity => ({
  podRoles: new Map([[WORKLOADS, undefined]]),
  quotas: new Map(),
  associations: new Map(),
  agentMissing: [],
  ...over,
});
const observed = (p: ObservedPodIdentity, role?: ObservedRole): Observed => ({
  issuers: [],
  providers: [],
  trustQuota: 2048,
  resourcePolicies: new Map(),
  resourceTags: new Map(),
  managedDocuments: new Map(),
  podIdentity: p,
  ...(role ? { role } : {}),
});

/** A role as the service leaves it. */
function live(arn: string, trust: ObservedRole['trust'], inline: [string, ObservedRole['trust']][]): ObservedRole {
  const d = identityDesired(config, r.identity, grants, []);
  return {
    arn,
    path: '/s3-onboarding/',
    trust,
    tags: d.role.tags,
    boundaryArn: `arn:aws:iam::${arn.split(':')[4]}:policy/s3-onboarding/s3-onboarding-workload-boundary`,
    inline: new Map(inline.map(([n, doc]) => [n, { document: doc, size: JSON.stringify(doc).length }])),
    attached: [],
  };
}
const who = {
  roleArn: TARGET,
  roleAccount: BACKUPS,
  clusters: [demo],
  namespace: 'mongodb',
  serviceAccounts: ['pbm-agent'],
};
const liveSource = () => live(SOURCE, podRoleTrust(who, WORKLOADS), [[CHAIN_POLICY_NAME, chainGrant(TARGET)]]);
const association = (over: Partial<ObservedAssociation> = {}): ObservedAssociation => ({
  id: 'a-1',
  arn: 'arn:aws:eks:…',
  roleArn: SOURCE,
  targetRoleArn: TARGET,
  disableSessionTags: false,
  tags: {},
  ...over,
});

const mainSteps = (o: Observed, g = grants) =>
  planRole({
    config,
    identity: r.identity,
    observed: o,
    desired: g.length ? identityDesired(config, r.identity, g, []) : undefined,
    grant: g.length ? grantDesired(r.identity, r.grant) : undefined,
  }).steps;
const planned = (o: Observed, g = grants, handOver?: string[]) =>
  planPodIdentity({ config, identity: r.identity, observed: o, grants: g, roleSteps: mainSteps(o, g), handOver });
const summary = (steps: Step[]) =>
  steps.map(
    (s) =>
      `${s.accountId} ${s.action} ${s.resource.replace(SOURCE, 'SOURCE')} after [${s.after.map((a) => a.replace(k, 'k')).join(', ')}]`,
  );

describe('Function: planPodIdentity', () => {
  it('first request across accounts: the source role, its chain policy after it, the association after the source role', () => {
    const { steps, conflicts } = planned(observed(pod()));
    expect(conflicts).toEqual([]);
    expect(summary(steps)).toEqual([
      `${WORKLOADS} create-role SOURCE after []`,
      `${WORKLOADS} put-role-policy SOURCE#${CHAIN_POLICY_NAME} after [k@${WORKLOADS}:role]`,
      `${WORKLOADS} create-pod-identity-association arn:aws:eks:eu-west-1:${WORKLOADS}:cluster/demo#mongodb/pbm-agent after [k@${WORKLOADS}:role]`,
    ]);
    expect(steps[2].params).toEqual({
      clusterName: 'demo',
      region: 'eu-west-1',
      namespace: 'mongodb',
      serviceAccount: 'pbm-agent',
      roleArn: SOURCE,
      targetRoleArn: TARGET,
      tags: [
        ['managed-by', config.managedByTag],
        ['s3-onboarding/identity', k],
      ],
    });
    // every step is the identity's (never recorded as the grant's own policy)
    expect(steps.every((s) => s.scope.kind === 'identity' && s.scope.key === k)).toBe(true);
  });

  it('converged: no step', () => {
    expect(
      planned(
        observed(
          pod({ podRoles: new Map([[WORKLOADS, liveSource()]]), associations: new Map([[BINDING, association()]]) }),
        ),
      ),
    ).toEqual({ steps: [], conflicts: [], refusals: [] });
  });

  it.each([
    ['its target removed', { targetRoleArn: undefined }],
    ['session tags disabled', { disableSessionTags: true }],
    [
      'another identity’s (stale) role, in an association the service tagged as its own',
      {
        roleArn: `arn:aws:iam::${WORKLOADS}:role/s3-onboarding/s3ob-ffffffffffffffff`,
        tags: { 'managed-by': config.managedByTag, 's3-onboarding/identity': 'wi-ffffffffffffffff' },
      },
    ],
  ])('re-points an association with %s', (_what, drift) => {
    const { steps } = planned(
      observed(
        pod({ podRoles: new Map([[WORKLOADS, liveSource()]]), associations: new Map([[BINDING, association(drift)]]) }),
      ),
    );
    expect(steps.map((s) => [s.action, s.params])).toEqual([
      [
        'update-pod-identity-association',
        {
          clusterName: 'demo',
          region: 'eu-west-1',
          namespace: 'mongodb',
          serviceAccount: 'pbm-agent',
          associationId: 'a-1',
          roleArn: SOURCE,
          targetRoleArn: TARGET,
        },
      ],
    ]);
  });

  it('refuses an association someone else made whose role merely sits under the service’s path and name prefix (ownership is by tag, not by name)', () => {
    const lookalike = association({
      roleArn: `arn:aws:iam::${WORKLOADS}:role/s3-onboarding/s3ob-ffffffffffffffff`,
      tags: { team: 'x' },
    });
    const { steps, conflicts } = planned(
      observed(pod({ podRoles: new Map([[WORKLOADS, liveSource()]]), associations: new Map([[BINDING, lookalike]]) })),
    );
    expect(steps).toEqual([]);
    expect(conflicts).toEqual([
      {
        kind: 'foreign-association',
        message: expect.stringContaining('which this service does not manage: it is never taken over'),
      },
    ]);
  });

  it('refuses (never takes over) an association naming a role the service does not manage, and a cluster without the agent', () => {
    const foreign = association({ roleArn: `arn:aws:iam::${WORKLOADS}:role/team-role`, targetRoleArn: undefined });
    const o = observed(
      pod({ associations: new Map([[BINDING, foreign]]), agentMissing: [{ cluster: demo, status: 'CREATE_FAILED' }] }),
    );
    const { steps, conflicts } = planned(o);
    expect(steps.map((s) => s.action)).toEqual(['create-role', 'put-role-policy']);
    expect(conflicts).toEqual([
      {
        kind: 'agent',
        message: expect.stringMatching(
          /^cluster demo \(200000000002, eu-west-1\) has no usable eks-pod-identity-agent add-on \(status CREATE_FAILED\)/,
        ),
      },
      {
        kind: 'foreign-association',
        message: expect.stringMatching(
          /^service account mongodb\/pbm-agent of cluster demo .* association a-1 naming role arn:aws:iam::200000000002:role\/team-role, which this service does not manage/,
        ),
      },
    ]);
  });

  it('with the last grant: the association and the source role go; an association of a foreign role stays; a handed-over binding stays', () => {
    const o = observed(
      pod({ podRoles: new Map([[WORKLOADS, liveSource()]]), associations: new Map([[BINDING, association()]]) }),
    );
    expect(summary(planned(o, []).steps)).toEqual([
      `${WORKLOADS} delete-role-policy SOURCE#${CHAIN_POLICY_NAME} after []`,
      `${WORKLOADS} delete-role SOURCE after [k@${WORKLOADS}:delete-policy:${CHAIN_POLICY_NAME}]`,
      `${WORKLOADS} delete-pod-identity-association arn:aws:eks:eu-west-1:${WORKLOADS}:cluster/demo#mongodb/pbm-agent after []`,
    ]);
    expect(planned(o, [], [BINDING]).steps.map((s) => s.action)).toEqual(['delete-role-policy', 'delete-role']);
    const foreign = observed(
      pod({ associations: new Map([[BINDING, association({ roleArn: `arn:aws:iam::${WORKLOADS}:role/team-role` })]]) }),
    );
    expect(planned(foreign, []).steps).toEqual([]);
  });

  it('same account: no source role, the association names the role and waits for its creation; an IRSA identity gets nothing', () => {
    const same = resolveRequest(
      config,
      input({ bucket: { name: 'local', region: 'eu-west-1' }, crossAccountMode: undefined }),
    );
    const o: Observed = { ...observed(pod({ podRoles: new Map() })) };
    const roleSteps = planRole({
      config,
      identity: same.identity,
      observed: o,
      desired: identityDesired(config, same.identity, grants, []),
      grant: grantDesired(same.identity, same.grant),
    }).steps;
    const { steps } = planPodIdentity({ config, identity: same.identity, observed: o, grants, roleSteps });
    expect(steps.map((s) => [s.action, s.after])).toEqual([
      ['create-pod-identity-association', [`${same.identity.key}:role`]],
    ]);
    expect(steps[0].params).toEqual({
      clusterName: 'demo',
      region: 'eu-west-1',
      namespace: 'mongodb',
      serviceAccount: 'pbm-agent',
      roleArn: same.identity.roleArn,
      tags: [
        ['managed-by', config.managedByTag],
        ['s3-onboarding/identity', same.identity.key],
      ],
    });
    const irsa = resolveRequest(
      config,
      input({ workload: { type: 'eks', clusters: [demo], namespace: 'mongodb', serviceAccounts: ['pbm-agent'] } }),
    );
    expect(planPodIdentity({ config, identity: irsa.identity, observed: o, grants, roleSteps: [] })).toEqual({
      steps: [],
      conflicts: [],
      refusals: [],
    });
  });
});
