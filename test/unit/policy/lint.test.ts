/**
 * Security lint of every policy the service generates (lib/policy/documents.ts), over every tool × the access
 * levels it supports × with/without prefix × with/without KMS key × 1 and 3 clusters × one and several service
 * accounts, against the findings of ../shared/design/aws-facts.md ("Security findings scanners and AWS raise").
 * Then golden exact-output tests of the builders, and of merging into / removing from a shared resource policy.
 */
import { validatePolicy } from '../../../lib/iam-policy/grammar';
import type { PolicyKind } from '../../../lib/iam-policy/types';
import {
  accessLevels,
  kmsActions,
  objectActions,
  toolActions,
  UnsupportedAccessError,
} from '../../../lib/policy/actions';
import {
  assumeRoleGrant,
  bucketPolicyStatements,
  instanceRoleTrust,
  issuerKey,
  keyPolicyStatement,
  oidcProviderArn,
  permissionsPolicy,
  policySize,
  sidPrefix,
  STS_AUDIENCE,
  webIdentityTrust,
} from '../../../lib/policy/documents';
import { document, type PolicyDocument, type Statement } from '../../../lib/policy/types';
import type { Access, Tool } from '../../../lib/snippets/types';

const WORKLOADS = '200000000002';
const BACKUPS = '300000000003';
const BUCKET = 'demo-backups';
const KEY_ARN = `arn:aws:kms:eu-west-1:${BACKUPS}:key/11111111-2222-3333-4444-555555555555`;
const ISSUERS = [
  'https://oidc.eks.eu-west-1.amazonaws.com/id/AAAA1111BBBB2222CCCC3333DDDD4444',
  'https://oidc.eks.eu-central-1.amazonaws.com/id/EEEE5555FFFF6666',
  'https://oidc.eks.us-east-1.amazonaws.com/id/0123456789ABCDEF0123456789ABCDEF',
];
const cluster = (issuerUrl: string) => ({ issuerUrl, providerArn: oidcProviderArn(WORKLOADS, issuerUrl) });

const TOOLS: Tool[] = ['pbm', 'psmdb-operator', 'stackgres', 'velero', 'mountpoint-s3-csi', 'generic'];
const ACCESS: Access[] = ['read-write', 'restore', 'read-only'];
const PREFIXES = ['', 'team-a/mongo/'];
const KEYS: (string | undefined)[] = [undefined, KEY_ARN];
const CLUSTER_COUNTS = [1, 3];
const SERVICE_ACCOUNT_SETS = [['pbm-agent'], ['percona-server-mongodb-operator', 'default', 'pbm-agent'], ['velero']];

interface Case {
  name: string;
  tool: Tool;
  access: Access;
  prefix: string;
  keyArn?: string;
  id: string;
  roleArn: string;
  serviceAccounts: string[];
  issuers: string[];
  trust: PolicyDocument;
  permissions: PolicyDocument;
  bucketStatements: Statement[];
  keyStatement?: Statement;
}

const cases: Case[] = [];
for (const tool of TOOLS)
  for (const access of accessLevels(tool))
    for (const prefix of PREFIXES)
      for (const keyArn of KEYS)
        for (const n of CLUSTER_COUNTS)
          for (const serviceAccounts of SERVICE_ACCOUNT_SETS) {
            const id = `ob-${cases.length.toString(16).padStart(12, '0')}`;
            const roleArn = `arn:aws:iam::${WORKLOADS}:role/s3-onboarding/s3ob-${tool}-${id.slice(3)}`;
            const actions = toolActions(tool, access);
            const kms = keyArn ? { keyArn, actions: kmsActions(tool, access) } : undefined;
            const issuers = ISSUERS.slice(0, n);
            cases.push({
              name: `${tool} ${access} prefix=${prefix || '-'} kms=${keyArn ? 'yes' : 'no'} clusters=${n} sas=${serviceAccounts.join('+')}`,
              tool,
              access,
              prefix,
              keyArn,
              id,
              roleArn,
              serviceAccounts,
              issuers,
              trust: webIdentityTrust(issuers.map(cluster), 'mongodb', serviceAccounts),
              permissions: permissionsPolicy({ bucket: BUCKET, prefix }, actions, kms),
              bucketStatements: bucketPolicyStatements(id, { bucket: BUCKET, prefix }, actions, roleArn),
              keyStatement: kms ? keyPolicyStatement(id, roleArn, kms.actions) : undefined,
            });
          }

