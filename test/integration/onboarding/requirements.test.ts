import type { Stack } from '../../../scripts/stack';
import { BACKUPS, WORKLOADS } from '../../helpers/emulator';
import { useTestStack, writes, type TestStack } from '../../helpers/stack';
import { validateSnippet } from '../../helpers/schemas';

/**
 * Issue 18: every answer (POST, dry run, GET) carries the requirements of its snippets, and `versions` below them,
 * unknown or malformed is a 400 naming the field with nothing written.
 */

let stack: Stack;
let api: TestStack['api'];
let admin: TestStack['admin'];
useTestStack((t) => ({ stack, api, admin } = t), { resetEach: true });

const demo = { name: 'demo', accountId: WORKLOADS, region: 'eu-west-1' };
const backups = (prefix: string) => ({ name: 'demo-backups', accountId: BACKUPS, region: 'eu-west-1', prefix });
const stackgres = (identity: 'irsa' | 'pod-identity', over: Record<string, unknown> = {}) => ({
  workload: { type: 'eks', clusters: [demo], namespace: 'db', serviceAccounts: ['main-patroni'], identity },
  bucket: backups('sg/'),
  tool: 'stackgres',
  ...over,
});
const pbmEc2 = (over: Record<string, unknown> = {}) => ({
  workload: { type: 'ec2', instanceRoleArn: `arn:aws:iam::${WORKLOADS}:role/pbm-ec2-instance-role` },
  bucket: backups('ec2/'),
  tool: 'pbm',
  ...over,
});
const minimums = (body: { requirements: { component: string; minimumVersion: string }[] }) =>
  body.requirements.map((r) => `${r.component}@${r.minimumVersion}`);

describe('requirements in every answer', () => {
  it('POST, dry run and GET of a StackGres onboarding with EKS Pod Identity name StackGres 1.18.3 and WAL-G 3.0.4 with their sources', async () => {
    const planned = await api.onboard({ ...stackgres('pod-identity'), dryRun: true });
    expect(planned.status).toBe(200);
    expect(minimums(planned.body)).toEqual(['stackgres@1.18.3', 'wal-g@3.0.4']);
    const created = await api.onboard(stackgres('pod-identity'));
    expect(created.status).toBe(201);
    expect(created.body.requirements).toEqual(planned.body.requirements);
    expect(created.body.requirements[0]).toEqual({
      component: 'stackgres',
      minimumVersion: '1.18.3',
      why: expect.stringContaining('NullPointerException'),
      source: expect.stringMatching(
        /^ongres\/stackgres@1\.18\.3:stackgres-k8s\/src\/operator\/.*\/BackupEnvVarFactory\.java:\d+$/,
      ),
    });
    const got = await api.send('GET', `/v1/onboardings/${created.body.id}`);
    expect(got.body.requirements).toEqual(created.body.requirements);
    // a repeat that changes nothing answers them too
    expect((await api.onboard(stackgres('pod-identity'))).body.requirements).toEqual(created.body.requirements);
    const listed = await api.send('GET', '/v1/onboardings?bucket=demo-backups');
    expect(listed.body.items[0].requirements).toEqual(created.body.requirements);
  });

  it('PBM on EC2 names PBM 2.10.0 (the shared-config profile); the same tool with IRSA names nothing', async () => {
    expect(minimums((await api.onboard({ ...pbmEc2(), dryRun: true })).body)).toEqual([
      'percona-backup-mongodb@2.10.0',
    ]);
    const irsa = await api.onboard({
      workload: { type: 'eks', clusters: [demo], namespace: 'mongodb', serviceAccounts: ['pbm-agent'] },
      bucket: backups('irsa/'),
      tool: 'pbm',
      dryRun: true,
    });
    expect(irsa.body.requirements).toEqual([]);
  });

  it('Mountpoint: pod-level IRSA needs 1.9.0, driver-level IRSA nothing, EKS Pod Identity 2.0.0', async () => {
    const mp = (workload: Record<string, unknown>) =>
      api.onboard({
        workload: { type: 'eks', clusters: [demo], ...workload },
        bucket: backups('mp/'),
        tool: 'mountpoint-s3-csi',
        access: 'read-only',
        dryRun: true,
      });
    expect(minimums((await mp({ namespace: 'apps', serviceAccounts: ['reader'] })).body)).toEqual([
      'aws-mountpoint-s3-csi-driver@1.9.0',
    ]);
    expect((await mp({ namespace: 'kube-system', claimNamespace: 'apps' })).body.requirements).toEqual([]);
    expect(
      minimums((await mp({ namespace: 'apps', serviceAccounts: ['reader'], identity: 'pod-identity' })).body),
    ).toEqual(['aws-mountpoint-s3-csi-driver@2.0.0']);
  });
});

