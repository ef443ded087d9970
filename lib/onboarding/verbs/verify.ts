import { boundaryArn } from '../../config';
import { authorize, evaluatePolicy } from '../../iam-policy/evaluate';
import type { PolicyDocument as EvalDocument } from '../../iam-policy/types';
import { serviceAccountSubject, STS_AUDIENCE } from '../../policy/documents';
import { presentStatements, renderRawPolicy } from '../../policy/resource-policy';
import { delegationStatement } from '../../policy/access-points';
import type { PolicyDocument } from '../../policy/types';
import { samplePath, toolActions } from '../../policy/actions';
import { identityOfRecord } from '../model/records';
import { type Caller, type ServiceDeps } from '../model/deps';
import { getOnboarding } from './read';
import { grantPolicyName, GRANT_POLICY_PREFIX, modeOf } from '../model/onboarding';
import type { GrantDesired } from '../model/desired';
import { bucketTargetKey, observe, type Observed } from '../gather/observe';
import { type PodIdentityPlan } from '../plan/pod-identity';
import { planTransition } from '../plan/transition';
import {
  ASSOCIATIONS_CHECK,
  podIdentityCheckName,
  podIdentityChecks,
  podIdentityDriftDetail,
} from './verify-pod-identity';
import { keyGrantKey, keyGrantReads, writtenKeyGrants, writtenOf } from '../model/records';
import type { Step } from '../model/steps';

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

const asEval = (d: PolicyDocument | undefined): EvalDocument | undefined => d as unknown as EvalDocument | undefined;

