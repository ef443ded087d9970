/**
 * npm run conformance: the service against moto (a second implementation of AWS, written elsewhere).
 *
 * Starts moto_server on a free port with a recording proxy in front of it, seeds the topology there, starts the local
 * stack pointed at it (scripts/stack.ts startEndpointStack), and drives the flows through the HTTP API only: create,
 * repeat (zero writes), GET, verify, dry run (zero writes), DELETE (twice). Every AWS call must succeed (a read may
 * answer "not found"), and every policy document the service sends must pass moto's policy grammar. Moto does not
 * authorise calls: this is about wire compatibility and policy grammar, not permissions.
 */
import './lib/env';
import { GetRoleCommand } from '@aws-sdk/client-iam';
import { GetBucketPolicyCommand } from '@aws-sdk/client-s3';
import type { Topology } from '../emulator/topology';
import { rootClients } from '../scripts/aws-endpoint';
import { startEndpointStack, type EndpointStack } from '../scripts/stack';
import { api, expectStatus } from './lib/api';
import { loadModels } from './lib/aws-models';
import { startMoto } from './lib/processes';
import { runPython } from './lib/python';
import { startRecorder, type RecordedCall, type Recorder } from './lib/recorder';
import { Checks, main, skippedCheck } from './lib/report';
import { checksTopology } from './lib/topology';
import { pythonPackageDir, pythonWith, which } from './lib/tools';
import { serviceOperations } from './operations';

const TITLE = 'conformance (the service against moto)';

/** Answers, not failures: a read finding nothing is how the service learns what to create. */
const NOT_FOUND = new Set([
  'NoSuchEntity',
  // Service Quotas without an applied value for a quota (moto knows only vpc's): the service uses AWS's default
  'NoSuchResourceException',
  'NoSuchBucketPolicy',
  'NoSuchKey',
  'NotFound',
  'ResourceNotFoundException',
  'NotFoundException',
  '404',
]);

interface Flow {
  name: string;
  request(t: Topology): Record<string, unknown>;
}

const cluster = (t: Topology, name: string) => {
  const c = t.clusters.find((x) => x.name === name)!;
  return { name: c.name, accountId: c.accountId, region: c.region };
};
const bucket = (t: Topology, name: string, extra: Record<string, unknown> = {}) => {
  const b = t.buckets.find((x) => x.name === name)!;
  return { name: b.name, accountId: b.accountId, region: b.region, ...extra };
};

export const FLOWS: Flow[] = [
  {
    name: 'same account',
    request: (t) => ({
      workload: { type: 'eks', clusters: [cluster(t, 'demo')], namespace: 'conf-same', serviceAccounts: ['pbm-agent'] },
      bucket: bucket(t, 'workload-local-backups', { prefix: 'conformance/same/' }),
      tool: 'pbm',
      tags: { ticket: 'CONF-1' },
    }),
  },
  {
    name: 'cross account, bucket policy',
    request: (t) => ({
      workload: { type: 'eks', clusters: [cluster(t, 'demo')], namespace: 'conf-bp', serviceAccounts: ['pbm-agent'] },
      bucket: bucket(t, 'demo-backups', { prefix: 'conformance/bucket-policy/' }),
      tool: 'pbm',
      crossAccountMode: 'bucket-policy',
    }),
  },
  {
    name: 'cross account, role in bucket account',
    request: (t) => ({
      workload: { type: 'eks', clusters: [cluster(t, 'demo')], namespace: 'conf-rba' },
      bucket: bucket(t, 'demo-backups', { prefix: 'conformance/role-in-bucket-account/' }),
      tool: 'velero',
      crossAccountMode: 'role-in-bucket-account',
    }),
  },
  {
    name: 'two clusters',
    request: (t) => ({
      workload: { type: 'eks', clusters: [cluster(t, 'demo'), cluster(t, 'restore')], namespace: 'conf-two' },
      bucket: bucket(t, 'demo-backups', { prefix: 'conformance/two-clusters/' }),
      tool: 'psmdb-operator',
    }),
  },
  {
    name: 'ec2',
    request: (t) => ({
      workload: {
        type: 'ec2',
        instanceRoleArn: `arn:aws:iam::${t.roles[0].accountId}:role${t.roles[0].path}${t.roles[0].name}`,
      },
      bucket: bucket(t, 'shared-backups', { prefix: 'conformance/ec2/' }),
      tool: 'generic',
    }),
  },
  {
    name: 'SSE-KMS',
    request: (t) => {
      const b = t.buckets.find((x) => x.kmsKeyArn)!;
      return {
        workload: {
          type: 'eks',
          clusters: [cluster(t, 'demo')],
          namespace: 'conf-kms',
          serviceAccounts: ['pg-main-patroni'],
        },
        bucket: bucket(t, b.name, { prefix: 'conformance/kms/', kmsKeyArn: b.kmsKeyArn }),
        tool: 'stackgres',
      };
    },
  },
];

