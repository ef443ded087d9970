import type { EksCluster } from '../../arn';
import { authorize } from '../../iam-policy/evaluate';
import { type ContextValue } from '../../iam-policy/conditions';
import type { PolicyDocument as EvalDocument } from '../../iam-policy/types';
import {
  associationRoleArn,
  eksClusterArn,
  POD_IDENTITY_AGENT_ADDON,
  podRoleAccounts,
  PODS_SERVICE_PRINCIPAL,
  roleArnIn,
} from '../../policy/pod-identity';
import type { PolicyDocument } from '../../policy/types';
import { clusterKey, describeBinding, TAG_IDENTITY, TAG_MANAGED_BY, type WorkloadIdentity } from '../model/onboarding';
import type { Observed } from '../gather/observe';
import type { ObservedAssociation } from '../gather/pod-identity';
import { whoOf } from '../model/onboarding';
import type { Step } from '../model/steps';

import { isPodIdentityStep, type PodIdentityPlan } from '../plan/pod-identity';

/** What verify checks of an identity's EKS Pod Identity: its associations, its agents, and that pods reach the role. */

// ---------- verify ----------

export const ASSOCIATIONS_CHECK = 'pod-identity-associations';
const AGENT_CHECK = 'pod-identity-agent';

/** The drift check a step of this module means: the associations, or a chaining role (by account). */
export function podIdentityCheckName(s: Step, identity: WorkloadIdentity): string | undefined {
  if (isPodIdentityStep(s)) return ASSOCIATIONS_CHECK;
  if (
    identity.kind === 'pod-identity' &&
    s.accountId !== identity.roleAccount &&
    s.resource.startsWith(roleArnIn(identity.roleArn, s.accountId))
  )
    return `pod-role:${s.accountId}`;
  return undefined;
}

export function podIdentityDriftDetail(s: Step): string | undefined {
  const where = (p: { namespace: string; serviceAccount: string; clusterName: string }) =>
    `service account ${p.namespace}/${p.serviceAccount} of cluster ${p.clusterName}`;
  switch (s.action) {
    case 'create-pod-identity-association':
      return `${where(s.params)} has no EKS Pod Identity association`;
    case 'update-pod-identity-association':
      return `EKS Pod Identity association ${s.params.associationId} of ${where(s.params)} does not name role ${s.params.roleArn}${s.params.targetRoleArn ? ` with target role ${s.params.targetRoleArn}` : ' without a target role'} and session tags on`;
    case 'delete-pod-identity-association':
      return `EKS Pod Identity association ${s.params.associationId} of ${where(s.params)} should not exist`;
    default:
      return undefined;
  }
}

interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

const asEval = (d: PolicyDocument): EvalDocument => d as unknown as EvalDocument;

/** The session tags EKS Pod Identity passes for a pod, as request context. */
function podContext(cluster: EksCluster, namespace: string, serviceAccount: string): Record<string, ContextValue> {
  const tags: Record<string, string> = {
    'eks-cluster-arn': eksClusterArn(cluster),
    'eks-cluster-name': cluster.name,
    'kubernetes-namespace': namespace,
    'kubernetes-service-account': serviceAccount,
  };
  return {
    'aws:SecureTransport': 'true',
    ...Object.fromEntries(Object.entries(tags).map(([k, v]) => [`aws:RequestTag/${k}`, v])),
    'aws:TagKeys': Object.keys(tags),
  };
}

/**
 * Verify's Pod Identity checks: the associations and chaining roles as provisioned (from the plan's diff), the
 * agent on every cluster, and, over the live trust policies, that exactly the identity's pods get the role: EKS
 * Pod Identity may assume the association's role for a granted service account of each cluster and for no other
 * service account, namespace or cluster; with role chaining the target trusts that role, with those tags, and no
 * other role.
 */
