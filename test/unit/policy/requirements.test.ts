import * as fc from 'fast-check';
import {
  COMPONENTS,
  REQUIREMENTS,
  compareVersions,
  parseVersion,
  requirementsFor,
  versionIssues,
  type RequirementContext,
} from '../../../lib/policy/requirements';
import { mountpointCredentialsOf } from '../../../lib/onboarding/model/requirements';
import { mountpointAuthSource } from '../../../lib/snippets/mountpoint';
import { defaultServiceAccounts } from '../../../lib/snippets/defaults';

const ctx = (over: Partial<RequirementContext>): RequirementContext => ({
  tool: 'pbm',
  identity: 'irsa',
  mode: 'same-account',
  access: 'read-write',
  ...over,
});
const minimums = (c: Partial<RequirementContext>) =>
  requirementsFor(ctx(c)).map((r) => `${r.component}@${r.minimumVersion}`);

describe('the requirements table (data)', () => {
  it.each(REQUIREMENTS.map((r) => [`${r.component} ${r.minimumVersion}`, r] as const))(
    '%s: a known component, a version, a why and a source repo@tag:path:line',
    (_name, row) => {
      expect(COMPONENTS).toContain(row.component);
      expect(parseVersion(row.minimumVersion)).toBeDefined();
      expect(row.source).toMatch(/^[\w.-]+\/[\w.-]+@v?\d+\.\d+\.\d+:[\w./-]+\.\w+:\d+$/);
      expect(row.why.length).toBeGreaterThan(40);
      expect(row.notes.length).toBeGreaterThan(20);
      expect(row.tools.length).toBeGreaterThan(0);
      expect(row.identities.length).toBeGreaterThan(0);
    },
  );

  it.each([
    [
      'pbm on ec2: the shared-config profile needs PBM 2.10.0',
      { tool: 'pbm', identity: 'ec2' },
      ['percona-backup-mongodb@2.10.0'],
    ],
    ['pbm with EKS Pod Identity', { tool: 'pbm', identity: 'pod-identity' }, ['percona-backup-mongodb@2.7.0']],
    ['pbm with IRSA: nothing', { tool: 'pbm', identity: 'irsa' }, []],
    [
      'psmdb-operator with EKS Pod Identity, in every mode',
      { tool: 'psmdb-operator', identity: 'pod-identity', mode: 'role-in-bucket-account' },
      ['percona-backup-mongodb@2.7.0', 'percona-server-mongodb-operator@1.18.0'],
    ],
    ['psmdb-operator with IRSA: nothing', { tool: 'psmdb-operator', identity: 'irsa', mode: 'bucket-policy' }, []],
    [
      'velero with EKS Pod Identity',
      { tool: 'velero', identity: 'pod-identity', access: 'restore' },
      ['velero@1.14.0', 'velero-plugin-for-aws@1.10.0'],
    ],
    ['velero with IRSA: nothing', { tool: 'velero', identity: 'irsa' }, []],
    [
      'mountpoint, pod-level IRSA',
      { tool: 'mountpoint-s3-csi', identity: 'irsa', mountpointCredentials: 'pod' },
      ['aws-mountpoint-s3-csi-driver@1.9.0'],
    ],
    [
      'mountpoint, driver-level IRSA: nothing',
      { tool: 'mountpoint-s3-csi', identity: 'irsa', mountpointCredentials: 'driver' },
      [],
    ],
    [
      'mountpoint, EKS Pod Identity (driver level)',
      { tool: 'mountpoint-s3-csi', identity: 'pod-identity', mountpointCredentials: 'driver', access: 'read-only' },
      ['aws-mountpoint-s3-csi-driver@2.0.0'],
    ],
    [
      'mountpoint, EKS Pod Identity (pod level)',
      { tool: 'mountpoint-s3-csi', identity: 'pod-identity', mountpointCredentials: 'pod' },
      ['aws-mountpoint-s3-csi-driver@2.0.0'],
    ],
    [
      'stackgres with IRSA: useIAMRole without secretKeySelectors',
      { tool: 'stackgres', identity: 'irsa' },
      ['stackgres@1.18.3'],
    ],
    [
      'stackgres with EKS Pod Identity: WAL-G too',
      { tool: 'stackgres', identity: 'pod-identity', access: 'read-only' },
      ['stackgres@1.18.3', 'wal-g@3.0.4'],
    ],
    ['generic: nothing, whatever the identity', { tool: 'generic', identity: 'pod-identity' }, []],
    ['generic on ec2: nothing', { tool: 'generic', identity: 'ec2' }, []],
  ] as [string, Partial<RequirementContext>, string[]][])('%s', (_what, c, expected) => {
    expect(minimums(c)).toEqual(expected);
  });

  it('answers only the four fields of the contract (no research notes)', () => {
    for (const r of requirementsFor(ctx({ tool: 'stackgres', identity: 'pod-identity' })))
      expect(Object.keys(r).sort()).toEqual(['component', 'minimumVersion', 'source', 'why']);
  });

  it("decides Mountpoint's credentials exactly as the snippet does", () => {
    for (const namespace of ['kube-system', 'apps']) {
      for (const sas of [undefined, ['s3-csi-driver-sa'], ['reader'], ['reader', 's3-csi-driver-sa']]) {
        const resolved = sas ?? defaultServiceAccounts('mountpoint-s3-csi', namespace) ?? [];
        if (!resolved.length) continue;
        expect(mountpointCredentialsOf(namespace, sas)).toBe(
          mountpointAuthSource({ namespace, serviceAccounts: resolved }),
        );
      }
    }
  });
});

