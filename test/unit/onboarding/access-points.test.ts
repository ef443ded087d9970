import { loadConfig } from '../../../lib/config';
import { resolveRequest } from '../../../lib/onboarding/model/desired';
import type { OnboardingInput } from '../../../lib/onboarding/model/onboarding';
import type { Observed } from '../../../lib/onboarding/gather/observe';
import type { Step } from '../../../lib/onboarding/model/steps';
import {
  accessPointWant,
  chooseAccessPointName,
  orderGrantPolicy,
  planAccessPoint,
} from '../../../lib/onboarding/plan/access-points';
import { orderMakeBeforeBreak } from '../../../lib/onboarding/plan/make-before-break';
import { parseRawPolicy } from '../../../lib/policy/resource-policy';
import {
  ACCESS_POINT_TOOLS,
  accessPointNames,
  accessPointRefusal,
  delegationStatement,
} from '../../../lib/policy/access-points';
import { renderSnippets } from '../../../lib/snippets';
import { ConflictError, QuotaExceededError } from '../../../lib/errors';

const config = loadConfig({});
const BUCKET_ACCOUNT = '300000000003';
const input: OnboardingInput = {
  workload: {
    type: 'eks',
    clusters: [{ name: 'demo', accountId: '200000000002', region: 'eu-west-1' }],
    namespace: 'mongodb',
    serviceAccounts: ['pbm-agent'],
  },
  bucket: { name: 'backups', accountId: BUCKET_ACCOUNT, region: 'eu-west-1', prefix: 'p/' },
  tool: 'pbm',
  access: 'read-write',
  crossAccountMode: 'access-point',
};
const r = resolveRequest(config, input);
const names = accessPointNames(r.id);
const delegation = delegationStatement(BUCKET_ACCOUNT, 'eu-west-1', 'backups');
const bucketKey = `bucket:${BUCKET_ACCOUNT}/backups`;
const managed = [['s3-onboarding-managed', 'true']] as [string, string][];

type Ap = { name: string; own: boolean; policy?: unknown } | null;
function observed(aps: Record<string, Ap>, statements: unknown[] = [], tags = managed): Observed {
  return {
    issuers: [],
    providers: [],
    trustQuota: 2048,
    resourcePolicies: new Map([
      [
        bucketKey,
        statements.length
          ? parseRawPolicy(JSON.stringify({ Version: '2012-10-17', Statement: statements }))
          : undefined,
      ],
    ]),
    resourceTags: new Map([[bucketKey, tags]]),
    managedDocuments: new Map(),
    accessPoints: {
      accountId: BUCKET_ACCOUNT,
      region: 'eu-west-1',
      byName: new Map(
        Object.entries(aps).map(([n, a]) => [
          n,
          a && {
            name: n,
            arn: `arn:aws:s3:eu-west-1:${BUCKET_ACCOUNT}:accesspoint/${n}`,
            alias: `${n}-abc-s3alias`,
            bucket: 'backups',
            tags: [],
            own: a.own,
            ...(a.policy ? { policy: a.policy as never } : {}),
          },
        ]),
      ),
    },
  } as Observed;
}
const actions = (steps: Step[]) => steps.map((s) => s.action);

describe('Function: accessPointNames', () => {
  it('derives 3-50 character names from the onboarding id, then numbered ones', () => {
    expect(names[0]).toBe(`s3ob-${r.id.slice(3)}`);
    expect(names[1]).toBe(`${names[0]}-2`);
    for (const n of names) expect(n).toMatch(/^[a-z0-9][a-z0-9-]{1,48}[a-z0-9]$/);
  });
});

describe('Function: chooseAccessPointName', () => {
  it('takes the first free name, skipping those someone else holds, and keeps its own wherever it is', () => {
    expect(chooseAccessPointName(r.id)).toBe(names[0]);
    expect(chooseAccessPointName(r.id, observed({ [names[0]!]: null }).accessPoints)).toBe(names[0]);
    expect(
      chooseAccessPointName(
        r.id,
        observed({ [names[0]!]: { name: names[0]!, own: false }, [names[1]!]: null }).accessPoints,
      ),
    ).toBe(names[1]);
    expect(
      chooseAccessPointName(
        r.id,
        observed({ [names[0]!]: null, [names[2]!]: { name: names[2]!, own: true } }).accessPoints,
      ),
    ).toBe(names[2]);
  });

  it('is a 409 when every name is held by someone else', () => {
    const all = Object.fromEntries(names.map((n) => [n, { name: n, own: false }]));
    expect(() => chooseAccessPointName(r.id, observed(all).accessPoints)).toThrow(ConflictError);
  });
});

