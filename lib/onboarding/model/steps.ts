import type { PolicyDocument, Statement } from '../../policy/types';
import type { KeyGrant, TagList } from './desired';

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
