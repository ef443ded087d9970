import { ConflictError, QuotaExceededError, type ServiceError } from '../../errors';
import { editStatements, renderRawPolicy } from '../../policy/resource-policy';
import { policySize as textSize } from '../../iam-policy/grammar';
import { tagValue, type GrantDesired, type KeyStatements, type BucketStatements } from '../model/desired';
import type { Observed } from '../gather/observe';
import { bucketTargetKey, keyTargetKey } from '../model/onboarding';
import type { ResourceStatementParams, Step } from '../model/steps';
import { bucketPolicyCapacityAdvice, MODES_THAT_DO_NOT_GROW_THE_BUCKET_POLICY } from './capacity';

/**
 * Pure: a grant's statements in resource policies (bucket and key policies), as steps. What the grant wrote before
 * is removed where found unchanged, what it wants is added; a foreign statement in the way, a policy over its size
 * limit, a principal AWS would refuse or an owner who did not opt in is refused here, before any write.
 */

export const BUCKET_POLICY_MAX_BYTES = 20_480;
export const KEY_POLICY_MAX_BYTES = 32_768;
/** A bucket's or key's owner opts in to the service changing its policy with this tag (value `true`). */
export const MANAGED_TAG = 's3-onboarding-managed';

/** Principals AWS shows by unique id once they are deleted (a role: AROA…, a user: AIDA…): S3 and KMS refuse them. */
const DELETED_PRINCIPAL = /^A(ROA|IDA|GPA|NPA|NVA|SIA|PKA|CCA)[A-Z0-9]{12,}$/;

function deletedPrincipals(s: { Principal?: unknown; NotPrincipal?: unknown }): string[] {
  const out: string[] = [];
  for (const p of [s.Principal, s.NotPrincipal]) {
    if (!p || typeof p !== 'object') continue;
    for (const v of Object.values(p as Record<string, unknown>))
      for (const x of Array.isArray(v) ? v : [v]) if (typeof x === 'string' && DELETED_PRINCIPAL.test(x)) out.push(x);
  }
  return out;
}

/** What the grant wrote before (from its record), per resource policy. */
export interface WrittenStatements {
  bucketStatements?: BucketStatements;
  keyStatements?: KeyStatements;
}

type Target = ResourceStatementParams['target'];

/** What the resource policies hold now, and their tags (the owner's opt-in). */
type PolicyState = Pick<Observed, 'resourcePolicies' | 'resourceTags'>;

function statementStep(
  grantId: string,
  target: Target,
  observed: PolicyState,
  remove: { statements: ResourceStatementParams['remove'] } | undefined,
  add: { statements: ResourceStatementParams['add'] } | undefined,
): Step[] | ServiceError {
  const key = target.kind === 'bucket' ? bucketTargetKey(target.accountId, target.bucket) : keyTargetKey(target.keyArn);
  const current = observed.resourcePolicies.get(key);
  const edit = editStatements(current, { remove: remove?.statements ?? [], add: add?.statements ?? [] });
  const what = target.kind === 'bucket' ? `bucket ${target.bucket}` : `key ${target.keyArn}`;
  if (edit.collisions.length) {
    return new ConflictError(
      `the policy of ${what} holds a statement with Sid ${edit.collisions.map((s) => s.Sid).join(', ')} that this service did not write (or that was changed after it wrote it); it is never overwritten. Remove or rename that statement, then retry`,
    );
  }
  if (!edit.changed) return [];
  // a write needs the owner's opt-in: the provisioner may change only the policies of tagged buckets and keys
  const tags = observed.resourceTags.get(key);
  if (tags && tagValue(tags, MANAGED_TAG) !== 'true') {
    return new ConflictError(
      target.kind === 'bucket'
        ? `bucket ${target.bucket} is not opted in to policy changes by s3-onboarding: its owner enables attribute-based access control on it and tags it ${MANAGED_TAG}=true (aws s3api put-bucket-abac --bucket ${target.bucket} --abac-status Status=Enabled; aws s3control tag-resource --account-id ${target.accountId} --resource-arn arn:aws:s3:::${target.bucket} --tags Key=${MANAGED_TAG},Value=true), then retry`
        : `key ${target.keyArn} is not opted in to policy changes by s3-onboarding: its owner tags it ${MANAGED_TAG}=true (aws kms tag-resource --key-id ${target.keyArn} --tags TagKey=${MANAGED_TAG},TagValue=true), then retry`,
    );
  }
  // S3 and KMS refuse a policy naming a deleted principal: no write of this policy can succeed until its owner fixes it
  const stale = edit.policy.statements.flatMap((s) => deletedPrincipals(s.value).map((p) => ({ sid: s.value.Sid, p })));
  if (stale.length) {
    return new ConflictError(
      `the policy of ${what} holds ${stale.map((x) => `statement ${x.sid ? `Sid ${x.sid}` : '(no Sid)'} naming ${x.p}`).join(', ')}: a principal that was deleted (AWS shows it by its unique id), so AWS refuses every change to this policy until its owner removes or fixes that statement`,
    );
  }
  if (add?.statements.length) {
    const size = textSize(renderRawPolicy(edit.policy));
    const max = target.kind === 'bucket' ? BUCKET_POLICY_MAX_BYTES : KEY_POLICY_MAX_BYTES;
    if (size > max) {
      // a bucket policy need not grow with the onboardings: name the modes that leave it as it is
      const modes = target.kind === 'bucket' ? bucketPolicyCapacityAdvice : '';
      return new QuotaExceededError(
        `the policy of ${what} would be ${size} bytes, over the ${max}-byte limit; remove other statements or onboardings from it first${modes}`,
        {
          [target.kind === 'bucket' ? 'bucketPolicySize' : 'keyPolicySize']: size,
          quota: max,
          ...(target.kind === 'bucket' ? { modesThatDoNotGrowIt: [...MODES_THAT_DO_NOT_GROW_THE_BUCKET_POLICY] } : {}),
        },
      );
    }
  }
  const adding = !!add?.statements.length;
  const action =
    target.kind === 'bucket'
      ? adding
        ? 'put-bucket-policy-statements'
        : 'remove-bucket-policy-statements'
      : adding
        ? 'put-key-policy-statement'
        : 'remove-key-policy-statement';
  const resource = target.kind === 'bucket' ? `arn:aws:s3:::${target.bucket}` : target.keyArn;
  return [
    {
      id: `${grantId}:${action}:${resource}`,
      action,
      accountId: target.accountId,
      resource,
      params: { target, onboardingId: grantId, remove: remove?.statements ?? [], add: add?.statements ?? [] },
      after: [],
      scope: { kind: 'grant', id: grantId },
    } as Step,
  ];
}