const list = <T>(x: T | T[] | undefined): T[] => (x === undefined ? [] : Array.isArray(x) ? x : [x]);

/** Runs a rule over every case and every statement; the test fails with the list of violations. */
function violations(rule: (c: Case) => (string | false | undefined)[]): string[] {
  return cases.flatMap((c) =>
    rule(c)
      .filter((v): v is string => !!v)
      .map((v) => `${c.name}: ${v}`),
  );
}

const allStatements = (c: Case): { where: string; st: Statement }[] => [
  ...c.trust.Statement.map((st) => ({ where: 'trust', st })),
  ...c.permissions.Statement.map((st) => ({ where: 'permissions', st })),
  ...c.bucketStatements.map((st) => ({ where: 'bucket policy', st })),
  ...(c.keyStatement ? [{ where: 'key policy', st: c.keyStatement }] : []),
];

/** The levels each tool can work with, as the research read them from the tools' source (docs/tool-research.md §1). */
const SUPPORTED: Record<Tool, Access[]> = {
  pbm: ['read-write', 'restore'],
  'psmdb-operator': ['read-write', 'restore'],
  stackgres: ['read-write', 'restore', 'read-only'],
  velero: ['read-write', 'restore'],
  'mountpoint-s3-csi': ['read-write', 'read-only'],
  generic: ['read-write', 'read-only'],
};
/** What a restore writes (exact keys and sub-prefixes, relative to the prefix): PBM resync and physical restores, Velero restores. */
const RESTORE_PATHS: Record<Tool, string[]> = {
  pbm: ['.pbm.init', '.pbm.restore/*'],
  'psmdb-operator': ['.pbm.init', '.pbm.restore/*'],
  stackgres: [],
  velero: ['restores/*'],
  'mountpoint-s3-csi': [],
  generic: [],
};
/** Keys a restore must write and delete (relative to the prefix). */
const RESTORE_WRITES: Record<Tool, { put: string[]; del: string[] }> = {
  pbm: { put: ['.pbm.init', '.pbm.restore/R.json', '.pbm.restore/R/rs.rs0/node.host1.starting'], del: ['.pbm.init'] },
  'psmdb-operator': { put: ['.pbm.init', '.pbm.restore/R.json'], del: ['.pbm.init'] },
  stackgres: { put: [], del: [] },
  velero: {
    put: ['restores/r/restore-r-logs.gz', 'restores/r/r-volumeinfo.json.gz'],
    del: ['restores/r/restore-r-logs.gz'],
  },
  'mountpoint-s3-csi': { put: [], del: [] },
  generic: { put: [], del: [] },
};
/** Backup objects of each tool (relative to the prefix): a restore level may never write or delete them. */
const BACKUP_KEYS: Record<Tool, string[]> = {
  pbm: [
    '2026-01-02T03:04:05Z.pbm.json',
    '2026-01-02T03:04:05Z/rs0/metadata.json',
    '2026-01-02T03:04:05Z/rs0/db.coll.s2',
    'pbmPitr/rs0/20260102/a.oplog.s2',
    'x',
  ],
  'psmdb-operator': [
    '2026-01-02T03:04:05Z.pbm.json',
    '2026-01-02T03:04:05Z/rs0/metadata.json',
    'pbmPitr/rs0/20260102/a.oplog.s2',
  ],
  stackgres: [
    'basebackups_005/base_000000010000000000000003/metadata.json',
    'basebackups_005/base_000000010000000000000003_backup_stop_sentinel.json',
    'wal_005/000000010000000000000003.lz4',
  ],
  velero: [
    'backups/nightly-1/velero-backup.json',
    'backups/nightly-1/nightly-1.tar.gz',
    'kopia/ns1/p0123',
    'restic/ns1/x',
    'metadata/revision',
  ],
  'mountpoint-s3-csi': ['dir/f'],
  generic: ['x'],
};

