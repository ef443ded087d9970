import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { NotAllowedError } from '../../../lib/errors';
import { checkGuardrails, type Caller } from '../../../lib/guardrails/check';
import {
  GuardrailsFileError,
  allowAllFromTopology,
  loadGuardrails,
  parseGuardrails,
} from '../../../lib/guardrails/load';
import type { Guardrails } from '../../../lib/guardrails/schema';
import type { OnboardingInput } from '../../../lib/onboarding/model/onboarding';

// ---------- fixtures: the demo topology ----------

const EXAMPLE = join(__dirname, '../../../examples/guardrails.yaml');
const TOPOLOGY = join(__dirname, '../../../examples/topology.json');
const PLATFORM = '100000000001';
const WORKLOADS = '200000000002';
const BACKUPS = '300000000003';
const REGION = 'eu-west-1';
const KMS_KEY = 'arn:aws:kms:eu-west-1:300000000003:key/11111111-2222-3333-4444-555555555555';
const INSTANCE_ROLE = 'arn:aws:iam::200000000002:role/pbm-ec2-instance-role';

const ADMIN: Caller = { principal: 'arn:aws:iam::100000000001:role/platform-admin' };
const DBA: Caller = { principal: 'arn:aws:iam::100000000001:role/dba-portal' };
const DBA_SESSION: Caller = { principal: 'arn:aws:sts::100000000001:assumed-role/dba-portal/alice' };
const STRANGER: Caller = { principal: 'arn:aws:iam::100000000001:role/someone-else' };

/** A request the dba-team rule allows: pbm in team-a-mongo on demo, under team-a/ in demo-backups. */
const dbaRequest = (): OnboardingInput => ({
  workload: {
    type: 'eks',
    clusters: [{ name: 'demo', accountId: WORKLOADS, region: REGION }],
    namespace: 'team-a-mongo',
  },
  bucket: { name: 'demo-backups', accountId: BACKUPS, region: REGION, prefix: 'team-a/mongo/' },
  tool: 'pbm',
  access: 'read-write',
});

const ec2Request = (): OnboardingInput => ({
  workload: { type: 'ec2', instanceRoleArn: INSTANCE_ROLE },
  bucket: { name: 'demo-backups', accountId: BACKUPS, region: REGION },
  tool: 'pbm',
  access: 'read-write',
});

/** The NotAllowedError `fn` throws (fails the test when it throws nothing or something else). */
function refusal(fn: () => unknown): NotAllowedError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(NotAllowedError);
    return err as NotAllowedError;
  }
  throw new Error('expected a NotAllowedError, nothing was thrown');
}

/** A small valid guardrails document; tests change one thing in a copy. */
const baseDoc = () => ({
  version: 1,
  accounts: { [PLATFORM]: {}, [WORKLOADS]: {}, [BACKUPS]: {} },
  rules: [
    {
      name: 'r1',
      callers: ['arn:aws:iam::100000000001:role/dba-portal'],
      accounts: [WORKLOADS],
      clusters: [`${WORKLOADS}/${REGION}/demo`],
      namespaces: { exact: ['mongodb'] },
      buckets: [{ name: 'demo-backups', accountId: BACKUPS }],
    },
  ],
});

const parse = (doc: unknown): Guardrails => parseGuardrails(JSON.stringify(doc), 'test.json');

