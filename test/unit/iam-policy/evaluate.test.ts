import {
  authorize,
  evaluatePolicy,
  matchPrincipal,
  type AuthorizeInput,
  type PrincipalInfo,
  type RequestContext,
} from '../../../lib/iam-policy/evaluate';
import { matchesWildcard, type ContextValue } from '../../../lib/iam-policy/conditions';
import type { ConditionBlock, PolicyDocument, Principal, Statement } from '../../../lib/iam-policy/types';

const A = '111122223333';
const B = '444455556666';
const OBJ = 'arn:aws:s3:::data-bucket/reports/q1.csv';
const KEY = `arn:aws:kms:eu-west-1:${A}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
const ISSUER = 'oidc.eks.eu-west-1.amazonaws.com/id/ABC';
const PROVIDER = `arn:aws:iam::${A}:oidc-provider/${ISSUER}`;

const roleArn = (acct: string, name = 'r1') => `arn:aws:iam::${acct}:role/s3-onboarding/${name}`;
const sessionArn = (acct: string, name = 'r1', session = 'sess') =>
  `arn:aws:sts::${acct}:assumed-role/${name}/${session}`;
const session = (acct = A, name = 'r1', s = 'sess'): PrincipalInfo => ({
  arn: sessionArn(acct, name, s),
  accountId: acct,
  roleArn: roleArn(acct, name),
});
const root = (acct = A): PrincipalInfo => ({ arn: `arn:aws:iam::${acct}:root`, accountId: acct });
const user = (acct = A, name = 'alice'): PrincipalInfo => ({
  arn: `arn:aws:iam::${acct}:user/${name}`,
  accountId: acct,
});

const doc = (...statements: Statement[]): PolicyDocument => ({ Version: '2012-10-17', Statement: statements });
const allowId = (st: Partial<Statement> = {}): PolicyDocument =>
  doc({ Effect: 'Allow', Action: 's3:GetObject', Resource: OBJ, ...st });
const denyId = (st: Partial<Statement> = {}): PolicyDocument =>
  doc({ Effect: 'Deny', Action: 's3:GetObject', Resource: OBJ, ...st });
const grant = (principal: Principal, st: Partial<Statement> = {}): PolicyDocument =>
  doc({ Effect: 'Allow', Principal: principal, Action: 's3:GetObject', Resource: OBJ, ...st });
const refuse = (principal: Principal, st: Partial<Statement> = {}): PolicyDocument =>
  doc({ Effect: 'Deny', Principal: principal, Action: 's3:GetObject', Resource: OBJ, ...st });

function decide(input: Partial<AuthorizeInput>) {
  return authorize({ principal: session(), action: 's3:GetObject', resource: OBJ, identityPolicies: [], ...input });
}

const req = (over: Partial<RequestContext> = {}): RequestContext => ({
  action: 's3:GetObject',
  resource: OBJ,
  principal: session(),
  context: {},
  ...over,
});

/** Whether an Allow statement with this condition applies to a request with this context. */
function condition(
  cond: ConditionBlock,
  context: Record<string, ContextValue>,
  principal: PrincipalInfo = session(),
): boolean {
  const result = evaluatePolicy(allowId({ Condition: cond }), req({ context, principal }));
  return result === 'Allow';
}

describe('matchesWildcard', () => {
  it('matches literally without wildcards', () => {
    expect(matchesWildcard('abc', 'abc')).toBe(true);
    expect(matchesWildcard('abc', 'abcd')).toBe(false);
  });
  it('"*" matches any run, including an empty one', () => {
    expect(matchesWildcard('a*c', 'ac')).toBe(true);
    expect(matchesWildcard('a*c', 'a/b/c')).toBe(true);
  });
  it('"?" matches exactly one character', () => {
    expect(matchesWildcard('a?c', 'abc')).toBe(true);
    expect(matchesWildcard('a?c', 'ac')).toBe(false);
    expect(matchesWildcard('a?c', 'abbc')).toBe(false);
  });
  it('treats regular-expression characters literally', () => {
    expect(matchesWildcard('a.c', 'abc')).toBe(false);
    expect(matchesWildcard('a+(b)[c]$', 'a+(b)[c]$')).toBe(true);
  });
  it('is case-sensitive unless asked otherwise', () => {
    expect(matchesWildcard('S3:get*', 's3:GetObject')).toBe(false);
    expect(matchesWildcard('S3:get*', 's3:GetObject', true)).toBe(true);
  });
});

describe('evaluatePolicy: actions', () => {
  it('matches an exact action', () => {
    expect(evaluatePolicy(allowId(), req())).toBe('Allow');
  });
  it('does not match another action', () => {
    expect(evaluatePolicy(allowId(), req({ action: 's3:PutObject' }))).toBe('NotApplicable');
  });
  it('matches actions case-insensitively', () => {
    expect(evaluatePolicy(allowId({ Action: 'S3:getobject' }), req())).toBe('Allow');
  });
  it('matches "*" in the action name', () => {
    expect(evaluatePolicy(allowId({ Action: 's3:Get*' }), req())).toBe('Allow');
    expect(evaluatePolicy(allowId({ Action: 's3:Get*' }), req({ action: 's3:PutObject' }))).toBe('NotApplicable');
  });
  it('matches the action "*"', () => {
    expect(evaluatePolicy(allowId({ Action: '*' }), req({ action: 'kms:Decrypt' }))).toBe('Allow');
  });
  it('matches "?" in the action name', () => {
    expect(evaluatePolicy(allowId({ Action: 's3:?etObject' }), req())).toBe('Allow');
    expect(evaluatePolicy(allowId({ Action: 's3:?etObject' }), req({ action: 's3:GetObjects' }))).toBe('NotApplicable');
  });
  it('matches any action of a list', () => {
    expect(evaluatePolicy(allowId({ Action: ['s3:PutObject', 's3:GetObject'] }), req())).toBe('Allow');
  });
  it('does not let a vendor wildcard cross into another vendor', () => {
    expect(evaluatePolicy(allowId({ Action: 's3:*' }), req({ action: 'kms:Decrypt' }))).toBe('NotApplicable');
  });
  it('applies NotAction to every action except the listed ones', () => {
    const policy = allowId({ Action: undefined, NotAction: ['iam:*', 'kms:*'] });
    expect(evaluatePolicy(policy, req())).toBe('Allow');
    expect(evaluatePolicy(policy, req({ action: 'iam:CreateRole' }))).toBe('NotApplicable');
    expect(evaluatePolicy(policy, req({ action: 'KMS:Decrypt' }))).toBe('NotApplicable');
  });
});

describe('evaluatePolicy: resources', () => {
  it('matches an exact resource', () => {
    expect(evaluatePolicy(allowId(), req())).toBe('Allow');
  });
  it('matches resources case-sensitively', () => {
    expect(evaluatePolicy(allowId({ Resource: OBJ.toUpperCase() }), req())).toBe('NotApplicable');
  });
  it('matches "*" in a resource', () => {
    expect(evaluatePolicy(allowId({ Resource: 'arn:aws:s3:::data-bucket/*' }), req())).toBe('Allow');
    expect(evaluatePolicy(allowId({ Resource: 'arn:aws:s3:::other-bucket/*' }), req())).toBe('NotApplicable');
  });
  it('does not match the bucket ARN with an object pattern', () => {
    expect(
      evaluatePolicy(
        allowId({ Resource: 'arn:aws:s3:::data-bucket/*' }),
        req({ resource: 'arn:aws:s3:::data-bucket' }),
      ),
    ).toBe('NotApplicable');
  });
  it('matches "?" in a resource', () => {
    expect(evaluatePolicy(allowId({ Resource: 'arn:aws:s3:::data-bucket/reports/q?.csv' }), req())).toBe('Allow');
    expect(
      evaluatePolicy(allowId({ Resource: 'arn:aws:s3:::data-bucket/reports/q?.csv' }), req({ resource: `${OBJ}x` })),
    ).toBe('NotApplicable');
  });
  it('applies NotResource to every resource except the listed ones', () => {
    const policy = allowId({ Resource: undefined, NotResource: 'arn:aws:s3:::data-bucket/secret/*' });
    expect(evaluatePolicy(policy, req())).toBe('Allow');
    expect(evaluatePolicy(policy, req({ resource: 'arn:aws:s3:::data-bucket/secret/x' }))).toBe('NotApplicable');
  });
  it('matches any resource when the statement names none (trust policies)', () => {
    const trust = doc({ Effect: 'Allow', Principal: { AWS: A }, Action: 'sts:AssumeRole' });
    expect(
      evaluatePolicy(trust, req({ action: 'sts:AssumeRole', resource: roleArn(A, 'target') }), {
        checkPrincipal: true,
      }),
    ).toBe('Allow');
  });
});

describe('evaluatePolicy: effects and principals', () => {
  it('returns Deny when a Deny and an Allow statement both apply', () => {
    const policy = doc(
      { Effect: 'Allow', Action: '*', Resource: '*' },
      { Effect: 'Deny', Action: 's3:GetObject', Resource: '*' },
    );
    expect(evaluatePolicy(policy, req())).toBe('Deny');
  });
  it('returns NotApplicable when nothing applies', () => {
    expect(evaluatePolicy(doc({ Effect: 'Deny', Action: 's3:PutObject', Resource: '*' }), req())).toBe('NotApplicable');
  });
  it('ignores Principal elements unless asked to check them', () => {
    expect(evaluatePolicy(grant({ AWS: B }), req())).toBe('Allow');
    expect(evaluatePolicy(grant({ AWS: B }), req(), { checkPrincipal: true })).toBe('NotApplicable');
  });
  it('never applies a statement without a principal when principals are checked', () => {
    expect(evaluatePolicy(allowId(), req(), { checkPrincipal: true })).toBe('NotApplicable');
  });
  it('applies a NotPrincipal statement to everyone except the listed principals', () => {
    const policy = refuse(undefined as never, { Principal: undefined, NotPrincipal: { AWS: roleArn(A) } });
    expect(evaluatePolicy(policy, req(), { checkPrincipal: true })).toBe('NotApplicable');
    expect(evaluatePolicy(policy, req({ principal: session(A, 'other') }), { checkPrincipal: true })).toBe('Deny');
  });
});

describe('matchPrincipal', () => {
  it('matches "*" for everyone', () => {
    expect(matchPrincipal('*', session(B))).toBe('wildcard');
  });
  it('matches {"AWS":"*"} for everyone', () => {
    expect(matchPrincipal({ AWS: '*' }, user(B))).toBe('wildcard');
  });
  it('matches an account id for any principal of that account', () => {
    expect(matchPrincipal({ AWS: A }, session(A))).toBe('account');
    expect(matchPrincipal({ AWS: A }, user(A))).toBe('account');
    expect(matchPrincipal({ AWS: A }, session(B))).toBeUndefined();
  });
  it('matches the account root ARN for any principal of that account', () => {
    expect(matchPrincipal({ AWS: `arn:aws:iam::${A}:root` }, session(A))).toBe('account');
    expect(matchPrincipal({ AWS: `arn:aws:iam::${A}:root` }, root(A))).toBe('account');
    expect(matchPrincipal({ AWS: `arn:aws:iam::${A}:root` }, root(B))).toBeUndefined();
  });
  it('matches a role ARN for sessions of that role', () => {
    expect(matchPrincipal({ AWS: roleArn(A) }, session(A, 'r1', 'any-session'))).toBe('role');
  });
  it('does not match a role ARN for another role or a role of the same name without the path', () => {
    expect(matchPrincipal({ AWS: roleArn(A) }, session(A, 'r2'))).toBeUndefined();
    expect(matchPrincipal({ AWS: `arn:aws:iam::${A}:role/r1` }, session(A, 'r1'))).toBeUndefined();
  });
  it('matches a session ARN exactly', () => {
    expect(matchPrincipal({ AWS: sessionArn(A) }, session(A))).toBe('exact');
    expect(matchPrincipal({ AWS: sessionArn(A, 'r1', 'other') }, session(A))).toBeUndefined();
  });
  it('matches a user ARN exactly', () => {
    expect(matchPrincipal({ AWS: user(A).arn }, user(A))).toBe('exact');
    expect(matchPrincipal({ AWS: user(A).arn }, user(A, 'bob'))).toBeUndefined();
  });
  it('picks the strongest of several matching values', () => {
    expect(matchPrincipal({ AWS: [A, roleArn(A), sessionArn(A)] }, session(A))).toBe('exact');
    expect(matchPrincipal({ AWS: [A, roleArn(A)] }, session(A))).toBe('role');
  });
  it('matches a Federated principal against the web-identity provider', () => {
    const p: PrincipalInfo = { ...session(A), federated: PROVIDER };
    expect(matchPrincipal({ Federated: PROVIDER }, p)).toBe('federated');
    expect(matchPrincipal({ Federated: `arn:aws:iam::${A}:oidc-provider/other` }, p)).toBeUndefined();
    expect(matchPrincipal({ Federated: PROVIDER }, session(A))).toBeUndefined();
  });
  it('matches a Service principal', () => {
    const p: PrincipalInfo = { arn: '', accountId: A, service: 'lambda.amazonaws.com' };
    expect(matchPrincipal({ Service: ['ec2.amazonaws.com', 'lambda.amazonaws.com'] }, p)).toBe('service');
    expect(matchPrincipal({ Service: 'ec2.amazonaws.com' }, p)).toBeUndefined();
  });
  it('does not match a service principal by account', () => {
    const p: PrincipalInfo = { arn: '', accountId: A, service: 'lambda.amazonaws.com' };
    expect(matchPrincipal({ AWS: A }, p)).toBeUndefined();
  });
});

describe('conditions: string operators', () => {
  const key = 's3:prefix';
  it.each<[string, string | string[], string, boolean]>([
    ['StringEquals', 'home/alice', 'home/alice', true],
    ['StringEquals', 'home/alice', 'home/Alice', false],
    ['StringEquals', ['home/bob', 'home/alice'], 'home/alice', true],
    ['StringNotEquals', 'home/alice', 'home/bob', true],
    ['StringNotEquals', 'home/alice', 'home/alice', false],
    ['StringNotEquals', ['home/bob', 'home/alice'], 'home/alice', false],
    ['StringEqualsIgnoreCase', 'HOME/Alice', 'home/alice', true],
    ['StringEqualsIgnoreCase', 'home/alice', 'home/bob', false],
    ['StringNotEqualsIgnoreCase', 'HOME/ALICE', 'home/alice', false],
    ['StringNotEqualsIgnoreCase', 'home/alice', 'home/bob', true],
    ['StringLike', 'home/*', 'home/alice/x', true],
    ['StringLike', 'home/?', 'home/a', true],
    ['StringLike', 'home/?', 'home/ab', false],
    ['StringLike', 'home/*', 'Home/alice', false],
    ['StringLike', 'home', 'home/alice', false],
    ['StringNotLike', 'home/*', 'public/x', true],
    ['StringNotLike', 'home/*', 'home/x', false],
    ['StringNotLike', ['home/*', 'public/*'], 'public/x', false],
  ])('%s %j against %j is %s', (op, policyValue, value, expected) => {
    expect(condition({ [op]: { [key]: policyValue } }, { [key]: value })).toBe(expected);
  });
});

describe('conditions: ARN operators', () => {
  const key = 'aws:SourceArn';
  it.each<[string, string, string, boolean]>([
    ['ArnEquals', roleArn(A), roleArn(A), true],
    ['ArnEquals', roleArn(A), roleArn(B), false],
    ['ArnLike', `arn:aws:iam::${A}:role/*`, roleArn(A), true],
    ['ArnLike', 'arn:aws:iam::*:role/s3-onboarding/r?', roleArn(B), true],
    ['ArnLike', `arn:aws:iam::${A}:role/*`, `arn:aws:iam::${A}:user/x`, false],
    ['ArnLike', 'arn:aws:*', roleArn(A), false],
    ['ArnLike', `arn:aws:iam::${A}:role/*`, 'not-an-arn', false],
    ['ArnNotEquals', roleArn(A), roleArn(B), true],
    ['ArnNotEquals', roleArn(A), roleArn(A), false],
    ['ArnNotLike', `arn:aws:iam::${A}:role/*`, roleArn(B), true],
    ['ArnNotLike', `arn:aws:iam::${A}:role/*`, roleArn(A), false],
  ])('%s %s against %s is %s', (op, policyValue, value, expected) => {
    expect(condition({ [op]: { [key]: policyValue } }, { [key]: value })).toBe(expected);
  });
  it('does not let "*" in one ARN component span a colon', () => {
    expect(condition({ ArnLike: { [key]: 'arn:aws:iam::*' } }, { [key]: roleArn(A) })).toBe(false);
    expect(condition({ ArnLike: { [key]: 'arn:aws:iam::*:*' } }, { [key]: roleArn(A) })).toBe(true);
  });
  it('matches any ARN with the pattern "*" alone', () => {
    expect(condition({ ArnLike: { [key]: '*' } }, { [key]: roleArn(A) })).toBe(true);
    expect(condition({ ArnLike: { [key]: '*' } }, { [key]: 'not-an-arn' })).toBe(false);
  });
  it('matches resource parts that contain colons', () => {
    const arn = `arn:aws:logs:eu-west-1:${A}:log-group:/aws/lambda/x:*`;
    expect(condition({ ArnLike: { [key]: `arn:aws:logs:*:${A}:log-group:/aws/lambda/*` } }, { [key]: arn })).toBe(true);
  });
});

describe('conditions: Bool', () => {
  it('matches "true" against a boolean true', () => {
    expect(condition({ Bool: { 'aws:SecureTransport': 'true' } }, { 'aws:SecureTransport': true })).toBe(true);
  });
  it('compares case-insensitively', () => {
    expect(condition({ Bool: { 'aws:SecureTransport': 'TRUE' } }, { 'aws:SecureTransport': 'true' })).toBe(true);
    expect(condition({ Bool: { 'aws:SecureTransport': true } }, { 'aws:SecureTransport': 'True' })).toBe(true);
  });
  it('does not match the opposite value', () => {
    expect(condition({ Bool: { 'aws:SecureTransport': 'false' } }, { 'aws:SecureTransport': 'true' })).toBe(false);
  });
  it('does not match a missing key', () => {
    expect(condition({ Bool: { 'aws:SecureTransport': 'false' } }, {})).toBe(false);
  });
});

describe('conditions: numeric, date, IP and binary operators', () => {
  it.each<[string, string | number, string, boolean]>([
    ['NumericEquals', 10, '10', true],
    ['NumericEquals', '10', '11', false],
    ['NumericNotEquals', 10, '11', true],
    ['NumericNotEquals', 10, '10', false],
    ['NumericLessThan', 10, '9', true],
    ['NumericLessThan', 10, '10', false],
    ['NumericLessThanEquals', 10, '10', true],
    ['NumericGreaterThan', 10, '10', false],
    ['NumericGreaterThanEquals', 10, '10', true],
    ['NumericEquals', 10, 'ten', false],
  ])('%s %j against %j is %s', (op, policyValue, value, expected) => {
    expect(condition({ [op]: { 's3:max-keys': policyValue } }, { 's3:max-keys': value })).toBe(expected);
  });
  it.each<[string, string, string, boolean]>([
    ['DateLessThan', '2030-01-01T00:00:00Z', '2025-06-01T12:00:00Z', true],
    ['DateLessThan', '2020-01-01T00:00:00Z', '2025-06-01T12:00:00Z', false],
    ['DateGreaterThan', '2020-01-01T00:00:00Z', '2025-06-01T12:00:00Z', true],
    ['DateEquals', '2025-06-01T12:00:00Z', '1748779200', true],
    ['DateNotEquals', '2025-06-01T12:00:00Z', '2025-06-01T12:00:01Z', true],
  ])('%s %s against %s is %s', (op, policyValue, value, expected) => {
    expect(condition({ [op]: { 'aws:CurrentTime': policyValue } }, { 'aws:CurrentTime': value })).toBe(expected);
  });
  it.each<[string, string, string, boolean]>([
    ['IpAddress', '10.0.0.0/8', '10.1.2.3', true],
    ['IpAddress', '10.0.0.0/8', '11.1.2.3', false],
    ['IpAddress', '192.0.2.7', '192.0.2.7', true],
    ['IpAddress', '2001:db8::/32', '2001:db8::1', true],
    ['IpAddress', '10.0.0.0/8', '2001:db8::1', false],
    ['NotIpAddress', '10.0.0.0/8', '11.1.2.3', true],
    ['NotIpAddress', '10.0.0.0/8', '10.1.2.3', false],
  ])('%s %s against %s is %s', (op, policyValue, value, expected) => {
    expect(condition({ [op]: { 'aws:SourceIp': policyValue } }, { 'aws:SourceIp': value })).toBe(expected);
  });
  it('compares BinaryEquals values exactly', () => {
    expect(condition({ BinaryEquals: { 'ex:bin': 'QmluYXJ5' } }, { 'ex:bin': 'QmluYXJ5' })).toBe(true);
    expect(condition({ BinaryEquals: { 'ex:bin': 'QmluYXJ5' } }, { 'ex:bin': 'qmluyxj5' })).toBe(false);
  });
});

describe('conditions: missing keys', () => {
  it.each([
    'StringEquals',
    'StringEqualsIgnoreCase',
    'StringLike',
    'ArnEquals',
    'ArnLike',
    'NumericEquals',
    'IpAddress',
  ])('positive operator %s does not match a missing key', (op) => {
    expect(condition({ [op]: { 'ex:key': '*' } }, {})).toBe(false);
  });
  it.each([
    'StringNotEquals',
    'StringNotEqualsIgnoreCase',
    'StringNotLike',
    'ArnNotEquals',
    'ArnNotLike',
    'NumericNotEquals',
    'NotIpAddress',
  ])('negated operator %s matches a missing key (AWS: "the condition is true")', (op) => {
    expect(condition({ [op]: { 'ex:key': 'x' } }, {})).toBe(true);
  });
  it('denies outside a VPC endpoint with StringNotEquals on aws:SourceVpce (key absent)', () => {
    const policy = refuse('*', { Condition: { StringNotEquals: { 'aws:SourceVpce': 'vpce-1a2b3c4d' } } });
    expect(evaluatePolicy(policy, req(), { checkPrincipal: true })).toBe('Deny');
    expect(
      evaluatePolicy(policy, req({ context: { 'aws:SourceVpce': 'vpce-1a2b3c4d' } }), { checkPrincipal: true }),
    ).toBe('NotApplicable');
  });
  it('treats an empty list as a missing key', () => {
    expect(condition({ StringEquals: { 'aws:TagKeys': 'a' } }, { 'aws:TagKeys': [] })).toBe(false);
    expect(condition({ Null: { 'aws:TagKeys': 'true' } }, { 'aws:TagKeys': [] })).toBe(true);
  });
  it('treats an undefined context value as a missing key', () => {
    expect(condition({ Null: { 'ex:key': 'true' } }, { 'ex:key': undefined })).toBe(true);
  });
});

describe('conditions: IfExists', () => {
  it('matches a missing key', () => {
    expect(condition({ StringEqualsIfExists: { 'ex:key': 'x' } }, {})).toBe(true);
  });
  it('compares a present key (match)', () => {
    expect(condition({ StringEqualsIfExists: { 'ex:key': 'x' } }, { 'ex:key': 'x' })).toBe(true);
  });
  it('compares a present key (no match)', () => {
    expect(condition({ StringEqualsIfExists: { 'ex:key': 'x' } }, { 'ex:key': 'y' })).toBe(false);
  });
  it('works for negated operators: missing matches, present equal does not', () => {
    expect(condition({ StringNotLikeIfExists: { 'ex:key': 'x*' } }, {})).toBe(true);
    expect(condition({ StringNotLikeIfExists: { 'ex:key': 'x*' } }, { 'ex:key': 'xy' })).toBe(false);
    expect(condition({ StringNotLikeIfExists: { 'ex:key': 'x*' } }, { 'ex:key': 'yx' })).toBe(true);
  });
  it('works for Bool and ARN operators', () => {
    expect(condition({ BoolIfExists: { 'aws:MultiFactorAuthPresent': 'true' } }, {})).toBe(true);
    expect(
      condition({ BoolIfExists: { 'aws:MultiFactorAuthPresent': 'true' } }, { 'aws:MultiFactorAuthPresent': false }),
    ).toBe(false);
    expect(
      condition({ ArnLikeIfExists: { 'aws:SourceArn': 'arn:aws:s3:::b' } }, { 'aws:SourceArn': 'arn:aws:s3:::c' }),
    ).toBe(false);
  });
});

describe('conditions: Null', () => {
  it('Null true matches a missing key', () => {
    expect(condition({ Null: { 'ex:key': 'true' } }, {})).toBe(true);
  });
  it('Null true does not match a present key', () => {
    expect(condition({ Null: { 'ex:key': 'true' } }, { 'ex:key': 'v' })).toBe(false);
  });
  it('Null false matches a present key', () => {
    expect(condition({ Null: { 'ex:key': 'false' } }, { 'ex:key': 'v' })).toBe(true);
  });
  it('Null false does not match a missing key', () => {
    expect(condition({ Null: { 'ex:key': false } }, {})).toBe(false);
  });
  it('looks the key up case-insensitively', () => {
    expect(condition({ Null: { 'EX:KEY': 'false' } }, { 'ex:key': 'v' })).toBe(true);
  });
});

describe('conditions: multi-valued keys', () => {
  const tags = (...v: string[]) => ({ 'aws:TagKeys': v });
  it('ForAnyValue matches when one request value matches', () => {
    expect(condition({ 'ForAnyValue:StringEquals': { 'aws:TagKeys': ['team', 'env'] } }, tags('env', 'other'))).toBe(
      true,
    );
  });
  it('ForAnyValue does not match when no request value matches', () => {
    expect(condition({ 'ForAnyValue:StringEquals': { 'aws:TagKeys': ['team', 'env'] } }, tags('other'))).toBe(false);
  });
  it('ForAnyValue does not match a missing key', () => {
    expect(condition({ 'ForAnyValue:StringEquals': { 'aws:TagKeys': 'team' } }, {})).toBe(false);
  });
  it('ForAllValues matches when every request value matches some policy value', () => {
    expect(condition({ 'ForAllValues:StringEquals': { 'aws:TagKeys': ['team', 'env'] } }, tags('env', 'team'))).toBe(
      true,
    );
  });
  it('ForAllValues does not match when one request value is outside the policy values', () => {
    expect(condition({ 'ForAllValues:StringEquals': { 'aws:TagKeys': ['team', 'env'] } }, tags('env', 'other'))).toBe(
      false,
    );
  });
  it('ForAllValues matches a missing key (as AWS documents)', () => {
    expect(condition({ 'ForAllValues:StringEquals': { 'aws:TagKeys': ['team'] } }, {})).toBe(true);
  });
  it('ForAllValues with StringLike wildcards', () => {
    expect(condition({ 'ForAllValues:StringLike': { 'aws:TagKeys': 'key1*' } }, tags('key1a', 'key1b'))).toBe(true);
    expect(condition({ 'ForAllValues:StringLike': { 'aws:TagKeys': 'key1*' } }, tags('key1a', 'key2'))).toBe(false);
  });
  it('ForAllValues:StringNotLike matches only when no request value is like a policy value', () => {
    const cond = { 'ForAllValues:StringNotLike': { 'aws:TagKeys': 'key1*' } };
    expect(condition(cond, tags('key2:audit'))).toBe(true);
    expect(condition(cond, tags('key1:hr', 'key1:personnel'))).toBe(false);
    expect(condition(cond, tags('key1:legal', 'key2:audit'))).toBe(false);
    expect(condition(cond, {})).toBe(true);
  });
  it('ForAnyValue:StringNotEquals matches when some request value is outside the policy values', () => {
    const cond = { 'ForAnyValue:StringNotEquals': { 'aws:TagKeys': ['a', 'b'] } };
    expect(condition(cond, tags('a', 'c'))).toBe(true);
    expect(condition(cond, tags('a', 'b'))).toBe(false);
  });
  it('treats a multi-valued key without a set operator like ForAnyValue', () => {
    expect(condition({ StringEquals: { 'aws:TagKeys': 'env' } }, tags('team', 'env'))).toBe(true);
    expect(condition({ StringEquals: { 'aws:TagKeys': 'env' } }, tags('team'))).toBe(false);
  });
  it('a negated operator without a set operator matches only when no request value matches', () => {
    expect(condition({ StringNotEquals: { 'aws:TagKeys': 'env' } }, tags('team', 'env'))).toBe(false);
    expect(condition({ StringNotEquals: { 'aws:TagKeys': 'env' } }, tags('team', 'x'))).toBe(true);
  });
});

describe('conditions: combination and key names', () => {
  it('requires every operator of a block (AND)', () => {
    const cond = { StringEquals: { 'ex:a': '1' }, StringLike: { 'ex:b': 'x*' } };
    expect(condition(cond, { 'ex:a': '1', 'ex:b': 'xy' })).toBe(true);
    expect(condition(cond, { 'ex:a': '1', 'ex:b': 'yy' })).toBe(false);
    expect(condition(cond, { 'ex:a': '2', 'ex:b': 'xy' })).toBe(false);
  });
  it('requires every key of one operator (AND)', () => {
    const cond = { StringEquals: { 'ex:a': '1', 'ex:b': '2' } };
    expect(condition(cond, { 'ex:a': '1', 'ex:b': '2' })).toBe(true);
    expect(condition(cond, { 'ex:a': '1', 'ex:b': '3' })).toBe(false);
  });
  it('accepts any one of several values for a key (OR)', () => {
    const cond = { StringEquals: { 'ex:a': ['1', '2', '3'] } };
    expect(condition(cond, { 'ex:a': '3' })).toBe(true);
    expect(condition(cond, { 'ex:a': '4' })).toBe(false);
  });
  it('looks condition keys up case-insensitively in both directions', () => {
    expect(condition({ StringEquals: { 'aws:principalarn': roleArn(A) } }, {})).toBe(true);
    expect(condition({ StringEquals: { 'EX:Key': 'v' } }, { 'ex:kEY': 'v' })).toBe(true);
  });
  it('keeps condition values case-sensitive', () => {
    expect(condition({ StringEquals: { 'ex:key': 'Value' } }, { 'ex:key': 'value' })).toBe(false);
  });
  it('compares JSON numbers in the policy as strings', () => {
    expect(condition({ StringEquals: { 'ex:key': 42 } }, { 'ex:key': '42' })).toBe(true);
  });
  it('fills aws:PrincipalArn with the role ARN of a session, not the session ARN', () => {
    expect(condition({ StringEquals: { 'aws:PrincipalArn': roleArn(A) } }, {})).toBe(true);
    expect(condition({ StringEquals: { 'aws:PrincipalArn': sessionArn(A) } }, {})).toBe(false);
  });
  it('fills aws:PrincipalArn with the caller ARN for a user', () => {
    expect(condition({ StringEquals: { 'aws:PrincipalArn': user(A).arn } }, {}, user(A))).toBe(true);
  });
  it('fills aws:PrincipalAccount from the caller', () => {
    expect(condition({ StringEquals: { 'aws:PrincipalAccount': A } }, {})).toBe(true);
    expect(condition({ StringEquals: { 'aws:PrincipalAccount': B } }, {})).toBe(false);
  });
  it('lets the caller-supplied context override derived keys', () => {
    expect(condition({ StringEquals: { 'aws:PrincipalAccount': B } }, { 'aws:principalaccount': B })).toBe(true);
  });
  it('matches ArnLike on aws:PrincipalArn with wildcards', () => {
    expect(condition({ ArnLike: { 'aws:PrincipalArn': `arn:aws:iam::${A}:role/s3-onboarding/*` } }, {})).toBe(true);
    expect(condition({ ArnLike: { 'aws:PrincipalArn': `arn:aws:iam::${A}:role/other/*` } }, {})).toBe(false);
  });
  it('matches sts:ExternalId', () => {
    expect(condition({ StringEquals: { 'sts:ExternalId': 'ext-123' } }, { 'sts:ExternalId': 'ext-123' })).toBe(true);
    expect(condition({ StringEquals: { 'sts:ExternalId': 'ext-123' } }, { 'sts:ExternalId': 'ext-999' })).toBe(false);
    expect(condition({ StringEquals: { 'sts:ExternalId': 'ext-123' } }, {})).toBe(false);
  });
});

describe('authorize: same account', () => {
  it('allows when an identity policy allows and there is no resource policy', () => {
    expect(decide({ identityPolicies: [allowId()] })).toEqual({
      allowed: true,
      decision: 'Allow',
      reason: 'allowed by identity-based policy',
    });
  });
  it('denies implicitly when nothing allows', () => {
    expect(decide({})).toEqual({
      allowed: false,
      decision: 'ImplicitDeny',
      reason: 'no identity-based policy allows s3:GetObject',
    });
  });
  it('denies implicitly when identity policies allow another action only', () => {
    const d = decide({ action: 's3:PutObject', identityPolicies: [allowId()] });
    expect(d).toEqual({
      allowed: false,
      decision: 'ImplicitDeny',
      reason: 'no identity-based policy allows s3:PutObject',
    });
  });
  it('allows when any one of several identity policies allows', () => {
    expect(decide({ identityPolicies: [allowId({ Action: 's3:PutObject' }), allowId()] }).allowed).toBe(true);
  });
  it('allows when only the resource policy names the role ARN', () => {
    expect(decide({ resourcePolicy: grant({ AWS: roleArn(A) }), resourcePolicyName: 'bucket policy' })).toEqual({
      allowed: true,
      decision: 'Allow',
      reason: 'allowed by bucket policy',
    });
  });
  it('allows when only the resource policy names the session ARN', () => {
    expect(decide({ resourcePolicy: grant({ AWS: sessionArn(A) }) }).allowed).toBe(true);
  });
  it('allows when only the resource policy grants "*"', () => {
    expect(decide({ resourcePolicy: grant('*') }).allowed).toBe(true);
  });
  it('does not allow when the resource policy only grants the account root', () => {
    const d = decide({ resourcePolicy: grant({ AWS: `arn:aws:iam::${A}:root` }) });
    expect(d).toEqual({
      allowed: false,
      decision: 'ImplicitDeny',
      reason: 'no identity-based policy allows s3:GetObject',
    });
  });
  it('does not allow when the resource policy only grants the account id', () => {
    expect(decide({ resourcePolicy: grant({ AWS: A }) }).allowed).toBe(false);
  });
  it('allows an account-root grant together with an identity allow', () => {
    expect(
      decide({ identityPolicies: [allowId()], resourcePolicy: grant({ AWS: `arn:aws:iam::${A}:root` }) }).allowed,
    ).toBe(true);
  });
  it('does not allow when the resource policy names another role', () => {
    expect(decide({ resourcePolicy: grant({ AWS: roleArn(A, 'r2') }) }).allowed).toBe(false);
  });
  it('does not allow when the resource policy grants another action', () => {
    expect(decide({ resourcePolicy: grant({ AWS: roleArn(A) }, { Action: 's3:PutObject' }) }).allowed).toBe(false);
  });
  it('uses the caller account when no resource account is given', () => {
    expect(decide({ resourceAccountId: undefined, resourcePolicy: grant({ AWS: roleArn(A) }) }).allowed).toBe(true);
  });
  it('allows an IAM user named in the resource policy', () => {
    expect(decide({ principal: user(A), resourcePolicy: grant({ AWS: user(A).arn }) }).allowed).toBe(true);
  });
});

describe('authorize: cross account', () => {
  const base = { principal: session(B), resourceAccountId: A, resourcePolicyName: 'bucket policy' };
  it('denies a cross-account call when only the identity policy allows', () => {
    expect(decide({ ...base, identityPolicies: [allowId()] })).toEqual({
      allowed: false,
      decision: 'ImplicitDeny',
      reason: 'the bucket policy does not grant cross-account access',
    });
  });
  it('denies a cross-account call when the resource policy exists but names another account', () => {
    const d = decide({
      ...base,
      identityPolicies: [allowId()],
      resourcePolicy: grant({ AWS: `arn:aws:iam::${A}:root` }),
    });
    expect(d.reason).toBe('the bucket policy does not grant cross-account access');
  });
  it('denies a cross-account call when only the resource policy allows', () => {
    expect(decide({ ...base, resourcePolicy: grant({ AWS: roleArn(B) }) })).toEqual({
      allowed: false,
      decision: 'ImplicitDeny',
      reason: 'no identity-based policy allows s3:GetObject',
    });
  });
  it.each<[string, Principal]>([
    ['the role ARN', { AWS: roleArn(B) }],
    ['the session ARN', { AWS: sessionArn(B) }],
    ['the account id', { AWS: B }],
    ['the account root', { AWS: `arn:aws:iam::${B}:root` }],
    ['"*"', '*'],
    ['{"AWS":"*"}', { AWS: '*' }],
  ])('allows a cross-account call when both allow and the resource policy names %s', (_, principal) => {
    expect(decide({ ...base, identityPolicies: [allowId()], resourcePolicy: grant(principal) })).toEqual({
      allowed: true,
      decision: 'Allow',
      reason: 'allowed by identity-based policy and bucket policy',
    });
  });
  it('requires the identity policy to cover the resource', () => {
    const d = decide({
      ...base,
      identityPolicies: [allowId({ Resource: 'arn:aws:s3:::other/*' })],
      resourcePolicy: grant({ AWS: B }),
    });
    expect(d.allowed).toBe(false);
  });
  it('caps a cross-account identity allow with the permissions boundary', () => {
    const d = decide({
      ...base,
      identityPolicies: [allowId()],
      permissionsBoundary: allowId({ Action: 's3:ListBucket' }),
      resourcePolicy: grant({ AWS: roleArn(B) }),
    });
    expect(d).toEqual({
      allowed: false,
      decision: 'ImplicitDeny',
      reason: 'permissions boundary does not allow s3:GetObject',
    });
  });
  it('allows the root of another account when the resource policy grants its account', () => {
    expect(decide({ principal: root(B), resourceAccountId: A, resourcePolicy: grant({ AWS: B }) }).allowed).toBe(true);
  });
  it('denies the root of another account without a resource-policy grant', () => {
    expect(decide({ principal: root(B), resourceAccountId: A }).allowed).toBe(false);
  });
  it('uses the default resource policy name in reasons', () => {
    expect(decide({ principal: session(B), resourceAccountId: A, identityPolicies: [allowId()] }).reason).toBe(
      'the resource-based policy does not grant cross-account access',
    );
  });
});

describe('authorize: explicit deny', () => {
  it('lets an explicit deny in an identity policy win over an identity allow', () => {
    const d = decide({ identityPolicies: [allowId({ Action: 's3:*' }), denyId({ Sid: 'NoReports' })] });
    expect(d).toEqual({
      allowed: false,
      decision: 'ExplicitDeny',
      reason: 'explicit deny in identity-based policy (Sid NoReports)',
    });
  });
  it('lets an explicit deny in an identity policy win over a resource-policy allow', () => {
    const d = decide({ identityPolicies: [denyId()], resourcePolicy: grant({ AWS: sessionArn(A) }) });
    expect(d).toEqual({
      allowed: false,
      decision: 'ExplicitDeny',
      reason: 'explicit deny in identity-based policy (statement #1)',
    });
  });
  it('lets an explicit deny in the resource policy win over an identity allow', () => {
    const d = decide({ identityPolicies: [allowId()], resourcePolicy: refuse('*', { Sid: 'DenyX' }) });
    expect(d).toEqual({
      allowed: false,
      decision: 'ExplicitDeny',
      reason: 'explicit deny in resource-based policy (Sid DenyX)',
    });
  });
  it('lets an explicit deny in the resource policy win over its own allow', () => {
    const policy = doc(
      { Effect: 'Allow', Principal: { AWS: roleArn(A) }, Action: 's3:*', Resource: OBJ },
      { Sid: 'DenyGet', Effect: 'Deny', Principal: { AWS: roleArn(A) }, Action: 's3:GetObject', Resource: OBJ },
    );
    expect(decide({ resourcePolicy: policy, resourcePolicyName: 'bucket policy' }).reason).toBe(
      'explicit deny in bucket policy (Sid DenyGet)',
    );
  });
  it('lets an explicit deny in the permissions boundary win', () => {
    const boundary = doc(
      { Effect: 'Allow', Action: '*', Resource: '*' },
      { Sid: 'B', Effect: 'Deny', Action: 's3:GetObject', Resource: '*' },
    );
    const d = decide({ identityPolicies: [allowId()], permissionsBoundary: boundary });
    expect(d).toEqual({
      allowed: false,
      decision: 'ExplicitDeny',
      reason: 'explicit deny in permissions boundary (Sid B)',
    });
  });
  it('does not apply a resource-policy deny that names another principal', () => {
    expect(decide({ identityPolicies: [allowId()], resourcePolicy: refuse({ AWS: roleArn(A, 'r2') }) }).allowed).toBe(
      true,
    );
  });
  it('does not apply a deny whose condition does not match', () => {
    const policy = refuse('*', { Condition: { Bool: { 'aws:SecureTransport': 'false' } } });
    expect(
      decide({ identityPolicies: [allowId()], resourcePolicy: policy, context: { 'aws:SecureTransport': 'true' } })
        .allowed,
    ).toBe(true);
    expect(
      decide({ identityPolicies: [allowId()], resourcePolicy: policy, context: { 'aws:SecureTransport': 'false' } })
        .decision,
    ).toBe('ExplicitDeny');
  });
  it('denies the account root when the resource policy denies it explicitly', () => {
    expect(decide({ principal: root(A), resourcePolicy: refuse({ AWS: A }) }).decision).toBe('ExplicitDeny');
  });
  it('applies a NotPrincipal deny to everyone but the listed role', () => {
    const policy = doc({ Effect: 'Deny', NotPrincipal: { AWS: roleArn(A) }, Action: 's3:*', Resource: OBJ });
    expect(decide({ identityPolicies: [allowId()], resourcePolicy: policy }).allowed).toBe(true);
    expect(
      decide({ principal: session(A, 'r2'), identityPolicies: [allowId()], resourcePolicy: policy }).decision,
    ).toBe('ExplicitDeny');
  });
  it('applies a NotAction deny to all other actions', () => {
    const deny = doc({ Effect: 'Deny', NotAction: 's3:GetObject', Resource: '*' });
    const all = doc({ Effect: 'Allow', Action: '*', Resource: '*' });
    expect(decide({ identityPolicies: [all, deny] }).allowed).toBe(true);
    expect(decide({ action: 's3:DeleteObject', identityPolicies: [all, deny] }).decision).toBe('ExplicitDeny');
  });
  it('applies a NotResource deny to all other resources', () => {
    const deny = doc({ Effect: 'Deny', Action: 's3:*', NotResource: 'arn:aws:s3:::data-bucket/reports/*' });
    const all = doc({ Effect: 'Allow', Action: '*', Resource: '*' });
    expect(decide({ identityPolicies: [all, deny] }).allowed).toBe(true);
    expect(decide({ resource: 'arn:aws:s3:::data-bucket/private/x', identityPolicies: [all, deny] }).decision).toBe(
      'ExplicitDeny',
    );
  });
});

describe('authorize: permissions boundary', () => {
  it('allows when both the identity policy and the boundary allow', () => {
    expect(decide({ identityPolicies: [allowId()], permissionsBoundary: allowId({ Action: 's3:*' }) }).allowed).toBe(
      true,
    );
  });
  it('caps an identity allow the boundary does not allow', () => {
    const d = decide({ identityPolicies: [allowId()], permissionsBoundary: allowId({ Action: 's3:ListBucket' }) });
    expect(d).toEqual({
      allowed: false,
      decision: 'ImplicitDeny',
      reason: 'permissions boundary does not allow s3:GetObject',
    });
  });
  it('grants nothing by itself', () => {
    expect(decide({ permissionsBoundary: allowId() })).toEqual({
      allowed: false,
      decision: 'ImplicitDeny',
      reason: 'no identity-based policy allows s3:GetObject',
    });
  });
  it('caps a resource-policy grant that names the role ARN', () => {
    const d = decide({
      permissionsBoundary: allowId({ Action: 's3:ListBucket' }),
      resourcePolicy: grant({ AWS: roleArn(A) }),
    });
    expect(d).toEqual({
      allowed: false,
      decision: 'ImplicitDeny',
      reason: 'permissions boundary does not allow s3:GetObject',
    });
  });
  it('does not cap a resource-policy grant that names the exact session ARN', () => {
    const d = decide({
      permissionsBoundary: allowId({ Action: 's3:ListBucket' }),
      resourcePolicy: grant({ AWS: sessionArn(A) }),
    });
    expect(d.allowed).toBe(true);
  });
  it('allows a role-ARN grant the boundary also allows', () => {
    expect(decide({ permissionsBoundary: allowId(), resourcePolicy: grant({ AWS: roleArn(A) }) }).allowed).toBe(true);
  });
  it('is evaluated with conditions (iam:PermissionsBoundary style keys)', () => {
    const boundary = allowId({ Condition: { StringEquals: { 's3:ExistingObjectTag/team': 'blue' } } });
    expect(
      decide({
        identityPolicies: [allowId()],
        permissionsBoundary: boundary,
        context: { 's3:ExistingObjectTag/team': 'blue' },
      }).allowed,
    ).toBe(true);
    expect(
      decide({
        identityPolicies: [allowId()],
        permissionsBoundary: boundary,
        context: { 's3:ExistingObjectTag/team': 'red' },
      }).allowed,
    ).toBe(false);
  });
  it('ignores Principal elements inside a boundary', () => {
    expect(decide({ identityPolicies: [allowId()], permissionsBoundary: grant({ AWS: B }) }).allowed).toBe(true);
  });
});

describe('authorize: account root', () => {
  it('allows the root of the resource account without identity policies', () => {
    expect(decide({ principal: root(A) })).toEqual({
      allowed: true,
      decision: 'Allow',
      reason: 'allowed by identity-based policy',
    });
  });
  it('ignores a permissions boundary for the root', () => {
    expect(
      decide({ principal: root(A), permissionsBoundary: doc({ Effect: 'Allow', Action: 'iam:Get*', Resource: '*' }) })
        .allowed,
    ).toBe(true);
  });
  it('does not treat a role session as root', () => {
    expect(decide({ principal: session(A) }).allowed).toBe(false);
  });
});

describe('authorize: KMS key policies (resourcePolicyRequired)', () => {
  const kms = {
    action: 'kms:Decrypt',
    resource: KEY,
    resourceAccountId: A,
    resourcePolicyRequired: true,
    resourcePolicyName: 'key policy',
  };
  const keyGrant = (principal: Principal): PolicyDocument =>
    doc({ Effect: 'Allow', Principal: principal, Action: 'kms:*', Resource: '*' });
  const kmsAllow = doc({ Effect: 'Allow', Action: 'kms:Decrypt', Resource: KEY });

  it('denies when only the identity policy allows and the key policy is silent', () => {
    const d = decide({ ...kms, identityPolicies: [kmsAllow], resourcePolicy: keyGrant({ AWS: roleArn(A, 'admin') }) });
    expect(d).toEqual({
      allowed: false,
      decision: 'ImplicitDeny',
      reason: 'the key policy does not allow kms:Decrypt',
    });
  });
  it('denies when there is no key policy at all', () => {
    expect(decide({ ...kms, identityPolicies: [kmsAllow] }).reason).toBe('the key policy does not allow kms:Decrypt');
  });
  it('allows when the key policy names the role, without identity policies', () => {
    expect(decide({ ...kms, resourcePolicy: keyGrant({ AWS: roleArn(A) }) })).toEqual({
      allowed: true,
      decision: 'Allow',
      reason: 'allowed by key policy',
    });
  });
  it('requires the identity policy when the key policy grants the account root', () => {
    expect(decide({ ...kms, resourcePolicy: keyGrant({ AWS: `arn:aws:iam::${A}:root` }) })).toEqual({
      allowed: false,
      decision: 'ImplicitDeny',
      reason: 'no identity-based policy allows kms:Decrypt',
    });
  });
  it('allows when the key policy grants the account root and the identity policy allows', () => {
    expect(
      decide({ ...kms, identityPolicies: [kmsAllow], resourcePolicy: keyGrant({ AWS: `arn:aws:iam::${A}:root` }) }),
    ).toEqual({
      allowed: true,
      decision: 'Allow',
      reason: 'allowed by identity-based policy (the key policy grants the account)',
    });
  });
  it('denies the account root when the key policy does not grant the account', () => {
    expect(decide({ ...kms, principal: root(A), resourcePolicy: keyGrant({ AWS: roleArn(A) }) }).allowed).toBe(false);
  });
  it('allows the account root when the key policy grants the account', () => {
    expect(decide({ ...kms, principal: root(A), resourcePolicy: keyGrant({ AWS: A }) }).allowed).toBe(true);
  });
  it('caps a key-policy grant to the role ARN with the permissions boundary', () => {
    const d = decide({
      ...kms,
      permissionsBoundary: allowId({ Action: 's3:*' }),
      resourcePolicy: keyGrant({ AWS: roleArn(A) }),
    });
    expect(d.reason).toBe('permissions boundary does not allow kms:Decrypt');
  });
  it('needs both the key policy and the identity policy across accounts', () => {
    const cross = { ...kms, principal: session(B) };
    expect(decide({ ...cross, resourcePolicy: keyGrant({ AWS: B }) }).allowed).toBe(false);
    expect(decide({ ...cross, identityPolicies: [kmsAllow] }).allowed).toBe(false);
    expect(decide({ ...cross, identityPolicies: [kmsAllow], resourcePolicy: keyGrant({ AWS: B }) }).allowed).toBe(true);
  });
  it('honours kms:ViaService conditions', () => {
    const policy = doc({
      Effect: 'Allow',
      Principal: { AWS: roleArn(A) },
      Action: 'kms:Decrypt',
      Resource: '*',
      Condition: { StringEquals: { 'kms:ViaService': 's3.eu-west-1.amazonaws.com' } },
    });
    expect(
      decide({ ...kms, resourcePolicy: policy, context: { 'kms:ViaService': 's3.eu-west-1.amazonaws.com' } }).allowed,
    ).toBe(true);
    expect(decide({ ...kms, resourcePolicy: policy }).allowed).toBe(false);
  });
});

describe('authorize: role trust policies', () => {
  const target = roleArn(A, 'target');
  const assume = {
    action: 'sts:AssumeRole',
    resource: target,
    resourceAccountId: A,
    resourcePolicyRequired: true,
    resourcePolicyName: 'trust policy',
  };
  const trust = (principal: Principal, cond?: ConditionBlock, action = 'sts:AssumeRole'): PolicyDocument =>
    doc({ Effect: 'Allow', Principal: principal, Action: action, ...(cond ? { Condition: cond } : {}) });
  const assumeAllow = doc({ Effect: 'Allow', Action: 'sts:AssumeRole', Resource: target });

  it('allows a same-account role named in the trust policy without an identity policy', () => {
    expect(decide({ ...assume, resourcePolicy: trust({ AWS: roleArn(A) }) }).allowed).toBe(true);
  });
  it('requires the identity policy when the trust policy names the account', () => {
    expect(decide({ ...assume, resourcePolicy: trust({ AWS: A }) }).allowed).toBe(false);
    expect(decide({ ...assume, identityPolicies: [assumeAllow], resourcePolicy: trust({ AWS: A }) }).allowed).toBe(
      true,
    );
  });
  it('denies a same-account caller the trust policy does not name, even with an identity allow', () => {
    expect(
      decide({ ...assume, identityPolicies: [assumeAllow], resourcePolicy: trust({ Service: 'lambda.amazonaws.com' }) })
        .reason,
    ).toBe('the trust policy does not allow sts:AssumeRole');
  });
  it('allows a service principal named in the trust policy', () => {
    const lambda: PrincipalInfo = { arn: '', accountId: A, service: 'lambda.amazonaws.com' };
    expect(
      decide({ ...assume, principal: lambda, resourcePolicy: trust({ Service: 'lambda.amazonaws.com' }) }),
    ).toEqual({
      allowed: true,
      decision: 'Allow',
      reason: 'allowed by trust policy (service principal)',
    });
  });
  it('requires sts:ExternalId when the trust policy demands it', () => {
    const policy = trust({ AWS: B }, { StringEquals: { 'sts:ExternalId': 'ext-123' } });
    const base = { ...assume, principal: session(B), identityPolicies: [assumeAllow], resourcePolicy: policy };
    expect(decide({ ...base, context: { 'sts:ExternalId': 'ext-123' } }).allowed).toBe(true);
    expect(decide({ ...base, context: { 'sts:ExternalId': 'wrong' } }).allowed).toBe(false);
    expect(decide(base).allowed).toBe(false);
  });
  it('checks aws:PrincipalArn in a trust condition against the caller role ARN', () => {
    const policy = trust({ AWS: B }, { ArnLike: { 'aws:PrincipalArn': `arn:aws:iam::${B}:role/s3-onboarding/*` } });
    const base = { ...assume, identityPolicies: [assumeAllow], resourcePolicy: policy };
    expect(decide({ ...base, principal: session(B) }).allowed).toBe(true);
    expect(decide({ ...base, principal: user(B) }).allowed).toBe(false);
  });

  describe('web identity', () => {
    const sub = `${ISSUER}:sub`;
    const aud = `${ISSUER}:aud`;
    const policy = trust(
      { Federated: PROVIDER },
      { StringEquals: { [sub]: 'system:serviceaccount:team-a:reader', [aud]: 'sts.amazonaws.com' } },
      'sts:AssumeRoleWithWebIdentity',
    );
    const webIdentity: PrincipalInfo = {
      arn: sessionArn(A, 'target', 'botocore'),
      accountId: A,
      roleArn: target,
      federated: PROVIDER,
    };
    const base = { ...assume, action: 'sts:AssumeRoleWithWebIdentity', principal: webIdentity, resourcePolicy: policy };

    it('allows the right service account and audience', () => {
      const d = decide({
        ...base,
        context: { [sub]: 'system:serviceaccount:team-a:reader', [aud]: 'sts.amazonaws.com' },
      });
      expect(d).toEqual({ allowed: true, decision: 'Allow', reason: 'allowed by trust policy (federated principal)' });
    });
    it('denies another service account', () => {
      const d = decide({
        ...base,
        context: { [sub]: 'system:serviceaccount:team-b:reader', [aud]: 'sts.amazonaws.com' },
      });
      expect(d).toEqual({
        allowed: false,
        decision: 'ImplicitDeny',
        reason: 'the trust policy does not allow sts:AssumeRoleWithWebIdentity',
      });
    });
    it('denies another audience', () => {
      const d = decide({ ...base, context: { [sub]: 'system:serviceaccount:team-a:reader', [aud]: 'other' } });
      expect(d.allowed).toBe(false);
    });
    it('denies a token without the sub claim', () => {
      expect(decide({ ...base, context: { [aud]: 'sts.amazonaws.com' } }).allowed).toBe(false);
    });
    it('denies a token from another provider', () => {
      const other = {
        ...webIdentity,
        federated: `arn:aws:iam::${A}:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/XYZ`,
      };
      const d = decide({
        ...base,
        principal: other,
        context: { [sub]: 'system:serviceaccount:team-a:reader', [aud]: 'sts.amazonaws.com' },
      });
      expect(d.allowed).toBe(false);
    });
    it('allows a namespace wildcard with StringLike', () => {
      const likePolicy = trust(
        { Federated: PROVIDER },
        { StringLike: { [sub]: 'system:serviceaccount:team-a:*' } },
        'sts:AssumeRoleWithWebIdentity',
      );
      expect(
        decide({ ...base, resourcePolicy: likePolicy, context: { [sub]: 'system:serviceaccount:team-a:writer' } })
          .allowed,
      ).toBe(true);
      expect(
        decide({ ...base, resourcePolicy: likePolicy, context: { [sub]: 'system:serviceaccount:team-b:writer' } })
          .allowed,
      ).toBe(false);
    });
  });
});
