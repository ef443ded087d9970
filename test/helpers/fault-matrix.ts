import {
  GetRolePolicyCommand,
  ListOpenIDConnectProvidersCommand,
  ListRolePoliciesCommand,
  ListRolesCommand,
  PutRolePolicyCommand,
  UpdateAssumeRolePolicyCommand,
} from '@aws-sdk/client-iam';
import { GetBucketPolicyCommand, PutBucketPolicyCommand } from '@aws-sdk/client-s3';
import { GetKeyPolicyCommand, ListGrantsCommand, RevokeGrantCommand } from '@aws-sdk/client-kms';
import {
  DeleteAccessPointPolicyCommand,
  GetAccessPointPolicyCommand,
  ListAccessPointsCommand,
  ListTagsForResourceCommand,
} from '@aws-sdk/client-s3-control';
import type { Stack } from '../../scripts/stack';
import type { CallRecord } from '../../emulator/state';
import { BACKUPS, PLATFORM, WORKLOADS, rootCredentials } from './emulator';
import { clients, useTestStack, type TestStack } from './stack';

/**
 * The fault matrix (issue 11): every write and remove action of every flow, in each phase (create, converge,
 * DELETE), under each fault mode (fails once, throttled twice, slower than the lease). Each case must end
 * converged after retries, leave nothing orphaned (a final inventory of every account equals the one before),
 * and never answer a 4xx after a write (a 4xx leaves the inventory as it was before the request).
 */

export const KEY = 'arn:aws:kms:eu-west-1:300000000003:key/11111111-2222-3333-4444-555555555555';
const INSTANCE_ROLE = `arn:aws:iam::${WORKLOADS}:role/pbm-ec2-instance-role`;
const demo = { name: 'demo', accountId: WORKLOADS, region: 'eu-west-1' };
const restore = { name: 'restore', accountId: WORKLOADS, region: 'eu-west-1' };
const eks = (clusters: object[]) => ({ type: 'eks', clusters, namespace: 'mongodb', serviceAccounts: ['pbm-agent'] });
const backups = (prefix: string, extra: object = {}) => ({
  name: 'demo-backups',
  accountId: BACKUPS,
  region: 'eu-west-1',
  prefix,
  ...extra,
});

export const FLOWS: { name: string; body: Record<string, unknown> }[] = [
  {
    name: 'same account',
    body: {
      workload: eks([demo]),
      bucket: { name: 'workload-local-backups', region: 'eu-west-1', prefix: 'fm/' },
      tool: 'pbm',
    },
  },
  { name: 'bucket-policy', body: { workload: eks([demo]), bucket: backups('fm/'), tool: 'pbm' } },
  {
    name: 'role-in-bucket-account',
    body: { workload: eks([demo]), bucket: backups('fm/'), tool: 'pbm', crossAccountMode: 'role-in-bucket-account' },
  },
  { name: 'two clusters', body: { workload: eks([demo, restore]), bucket: backups('fm/'), tool: 'pbm' } },
  {
    name: 'ec2',
    body: { workload: { type: 'ec2', instanceRoleArn: INSTANCE_ROLE }, bucket: backups('fm/'), tool: 'pbm' },
  },
  {
    name: 'access-point',
    body: { workload: eks([demo]), bucket: backups('fm/'), tool: 'pbm', crossAccountMode: 'access-point' },
  },
  {
    name: 'kms',
    body: {
      workload: eks([demo]),
      bucket: {
        name: 'demo-encrypted-backups',
        accountId: BACKUPS,
        region: 'eu-west-1',
        prefix: 'fm/',
        kmsKeyArn: KEY,
      },
      tool: 'pbm',
    },
  },
];

export type Phase = 'create' | 'converge' | 'delete';
export type Mode = 'fails once' | 'throttled twice' | 'slower than the lease';
export const MODES: Mode[] = ['fails once', 'throttled twice', 'slower than the lease'];
/** the leases the matrix's stack runs with (LOCK_LEASE_MS, POLICY_LEASE_MS), so a slow call outlives them */
export const LEASE_MS = 250;

const ACCOUNTS = [PLATFORM, WORKLOADS, BACKUPS];
const text = async (p: Promise<{ Policy?: string }>) =>
  p.then(
    (o) => o.Policy ?? '',
    (e: Error) => `(${e.name})`,
  );

