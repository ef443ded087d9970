import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { ValidationError, type FieldError } from '../../../lib/errors';
import {
  formatPath,
  onboardingRequestSchema,
  parseListOnboardingsQuery,
  parseOnboardingRequest,
  type OnboardingRequest,
} from '../../../lib/onboarding/request/request';
import {
  BUCKET_NAME_DOC_PATTERN,
  BUCKET_PREFIX_DOC_PATTERN,
  bucketNameSchema,
  bucketPrefixSchema,
} from '../../../lib/onboarding/request/validators';
import { accessLevels } from '../../../lib/policy/actions';
import type { Tool } from '../../../lib/snippets/types';

// ---------- fixtures: the demo topology ----------

const WORKLOADS = '200000000002';
const BACKUPS = '300000000003';
const REGION = 'eu-west-1';
const DEMO = { name: 'demo', accountId: WORKLOADS, region: REGION };
const RESTORE = { name: 'restore', accountId: WORKLOADS, region: REGION };
const INSTANCE_ROLE = 'arn:aws:iam::200000000002:role/pbm-ec2-instance-role';
const KMS_KEY = 'arn:aws:kms:eu-west-1:300000000003:key/11111111-2222-3333-4444-555555555555';
const MRK_KEY = 'arn:aws:kms:eu-west-1:300000000003:key/mrk-1234567890abcdef1234567890abcdef';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Body = { [key: string]: Json };

/** A valid eks request (pbm, cross-account); every test starts from a fresh copy. */
const eksBody = (): Body => ({
  workload: { type: 'eks', clusters: [{ ...DEMO }], namespace: 'mongodb', serviceAccounts: ['pbm-agent'] },
  bucket: { name: 'demo-backups', accountId: BACKUPS, region: REGION, prefix: 'demo/mongodb' },
  tool: 'pbm',
});

/** A valid ec2 request. */
const ec2Body = (): Body => ({
  workload: { type: 'ec2', instanceRoleArn: INSTANCE_ROLE },
  bucket: { name: 'demo-backups', accountId: BACKUPS, region: REGION },
  tool: 'pbm',
});

const DELETE = Symbol('delete');

/** A copy of `body` with the value at a dotted path replaced (or removed with DELETE). */
function withValue(body: Body, path: string, value: Json | typeof DELETE): Body {
  const copy = structuredClone(body);
  const keys = path.split('.');
  let node: Record<string, Json> | Json[] = copy;
  for (const key of keys.slice(0, -1)) {
    let next = (node as Record<string, Json>)[key];
    if (next === undefined || next === null || typeof next !== 'object') {
      next = {};
      (node as Record<string, Json>)[key] = next;
    }
    node = next as Record<string, Json> | Json[];
  }
  const last = keys[keys.length - 1]!;
  if (value === DELETE) delete (node as Record<string, Json>)[last];
  else (node as Record<string, Json>)[last] = value;
  return copy;
}

/** The errors a body is rejected with; fails the test when it is accepted or throws anything else. */
function errorsOf(body: unknown): FieldError[] {
  let thrown: unknown;
  try {
    parseOnboardingRequest(body);
  } catch (e) {
    thrown = e;
  }
  if (thrown === undefined)
    throw new Error(`expected a ValidationError, but the body was accepted: ${JSON.stringify(body)}`);
  expect(thrown).toBeInstanceOf(ValidationError);
  const errors = (thrown as ValidationError).errors;
  expect(errors.length).toBeGreaterThan(0);
  return errors;
}

/** Asserts that every error is at `path` and one of them names the rule. */
function expectRejected(body: unknown, path: string, rule: RegExp): void {
  const errors = errorsOf(body);
  expect([...new Set(errors.map((e) => e.path))]).toEqual([path]);
  expect(errors.map((e) => e.message)).toEqual(expect.arrayContaining([expect.stringMatching(rule)]));
}

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);
/** An RFC 1123 subdomain of exactly `n` characters (n >= 1). */
const subdomainOf = (n: number): string => {
  const labels: string[] = [];
  let left = n;
  while (left > 0) {
    const len = Math.min(63, left);
    labels.push('s'.repeat(len));
    left -= len + 1;
  }
  // a label ending in '.' would leave one character too few: stretch the last label instead
  const s = labels.join('.');
  return s.length === n ? s : `${s}s`;
};
const tags = (n: number): Record<string, string> => Object.fromEntries(range(n).map((i) => [`key-${i}`, `value-${i}`]));

