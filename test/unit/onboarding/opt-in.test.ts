import { ConflictError } from '../../../lib/errors';
import { optInRefusal } from '../../../lib/onboarding/plan/opt-in';
import type { Mode } from '../../../lib/onboarding/model/onboarding';
import type { ObservedOptIn } from '../../../lib/onboarding/gather/observe';

const KEY = 'arn:aws:kms:eu-west-1:300000000003:key/k';
const tagged: [string, string][] = [['s3-onboarding-managed', 'true']];
const optIn = (bucket: Partial<ObservedOptIn['bucket']>, key?: [string, string][]): ObservedOptIn => ({
  bucket: { accountId: '300000000003', bucket: 'b', tags: tagged, abac: true, ...bucket },
  ...(key ? { key: { keyArn: KEY, tags: key } } : {}),
});
const refusal = (o: ObservedOptIn, mode: Mode = 'same-account'): ConflictError => {
  const e = optInRefusal(mode, o);
  if (!e) throw new Error('expected a refusal');
  return e as ConflictError;
};

describe('optInRefusal (pure)', () => {
  it('passes a tagged bucket with ABAC on and a tagged key, and a request it has nothing read for', () => {
    expect(optInRefusal('role-in-bucket-account', optIn({}, tagged))).toBeUndefined();
    expect(optInRefusal('same-account', undefined)).toBeUndefined();
  });

  it.each([
    ['no tags', []],
    ['another value', [['s3-onboarding-managed', 'yes']]],
    ['the key in another case', [['S3-Onboarding-Managed', 'true']]],
  ] as [string, [string, string][]][])(
    'refuses a bucket with %s on bucket.name, naming the mode and both commands',
    (_what, tags) => {
      const e = refusal(optIn({ tags }), 'role-in-bucket-account');
      expect(e).toBeInstanceOf(ConflictError);
      expect(e.errors.map((x) => x.path)).toEqual(['bucket.name']);
      expect(e.message).toMatch(
        /mode role-in-bucket-account.*put-bucket-abac --bucket b --abac-status Status=Enabled.*s3control tag-resource --account-id 300000000003/,
      );
    },
  );

  it('refuses a tagged bucket whose ABAC is off, naming the command that enables it', () => {
    const e = refusal(optIn({ abac: false }));
    expect(e.errors).toEqual([{ path: 'bucket.name', message: expect.stringContaining('S3 ABAC is off') }]);
    expect(e.message).toContain('aws s3api put-bucket-abac --bucket b --abac-status Status=Enabled');
  });

  it('refuses an untagged key on bucket.kmsKeyArn, beside the bucket', () => {
    expect(refusal(optIn({}, [])).errors.map((x) => x.path)).toEqual(['bucket.kmsKeyArn']);
    expect(refusal(optIn({ tags: [] }, [['team', 'db']])).errors.map((x) => x.path)).toEqual([
      'bucket.name',
      'bucket.kmsKeyArn',
    ]);
  });
});