const WRITES = /^s3:(PutObject|DeleteObject|AbortMultipartUpload)$/;
/** Whether a policy resource (with IAM wildcards) matches an ARN. */
const matches = (resource: string, arn: string) =>
  new RegExp(
    `^${resource
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
  ).test(arn);
const objectArn = (c: { prefix: string }, key: string) => `arn:aws:s3:::${BUCKET}/${c.prefix}${key}`;
/** Whether any of the statements allows `action` on `arn`. */
const grants = (statements: Statement[], action: string, arn: string) =>
  statements.some((st) => list(st.Action).includes(action) && list(st.Resource).some((r) => matches(r, arn)));

describe('Policy lint: every generated policy', () => {
  const levels = TOOLS.reduce((n, t) => n + accessLevels(t).length, 0);
  it(`covers ${TOOLS.length} tools × their ${levels} access levels × prefixes × keys × cluster counts × service-account sets`, () => {
    expect(levels).toBe(13);
    expect(cases).toHaveLength(
      levels * PREFIXES.length * KEYS.length * CLUSTER_COUNTS.length * SERVICE_ACCOUNT_SETS.length,
    );
    expect(new Set(cases.map((c) => c.name)).size).toBe(cases.length);
  });

  it.each(TOOLS)('%s: offers exactly the levels the tool can work with, and refuses the others', (tool) => {
    expect(accessLevels(tool)).toEqual(SUPPORTED[tool]);
    for (const access of ACCESS.filter((a) => !SUPPORTED[tool].includes(a))) {
      expect(() => toolActions(tool, access)).toThrow(UnsupportedAccessError);
      expect(() => kmsActions(tool, access)).toThrow(UnsupportedAccessError);
      // a 400 on access, like the request parser's, should a record of a withdrawn level reach the builders
      expect(() => toolActions(tool, access)).toThrow(
        expect.objectContaining({
          status: 400,
          errors: [
            {
              path: 'access',
              message: expect.stringContaining(`must be one of: ${SUPPORTED[tool].map((l) => `"${l}"`).join(', ')}`),
            },
          ],
        }),
      );
    }
  });

  it('is valid for where it is used (trust, identity, bucket, key) and within IAM / S3 size limits', () => {
    const check = (doc: PolicyDocument, kind: PolicyKind) => validatePolicy(doc, kind) ?? undefined;
    expect(
      violations((c) => [
        check(c.trust, 'trust'),
        check(c.permissions, 'identity'),
        check(document(c.bucketStatements), 'bucket'),
        c.keyStatement && check(document([c.keyStatement]), 'key'),
        policySize(c.permissions) > 10_240 && 'permissions over 10,240',
        c.issuers.length === 1 && policySize(c.trust) > 2048 && 'one-cluster trust over 2,048',
        policySize(document(c.bucketStatements)) > 20_480 && 'bucket statements over 20 KB',
      ]),
    ).toEqual([]);
  });

  it('IRSA trust: one statement per cluster, StringEquals on both <issuer>:sub and <issuer>:aud = sts.amazonaws.com, no StringLike', () => {
    expect(
      violations((c) => {
        const out: (string | false)[] = [
          c.trust.Statement.length !== c.issuers.length &&
            `${c.trust.Statement.length} statements for ${c.issuers.length} clusters`,
        ];
        c.trust.Statement.forEach((st, i) => {
          const key = issuerKey(c.issuers[i]);
          const cond = st.Condition ?? {};
          out.push(
            JSON.stringify(st.Principal) !== JSON.stringify({ Federated: oidcProviderArn(WORKLOADS, c.issuers[i]) }) &&
              `statement ${i}: principal ${JSON.stringify(st.Principal)}`,
            st.Action !== 'sts:AssumeRoleWithWebIdentity' && `statement ${i}: action ${JSON.stringify(st.Action)}`,
            JSON.stringify(Object.keys(cond)) !== '["StringEquals"]' &&
              `statement ${i}: condition operators ${Object.keys(cond).join(',')}`,
            JSON.stringify(Object.keys(cond.StringEquals ?? {}).sort()) !==
              JSON.stringify([`${key}:aud`, `${key}:sub`]) &&
              `statement ${i}: keys ${Object.keys(cond.StringEquals ?? {})}`,
            cond.StringEquals?.[`${key}:aud`] !== STS_AUDIENCE &&
              `statement ${i}: aud ${JSON.stringify(cond.StringEquals?.[`${key}:aud`])}`,
            JSON.stringify(list(cond.StringEquals?.[`${key}:sub`]).sort()) !==
              JSON.stringify(c.serviceAccounts.map((sa) => `system:serviceaccount:mongodb:${sa}`).sort()) &&
              `statement ${i}: sub ${JSON.stringify(cond.StringEquals?.[`${key}:sub`])}`,
            list(cond.StringEquals?.[`${key}:sub`]).some((s) => /[*?]/.test(s)) && `statement ${i}: wildcard in sub`,
          );
        });
        return out;
      }),
    ).toEqual([]);
  });

  it("has no '*' action, no service wildcard (s3:*) and no wildcard in any action", () => {
    expect(
      violations((c) =>
        allStatements(c).flatMap(({ where, st }) =>
          list(st.Action).map((a) => /[*?]/.test(a) && `${where}: action ${a}`),
        ),
      ),
    ).toEqual([]);
  });

  it('names only arn:aws:s3:::BUCKET, BUCKET/PREFIX* and the restore paths under the prefix (and the key ARN for KMS)', () => {
    expect(
      violations((c) => {
        const s3 = [
          `arn:aws:s3:::${BUCKET}`,
          objectArn(c, '*'),
          ...(c.access === 'restore' ? RESTORE_PATHS[c.tool].map((p) => objectArn(c, p)) : []),
        ];
        return [
          ...c.permissions.Statement.flatMap((st) =>
            list(st.Resource).map(
              (r) => !(st.Sid === 'Kms' ? r === c.keyArn : s3.includes(r)) && `permissions ${st.Sid}: resource ${r}`,
            ),
          ),
          ...c.bucketStatements.flatMap((st) =>
            list(st.Resource).map((r) => !s3.includes(r) && `bucket policy: resource ${r}`),
          ),
          // in a key policy "*" means the key the policy is attached to
          c.keyStatement &&
            c.keyStatement.Resource !== '*' &&
            `key policy: resource ${JSON.stringify(c.keyStatement.Resource)}`,
          c.trust.Statement.some((st) => st.Resource !== undefined) && 'trust names a resource',
        ];
      }),
    ).toEqual([]);
  });

  it('scopes bucket-level actions to the bucket ARN and object-level actions to object ARNs under the prefix (permissions policy)', () => {
    expect(
      violations((c) => {
        const actions = toolActions(c.tool, c.access);
        return c.permissions.Statement.filter((st) => st.Sid !== 'Kms').flatMap((st) =>
          list(st.Action).map((a) => {
            const r = list(st.Resource);
            if (actions.bucket.includes(a))
              return JSON.stringify(r) !== JSON.stringify([`arn:aws:s3:::${BUCKET}`]) && `${a} on ${r}`;
            return r.some((x) => !x.startsWith(`arn:aws:s3:::${BUCKET}/${c.prefix}`)) && `${a} on ${r}`;
          }),
        );
      }),
    ).toEqual([]);
  });

  it('grants the same object actions on the same paths in the bucket policy as in the role policy, never more outside the restore paths', () => {
    expect(
      violations((c) => {
        const own = c.permissions.Statement.filter((st) => st.Sid !== 'Kms');
        const probes = [...BACKUP_KEYS[c.tool], ...RESTORE_WRITES[c.tool].put, 'another/key'];
        return objectActions(toolActions(c.tool, c.access)).flatMap((a) =>
          probes.map((k) => {
            const role = grants(own, a, objectArn(c, k));
            const bucket = grants(c.bucketStatements, a, objectArn(c, k));
            const restorePath =
              c.access === 'restore' && RESTORE_PATHS[c.tool].some((p) => matches(objectArn(c, p), objectArn(c, k)));
            return (role ? !bucket : bucket && !restorePath) && `${a} on ${k}: role ${role}, bucket policy ${bucket}`;
          }),
        );
      }),
    ).toEqual([]);
  });

  it('limits listing to the prefix when there is one (s3:prefix condition on ListBucket)', () => {
    expect(
      violations((c) => {
        const listSt = c.permissions.Statement.find((st) => list(st.Action).includes('s3:ListBucket'));
        if (!listSt) return ['no ListBucket statement'];
        const expected = c.prefix ? { StringLike: { 's3:prefix': [c.prefix, `${c.prefix}*`] } } : undefined;
        return [
          JSON.stringify(listSt.Condition) !== JSON.stringify(expected) &&
            `ListBucket condition ${JSON.stringify(listSt.Condition)}`,
        ];
      }),
    ).toEqual([]);
  });

  it('has no Principal "*" and no {"AWS": "*"}, and no NotPrincipal', () => {
    expect(
      violations((c) =>
        allStatements(c).flatMap(({ where, st }) => {
          const p = st.Principal as '*' | Record<string, string | string[]> | undefined;
          return [
            p === '*' && `${where}: Principal "*"`,
            p !== undefined &&
              p !== '*' &&
              Object.values(p).some((v) => list(v).includes('*')) &&
              `${where}: wildcard principal`,
            'NotPrincipal' in st && `${where}: NotPrincipal`,
            where === 'permissions' && p !== undefined && `${where}: identity policy with a principal`,
          ];
        }),
      ),
    ).toEqual([]);
  });

  it("bucket- and key-policy statements: Sid starting with S3Onboarding<id>, principal the role's account root, ArnEquals on aws:PrincipalArn", () => {
    expect(
      violations((c) =>
        [...c.bucketStatements, ...(c.keyStatement ? [c.keyStatement] : [])].flatMap((st) => [
          !(st.Sid ?? '').startsWith('S3Onboarding') && `Sid ${st.Sid}`,
          !(st.Sid ?? '').startsWith(sidPrefix(c.id)) && `Sid ${st.Sid} is not this onboarding's`,
          JSON.stringify(st.Principal) !== JSON.stringify({ AWS: `arn:aws:iam::${WORKLOADS}:root` }) &&
            `principal ${JSON.stringify(st.Principal)}`,
          JSON.stringify(st.Condition) !== JSON.stringify({ ArnEquals: { 'aws:PrincipalArn': c.roleArn } }) &&
            `condition ${JSON.stringify(st.Condition)}`,
          st.Effect !== 'Allow' && `effect ${st.Effect}`,
        ]),
      ),
    ).toEqual([]);
  });

  it('read-only never grants Put, Delete, Abort (nor kms:GenerateDataKey); read-write grants writes', () => {
    expect(
      violations((c) => {
        const granted = allStatements(c)
          .filter(({ where }) => where !== 'trust')
          .flatMap(({ st }) => list(st.Action));
        if (c.access === 'read-only')
          return granted.map((a) => /Put|Delete|Abort|GenerateDataKey/.test(a) && `read-only grants ${a}`);
        if (c.access === 'restore') return [];
        return [
          !granted.includes('s3:PutObject') && 'read-write without s3:PutObject',
          !!c.keyArn && !granted.includes('kms:GenerateDataKey') && 'read-write without kms:GenerateDataKey',
        ];
      }),
    ).toEqual([]);
  });

  it('restore never writes, overwrites or deletes a backup object, in any policy; it writes exactly what restores write', () => {
    const restore = cases.filter((c) => c.access === 'restore');
    expect(new Set(restore.map((c) => c.tool))).toEqual(new Set(['pbm', 'psmdb-operator', 'stackgres', 'velero']));
    expect(
      violations((c) => {
        if (c.access !== 'restore') return [];
        const statements = [...c.permissions.Statement, ...c.bucketStatements];
        const { put, del } = RESTORE_WRITES[c.tool];
        const writes = put.length > 0;
        return [
          ...BACKUP_KEYS[c.tool].flatMap((k) =>
            ['s3:PutObject', 's3:DeleteObject', 's3:AbortMultipartUpload'].map(
              (a) => grants(statements, a, objectArn(c, k)) && `grants ${a} on backup object ${k}`,
            ),
          ),
          ...statements.flatMap((st) =>
            list(st.Action)
              .filter((a) => WRITES.test(a))
              .flatMap((a) =>
                list(st.Resource).map((r) => r === objectArn(c, '*') && `${a} on everything under the prefix`),
              ),
          ),
          ...put.map((k) => !grants(c.permissions.Statement, 's3:PutObject', objectArn(c, k)) && `cannot write ${k}`),
          ...del.map(
            (k) => !grants(c.permissions.Statement, 's3:DeleteObject', objectArn(c, k)) && `cannot delete ${k}`,
          ),
          ...BACKUP_KEYS[c.tool].map(
            (k) => !grants(c.permissions.Statement, 's3:GetObject', objectArn(c, k)) && `cannot read ${k}`,
          ),
          !!c.keyArn &&
            writes !== (c.keyStatement !== undefined && list(c.keyStatement.Action).includes('kms:GenerateDataKey')) &&
            `kms:GenerateDataKey ${writes ? 'missing' : 'granted without writes'}`,
          !!c.keyArn &&
            writes !== c.permissions.Statement.some((st) => list(st.Action).includes('kms:GenerateDataKey')) &&
            'kms:GenerateDataKey does not follow the writes',
        ];
      }),
    ).toEqual([]);
  });

  it('never grants bucket-policy, ACL, IAM or key-management actions to a workload', () => {
    expect(
      violations((c) =>
        allStatements(c)
          .filter(({ where }) => where !== 'trust')
          .flatMap(({ where, st }) =>
            list(st.Action).map(
              (a) =>
                !/^s3:(Get|Put|Delete)Object$|^s3:(ListBucket|GetBucketLocation|AbortMultipartUpload|ListMultipartUploadParts)$|^kms:(Decrypt|GenerateDataKey)$/.test(
                  a,
                ) && `${where}: ${a}`,
            ),
          ),
      ),
    ).toEqual([]);
  });

  it('EC2 flow: the target trusts exactly the instance role, and the grant names exactly the target role', () => {
    const instance = `arn:aws:iam::${WORKLOADS}:role/pbm-ec2-instance-role`;
    for (const c of cases.slice(0, 12)) {
      const trust = instanceRoleTrust(instance);
      const grant = assumeRoleGrant(c.roleArn);
      expect(validatePolicy(trust, 'trust')).toBeNull();
      expect(validatePolicy(grant, 'identity')).toBeNull();
      expect(trust.Statement).toEqual([{ Effect: 'Allow', Principal: { AWS: instance }, Action: 'sts:AssumeRole' }]);
      expect(grant.Statement).toEqual([
        { Sid: 'AssumeS3OnboardingRole', Effect: 'Allow', Action: 'sts:AssumeRole', Resource: c.roleArn },
      ]);
    }
  });
});

