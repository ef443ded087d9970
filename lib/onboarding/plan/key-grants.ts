import type { ServiceError } from '../../errors';
import type { KeyGrant } from '../model/key-grant';
import type { KeyStatements } from '../model/desired';
import { keyGrantName } from '../model/key-grant';
import type { Observed } from '../gather/observe';
import { keyGrantKey, keyGrantReads } from '../model/records';
import type { Step } from '../model/steps';
import type { LeftToOwner } from './role';
import { planStatements } from './statements';

/**
 * Pure: an onboarding's access to its bucket's KMS key, as a KMS grant (contract section 4: SSE-KMS through grants,
 * in every mode; key policies are never changed). The grant wanted is made unless one of this onboarding's (found by
 * its name among the grantee's grants on the key) already allows exactly its operations; every other grant of this
 * onboarding (another grantee, other operations, another key) is retired, after the new one is made (make before
 * break: `create-key-grant` ranks with what makes access, `retire-key-grant` with removals). A key-policy statement
 * an older version wrote for the onboarding is removed only after the grant exists, and only where the provisioner
 * may still change key policies (`migrateKeyPolicies`, the template's AllowKeyPolicyMigration); otherwise it is left
 * to the key's owner, with the command that removes it.
 */

export interface KeyGrantsInput {
  grantId: string;
  observed: Pick<Observed, 'keyGrants' | 'resourcePolicies' | 'resourceTags'>;
  /** the grants the record says this onboarding made (or set out to make) */
  written: readonly KeyGrant[];
  /** the grant it wants (absent: removal, or a bucket with no key) */
  want?: KeyGrant;
  /** a statement an older version of the service wrote in a key policy for this onboarding */
  keyStatements?: KeyStatements;
  /** whether the provisioner may still write key policies (only to migrate such statements away) */
  migrateKeyPolicies: boolean;
  /** the plan's other steps: a new grant waits for the creation of its grantee (KMS refuses a role that is not there) */
  others?: readonly Step[];
}

export interface KeyGrantsPlan {
  steps: Step[];
  /** old key-policy statements the service may no longer remove: the key's owner's */
  left: LeftToOwner[];
  /** what refuses the removal of an old key-policy statement (a foreign statement took its Sid, …) */
  refusals: ServiceError[];
}

const sameOperations = (a: readonly string[], b: readonly string[]) =>
  JSON.stringify([...a].sort()) === JSON.stringify([...b].sort());

export function planKeyGrants(i: KeyGrantsInput): KeyGrantsPlan {
  const { grantId, observed, want } = i;
  const name = keyGrantName(grantId);
  const steps: Step[] = [];
  const scope = { kind: 'grant' as const, id: grantId };
  let kept: string | undefined;
  // a grantee role this plan creates (anew: it was deleted) is another principal than the one an existing grant
  // names (KMS, like IAM, binds a role to its unique id): such a grant is stale, retired before its grant is made
  // again (a retried CreateGrant of the same name and parameters would answer the stale grant's id)
  const roleCreation = (i.others ?? [])
    .filter((s) => s.action === 'create-role' && s.resource === want?.granteePrincipal)
    .map((s) => s.id);
  const staleIds = (g: { grantId: string }) => `${grantId}:retire-key-grant:${g.grantId}`;
  let stale: string[] = [];
  if (want) {
    const ofGrantee = observed.keyGrants?.get(keyGrantKey(want.keyArn, want.granteePrincipal)) ?? [];
    if (roleCreation.length)
      stale = ofGrantee.filter((g) => g.name === name && g.granteePrincipal === want.granteePrincipal).map(staleIds);
    const found = (roleCreation.length ? [] : ofGrantee).find(
      (g) =>
        g.name === name &&
        g.retiringPrincipal === want.retiringPrincipal &&
        !g.constraints &&
        sameOperations(g.operations, want.operations),
    );
    kept = found?.grantId;
    if (!found) {
      steps.push({
        id: `${grantId}:create-key-grant:${want.keyArn}:${want.granteePrincipal}`,
        action: 'create-key-grant',
        accountId: want.accountId,
        resource: want.keyArn,
        params: { grant: want },
        after: [...roleCreation, ...stale],
        scope,
      });
    }
  }
  // every other grant of this onboarding, on every key and grantee it used or uses
  const known = [...i.written, ...(want ? [want] : [])];
  const retired = new Set<string>();
  for (const ref of keyGrantReads(i.written, want)) {
    const of = known.find((g) => g.keyArn === ref.keyArn && g.granteePrincipal === ref.granteePrincipal)!;
    for (const g of observed.keyGrants?.get(keyGrantKey(ref.keyArn, ref.granteePrincipal)) ?? []) {
      // the grantee's own (an endpoint that ignores ListGrants' GranteePrincipal filter, as moto 5.2.1 does, lists all)
      if (g.name !== name || g.grantId === kept || g.granteePrincipal !== ref.granteePrincipal) continue;
      if (retired.has(g.grantId)) continue;
      retired.add(g.grantId);
      steps.push({
        id: staleIds(g),
        action: 'retire-key-grant',
        accountId: of.accountId,
        resource: ref.keyArn,
        params: {
          keyArn: ref.keyArn,
          region: of.region,
          grantId: g.grantId,
          granteePrincipal: g.granteePrincipal,
          operations: g.operations,
          retiring: g.retiringPrincipal === of.retiringPrincipal,
        },
        after: [],
        scope,
      });
    }
  }
  // an older version's key-policy statement: removed (after the grant, by rank) or left to the key's owner
  const left: LeftToOwner[] = [];
  const refusals: ServiceError[] = [];
  if (i.keyStatements) {
    // only found, not written, when the owner is left to remove it: no opt-in needed for that
    const seen = (i.migrateKeyPolicies ? observed : { ...observed, resourceTags: new Map() }) as Observed;
    const removal = planStatements(grantId, seen, { keyStatements: i.keyStatements }, undefined);
    if (i.migrateKeyPolicies) {
      steps.push(...removal.steps);
      refusals.push(...removal.refusals);
    } else
      for (const s of removal.steps) {
        const k = i.keyStatements;
        const sids = k.statements.map((x) => x.Sid).filter(Boolean);
        left.push({
          accountId: s.accountId,
          resource: k.keyArn,
          detail: `the policy of key ${k.keyArn} still holds the statement ${sids.join(', ')} an earlier version of s3-onboarding wrote for onboarding ${grantId}; access now comes from a KMS grant, and the service no longer changes key policies (the provisioner template's AllowKeyPolicyMigration is false), so its owner removes it: aws kms get-key-policy --key-id ${k.keyArn} --policy-name default --query Policy --output text > policy.json, delete the statement with Sid ${sids.join(', ')} from policy.json, then aws kms put-key-policy --key-id ${k.keyArn} --policy-name default --policy file://policy.json`,
        });
      }
  }
  return { steps, left, refusals };
}