describe('Module: guardrails', () => {
  let example: Guardrails;
  beforeAll(() => {
    example = loadGuardrails(EXAMPLE);
  });

  describe('Function: loadGuardrails', () => {
    it('loads the example file with its two rules and normalised prefixes', () => {
      expect(example.rules.map((r) => r.name)).toEqual(['demo-admin', 'dba-team']);
      expect(Object.keys(example.accounts).sort()).toEqual([PLATFORM, WORKLOADS, BACKUPS]);
      // keys are granted per rule: the admin rule lists the demo key, the DBA rule none
      expect(example.rules.map((r) => r.kmsKeys)).toEqual([[KMS_KEY], undefined]);
      expect(example.rules[1].buckets).toEqual([{ name: 'demo-backups', accountId: BACKUPS, prefixes: ['team-a/'] }]);
    });

    it('reads JSON as well as YAML', () => {
      const dir = mkdtempSync(join(tmpdir(), 'guardrails-'));
      const path = join(dir, 'g.json');
      writeFileSync(path, JSON.stringify(parseYaml(readFileSync(EXAMPLE, 'utf8'))));
      expect(loadGuardrails(path)).toEqual(example);
    });

    it('normalises rule prefixes to end with /', () => {
      const doc = baseDoc();
      Object.assign(doc.rules[0].buckets[0], { prefixes: ['team-a'] });
      expect(parse(doc).rules[0].buckets[0].prefixes).toEqual(['team-a/']);
    });

    describe('refuses an invalid file, naming the path and each problem', () => {
      function loadError(text: string): GuardrailsFileError {
        const dir = mkdtempSync(join(tmpdir(), 'guardrails-'));
        const path = join(dir, 'bad.yaml');
        writeFileSync(path, text);
        try {
          loadGuardrails(path);
        } catch (err) {
          expect(err).toBeInstanceOf(GuardrailsFileError);
          expect((err as Error).message).toContain(path);
          return err as GuardrailsFileError;
        }
        throw new Error('expected the file to fail to load');
      }
      const withRule = (patch: Record<string, unknown>) => {
        const doc = baseDoc();
        Object.assign(doc.rules[0], patch);
        return toYaml(doc);
      };

      it('an unknown key', () => {
        const err = loadError(withRule({ namespace: ['mongodb'] }));
        expect(err.issues).toEqual([{ path: 'rules.0', message: expect.stringContaining('"namespace"') }]);
        expect(err.message).toContain('rules.0: Unrecognized key: "namespace"');
      });

      it('an unknown top-level key', () => {
        const doc = { ...baseDoc(), kmsKey: [KMS_KEY] };
        expect(loadError(toYaml(doc)).message).toMatch(/\(file\): Unrecognized key: "kmsKey"/);
      });

      it('a bad caller ARN', () => {
        const err = loadError(withRule({ callers: ['arn:aws:iam::1000000001:role/dba-portal'] }));
        expect(err.issues).toEqual([
          { path: 'rules.0.callers.0', message: expect.stringContaining('must be "*" or an IAM principal ARN') },
        ]);
      });

      it('a wildcard outside the last segment of a caller', () => {
        const err = loadError(withRule({ callers: ['arn:aws:sts::100000000001:assumed-role/*/alice'] }));
        expect(err.issues.map((i) => i.path)).toEqual(['rules.0.callers.0']);
        expect(loadError(withRule({ callers: ['arn:aws:iam::*:role/dba-portal'] })).issues.map((i) => i.path)).toEqual([
          'rules.0.callers.0',
        ]);
      });

      it('a bad instance role ARN and a KMS alias', () => {
        const doc = baseDoc();
        Object.assign(doc.rules[0], {
          ec2InstanceRoles: ['arn:aws:iam::200000000002:user/bob'],
          kmsKeys: ['arn:aws:kms:eu-west-1:300000000003:alias/backups'],
        });
        const err = loadError(toYaml(doc));
        expect(err.issues).toEqual([
          { path: 'rules.0.ec2InstanceRoles.0', message: expect.stringContaining('IAM role ARN') },
          { path: 'rules.0.kmsKeys.0', message: expect.stringContaining('not an alias') },
        ]);
      });

      it('a top-level kmsKeys list (keys are granted per rule)', () => {
        const doc = baseDoc();
        Object.assign(doc, { kmsKeys: [KMS_KEY] });
        expect(loadError(toYaml(doc)).issues).toEqual([
          {
            path: 'kmsKeys',
            message: expect.stringContaining('must move under the rules that may grant them (rules[].kmsKeys)'),
          },
        ]);
      });

      it('a rule naming an account that is not listed', () => {
        const doc = baseDoc();
        doc.rules[0].buckets[0].accountId = '400000000004';
        const err = loadError(toYaml(doc));
        expect(err.issues).toEqual([
          { path: 'rules.0.buckets.0.accountId', message: 'bucket account 400000000004 is not listed under accounts' },
        ]);
      });

      it('a rule account, a cluster account and a key account that are not listed', () => {
        const doc = baseDoc();
        Object.assign(doc, { accounts: { [WORKLOADS]: {} } });
        Object.assign(doc.rules[0], { kmsKeys: [KMS_KEY] });
        doc.rules[0].buckets[0].accountId = WORKLOADS;
        doc.rules[0].accounts = [WORKLOADS, '400000000004'];
        doc.rules[0].clusters = ['400000000004/eu-west-1/x'];
        expect(loadError(toYaml(doc)).issues).toEqual([
          { path: 'rules.0.accounts.1', message: 'account 400000000004 is not listed under accounts' },
          { path: 'rules.0.clusters.0', message: 'cluster account 400000000004 is not listed under accounts' },
          { path: 'rules.0.kmsKeys.0', message: 'key account 300000000003 is not listed under accounts' },
        ]);
      });

      it('an unquoted account id and a bad account key', () => {
        const text = toYaml(baseDoc())
          .replace(`- "${WORKLOADS}"`, `- ${WORKLOADS}`)
          .replace(`"${PLATFORM}": {}`, `"${PLATFORM}": {}\n  "12345": {}`);
        expect(loadError(text).issues).toEqual([
          { path: 'accounts.12345', message: 'account keys must be 12-digit AWS account ids' },
          {
            path: 'rules.0.accounts.0',
            message: 'must be a quoted string: YAML reads an unquoted account id as a number',
          },
        ]);
      });

      it('a permissions boundary in another account (cross-checks run once every field is valid)', () => {
        const text = toYaml(baseDoc()).replace(
          `"${BACKUPS}": {}`,
          `"${BACKUPS}": { permissionsBoundaryArn: "arn:aws:iam::200000000002:policy/b" }`,
        );
        expect(loadError(text).issues).toEqual([
          { path: `accounts.${BACKUPS}.permissionsBoundaryArn`, message: `must be a policy in account ${BACKUPS}` },
        ]);
      });

      it('clusters without namespaces, no callers, a duplicate rule name and the reserved name', () => {
        const doc = baseDoc();
        const second = { ...structuredClone(doc.rules[0]), name: 'no-rule-for-caller' } as Record<string, unknown>;
        delete second.namespaces;
        delete second.callers;
        doc.rules.push(second as (typeof doc.rules)[0], structuredClone(doc.rules[0]));
        const err = loadError(toYaml(doc));
        expect(err.issues).toEqual([
          { path: 'rules.1.name', message: '"no-rule-for-caller" is reserved' },
          { path: 'rules.1', message: 'must list callers, jwt or both (who the rule is for)' },
          { path: 'rules.1.namespaces', message: 'is required when the rule lists clusters' },
          { path: 'rules.2.name', message: 'duplicate rule name "r1"' },
        ]);
      });

      it('broken YAML, an empty file, a missing file', () => {
        expect(loadError('rules: [\n').message).toMatch(/is not valid YAML or JSON/);
        expect(loadError('').message).toMatch(/is empty$/);
        expect(() => loadGuardrails('/nonexistent/guardrails.yaml')).toThrow(
          'guardrails file /nonexistent/guardrails.yaml cannot be read: ENOENT',
        );
      });

      it('a wrong version', () => {
        expect(loadError(toYaml({ ...baseDoc(), version: 2 })).issues).toEqual([
          { path: 'version', message: 'must be 1 (the only guardrails file version)' },
        ]);
      });
    });
  });

  describe('Function: checkGuardrails', () => {
    it('allows the admin anything in the demo accounts, with the admin rule', () => {
      expect(checkGuardrails(example, ADMIN, dbaRequest())).toEqual({ rule: 'demo-admin' });
      expect(checkGuardrails(example, ADMIN, ec2Request())).toEqual({ rule: 'demo-admin' });
      const local = { ...dbaRequest(), bucket: { name: 'workload-local-backups', region: REGION } };
      expect(checkGuardrails(example, ADMIN, local)).toEqual({ rule: 'demo-admin' });
      const encrypted = {
        ...dbaRequest(),
        bucket: { name: 'demo-encrypted-backups', accountId: BACKUPS, region: REGION, kmsKeyArn: KMS_KEY },
      };
      expect(checkGuardrails(example, ADMIN, { ...encrypted, crossAccountMode: 'role-in-bucket-account' })).toEqual({
        rule: 'demo-admin',
      });
    });

    it('allows the DBA portal its own request, with the dba-team rule', () => {
      expect(checkGuardrails(example, DBA, dbaRequest())).toEqual({ rule: 'dba-team' });
      expect(checkGuardrails(example, DBA, { ...dbaRequest(), access: 'restore', tool: 'psmdb-operator' })).toEqual({
        rule: 'dba-team',
      });
    });

    describe('caller', () => {
      it('refuses a caller no rule lists, with no-rule-for-caller', () => {
        const err = refusal(() => checkGuardrails(example, STRANGER, dbaRequest()));
        expect(err.rule).toBe('no-rule-for-caller');
        expect(err.message).toBe(
          'caller "arn:aws:iam::100000000001:role/someone-else" is not allowed by any guardrails rule',
        );
        expect(refusal(() => checkGuardrails(example, {}, dbaRequest())).rule).toBe('no-rule-for-caller');
      });

      it('matches * in the last segment only', () => {
        expect(checkGuardrails(example, DBA_SESSION, dbaRequest())).toEqual({ rule: 'dba-team' });
        // the session part is one segment: a longer path or another role does not match
        for (const principal of [
          'arn:aws:sts::100000000001:assumed-role/dba-portal-x/alice',
          'arn:aws:sts::100000000001:assumed-role/other/dba-portal/alice',
          'arn:aws:sts::100000000001:assumed-role/dba-portal',
          'arn:aws:sts::999999999999:assumed-role/dba-portal/alice',
        ]) {
          expect(refusal(() => checkGuardrails(example, { principal }, dbaRequest())).rule).toBe('no-rule-for-caller');
        }
        const g = parse({
          ...baseDoc(),
          rules: [{ ...baseDoc().rules[0], callers: ['arn:aws:iam::100000000001:role/ops/*'] }],
        });
        expect(
          checkGuardrails(
            g,
            { principal: 'arn:aws:iam::100000000001:role/ops/dba' },
            {
              ...dbaRequest(),
              workload: { ...ekw(), namespace: 'mongodb' },
              bucket: { name: 'demo-backups', accountId: BACKUPS, region: REGION },
            },
          ),
        ).toEqual({ rule: 'r1' });
        expect(
          refusal(() => checkGuardrails(g, { principal: 'arn:aws:iam::100000000001:role/ops/team/dba' }, dbaRequest()))
            .rule,
        ).toBe('no-rule-for-caller');
        expect(
          refusal(() => checkGuardrails(g, { principal: 'arn:aws:iam::100000000001:role/opsx/dba' }, dbaRequest()))
            .rule,
        ).toBe('no-rule-for-caller');
      });

      it('matches JWT subjects and groups', () => {
        const doc = baseDoc();
        Object.assign(doc.rules[0], { callers: undefined, jwt: { subjects: ['alice'], groups: ['dba'] } });
        const g = parse(doc);
        const ok = {
          ...dbaRequest(),
          workload: { ...ekw(), namespace: 'mongodb' },
          bucket: { name: 'demo-backups', accountId: BACKUPS, region: REGION },
        };
        expect(checkGuardrails(g, { jwt: { sub: 'alice' } }, ok)).toEqual({ rule: 'r1' });
        expect(checkGuardrails(g, { jwt: { sub: 'bob', groups: ['web', 'dba'] } }, ok)).toEqual({ rule: 'r1' });
        expect(refusal(() => checkGuardrails(g, { jwt: { sub: 'bob', groups: ['web'] } }, ok)).rule).toBe(
          'no-rule-for-caller',
        );
        expect(refusal(() => checkGuardrails(g, DBA, ok)).rule).toBe('no-rule-for-caller');
      });
    });

    describe('each dimension is refused with the rule name and a message naming the field', () => {
      const cases: [string, (r: OnboardingInput) => OnboardingInput, string][] = [
        [
          'cluster',
          (r) => ({ ...r, workload: { ...ekw(), clusters: [{ name: 'prod', accountId: WORKLOADS, region: REGION }] } }),
          'cluster "200000000002/eu-west-1/prod" is not allowed by rule "dba-team" (allowed: [200000000002/eu-west-1/demo, 200000000002/eu-west-1/restore])',
        ],
        [
          'every cluster (the second one)',
          (r) => ({
            ...r,
            workload: {
              ...ekw(),
              clusters: [ekw().clusters[0], { name: 'demo', accountId: WORKLOADS, region: 'us-east-1' }],
            },
          }),
          'cluster "200000000002/us-east-1/demo" is not allowed by rule "dba-team"',
        ],
        [
          'namespace',
          (r) => ({ ...r, workload: { ...ekw(), namespace: 'payments' } }),
          'namespace "payments" is not allowed by rule "dba-team" (allowed: prefixes [team-a-])',
        ],
        [
          'workload type ec2',
          () => ec2Request(),
          'ec2 workload is not allowed by rule "dba-team" (it lists no ec2InstanceRoles; only clusters)',
        ],
        [
          'bucket name',
          (r) => ({ ...r, bucket: { ...r.bucket, name: 'demo-encrypted-backups' } }),
          'bucket "demo-encrypted-backups" in account "300000000003" is not allowed by rule "dba-team" (allowed: [demo-backups in 300000000003])',
        ],
        [
          'bucket account (defaults to the workload account)',
          (r) => ({ ...r, bucket: { name: 'demo-backups', region: REGION, prefix: 'team-a/' } }),
          'bucket "demo-backups" in account "200000000002" is not allowed by rule "dba-team"',
        ],
        [
          'prefix',
          (r) => ({ ...r, bucket: { ...r.bucket, prefix: 'team-b/' } }),
          'bucket prefix "team-b/" is not allowed by rule "dba-team" (allowed: prefixes [team-a/] of bucket demo-backups)',
        ],
        [
          'no prefix (the whole bucket)',
          (r) => ({ ...r, bucket: { ...r.bucket, prefix: undefined } }),
          'bucket prefix (none: the whole bucket) is not allowed by rule "dba-team" (allowed: prefixes [team-a/] of bucket demo-backups)',
        ],
        [
          'tool',
          (r) => ({ ...r, tool: 'velero' }),
          'tool "velero" is not allowed by rule "dba-team" (allowed: [pbm, psmdb-operator])',
        ],
        [
          'crossAccountMode',
          (r) => ({ ...r, crossAccountMode: 'role-in-bucket-account' }),
          'crossAccountMode "role-in-bucket-account" is not allowed by rule "dba-team" (allowed: [bucket-policy])',
        ],
        [
          'role account (role in the bucket account)',
          (r) => ({ ...r, crossAccountMode: 'role-in-bucket-account' }),
          'role account "300000000003" (crossAccountMode role-in-bucket-account) is not allowed by rule "dba-team" (allowed: [200000000002])',
        ],
        [
          'kmsKeyArn outside kmsKeys',
          (r) => ({
            ...r,
            bucket: {
              ...r.bucket,
              kmsKeyArn: 'arn:aws:kms:eu-west-1:300000000003:key/aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee',
            },
          }),
          'kmsKeyArn "arn:aws:kms:eu-west-1:300000000003:key/aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee" is not allowed by rule "dba-team" (allowed: no KMS key)',
        ],
        [
          'kmsKeyArn alias',
          (r) => ({ ...r, bucket: { ...r.bucket, kmsKeyArn: 'arn:aws:kms:eu-west-1:300000000003:alias/backups' } }),
          'kmsKeyArn "arn:aws:kms:eu-west-1:300000000003:alias/backups" is a key alias: guardrails allow key ARNs only',
        ],
        [
          'bare kmsKeyArn alias',
          (r) => ({ ...r, bucket: { ...r.bucket, kmsKeyArn: 'alias/aws/s3' } }),
          'kmsKeyArn "alias/aws/s3" is a key alias',
        ],
      ];
      it.each(cases)('%s', (_name, change, message) => {
        const err = refusal(() => checkGuardrails(example, DBA, change(dbaRequest())));
        expect(err.rule).toBe('dba-team');
        expect(err.message).toContain(message);
      });

      it('access', () => {
        const g = parse({ ...baseDoc(), rules: [{ ...baseDoc().rules[0], access: ['read-only'] }] });
        const ok: OnboardingInput = {
          ...dbaRequest(),
          workload: { ...ekw(), namespace: 'mongodb' },
          bucket: { name: 'demo-backups', accountId: BACKUPS, region: REGION },
          access: 'read-only',
        };
        expect(checkGuardrails(g, DBA, ok)).toEqual({ rule: 'r1' });
        const err = refusal(() => checkGuardrails(g, DBA, { ...ok, access: 'read-write' }));
        expect([err.rule, err.message]).toEqual([
          'r1',
          'access "read-write" is not allowed by rule "r1" (allowed: [read-only])',
        ]);
      });

      it('workload account', () => {
        const doc = baseDoc();
        doc.rules[0].clusters = ['*/eu-west-1/demo'];
        const g = parse(doc);
        const err = refusal(() =>
          checkGuardrails(g, DBA, {
            ...dbaRequest(),
            workload: {
              ...ekw(),
              namespace: 'mongodb',
              clusters: [{ name: 'demo', accountId: BACKUPS, region: REGION }],
            },
            bucket: { name: 'demo-backups', accountId: BACKUPS, region: REGION },
          }),
        );
        expect([err.rule, err.message]).toEqual([
          'r1',
          'workload account "300000000003" is not allowed by rule "r1" (allowed: [200000000002])',
        ]);
      });

      it('ec2 instance role', () => {
        const doc = baseDoc();
        Object.assign(doc.rules[0], { ec2InstanceRoles: ['arn:aws:iam::200000000002:role/pbm-*'] });
        const g = parse(doc);
        expect(checkGuardrails(g, DBA, ec2Request())).toEqual({ rule: 'r1' });
        const other = 'arn:aws:iam::200000000002:role/web-instance-role';
        const err = refusal(() =>
          checkGuardrails(g, DBA, { ...ec2Request(), workload: { type: 'ec2', instanceRoleArn: other } }),
        );
        expect([err.rule, err.message]).toEqual([
          'r1',
          `ec2 instance role "${other}" is not allowed by rule "r1" (allowed: [arn:aws:iam::200000000002:role/pbm-*])`,
        ]);
        // an eks request against an ec2-only rule
        delete (doc.rules[0] as Partial<(typeof doc.rules)[0]>).clusters;
        delete (doc.rules[0] as Partial<(typeof doc.rules)[0]>).namespaces;
        expect(refusal(() => checkGuardrails(parse(doc), DBA, dbaRequest())).message).toContain(
          'eks workload is not allowed by rule "r1" (it lists no clusters; only ec2InstanceRoles)',
        );
      });

      it('an account outside the guardrails accounts, even with a rule matching every bucket name', () => {
        const g = allowAllFromTopology([WORKLOADS]);
        const err = refusal(() =>
          checkGuardrails(g, ADMIN, {
            ...dbaRequest(),
            bucket: { name: 'demo-backups', accountId: BACKUPS, region: REGION },
          }),
        );
        expect(err.rule).toBe('local-allow-all');
        expect(err.message).toContain(
          'bucket "demo-backups" in account "300000000003" is not allowed by rule "local-allow-all"',
        );
        expect(err.message).toContain('bucket account "300000000003" is not in the guardrails accounts');
      });

      it('names every field out of bounds, the namespace in the format of the contract', () => {
        const g = parse({
          ...baseDoc(),
          rules: [
            {
              ...baseDoc().rules[0],
              name: 'dba-team-mongodb',
              namespaces: { exact: ['mongodb'], prefixes: ['team-a-'] },
            },
          ],
        });
        const err = refusal(() =>
          checkGuardrails(g, DBA, { ...dbaRequest(), workload: { ...ekw(), namespace: 'payments' }, tool: 'velero' }),
        );
        expect(err.rule).toBe('dba-team-mongodb');
        expect(err.message).toBe(
          'namespace "payments" is not allowed by rule "dba-team-mongodb" (allowed: exact [mongodb], prefixes [team-a-])',
        );
      });

      it('reports the closest rule: the applying one with the fewest objections', () => {
        const doc = baseDoc();
        const strict = { ...structuredClone(doc.rules[0]), name: 'strict', tools: ['velero'], access: ['read-only'] };
        const loose = { ...structuredClone(doc.rules[0]), name: 'loose', tools: ['velero'] };
        const g = parse({ ...doc, rules: [strict, loose] });
        const req: OnboardingInput = {
          ...dbaRequest(),
          workload: { ...ekw(), namespace: 'mongodb' },
          bucket: { name: 'demo-backups', accountId: BACKUPS, region: REGION },
        };
        const err = refusal(() => checkGuardrails(g, DBA, req));
        expect([err.rule, err.message]).toEqual([
          'loose',
          'tool "pbm" is not allowed by rule "loose" (allowed: [velero])',
        ]);
      });
    });

    describe('prefix boundaries', () => {
      const withPrefix = (prefix: string | undefined): OnboardingInput => ({
        ...dbaRequest(),
        bucket: { ...dbaRequest().bucket, prefix },
      });
      it.each(['team-a/', 'team-a', 'team-a/x/', 'team-a/x', 'team-a/x/y/'])('team-a/ allows %s', (prefix) => {
        expect(checkGuardrails(example, DBA, withPrefix(prefix))).toEqual({ rule: 'dba-team' });
      });
      it.each(['team-a-evil/', 'team-ab/', 'team-ab', 'team-', 'xteam-a/', 'other/team-a/'])(
        'team-a/ refuses %s',
        (prefix) => {
          const err = refusal(() => checkGuardrails(example, DBA, withPrefix(prefix)));
          expect(err.rule).toBe('dba-team');
          expect(err.message).toMatch(/^bucket prefix ".*" is not allowed by rule "dba-team"/);
        },
      );
      it('a rule without prefixes allows the whole bucket and any prefix', () => {
        const g = parse(baseDoc());
        const base: OnboardingInput = { ...dbaRequest(), workload: { ...ekw(), namespace: 'mongodb' } };
        expect(
          checkGuardrails(g, DBA, { ...base, bucket: { name: 'demo-backups', accountId: BACKUPS, region: REGION } }),
        ).toEqual({ rule: 'r1' });
        expect(
          checkGuardrails(g, DBA, {
            ...base,
            bucket: { name: 'demo-backups', accountId: BACKUPS, region: REGION, prefix: 'any/where/' },
          }),
        ).toEqual({ rule: 'r1' });
      });
    });

    it('returns the first rule that allows the request', () => {
      const doc = baseDoc();
      const g = parse({
        ...doc,
        rules: [
          { ...doc.rules[0], name: 'narrow', tools: ['velero'] },
          { ...doc.rules[0], name: 'wide' },
          { ...doc.rules[0], name: 'also' },
        ],
      });
      const req: OnboardingInput = { ...dbaRequest(), workload: { ...ekw(), namespace: 'mongodb' } };
      expect(checkGuardrails(g, DBA, req)).toEqual({ rule: 'wide' });
    });
  });

  describe('Function: allowAllFromTopology', () => {
    const topology = JSON.parse(readFileSync(TOPOLOGY, 'utf8')) as { accounts: string[]; kmsKeys: { arn: string }[] };
    const g = allowAllFromTopology(topology);
    const anyone: Caller = { principal: 'arn:aws:iam::999999999999:user/anyone' };

    it('allows every caller, cluster, namespace, bucket, tool, mode and key of its accounts', () => {
      const requests: OnboardingInput[] = [
        {
          ...dbaRequest(),
          workload: {
            ...ekw(),
            namespace: 'payments',
            clusters: [{ name: 'anything', accountId: WORKLOADS, region: 'us-east-1' }],
          },
          tool: 'velero',
        },
        { ...dbaRequest(), bucket: { name: 'whatever', region: REGION }, access: 'read-only' },
        { ...ec2Request(), crossAccountMode: 'role-in-bucket-account' },
        {
          ...dbaRequest(),
          bucket: { name: 'demo-encrypted-backups', accountId: BACKUPS, region: REGION, kmsKeyArn: KMS_KEY },
        },
      ];
      for (const req of requests) {
        expect(checkGuardrails(g, anyone, req)).toEqual({ rule: 'local-allow-all' });
        expect(checkGuardrails(g, { jwt: { sub: 'x' } }, req)).toEqual({ rule: 'local-allow-all' });
      }
    });

    it('refuses another account, and keys from a bare account list', () => {
      const outside: OnboardingInput = {
        ...dbaRequest(),
        bucket: { name: 'demo-backups', accountId: '400000000004', region: REGION },
      };
      const err = refusal(() => checkGuardrails(g, anyone, outside));
      expect(err.rule).toBe('local-allow-all');
      expect(err.message).toContain('account "400000000004"');
      const cluster = {
        ...dbaRequest(),
        workload: { ...ekw(), clusters: [{ name: 'demo', accountId: '400000000004', region: REGION }] },
      };
      expect(refusal(() => checkGuardrails(g, anyone, cluster)).message).toContain(
        'workload account "400000000004" is not allowed by rule "local-allow-all"',
      );
      const bare = allowAllFromTopology(topology.accounts);
      const keyed = { ...dbaRequest(), bucket: { ...dbaRequest().bucket, kmsKeyArn: KMS_KEY } };
      expect(refusal(() => checkGuardrails(bare, anyone, keyed)).message).toContain(
        'is not allowed by rule "local-allow-all" (allowed: no KMS key)',
      );
      expect(refusal(() => checkGuardrails(g, {}, dbaRequest())).rule).toBe('no-rule-for-caller');
    });
  });
});

