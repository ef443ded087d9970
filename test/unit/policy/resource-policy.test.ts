import { canonicalPolicy, samePolicy, sameStatements } from '../../../lib/policy/compare';
import {
  editStatements,
  parseRawPolicy,
  presentStatements,
  renderRawPolicy,
} from '../../../lib/policy/resource-policy';
import type { Statement } from '../../../lib/policy/types';

const ours: Statement = {
  Sid: 'S3Onboardingabc',
  Effect: 'Allow',
  Principal: { AWS: 'arn:aws:iam::200000000002:root' },
  Action: ['s3:GetObject', 's3:ListBucket'],
  Resource: ['arn:aws:s3:::b', 'arn:aws:s3:::b/p/*'],
  Condition: { ArnEquals: { 'aws:PrincipalArn': 'arn:aws:iam::200000000002:role/s3-onboarding/r' } },
};

describe('Function: samePolicy', () => {
  const doc = { Version: '2012-10-17', Statement: [ours, { Effect: 'Deny', Action: 's3:*', Resource: '*' }] };

  it('ignores statement order, value order, one value vs a one-element list, key order and action case', () => {
    const reformatted = {
      Statement: [
        { Resource: ['*'], Action: ['S3:*'], Effect: 'Deny' },
        {
          ...ours,
          Action: ['s3:ListBucket', 's3:getobject'],
          Resource: [...(ours.Resource as string[])].reverse(),
          Principal: { AWS: ['arn:aws:iam::200000000002:root'] },
        },
      ],
      Version: '2012-10-17',
    };
    expect(samePolicy(doc, reformatted)).toBe(true);
    expect(canonicalPolicy(doc)).toBe(canonicalPolicy(reformatted));
  });

  it('tells apart what IAM tells apart: an effect, a resource, a condition value, a Sid, a missing statement', () => {
    for (const changed of [
      { ...doc, Statement: [{ ...ours, Effect: 'Deny' }, doc.Statement[1]] },
      { ...doc, Statement: [{ ...ours, Resource: 'arn:aws:s3:::b/*' }, doc.Statement[1]] },
      {
        ...doc,
        Statement: [
          { ...ours, Condition: { ArnEquals: { 'aws:PrincipalArn': 'arn:aws:iam::200000000002:role/other' } } },
          doc.Statement[1],
        ],
      },
      { ...doc, Statement: [{ ...ours, Sid: 'Other' }, doc.Statement[1]] },
      { ...doc, Statement: [ours] },
      { ...doc, Statement: [ours, ours, doc.Statement[1]] },
    ]) {
      expect(samePolicy(doc, changed)).toBe(false);
    }
    expect(samePolicy(doc, undefined)).toBe(false);
    expect(samePolicy(undefined, undefined)).toBe(true);
  });

  it('compares statement lists as multisets', () => {
    expect(
      sameStatements(
        [ours, { Effect: 'Allow', Action: 'a', Resource: '*' }],
        [{ Effect: 'Allow', Action: ['a'], Resource: ['*'] }, ours],
      ),
    ).toBe(true);
    expect(sameStatements([ours], [ours, ours])).toBe(false);
  });
});

describe('Lossless resource-policy editing', () => {
  const owner =
    '{"Sid":"LegalHold","Effect":"Deny","Principal":"*","Action":"s3:DeleteObject","Resource":"arn:aws:s3:::b/legal/*","Condition":{"NumericLessThan":{"s3:x":12345678901234567891}}}';
  const text = `{ "Version": "2012-10-17", "Id": "owner-policy",\n  "Statement": [ ${owner} ] }`;

  it('keeps every statement it does not own byte for byte (a 20-digit number stays as written)', () => {
    const edit = editStatements(parseRawPolicy(text), { remove: [], add: [ours] });
    const out = renderRawPolicy(edit.policy);
    expect(out).toContain(owner);
    expect(out).toContain('12345678901234567891');
    expect(out.startsWith('{"Version":"2012-10-17","Id":"owner-policy","Statement":[')).toBe(true);
    expect(JSON.parse(out).Statement[1]).toEqual(ours);
    expect(edit.changed).toBe(true);
  });

  it('removes only statements equal to what it wrote, in any formatting; a look-alike Sid is not its own', () => {
    const lookalike = owner.replace('LegalHold', 'S3OnboardingabcLegalHold');
    const current = parseRawPolicy(
      `{"Version":"2012-10-17","Statement":[${lookalike},${JSON.stringify({ ...ours, Action: [...(ours.Action as string[])].reverse() }, null, 2)}]}`,
    );
    const edit = editStatements(current, { remove: [ours], add: [] });
    expect(renderRawPolicy(edit.policy)).toBe(`{"Version":"2012-10-17","Statement":[${lookalike}]}`);
    expect(edit.collisions).toEqual([]);
  });

  it('reports a foreign statement holding a Sid it needs, and never drops it', () => {
    const squatter = owner.replace('LegalHold', ours.Sid!);
    const edit = editStatements(parseRawPolicy(`{"Version":"2012-10-17","Statement":[${squatter}]}`), {
      remove: [ours],
      add: [ours],
    });
    expect(edit.collisions.map((s) => s.Sid)).toEqual([ours.Sid]);
    expect(renderRawPolicy(edit.policy)).toContain(squatter);
  });

  it('leaves a policy that already holds what it wants unchanged, and says so', () => {
    const current = parseRawPolicy(`{"Version":"2012-10-17","Statement":[${owner},${JSON.stringify(ours)}]}`);
    const edit = editStatements(current, { remove: [ours], add: [ours] });
    expect(edit.changed).toBe(false);
    expect(presentStatements(current, [ours])).toEqual([ours]);
  });

  it('reads a single statement object, and refuses text that is not a policy object', () => {
    expect(parseRawPolicy(`{"Version":"2012-10-17","Statement":${owner}}`).statements.map((s) => s.raw)).toEqual([
      owner,
    ]);
    expect(() => parseRawPolicy('[1]')).toThrow(SyntaxError);
    expect(() => parseRawPolicy('{"Statement":[}')).toThrow(SyntaxError);
    expect(() => parseRawPolicy('{"Version":"2012-10-17"} x')).toThrow(SyntaxError);
  });
});