// ---------------------------------------------------------------------------------------------------------------
// golden outputs

const ID = 'ob-0123456789ab';
const ROLE = `arn:aws:iam::${WORKLOADS}:role/s3-onboarding/s3ob-pbm-0123456789ab`;
const I1 = ISSUERS[0].replace('https://', '');
const I2 = ISSUERS[1].replace('https://', '');

describe('Policy golden outputs', () => {
  it('IRSA trust for one cluster and one service account', () => {
    expect(webIdentityTrust([cluster(ISSUERS[0])], 'mongodb', ['pbm-agent'])).toEqual({
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: { Federated: `arn:aws:iam::200000000002:oidc-provider/${I1}` },
          Action: 'sts:AssumeRoleWithWebIdentity',
          Condition: {
            StringEquals: {
              [`${I1}:sub`]: 'system:serviceaccount:mongodb:pbm-agent',
              [`${I1}:aud`]: 'sts.amazonaws.com',
            },
          },
        },
      ],
    });
  });

  it('IRSA trust for two clusters and two service accounts (sorted), byte for byte', () => {
    const trust = webIdentityTrust([cluster(ISSUERS[0]), cluster(ISSUERS[1])], 'mongodb', ['pbm-agent', 'default']);
    expect(JSON.stringify(trust)).toBe(
      '{"Version":"2012-10-17","Statement":[' +
        `{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::200000000002:oidc-provider/${I1}"},"Action":"sts:AssumeRoleWithWebIdentity",` +
        `"Condition":{"StringEquals":{"${I1}:sub":["system:serviceaccount:mongodb:default","system:serviceaccount:mongodb:pbm-agent"],"${I1}:aud":"sts.amazonaws.com"}}},` +
        `{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::200000000002:oidc-provider/${I2}"},"Action":"sts:AssumeRoleWithWebIdentity",` +
        `"Condition":{"StringEquals":{"${I2}:sub":["system:serviceaccount:mongodb:default","system:serviceaccount:mongodb:pbm-agent"],"${I2}:aud":"sts.amazonaws.com"}}}]}`,
    );
  });

  it('permissions policy: pbm read-write with a prefix and a KMS key', () => {
    expect(
      permissionsPolicy({ bucket: BUCKET, prefix: 'team-a/mongo/' }, toolActions('pbm', 'read-write'), {
        keyArn: KEY_ARN,
        actions: kmsActions('pbm', 'read-write'),
      }),
    ).toEqual({
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'List',
          Effect: 'Allow',
          Action: 's3:ListBucket',
          Resource: 'arn:aws:s3:::demo-backups',
          Condition: { StringLike: { 's3:prefix': ['team-a/mongo/', 'team-a/mongo/*'] } },
        },
        {
          Sid: 'Objects',
          Effect: 'Allow',
          Action: ['s3:DeleteObject', 's3:GetObject', 's3:PutObject'],
          Resource: 'arn:aws:s3:::demo-backups/team-a/mongo/*',
        },
        { Sid: 'Kms', Effect: 'Allow', Action: ['kms:Decrypt', 'kms:GenerateDataKey'], Resource: KEY_ARN },
      ],
    });
  });

  it('permissions policy: pbm restore with a prefix and a KMS key (reads everything, writes only .pbm.init and .pbm.restore/)', () => {
    expect(
      permissionsPolicy({ bucket: BUCKET, prefix: 'team-a/mongo/' }, toolActions('pbm', 'restore'), {
        keyArn: KEY_ARN,
        actions: kmsActions('pbm', 'restore'),
      }),
    ).toEqual({
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'List',
          Effect: 'Allow',
          Action: 's3:ListBucket',
          Resource: 'arn:aws:s3:::demo-backups',
          Condition: { StringLike: { 's3:prefix': ['team-a/mongo/', 'team-a/mongo/*'] } },
        },
        {
          Sid: 'Objects',
          Effect: 'Allow',
          Action: 's3:GetObject',
          Resource: 'arn:aws:s3:::demo-backups/team-a/mongo/*',
        },
        {
          Sid: 'Objects2',
          Effect: 'Allow',
          Action: 's3:DeleteObject',
          Resource: 'arn:aws:s3:::demo-backups/team-a/mongo/.pbm.init',
        },
        {
          Sid: 'Objects3',
          Effect: 'Allow',
          Action: 's3:PutObject',
          Resource: [
            'arn:aws:s3:::demo-backups/team-a/mongo/.pbm.init',
            'arn:aws:s3:::demo-backups/team-a/mongo/.pbm.restore/*',
          ],
        },
        { Sid: 'Kms', Effect: 'Allow', Action: ['kms:Decrypt', 'kms:GenerateDataKey'], Resource: KEY_ARN },
      ],
    });
  });

  it('permissions policy: velero restore without a prefix, byte for byte', () => {
    expect(JSON.stringify(permissionsPolicy({ bucket: BUCKET, prefix: '' }, toolActions('velero', 'restore')))).toBe(
      '{"Version":"2012-10-17","Statement":[' +
        '{"Sid":"List","Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::demo-backups"},' +
        '{"Sid":"Objects","Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::demo-backups/*"},' +
        '{"Sid":"Objects2","Effect":"Allow","Action":["s3:AbortMultipartUpload","s3:DeleteObject","s3:PutObject"],"Resource":"arn:aws:s3:::demo-backups/restores/*"}]}',
    );
  });

  it('permissions policy: stackgres read-only (and restore, which reads only) without a prefix', () => {
    const expected =
      '{"Version":"2012-10-17","Statement":[' +
      '{"Sid":"List","Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::demo-backups"},' +
      '{"Sid":"Objects","Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::demo-backups/*"}]}';
    expect(
      JSON.stringify(permissionsPolicy({ bucket: BUCKET, prefix: '' }, toolActions('stackgres', 'read-only'))),
    ).toBe(expected);
    expect(JSON.stringify(permissionsPolicy({ bucket: BUCKET, prefix: '' }, toolActions('stackgres', 'restore')))).toBe(
      expected,
    );
  });

  it('permissions policy: generic read-write keeps GetBucketLocation', () => {
    expect(
      permissionsPolicy({ bucket: BUCKET, prefix: '' }, toolActions('generic', 'read-write')).Statement.slice(0, 1),
    ).toEqual([
      { Sid: 'Location', Effect: 'Allow', Action: 's3:GetBucketLocation', Resource: 'arn:aws:s3:::demo-backups' },
    ]);
  });

  it('bucket-policy statements: pbm restore, one statement for the reads and one for the restore paths', () => {
    expect(
      bucketPolicyStatements(ID, { bucket: BUCKET, prefix: 'team-a/mongo/' }, toolActions('pbm', 'restore'), ROLE),
    ).toEqual([
      {
        Sid: 'S3Onboarding0123456789ab',
        Effect: 'Allow',
        Principal: { AWS: 'arn:aws:iam::200000000002:root' },
        Action: ['s3:ListBucket', 's3:GetObject'],
        Resource: ['arn:aws:s3:::demo-backups', 'arn:aws:s3:::demo-backups/team-a/mongo/*'],
        Condition: { ArnEquals: { 'aws:PrincipalArn': ROLE } },
      },
      {
        Sid: 'S3Onboarding0123456789ab2',
        Effect: 'Allow',
        Principal: { AWS: 'arn:aws:iam::200000000002:root' },
        Action: ['s3:DeleteObject', 's3:PutObject'],
        Resource: [
          'arn:aws:s3:::demo-backups/team-a/mongo/.pbm.init',
          'arn:aws:s3:::demo-backups/team-a/mongo/.pbm.restore/*',
        ],
        Condition: { ArnEquals: { 'aws:PrincipalArn': ROLE } },
      },
    ]);
  });

  it('bucket-policy statements: mountpoint-s3-csi read-write with a prefix', () => {
    const roleArn = `arn:aws:iam::${WORKLOADS}:role/s3-onboarding/s3ob-mp-0123456789ab`;
    expect(
      bucketPolicyStatements(
        ID,
        { bucket: BUCKET, prefix: 'data/' },
        toolActions('mountpoint-s3-csi', 'read-write'),
        roleArn,
      ),
    ).toEqual([
      {
        Sid: 'S3Onboarding0123456789ab',
        Effect: 'Allow',
        Principal: { AWS: 'arn:aws:iam::200000000002:root' },
        Action: ['s3:ListBucket', 's3:AbortMultipartUpload', 's3:DeleteObject', 's3:GetObject', 's3:PutObject'],
        Resource: ['arn:aws:s3:::demo-backups', 'arn:aws:s3:::demo-backups/data/*'],
        Condition: { ArnEquals: { 'aws:PrincipalArn': roleArn } },
      },
    ]);
  });

  it('key-policy statement: read-only', () => {
    expect(keyPolicyStatement(ID, ROLE, kmsActions('mountpoint-s3-csi', 'read-only'))).toEqual({
      Sid: 'S3Onboarding0123456789abKms',
      Effect: 'Allow',
      Principal: { AWS: 'arn:aws:iam::200000000002:root' },
      Action: 'kms:Decrypt',
      Resource: '*',
      Condition: { ArnEquals: { 'aws:PrincipalArn': ROLE } },
    });
  });

  it('EC2 flow: the target role trust and the instance role assume grant, byte for byte', () => {
    expect(JSON.stringify(instanceRoleTrust(`arn:aws:iam::${WORKLOADS}:role/pbm-ec2-instance-role`))).toBe(
      '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::200000000002:role/pbm-ec2-instance-role"},"Action":"sts:AssumeRole"}]}',
    );
    expect(JSON.stringify(assumeRoleGrant(ROLE))).toBe(
      '{"Version":"2012-10-17","Statement":[{"Sid":"AssumeS3OnboardingRole","Effect":"Allow","Action":"sts:AssumeRole","Resource":"arn:aws:iam::200000000002:role/s3-onboarding/s3ob-pbm-0123456789ab"}]}',
    );
  });
});