const describeCall = (c: RecordedCall) =>
  `${c.service}:${c.operation} ${c.status}${c.errorCode ? ` ${c.errorCode}` : ''}`;

/** Fails on any call that did not succeed, except reads answering "not found". */
function assertCallsSucceeded(calls: RecordedCall[]): void {
  const bad = calls.filter((c) => c.status >= 300 && !(NOT_FOUND.has(c.errorCode ?? '') && !c.write));
  if (bad.length) throw new Error(`AWS calls that failed against moto:\n${bad.map(describeCall).join('\n')}`);
}

function summary(calls: RecordedCall[]): string {
  const writes = calls.filter((c) => c.write);
  return `${calls.length} AWS calls, ${writes.length} writes${writes.length ? ` (${writes.map((c) => `${c.service}:${c.operation}`).join(', ')})` : ''}`;
}

async function run(): Promise<void> {
  const motoServer = which('moto_server');
  if (!motoServer) return skippedCheck(TITLE, 'moto_server');
  const python = pythonWith('moto');
  if (!python) return skippedCheck(TITLE, 'moto (Python package)');
  const checks = new Checks(TITLE);
  const models = loadModels(pythonPackageDir(python, 'botocore'), [
    'iam',
    'sts',
    's3',
    's3control',
    'eks',
    'kms',
    'events',
    'servicequotas',
  ]);
  const moto = await startMoto(motoServer);
  let recorder: Recorder | undefined;
  let stack: EndpointStack | undefined;
  try {
    recorder = await startRecorder(moto.url, models);
    const rec = recorder;
    stack = await startEndpointStack({ awsEndpoint: rec.url, topology: checksTopology() });
    const t = stack.topology;
    checks.note(`moto_server ${moto.url}, recorded through ${rec.url}; local API ${stack.apiUrl}`);
    const seedFailures = rec.calls.filter((c) => c.status >= 300);
    if (seedFailures.length) throw new Error(`seeding moto failed: ${seedFailures.map(describeCall).join(', ')}`);
    rec.clear();
    const client = api(stack.apiUrl);
    const root = (accountId: string) => rootClients(moto.url, accountId);
    const seen: RecordedCall[] = [];
    /** Runs one API call and returns the AWS calls it made. */
    const observe = async <T>(fn: () => Promise<T>): Promise<{ out: T; calls: RecordedCall[] }> => {
      rec.clear();
      const out = await fn();
      const calls = [...rec.calls];
      seen.push(...calls);
      return { out, calls };
    };
    const validate = async (calls: RecordedCall[]): Promise<number> => {
      const docs = calls.flatMap((c) => c.documents);
      if (!docs.length) return 0;
      const results = await runPython<{ ok: boolean; error: string | null }[]>(python, 'moto_validate.py', docs);
      const bad = results.map((r, i) => ({ ...r, doc: docs[i] })).filter((r) => !r.ok);
      if (bad.length)
        throw new Error(
          `documents moto's policy grammar rejects:\n${bad.map((b) => `${b.doc.where} (${b.doc.kind}): ${b.error}\n${b.doc.text}`).join('\n')}`,
        );
      return docs.length;
    };

    const created = new Map<string, { id: string; roleArns: string[]; request: Record<string, unknown> }>();
    for (const flow of FLOWS) {
      await checks.test(`create: ${flow.name}`, async () => {
        const request = flow.request(t);
        const { out, calls } = await observe(() => client.onboard(request));
        expectStatus(out, 201);
        if (out.body.status !== 'provisioned') throw new Error(`status ${out.body.status}, expected provisioned`);
        assertCallsSucceeded(calls);
        if (!calls.some((c) => c.write)) throw new Error('201 but no AWS write');
        const documents = await validate(calls);
        const roleArns: string[] = (out.body.roles ?? []).map((r: { arn: string }) => r.arn);
        for (const arn of roleArns) {
          // the role is really there, in the account its ARN names
          await root(arn.split(':')[4]).iam.send(new GetRoleCommand({ RoleName: arn.split('/').pop()! }));
        }
        created.set(flow.name, { id: out.body.id, roleArns, request });
        return `${summary(calls)}; ${documents} policy documents pass moto's grammar`;
      });
    }
    for (const flow of FLOWS) {
      const c = created.get(flow.name);
      if (!c) {
        checks.skip(`repeat: ${flow.name}`, 'create failed');
        continue;
      }
      await checks.test(`repeat (zero writes): ${flow.name}`, async () => {
        const { out, calls } = await observe(() => client.onboard(c.request));
        expectStatus(out, 200);
        if (out.body.id !== c.id) throw new Error(`another id: ${out.body.id} vs ${c.id}`);
        assertCallsSucceeded(calls);
        const writes = calls.filter((x) => x.write);
        if (writes.length) throw new Error(`a repeat wrote: ${writes.map(describeCall).join(', ')}`);
        return summary(calls);
      });
      await checks.test(`GET and verify: ${flow.name}`, async () => {
        const got = await client.get(c.id);
        expectStatus(got, 200);
        const { out, calls } = await observe(() => client.verify(c.id));
        expectStatus(out, 200);
        assertCallsSucceeded(calls);
        if (calls.some((x) => x.write)) throw new Error('verify wrote');
        if (out.body.ok !== true)
          throw new Error(`verify is not ok: ${JSON.stringify(out.body.checks.filter((k: { ok: boolean }) => !k.ok))}`);
        return `${summary(calls)}; ${out.body.checks.length} checks ok`;
      });
    }
    await checks.test('dry run (zero writes)', async () => {
      const base = FLOWS[1].request(t);
      const request = { ...base, workload: { ...(base.workload as object), namespace: 'conf-dry' }, dryRun: true };
      const { out, calls } = await observe(() => client.onboard(request));
      expectStatus(out, 200);
      if (out.body.status !== 'planned') throw new Error(`status ${out.body.status}, expected planned`);
      if (!out.body.changes?.length) throw new Error('a dry run of a new onboarding plans no change');
      assertCallsSucceeded(calls);
      const writes = calls.filter((x) => x.write);
      if (writes.length) throw new Error(`a dry run wrote: ${writes.map(describeCall).join(', ')}`);
      return `${summary(calls)}; ${out.body.changes.length} changes planned`;
    });
    for (const flow of FLOWS) {
      const c = created.get(flow.name);
      if (!c) {
        checks.skip(`DELETE: ${flow.name}`, 'create failed');
        continue;
      }
      await checks.test(`DELETE: ${flow.name}`, async () => {
        const { out, calls } = await observe(() => client.remove(c.id));
        expectStatus(out, 200, 204);
        assertCallsSucceeded(calls);
        for (const arn of c.roleArns) {
          const gone = await root(arn.split(':')[4])
            .iam.send(new GetRoleCommand({ RoleName: arn.split('/').pop()! }))
            .then(
              () => false,
              (e: Error) => e.name === 'NoSuchEntityException',
            );
          if (!gone) throw new Error(`role ${arn} is still there`);
        }
        const b = c.request.bucket as { name: string; accountId: string; region: string };
        const policy = await root(b.accountId)
          .s3.send(new GetBucketPolicyCommand({ Bucket: b.name }))
          .then(
            (p) => p.Policy ?? '',
            () => '',
          );
        for (const arn of c.roleArns)
          if (policy.includes(arn)) throw new Error(`the bucket policy of ${b.name} still names ${arn}`);
        const again = await observe(() => client.remove(c.id));
        if (again.out.status >= 500) throw new Error(`a second DELETE answered ${again.out.status}: ${again.out.text}`);
        assertCallsSucceeded(again.calls);
        return `${summary(calls)}; a second DELETE answered ${again.out.status}`;
      });
    }
    await checks.test('every operation called against moto is in the list read from the code', () => {
      const inCode = new Set(serviceOperations().map((o) => `${o.service}:${o.operation}`));
      const called = [...new Set(seen.map((c) => `${c.service}:${c.operation}`))].sort();
      const unknown = called.filter((k) => !inCode.has(k));
      if (unknown.length) throw new Error(`called but not found in the code: ${unknown.join(', ')}`);
      return `${called.length} distinct operations called: ${called.join(', ')}`;
    });
  } finally {
    await stack?.close();
    await recorder?.close();
    await moto.stop();
  }
  checks.finish();
}

main(TITLE, run);
