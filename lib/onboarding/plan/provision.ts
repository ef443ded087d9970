import { renderSnippets } from '../../snippets';
import { type ServiceDeps } from '../model/deps';
import {
  identityDesired,
  type GrantDesired,
  type GrantRef,
  type IdentityDesired,
  type Resolved,
} from '../model/desired';
import { type Change, type OnboardingResult } from '../model/onboarding';
import { planRole } from './role';
import { planStatements } from './statements';
import { checkOptIn } from './opt-in';
import { requirementsOf } from '../model/requirements';
import { orderMakeBeforeBreak } from './make-before-break';
import {
  identityRoleArns,
  planPodIdentity,
  podIdentityAssociations,
  podIdentityRoles,
  podIdentitySteps,
} from './pod-identity';
import { writtenOf } from '../model/records';
import { accessPointWant, orderGrantPolicy, planAccessPoint } from './access-points';
import { type Step } from '../model/steps';

import { type ProvisionContext } from '../gather/provision';

/** POST's plan and answer: pure, from what the reads found. */

export interface ProvisionPlan {
  desired: IdentityDesired;
  grant: GrantDesired;
  grants: GrantRef[];
  steps: Step[];
  /** access-point mode: the alias of the grant's access point, when it exists already */
  accessPointAlias?: string;
}

export const upsertGrant = (grants: readonly GrantRef[], g: GrantRef): GrantRef[] =>
  [...grants.filter((x) => x.id !== g.id), g].sort((a, b) => a.id.localeCompare(b.id));

export function planProvision(deps: ServiceDeps, r: Resolved, ctx: ProvisionContext): ProvisionPlan {
  // the bucket's and key's owners opted in, whatever the mode (refused here, before any write)
  checkOptIn(r.grant.mode, ctx.observed.optIn);
  const grants = upsertGrant(ctx.identityRecord?.grants ?? [], { id: r.id, tags: r.grant.tags });
  const desired = identityDesired(deps.config, r.identity, grants, ctx.observed.issuers);
  // access-point mode: the grant's access point under the name it has or gets
  const grant = accessPointWant(r, ctx.observed);
  const steps = [
    ...planRole({ config: deps.config, identity: r.identity, observed: ctx.observed, desired, grant }).steps,
  ];
  // the service accounts this grant moves from another identity of the service keep their associations: re-pointed
  const adopt = ctx.moving ? identityRoleArns(ctx.moving.identity) : [];
  steps.push(
    ...podIdentitySteps({
      config: deps.config,
      identity: r.identity,
      observed: ctx.observed,
      grants,
      roleSteps: steps,
      adopt,
    }),
  );
  if (ctx.moving) {
    const m = ctx.moving;
    const rest = m.record.grants.filter((g) => g.id !== r.id);
    const restDesired = rest.length
      ? identityDesired(
          deps.config,
          m.identity,
          rest,
          m.record.providers.map((p) => p.issuerUrl),
        )
      : undefined;
    const away = planRole({
      config: deps.config,
      identity: m.identity,
      observed: m.observed,
      desired: restDesired,
      removableProviders: m.removable,
    }).steps;
    // the service accounts this grant takes along keep their associations when the new identity re-points them
    // (Pod Identity to Pod Identity); moving to IRSA, the old associations go with the old identity
    const handOver = r.identity.kind === 'pod-identity' ? r.identity.bindings : [];
    steps.push(
      ...away,
      ...planPodIdentity({
        config: deps.config,
        identity: m.identity,
        observed: m.observed,
        grants: rest,
        roleSteps: away,
        handOver,
      }).steps,
    );
  }
  const written = ctx.record ? writtenOf(ctx.record) : {};
  steps.push(
    ...planStatements(r.id, ctx.observed, written, grant),
    ...planAccessPoint({ config: deps.config, grantId: r.id, observed: ctx.observed, written, want: grant }),
  );
  const alias = grant.accessPoint && ctx.observed.accessPoints?.byName.get(grant.accessPoint.name)?.alias;
  return {
    desired,
    grant,
    grants,
    steps: orderMakeBeforeBreak(orderGrantPolicy(steps, r.id)),
    ...(alias ? { accessPointAlias: alias } : {}),
  };
}

/** The answer to POST: the role, what changed (or would), the policies and the tool's snippets. */
export function resultOf(
  r: Resolved,
  plan: ProvisionPlan,
  changes: Change[],
  status: 'provisioned' | 'planned',
  /** the alias of an access point this request created (AWS makes it up on creation) */
  createdAlias?: string,
): OnboardingResult {
  const ap = plan.grant.accessPoint;
  // an access point not created yet has no alias: a dry run names it by a placeholder of the same form
  const alias = ap && (createdAlias ?? plan.accessPointAlias ?? `${ap.name}-pending-s3alias`);
  const input = r.input;
  const { identity } = r;
  return {
    id: r.id,
    status,
    roleArn: identity.roleArn,
    roles: [
      {
        arn: identity.roleArn,
        accountId: identity.roleAccount,
        purpose: identity.kind === 'ec2' ? 'ec2-assumed-workload' : `${identity.kind}-workload`,
      },
      ...podIdentityRoles(identity),
    ],
    changes,
    policies: {
      trust: plan.desired.role.trust,
      permissions: plan.grant.permissions,
      bucketPolicyStatements: plan.grant.bucketStatements?.statements ?? [],
      ...(ap ? { accessPoint: { name: ap.name, arn: ap.arn, alias, policy: ap.policy } } : {}),
      ...(plan.grant.keyStatements ? { keyPolicyStatements: plan.grant.keyStatements.statements } : {}),
      ...(plan.desired.instanceGrant ? { instanceRoleGrant: plan.desired.instanceGrant.document } : {}),
    },
    requirements: requirementsOf(input),
    snippets: renderSnippets({
      onboardingId: r.id,
      tool: input.tool,
      access: input.access,
      roleArn: identity.roleArn,
      bucket: {
        name: input.bucket.name,
        region: input.bucket.region,
        prefix: r.grant.bucket.prefix || undefined,
        kmsKeyArn: input.bucket.kmsKeyArn,
        ...(ap && alias ? { accessPoint: { alias, arn: ap.arn } } : {}),
      },
      workload:
        input.workload.type === 'eks'
          ? { ...input.workload, serviceAccounts: identity.serviceAccounts }
          : input.workload,
      ...(identity.kind === 'pod-identity' ? { podIdentity: { associations: podIdentityAssociations(identity) } } : {}),
      requirements: requirementsOf(input),
    }),
  };
}

/** What the request recorded before its first write, and how to take it back if nothing gets written. */
