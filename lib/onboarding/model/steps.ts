import type { PolicyDocument, Statement } from '../../policy/types';
import type { KeyGrant } from './key-grant';
import type { TagList } from './desired';

/**
 * A plan is a list of steps as data: what to do, on what, with which parameters, after which other steps.
 * Data can be printed (dry runs answer it), compared (verify reports it as drift), tested (golden plans) and
 * recorded (progress per step); one executor runs it.
 */

interface StepBase<A extends string, P> {
  /** unique within a plan; what `after` refers to */
  id: string;
  action: A;
  accountId: string;
  /** the ARN (or ARN#policy) the step changes */
  resource: string;
  params: P;
  after: string[];
  /** whose record the step's outcome is recorded in */
  scope: { kind: 'identity'; key: string } | { kind: 'grant'; id: string };
}

export interface ResourceStatementParams {
  target:
    | { kind: 'bucket'; accountId: string; bucket: string; region: string }
    | { kind: 'key'; accountId: string; region: string; keyArn: string };
  onboardingId: string;
  /** exactly what the service wrote before, removed where found unchanged */
  remove: Statement[];
  add: Statement[];
}

/** A grant found on a key (ListGrants by grantee), to retire: its id, and what it allowed (for the record). */
interface RetireKeyGrantParams {
  keyArn: string;
  region: string;
  grantId: string;
  granteePrincipal: string;
  operations: string[];
  /** whether the service is its retiring principal (RetireGrant); otherwise it is revoked (RevokeGrant) */
  retiring: boolean;
}

/** An access point of the service (in the step's account: the bucket's). */
interface AccessPointRef {
  region: string;
  name: string;
  /** its ARN (also the step's resource) */
  arn: string;
}

/**
 * The bucket policy's delegation to the service's access points (one statement per bucket), edited through the
 * policy writer like a grant's statements. Its removal is decided under the policy's lease: it stays while any
 * access point of the service other than `except` remains on the bucket (lib/onboarding/plan/access-points.ts).
 */
export interface DelegationParams {
  target: { kind: 'bucket'; accountId: string; bucket: string; region: string };
  onboardingId: string;
  statement: Statement;
  /** removal only: the access points being removed with it (they do not keep the delegation) */
  except?: string[];
  /** the service's `managed-by` tag value: an access point tagged with it keeps the delegation */
  managedBy: string;
  /** addition only: whether the plan's read found the statement already there (else the writer takes the lease at once) */
  seen?: boolean;
}

/** An EKS Pod Identity association: a service account of a namespace of a cluster (in the step's account). */
interface AssociationRef {
  clusterName: string;
  region: string;
  namespace: string;
  serviceAccount: string;
}

export type Step =
  | StepBase<'create-oidc-provider', { issuerUrl: string; tags: TagList }>
  | StepBase<
      'create-role',
      { name: string; path: string; trust: PolicyDocument; tags: TagList; boundaryArn?: string; description: string }
    >
  | StepBase<'update-trust-policy', { role: string; trust: PolicyDocument }>
  | StepBase<'tag-role', { role: string; tags: TagList }>
  | StepBase<'untag-role', { role: string; keys: string[] }>
  | StepBase<'set-permissions-boundary', { role: string; boundaryArn: string }>
  | StepBase<'put-role-policy', { role: string; policyName: string; document: PolicyDocument }>
  | StepBase<'delete-role-policy', { role: string; policyName: string }>
  | StepBase<'detach-role-policy', { role: string; policyArn: string }>
  | StepBase<'delete-role', { role: string }>
  | StepBase<'delete-oidc-provider', { arn: string }>
  | StepBase<'put-instance-role-grant', { role: string; policyName: string; document: PolicyDocument }>
  | StepBase<'delete-instance-role-grant', { role: string; policyName: string }>
  | StepBase<
      | 'put-bucket-policy-statements'
      | 'remove-bucket-policy-statements'
      | 'put-key-policy-statement'
      | 'remove-key-policy-statement',
      ResourceStatementParams
    >
  | StepBase<'create-key-grant', { grant: KeyGrant }>
  | StepBase<'retire-key-grant', RetireKeyGrantParams>
  | StepBase<'create-access-point', AccessPointRef & { bucket: string; tags: TagList }>
  | StepBase<'put-access-point-policy', AccessPointRef & { policy: PolicyDocument }>
  | StepBase<'delete-access-point', AccessPointRef>
  | StepBase<'put-access-point-delegation' | 'remove-access-point-delegation', DelegationParams>
  | StepBase<
      'create-pod-identity-association',
      AssociationRef & { roleArn: string; targetRoleArn?: string; tags: TagList }
    >
  | StepBase<
      'update-pod-identity-association',
      AssociationRef & { associationId: string; roleArn: string; targetRoleArn?: string }
    >
  | StepBase<'delete-pod-identity-association', AssociationRef & { associationId: string }>;

export type Action = Step['action'];

export const changeOf = (s: Step): { action: string; accountId: string; resource: string } => ({
  action: s.action,
  accountId: s.accountId,
  resource: s.resource,
});