const bucketTarget = (b: BucketStatements): Target => ({
  kind: 'bucket',
  accountId: b.accountId,
  bucket: b.bucket,
  region: b.region,
});
const keyTarget = (k: KeyStatements): Target => ({
  kind: 'key',
  accountId: k.accountId,
  region: k.region,
  keyArn: k.keyArn,
});

/** The resource policies a grant wants statements in. */
export const wantedTargets = (want: GrantDesired): Target[] => [
  ...(want.bucketStatements ? [bucketTarget(want.bucketStatements)] : []),
  ...(want.keyStatements ? [keyTarget(want.keyStatements)] : []),
];

/**
 * The grant's statements in resource policies: what it wrote before is removed where found unchanged, what it
 * wants is added; a policy that already holds exactly what is wanted is not written. A grant whose key changed
 * loses its statement in the old key's policy and gains one in the new key's.
 */
export function planStatements(
  grantId: string,
  observed: PolicyState,
  written: WrittenStatements,
  want?: GrantDesired,
): { steps: Step[]; refusals: ServiceError[] } {
  const steps: Step[] = [];
  const pairs: [
    Target | undefined,
    WrittenStatements['bucketStatements'] | KeyStatements | undefined,
    Target | undefined,
    BucketStatements | KeyStatements | undefined,
  ][] = [
    [
      written.bucketStatements && bucketTarget(written.bucketStatements),
      written.bucketStatements,
      want?.bucketStatements && bucketTarget(want.bucketStatements),
      want?.bucketStatements,
    ],
    [
      written.keyStatements && keyTarget(written.keyStatements),
      written.keyStatements,
      want?.keyStatements && keyTarget(want.keyStatements),
      want?.keyStatements,
    ],
  ];
  const refusals: ServiceError[] = [];
  const plan = (...args: Parameters<typeof statementStep>) => {
    const out = statementStep(...args);
    if (Array.isArray(out)) steps.push(...out);
    else refusals.push(out);
  };
  for (const [beforeTarget, before, afterTarget, after] of pairs) {
    if (beforeTarget && afterTarget && JSON.stringify(beforeTarget) === JSON.stringify(afterTarget)) {
      plan(grantId, afterTarget, observed, before, after);
    } else {
      if (beforeTarget) plan(grantId, beforeTarget, observed, before, undefined);
      if (afterTarget) plan(grantId, afterTarget, observed, undefined, after);
    }
  }
  return { steps, refusals };
}
