import { ConflictError, QuotaExceededError } from '../../errors';
import { editStatements, renderRawPolicy } from '../../policy/resource-policy';
import { policySize as textSize } from '../../iam-policy/grammar';
import { samePolicy } from '../../policy/compare';
import {
  accessPointNames,
  ACCESS_POINT_CANDIDATES,
  delegationStatement,
  TAG_ONBOARDING,
} from '../../policy/access-points';
import type { Config } from '../../config';
import { grantDesired, tagValue, type GrantDesired, type Resolved, type TagList } from '../model/desired';
import { bucketTargetKey, grantPolicyName, TAG_MANAGED_BY } from '../model/onboarding';
import type { GrantLive } from '../model/records';
import type { Action, DelegationParams, Step } from '../model/steps';
import type { Observed } from '../gather/observe';
import type { ObservedAccessPoints } from '../gather/access-points';
import { BUCKET_POLICY_MAX_BYTES, MANAGED_TAG } from './statements';

/**
 * Pure: a grant's access point in access-point mode (contract §4), as steps. The grant's own access point (by its
 * tags) is created, or its policy converged; one that is no longer wanted (a DELETE, a move to another mode) is
 * deleted; someone else's is never touched, and a name it holds makes the derivation take the next one. The
 * bucket's one delegation statement goes in through the policy writer after the access point exists, and out,
 * under the bucket policy's lease, only when no access point of the service is left on the bucket.
 *
 * Why the lease and the access points, not the store: the last-one decision is taken by the policy writer while it
 * holds the bucket policy's lease, from S3 Control's ListAccessPoints of the bucket and the tags of those named
 * `s3ob-…` (act/policy-writer.ts `keepWhileAccessPoints`; someone else's access point of such a name does not count), and a grant adds the delegation only once its access point exists. So whichever of a
 * removal and an addition takes the lease second sees the other: a removal after the addition finds that access
 * point and keeps the statement; an addition after the removal writes it back. Two DELETEs of the last two each
 * delete their access point before they decide, so the second to decide finds none and removes it. The store's
 * list by bucket is a global secondary index (eventually consistent: a record saved a moment ago may be missing),
 * and it does not see an access point an interrupted attempt left behind; the access points on the bucket are what
 * the delegation serves, so they decide. A leftover access point of the service keeps the delegation (never
 * wrongly removed; DELETE of its onboarding removes both).
 */

/** The tags of the grant's access point: the service's, as on its roles, and the onboarding it belongs to. */
const accessPointTags = (config: Config, grantId: string): TagList => [
  [TAG_MANAGED_BY, config.managedByTag],
  [TAG_ONBOARDING, grantId],
];

/** The name the grant's access point has (its own, by its tags) or gets (the first free name of the derivation). */
export function chooseAccessPointName(grantId: string, observed?: ObservedAccessPoints): string {
  const names = accessPointNames(grantId);
  if (!observed) return names[0]!;
  const own = [...observed.byName.values()].find((a) => a?.own);
  if (own) return own.name;
  const free = names.find((n) => observed.byName.get(n) === null);
  if (free) return free;
  throw new ConflictError(
    `the ${ACCESS_POINT_CANDIDATES} access point names this onboarding may take (${names[0]} to ${names[names.length - 1]}) are all held by other access points of account ${observed.accountId} in ${observed.region}; remove one of them, then retry`,
  );
}

/** What the grant wants, with its access point under the name it has or gets (a request resolves to the first). */
export function accessPointWant(
  r: Resolved,
  observed: Observed,
  config?: Pick<Config, 'provisionerRoleName'>,
): GrantDesired {
  if (!r.want.accessPoint) return r.want;
  const name = chooseAccessPointName(r.id, observed.accessPoints);
  return name === r.want.accessPoint.name ? r.want : grantDesired(r.identity, r.grant, config, name);
}

