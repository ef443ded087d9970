import type { Config } from '../../config';
import { ConflictError, QuotaExceededError, ValidationError, type ServiceError } from '../../errors';
import { samePolicy } from '../../policy/compare';
import type { PolicyDocument } from '../../policy/types';
import { tagValue, type GrantDesired, type IdentityDesired } from '../model/desired';
import type { Observed } from '../gather/observe';
import {
  GRANTABLE_TAG,
  onboardingIdOfPolicy,
  TAG_IDENTITY,
  TAG_MANAGED_BY,
  type WorkloadIdentity,
} from '../model/onboarding';
import type { Step } from '../model/steps';
import { planRoleRemoval } from './role-removal';

/**
 * Pure: the diff between what AWS holds (observed) and what it should hold (desired), as steps. One planner
 * for every verb: POST plans the identity with its grants plus this grant; DELETE plans the identity without
 * this grant (or its removal, with the last grant); verify reports the same diff as drift.
 *
 * Everything that can be foreseen from what was read is refused here, before any write: a role that is not the
 * service's, an identity policy or trust over IAM's quotas, a foreign statement in the way, a policy over size.
 */

const INLINE_POLICIES_PER_ROLE_BYTES = 10_240;

const docSize = (d: PolicyDocument): number => JSON.stringify(d).length;

export interface RolePlanInput {
  config: Config;
  identity: WorkloadIdentity;
  observed: Observed;
  /** what the identity should hold; undefined: its role and everything that goes with it are removed */
  desired?: IdentityDesired;
  /** the grant whose inline policy this request puts (POST) */
  grant?: GrantDesired;
  /** when removing: the providers to delete after the role (decided from what else uses them) */
  removableProviders?: readonly string[];
}

/** Something the service added that a removal leaves in place, because its owner withdrew the service's access to it. */
export interface LeftToOwner {
  accountId: string;
  resource: string;
  detail: string;
}

export interface RolePlan {
  steps: Step[];
  /** what refuses this change, from what was read (never thrown: each verb decides what a refusal means to it) */
  refusals: ServiceError[];
  /** steps an inline policy write must wait for (the role's creation, or its boundary restored) */
  roleReady: string[];
  /** removals the service may no longer make (an opt-in withdrawn): left to the owner, never a refusal */
  left?: LeftToOwner[];
}

/** The role is the service's own for this identity: tagged by it, for this identity, at the expected ARN. */
function ownershipRefusal(config: Config, identity: WorkloadIdentity, observed: Observed): ServiceError | undefined {
  const role = observed.role;
  if (!role) return undefined;
  if (
    tagValue(role.tags, TAG_MANAGED_BY) !== config.managedByTag ||
    tagValue(role.tags, TAG_IDENTITY) !== identity.key ||
    role.arn !== identity.roleArn
  ) {
    return new ConflictError(
      `role ${identity.roleName} exists in account ${identity.roleAccount} but was not created by this service for workload identity ${identity.key} (its ${TAG_MANAGED_BY} and ${TAG_IDENTITY} tags do not say so); refusing to take it over or change it`,
    );
  }
}

function trustSizeRefusal(identity: WorkloadIdentity, trust: PolicyDocument, quota: number): ServiceError | undefined {
  const size = docSize(trust);
  if (size <= quota) return undefined;
  // one statement per cluster: how many of them fit, with these service accounts
  let fit = 0;
  while (fit < trust.Statement.length && docSize({ ...trust, Statement: trust.Statement.slice(0, fit + 1) }) <= quota)
    fit++;
  const sas = identity.serviceAccounts.length;
  const clusters = identity.clusters.length || 1;
  const advice =
    fit > 0
      ? `${fit} cluster(s) fit in one role with these ${sas} service account(s) — onboard at most ${fit} cluster(s) per workload identity, or raise the quota (L-C07B4B0D)`
      : `not even one cluster fits: one cluster's statement with these ${sas} service account(s) is ${docSize({ ...trust, Statement: trust.Statement.slice(0, 1) })} characters — name fewer or shorter service accounts, or raise the quota (L-C07B4B0D)`;
  return new QuotaExceededError(
    `the trust policy of role ${identity.roleName} would be ${size} characters for ${clusters} cluster(s), over this account's AssumeRolePolicySizeQuota of ${quota}; ${advice}`,
    { trustPolicySize: size, quota, clustersRequested: clusters, clustersThatFit: fit, serviceAccountsRequested: sas },
  );
}