/** The eks workload of dbaRequest(). */
function ekw(): Extract<OnboardingInput['workload'], { type: 'eks' }> {
  return dbaRequest().workload as Extract<OnboardingInput['workload'], { type: 'eks' }>;
}

describe('Function: checkGuardrailsAgainstConfig', () => {
  const { checkGuardrailsAgainstConfig } = require('../../../lib/runtime') as typeof import('../../../lib/runtime');

  const { loadConfig } = require('../../../lib/config') as typeof import('../../../lib/config');

  const { loadGuardrails } = require('../../../lib/guardrails/load') as typeof import('../../../lib/guardrails/load');
  const example = loadGuardrails(require('node:path').resolve(__dirname, '../../../examples/guardrails.yaml'));

  it('accepts the example file with the deployed defaults', () => {
    expect(() => checkGuardrailsAgainstConfig(example, loadConfig({}))).not.toThrow();
  });

  it('refuses a file whose role path or boundary is not what is deployed', () => {
    expect(() => checkGuardrailsAgainstConfig(example, loadConfig({ WORKLOAD_ROLE_PATH: '/other/' }))).toThrow(
      /defaults.rolePath \/s3-onboarding\/ is not the deployed \/other\//,
    );
    expect(() => checkGuardrailsAgainstConfig(example, loadConfig({ BOUNDARY_POLICY_NAME: 'another' }))).toThrow(
      /permissionsBoundaryArn/,
    );
  });
});