/** Everything the service could have written, in every account, as comparable text. */
export async function inventory(stack: Stack): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const account of ACCOUNTS) {
    const c = clients(stack, rootCredentials(account));
    out[`${account} roles`] = ((await c.iam.send(new ListRolesCommand({ PathPrefix: '/s3-onboarding/' }))).Roles ?? [])
      .map((r) => r.RoleName)
      .sort();
    out[`${account} providers`] = (
      (await c.iam.send(new ListOpenIDConnectProvidersCommand({}))).OpenIDConnectProviderList ?? []
    )
      .map((p) => p.Arn)
      .sort();
  }
  const w = clients(stack, rootCredentials(WORKLOADS));
  out['instance role policies'] = (
    await w.iam.send(new ListRolePoliciesCommand({ RoleName: 'pbm-ec2-instance-role' }))
  ).PolicyNames;
  const b = clients(stack, rootCredentials(BACKUPS));
  for (const bucket of ['demo-backups', 'demo-encrypted-backups'])
    out[`policy of ${bucket}`] = await text(b.s3.send(new GetBucketPolicyCommand({ Bucket: bucket })));
  out['policy of workload-local-backups'] = await text(
    w.s3.send(new GetBucketPolicyCommand({ Bucket: 'workload-local-backups' })),
  );
  out['key policy'] = await text(b.kms.send(new GetKeyPolicyCommand({ KeyId: KEY, PolicyName: 'default' })));
  // every grant on the key (the key's owner may list them all; the service lists only a grantee's)
  out['key grants'] = ((await b.kms.send(new ListGrantsCommand({ KeyId: KEY, Limit: 100 }))).Grants ?? [])
    .map((g) => `${g.Name} ${g.GranteePrincipal} ${(g.Operations ?? []).join(',')}`)
    .sort();
  // access points of the bucket account: each with its tags and policy
  const aps = (await b.s3control.send(new ListAccessPointsCommand({ AccountId: BACKUPS }))).AccessPointList ?? [];
  out['access points'] = await Promise.all(
    aps.map(async (a) => ({
      name: a.Name,
      bucket: a.Bucket,
      tags: (
        await b.s3control.send(new ListTagsForResourceCommand({ AccountId: BACKUPS, ResourceArn: a.AccessPointArn }))
      ).Tags,
      policy: await text(b.s3control.send(new GetAccessPointPolicyCommand({ AccountId: BACKUPS, Name: a.Name }))),
    })),
  );
  return out;
}