describe('Function: planAccessPoint', () => {
  it('creates the access point, then its policy and the delegation, for a new grant', () => {
    const o = observed({ [names[0]!]: null });
    const want = accessPointWant(r, o);
    const steps = planAccessPoint({ config, grantId: r.id, observed: o, written: {}, want });
    expect(actions(steps)).toEqual(['create-access-point', 'put-access-point-policy', 'put-access-point-delegation']);
    const [create, policy, deleg] = steps;
    expect(policy!.after).toEqual([create!.id]);
    // the delegation goes in after the access point exists, even when the statement is there already
    expect(deleg!.after).toEqual([create!.id]);
    expect(
      actions(
        planAccessPoint({
          config,
          grantId: r.id,
          observed: observed({ [names[0]!]: null }, [delegation]),
          written: {},
          want,
        }),
      ),
    ).toContain('put-access-point-delegation');
    expect(create!.params).toMatchObject({
      tags: [
        ['managed-by', config.managedByTag],
        ['s3-onboarding/onboarding', r.id],
      ],
    });
  });

  it('plans nothing when its access point, policy and the delegation are in place; repairs what drifted', () => {
    const want = r.want;
    const inPlace = observed({ [names[0]!]: { name: names[0]!, own: true, policy: want.accessPoint!.policy } }, [
      delegation,
    ]);
    expect(planAccessPoint({ config, grantId: r.id, observed: inPlace, written: {}, want })).toEqual([]);
    const drifted = observed({ [names[0]!]: { name: names[0]!, own: true } }, []);
    expect(actions(planAccessPoint({ config, grantId: r.id, observed: drifted, written: {}, want }))).toEqual([
      'put-access-point-policy',
      'put-access-point-delegation',
    ]);
  });

  it('deletes its own access point and asks for the delegation to go with its last, never touching another', () => {
    const written = {
      accessPoint: { accountId: BUCKET_ACCOUNT, region: 'eu-west-1', bucket: 'backups', name: names[0]!, arn: 'x' },
    };
    const o = observed({ [names[0]!]: { name: names[0]!, own: true }, other: { name: 'other', own: false } }, [
      delegation,
    ]);
    const steps = planAccessPoint({ config, grantId: r.id, observed: o, written });
    expect(actions(steps)).toEqual(['delete-access-point', 'remove-access-point-delegation']);
    expect(steps[1]!.after).toEqual([steps[0]!.id]);
    expect(steps[1]!.params).toMatchObject({ except: [names[0]], managedBy: config.managedByTag });
    // the delegation already gone: nothing to remove
    expect(
      actions(planAccessPoint({ config, grantId: r.id, observed: observed({ [names[0]!]: null }), written })),
    ).toEqual([]);
  });

  it('refuses, before any write, a foreign statement of the same Sid, a bucket not opted in, and a full policy', () => {
    const want = r.want;
    const foreign = { ...delegation, Action: 's3:*' };
    expect(() =>
      planAccessPoint({
        config,
        grantId: r.id,
        observed: observed({ [names[0]!]: null }, [foreign]),
        written: {},
        want,
      }),
    ).toThrow(ConflictError);
    expect(() =>
      planAccessPoint({ config, grantId: r.id, observed: observed({ [names[0]!]: null }, [], []), written: {}, want }),
    ).toThrow(/not opted in/);
    const big = {
      Sid: 'Big',
      Effect: 'Allow',
      Principal: '*',
      Action: 's3:GetObject',
      Resource: `arn:aws:s3:::backups/${'x'.repeat(20_200)}`,
    };
    expect(() =>
      planAccessPoint({ config, grantId: r.id, observed: observed({ [names[0]!]: null }, [big]), written: {}, want }),
    ).toThrow(QuotaExceededError);
    expect(() =>
      planAccessPoint({
        config,
        grantId: r.id,
        observed: observed({ [names[0]!]: { name: names[0]!, own: false } }),
        written: {},
        want,
      }),
    ).toThrow(ConflictError);
  });
});