describe("the snippets say the same in words, and still validate against the tools' schemas", () => {
  const valid = (snippets: Record<string, string>, podIdentity = false) => {
    for (const [file, text] of Object.entries(snippets))
      expect([file, validateSnippet(file, text, { podIdentity })]).toEqual([file, []]);
  };

  it('aws-config and pbm-agent.env of PBM on EC2 name PBM 2.10.0 and the line it was read from', async () => {
    const res = await api.onboard({ ...pbmEc2(), dryRun: true });
    for (const file of ['aws-config', 'pbm-agent.env', 'pbm-config.yaml']) {
      // the comment is wrapped: read it as one sentence
      expect(res.body.snippets[file].replace(/\n# /g, ' ')).toMatch(
        /^# Requires percona-backup-mongodb 2\.10\.0 or later: [^]*source: percona\/percona-backup-mongodb@v2\.10\.0:pbm\/storage\/s3\/s3\.go:\d+\)/m,
      );
    }
    valid(res.body.snippets);
  });

  it('StackGres with EKS Pod Identity: sgobjectstorage.yaml names StackGres 1.18.3 and WAL-G 3.0.4; pod-identity.md lists every requirement', async () => {
    const res = await api.onboard({ ...stackgres('pod-identity'), dryRun: true });
    const sg = res.body.snippets['sgobjectstorage.yaml'];
    expect(sg).toContain('# Requires wal-g 3.0.4 or later');
    expect(sg).toContain('# Requires StackGres 1.18.3 or later');
    expect(sg).not.toContain('1.18.0 or later');
    const notes = res.body.snippets['pod-identity.md'];
    expect(notes).toContain('## Versions these files need');
    for (const r of res.body.requirements)
      expect(notes).toContain(`Requires ${r.component} ${r.minimumVersion} or later`);
    valid(res.body.snippets, true);
  });

  it('Velero with EKS Pod Identity (Helm): the BSL and the values name Velero 1.14.0 and the plugin 1.10.0; Mountpoint names its driver', async () => {
    const velero = await api.onboard({
      workload: {
        type: 'eks',
        clusters: [demo],
        namespace: 'velero',
        identity: 'pod-identity',
        velero: { installMethod: 'helm', helmReleaseName: 'backup' },
      },
      bucket: backups('velero/'),
      tool: 'velero',
      dryRun: true,
    });
    for (const file of ['velero-bsl.yaml', 'velero-values.yaml']) {
      expect(velero.body.snippets[file]).toContain('# Requires velero 1.14.0 or later');
      expect(velero.body.snippets[file]).toContain('# Requires velero-plugin-for-aws 1.10.0 or later');
    }
    valid(velero.body.snippets, true);
    const mp = await api.onboard({
      workload: { type: 'eks', clusters: [demo], namespace: 'apps', serviceAccounts: ['reader'] },
      bucket: backups('mp/'),
      tool: 'mountpoint-s3-csi',
      dryRun: true,
    });
    expect(mp.body.snippets['mountpoint-pv.yaml']).toMatch(/^# Requires aws-mountpoint-s3-csi-driver 1\.9\.0 or later/);
    valid(mp.body.snippets);
  });
});

describe('versions in the request', () => {
  const refused = async (body: Record<string, unknown>, path: string, message: RegExp) => {
    await admin.clearCalls();
    const res = await api.onboard(body);
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(res.body.errors).toEqual([{ path, message: expect.stringMatching(message) }]);
    expect(await writes(stack)).toEqual([]);
    expect((await api.send('GET', '/v1/onboardings')).body.items).toEqual([]);
  };

  it('a component below its requirement: 400 on versions.<component> naming the minimum and why, nothing written', async () => {
    await refused(
      pbmEc2({ versions: { 'percona-backup-mongodb': '2.9.1' } }),
      'versions.percona-backup-mongodb',
      /2\.9\.1 is below 2\.10\.0.*shared-config profile.*percona\/percona-backup-mongodb@v2\.10\.0:pbm\/storage\/s3\/s3\.go:\d+/,
    );
    await refused(
      stackgres('irsa', { versions: { stackgres: '1.18.2' } }),
      'versions.stackgres',
      /1\.18\.2 is below 1\.18\.3/,
    );
    await refused(
      stackgres('pod-identity', { versions: { stackgres: '1.18.3', 'wal-g': '3.0.3' } }),
      'versions.wal-g',
      /3\.0\.3 is below 3\.0\.4/,
    );
  });

  it('an unknown component, and malformed versions ("2.x", "latest", 200 characters): 400 naming the field, nothing written', async () => {
    await refused(pbmEc2({ versions: { pbm: '2.10.0' } }), 'versions.pbm', /unknown component "pbm"/);
    for (const v of ['2.x', 'latest', '2'.repeat(200)])
      await refused(
        pbmEc2({ versions: { 'percona-backup-mongodb': v } }),
        'versions.percona-backup-mongodb',
        /must be a version MAJOR\.MINOR\.PATCH/,
      );
    await refused(pbmEc2({ versions: { 'percona-backup-mongodb': 2100 } }), 'versions.percona-backup-mongodb', /.+/);
  });

  it('versions at or above the requirements, or of components the request does not need, are accepted', async () => {
    const res = await api.onboard(pbmEc2({ versions: { 'percona-backup-mongodb': 'v2.10.0', velero: '1.0.0' } }));
    expect(res.status).toBe(201);
    expect(minimums(res.body)).toEqual(['percona-backup-mongodb@2.10.0']);
  });
});

describe('Percona operator installs: bundle, Helm (the release names the service account), cluster-wide', () => {
  const psmdb = (psmdbOperator?: Record<string, unknown>, over: Record<string, unknown> = {}) => ({
    workload: { type: 'eks', clusters: [demo], namespace: 'mongodb', ...(psmdbOperator ? { psmdbOperator } : {}) },
    bucket: backups('psmdb/'),
    tool: 'psmdb-operator',
    ...over,
  });
  const subjects = (trust: { Statement: { Condition: { StringEquals: Record<string, string | string[]> } }[] }) =>
    trust.Statement.flatMap((st) =>
      Object.entries(st.Condition.StringEquals)
        .filter(([k]) => k.endsWith(':sub'))
        .flatMap(([, v]) => v),
    );

  it.each([
    ['the bundle (default)', undefined, 'percona-server-mongodb-operator'],
    ['Helm, release my-op', { installMethod: 'helm', helmReleaseName: 'my-op' }, 'my-op-psmdb-operator'],
    [
      'Helm, a release whose name contains the chart name',
      { installMethod: 'helm', helmReleaseName: 'psmdb-operator' },
      'psmdb-operator',
    ],
    ['Helm with fullnameOverride', { installMethod: 'helm', helmReleaseName: 'x', helmFullnameOverride: 'ops' }, 'ops'],
  ] as [string, Record<string, unknown> | undefined, string][])(
    "%s: the operator's service account and default are trusted and annotated",
    async (_what, install, sa) => {
      const res = await api.onboard({ ...psmdb(install), dryRun: true });
      expect(res.status).toBe(200);
      expect(subjects(res.body.policies.trust).sort()).toEqual(
        [`system:serviceaccount:mongodb:${sa}`, 'system:serviceaccount:mongodb:default'].sort(),
      );
      expect(res.body.snippets['serviceaccount.yaml']).toContain(`name: ${sa}\n`);
      expect(res.body.snippets['annotate.sh']).toContain(`-- '${sa}' `);
      expect(validateSnippet('serviceaccount.yaml', res.body.snippets['serviceaccount.yaml'])).toEqual([]);
    },
  );

  it('refuses what it cannot do, naming the field, with nothing written', async () => {
    await admin.clearCalls();
    const cases: [Record<string, unknown>, string, RegExp][] = [
      [psmdb({ installMethod: 'helm' }), 'workload.psmdbOperator.helmReleaseName', /required for a Helm install/],
      [
        psmdb({ namespace: 'psmdb-operator' }),
        'workload.psmdbOperator.namespace',
        /cluster-wide install .* two onboardings .*namespace psmdb-operator and serviceAccounts \[percona-server-mongodb-operator\].*namespace mongodb and serviceAccounts \[default\]/,
      ],
      [
        psmdb({ installMethod: 'bundle', helmReleaseName: 'x' }),
        'workload.psmdbOperator.installMethod',
        /must be helm/,
      ],
      [
        {
          ...psmdb({ installMethod: 'helm', helmReleaseName: 'x' }),
          tool: 'pbm',
          workload: {
            type: 'eks',
            clusters: [demo],
            namespace: 'mongodb',
            serviceAccounts: ['pbm'],
            psmdbOperator: { installMethod: 'helm', helmReleaseName: 'x' },
          },
        },
        'workload.psmdbOperator',
        /only for tool psmdb-operator/,
      ],
    ];
    for (const [body, path, message] of cases) {
      const res = await api.onboard(body);
      expect(res.status).toBe(400);
      expect(res.body.errors).toEqual([{ path, message: expect.stringMatching(message) }]);
    }
    // the same operator namespace as the cluster's is a namespaced install: accepted
    expect((await api.onboard({ ...psmdb({ namespace: 'mongodb' }), dryRun: true })).status).toBe(200);
    expect(await writes(stack)).toEqual([]);
  });
});
