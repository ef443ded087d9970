import * as iamApi from '../aws/iam';
import * as s3Api from '../aws/s3';
import * as kmsApi from '../aws/kms';
import { boundaryArn } from '../config';
import { authorize } from '../iam-policy/evaluate';
import type { PolicyDocument as EvalDocument } from '../iam-policy/types';
import { ownStatements, sameJson, serviceAccountSubject, STS_AUDIENCE } from '../policy/documents';
import type { PolicyDocument } from '../policy/types';
import { toolActions } from '../policy/actions';
import { getOnboarding, type ServiceDeps } from './lifecycle';
import { ROLE_POLICY_NAME, TAG_ID } from './model';
import { resolve } from './engine';
import { accountOfArn, regionOfArn } from '../arn';

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

const asEval = (d: PolicyDocument | undefined): EvalDocument | undefined => d as unknown as EvalDocument | undefined;

/**
 * Re-reads the live IAM, S3 and KMS state of an onboarding: drift from what was provisioned, and whether the
 * workload's identity can (and cannot) do what it should, evaluated over the live policies with the same
 * evaluator the emulator uses (identity policy, permissions boundary, bucket policy, cross-account rules).
 */
export async function verify(deps: ServiceDeps, id: string): Promise<{ ok: boolean; checks: Check[] }> {
  const rec = await getOnboarding(deps, id);
  const { sessions, config } = deps;
  const r = resolve(config, rec.request);
  const expected = rec.result!.policies as { trust: PolicyDocument; permissions: PolicyDocument; bucketPolicyStatements: PolicyDocument['Statement']; keyPolicyStatements?: PolicyDocument['Statement']; instanceRoleGrant?: PolicyDocument };
  const iam = sessions.iam(r.roleAccount);
  const b = rec.request.bucket;
  const checks: Check[] = [];
  /** one named check, with the detail for either outcome */
  const check = (name: string, ok: boolean, ifOk: string, ifNot: string) => checks.push({ name, ok, detail: ok ? ifOk : ifNot });

  const wantBoundary = boundaryArn(config, r.roleAccount);
  const [role, permissions, bucketPolicy, keyPolicy, grant, boundary] = await Promise.all([
    iamApi.getRole(iam, r.roleName),
    iamApi.getRolePolicy(iam, r.roleName, ROLE_POLICY_NAME),
    // always: a bucket policy can deny what the role's own policy allows, in any mode
    s3Api.getBucketPolicy(sessions.s3(r.bucketAccount, b.region), b.name, r.bucketAccount),
    expected.keyPolicyStatements?.length ? kmsApi.getKeyPolicy(sessions.kms(accountOfArn(b.kmsKeyArn!), regionOfArn(b.kmsKeyArn!)), b.kmsKeyArn!) : Promise.resolve(undefined),
    rec.owned.instanceGrant ? iamApi.getRolePolicy(sessions.iam(rec.owned.instanceGrant.accountId), rec.owned.instanceGrant.roleName, rec.owned.instanceGrant.policyName) : Promise.resolve(undefined),
    wantBoundary ? iamApi.getManagedPolicyDocument(iam, wantBoundary) : Promise.resolve(undefined),
  ]);

  if (!role) {
    check('role', false, '', `role ${r.roleArn} does not exist`);
    return { ok: false, checks };
  }
  check('role', role.tags[TAG_ID] === id, `role ${r.roleArn} exists and carries this onboarding's tags`, `role ${r.roleArn} lost its ${TAG_ID} tag`);
  check('trust-policy', sameJson(role.trust, expected.trust), 'the trust policy is as provisioned', 'the trust policy differs from what was provisioned');
  check(
    'permissions-policy',
    !!permissions && sameJson(permissions, expected.permissions),
    'the permissions policy is as provisioned',
    permissions ? 'the permissions policy differs from what was provisioned' : `inline policy ${ROLE_POLICY_NAME} is missing`,
  );
  if (wantBoundary) check('permissions-boundary', role.boundaryArn === wantBoundary, `bounded by ${wantBoundary}`, `expected boundary ${wantBoundary}, found ${role.boundaryArn ?? 'none'}`);
  if (expected.bucketPolicyStatements.length) {
    const live = ownStatements(bucketPolicy, id);
    check('bucket-policy-statements', sameJson(live, expected.bucketPolicyStatements), `${live.length} statements present in the policy of ${b.name}`, `the policy of ${b.name} holds ${live.length} of ${expected.bucketPolicyStatements.length} statements as provisioned`);
  }
  if (expected.keyPolicyStatements?.length) {
    check('key-policy-statement', sameJson(ownStatements(keyPolicy, id), expected.keyPolicyStatements), 'the key policy grants the role', 'the key policy statement is missing or changed');
  }
  if (expected.instanceRoleGrant) {
    check('instance-role-grant', !!grant && sameJson(grant, expected.instanceRoleGrant), 'the instance role may assume the role', 'the instance role grant is missing or changed');
  }

  // reachability, over the live policies
  const w = rec.request.workload;
  if (w.type === 'eks') {
    const sa = r.serviceAccounts[0];
    for (const statement of role.trust.Statement) {
      const federated = (statement.Principal as { Federated?: string } | undefined)?.Federated;
      if (!federated) continue;
      const key = federated.split(':oidc-provider/')[1]; // the issuer without https://, as condition keys name it
      const can = (serviceAccount: string) =>
        authorize({
          principal: { arn: federated, accountId: r.roleAccount, federated },
          action: 'sts:AssumeRoleWithWebIdentity',
          resource: r.roleArn,
          resourceAccountId: r.roleAccount,
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
  const session = { arn: `arn:aws:sts::${r.roleAccount}:assumed-role/${r.roleName}/verify`, accountId: r.roleAccount, roleArn: r.roleArn };
  const identityPolicies = permissions ? [asEval(permissions)!] : [];
  const s3Can = (action: string, resource: string, context: Record<string, string> = {}) =>
    authorize({
      principal: session,
      action,
      resource,
      resourceAccountId: r.bucketAccount,
      identityPolicies,
      permissionsBoundary: wantBoundary ? (asEval(boundary) ?? { Statement: [] }) : undefined,
      resourcePolicy: asEval(bucketPolicy),
      context: { 'aws:SecureTransport': 'true', ...context },
    });
  const probe = `${r.prefix}s3-onboarding-verify`;
  const actions = toolActions(rec.request.tool, rec.request.access);
  for (const action of actions.object) {
    const d = s3Can(action, `arn:aws:s3:::${b.name}/${probe}`);
    check(`reach:${action}`, d.allowed, `the role can ${action} under s3://${b.name}/${r.prefix}`, `the role cannot ${action} under s3://${b.name}/${r.prefix}: ${d.reason}`);
  }
  const list = s3Can('s3:ListBucket', `arn:aws:s3:::${b.name}`, { 's3:prefix': r.prefix });
  check('reach:s3:ListBucket', list.allowed, `the role can list s3://${b.name}/${r.prefix}`, `the role cannot list s3://${b.name}/${r.prefix}: ${list.reason}`);
  if (r.prefix) {
    const outside = s3Can('s3:GetObject', `arn:aws:s3:::${b.name}/outside-${probe}`);
    check('deny:outside-prefix', !outside.allowed, 'the role cannot read outside its prefix', 'the role can read outside its prefix');
  }
  if (rec.request.access === 'read-only') {
    const write = s3Can('s3:PutObject', `arn:aws:s3:::${b.name}/${probe}`);
    check('deny:write', !write.allowed, 'the read-only role cannot write', 'a read-only role can write');
  }
  return { ok: checks.every((c) => c.ok), checks };
}
