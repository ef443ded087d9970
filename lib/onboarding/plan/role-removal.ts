import { boundaryArn } from '../../config';
import type { ServiceError } from '../../errors';
import { accountOfArn, nameOfArn } from '../../arn';
import { tagValue } from '../model/desired';
import { GRANTABLE_TAG, instanceGrantName, onboardingIdOfPolicy } from '../model/onboarding';
import type { Step } from '../model/steps';
import type { LeftToOwner, RolePlan, RolePlanInput } from './role';

/**
 * Pure: the removal of an identity that keeps no grant. Its role goes (a removed boundary put back first, then its
 * inline policies deleted and managed policies detached), with the instance-role grant and the OIDC providers that
 * exist only for it. A removal is never refused for what matters only when adding: an instance role whose owner
 * withdrew the opt-in keeps the service's grant, left to its owner with the command that removes it.
 */
export function planRoleRemoval(input: RolePlanInput): RolePlan {
  const { config, identity, observed } = input;
  const refusals: ServiceError[] = [];
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
  const deletes: string[] = [];
  if (role) {
    const boundary = boundaryArn(config, identity.roleAccount);
    // the provisioner may change inline policies only of bounded roles: put a removed boundary back first
    const ready: string[] = [];
    if (boundary && role.boundaryArn !== boundary) {
      steps.push({
        id: id('boundary'),
        action: 'set-permissions-boundary',
        accountId: identity.roleAccount,
        resource: roleArn,
        params: { role: identity.roleName, boundaryArn: boundary },
        after: [],
        scope,
      });
      ready.push(id('boundary'));
    }
    for (const name of [...role.inline.keys()].sort()) {
      const sid = id(`delete-policy:${name}`);
      deletes.push(sid);
      steps.push({
        id: sid,
        action: 'delete-role-policy',
        accountId: identity.roleAccount,
        resource: `${roleArn}#${name}`,
        params: { role: identity.roleName, policyName: name },
        after: ready,
        scope: policyScope(name),
      });
    }
    for (const p of role.attached) {
      const sid = id(`detach:${p.arn}`);
      deletes.push(sid);
      steps.push({
        id: sid,
        action: 'detach-role-policy',
        accountId: identity.roleAccount,
        resource: `${roleArn}#${p.arn}`,
        params: { role: identity.roleName, policyArn: p.arn },
        after: [],
        scope,
      });
    }
    steps.push({
      id: id('delete-role'),
      action: 'delete-role',
      accountId: identity.roleAccount,
      resource: roleArn,
      params: { role: identity.roleName },
      after: deletes,
      scope,
    });
  }
  const instanceRoleArn = identity.instanceRoleArn;
  const left: LeftToOwner[] = [];
  if (observed.instanceRole?.grant && instanceRoleArn) {
    const policyName = instanceGrantName(identity.roleName);
    const resource = `${instanceRoleArn}#${policyName}`;
    if (tagValue(observed.instanceRole.tags, GRANTABLE_TAG) === 'true') {
      steps.push({
        id: id('delete-instance-grant'),
        action: 'delete-instance-role-grant',
        accountId: accountOfArn(instanceRoleArn),
        resource,
        params: { role: nameOfArn(instanceRoleArn), policyName },
        after: [],
        scope,
      });
    } else {
      // the owner withdrew the opt-in: the provisioner may no longer change the instance role. The grant only
      // lets it assume a role that is being deleted, so the removal goes on and says what is left
      left.push({
        accountId: accountOfArn(instanceRoleArn),
        resource,
        detail: `the instance role is no longer tagged ${GRANTABLE_TAG}=true, so the service may not change it; its inline policy ${policyName} (which only allowed assuming the deleted role ${identity.roleArn}) is left for its owner to delete: aws iam delete-role-policy --role-name ${nameOfArn(instanceRoleArn)} --policy-name ${policyName}`,
      });
    }
  }
  for (const arn of input.removableProviders ?? []) {
    steps.push({
      id: id(`delete-oidc:${arn}`),
      action: 'delete-oidc-provider',
      accountId: identity.roleAccount,
      resource: arn,
      params: { arn },
      after: role ? [id('delete-role')] : [],
      scope,
    });
  }
  return { steps, roleReady: [], refusals, ...(left.length ? { left } : {}) };
}