/** A change to the bucket policy's delegation, refused here as a grant's statements are (plan/statements.ts). */
function delegationStep(
  managedBy: string,
  grantId: string,
  observed: Observed,
  target: DelegationParams['target'],
  action: 'put-access-point-delegation' | 'remove-access-point-delegation',
  except: string[],
  after: string[],
): Step[] {
  const key = bucketTargetKey(target.accountId, target.bucket);
  const current = observed.resourcePolicies.get(key);
  const statement = delegationStatement(target.accountId, target.region, target.bucket);
  const adding = action === 'put-access-point-delegation';
  const edit = editStatements(current, adding ? { remove: [], add: [statement] } : { remove: [statement], add: [] });
  if (edit.collisions.length) {
    throw new ConflictError(
      `the policy of bucket ${target.bucket} holds a statement with Sid ${statement.Sid} that this service did not write (or that was changed after it wrote it); it is never overwritten. Remove or rename that statement, then retry`,
    );
  }
  // a removal the policy does not need (the statement is not there) is no step; an addition always is, even when
  // the statement is there: it lands under the lease after the access point exists (see the module comment)
  if (!adding && !edit.changed) return [];
  const tags = observed.resourceTags.get(key);
  if ((adding ? edit.changed : true) && tags && tagValue(tags, MANAGED_TAG) !== 'true') {
    throw new ConflictError(
      `bucket ${target.bucket} is not opted in to policy changes by s3-onboarding: its owner enables attribute-based access control on it and tags it ${MANAGED_TAG}=true (aws s3api put-bucket-abac --bucket ${target.bucket} --abac-status Status=Enabled; aws s3control tag-resource --account-id ${target.accountId} --resource-arn arn:aws:s3:::${target.bucket} --tags Key=${MANAGED_TAG},Value=true), then retry`,
    );
  }
  if (adding && edit.changed) {
    const size = textSize(renderRawPolicy(edit.policy));
    if (size > BUCKET_POLICY_MAX_BYTES)
      throw new QuotaExceededError(
        `the policy of bucket ${target.bucket} would be ${size} bytes with the access points' delegation, over the ${BUCKET_POLICY_MAX_BYTES}-byte limit; remove other statements from it first`,
        { bucketPolicySize: size, quota: BUCKET_POLICY_MAX_BYTES },
      );
  }
  const resource = `arn:aws:s3:::${target.bucket}`;
  return [
    {
      id: `${grantId}:${action}:${resource}`,
      action,
      accountId: target.accountId,
      resource,
      params: {
        target,
        onboardingId: grantId,
        statement,
        managedBy,
        ...(adding ? { seen: !edit.changed } : { except }),
      },
      after,
      scope: { kind: 'grant', id: grantId },
    },
  ];
}

/**
 * The grant's access point as steps: `want` (with `accessPointWant`'s name) in access-point mode, none otherwise
 * (DELETE, undo, a move to another mode). `written`: what the grant's record says it made.
 */
