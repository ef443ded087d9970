import { authorize, evaluatePolicy } from '../../iam-policy/evaluate';
import type { PolicyDocument as EvalDocument } from '../../iam-policy/types';
import { serviceAccountSubject, STS_AUDIENCE } from '../../policy/documents';
import { renderRawPolicy } from '../../policy/resource-policy';
import type { PolicyDocument } from '../../policy/types';
import { samplePath, toolActions } from '../../policy/actions';
import { type ServiceDeps } from '../model/deps';
import type { GrantDesired } from '../model/desired';
import { bucketTargetKey, type Observed } from '../gather/observe';
import { keyGrantKey } from '../model/records';

import type { Check } from './verify';

/** The service's documents, as the evaluator reads any policy. */
const asEval = (d: PolicyDocument | undefined): EvalDocument | undefined => d as unknown as EvalDocument | undefined;

/**
 * SSE-KMS: whether S3 can use the key for the role, for each operation its level needs (Decrypt to read,
 * GenerateDataKey to write): a live grant of this onboarding to the role allows it on the key's side (the key
 * policy is never changed), and the role's own policies and boundary allow it on the role's side.
 */
export function keyReachability(
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
export function reachability(
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
