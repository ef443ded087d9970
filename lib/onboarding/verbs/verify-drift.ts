import { grantPolicyName, GRANT_POLICY_PREFIX } from '../model/onboarding';
import { ASSOCIATIONS_CHECK } from './verify-pod-identity';
import type { Step } from '../model/steps';

/** The drift checks a plan step means, named after what it would change. */
export function checkNameOf(s: Step, grantId: string): string {
  switch (s.action) {
    case 'create-role':
      return 'role';
    case 'create-oidc-provider':
      return `oidc-provider:${s.resource}`;
    case 'update-trust-policy':
      return 'trust-policy';
    case 'tag-role':
    case 'untag-role':
      return 'role-tags';
    case 'set-permissions-boundary':
      return 'permissions-boundary';
    case 'put-role-policy':
      return 'permissions-policy';
    case 'delete-role-policy':
      return s.params.policyName === grantPolicyName(grantId)
        ? 'permissions-policy'
        : `extra-policy:${s.params.policyName}`;
    case 'detach-role-policy':
      return `attached-policy:${s.params.policyArn}`;
    case 'put-instance-role-grant':
    case 'delete-instance-role-grant':
      return 'instance-role-grant';
    case 'put-bucket-policy-statements':
    case 'remove-bucket-policy-statements':
      return 'bucket-policy-statements';
    case 'put-key-policy-statement':
    case 'remove-key-policy-statement':
      return 'key-policy-statement';
    case 'create-key-grant':
    case 'retire-key-grant':
      return 'key-grant';
    case 'delete-role':
    case 'delete-oidc-provider':
      return 'role';
    case 'create-pod-identity-association':
    case 'update-pod-identity-association':
    case 'delete-pod-identity-association':
      return ASSOCIATIONS_CHECK;
    case 'create-access-point':
    case 'delete-access-point':
    case 'put-access-point-policy':
      return 'access-point';
    case 'put-access-point-delegation':
    case 'remove-access-point-delegation':
      return 'access-point-delegation';
  }
}

export function driftDetail(s: Step): string {
  switch (s.action) {
    case 'create-role':
      return `role ${s.resource} does not exist`;
    case 'create-oidc-provider':
      return `the IAM OIDC provider ${s.resource} the trust names does not exist`;
    case 'update-trust-policy':
      return 'the trust policy differs from what was provisioned';
    case 'tag-role':
    case 'untag-role':
      return "the role's tags differ from what was provisioned";
    case 'set-permissions-boundary':
      return `the role is not bounded by ${s.params.boundaryArn}`;
    case 'put-role-policy':
      return `inline policy ${s.params.policyName} is missing or differs from what was provisioned`;
    case 'delete-role-policy':
      return s.params.policyName.startsWith(GRANT_POLICY_PREFIX)
        ? `inline policy ${s.params.policyName} belongs to no onboarding of this role: it widens what the workload can do`
        : `inline policy ${s.params.policyName} was added outside this service: it widens what the workload can do`;
    case 'detach-role-policy':
      return `managed policy ${s.params.policyArn} is attached to the role outside this service: it widens what the workload can do`;
    case 'put-instance-role-grant':
      return 'the instance role grant is missing or changed';
    case 'put-bucket-policy-statements':
    case 'remove-bucket-policy-statements':
      return `the bucket policy does not hold this onboarding's statements as provisioned`;
    case 'put-key-policy-statement':
    case 'remove-key-policy-statement':
      return s.action === 'remove-key-policy-statement'
        ? `the key policy still holds the statement an earlier version wrote for this onboarding (access is a KMS grant now)`
        : `the key policy does not hold this onboarding's statement as provisioned`;
    case 'create-key-grant':
      return `key ${s.params.grant.keyArn} has no grant ${s.params.grant.name} to ${s.params.grant.granteePrincipal} for ${s.params.grant.operations.join(', ')}`;
    case 'retire-key-grant':
      return `key ${s.params.keyArn} holds a grant of this onboarding (${s.params.grantId}: ${s.params.operations.join(', ')} to ${s.params.granteePrincipal}) it no longer wants`;
    case 'create-access-point':
      return `access point ${s.params.name} does not exist`;
    case 'put-access-point-policy':
      return `the policy of access point ${s.params.name} is missing or differs from what was provisioned`;
    case 'delete-access-point':
      return `access point ${s.params.name} of this onboarding is not the one it should use`;
    case 'put-access-point-delegation':
      return `the policy of bucket ${s.params.target.bucket} does not delegate to the service's access points`;
    default:
      return s.action;
  }
}
