import * as fs from 'node:fs';
import * as path from 'node:path';
import { config, input, ISSUER, liveRoleOf, PROVIDER } from '../../helpers/plan-fixtures';
import { resolveRequest, type GrantRef } from '../../../lib/onboarding/model/desired';
import { bucketTargetKey, type Observed } from '../../../lib/onboarding/gather/observe';
import type { Step } from '../../../lib/onboarding/model/steps';
import { rankOf } from '../../../lib/onboarding/plan/make-before-break';
import { planTransition, type Current, type Transition } from '../../../lib/onboarding/plan/transition';
import { parseRawPolicy, type RawPolicy } from '../../../lib/policy/resource-policy';

/**
 * The one planner on data, verb by verb and flow by flow. Each plan is compared with its golden file under
 * test/golden/plans/ (one line a step: its make-before-break rank, action, account, resource and what it waits
 * for), so a change of any plan shows in review as a change of that file. `UPDATE_GOLDEN=1 npx jest
 * test/unit/onboarding/transition.test.ts` rewrites the files after an intended change; a missing file fails.
 */

const GOLDEN = path.resolve(__dirname, '../../golden/plans');
const OPTED_IN: [string, string][] = [['s3-onboarding-managed', 'true']];
const BUCKET = bucketTargetKey('300000000003', 'backups');

const observed = (over: Partial<Observed> = {}): Observed => ({
  issuers: [ISSUER],
  providers: [PROVIDER],
  trustQuota: 2048,
  resourcePolicies: new Map(),
  resourceTags: new Map([[BUCKET, OPTED_IN]]),
  managedDocuments: new Map(),
  optIn: { bucket: { accountId: '300000000003', bucket: 'backups', tags: OPTED_IN, abac: true } },
  ...over,
});

type R = ReturnType<typeof resolveRequest>;

const liveRole = liveRoleOf;

const bucketPolicy = (...statements: unknown[]): Map<string, RawPolicy | undefined> =>
  new Map([[BUCKET, parseRawPolicy(JSON.stringify({ Version: '2012-10-17', Statement: statements }))]]);

/** One line a step; identities and ids replaced by names, so the file reads as the flow. */
function render(t: Transition, names: Record<string, string>): string {
  const name = (s: string) => Object.entries(names).reduce((acc, [from, to]) => acc.split(from).join(to), s);
  const lines = t.steps.map(
    (s: Step) =>
      `${rankOf(s) ?? '-'} ${s.action} ${s.accountId} ${name(s.resource)}${s.after.length ? `  after: ${s.after.map(name).join(', ')}` : ''}`,
  );
  const refusals = t.refusals.map((x) => `refused (${x.check}, ${x.error.status}): ${name(x.error.message)}`);
  const left = t.left.map((x) => `left to owner: ${name(x.resource)}`);
  return [...lines, ...refusals, ...left].join('\n') + '\n';
}

function golden(file: string, text: string): void {
  const at = path.join(GOLDEN, `${file}.txt`);
  if (process.env.UPDATE_GOLDEN === '1') {
    fs.mkdirSync(GOLDEN, { recursive: true });
    fs.writeFileSync(at, text);
  }
  if (!fs.existsSync(at)) throw new Error(`no golden plan ${at}: run with UPDATE_GOLDEN=1 and review it`);
  expect(text).toEqual(fs.readFileSync(at, 'utf8'));
}

const a = resolveRequest(config, input());
const b = resolveRequest(config, input({ bucket: { ...input().bucket, prefix: 'other/' } }));
const moved = resolveRequest(
  config,
  input({
    workload: {
      type: 'eks',
      clusters: [{ name: 'demo', accountId: '200000000002', region: 'eu-west-1' }],
      namespace: 'mongodb',
      serviceAccounts: ['pbm-agent', 'backup'],
    },
  }),
);
const names: Record<string, string> = {
  [a.identity.roleArn]: 'ROLE',
  [moved.identity.roleArn]: 'NEW-ROLE',
  [a.identity.key]: 'IDENTITY',
  [moved.identity.key]: 'NEW-IDENTITY',
  [a.id]: 'GRANT',
  [b.id]: 'OTHER-GRANT',
  [PROVIDER]: 'PROVIDER',
};
const ref = (r: R): GrantRef => ({ id: r.id, tags: [] });

/** POST of grant `r` onto its identity holding `before`, from what is live. */
function post(r: R, live: Observed, before: GrantRef[], written: Current['written'] = {}): Transition {
  const grants = [...before.filter((g) => g.id !== r.id), ref(r)];
  return planTransition(
    {
      config,
      grantId: r.id,
      identities: [{ identity: r.identity, observed: live, issuers: [ISSUER] }],
      written,
      resources: live,
    },
    {
      grants: new Map([[r.identity.key, grants]]),
      grant: { identityKey: r.identity.key, want: r.want, mode: r.grant.mode },
    },
  );
}