/** The drift checks a plan step means, named after what it would change. */
function checkNameOf(s: Step, grantId: string): string {
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

function driftDetail(s: Step): string {
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

/**
 * SSE-KMS: whether S3 can use the key for the role, for each operation its level needs (Decrypt to read,
 * GenerateDataKey to write): a live grant of this onboarding to the role allows it on the key's side (the key
 * policy is never changed), and the role's own policies and boundary allow it on the role's side.
 */
function keyReachability(
  grant: NonNullable<GrantDesired['keyGrant']>,
  identity: import('../model/onboarding').WorkloadIdentity,
  observed: Observed,
  wantBoundary: string | undefined,
): Check[] {
  const role = observed.role!;
  const found = (observed.keyGrants?.get(keyGrantKey(grant.keyArn, grant.granteePrincipal)) ?? []).filter(
    (g) => g.name === grant.name && g.granteePrincipal === identity.roleArn && !g.constraints,
  );
  const identityPolicies = [
    ...[...role.inline.values()].map((p) => asEval(p.document)!),
    ...role.attached.map((p) => asEval(observed.managedDocuments.get(p.arn))).filter((d): d is EvalDocument => !!d),
  ];
  const boundary = wantBoundary
    ? (asEval(observed.managedDocuments.get(wantBoundary)) ?? { Statement: [] })
    : undefined;
  const keyTags = observed.optIn?.key?.tags ?? [];
  return grant.operations.map((op) => {
    const granted = found.some((g) => g.operations.includes(op));
    const own = authorize({
      principal: {
        arn: `arn:aws:sts::${identity.roleAccount}:assumed-role/${identity.roleName}/verify`,
        accountId: identity.roleAccount,
        roleArn: identity.roleArn,
      },
      action: `kms:${op}`,
      resource: grant.keyArn,
      resourceAccountId: identity.roleAccount,
      identityPolicies,
      permissionsBoundary: boundary,
      context: {
        'kms:ViaService': `s3.${grant.region}.amazonaws.com`,
        ...Object.fromEntries(keyTags.map(([k, v]) => [`aws:ResourceTag/${k}`, v])),
      },
    });
    return {
      name: `reach:kms:${op}`,
      ok: granted && own.allowed,
      detail: !granted
        ? `no grant of this onboarding on key ${grant.keyArn} allows ${op} to ${identity.roleArn}`
        : !own.allowed
          ? `the role's own policies do not allow kms:${op} on key ${grant.keyArn}: ${own.reason}`
          : `S3 can use key ${grant.keyArn} for the role to ${op === 'Decrypt' ? 'read' : 'write'} (grant ${grant.name})`,
    };
  });
}

/** Whether the workload's identity can (and cannot) do what the grant says, over the live policies. */
function reachability(
  deps: ServiceDeps,
  request: import('../model/onboarding').OnboardingInput,
  identity: import('../model/onboarding').WorkloadIdentity,
  grantIds: string[],
  observed: Observed,
  bucketAccount: string,
  wantBoundary: string | undefined,
  /** access-point mode: requests go through this access point (its live policy) */
  through?: { arn: string; policy?: PolicyDocument; tags: [string, string][] },
): Check[] {
  const checks: Check[] = [];
  const check = (name: string, ok: boolean, ifOk: string, ifNot: string) =>
    checks.push({ name, ok, detail: ok ? ifOk : ifNot });
  const role = observed.role!;
  const w = request.workload;
  if (w.type === 'eks' && identity.kind === 'irsa') {
    const sa = identity.serviceAccounts[0];
    for (const statement of role.trust.Statement) {
      const federated = (statement.Principal as { Federated?: string } | undefined)?.Federated;
      if (!federated) continue;
      const key = federated.split(':oidc-provider/')[1];
      const can = (serviceAccount: string) =>
        authorize({
          principal: { arn: federated, accountId: identity.roleAccount, federated },
          action: 'sts:AssumeRoleWithWebIdentity',
          resource: identity.roleArn,
          resourceAccountId: identity.roleAccount,
          identityPolicies: [],
          resourcePolicy: asEval(role.trust),
          resourcePolicyRequired: true,
          context: { [`${key}:sub`]: serviceAccountSubject(w.namespace, serviceAccount), [`${key}:aud`]: STS_AUDIENCE },
        }).allowed;
      const granted = can(sa);
      const others = can(`${sa}-not-granted`);
      check(
        `reach:assume:${key}`,
        granted && !others,
        `${w.namespace}/${sa} can assume the role; other service accounts cannot`,
        granted ? 'other service accounts can assume the role too' : `${w.namespace}/${sa} cannot assume the role`,
      );
    }
  }
  // the role's whole effective policy set: every inline and every attached policy
  const identityPolicies = [
    ...[...role.inline.values()].map((p) => asEval(p.document)!),
    ...role.attached.map((p) => asEval(observed.managedDocuments.get(p.arn))).filter((d): d is EvalDocument => !!d),
  ];
  const boundary = wantBoundary
    ? (asEval(observed.managedDocuments.get(wantBoundary)) ?? { Statement: [] })
    : undefined;
  const b = request.bucket;
  const bucketPolicy = observed.resourcePolicies.get(bucketTargetKey(bucketAccount, b.name));
  const session = {
    arn: `arn:aws:sts::${identity.roleAccount}:assumed-role/${identity.roleName}/verify`,
    accountId: identity.roleAccount,
    roleArn: identity.roleArn,
  };
  // the condition keys S3 sets from the bucket's tags while its ABAC is on: aws:ResourceTag for bucket-level
  // actions, s3:BucketTag for bucket- and object-level ones (as the emulator does; the boundary reads them)
  const optIn = observed.optIn?.bucket;
  const tagged = (prefix: string) =>
    optIn?.abac ? Object.fromEntries(optIn.tags.map(([k, v]) => [`${prefix}/${k}`, v])) : {};
  const bucketDoc = bucketPolicy ? (JSON.parse(renderRawPolicy(bucketPolicy)) as EvalDocument) : undefined;
  const direct = (action: string, resource: string, context: Record<string, string> = {}) =>
    authorize({
      principal: session,
      action,
      resource,
      resourceAccountId: bucketAccount,
      identityPolicies,
      permissionsBoundary: boundary,
      resourcePolicy: bucketPolicy ? (JSON.parse(renderRawPolicy(bucketPolicy)) as EvalDocument) : undefined,
      context: {
        'aws:SecureTransport': 'true',
        ...tagged('s3:BucketTag'),
        ...(resource === `arn:aws:s3:::${b.name}` ? tagged('aws:ResourceTag') : {}),
        ...context,
      },
    });
  // through an access point, as S3 authorises it (emulator/services/s3.ts authorizeS3): the identity policies,
  // boundary and access point policy on the access point's ARN, then the bucket policy on the bucket's
  const s3Can = (action: string, resource: string, context: Record<string, string> = {}) => {
    if (!through) return direct(action, resource, context);
    const apContext = {
      's3:DataAccessPointArn': through.arn,
      's3:DataAccessPointAccount': bucketAccount,
      's3:AccessPointNetworkOrigin': 'Internet',
    };
    const bucketArn = `arn:aws:s3:::${b.name}`;
    const apResource =
      resource === bucketArn ? through.arn : `${through.arn}/object/${resource.slice(bucketArn.length + 1)}`;
    const first = authorize({
      principal: session,
      action,
      resource: apResource,
      resourceAccountId: bucketAccount,
      identityPolicies,
      permissionsBoundary: boundary,
      resourcePolicy: asEval(through.policy),
      context: {
        'aws:SecureTransport': 'true',
        // the access point's tags are aws:ResourceTag on its ARN (the boundary reads managed-by)
        ...Object.fromEntries(through.tags.map(([k, v]) => [`aws:ResourceTag/${k}`, v])),
        ...apContext,
        ...context,
      },
    });
    if (!first.allowed) return first;
    const verdict = bucketDoc
      ? evaluatePolicy(
          bucketDoc,
          {
            action,
            resource,
            principal: session,
            context: { 'aws:SecureTransport': 'true', ...apContext, ...context },
          },
          { checkPrincipal: true },
        )
      : 'NotApplicable';
    return verdict === 'Allow'
      ? first
      : {
          allowed: false,
          reason: `the policy of bucket ${b.name} does not delegate ${action} to access point ${through.arn}`,
        };
  };
  const prefix = b.prefix ?? '';
  const probe = `${prefix}s3-onboarding-verify`;
  const actions = toolActions(request.tool, request.access);
  // each action where the grant gives it: everywhere under the prefix, or only on the paths a level names
  for (const g of actions.object) {
    for (const action of g.actions) {
      const where = g.paths.map((p) => `${prefix}${samplePath(p, 's3-onboarding-verify')}`);
      const denied = where
        .map((key) => ({ key, d: s3Can(action, `arn:aws:s3:::${b.name}/${key}`) }))
        .filter((x) => !x.d.allowed);
      check(
        `reach:${action}`,
        denied.length === 0,
        `the role can ${action} under s3://${b.name}/${prefix}${g.paths.join(', ') === '*' ? '' : ` (${g.paths.join(', ')})`}`,
        `the role cannot ${action} on s3://${b.name}/${denied[0]?.key}: ${denied[0]?.d.reason}`,
      );
    }
  }
  const list = s3Can('s3:ListBucket', `arn:aws:s3:::${b.name}`, { 's3:prefix': prefix });
  check(
    'reach:s3:ListBucket',
    list.allowed,
    `the role can list s3://${b.name}/${prefix}`,
    `the role cannot list s3://${b.name}/${prefix}: ${list.reason}`,
  );
  if (through) {
    // the role reaches the bucket through its access point only: never by the bucket's own name
    const d = direct('s3:GetObject', `arn:aws:s3:::${b.name}/${probe}`);
    check(
      'deny:bucket-by-name',
      !d.allowed,
      `the role cannot reach s3://${b.name} by its name, only through access point ${through.arn}`,
      `the role can read s3://${b.name} by its name, not only through its access point (${d.reason})`,
    );
  }
  if (prefix) {
    const outside = s3Can('s3:GetObject', `arn:aws:s3:::${b.name}/s3-onboarding-outside-every-grant/${probe}`);
    check(
      'deny:outside-prefix',
      !outside.allowed,
      `the role cannot read outside the prefixes of its ${grantIds.length} onboarding(s)`,
      `the role can read outside its prefix (${outside.reason})`,
    );
  }
  if (request.access !== 'read-write') {
    // read-only never writes; restore never deletes or overwrites a backup object
    for (const action of ['s3:PutObject', 's3:DeleteObject']) {
      const d = s3Can(action, `arn:aws:s3:::${b.name}/${probe}`);
      check(
        `deny:${action}`,
        !d.allowed,
        `the ${request.access} role cannot ${action} a backup object`,
        `a ${request.access} role can ${action} s3://${b.name}/${probe} (${d.reason})`,
      );
    }
  }
  return checks;
}