/** Drift in everything an onboarding of this flow owns, so that converging it writes each of them again. */
export async function drift(
  stack: Stack,
  created: {
    roleArn: string;
    id: string;
    policies: {
      bucketPolicyStatements: { Sid: string }[];
      keyGrants?: { name: string; granteePrincipal: string }[];
      accessPoint?: { name: string };
    };
  },
): Promise<void> {
  const roleName = created.roleArn.split('/').pop()!;
  const roleAccount = created.roleArn.split(':')[4];
  const c = clients(stack, rootCredentials(roleAccount));
  const narrow = JSON.stringify({
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::nowhere/*' }],
  });
  await c.iam.send(
    new PutRolePolicyCommand({ RoleName: roleName, PolicyName: `s3-onboarding-${created.id}`, PolicyDocument: narrow }),
  );
  await c.iam.send(
    new PutRolePolicyCommand({ RoleName: roleName, PolicyName: 'added-by-hand', PolicyDocument: narrow }),
  );
  const trust = await c.iam.send(new (await import('@aws-sdk/client-iam')).GetRoleCommand({ RoleName: roleName }));
  const doc = JSON.parse(decodeURIComponent(trust.Role!.AssumeRolePolicyDocument!));
  await c.iam.send(
    new UpdateAssumeRolePolicyCommand({
      RoleName: roleName,
      PolicyDocument: JSON.stringify({ ...doc, Statement: doc.Statement.slice(0, 1) }),
    }),
  );
  const b = clients(stack, rootCredentials(BACKUPS));
  const ours = new Set(
    [
      ...created.policies.bucketPolicyStatements,
      // access-point mode: the bucket's delegation, and the access point's own policy
      ...(created.policies.accessPoint ? [{ Sid: 'S3OnboardingAccessPoints' }] : []),
    ].map((s) => s.Sid),
  );
  if (created.policies.accessPoint)
    await b.s3control.send(
      new DeleteAccessPointPolicyCommand({ AccountId: BACKUPS, Name: created.policies.accessPoint.name }),
    );
  for (const bucket of ['demo-backups', 'demo-encrypted-backups']) {
    const policy = await text(b.s3.send(new GetBucketPolicyCommand({ Bucket: bucket })));
    if (!policy.startsWith('{')) continue;
    const parsed = JSON.parse(policy);
    const rest = parsed.Statement.filter((s: { Sid?: string }) => !ours.has(s.Sid ?? ''));
    if (rest.length !== parsed.Statement.length && rest.length)
      await b.s3.send(
        new PutBucketPolicyCommand({ Bucket: bucket, Policy: JSON.stringify({ ...parsed, Statement: rest }) }),
      );
  }
  // the key's owner revokes the onboarding's grant: converging makes it again
  for (const g of created.policies.keyGrants ?? []) {
    const found = (await b.kms.send(new ListGrantsCommand({ KeyId: KEY, GranteePrincipal: g.granteePrincipal })))
      .Grants!;
    for (const x of found.filter((f) => f.Name === g.name))
      await b.kms.send(new RevokeGrantCommand({ KeyId: KEY, GrantId: x.GrantId! }));
  }
  const w = clients(stack, rootCredentials(WORKLOADS));
  const grant = await w.iam
    .send(
      new GetRolePolicyCommand({ RoleName: 'pbm-ec2-instance-role', PolicyName: `s3-onboarding-assume-${roleName}` }),
    )
    .catch(() => undefined);
  if (grant)
    await w.iam.send(
      new PutRolePolicyCommand({
        RoleName: 'pbm-ec2-instance-role',
        PolicyName: `s3-onboarding-assume-${roleName}`,
        PolicyDocument: narrow,
      }),
    );
}

export const writeOps = (calls: CallRecord[]) => [
  ...new Map(
    calls
      .filter((c) => c.write && c.service !== 'sts')
      .map((c) => [`${c.service}:${c.operation}`, { service: c.service, operation: c.operation }]),
  ).values(),
];

export interface CaseResult {
  first: number;
  retries: number[];
  verify?: boolean;
}

/**
 * One case: set the phase up, inject the fault, run the phase's request (and, for a slow call, a duplicate while
 * the lease has run out), then retry until it succeeds and check what must hold.
 */
export async function runCase(
  t: TestStack,
  flow: (typeof FLOWS)[number],
  phase: Phase,
  op: { service: string; operation: string },
  mode: Mode,
): Promise<CaseResult> {
  const { api, admin, stack } = t;
  const baseline = await inventory(stack);
  let id = '';
  const run = async () => {
    if (phase === 'delete') return api.send('DELETE', `/v1/onboardings/${id}`);
    return api.onboard(flow.body);
  };
  if (phase !== 'create') {
    const created = await api.onboard(flow.body);
    if (created.status !== 201)
      throw new Error(`set-up of ${flow.name} failed: ${created.status} ${JSON.stringify(created.body)}`);
    id = created.body.id;
    if (phase === 'converge') await drift(stack, created.body);
  }
  const before = await inventory(stack);
  await admin.clearCalls();
  if (mode === 'fails once')
    await admin.fault({
      service: op.service,
      operation: op.operation,
      errorCode: 'AccessDenied',
      httpStatus: 403,
      count: 1,
    });
  if (mode === 'throttled twice')
    await admin.fault({
      service: op.service,
      operation: op.operation,
      errorCode:
        op.service === 'iam' || op.service === 'sts'
          ? 'Throttling'
          : op.service === 's3' || op.service === 's3control'
            ? 'SlowDown'
            : 'ThrottlingException',
      httpStatus: op.service === 's3' || op.service === 's3control' ? 503 : 400,
      count: 2,
    });
  if (mode === 'slower than the lease')
    await admin.fault({ service: op.service, operation: op.operation, delayMs: LEASE_MS * 2, count: 1 });

  const responses = [run()];
  // while the slow call outlives its lease, the same request again: it may take the lease the first one lost
  if (mode === 'slower than the lease') {
    await new Promise((r) => setTimeout(r, LEASE_MS * 1.3));
    responses.push(run());
  }
  const settled = await Promise.all(responses);
  const first = settled[0].status;
  await admin.clearFaults();
  // a 4xx leaves everything as it was before the request (when requests overlap, only if none of them wrote)
  if (settled.every((r) => r.status >= 400 && r.status < 500)) {
    const after = await inventory(stack);
    if (JSON.stringify(after) !== JSON.stringify(before))
      throw new Error(
        `${settled.map((r) => r.status)} after a write: ${JSON.stringify(settled.map((r) => r.body))}\nbefore ${JSON.stringify(before)}\nafter  ${JSON.stringify(after)}`,
      );
  }
  // retries converge
  const retries: number[] = [];
  for (let i = 0; i < 4; i++) {
    const r = await run();
    retries.push(r.status);
    if (phase !== 'delete' && (r.status === 200 || r.status === 201)) {
      id = r.body.id;
      if (r.status === 200) break;
    }
    if (phase === 'delete' && r.status === 200) break;
  }
  const result: CaseResult = { first, retries };
  if (phase === 'delete') {
    if ((await api.send('GET', `/v1/onboardings/${id}`)).status !== 404)
      throw new Error('the onboarding is still there after DELETE');
  } else {
    const v = await api.send('POST', `/v1/onboardings/${id}/verify`);
    result.verify = v.body.ok;
    if (!v.body.ok)
      throw new Error(`not converged: ${JSON.stringify(v.body.checks.filter((c: { ok: boolean }) => !c.ok))}`);
    const del = await api.send('DELETE', `/v1/onboardings/${id}`);
    if (del.status !== 200) throw new Error(`DELETE after convergence: ${del.status} ${JSON.stringify(del.body)}`);
  }
  // nothing orphaned: every account as it was before the onboarding existed
  const end = await inventory(stack);
  if (JSON.stringify(end) !== JSON.stringify(baseline))
    throw new Error(`orphaned state\nbaseline ${JSON.stringify(baseline)}\nend      ${JSON.stringify(end)}`);
  return result;
}

/**
 * The suite of one phase: for each flow, the writes a clean run makes (read from its call log), then every write ×
 * every mode. One file per phase, so jest runs the phases side by side.
 */
export function faultMatrixSuite(phase: Phase): void {
  process.env.LOCK_LEASE_MS = String(LEASE_MS);
  process.env.POLICY_LEASE_MS = String(LEASE_MS);
  let t: TestStack;
  useTestStack((x) => (t = x), { resetEach: true });
  afterAll(() => {
    delete process.env.LOCK_LEASE_MS;
    delete process.env.POLICY_LEASE_MS;
  });

  describe.each(FLOWS)(`fault matrix, ${phase}: $name`, (flow) => {
    it('ends converged, orphans nothing and never answers 4xx after a write, whichever write fails, is throttled or outlives its lease', async () => {
      if (phase === 'create') {
        await t.admin.clearCalls();
        expect((await t.api.onboard(flow.body)).status).toBe(201);
      } else {
        const created = await t.api.onboard(flow.body);
        if (phase === 'converge') await drift(t.stack, created.body);
        await t.admin.clearCalls();
        const res =
          phase === 'delete'
            ? await t.api.send('DELETE', `/v1/onboardings/${created.body.id}`)
            : await t.api.onboard(flow.body);
        expect(res.status).toBeLessThan(300);
      }
      const ops = writeOps(await t.admin.calls());
      expect(ops.length).toBeGreaterThan(0);
      const results: string[] = [];
      for (const op of ops) {
        for (const mode of MODES) {
          await t.admin.reset();
          await t.admin.clearFaults();
          const r = await runCase(t, flow, phase, op, mode).catch((e: Error) => {
            throw new Error(`${flow.name} / ${phase} / ${op.service}:${op.operation} / ${mode}: ${e.message}`);
          });
          results.push(`${op.service}:${op.operation} ${mode}: ${r.first} then ${r.retries.join(',')}`);
        }
      }
      matrixLog.push(`${phase} / ${flow.name}: ${results.length} cases\n  ${results.join('\n  ')}`);
    }, 240_000);
  });

  afterAll(() => {
    // the matrix's size and outcome, for the record (once per phase, when asked: a passing run prints nothing)
    if (process.env.FAULT_MATRIX_REPORT)
      process.stdout.write(
        `fault matrix, ${phase}: ${matrixLog.reduce((n, l) => n + Number(/: (\d+) cases/.exec(l)?.[1] ?? 0), 0)} cases\n${matrixLog.join('\n')}\n`,
      );
  });
}

const matrixLog: string[] = [];
