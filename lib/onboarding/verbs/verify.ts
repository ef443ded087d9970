import { boundaryArn } from '../../config';
import { presentStatements } from '../../policy/resource-policy';
import { delegationStatement } from '../../policy/access-points';
import { identityOfRecord } from '../model/records';
import { type Caller, type ServiceDeps } from '../model/deps';
import { getOnboarding } from './read';
import { grantPolicyName, modeOf } from '../model/onboarding';
import { bucketTargetKey, observe } from '../gather/observe';
import { type PodIdentityPlan } from '../plan/pod-identity';
import { planTransition } from '../plan/transition';
import { podIdentityCheckName, podIdentityChecks, podIdentityDriftDetail } from './verify-pod-identity';
import { keyGrantReads, writtenKeyGrants, writtenOf } from '../model/records';
import { checkNameOf, driftDetail } from './verify-drift';
import { keyReachability, reachability } from './verify-reach';

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

/**
 * Verify is the planner's diff, not executed: every step it would take is drift, named after what it would change
 * (each extra policy on the role by its name). Then reachability, evaluated over the role's whole effective
 * policy set (every inline and attached policy, the boundary, the bucket policy, the key policy) with the same
 * evaluator the emulator uses.
 */
export async function verify(
  deps: ServiceDeps,
  id: string,
  caller?: Caller,
): Promise<{ ok: boolean; checks: Check[] }> {
  const rec = await getOnboarding(deps, id, caller);
  const idRec = await deps.store.identities.get(rec.identityKey);
  const checks: Check[] = [];
  const check = (name: string, ok: boolean, ifOk: string, ifNot: string) =>
    checks.push({ name, ok, detail: ok ? ifOk : ifNot });
  if (!idRec || !rec.desired) {
    check(
      'record',
      false,
      '',
      `onboarding ${id} has not been fully provisioned (status ${rec.status}); retry the POST that created it`,
    );
    return { ok: false, checks };
  }
  const identity = identityOfRecord(idRec);
  const want = rec.desired;
  const b = rec.request.bucket;
  const bucketAccount = want.bucketStatements?.accountId ?? b.accountId ?? identity.roleAccount;
  const written = writtenOf(rec);
  const wantBoundary = boundaryArn(deps.config, identity.roleAccount);
  const observed = await observe(deps.sessions, {
    identity,
    knownPolicies: idRec.grants.map((g) => grantPolicyName(g.id)),
    // always the bucket: a bucket policy can deny what the role's own policy allows, in any mode
    buckets: [{ accountId: bucketAccount, bucket: b.name, region: b.region }],
    keys: written.keyStatements ? [written.keyStatements.keyArn] : [],
    keyGrants: keyGrantReads(writtenKeyGrants(rec), want.keyGrant),
    managedDocuments: { boundaryArn: wantBoundary },
    podIdentity: 'verify',
    ...(want.accessPoint
      ? {
          accessPoint: {
            accountId: want.accessPoint.accountId,
            region: want.accessPoint.region,
            onboardingId: id,
            managedBy: deps.config.managedByTag,
            recorded: [want.accessPoint.name],
            derive: false,
          },
        }
      : {}),
    // the bucket's tags and S3 ABAC status: the owner's opt-in, and the context the boundary's conditions read
    optIn: {
      bucket: { accountId: bucketAccount, bucket: b.name, region: b.region },
      key: b.kmsKeyArn,
      readAbac: deps.config.s3AbacCheck,
    },
  });
  if (!observed.role) {
    check('role', false, '', `role ${identity.roleArn} does not exist`);
    return { ok: false, checks };
  }

  const t = planTransition(
    {
      config: deps.config,
      grantId: id,
      identities: [{ identity, observed, issuers: idRec.providers.map((p) => p.issuerUrl) }],
      written: { ...written, keyGrants: writtenKeyGrants(rec) },
      resources: observed,
      // drift, not a change: an older version's statement still in the key policy is reported either way
      migrateKeyPolicies: true,
    },
    {
      grants: new Map([[identity.key, idRec.grants]]),
      grant: { identityKey: identity.key, want, mode: modeOf(rec.request).mode },
    },
  );
  const desired = t.identities.get(identity.key)!;
  // the delegation is checked by its presence below (the planner asks for it with every access point it creates)
  const steps = t.steps.filter((s) => s.action !== 'put-access-point-delegation');
  // what would refuse a POST (a role not ours, a foreign statement in the way) is a failing check here; Pod
  // Identity's conflicts are its own checks below, and the opt-in its own
  for (const r of t.refusals.filter((x) => x.check === 'plan'))
    check('plan', false, '', r.error.expose ? r.error.message : 'the current state cannot be converged');
  // EKS Pod Identity: chaining roles and associations (plan/pod-identity.ts)
  const pod: PodIdentityPlan = t.podIdentity.get(identity.key) ?? { steps: [], conflicts: [], refusals: [] };
  const drift = new Map<string, string[]>();
  for (const s of steps) {
    const name = podIdentityCheckName(s, identity) ?? checkNameOf(s, id);
    drift.set(name, [...(drift.get(name) ?? []), podIdentityDriftDetail(s) ?? driftDetail(s)]);
  }
  const named = (name: string, ok: string) => check(name, !drift.has(name), ok, (drift.get(name) ?? []).join('; '));
  named('role', `role ${identity.roleArn} exists and carries this workload identity's tags`);
  named('trust-policy', 'the trust policy is as provisioned');
  named('role-tags', "the role's tags are as provisioned");
  if (wantBoundary) named('permissions-boundary', `bounded by ${wantBoundary}`);
  named('permissions-policy', `inline policy ${want.policyName} is as provisioned`);
  if (want.bucketStatements)
    named('bucket-policy-statements', `the policy of ${b.name} holds this onboarding's statements as provisioned`);
  if (want.keyGrant)
    named(
      'key-grant',
      `key ${want.keyGrant.keyArn} grants ${want.keyGrant.granteePrincipal} ${want.keyGrant.operations.join(', ')} (grant ${want.keyGrant.name})`,
    );
  if (written.keyStatements)
    named('key-policy-statement', 'no statement of an earlier version is left in the key policy');
  if (want.accessPoint) {
    named('access-point', `access point ${want.accessPoint.name} exists with its policy as provisioned`);
    const ap = want.accessPoint;
    const delegation = delegationStatement(ap.accountId, ap.region, ap.bucket);
    const present =
      presentStatements(observed.resourcePolicies.get(bucketTargetKey(ap.accountId, ap.bucket)), [delegation]).length >
      0;
    check(
      'access-point-delegation',
      present,
      `the policy of ${b.name} delegates to the service's access points`,
      `the policy of ${b.name} does not hold the delegation to the service's access points (Sid ${delegation.Sid}) as provisioned: requests through access point ${ap.name} are refused`,
    );
  }
  if (desired.instanceGrant) named('instance-role-grant', 'the instance role may assume the role');
  const extras = [...drift.keys()].filter(
    (n) => n.startsWith('extra-policy:') || n.startsWith('attached-policy:') || n.startsWith('oidc-provider:'),
  );
  if (!extras.length) check('extra-policies', true, "the role holds no policy beyond its onboardings' own", '');
  for (const name of extras) check(name, false, '', drift.get(name)!.join('; '));
  checks.push(...podIdentityChecks(identity, observed, pod, drift));

  const optIn = t.refusals.find((x) => x.check === 'opt-in');
  check(
    'opt-in',
    !optIn,
    `the owners of ${b.name}${b.kmsKeyArn ? ' and its key' : ''} opted in (s3-onboarding-managed=true, S3 ABAC on)`,
    optIn?.error.expose ? optIn.error.message : 'the opt-in could not be checked',
  );

  checks.push(
    ...reachability(
      deps,
      rec.request,
      identity,
      idRec.grants.map((g) => g.id),
      observed,
      bucketAccount,
      wantBoundary,
      want.accessPoint && {
        arn: want.accessPoint.arn,
        policy: observed.accessPoints?.byName.get(want.accessPoint.name)?.policy,
        tags: observed.accessPoints?.byName.get(want.accessPoint.name)?.tags ?? [],
      },
    ),
    ...(want.keyGrant ? keyReachability(want.keyGrant, identity, observed, wantBoundary) : []),
  );
  return { ok: checks.every((c) => c.ok), checks };
}
