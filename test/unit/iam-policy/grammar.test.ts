import {
  asArray,
  normalizeStatements,
  parseConditionOperator,
  parsePolicyText,
  policySize,
  validatePolicy,
} from '../../../lib/iam-policy/grammar';
import type { PolicyDocument, PolicyKind } from '../../../lib/iam-policy/types';

const ACCT = '111122223333';

const identity = (statement: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: '*', ...statement }],
  ...extra,
});

const trust = (statement: Record<string, unknown>) => ({
  Version: '2012-10-17',
  Statement: [
    { Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCT}:root` }, Action: 'sts:AssumeRole', ...statement },
  ],
});

const bucket = (statement: Record<string, unknown>) => ({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: 'arn:aws:s3:::b/*', ...statement }],
});

const without = (obj: Record<string, unknown>, key: string) => {
  const copy = { ...obj };
  delete copy[key];
  return copy;
};

describe('asArray / normalizeStatements', () => {
  it('turns undefined into an empty array', () => {
    expect(asArray(undefined)).toEqual([]);
  });
  it('wraps a single value', () => {
    expect(asArray('a')).toEqual(['a']);
  });
  it('returns an array unchanged', () => {
    expect(asArray(['a', 'b'])).toEqual(['a', 'b']);
  });
  it('returns a single Statement object as a one-element list', () => {
    const doc: PolicyDocument = { Statement: { Effect: 'Allow', Action: '*', Resource: '*' } };
    expect(normalizeStatements(doc)).toEqual([{ Effect: 'Allow', Action: '*', Resource: '*' }]);
  });
  it('returns a Statement array as is', () => {
    const doc: PolicyDocument = {
      Statement: [
        { Effect: 'Allow', Action: '*' },
        { Effect: 'Deny', Action: '*' },
      ],
    };
    expect(normalizeStatements(doc)).toHaveLength(2);
  });
});

describe('validatePolicy: document level', () => {
  it('accepts a minimal identity policy', () => {
    expect(validatePolicy(identity({}), 'identity')).toBeNull();
  });
  it('accepts a single Statement object instead of an array', () => {
    expect(
      validatePolicy({ Version: '2012-10-17', Statement: { Effect: 'Allow', Action: '*', Resource: '*' } }, 'identity'),
    ).toBeNull();
  });
  it('accepts the legacy 2008-10-17 version and a missing version', () => {
    expect(validatePolicy(identity({}, { Version: '2008-10-17' }), 'identity')).toBeNull();
    expect(validatePolicy(without(identity({}), 'Version'), 'identity')).toBeNull();
  });
  it('accepts an Id', () => {
    expect(validatePolicy(identity({}, { Id: 'my-policy' }), 'identity')).toBeNull();
  });
  it.each([[null], ['text'], [42], [[]]])('reports syntax errors for a non-object document %p', (doc) => {
    expect(validatePolicy(doc, 'identity')).toBe('Syntax errors in policy.');
  });
  it('rejects an unknown version', () => {
    expect(validatePolicy(identity({}, { Version: '2020-01-01' }), 'identity')).toBe('Invalid Version');
  });
  it('rejects a non-string version', () => {
    expect(validatePolicy(identity({}, { Version: 2012 }), 'identity')).toBe('Invalid Version');
  });
  it('rejects an unknown top-level field', () => {
    expect(validatePolicy(identity({}, { Foo: 1 }), 'identity')).toBe('Unknown field Foo');
  });
  it('rejects a document without Statement', () => {
    expect(validatePolicy({ Version: '2012-10-17' }, 'identity')).toBe('Missing required field Statement');
  });
  it('rejects an empty Statement array', () => {
    expect(validatePolicy({ Version: '2012-10-17', Statement: [] }, 'identity')).toBe('Syntax errors in policy.');
  });
  it('rejects a statement that is not an object', () => {
    expect(validatePolicy({ Version: '2012-10-17', Statement: ['x'] }, 'identity')).toBe('Syntax errors in policy.');
  });
  it('rejects a non-string Id', () => {
    expect(validatePolicy(identity({}, { Id: 5 }), 'identity')).toBe('Syntax errors in policy.');
  });
});

describe('validatePolicy: statement fields', () => {
  it('rejects an unknown statement field', () => {
    expect(validatePolicy(identity({ Foo: 'bar' }), 'identity')).toBe('Unknown field Foo');
  });
  it('rejects a statement without Effect', () => {
    const doc = { Statement: [{ Action: '*', Resource: '*' }] };
    expect(validatePolicy(doc, 'identity')).toBe('Missing required field Effect');
  });
  it('rejects an Effect other than Allow or Deny (case-sensitive)', () => {
    expect(validatePolicy(identity({ Effect: 'allow' }), 'identity')).toBe('Invalid effect: allow');
  });
  it('rejects a non-alphanumeric Sid in IAM policies', () => {
    expect(validatePolicy(identity({ Sid: 'has space' }), 'identity')).toBe(
      'Statement IDs (SID) must be alpha-numeric. Check that your input satisfies the regular expression [0-9A-Za-z]*',
    );
  });
  it('allows a Sid with spaces in a bucket policy', () => {
    expect(validatePolicy(bucket({ Sid: 'Public read' }), 'bucket')).toBeNull();
  });
  it('rejects duplicate Sids', () => {
    const doc = {
      Statement: [
        { Sid: 'A', Effect: 'Allow', Action: '*', Resource: '*' },
        { Sid: 'A', Effect: 'Deny', Action: '*', Resource: '*' },
      ],
    };
    expect(validatePolicy(doc, 'identity')).toBe('Statement IDs (SID) in a single policy must be unique.');
  });
  it('rejects a non-string Sid', () => {
    expect(validatePolicy(identity({ Sid: 1 }), 'identity')).toBe('Syntax errors in policy.');
  });
});

describe('validatePolicy: Principal', () => {
  it('rejects a Principal in an identity policy', () => {
    expect(validatePolicy(identity({ Principal: '*' }), 'identity')).toBe(
      'Policy document should not specify a principal.',
    );
  });
  it('rejects a NotPrincipal in an identity policy', () => {
    expect(validatePolicy(identity({ NotPrincipal: { AWS: ACCT } }), 'identity')).toBe(
      'Policy document should not specify a principal.',
    );
  });
  it.each<[PolicyKind]>([['trust'], ['resource'], ['bucket'], ['key']])(
    'requires a Principal in a %s policy',
    (kind) => {
      const st = {
        Effect: 'Allow',
        Action: kind === 'trust' ? 'sts:AssumeRole' : 's3:GetObject',
        ...(kind === 'trust' ? {} : { Resource: '*' }),
      };
      expect(validatePolicy({ Statement: [st] }, kind)).toBe('Missing required field Principal');
    },
  );
  it('accepts NotPrincipal instead of Principal in a resource policy', () => {
    expect(validatePolicy(bucket({ Principal: undefined, NotPrincipal: { AWS: ACCT } }), 'bucket')).toBeNull();
  });
  it('rejects both Principal and NotPrincipal', () => {
    expect(validatePolicy(bucket({ NotPrincipal: { AWS: ACCT } }), 'bucket')).toBe('Syntax errors in policy.');
  });
  it.each([
    [{ AWS: '*' }],
    [{ AWS: ACCT }],
    [{ AWS: [`arn:aws:iam::${ACCT}:root`, `arn:aws:iam::${ACCT}:role/path/r1`] }],
    [{ AWS: `arn:aws:sts::${ACCT}:assumed-role/r1/session` }],
    [{ Federated: `arn:aws:iam::${ACCT}:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/ABC` }],
    [{ Service: 'lambda.amazonaws.com' }],
    [{ CanonicalUser: '79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be' }],
  ])('accepts principal %j', (principal) => {
    expect(validatePolicy(bucket({ Principal: principal }), 'bucket')).toBeNull();
  });
  it('rejects a principal string other than "*"', () => {
    expect(validatePolicy(bucket({ Principal: ACCT }), 'bucket')).toBe('Invalid principal in policy');
  });
  it('rejects an unknown principal type', () => {
    expect(validatePolicy(bucket({ Principal: { User: 'bob' } }), 'bucket')).toBe('Invalid principal in policy');
  });
  it('rejects an empty principal object', () => {
    expect(validatePolicy(bucket({ Principal: {} }), 'bucket')).toBe('Invalid principal in policy');
  });
  it('rejects an AWS principal that is neither an account, an ARN nor "*"', () => {
    expect(validatePolicy(bucket({ Principal: { AWS: 'bob' } }), 'bucket')).toBe(
      'Invalid principal in policy: "AWS":"bob"',
    );
  });
  it('rejects a non-string principal value', () => {
    expect(validatePolicy(bucket({ Principal: { AWS: [1] } }), 'bucket')).toBe('Invalid principal in policy');
  });
});

describe('validatePolicy: Action', () => {
  it('requires Action or NotAction', () => {
    expect(validatePolicy(identity({ Action: undefined }), 'identity')).toBe('Policy statement must contain actions.');
  });
  it('treats an empty Action list as missing', () => {
    expect(validatePolicy(identity({ Action: [] }), 'identity')).toBe('Policy statement must contain actions.');
  });
  it('accepts NotAction', () => {
    expect(validatePolicy(identity({ Action: undefined, NotAction: 'iam:*' }), 'identity')).toBeNull();
  });
  it('rejects Action together with NotAction', () => {
    expect(validatePolicy(identity({ NotAction: 'iam:*' }), 'identity')).toBe('Syntax errors in policy.');
  });
  it('requires a vendor prefix on actions', () => {
    expect(validatePolicy(identity({ Action: 'GetObject' }), 'identity')).toBe(
      'Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.',
    );
  });
  it('rejects an empty vendor', () => {
    expect(validatePolicy(identity({ Action: ':GetObject' }), 'identity')).toBe(
      'Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.',
    );
  });
  it('accepts "*" and wildcard actions', () => {
    expect(validatePolicy(identity({ Action: ['*', 's3:Get*', 's3:?etObject', 'kms:*'] }), 'identity')).toBeNull();
  });
  it('rejects a non-string action', () => {
    expect(validatePolicy(identity({ Action: [42] }), 'identity')).toBe('Syntax errors in policy.');
  });
  it('allows only STS actions in a trust policy', () => {
    expect(validatePolicy(trust({ Action: 's3:GetObject' }), 'trust')).toBe(
      'AssumeRole policy may only specify STS AssumeRole actions.',
    );
    expect(validatePolicy(trust({ Action: ['sts:AssumeRole', 'sts:TagSession'] }), 'trust')).toBeNull();
  });
});

describe('validatePolicy: Resource', () => {
  it('requires Resource or NotResource in an identity policy', () => {
    expect(validatePolicy(identity({ Resource: undefined }), 'identity')).toBe(
      'Policy statement must contain resources.',
    );
  });
  it('requires Resource in a bucket policy', () => {
    expect(validatePolicy(bucket({ Resource: undefined }), 'bucket')).toBe('Policy statement must contain resources.');
  });
  it('treats an empty Resource list as missing', () => {
    expect(validatePolicy(identity({ Resource: [] }), 'identity')).toBe('Policy statement must contain resources.');
  });
  it('accepts NotResource', () => {
    expect(
      validatePolicy(identity({ Resource: undefined, NotResource: 'arn:aws:s3:::secret/*' }), 'identity'),
    ).toBeNull();
  });
  it('rejects Resource together with NotResource', () => {
    expect(validatePolicy(identity({ NotResource: 'arn:aws:s3:::x' }), 'identity')).toBe('Syntax errors in policy.');
  });
  it('does not require a resource in a trust policy', () => {
    expect(validatePolicy(trust({}), 'trust')).toBeNull();
  });
  it('rejects a Resource in a trust policy', () => {
    expect(validatePolicy(trust({ Resource: '*' }), 'trust')).toBe('Has prohibited field Resource');
  });
  it('rejects a resource that is not an ARN', () => {
    expect(validatePolicy(identity({ Resource: 'my-bucket' }), 'identity')).toBe(
      'Resource my-bucket must be in ARN format or "*".',
    );
  });
});

describe('validatePolicy: Condition', () => {
  it('accepts every supported operator with IfExists and set prefixes', () => {
    const cond = {
      StringEquals: { 'aws:PrincipalAccount': ACCT },
      StringLikeIfExists: { 's3:prefix': 'home/*' },
      'ForAnyValue:StringLike': { 'aws:TagKeys': ['a*'] },
      'ForAllValues:StringEquals': { 'aws:TagKeys': ['a', 'b'] },
      ArnLike: { 'aws:PrincipalArn': `arn:aws:iam::${ACCT}:role/*` },
      Bool: { 'aws:SecureTransport': true },
      Null: { 'aws:TokenIssueTime': 'true' },
      NumericLessThan: { 's3:max-keys': 10 },
      DateGreaterThan: { 'aws:CurrentTime': '2020-01-01T00:00:00Z' },
      IpAddress: { 'aws:SourceIp': '10.0.0.0/8' },
    };
    expect(validatePolicy(identity({ Condition: cond }), 'identity')).toBeNull();
  });
  it('rejects an unknown condition operator', () => {
    expect(validatePolicy(identity({ Condition: { StringEqualz: { 'aws:x': 'y' } } }), 'identity')).toBe(
      'Invalid Condition type : StringEqualz',
    );
  });
  it('rejects NullIfExists', () => {
    expect(validatePolicy(identity({ Condition: { NullIfExists: { 'aws:x': 'true' } } }), 'identity')).toBe(
      'Invalid Condition type : NullIfExists',
    );
  });
  it('rejects an unknown set prefix', () => {
    expect(
      validatePolicy(identity({ Condition: { 'ForSomeValues:StringEquals': { 'aws:x': 'y' } } }), 'identity'),
    ).toBe('Invalid Condition type : ForSomeValues:StringEquals');
  });
  it('requires a vendor prefix on condition keys', () => {
    expect(validatePolicy(identity({ Condition: { StringEquals: { SecureTransport: 'true' } } }), 'identity')).toBe(
      'Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.',
    );
  });
  it('accepts an OIDC issuer condition key', () => {
    const cond = { StringEquals: { 'oidc.eks.eu-west-1.amazonaws.com/id/ABC:sub': 'system:serviceaccount:ns:sa' } };
    expect(validatePolicy(trust({ Condition: cond }), 'trust')).toBeNull();
  });
  it('rejects a condition block that is not an object', () => {
    expect(validatePolicy(identity({ Condition: { StringEquals: 'x' } }), 'identity')).toBe('Syntax errors in policy.');
  });
  it('rejects an object as a condition value', () => {
    expect(validatePolicy(identity({ Condition: { StringEquals: { 'aws:x': { a: 1 } } } }), 'identity')).toBe(
      'Syntax errors in policy.',
    );
  });
  it('rejects an empty list of condition values', () => {
    expect(validatePolicy(identity({ Condition: { StringEquals: { 'aws:x': [] } } }), 'identity')).toBe(
      'Syntax errors in policy.',
    );
  });
});

describe('parseConditionOperator', () => {
  it('splits prefix, base and IfExists', () => {
    expect(parseConditionOperator('ForAllValues:StringNotLikeIfExists')).toEqual({
      base: 'StringNotLike',
      family: 'String',
      negated: true,
      ifExists: true,
      set: 'ForAllValues',
    });
  });
  it('knows negated operators', () => {
    expect(parseConditionOperator('NotIpAddress')?.negated).toBe(true);
    expect(parseConditionOperator('ArnNotEquals')?.negated).toBe(true);
    expect(parseConditionOperator('StringEqualsIgnoreCase')?.negated).toBe(false);
  });
  it('rejects unknown names and a bare IfExists', () => {
    expect(parseConditionOperator('IfExists')).toBeUndefined();
    expect(parseConditionOperator('stringequals')).toBeUndefined();
  });
});

describe('parsePolicyText', () => {
  it('parses a JSON object', () => {
    expect(parsePolicyText('{"Statement":[]}')).toEqual({ doc: { Statement: [] } });
  });
  it('reports syntax errors for invalid JSON', () => {
    expect(parsePolicyText('{"Statement":')).toEqual({ code: 'Syntax', error: 'Syntax errors in policy.' });
  });
  it('reports syntax errors for JSON that is not an object', () => {
    expect(parsePolicyText('[1,2]').error).toBe('Syntax errors in policy.');
    expect(parsePolicyText('"x"').error).toBe('Syntax errors in policy.');
  });
  it('accepts tab, LF, CR and Latin-1 characters', () => {
    const r = parsePolicyText('{\t"Id":\r\n"caf\u00e9 \u00ff"}');
    expect(r).toEqual({ doc: { Id: 'caf\u00e9 \u00ff' } });
  });
  it('rejects characters above U+00FF', () => {
    const r = parsePolicyText('{"Id":"\u20ac"}');
    expect(r.code).toBe('InvalidCharacters');
    expect(r.doc).toBeUndefined();
    expect(r.error).toBe(
      'The policy contains invalid characters (U+20AC at offset 7); only tab, line feed, carriage return and U+0020 through U+00FF are allowed.',
    );
  });
  it('rejects control characters other than tab, LF and CR', () => {
    expect(parsePolicyText('{"Id":"a\u0001"}').error).toMatch(
      /^The policy contains invalid characters \(U\+0001 at offset 8\)/,
    );
  });
  it('checks only the raw text, so a \\u escape of a character above U+00FF is accepted', () => {
    expect(parsePolicyText('{"Id":"\\u20ac"}')).toEqual({ doc: { Id: '\u20ac' } });
  });
});

describe('policySize', () => {
  it('counts a compact policy as its length', () => {
    const text = '{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}';
    expect(policySize(text)).toBe(text.length);
  });
  it('ignores white space between JSON tokens', () => {
    const compact = '{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}';
    const pretty = JSON.stringify(JSON.parse(compact), null, 4).replace(/\n/g, '\r\n');
    expect(pretty.length).toBeGreaterThan(compact.length);
    expect(policySize(pretty)).toBe(compact.length);
  });
  it('ignores tabs', () => {
    expect(policySize('{\t"a"\t:\t1\t}')).toBe(7);
  });
  it('counts white space inside string values', () => {
    expect(policySize('{ "Sid" : "a b" }')).toBe('{"Sid":"a b"}'.length);
  });
  it('keeps escaped quotes inside strings as part of the string', () => {
    const text = '{ "Id" : "x\\" y" }';
    expect(policySize(text)).toBe('{"Id":"x\\" y"}'.length);
  });
  it('is zero for white space only', () => {
    expect(policySize(' \n\t\r ')).toBe(0);
  });
});