describe('Bucket-policy size: onboardings of one level that fit one 20 KB bucket policy', () => {
  /** As the service names them: 12-hex onboarding ids, s3ob-<16 hex> roles under /s3-onboarding/, prefixes team-NN/<tool>/. */
  const fit = (tool: Tool, access: Access): number => {
    const statements: Statement[] = [];
    for (let n = 0; ; n++) {
      const id = `ob-${n.toString(16).padStart(12, '0')}`;
      const role = `arn:aws:iam::${WORKLOADS}:role/s3-onboarding/s3ob-${n.toString(16).padStart(16, 'a')}`;
      const prefix = `team-${String(n).padStart(2, '0')}/${tool}/`;
      statements.push(...bucketPolicyStatements(id, { bucket: BUCKET, prefix }, toolActions(tool, access), role));
      if (policySize(document(statements)) > 20_480) return n;
    }
  };
  const SIZES = TOOLS.flatMap((tool) => accessLevels(tool).map((access) => [tool, access] as const));

  it.each(SIZES)('%s %s', (tool, access) => {
    const n = fit(tool, access);
    expect({ tool, access, n }).toEqual({ tool, access, n: FITS[`${tool} ${access}`] });
    if (access !== 'restore') expect(n).toBeGreaterThanOrEqual(45);
  });
});

/** Measured (golden): the number of onboardings of one tool and level that fit one bucket policy. */
const FITS: Record<string, number> = {
  'pbm read-write': 53,
  'pbm restore': 28,
  'psmdb-operator read-write': 52,
  'psmdb-operator restore': 26,
  'stackgres read-write': 49,
  'stackgres restore': 58,
  'stackgres read-only': 58,
  'velero read-write': 50,
  'velero restore': 28,
  'mountpoint-s3-csi read-write': 48,
  'mountpoint-s3-csi read-only': 56,
  'generic read-write': 47,
  'generic read-only': 54,
};