export function podIdentityChecks(
  identity: WorkloadIdentity,
  observed: Observed,
  plan: PodIdentityPlan,
  drift: ReadonlyMap<string, string[]>,
): Check[] {
  const pi = observed.podIdentity;
  if (identity.kind === 'irsa' && observed.associations) return leftoverAssociations(identity, observed.associations);
  if (identity.kind !== 'pod-identity' || !pi) return [];
  const who = whoOf(identity);
  const checks: Check[] = [];
  const check = (name: string, ok: boolean, ifOk: string, ifNot: string) =>
    checks.push({ name, ok, detail: ok ? ifOk : ifNot });
  const foreign = plan.conflicts.filter((c) => c.kind === 'foreign-association').map((c) => c.message);
  check(
    ASSOCIATIONS_CHECK,
    !drift.has(ASSOCIATIONS_CHECK) && !foreign.length,
    `${who.clusters.length * who.serviceAccounts.length} EKS Pod Identity association(s) name their roles as provisioned`,
    [...(drift.get(ASSOCIATIONS_CHECK) ?? []), ...foreign].join('; '),
  );
  for (const account of podRoleAccounts(who)) {
    const name = `pod-role:${account}`;
    check(
      name,
      !drift.has(name),
      `association role ${roleArnIn(identity.roleArn, account)} is as provisioned`,
      (drift.get(name) ?? []).map((d) => `association role ${roleArnIn(identity.roleArn, account)}: ${d}`).join('; '),
    );
  }
  const missing = pi.agentMissing ?? [];
  check(
    AGENT_CHECK,
    !missing.length,
    `every cluster runs the ${POD_IDENTITY_AGENT_ADDON} add-on`,
    missing
      .map(
        (m) =>
          `cluster ${m.cluster.name} has no usable ${POD_IDENTITY_AGENT_ADDON} add-on${m.status ? ` (status ${m.status})` : ''}`,
      )
      .join('; '),
  );

  const sa = who.serviceAccounts[0];
  const ns = who.namespace;
  for (const cluster of who.clusters) {
    const account = cluster.accountId;
    const roleArn = associationRoleArn(who, account);
    const role = account === identity.roleAccount ? observed.role : pi.podRoles.get(account);
    if (!role) continue; // reported as drift above
    const eksCan = (c: EksCluster, namespace: string, serviceAccount: string) =>
      ['sts:AssumeRole', 'sts:TagSession'].every(
        (action) =>
          authorize({
            principal: { arn: '', accountId: '', service: PODS_SERVICE_PRINCIPAL },
            action,
            resource: roleArn,
            resourceAccountId: account,
            identityPolicies: [],
            resourcePolicy: asEval(role.trust),
            resourcePolicyRequired: true,
            context: podContext(c, namespace, serviceAccount),
          }).allowed,
      );
    const failures: string[] = [];
    if (!eksCan(cluster, ns, sa)) failures.push(`EKS Pod Identity cannot assume ${roleArn} for ${ns}/${sa}`);
    if (eksCan(cluster, ns, `${sa}-not-granted`))
      failures.push('another service account of the namespace gets the role too');
    if (eksCan(cluster, `${ns}-not-granted`, sa))
      failures.push('a service account of another namespace gets the role too');
    if (eksCan({ ...cluster, name: `${cluster.name}-not-granted` }, ns, sa))
      failures.push('a pod of another cluster gets the role too');
    if (account !== identity.roleAccount && observed.role) {
      const target = observed.role;
      const chainCan = (principalRoleArn: string, identityPolicies: EvalDocument[], serviceAccount: string) =>
        ['sts:AssumeRole', 'sts:TagSession'].every(
          (action) =>
            authorize({
              principal: {
                arn: `arn:aws:sts::${account}:assumed-role/${principalRoleArn.split('/').pop()}/verify`,
                accountId: account,
                roleArn: principalRoleArn,
              },
              action,
              resource: identity.roleArn,
              resourceAccountId: identity.roleAccount,
              identityPolicies,
              resourcePolicy: asEval(target.trust),
              resourcePolicyRequired: true,
              context: podContext(cluster, ns, serviceAccount),
            }).allowed,
        );
      const chainPolicies = [...role.inline.values()].map((p) => asEval(p.document));
      const anything = asEval({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] });
      if (!chainCan(roleArn, chainPolicies, sa))
        failures.push(`${roleArn} cannot assume the target role ${identity.roleArn}`);
      if (chainCan(`arn:aws:iam::${account}:role/s3-onboarding-verify-not-granted`, [anything], sa))
        failures.push('another role of the cluster account can assume the target role');
      if (chainCan(roleArn, chainPolicies, `${sa}-not-granted`))
        failures.push('the target role trusts the association role for other service accounts too');
    }
    check(
      `reach:pod-identity:${clusterKey(cluster)}`,
      failures.length === 0,
      `${ns}/${sa} of cluster ${cluster.name} gets ${identity.roleArn} through EKS Pod Identity${account !== identity.roleAccount ? ` (chained from ${roleArn})` : ''}; other service accounts, namespaces, clusters and roles cannot`,
      failures.join('; '),
    );
  }
  return checks;
}

/**
 * An IRSA identity's service accounts have no EKS Pod Identity association of the service's (tagged managed-by):
 * one left behind (a move from Pod Identity cut short) names a role the identity no longer uses, or a deleted one.
 * Someone else's association is not the service's to judge.
 */
function leftoverAssociations(
  identity: WorkloadIdentity,
  associations: ReadonlyMap<string, ObservedAssociation>,
): Check[] {
  const ours = [...associations].filter(([, a]) => a.tags[TAG_MANAGED_BY] !== undefined && a.tags[TAG_IDENTITY]);
  return [
    {
      name: ASSOCIATIONS_CHECK,
      ok: !ours.length,
      detail: ours.length
        ? ours
            .map(
              ([binding, a]) =>
                `${describeBinding(binding)} still has EKS Pod Identity association ${a.id} (made by this service for workload identity ${a.tags[TAG_IDENTITY]}, naming role ${a.roleArn}), but this onboarding's identity uses IRSA: delete it (aws eks delete-pod-identity-association --cluster-name ${binding.split('/')[2]} --association-id ${a.id})`,
            )
            .join('; ')
        : `the service accounts of this IRSA identity have no EKS Pod Identity association of this service`,
    },
  ];
}