export function planAccessPoint(a: {
  config: Config;
  grantId: string;
  observed: Observed;
  written: GrantLive;
  want?: GrantDesired;
}): Step[] {
  const { grantId, observed, want } = a;
  const ap = want?.accessPoint;
  const seen = observed.accessPoints;
  const own = [...(seen?.byName.values() ?? [])].filter((x): x is NonNullable<typeof x> => !!x && x.own);
  const steps: Step[] = [];
  const scope = { kind: 'grant' as const, id: grantId };
  const ref = (accountId: string, region: string, name: string, arn: string) => ({ accountId, region, name, arn });
  let createId: string | undefined;
  if (ap) {
    const cur = seen?.byName.get(ap.name);
    if (cur && !cur.own)
      throw new ConflictError(
        `access point ${ap.name} is someone else's; it is never changed. Retry to take another name`,
      );
    if (!cur) {
      createId = `${grantId}:create-access-point:${ap.arn}`;
      steps.push({
        id: createId,
        action: 'create-access-point',
        accountId: ap.accountId,
        resource: ap.arn,
        params: {
          region: ap.region,
          name: ap.name,
          arn: ap.arn,
          bucket: ap.bucket,
          tags: accessPointTags(a.config, grantId),
        },
        after: [],
        scope,
      });
    }
    if (!cur || !cur.policy || !samePolicy(cur.policy, ap.policy)) {
      steps.push({
        id: `${grantId}:put-access-point-policy:${ap.arn}`,
        action: 'put-access-point-policy',
        accountId: ap.accountId,
        resource: `${ap.arn}#policy`,
        params: { region: ap.region, name: ap.name, arn: ap.arn, policy: ap.policy },
        after: createId ? [createId] : [],
        scope,
      });
    }
    const target = { kind: 'bucket' as const, accountId: ap.accountId, bucket: ap.bucket, region: ap.region };
    const stmt = delegationStep(
      a.config.managedByTag,
      grantId,
      observed,
      target,
      'put-access-point-delegation',
      [],
      createId ? [createId] : [],
    );
    // with the access point in place and the statement there (the plan's read saw it), nothing to add
    const seenInPlace = stmt.some((x) => x.action === 'put-access-point-delegation' && x.params.seen);
    if (createId || !seenInPlace) steps.push(...stmt);
  }
  // the grant's own access points that are not (or no longer) wanted
  const gone = own.filter((x) => x.name !== ap?.name);
  const removed: string[] = [];
  for (const x of gone) {
    const { accountId, region } = seen!;
    steps.push({
      id: `${grantId}:delete-access-point:${x.arn}`,
      action: 'delete-access-point',
      accountId,
      resource: x.arn,
      params: ref(accountId, region, x.name, x.arn),
      after: [],
      scope,
    });
    removed.push(x.name);
  }
  // no access point wanted: the delegation goes unless another access point of the service remains (decided
  // under the lease); the recorded access point counts as removed even when it was already gone
  const recorded = a.written.accessPoint;
  if (!ap && (recorded || gone.length)) {
    const where = recorded ?? { accountId: seen!.accountId, region: seen!.region, bucket: gone[0]!.bucket };
    const target = { kind: 'bucket' as const, accountId: where.accountId, bucket: where.bucket, region: where.region };
    const except = [...new Set([...removed, ...(recorded ? [recorded.name] : [])])];
    steps.push(
      ...delegationStep(
        a.config.managedByTag,
        grantId,
        observed,
        target,
        'remove-access-point-delegation',
        except,
        steps.filter((s) => s.action === 'delete-access-point').map((s) => s.id),
      ),
    );
  }
  return steps;
}

const MAKES: ReadonlySet<Action> = new Set<Action>([
  'create-access-point',
  'put-access-point-policy',
  'put-access-point-delegation',
  'put-bucket-policy-statements',
]);
const MOVES_AWAY: ReadonlySet<Action> = new Set<Action>(['delete-access-point', 'remove-bucket-policy-statements']);

/**
 * Make before break for a grant that moves into or out of access-point mode: its inline policy is one document,
 * rewritten in place from the bucket's ARN to the access point's (or back), so it is rewritten only once what it
 * will name is in place (the access point, its policy and the delegation; or the bucket-policy statements). A
 * failure before leaves the old access whole; after, the new one works. A grant that does not move keeps its order.
 */
export function orderGrantPolicy(steps: readonly Step[], grantId: string): Step[] {
  const mine = (s: Step) => s.scope.kind === 'grant' && s.scope.id === grantId;
  if (!steps.some((s) => mine(s) && MOVES_AWAY.has(s.action))) return [...steps];
  const makes = steps.filter((s) => mine(s) && MAKES.has(s.action)).map((s) => s.id);
  if (!makes.length) return [...steps];
  const policy = grantPolicyName(grantId);
  return steps.map((s) =>
    s.action === 'put-role-policy' && s.params.policyName === policy
      ? ({ ...s, after: [...new Set([...s.after, ...makes])] } as Step)
      : s,
  );
}