describe('planTransition: golden plans per verb and flow', () => {
  it('POST, a first onboarding across accounts: the provider, the role, its policy, then the bucket statement', () => {
    golden('post-create-bucket-policy', render(post(a, observed({ providers: [] }), []), names));
  });

  it('POST, converged: no step', () => {
    const live = observed({
      role: liveRole(a, [ref(a)]),
      resourcePolicies: bucketPolicy(...a.want.bucketStatements!.statements),
    });
    const t = post(a, live, [ref(a)], { bucketStatements: a.want.bucketStatements });
    expect(t.steps).toEqual([]);
    expect(t.refusals).toEqual([]);
  });

  it('POST, a second grant of the same identity: its policy and statement only', () => {
    const live = observed({
      role: liveRole(a, [ref(a)]),
      resourcePolicies: bucketPolicy(...a.want.bucketStatements!.statements),
    });
    golden('post-second-grant', render(post(b, live, [ref(a)]), names));
  });

  it('POST, a move to other service accounts: the new role and statement first, the old role last', () => {
    const live = observed({ resourcePolicies: bucketPolicy(...a.want.bucketStatements!.statements) });
    const away = observed({ role: liveRole(a, [ref(a)]) });
    const t = planTransition(
      {
        config,
        grantId: a.id,
        identities: [
          { identity: moved.identity, observed: live, issuers: [ISSUER] },
          { identity: a.identity, observed: away, issuers: [ISSUER], removableProviders: [] },
        ],
        written: { bucketStatements: a.want.bucketStatements },
        resources: live,
      },
      {
        grants: new Map([
          [moved.identity.key, [{ id: a.id, tags: [] }]],
          [a.identity.key, []],
        ]),
        grant: {
          identityKey: moved.identity.key,
          want: { ...moved.want, id: a.id, policyName: a.want.policyName },
          mode: moved.grant.mode,
        },
      },
    );
    expect(t.refusals).toEqual([]);
    golden('post-move-service-accounts', render(t, names));
  });

  it('DELETE of the last grant: statement, policy and role go, and the provider the service created', () => {
    const live = observed({
      role: liveRole(a, [ref(a)]),
      resourcePolicies: bucketPolicy(...a.want.bucketStatements!.statements),
    });
    const t = planTransition(
      {
        config,
        grantId: a.id,
        identities: [{ identity: a.identity, observed: live, issuers: [ISSUER], removableProviders: [PROVIDER] }],
        written: { bucketStatements: a.want.bucketStatements },
        resources: live,
      },
      { grants: new Map([[a.identity.key, []]]) },
    );
    golden('delete-last-grant', render(t, names));
  });

  it('DELETE of one of two grants: only its policy and statement go; the role stays', () => {
    const live = observed({
      role: liveRole(a, [ref(a), ref(b)]),
      resourcePolicies: bucketPolicy(...a.want.bucketStatements!.statements, ...b.want.bucketStatements!.statements),
    });
    const t = planTransition(
      {
        config,
        grantId: b.id,
        identities: [{ identity: a.identity, observed: live, issuers: [ISSUER] }],
        written: { bucketStatements: b.want.bucketStatements },
        resources: live,
      },
      { grants: new Map([[a.identity.key, [ref(a)]]]) },
    );
    golden('delete-one-of-two-grants', render(t, names));
  });

  it('undo of a refused new grant on an identity that stays: its policy and the role tags only, no repair', () => {
    // the refused grant brought a tag of its own onto the role: the undo takes it back
    const role = liveRole(a, [ref(a), { id: b.id, tags: [['team', 'reports']] }]);
    // drift nobody asked this request to repair: a foreign inline policy stays
    role.inline.set('hand-made', { document: { Version: '2012-10-17', Statement: [] }, size: 10 });
    const live = observed({ role, resourcePolicies: bucketPolicy(...b.want.bucketStatements!.statements) });
    const t = planTransition(
      {
        config,
        grantId: b.id,
        identities: [{ identity: a.identity, observed: live, issuers: [ISSUER] }],
        written: { bucketStatements: b.want.bucketStatements },
        resources: live,
      },
      { grants: new Map([[a.identity.key, [ref(a)]]]), undo: true },
    );
    golden('undo-on-staying-identity', render(t, names));
    expect(t.steps.map((s) => s.action).sort()).toEqual([
      'delete-role-policy',
      'remove-bucket-policy-statements',
      'untag-role',
    ]);
    expect(t.steps.some((s) => s.resource.endsWith('#hand-made'))).toBe(false);
  });
});

describe('planTransition: refusals are data', () => {
  it('names what refuses (the opt-in, a role that is not the service’s) and never throws', () => {
    const foreign = { ...liveRole(a, [ref(a)]), tags: [['managed-by', 'someone-else']] as [string, string][] };
    const live = observed({
      role: foreign,
      optIn: { bucket: { accountId: '300000000003', bucket: 'backups', tags: [], abac: true } },
    });
    const t = post(a, live, []);
    expect(t.refusals.map((x) => [x.check, x.error.status])).toEqual([
      ['opt-in', 409],
      ['plan', 409],
    ]);
    expect(t.refusals[1].error.message).toMatch(/was not created by this service/);
  });

  it('a DELETE is not refused for what matters only when adding (the owner withdrew the bucket opt-in tag)', () => {
    const live = observed({
      role: liveRole(a, [ref(a)]),
      optIn: { bucket: { accountId: '300000000003', bucket: 'backups', tags: [], abac: true } },
    });
    const t = planTransition(
      {
        config,
        grantId: a.id,
        identities: [{ identity: a.identity, observed: live, issuers: [ISSUER], removableProviders: [] }],
        written: {},
        resources: live,
      },
      { grants: new Map([[a.identity.key, []]]) },
    );
    expect(t.refusals).toEqual([]);
    expect(t.steps.map((s) => s.action)).toEqual(['delete-role-policy', 'delete-role']);
  });
});
