import { renderSnippets } from '../../snippets';
import { type ServiceDeps } from '../model/deps';
import { type GrantDesired, type GrantRef, type IdentityDesired, type Resolved } from '../model/desired';
import { type Change, type OnboardingResult } from '../model/onboarding';
import { requirementsOf } from '../model/requirements';
import { writtenKeyGrants, writtenOf } from '../model/records';
import type { LeftToOwner } from './role';
import { accessPointWant } from './access-points';
import { type Step } from '../model/steps';
import { type ProvisionContext } from '../gather/provision';
import { podIdentityAssociations, podIdentityRoles } from './pod-identity';
import { firstRefusal, planTransition } from './transition';

/** POST's plan and answer: pure, from what the reads found. */

export interface ProvisionPlan {
  desired: IdentityDesired;
  grant: GrantDesired;
  grants: GrantRef[];
  steps: Step[];
  /** an older version's key-policy statement the service may no longer remove: the key's owner's (it stays recorded) */
  left: LeftToOwner[];
  /** access-point mode: the alias of the grant's access point, when it exists already */
  accessPointAlias?: string;
}

export const upsertGrant = (grants: readonly GrantRef[], g: GrantRef): GrantRef[] =>
  [...grants.filter((x) => x.id !== g.id), g].sort((a, b) => a.id.localeCompare(b.id));

export function planProvision(deps: ServiceDeps, r: Resolved, ctx: ProvisionContext): ProvisionPlan {
  const grants = upsertGrant(ctx.identityRecord?.grants ?? [], { id: r.id, tags: r.grant.tags });
  // access-point mode: the grant's access point under the name it has or gets
  const want = accessPointWant(r, ctx.observed, deps.config);
  const m = ctx.moving;
  const t = planTransition(
    {
      config: deps.config,
      grantId: r.id,
      identities: [
        { identity: r.identity, observed: ctx.observed, issuers: ctx.observed.issuers },
        ...(m
          ? [
              {
                identity: m.identity,
                observed: m.observed,
                issuers: m.record.providers.map((p) => p.issuerUrl),
                removableProviders: m.removable,
              },
            ]
          : []),
      ],
      written: ctx.record ? { ...writtenOf(ctx.record), keyGrants: writtenKeyGrants(ctx.record) } : {},
      resources: ctx.observed,
      quotas: ctx.quotas,
    },
    {
      grants: new Map([
        [r.identity.key, grants],
        ...(m ? [[m.identity.key, m.record.grants.filter((g) => g.id !== r.id)] as const] : []),
      ]),
      grant: { identityKey: r.identity.key, want, mode: r.grant.mode },
    },
  );
  // everything foreseeable from what was read is refused here, before any write
  const refusal = firstRefusal(t);
  if (refusal) throw refusal;
  const alias = want.accessPoint && ctx.observed.accessPoints?.byName.get(want.accessPoint.name)?.alias;
  return {
    desired: t.identities.get(r.identity.key)!,
    grant: want,
    grants,
    steps: t.steps,
    left: t.left,
    ...(alias ? { accessPointAlias: alias } : {}),
  };
}

/** A grant as the answer shows it: what it allows, to whom, on which key (its id is KMS's, read back by its name). */
const keyGrantAnswer = (g: NonNullable<GrantDesired['keyGrant']>) => ({
  keyArn: g.keyArn,
  name: g.name,
  granteePrincipal: g.granteePrincipal,
  retiringPrincipal: g.retiringPrincipal,
  operations: g.operations,
});

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
      ...(plan.grant.keyGrant ? { keyGrants: [keyGrantAnswer(plan.grant.keyGrant)] } : {}),
      ...(ap ? { accessPoint: { name: ap.name, arn: ap.arn, alias, policy: ap.policy } } : {}),
      ...(plan.desired.instanceGrant ? { instanceRoleGrant: plan.desired.instanceGrant.document } : {}),
    },
    requirements: requirementsOf(input),
    ...(plan.left.length ? { leftToOwner: plan.left } : {}),
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