function inlineSizeRefusal(
  identity: WorkloadIdentity,
  observed: Observed,
  desired: IdentityDesired,
  grant: GrantDesired,
): ServiceError | undefined {
  const grantBytes = docSize(grant.permissions);
  const others = desired.policyNames
    .filter((n) => n !== grant.policyName)
    .map((n) => observed.role?.inline.get(n)?.size ?? 0);
  const used = others.reduce((a, b) => a + b, 0);
  if (used + grantBytes <= INLINE_POLICIES_PER_ROLE_BYTES) return undefined;
  const fit = Math.max(0, Math.floor((INLINE_POLICIES_PER_ROLE_BYTES - used) / grantBytes));
  return new QuotaExceededError(
    `role ${identity.roleName} holds ${others.length} other grant(s) using ${used} of IAM's ${INLINE_POLICIES_PER_ROLE_BYTES} bytes of inline policies per role; this grant needs ${grantBytes} bytes, so ${fit} more grant(s) of this size fit — remove a grant of this workload identity first`,
    {
      roleInlinePolicyBytes: used,
      grantBytes,
      quota: INLINE_POLICIES_PER_ROLE_BYTES,
      grantsOnRole: others.length,
      moreGrantsThatFit: fit,
    },
  );
}

/** The role-level steps of an identity, and its grant's inline policy. */
export function planRole(input: RolePlanInput): RolePlan {
  const { config, identity, observed, desired, grant } = input;
  const notOwned = ownershipRefusal(config, identity, observed);
  if (notOwned) return { steps: [], roleReady: [], refusals: [notOwned] };
  const refusals: ServiceError[] = [];
  const refuse = (e: ServiceError | undefined) => void (e && refusals.push(e));
  const k = identity.key;
  const scope = { kind: 'identity' as const, key: k };
  const role = observed.role;
  const roleArn = identity.roleArn;
  const steps: Step[] = [];
  const id = (suffix: string) => `${k}:${suffix}`;
  const policyScope = (name: string) => {
    const owner = onboardingIdOfPolicy(name);
    return owner ? { kind: 'grant' as const, id: owner } : scope;
  };

  // the identity keeps no grant: its role goes, and what exists only for it
  if (!desired) return planRoleRemoval(input);

  // providers the trust names that do not exist yet
  const providerSteps: string[] = [];
  for (const p of desired.providers) {
    if (observed.providers.includes(p.arn)) continue;
    const sid = id(`oidc:${p.arn}`);
    providerSteps.push(sid);
    steps.push({
      id: sid,
      action: 'create-oidc-provider',
      accountId: identity.roleAccount,
      resource: p.arn,
      params: {
        issuerUrl: p.issuerUrl,
        tags: [
          [TAG_MANAGED_BY, config.managedByTag],
          [TAG_IDENTITY, identity.key],
        ],
      },
      after: [],
      scope,
    });
  }

  const roleReady: string[] = [];
  if (!role) {
    refuse(trustSizeRefusal(identity, desired.role.trust, observed.trustQuota));
    steps.push({
      id: id('role'),
      action: 'create-role',
      accountId: identity.roleAccount,
      resource: roleArn,
      params: {
        name: desired.role.name,
        path: desired.role.path,
        trust: desired.role.trust,
        tags: desired.role.tags,
        boundaryArn: desired.role.boundaryArn,
        description: desired.role.description,
      },
      after: providerSteps,
      scope,
    });
    roleReady.push(id('role'));
  } else {
    if (!samePolicy(role.trust, desired.role.trust)) {
      refuse(trustSizeRefusal(identity, desired.role.trust, observed.trustQuota));
      steps.push({
        id: id('trust'),
        action: 'update-trust-policy',
        accountId: identity.roleAccount,
        resource: roleArn,
        params: { role: identity.roleName, trust: desired.role.trust },
        after: providerSteps,
        scope,
      });
    }
    // IAM compares tag keys ignoring case: a key in another case is the same tag (tagging it overwrites it,
    // untagging it removes it), so it is neither stale nor changed unless its value differs
    const have = new Map(role.tags.map(([key, v]) => [key.toLowerCase(), v]));
    const want = new Set(desired.role.tags.map(([key]) => key.toLowerCase()));
    const changed = desired.role.tags.filter(([key, v]) => have.get(key.toLowerCase()) !== v);
    const stale = role.tags.map(([key]) => key).filter((key) => !want.has(key.toLowerCase()));
    if (changed.length)
      steps.push({
        id: id('tag'),
        action: 'tag-role',
        accountId: identity.roleAccount,
        resource: roleArn,
        params: { role: identity.roleName, tags: changed },
        after: [],
        scope,
      });
    if (stale.length)
      steps.push({
        id: id('untag'),
        action: 'untag-role',
        accountId: identity.roleAccount,
        resource: roleArn,
        params: { role: identity.roleName, keys: stale },
        after: [],
        scope,
      });
    if (desired.role.boundaryArn && role.boundaryArn !== desired.role.boundaryArn) {
      steps.push({
        id: id('boundary'),
        action: 'set-permissions-boundary',
        accountId: identity.roleAccount,
        resource: roleArn,
        params: { role: identity.roleName, boundaryArn: desired.role.boundaryArn },
        after: [],
        scope,
      });
      roleReady.push(id('boundary'));
    }
    // nothing on the role but its grants' policies: an extra inline policy or an attached managed policy widens
    // what the workload can do beyond what any onboarding asked for
    const wanted = new Set(desired.policyNames);
    for (const name of [...role.inline.keys()].sort()) {
      if (wanted.has(name)) continue;
      steps.push({
        id: id(`delete-policy:${name}`),
        action: 'delete-role-policy',
        accountId: identity.roleAccount,
        resource: `${roleArn}#${name}`,
        params: { role: identity.roleName, policyName: name },
        after: [...roleReady],
        scope: policyScope(name),
      });
    }
    for (const p of role.attached) {
      steps.push({
        id: id(`detach:${p.arn}`),
        action: 'detach-role-policy',
        accountId: identity.roleAccount,
        resource: `${roleArn}#${p.arn}`,
        params: { role: identity.roleName, policyArn: p.arn },
        after: [],
        scope,
      });
    }
  }

  if (grant) {
    refuse(inlineSizeRefusal(identity, observed, desired, grant));
    const current = role?.inline.get(grant.policyName)?.document;
    if (!samePolicy(current, grant.permissions)) {
      steps.push({
        id: id(`policy:${grant.policyName}`),
        action: 'put-role-policy',
        accountId: identity.roleAccount,
        resource: `${roleArn}#${grant.policyName}`,
        params: { role: identity.roleName, policyName: grant.policyName, document: grant.permissions },
        after: roleReady,
        scope: { kind: 'grant', id: grant.id },
      });
    }
  }

  if (desired.instanceGrant) {
    const ig = desired.instanceGrant;
    const instance = observed.instanceRole;
    // refused only when adding the grant: an identity that merely keeps its other grants is not blocked by it
    if (!instance) {
      if (grant)
        refuse(
          new ValidationError('the instance role does not exist', [
            { path: 'workload.instanceRoleArn', message: `no role ${identity.instanceRoleArn}` },
          ]),
        );
    } else if (tagValue(instance.tags, GRANTABLE_TAG) !== 'true') {
      if (grant)
        refuse(
          new ConflictError(
            `the instance role ${instance.arn} is not tagged ${GRANTABLE_TAG}=true: the provisioner may add the assume grant only to instance roles their account owner opted in. Tag the role (aws iam tag-role --role-name ${ig.roleName} --tags Key=${GRANTABLE_TAG},Value=true) and retry`,
          ),
        );
    } else if (!samePolicy(instance.grant, ig.document)) {
      steps.push({
        id: id('instance-grant'),
        action: 'put-instance-role-grant',
        accountId: ig.accountId,
        resource: `${identity.instanceRoleArn}#${ig.policyName}`,
        params: { role: ig.roleName, policyName: ig.policyName, document: ig.document },
        after: [],
        scope,
      });
    }
  }
  return { steps, roleReady, refusals };
}