describe('Function: orderGrantPolicy', () => {
  const step = (id: string, action: string, extra: object = {}): Step =>
    ({
      id,
      action,
      accountId: '1',
      resource: id,
      params: { policyName: `s3-onboarding-${r.id}`, ...extra },
      after: [],
      scope: { kind: 'grant', id: r.id },
    }) as unknown as Step;

  it('rewrites the grant policy of a move into access-point mode only once the access point and delegation are in place', () => {
    const steps = orderMakeBeforeBreak(
      orderGrantPolicy(
        [
          step('policy', 'put-role-policy'),
          step('create', 'create-access-point'),
          step('ap-policy', 'put-access-point-policy'),
          step('delegation', 'put-access-point-delegation'),
          step('old', 'remove-bucket-policy-statements', { remove: [{}], add: [] }),
        ],
        r.id,
      ),
    );
    const after = Object.fromEntries(steps.map((s) => [s.id, [...s.after].sort()]));
    expect(after.policy).toEqual(['ap-policy', 'create', 'delegation']);
    expect(after.old).toEqual(['ap-policy', 'create', 'delegation', 'policy']);
  });

  it('leaves a first onboarding as it was (no old access to keep)', () => {
    const steps = [step('policy', 'put-role-policy'), step('create', 'create-access-point')];
    const before = structuredClone(steps);
    expect(orderGrantPolicy(steps, r.id)).toEqual(before);
    expect(steps).toEqual(before);
  });
});

describe('Table: ACCESS_POINT_TOOLS', () => {
  it('refuses none of the tools today; a refused row is a 400 message naming the other modes', () => {
    for (const tool of Object.keys(ACCESS_POINT_TOOLS)) expect(accessPointRefusal(tool as never)).toBeUndefined();
    expect(
      accessPointRefusal('velero', {
        ...ACCESS_POINT_TOOLS,
        velero: { refused: 'it parses ARNs wrongly', source: 's' },
      }),
    ).toBe(
      'tool velero cannot work through an S3 access point (it parses ARNs wrongly; s): use crossAccountMode bucket-policy or role-in-bucket-account',
    );
  });

  it('puts the alias in the bucket field (ARN for Mountpoint) and turns path style off for PBM', () => {
    const ap = { alias: 's3ob-x-abc-s3alias', arn: `arn:aws:s3:eu-west-1:${BUCKET_ACCOUNT}:accesspoint/s3ob-x` };
    const base = { onboardingId: r.id, access: 'read-write' as const, roleArn: r.identity.roleArn };
    const bucket = { name: 'backups', region: 'eu-west-1', prefix: 'p/', accessPoint: ap };
    const eks = { type: 'eks' as const, namespace: 'mongodb', serviceAccounts: ['pbm-agent'], clusters: [] };
    expect(renderSnippets({ ...base, tool: 'pbm', bucket, workload: eks })['pbm-config.yaml']).toMatchInlineSnapshot(`
     "# Percona Backup for MongoDB storage: pbm config --file pbm-config.yaml
     # No credentials on purpose: pbm-agent gets them from its IAM role.
     # bucket is the alias of S3 access point arn:aws:s3:eu-west-1:300000000003:accesspoint/s3ob-x; forcePathStyle false is required.
     storage:
       type: s3
       s3:
         region: eu-west-1
         bucket: s3ob-x-abc-s3alias
         prefix: p
         forcePathStyle: false
     "
    `);
    expect(
      renderSnippets({
        ...base,
        tool: 'mountpoint-s3-csi',
        bucket,
        workload: { ...eks, namespace: 'apps', serviceAccounts: ['a'] },
      })['mountpoint-pv.yaml'],
    ).toContain(`bucketName: ${ap.arn}`);
    expect(
      renderSnippets({
        ...base,
        tool: 'velero',
        bucket,
        workload: { ...eks, namespace: 'velero', serviceAccounts: ['velero'] },
      })['velero-bsl.yaml'],
    ).toContain(`bucket: ${ap.alias}`);
  });
});