describe('versions (pure)', () => {
  it('parses MAJOR.MINOR.PATCH with an optional v, pre-release and build, and nothing else', () => {
    expect(parseVersion('2.10.0')).toEqual({ core: [2, 10, 0], prerelease: [] });
    expect(parseVersion('v1.18.3')).toEqual({ core: [1, 18, 3], prerelease: [] });
    expect(parseVersion('1.18.0-rc1')).toEqual({ core: [1, 18, 0], prerelease: ['rc1'] });
    expect(parseVersion('2.7.0+build.5')).toEqual({ core: [2, 7, 0], prerelease: [] });
    for (const bad of [
      '2.x',
      'latest',
      '2.10',
      '2',
      '',
      ' 2.10.0',
      '2.10.0 ',
      '02.10.0',
      '2.10.0-',
      '>=2.10.0',
      '2.10.0\n',
      `1.0.0-${'a'.repeat(200)}`,
      '9'.repeat(200),
    ]) {
      expect(parseVersion(bad)).toBeUndefined();
    }
  });

  it('orders by semver precedence: numbers numerically, a pre-release below its release', () => {
    const order = [
      '1.9.0',
      '1.10.0-alpha',
      '1.10.0-alpha.1',
      '1.10.0-alpha.beta',
      '1.10.0-beta.2',
      '1.10.0-beta.11',
      '1.10.0-rc.1',
      '1.10.0',
      '1.10.1',
      '2.0.0',
    ];
    for (let i = 0; i + 1 < order.length; i++) {
      expect(compareVersions(parseVersion(order[i]!)!, parseVersion(order[i + 1]!)!)).toBeLessThan(0);
      expect(compareVersions(parseVersion(order[i + 1]!)!, parseVersion(order[i]!)!)).toBeGreaterThan(0);
    }
    expect(compareVersions(parseVersion('v2.7.0+x')!, parseVersion('2.7.0')!)).toBe(0);
  });

  it('compares release versions as their numbers do (property)', () => {
    const n = fc.integer({ min: 0, max: 5000 });
    fc.assert(
      fc.property(fc.tuple(n, n, n), fc.tuple(n, n, n), (a, b) => {
        const c = compareVersions(parseVersion(a.join('.'))!, parseVersion(b.join('.'))!);
        const expected = a[0] - b[0] || a[1] - b[1] || a[2] - b[2];
        expect(Math.sign(c)).toBe(Math.sign(expected));
      }),
    );
  });

  const sg = requirementsFor(ctx({ tool: 'stackgres', identity: 'pod-identity' }));

  it('refuses a component below its minimum, naming the field, the minimum and why', () => {
    const issues = versionIssues({ stackgres: '1.18.2', 'wal-g': '3.0.3' }, sg);
    expect(issues.map((i) => i.path)).toEqual(['versions.stackgres', 'versions.wal-g']);
    expect(issues[0]!.message).toMatch(
      /^stackgres 1\.18\.2 is below 1\.18\.3, the minimum these snippets need: .*NullPointerException.*\(ongres\/stackgres@1\.18\.3:/,
    );
    expect(issues[1]!.message).toContain('below 3.0.4');
    expect(versionIssues({ stackgres: '1.18.3-rc1' }, sg).map((i) => i.path)).toEqual(['versions.stackgres']);
  });

  it('accepts the minimum, anything above it, and a known component this request does not need', () => {
    expect(versionIssues({ stackgres: '1.18.3', 'wal-g': 'v3.1.0', velero: '1.0.0' }, sg)).toEqual([]);
  });

  it('refuses an unknown component and a malformed version by name', () => {
    const issues = versionIssues(
      { 'percona-backup': '2.10.0', stackgres: '2.x', 'wal-g': 'latest', velero: '1'.repeat(200) },
      sg,
    );
    expect(issues.map((i) => i.path)).toEqual([
      'versions.percona-backup',
      'versions.stackgres',
      'versions.wal-g',
      'versions.velero',
    ]);
    expect(issues[0]!.message).toMatch(
      /unknown component "percona-backup"; the components are percona-backup-mongodb, /,
    );
    expect(issues[1]!.message).toMatch(/must be a version MAJOR\.MINOR\.PATCH/);
  });
});