describe('Function: parseOnboardingRequest', () => {
  describe('valid requests', () => {
    it('parses a pbm request, filling the defaults and ending the prefix with /', () => {
      expect(parseOnboardingRequest(eksBody())).toStrictEqual({
        workload: { type: 'eks', clusters: [DEMO], namespace: 'mongodb', serviceAccounts: ['pbm-agent'] },
        bucket: { name: 'demo-backups', accountId: BACKUPS, region: REGION, prefix: 'demo/mongodb/' },
        tool: 'pbm',
        access: 'read-write',
        dryRun: false,
      });
    });

    it('parses a psmdb-operator request across accounts without service accounts (the tool has defaults)', () => {
      const body = {
        workload: { type: 'eks', clusters: [DEMO, RESTORE], namespace: 'mongodb' },
        bucket: { name: 'demo-backups', accountId: BACKUPS, region: REGION, prefix: 'demo/psmdb/' },
        tool: 'psmdb-operator',
        crossAccountMode: 'bucket-policy',
        tags: { ticket: 'OPS-1234' },
      };
      expect(parseOnboardingRequest(body)).toStrictEqual({
        workload: { type: 'eks', clusters: [DEMO, RESTORE], namespace: 'mongodb' },
        bucket: { name: 'demo-backups', accountId: BACKUPS, region: REGION, prefix: 'demo/psmdb/' },
        tool: 'psmdb-operator',
        access: 'read-write',
        crossAccountMode: 'bucket-policy',
        tags: { ticket: 'OPS-1234' },
        dryRun: false,
      });
    });

    it('parses a stackgres request with an SSE-KMS key, keeping explicit access and dryRun', () => {
      const body = {
        workload: { type: 'eks', clusters: [DEMO], namespace: 'postgres', serviceAccounts: ['pg-main-patroni'] },
        bucket: { name: 'demo-encrypted-backups', accountId: BACKUPS, region: REGION, kmsKeyArn: KMS_KEY },
        tool: 'stackgres',
        access: 'read-only',
        dryRun: true,
      };
      expect(parseOnboardingRequest(body)).toStrictEqual({
        workload: { type: 'eks', clusters: [DEMO], namespace: 'postgres', serviceAccounts: ['pg-main-patroni'] },
        bucket: { name: 'demo-encrypted-backups', accountId: BACKUPS, region: REGION, kmsKeyArn: KMS_KEY },
        tool: 'stackgres',
        access: 'read-only',
        dryRun: true,
      });
    });

    it('parses a velero request in role-in-bucket-account mode with a multi-Region key', () => {
      const body = {
        workload: { type: 'eks', clusters: [DEMO], namespace: 'velero' },
        bucket: { name: 'demo-backups', accountId: BACKUPS, region: REGION, prefix: 'velero', kmsKeyArn: MRK_KEY },
        tool: 'velero',
        crossAccountMode: 'role-in-bucket-account',
      };
      expect(parseOnboardingRequest(body)).toStrictEqual({
        workload: { type: 'eks', clusters: [DEMO], namespace: 'velero' },
        bucket: { name: 'demo-backups', accountId: BACKUPS, region: REGION, prefix: 'velero/', kmsKeyArn: MRK_KEY },
        tool: 'velero',
        access: 'read-write',
        crossAccountMode: 'role-in-bucket-account',
        dryRun: false,
      });
    });

    it('parses a mountpoint-s3-csi request in kube-system without service accounts (the driver has one)', () => {
      const body = {
        workload: { type: 'eks', clusters: [DEMO], namespace: 'kube-system', claimNamespace: 'analytics' },
        bucket: { name: 'workload-local-backups', region: REGION },
        tool: 'mountpoint-s3-csi',
        access: 'read-only',
      };
      expect(parseOnboardingRequest(body)).toStrictEqual({
        workload: { type: 'eks', clusters: [DEMO], namespace: 'kube-system', claimNamespace: 'analytics' },
        bucket: { name: 'workload-local-backups', region: REGION },
        tool: 'mountpoint-s3-csi',
        access: 'read-only',
        dryRun: false,
      });
    });

    it('parses a generic eks request with service accounts', () => {
      const body = {
        workload: { type: 'eks', clusters: [DEMO], namespace: 'apps', serviceAccounts: ['app', 'app.worker'] },
        bucket: { name: 'workload-local-backups', accountId: WORKLOADS, region: REGION, prefix: 'apps/' },
        tool: 'generic',
      };
      expect(parseOnboardingRequest(body)).toStrictEqual({ ...body, access: 'read-write', dryRun: false });
    });

    it('parses an ec2 request for pbm', () => {
      expect(parseOnboardingRequest(ec2Body())).toStrictEqual({
        workload: { type: 'ec2', instanceRoleArn: INSTANCE_ROLE },
        bucket: { name: 'demo-backups', accountId: BACKUPS, region: REGION },
        tool: 'pbm',
        access: 'read-write',
        dryRun: false,
      });
    });

    it('parses an ec2 request for generic with a role path and cross-account mode', () => {
      const arn = 'arn:aws:iam::200000000002:role/service-role/ops/generic-ec2';
      const body = {
        ...ec2Body(),
        workload: { type: 'ec2', instanceRoleArn: arn },
        tool: 'generic',
        crossAccountMode: 'role-in-bucket-account',
      };
      expect(parseOnboardingRequest(body)).toStrictEqual({
        workload: { type: 'ec2', instanceRoleArn: arn },
        bucket: { name: 'demo-backups', accountId: BACKUPS, region: REGION },
        tool: 'generic',
        access: 'read-write',
        crossAccountMode: 'role-in-bucket-account',
        dryRun: false,
      });
    });

    it('does not change the input object', () => {
      const body = eksBody();
      const before = structuredClone(body);
      parseOnboardingRequest(body);
      expect(body).toStrictEqual(before);
    });

    it.each([
      ['a', 'a/'],
      ['a/', 'a/'],
      ['demo/mongodb', 'demo/mongodb/'],
      ['x..y/z', 'x..y/z/'],
      ['.hidden/a', '.hidden/a/'],
      ["it's-(fine)!~_=,;:@&$+#%^|'`", "it's-(fine)!~_=,;:@&$+#%^|'`/"],
    ])('normalises the prefix %j to %j', (prefix, expected) => {
      expect(parseOnboardingRequest(withValue(eksBody(), 'bucket.prefix', prefix)).bucket.prefix).toBe(expected);
    });
  });

  describe('field rules', () => {
    // [rule, body, error path, the rule the message must name]
    const cases: Array<[string, Body, string, RegExp]> = [
      // workload
      ['workload missing', withValue(eksBody(), 'workload', DELETE), 'workload', /is required/],
      [
        'unknown workload type',
        withValue(eksBody(), 'workload.type', 'lambda'),
        'workload.type',
        /one of: "eks", "ec2"/,
      ],
      ['workload type missing', withValue(eksBody(), 'workload.type', DELETE), 'workload.type', /one of: "eks", "ec2"/],
      ['clusters missing', withValue(eksBody(), 'workload.clusters', DELETE), 'workload.clusters', /is required/],
      ['no clusters', withValue(eksBody(), 'workload.clusters', []), 'workload.clusters', /1-10 clusters/],
      [
        'cluster name empty',
        withValue(eksBody(), 'workload.clusters.0.name', ''),
        'workload.clusters.0.name',
        /1-100 characters \(EKS cluster name\)/,
      ],
      [
        'cluster name starts with -',
        withValue(eksBody(), 'workload.clusters.0.name', '-demo'),
        'workload.clusters.0.name',
        /start with a letter or digit.*EKS cluster name/,
      ],
      [
        'cluster name with a dot',
        withValue(eksBody(), 'workload.clusters.0.name', 'demo.eu'),
        'workload.clusters.0.name',
        /letters, digits, - and _ \(EKS cluster name\)/,
      ],
      [
        'cluster account 11 digits',
        withValue(eksBody(), 'workload.clusters.0.accountId', '20000000000'),
        'workload.clusters.0.accountId',
        /12-digit AWS account id/,
      ],
      [
        'cluster account 13 digits',
        withValue(eksBody(), 'workload.clusters.0.accountId', '2000000000020'),
        'workload.clusters.0.accountId',
        /12-digit AWS account id/,
      ],
      [
        'cluster account with letters',
        withValue(eksBody(), 'workload.clusters.0.accountId', '20000000000a'),
        'workload.clusters.0.accountId',
        /12-digit AWS account id/,
      ],
      [
        'cluster account as a number',
        withValue(eksBody(), 'workload.clusters.0.accountId', 200000000002),
        'workload.clusters.0.accountId',
        /must be a string, not a number/,
      ],
      [
        'cluster region misspelt',
        withValue(eksBody(), 'workload.clusters.0.region', 'eu-west'),
        'workload.clusters.0.region',
        /AWS region code/,
      ],
      [
        'cluster region upper case',
        withValue(eksBody(), 'workload.clusters.0.region', 'EU-WEST-1'),
        'workload.clusters.0.region',
        /AWS region code/,
      ],
      ['namespace missing', withValue(eksBody(), 'workload.namespace', DELETE), 'workload.namespace', /is required/],
      ['namespace empty', withValue(eksBody(), 'workload.namespace', ''), 'workload.namespace', /RFC 1123 label/],
      [
        'namespace upper case',
        withValue(eksBody(), 'workload.namespace', 'MongoDB'),
        'workload.namespace',
        /RFC 1123 label/,
      ],
      [
        'namespace with a dot',
        withValue(eksBody(), 'workload.namespace', 'mongo.db'),
        'workload.namespace',
        /RFC 1123 label/,
      ],
      [
        'namespace ending with -',
        withValue(eksBody(), 'workload.namespace', 'mongodb-'),
        'workload.namespace',
        /RFC 1123 label/,
      ],
      [
        'no service accounts',
        withValue(eksBody(), 'workload.serviceAccounts', []),
        'workload.serviceAccounts',
        /1-10 service accounts/,
      ],
      [
        'service account upper case',
        withValue(eksBody(), 'workload.serviceAccounts', ['PBM']),
        'workload.serviceAccounts.0',
        /RFC 1123 subdomain/,
      ],
      [
        'service account with ..',
        withValue(eksBody(), 'workload.serviceAccounts', ['a..b']),
        'workload.serviceAccounts.0',
        /RFC 1123 subdomain/,
      ],
      [
        'service account with :',
        withValue(eksBody(), 'workload.serviceAccounts', ['system:serviceaccount:x']),
        'workload.serviceAccounts.0',
        /RFC 1123 subdomain/,
      ],
      [
        'duplicate service account',
        withValue(eksBody(), 'workload.serviceAccounts', ['pbm-agent', 'default', 'pbm-agent']),
        'workload.serviceAccounts.2',
        /duplicate service account/,
      ],
      [
        'instance role missing',
        withValue(ec2Body(), 'workload.instanceRoleArn', DELETE),
        'workload.instanceRoleArn',
        /is required/,
      ],
      [
        'instance role is a user',
        withValue(ec2Body(), 'workload.instanceRoleArn', 'arn:aws:iam::200000000002:user/pbm'),
        'workload.instanceRoleArn',
        /IAM role ARN/,
      ],
      [
        'instance profile instead of role',
        withValue(ec2Body(), 'workload.instanceRoleArn', 'arn:aws:iam::200000000002:instance-profile/pbm'),
        'workload.instanceRoleArn',
        /IAM role ARN/,
      ],
      [
        'instance role name of 65',
        withValue(ec2Body(), 'workload.instanceRoleArn', `arn:aws:iam::200000000002:role/${'r'.repeat(65)}`),
        'workload.instanceRoleArn',
        /name: 1-64/,
      ],
      [
        'instance role with a region',
        withValue(ec2Body(), 'workload.instanceRoleArn', 'arn:aws:iam:eu-west-1:200000000002:role/pbm'),
        'workload.instanceRoleArn',
        /IAM role ARN/,
      ],
      [
        'instance role with a wildcard',
        withValue(ec2Body(), 'workload.instanceRoleArn', 'arn:aws:iam::200000000002:role/*'),
        'workload.instanceRoleArn',
        /IAM role ARN/,
      ],
      [
        'instance role with a .. path segment',
        withValue(ec2Body(), 'workload.instanceRoleArn', 'arn:aws:iam::200000000002:role/a/../pbm'),
        'workload.instanceRoleArn',
        /"\." or "\.\." path segment/,
      ],
      // bucket
      ['bucket missing', withValue(eksBody(), 'bucket', DELETE), 'bucket', /is required/],
      ['bucket name missing', withValue(eksBody(), 'bucket.name', DELETE), 'bucket.name', /is required/],
      [
        'bucket name upper case',
        withValue(eksBody(), 'bucket.name', 'Demo-backups'),
        'bucket.name',
        /lowercase letters, digits, dots and hyphens/,
      ],
      [
        'bucket name with _',
        withValue(eksBody(), 'bucket.name', 'demo_backups'),
        'bucket.name',
        /lowercase letters, digits, dots and hyphens/,
      ],
      [
        'bucket name starting with -',
        withValue(eksBody(), 'bucket.name', '-demo'),
        'bucket.name',
        /begin and end with a lowercase letter or digit/,
      ],
      [
        'bucket name ending with .',
        withValue(eksBody(), 'bucket.name', 'demo.'),
        'bucket.name',
        /begin and end with a lowercase letter or digit/,
      ],
      [
        'bucket name with ..',
        withValue(eksBody(), 'bucket.name', 'demo..backups'),
        'bucket.name',
        /two adjacent periods/,
      ],
      ['bucket name an IP address', withValue(eksBody(), 'bucket.name', '192.168.5.4'), 'bucket.name', /IP address/],
      ['bucket name xn--', withValue(eksBody(), 'bucket.name', 'xn--demo'), 'bucket.name', /reserved prefix/],
      ['bucket name sthree-', withValue(eksBody(), 'bucket.name', 'sthree-demo'), 'bucket.name', /reserved prefix/],
      [
        'bucket name sthree-configurator',
        withValue(eksBody(), 'bucket.name', 'sthree-configurator-x'),
        'bucket.name',
        /reserved prefix/,
      ],
      [
        'bucket name amzn-s3-demo-',
        withValue(eksBody(), 'bucket.name', 'amzn-s3-demo-bucket'),
        'bucket.name',
        /reserved prefix/,
      ],
      ['bucket name -s3alias', withValue(eksBody(), 'bucket.name', 'demo-s3alias'), 'bucket.name', /reserved suffix/],
      ['bucket name --ol-s3', withValue(eksBody(), 'bucket.name', 'demo--ol-s3'), 'bucket.name', /reserved suffix/],
      ['bucket name .mrap', withValue(eksBody(), 'bucket.name', 'demo.mrap'), 'bucket.name', /reserved suffix/],
      [
        'bucket name --x-s3',
        withValue(eksBody(), 'bucket.name', 'demo--usw2-az1--x-s3'),
        'bucket.name',
        /reserved suffix/,
      ],
      [
        'bucket name --table-s3',
        withValue(eksBody(), 'bucket.name', 'demo--table-s3'),
        'bucket.name',
        /reserved suffix/,
      ],
      [
        'bucket account of 11 digits',
        withValue(eksBody(), 'bucket.accountId', '30000000000'),
        'bucket.accountId',
        /12-digit AWS account id/,
      ],
      ['bucket region missing', withValue(eksBody(), 'bucket.region', DELETE), 'bucket.region', /is required/],
      [
        'bucket region of a partition we do not support',
        withValue(eksBody(), 'bucket.region', 'cn-north-1x'),
        'bucket.region',
        /AWS region code/,
      ],
      ['prefix empty', withValue(eksBody(), 'bucket.prefix', ''), 'bucket.prefix', /1-512 characters/],
      [
        'prefix starting with /',
        withValue(eksBody(), 'bucket.prefix', '/demo'),
        'bucket.prefix',
        /must not start with \//,
      ],
      ['prefix /', withValue(eksBody(), 'bucket.prefix', '/'), 'bucket.prefix', /must not start with \//],
      [
        'prefix with //',
        withValue(eksBody(), 'bucket.prefix', 'demo//mongodb'),
        'bucket.prefix',
        /must not contain \/\//,
      ],
      [
        'prefix with a .. segment',
        withValue(eksBody(), 'bucket.prefix', 'demo/../etc'),
        'bucket.prefix',
        /"\." or "\.\." segment/,
      ],
      [
        'prefix ending in a .. segment',
        withValue(eksBody(), 'bucket.prefix', 'demo/..'),
        'bucket.prefix',
        /"\." or "\.\." segment/,
      ],
      [
        'prefix with a . segment',
        withValue(eksBody(), 'bucket.prefix', './demo'),
        'bucket.prefix',
        /"\." or "\.\." segment/,
      ],
      ['prefix with *', withValue(eksBody(), 'bucket.prefix', 'demo/*'), 'bucket.prefix', /wildcards \* or \?/],
      ['prefix with ?', withValue(eksBody(), 'bucket.prefix', 'demo?'), 'bucket.prefix', /wildcards \* or \?/],
      ['prefix with a space', withValue(eksBody(), 'bucket.prefix', 'my backups'), 'bucket.prefix', /printable ASCII/],
      ['prefix with a tab', withValue(eksBody(), 'bucket.prefix', 'a\tb'), 'bucket.prefix', /printable ASCII/],
      ['prefix with DEL', withValue(eksBody(), 'bucket.prefix', 'a\x7Fb'), 'bucket.prefix', /printable ASCII/],
      [
        'prefix with non-ASCII',
        withValue(eksBody(), 'bucket.prefix', 'sauvegardes/été'),
        'bucket.prefix',
        /printable ASCII/,
      ],
      [
        'prefix with "',
        withValue(eksBody(), 'bucket.prefix', 'a"b'),
        'bucket.prefix',
        /must not contain ", \\, \{ or \}/,
      ],
      [
        'prefix with \\',
        withValue(eksBody(), 'bucket.prefix', 'a\\b'),
        'bucket.prefix',
        /must not contain ", \\, \{ or \}/,
      ],
      [
        'prefix with {',
        withValue(eksBody(), 'bucket.prefix', 'a{b'),
        'bucket.prefix',
        /must not contain ", \\, \{ or \}/,
      ],
      [
        'prefix with a policy variable',
        withValue(eksBody(), 'bucket.prefix', 'home/${aws:username}'),
        'bucket.prefix',
        /must not contain ", \\, \{ or \}/,
      ],
      [
        'kms key alias name',
        withValue(eksBody(), 'bucket.kmsKeyArn', 'alias/backups'),
        'bucket.kmsKeyArn',
        /not an alias: use the key ARN/,
      ],
      [
        'kms key alias ARN',
        withValue(eksBody(), 'bucket.kmsKeyArn', 'arn:aws:kms:eu-west-1:300000000003:alias/backups'),
        'bucket.kmsKeyArn',
        /not an alias: use the key ARN/,
      ],
      [
        'kms key id without ARN',
        withValue(eksBody(), 'bucket.kmsKeyArn', '11111111-2222-3333-4444-555555555555'),
        'bucket.kmsKeyArn',
        /KMS key ARN/,
      ],
      [
        'kms key with upper-case id',
        withValue(
          eksBody(),
          'bucket.kmsKeyArn',
          'arn:aws:kms:eu-west-1:300000000003:key/11111111-2222-3333-4444-AAAAAAAAAAAA',
        ),
        'bucket.kmsKeyArn',
        /KMS key ARN/,
      ],
      [
        'kms multi-Region key id too short',
        withValue(eksBody(), 'bucket.kmsKeyArn', 'arn:aws:kms:eu-west-1:300000000003:key/mrk-1234'),
        'bucket.kmsKeyArn',
        /multi-Region/,
      ],
      // tool, access, crossAccountMode, dryRun
      ['tool missing', withValue(eksBody(), 'tool', DELETE), 'tool', /is required/],
      [
        'unknown tool',
        withValue(eksBody(), 'tool', 'restic'),
        'tool',
        /one of: "pbm", "psmdb-operator", "stackgres", "velero", "mountpoint-s3-csi", "generic"/,
      ],
      ['tool in upper case', withValue(eksBody(), 'tool', 'PBM'), 'tool', /one of:/],
      [
        'unknown access',
        withValue(eksBody(), 'access', 'write-only'),
        'access',
        /one of: "read-write", "restore", "read-only"/,
      ],
      [
        'unknown cross-account mode',
        withValue(eksBody(), 'crossAccountMode', 'assume-role'),
        'crossAccountMode',
        /one of: "bucket-policy", "role-in-bucket-account"/,
      ],
      ['dryRun as a string', withValue(eksBody(), 'dryRun', 'true'), 'dryRun', /must be a boolean, not a string/],
      ['dryRun as null', withValue(eksBody(), 'dryRun', null), 'dryRun', /must be a boolean, not null/],
      // tags
      [
        'tag key with aws:',
        withValue(eksBody(), 'tags', { 'aws:cloudformation:stack-name': 'x' }),
        'tags["aws:cloudformation:stack-name"]',
        /reserved prefix: aws:, s3-onboarding/,
      ],
      [
        'tag key with AWS: in upper case',
        withValue(eksBody(), 'tags', { 'AWS:x': 'x' }),
        'tags["AWS:x"]',
        /reserved prefix/,
      ],
      [
        'tag key of the service',
        withValue(eksBody(), 'tags', { 's3-onboarding-id': 'x' }),
        'tags.s3-onboarding-id',
        /reserved prefix/,
      ],
      [
        'tag key of the service in other case',
        withValue(eksBody(), 'tags', { 'S3-Onboarding': 'x' }),
        'tags.S3-Onboarding',
        /reserved prefix/,
      ],
      [
        'tag key managed-by (the service recognises its roles by it)',
        withValue(eksBody(), 'tags', { 'Managed-By': 'me' }),
        'tags.Managed-By',
        /must not be managed-by/,
      ],
      ['tag key empty', withValue(eksBody(), 'tags', { '': 'x' }), 'tags[""]', /1-128 characters \(tag key\)/],
      [
        'tag key with *',
        withValue(eksBody(), 'tags', { 'a*': 'x' }),
        'tags["a*"]',
        /tag key may contain only letters, digits, spaces/,
      ],
      [
        'tag value with ,',
        withValue(eksBody(), 'tags', { team: 'a,b' }),
        'tags.team',
        /tag value may contain only letters, digits, spaces/,
      ],
      [
        'tag value with a line separator',
        withValue(eksBody(), 'tags', { team: 'a\u2028b' }),
        'tags.team',
        /tag value may contain only/,
      ],
      [
        'tag value as a number',
        withValue(eksBody(), 'tags', { team: 7 }),
        'tags.team',
        /must be a string, not a number/,
      ],
      [
        'tag keys differing only in case',
        withValue(eksBody(), 'tags', { Team: 'a', team: 'b' }),
        'tags.team',
        /differing only in case/,
      ],
      ['tags as an array', withValue(eksBody(), 'tags', ['team']), 'tags', /must be a record, not an array/],
      // unknown fields
      ['unknown top-level field', withValue(eksBody(), 'owner', 'me'), 'owner', /not an allowed field/],
      [
        'unknown workload field',
        withValue(eksBody(), 'workload.roleName', 'x'),
        'workload.roleName',
        /not an allowed field/,
      ],
      [
        'eks field on an ec2 workload',
        withValue(ec2Body(), 'workload.namespace', 'mongodb'),
        'workload.namespace',
        /not an allowed field/,
      ],
      [
        'unknown cluster field',
        withValue(eksBody(), 'workload.clusters.0.oidcIssuer', 'https://x'),
        'workload.clusters.0.oidcIssuer',
        /not an allowed field/,
      ],
      [
        'unknown bucket field',
        withValue(eksBody(), 'bucket.arn', 'arn:aws:s3:::demo-backups'),
        'bucket.arn',
        /not an allowed field/,
      ],
      [
        'unknown field with a dot in its name',
        withValue(eksBody(), 'bucket', { ...(eksBody().bucket as Body), 'a.b': 1 }),
        'bucket["a.b"]',
        /not an allowed field/,
      ],
    ];

    it.each(cases)('rejects %s', (_rule, body, path, rule) => {
      expectRejected(body, path, rule);
    });

    it('reports an unknown __proto__ field at its own path', () => {
      expectRejected(
        JSON.parse(
          '{"__proto__":{"x":1},"workload":{"type":"ec2","instanceRoleArn":"arn:aws:iam::200000000002:role/r"},"bucket":{"name":"abc","region":"eu-west-1"},"tool":"pbm"}',
        ),
        '__proto__',
        /not an allowed field/,
      );
    });

    it('rejects a __proto__ tag key rather than dropping it', () => {
      const body = { ...eksBody(), tags: JSON.parse('{"__proto__":"x","team":"db"}') };
      expectRejected(body, 'tags.__proto__', /tag key __proto__ is not allowed/);
    });

    it('lists one error per unknown field', () => {
      const errors = errorsOf({ ...eksBody(), a: 1, b: 2, bucket: { ...(eksBody().bucket as Body), c: 3 } });
      expect(errors.map((e) => e.path).sort()).toEqual(['a', 'b', 'bucket.c']);
    });

    it('lists every failing field at once', () => {
      const body = withValue(
        withValue(withValue(eksBody(), 'bucket.name', 'A'), 'workload.namespace', 'Mongo'),
        'tool',
        'x',
      );
      expect([...new Set(errorsOf(body).map((e) => e.path))].sort()).toEqual([
        'bucket.name',
        'tool',
        'workload.namespace',
      ]);
    });
  });

  describe('limits', () => {
    // [field, body at the limit, body just past it, error path, rule]
    const limits: Array<[string, Body, Body, string, RegExp]> = [
      [
        'namespace 63/64',
        withValue(eksBody(), 'workload.namespace', 'n'.repeat(63)),
        withValue(eksBody(), 'workload.namespace', 'n'.repeat(64)),
        'workload.namespace',
        /1-63 characters \(RFC 1123 label\)/,
      ],
      [
        'service account 253/254',
        withValue(eksBody(), 'workload.serviceAccounts', [subdomainOf(253)]),
        withValue(eksBody(), 'workload.serviceAccounts', [subdomainOf(254)]),
        'workload.serviceAccounts.0',
        /1-253 characters \(RFC 1123 subdomain\)/,
      ],
      [
        'service accounts 10/11',
        withValue(
          eksBody(),
          'workload.serviceAccounts',
          range(10).map((i) => `sa-${i}`),
        ),
        withValue(
          eksBody(),
          'workload.serviceAccounts',
          range(11).map((i) => `sa-${i}`),
        ),
        'workload.serviceAccounts',
        /1-10 service accounts/,
      ],
      [
        'bucket name 3/2',
        withValue(eksBody(), 'bucket.name', 'abc'),
        withValue(eksBody(), 'bucket.name', 'ab'),
        'bucket.name',
        /3-63 characters \(S3 bucket naming rules\)/,
      ],
      [
        'bucket name 63/64',
        withValue(eksBody(), 'bucket.name', 'b'.repeat(63)),
        withValue(eksBody(), 'bucket.name', 'b'.repeat(64)),
        'bucket.name',
        /3-63 characters \(S3 bucket naming rules\)/,
      ],
      [
        'prefix 512/513',
        withValue(eksBody(), 'bucket.prefix', `${'p'.repeat(511)}/`),
        withValue(eksBody(), 'bucket.prefix', `${'p'.repeat(512)}/`),
        'bucket.prefix',
        /1-512 characters \(bucket prefix\)/,
      ],
      [
        'prefix 511/512 without the trailing /',
        withValue(eksBody(), 'bucket.prefix', 'p'.repeat(511)),
        withValue(eksBody(), 'bucket.prefix', 'p'.repeat(512)),
        'bucket.prefix',
        /at most 512 characters including the trailing \//,
      ],
      [
        'tags 40/41',
        withValue(eksBody(), 'tags', tags(40)),
        withValue(eksBody(), 'tags', tags(41)),
        'tags',
        /at most 40 tags/,
      ],
      [
        'tag key 128/129',
        withValue(eksBody(), 'tags', { ['k'.repeat(128)]: 'v' }),
        withValue(eksBody(), 'tags', { ['k'.repeat(129)]: 'v' }),
        `tags["${'k'.repeat(100)}..."]`,
        /1-128 characters \(tag key\)/,
      ],
      [
        'tag value 256/257',
        withValue(eksBody(), 'tags', { team: 'v'.repeat(256) }),
        withValue(eksBody(), 'tags', { team: 'v'.repeat(257) }),
        'tags.team',
        /0-256 characters \(tag value\)/,
      ],
      [
        'clusters 10/11',
        withValue(
          eksBody(),
          'workload.clusters',
          range(10).map((i) => ({ ...DEMO, name: `c${i}` })),
        ),
        withValue(
          eksBody(),
          'workload.clusters',
          range(11).map((i) => ({ ...DEMO, name: `c${i}` })),
        ),
        'workload.clusters',
        /1-10 clusters/,
      ],
      [
        'cluster name 100/101',
        withValue(eksBody(), 'workload.clusters.0.name', 'c'.repeat(100)),
        withValue(eksBody(), 'workload.clusters.0.name', 'c'.repeat(101)),
        'workload.clusters.0.name',
        /1-100 characters \(EKS cluster name\)/,
      ],
      [
        'instance role name 64/65',
        withValue(ec2Body(), 'workload.instanceRoleArn', `arn:aws:iam::200000000002:role/${'r'.repeat(64)}`),
        withValue(ec2Body(), 'workload.instanceRoleArn', `arn:aws:iam::200000000002:role/${'r'.repeat(65)}`),
        'workload.instanceRoleArn',
        /name: 1-64/,
      ],
    ];

    it.each(limits)('accepts %s at the limit and rejects it just past', (_field, atLimit, pastLimit, path, rule) => {
      expect(() => parseOnboardingRequest(atLimit)).not.toThrow();
      expectRejected(pastLimit, path, rule);
    });

    it('cuts a path segment over 100 characters', () => {
      expect(formatPath(['tags', 'k'.repeat(129)])).toBe(`tags["${'k'.repeat(100)}..."]`);
    });

    it('keeps a prefix of exactly 512 characters ending with / as it is', () => {
      const prefix = `${'p'.repeat(511)}/`;
      expect(parseOnboardingRequest(withValue(eksBody(), 'bucket.prefix', prefix)).bucket.prefix).toBe(prefix);
    });
  });

  describe('hostile strings', () => {
    const HOSTILE: Array<[string, string]> = [
      ['a double quote', '"'],
      ['a newline', '\n'],
      ['a policy variable', '${'],
      ['a right-to-left override', '\u202E'],
      ['a NUL', '\u0000'],
      ['a parent segment', '../'],
      ['a wildcard', '*'],
    ];

    // [field, where the value goes in which body, the error path, how to put the hostile text into a valid value]
    type Field = [string, () => Body, string, (h: string) => Json];
    const FIELDS: Field[] = [
      ['workload.type', eksBody, 'workload.type', (h) => `eks${h}`],
      ['workload.clusters.0.name', eksBody, 'workload.clusters.0.name', (h) => `demo${h}`],
      ['workload.clusters.0.accountId', eksBody, 'workload.clusters.0.accountId', (h) => `${WORKLOADS}${h}`],
      ['workload.clusters.0.region', eksBody, 'workload.clusters.0.region', (h) => `${REGION}${h}`],
      ['workload.namespace', eksBody, 'workload.namespace', (h) => `mongodb${h}`],
      ['workload.serviceAccounts.0', eksBody, 'workload.serviceAccounts.0', (h) => `pbm-agent${h}`],
      [
        'workload.instanceRoleArn',
        ec2Body,
        'workload.instanceRoleArn',
        (h) => INSTANCE_ROLE.replace('role/', `role/${h}`),
      ],
      ['bucket.name', eksBody, 'bucket.name', (h) => `demo-backups${h}`],
      ['bucket.accountId', eksBody, 'bucket.accountId', (h) => `${BACKUPS}${h}`],
      ['bucket.region', eksBody, 'bucket.region', (h) => `${REGION}${h}`],
      ['bucket.prefix', eksBody, 'bucket.prefix', (h) => `demo/${h}x`],
      ['bucket.kmsKeyArn', eksBody, 'bucket.kmsKeyArn', (h) => `${KMS_KEY}${h}`],
      ['tool', eksBody, 'tool', (h) => `pbm${h}`],
      ['access', eksBody, 'access', (h) => `read-only${h}`],
      ['crossAccountMode', eksBody, 'crossAccountMode', (h) => `bucket-policy${h}`],
    ];

    const cases = FIELDS.flatMap(([field, body, path, embed]) =>
      HOSTILE.flatMap(([name, h]) => [
        [field, `${name} alone`, body, path, h] as const,
        [field, `${name} inside a valid value`, body, path, embed(h)] as const,
      ]),
    );

    it.each(cases)('rejects %s holding %s', (field, _name, body, path, value) => {
      const errors = errorsOf(withValue(body(), field, value as Json));
      expect([...new Set(errors.map((e) => e.path))]).toEqual([path]);
    });

    // IAM allows "." and "/" in tags, and tags are plain data (never paths, policies or YAML keys): "../" is
    // the one hostile text a tag may hold. Every other one is refused in keys and values.
    const TAG_HOSTILE = HOSTILE.filter(([, h]) => h !== '../');

    it.each(TAG_HOSTILE)('rejects a tag key holding %s', (_name, h) => {
      for (const key of [h, `team${h}`]) {
        const errors = errorsOf(withValue(eksBody(), 'tags', { [key]: 'x' }));
        expect(errors.map((e) => e.path)).toEqual([formatPath(['tags', key])]);
        expect(errors[0]!.message).toMatch(/tag key may contain only/);
      }
    });

    it.each(TAG_HOSTILE)('rejects a tag value holding %s', (_name, h) => {
      for (const value of [h, `db${h}`]) {
        expectRejected(withValue(eksBody(), 'tags', { team: value }), 'tags.team', /tag value may contain only/);
      }
    });

    it('accepts ../ in tags, as IAM does', () => {
      expect(parseOnboardingRequest(withValue(eksBody(), 'tags', { '../': '../' })).tags).toStrictEqual({
        '../': '../',
      });
    });

    it('escapes hostile characters in the paths of unknown fields', () => {
      const errors = errorsOf({ ...eksBody(), '\u202Eevil\n"': 1, '${x}': 2 });
      expect(errors.map((e) => e.path)).toEqual(['["\\u202eevil\\n\\""]', '["${x}"]']);
      for (const e of errors) expect(e.path).toMatch(/^[\x20-\x7E]*$/);
    });
  });

  describe('malformed types', () => {
    it.each([
      ['a string', 'pbm', 'must be a JSON object, not a string'],
      ['an array', [eksBody()], 'must be a JSON object, not an array'],
      ['a number', 42, 'must be a JSON object, not a number'],
      ['null', null, 'must be a JSON object, not null'],
      ['a boolean', true, 'must be a JSON object, not a boolean'],
      ['nothing', undefined, 'is required'],
    ])('rejects a body that is %s', (_what, body, message) => {
      expect(errorsOf(body)).toEqual([{ path: '', message }]);
    });

    it.each([
      ['workload', 'eks', 'workload', /must be a JSON object, not a string/],
      ['workload', [], 'workload', /must be a JSON object, not an array/],
      ['bucket', ['demo-backups'], 'bucket', /must be a JSON object, not an array/],
      ['bucket', 'demo-backups', 'bucket', /must be a JSON object, not a string/],
      ['workload.clusters', { name: 'demo' }, 'workload.clusters', /must be an array, not an object/],
      ['workload.clusters.0', 'demo', 'workload.clusters.0', /must be a JSON object, not a string/],
      ['workload.namespace', 7, 'workload.namespace', /must be a string, not a number/],
      ['workload.serviceAccounts', 'pbm-agent', 'workload.serviceAccounts', /must be an array, not a string/],
      ['bucket.name', 123, 'bucket.name', /must be a string, not a number/],
      ['bucket.prefix', ['a'], 'bucket.prefix', /must be a string, not an array/],
      ['bucket.region', null, 'bucket.region', /must be a string, not null/],
      ['tool', 1, 'tool', /one of:/],
      ['tags', 'team=db', 'tags', /must be a record, not a string/],
    ] as Array<[string, Json, string, RegExp]>)('rejects %s given %j', (field, value, path, rule) => {
      expectRejected(withValue(eksBody(), field, value), path, rule);
    });
  });

  describe('partitions', () => {
    it.each(['aws-cn', 'aws-us-gov', 'aws-iso', 'aws-iso-b'])(
      'rejects an instance role in the %s partition',
      (partition) => {
        expectRejected(
          withValue(
            ec2Body(),
            'workload.instanceRoleArn',
            `arn:${partition}:iam::200000000002:role/pbm-ec2-instance-role`,
          ),
          'workload.instanceRoleArn',
          /only the aws partition is supported/,
        );
      },
    );

    it.each([
      ['aws-cn', 'cn-north-1'],
      ['aws-us-gov', 'us-gov-west-1'],
    ])('rejects a KMS key in the %s partition', (partition, region) => {
      expectRejected(
        withValue(
          eksBody(),
          'bucket.kmsKeyArn',
          `arn:${partition}:kms:${region}:300000000003:key/11111111-2222-3333-4444-555555555555`,
        ),
        'bucket.kmsKeyArn',
        /only the aws partition is supported/,
      );
    });

    it.each(['us-gov-west-1', 'us-gov-east-1', 'cn-north-1', 'cn-northwest-1'])(
      'rejects region %s of another partition, naming each field',
      (region) => {
        const body = withValue(withValue(eksBody(), 'bucket.region', region), 'workload.clusters.0.region', region);
        const err = (() => {
          try {
            parseOnboardingRequest(body);
          } catch (e) {
            return e as ValidationError;
          }
          throw new Error('accepted');
        })();
        expect(err.errors.map((e) => e.path).sort()).toEqual(['bucket.region', 'workload.clusters.0.region']);
        expect(err.errors[0].message).toMatch(
          /must be a region of the aws partition: GovCloud \(aws-us-gov\) and China \(aws-cn\)/,
        );
      },
    );
  });

  describe('rules across fields', () => {
    it.each(['psmdb-operator', 'stackgres', 'velero', 'mountpoint-s3-csi'])(
      'rejects tool %s for an ec2 workload',
      (tool) => {
        expectRejected(withValue(ec2Body(), 'tool', tool), 'tool', /must be pbm or generic for an ec2 workload/);
      },
    );

    it.each(['pbm', 'stackgres', 'generic'])('requires service accounts for %s (no default)', (tool) => {
      const body = withValue(withValue(eksBody(), 'tool', tool), 'workload.serviceAccounts', DELETE);
      expectRejected(
        body,
        'workload.serviceAccounts',
        new RegExp(`is required for tool ${tool} \\(it has no default service account\\)`),
      );
    });

    it('requires service accounts for mountpoint-s3-csi outside kube-system', () => {
      const body = withValue(withValue(eksBody(), 'tool', 'mountpoint-s3-csi'), 'workload.serviceAccounts', DELETE);
      expectRejected(
        body,
        'workload.serviceAccounts',
        /required for tool mountpoint-s3-csi outside namespace kube-system/,
      );
    });

    it.each([
      ['psmdb-operator', 'mongodb'],
      ['velero', 'velero'],
      ['velero', 'backup'],
      ['mountpoint-s3-csi', 'kube-system'],
    ])('does not require service accounts for %s in %s', (tool, namespace) => {
      const extra = tool === 'mountpoint-s3-csi' ? { claimNamespace: 'analytics' } : {};
      let body = withValue(
        withValue(withValue(eksBody(), 'tool', tool), 'workload.serviceAccounts', DELETE),
        'workload.namespace',
        namespace,
      );
      if (tool === 'mountpoint-s3-csi') body = withValue(body, 'workload.claimNamespace', 'analytics');
      expect(parseOnboardingRequest(body).workload).toStrictEqual({
        type: 'eks',
        clusters: [DEMO],
        namespace,
        ...extra,
      });
    });

    // the levels each tool can work with (docs/tool-research.md §1, read from the tools' source)
    it.each([
      ['pbm', 'read-only', /one of: "read-write", "restore" for tool pbm \(read-only: resync .*\.pbm\.init/],
      ['psmdb-operator', 'read-only', /one of: "read-write", "restore" for tool psmdb-operator/],
      ['velero', 'read-only', /one of: "read-write", "restore" for tool velero \(read-only: a restore uploads its log/],
      ['mountpoint-s3-csi', 'restore', /one of: "read-write", "read-only" for tool mountpoint-s3-csi/],
      ['generic', 'restore', /one of: "read-write", "read-only" for tool generic/],
    ])('rejects tool %s with access %s, naming the levels it can work with', (tool, access, rule) => {
      const sas =
        tool === 'mountpoint-s3-csi' || tool === 'generic' ? ['app'] : tool === 'velero' ? DELETE : ['pbm-agent'];
      expectRejected(
        withValue(withValue(withValue(eksBody(), 'tool', tool), 'access', access), 'workload.serviceAccounts', sas),
        'access',
        rule,
      );
    });

    it.each([
      ['pbm', 'restore'],
      ['psmdb-operator', 'restore'],
      ['velero', 'restore'],
      ['stackgres', 'restore'],
      ['stackgres', 'read-only'],
      ['mountpoint-s3-csi', 'read-only'],
      ['generic', 'read-only'],
    ])('accepts tool %s with access %s', (tool, access) => {
      const sas =
        tool === 'stackgres' ? ['main-patroni'] : tool === 'velero' || tool === 'psmdb-operator' ? DELETE : ['app'];
      const body = withValue(
        withValue(withValue(eksBody(), 'tool', tool), 'access', access),
        'workload.serviceAccounts',
        sas,
      );
      expect(parseOnboardingRequest(body).access).toBe(access);
    });

    it('requires workload.claimNamespace for mountpoint-s3-csi with driver-level credentials', () => {
      const body = withValue(
        withValue(withValue(eksBody(), 'tool', 'mountpoint-s3-csi'), 'workload.serviceAccounts', ['s3-csi-driver-sa']),
        'workload.namespace',
        'kube-system',
      );
      expectRejected(
        body,
        'workload.claimNamespace',
        /is required for mountpoint-s3-csi with driver-level credentials \(kube-system\/s3-csi-driver-sa\): the namespace of the pods that mount the volume/,
      );
    });

    it('rejects a workload.claimNamespace other than the namespace with pod-level credentials, and for other tools', () => {
      const mp = withValue(
        withValue(withValue(eksBody(), 'tool', 'mountpoint-s3-csi'), 'workload.serviceAccounts', ['reader']),
        'workload.claimNamespace',
        'elsewhere',
      );
      expectRejected(mp, 'workload.claimNamespace', /must equal workload.namespace with pod-level credentials/);
      expect(parseOnboardingRequest(withValue(mp, 'workload.claimNamespace', 'mongodb')).workload).toMatchObject({
        claimNamespace: 'mongodb',
      });
      expectRejected(
        withValue(eksBody(), 'workload.claimNamespace', 'mongodb'),
        'workload.claimNamespace',
        /only for tool mountpoint-s3-csi/,
      );
    });

    it('takes workload.velero for velero only: helm needs the release name unless the service account is named, and one service account', () => {
      const velero = withValue(
        withValue(withValue(eksBody(), 'tool', 'velero'), 'workload.serviceAccounts', DELETE),
        'workload.namespace',
        'velero',
      );
      expect(
        parseOnboardingRequest(
          withValue(velero, 'workload.velero', { installMethod: 'helm', helmReleaseName: 'backup' }),
        ).workload,
      ).toMatchObject({
        velero: { installMethod: 'helm', helmReleaseName: 'backup' },
      });
      expect(
        parseOnboardingRequest(withValue(velero, 'workload.velero', { installMethod: 'cli' })).workload,
      ).toMatchObject({ velero: { installMethod: 'cli' } });
      expectRejected(
        withValue(velero, 'workload.velero', { installMethod: 'helm' }),
        'workload.velero.helmReleaseName',
        /is required for a Helm install of Velero/,
      );
      expect(() =>
        parseOnboardingRequest(
          withValue(withValue(velero, 'workload.velero', { installMethod: 'helm' }), 'workload.serviceAccounts', [
            'velero-server',
          ]),
        ),
      ).not.toThrow();
      expectRejected(
        withValue(withValue(velero, 'workload.velero', { installMethod: 'cli' }), 'workload.serviceAccounts', [
          'a',
          'b',
        ]),
        'workload.serviceAccounts',
        /must name one service account/,
      );
      expectRejected(
        withValue(velero, 'workload.velero', { installMethod: 'cli', helmReleaseName: 'x' }),
        'workload.velero.helmReleaseName',
        /not an allowed field/,
      );
      expectRejected(
        withValue(velero, 'workload.velero', { installMethod: 'helm', helmReleaseName: 'Backup' }),
        'workload.velero.helmReleaseName',
        /RFC 1123/,
      );
      expectRejected(
        withValue(eksBody(), 'workload.velero', { installMethod: 'cli' }),
        'workload.velero',
        /only for tool velero/,
      );
    });

    it('requires <sgcluster>-patroni service accounts for stackgres', () => {
      const sg = withValue(withValue(eksBody(), 'tool', 'stackgres'), 'workload.serviceAccounts', [
        'main-patroni',
        'postgres',
      ]);
      expectRejected(sg, 'workload.serviceAccounts.1', /must be <sgcluster>-patroni for tool stackgres/);
      expectRejected(
        withValue(sg, 'workload.serviceAccounts', ['patroni']),
        'workload.serviceAccounts.0',
        /<sgcluster>-patroni/,
      );
    });

    it('accepts clusters in several accounts only with crossAccountMode role-in-bucket-account (one role in the bucket account)', () => {
      const clusters = [DEMO, { ...RESTORE, accountId: '400000000004' }];
      const body = withValue(eksBody(), 'workload.clusters', clusters);
      expectRejected(
        body,
        'crossAccountMode',
        /must be role-in-bucket-account when the clusters are in several accounts/,
      );
      expect(
        parseOnboardingRequest(withValue(body, 'crossAccountMode', 'role-in-bucket-account')).workload,
      ).toMatchObject({ clusters });
      const noBucketAccount = errorsOf(
        withValue(withValue(body, 'crossAccountMode', 'role-in-bucket-account'), 'bucket.accountId', DELETE),
      );
      expect(noBucketAccount).toContainEqual({
        path: 'bucket.accountId',
        message: expect.stringMatching(/is required when the clusters are in several accounts/),
      });
    });

    it('rejects the same cluster twice', () => {
      expectRejected(
        withValue(eksBody(), 'workload.clusters', [DEMO, RESTORE, { ...DEMO }]),
        'workload.clusters.2',
        /duplicate cluster: \(accountId, region, name\) must be unique/,
      );
    });

    it('accepts clusters of one name in different regions', () => {
      const clusters = [DEMO, { ...DEMO, region: 'eu-central-1' }];
      expect(parseOnboardingRequest(withValue(eksBody(), 'workload.clusters', clusters)).workload).toMatchObject({
        clusters,
      });
    });

    it('rejects crossAccountMode without bucket.accountId', () => {
      const body = withValue(withValue(eksBody(), 'bucket.accountId', DELETE), 'crossAccountMode', 'bucket-policy');
      expectRejected(
        body,
        'crossAccountMode',
        /only allowed when bucket.accountId is given and differs from the workload's account/,
      );
    });

    it('rejects crossAccountMode when the bucket is in the clusters’ account', () => {
      const body = withValue(
        withValue(eksBody(), 'bucket.accountId', WORKLOADS),
        'crossAccountMode',
        'role-in-bucket-account',
      );
      expectRejected(body, 'crossAccountMode', /only allowed when bucket.accountId is given and differs/);
    });

    it('rejects crossAccountMode when the bucket is in the instance role’s account', () => {
      const body = withValue(withValue(ec2Body(), 'bucket.accountId', WORKLOADS), 'crossAccountMode', 'bucket-policy');
      expectRejected(body, 'crossAccountMode', /only allowed when bucket.accountId is given and differs/);
    });

    it.each([eksBody, ec2Body])('accepts crossAccountMode when the accounts differ (%#)', (body) => {
      expect(parseOnboardingRequest(withValue(body(), 'crossAccountMode', 'bucket-policy')).crossAccountMode).toBe(
        'bucket-policy',
      );
    });

    it("rejects a KMS key outside the bucket's region", () => {
      const body = withValue(eksBody(), 'bucket.kmsKeyArn', KMS_KEY.replace('eu-west-1', 'us-east-1'));
      expectRejected(body, 'bucket.kmsKeyArn', /must be a key in the bucket's region/);
    });

    it('checks the rules across fields only once every field is valid', () => {
      // tool velero on ec2 breaks a cross-field rule, but the bad bucket name is reported alone
      const body = withValue(withValue(ec2Body(), 'tool', 'velero'), 'bucket.name', 'Bad');
      expect([...new Set(errorsOf(body).map((e) => e.path))]).toEqual(['bucket.name']);
    });
  });

  describe('the error', () => {
    it('is a 400 ValidationError whose message counts the errors', () => {
      let error: unknown;
      try {
        parseOnboardingRequest({ ...eksBody(), a: 1, b: 2 });
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).status).toBe(400);
      expect((error as ValidationError).message).toBe('The request body is invalid: 2 errors.');
    });

    it('lists at most 50 errors and says how many there were', () => {
      const body: Body = { ...eksBody() };
      for (const i of range(60)) body[`unknown${i}`] = i;
      let error: ValidationError | undefined;
      try {
        parseOnboardingRequest(body);
      } catch (e) {
        error = e as ValidationError;
      }
      expect(error?.errors).toHaveLength(50);
      expect(error?.message).toBe('The request body is invalid: 60 errors, the first 50 listed.');
    });
  });
});

describe('Function: formatPath', () => {
  it.each([
    [[], ''],
    [['bucket', 'prefix'], 'bucket.prefix'],
    [['workload', 'clusters', 0, 'name'], 'workload.clusters.0.name'],
    [['tags', 'team.name'], 'tags["team.name"]'],
    [['tags', 'a b'], 'tags["a b"]'],
    [['tags', 'café'], 'tags["caf\\u00e9"]'],
    [['x', '"'], 'x["\\""]'],
    [['x', ''], 'x[""]'],
  ] as Array<[PropertyKey[], string]>)('formats %j as %s', (path, expected) => {
    expect(formatPath(path)).toBe(expected);
  });
});

describe('Function: parseListOnboardingsQuery', () => {
  it('accepts the filters and turns limit into a number', () => {
    expect(
      parseListOnboardingsQuery({ cluster: 'demo', bucket: 'demo-backups', limit: '25', nextToken: 'eyJrIjoxfQ==' }),
    ).toStrictEqual({
      cluster: 'demo',
      bucket: 'demo-backups',
      limit: 25,
      nextToken: 'eyJrIjoxfQ==',
    });
  });

  it('accepts no query at all', () => {
    expect(parseListOnboardingsQuery(undefined)).toStrictEqual({});
  });

  it.each([
    [{ limit: '0' }, 'limit', /integer from 1 to 100/],
    [{ limit: '101' }, 'limit', /integer from 1 to 100/],
    [{ limit: '2.5' }, 'limit', /integer from 1 to 100/],
    [{ bucket: 'Demo' }, 'bucket', /S3 bucket naming rules/],
    [{ cluster: '-x' }, 'cluster', /EKS cluster name/],
    [{ nextToken: 'a b' }, 'nextToken', /token returned by a previous page/],
    [{ owner: 'me' }, 'owner', /not an allowed field/],
  ])('rejects %j', (query, path, rule) => {
    let error: ValidationError | undefined;
    try {
      parseListOnboardingsQuery(query);
    } catch (e) {
      error = e as ValidationError;
    }
    expect(error).toBeInstanceOf(ValidationError);
    expect(error!.errors.map((e) => e.path)).toContain(path);
    expect(error!.errors.map((e) => e.message)).toEqual(expect.arrayContaining([expect.stringMatching(rule)]));
  });
});

describe('Examples: examples/requests', () => {
  const dir = join(__dirname, '..', '..', '..', 'examples', 'requests');
  const files = readdirSync(dir).filter((f) => f.endsWith('.json'));

  it('holds one example per tool and one per workload type', () => {
    const parsed = files.map((f) => parseOnboardingRequest(JSON.parse(readFileSync(join(dir, f), 'utf8'))));
    expect(new Set(parsed.map((r) => r.tool))).toEqual(
      new Set(['pbm', 'psmdb-operator', 'stackgres', 'velero', 'mountpoint-s3-csi', 'generic']),
    );
    expect(new Set(parsed.map((r) => r.workload.type))).toEqual(new Set(['eks', 'ec2']));
  });

  it.each(files)('%s parses', (file) => {
    const body: unknown = JSON.parse(readFileSync(join(dir, file), 'utf8'));
    expect(() => parseOnboardingRequest(body)).not.toThrow();
  });
});

// ---------- properties ----------

const DEMO_CLUSTERS = [DEMO, RESTORE, { name: 'prod_1', accountId: WORKLOADS, region: 'us-east-1' }];
const label = fc.stringMatching(/^[a-z0-9]([-a-z0-9]{0,20}[a-z0-9])?$/);
const segment = fc.stringMatching(/^[A-Za-z0-9!#$%&'()+,;=@[\]^_`|~.-]{1,12}$/).filter((s) => s !== '.' && s !== '..');
const prefixArb = fc
  .tuple(fc.array(segment, { minLength: 1, maxLength: 4 }), fc.boolean())
  .map(([segs, slash]) => segs.join('/') + (slash ? '/' : ''));
const tagText = fc.stringMatching(/^[\p{L}\p{N} _.:/=+@-]{0,20}$/u);
const tagKey = tagText.filter((k) => k.length > 0 && !/^(aws:|s3-onboarding)/i.test(k) && k !== '__proto__');
const tagsArb = fc
  .dictionary(tagKey, tagText, { maxKeys: 40 })
  .map((t) =>
    Object.fromEntries(
      Object.entries(t).filter(([k], i, all) => all.findIndex(([o]) => o.toLowerCase() === k.toLowerCase()) === i),
    ),
  );

/** Requests that are valid by construction. */
const validRequest = fc
  .record(
    {
      eks: fc.boolean(),
      clusters: fc.subarray(DEMO_CLUSTERS, { minLength: 1 }),
      namespace: label,
      serviceAccounts: fc.uniqueArray(label, { minLength: 1, maxLength: 10 }),
      bucketName: fc.constantFrom('demo-backups', 'workload-local-backups', 'a.b-c', '123'),
      bucketAccount: fc.constantFrom(BACKUPS, WORKLOADS),
      prefix: prefixArb,
      kms: fc.boolean(),
      eksTool: fc.constantFrom('pbm', 'psmdb-operator', 'stackgres', 'velero', 'mountpoint-s3-csi', 'generic'),
      ec2Tool: fc.constantFrom('pbm', 'generic'),
      access: fc.constantFrom('read-write', 'restore', 'read-only'),
      mode: fc.constantFrom('bucket-policy', 'role-in-bucket-account'),
      tags: tagsArb,
      dryRun: fc.boolean(),
    },
    {
      requiredKeys: [
        'eks',
        'clusters',
        'namespace',
        'serviceAccounts',
        'bucketName',
        'bucketAccount',
        'eksTool',
        'ec2Tool',
      ],
    },
  )
  .map((r) => {
    const body: Record<string, unknown> = {
      workload: r.eks
        ? { type: 'eks', clusters: r.clusters, namespace: r.namespace, serviceAccounts: r.serviceAccounts }
        : { type: 'ec2', instanceRoleArn: INSTANCE_ROLE },
      bucket: {
        name: r.bucketName,
        accountId: r.bucketAccount,
        region: REGION,
        ...(r.prefix !== undefined ? { prefix: r.prefix } : {}),
        ...(r.kms ? { kmsKeyArn: KMS_KEY } : {}),
      },
      tool: r.eks ? r.eksTool : r.ec2Tool,
    };
    // only a level the tool can work with (lib/policy/actions.ts)
    if (r.access !== undefined && accessLevels(body.tool as Tool).includes(r.access)) body.access = r.access;
    // StackGres runs as <sgcluster>-patroni
    if (body.tool === 'stackgres')
      (body.workload as { serviceAccounts: string[] }).serviceAccounts = r.serviceAccounts.map((sa) => `${sa}-patroni`);
    if (r.mode !== undefined && r.bucketAccount !== WORKLOADS) body.crossAccountMode = r.mode;
    if (r.tags !== undefined) body.tags = r.tags;
    if (r.dryRun !== undefined) body.dryRun = r.dryRun;
    return body;
  });

/** A valid request with some of its values, at any depth, replaced by arbitrary JSON. */
const mangledRequest = fc
  .tuple(validRequest, fc.array(fc.tuple(fc.nat(), fc.jsonValue({ maxDepth: 2 })), { minLength: 1, maxLength: 4 }))
  .map(([body, replacements]) => {
    const copy = structuredClone(body) as Record<string, unknown>;
    for (const [pick, value] of replacements) {
      const slots: Array<[Record<string, unknown> | unknown[], string | number]> = [];
      const walk = (node: unknown): void => {
        if (Array.isArray(node))
          node.forEach((v, i) => {
            slots.push([node, i]);
            walk(v);
          });
        else if (node !== null && typeof node === 'object')
          for (const [k, v] of Object.entries(node)) {
            slots.push([node as Record<string, unknown>, k]);
            walk(v);
          }
      };
      walk(copy);
      const [parent, key] = slots[pick % slots.length]!;
      (parent as Record<string | number, unknown>)[key] = value;
    }
    return copy;
  });

function parseOrValidationError(body: unknown): OnboardingRequest | ValidationError {
  try {
    return parseOnboardingRequest(body);
  } catch (e) {
    if (e instanceof ValidationError) return e;
    throw e;
  }
}

describe('Properties: parseOnboardingRequest', () => {
  it('throws nothing but a ValidationError for any JSON value', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        parseOrValidationError(value);
      }),
      { numRuns: 500 },
    );
  });

  it('throws nothing but a ValidationError for any JSON object, even one with __proto__ or constructor keys', () => {
    fc.assert(
      fc.property(
        fc.dictionary(
          fc.constantFrom('workload', 'bucket', 'tool', 'tags', '__proto__', 'constructor', 'x'),
          fc.jsonValue({ maxDepth: 3 }),
        ),
        (value) => {
          parseOrValidationError(value);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('throws nothing but a ValidationError for a valid request with parts replaced by any JSON', () => {
    fc.assert(
      fc.property(mangledRequest, (body) => {
        const result = parseOrValidationError(body);
        if (result instanceof ValidationError) {
          expect(result.errors.length).toBeGreaterThan(0);
          for (const e of result.errors) expect(typeof e.path).toBe('string');
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('accepts every request valid by construction, and its output parses again to itself', () => {
    fc.assert(
      fc.property(validRequest, (body) => {
        const once = parseOnboardingRequest(body);
        expect(once.bucket.prefix === undefined || once.bucket.prefix.endsWith('/')).toBe(true);
        expect(parseOnboardingRequest(JSON.parse(JSON.stringify(once)))).toStrictEqual(once);
      }),
      { numRuns: 500 },
    );
  });

  it('round-trips anything it accepts, even from mangled input', () => {
    fc.assert(
      fc.property(fc.oneof(mangledRequest, fc.jsonValue()), (body) => {
        const result = parseOrValidationError(body);
        if (!(result instanceof ValidationError)) {
          expect(onboardingRequestSchema.parse(result)).toStrictEqual(result);
        }
      }),
      { numRuns: 1000 },
    );
  });
});

describe('Properties: documented patterns', () => {
  it('BUCKET_NAME_DOC_PATTERN and the length limits accept exactly what bucketNameSchema accepts', () => {
    const pattern = new RegExp(BUCKET_NAME_DOC_PATTERN, 'u');
    const name = fc.oneof(
      fc.stringMatching(/^[a-z0-9.-]{0,70}$/),
      fc.stringMatching(/^(xn--|sthree-|amzn-s3-demo-)?[a-z0-9.-]{0,10}(-s3alias|--ol-s3|\.mrap|--x-s3|--table-s3)?$/),
      fc.stringMatching(/^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$/),
      fc.string({ maxLength: 8 }),
    );
    fc.assert(
      fc.property(name, (s) => {
        const documented = s.length >= 3 && s.length <= 63 && pattern.test(s);
        expect(bucketNameSchema.safeParse(s).success).toBe(documented);
      }),
      { numRuns: 2000 },
    );
  });

  it('BUCKET_PREFIX_DOC_PATTERN and the length limits accept exactly what bucketPrefixSchema accepts', () => {
    const pattern = new RegExp(BUCKET_PREFIX_DOC_PATTERN, 'u');
    const prefix = fc.oneof(
      fc.stringMatching(/^[a-z./*?"{}\\ -]{0,12}$/),
      fc.string({ unit: 'binary-ascii', maxLength: 12 }),
      fc
        .tuple(fc.integer({ min: 508, max: 514 }), fc.constantFrom('', '/', '.', 'x'))
        .map(([n, end]) => 'p'.repeat(n) + end),
    );
    fc.assert(
      fc.property(prefix, (s) => {
        const documented = s.length >= 1 && s.length <= 512 && pattern.test(s);
        expect(bucketPrefixSchema.safeParse(s).success).toBe(documented);
      }),
      { numRuns: 2000 },
    );
  });
});
