/**
 * Structural checks of the two IAM-bearing templates: deploy/provisioner.yaml (every target account) and the
 * `resources` block of serverless.yml (the API's own role in the platform account). The policies are resolved
 * for a sample account with the emulator's own resolver (emulator/cfn.ts), then checked with the IAM grammar
 * and the security rules of ../shared/design/aws-facts.md ("Delegated role creation", "Cross-account AssumeRole").
 */
import path from 'node:path';
import { readTemplate, resolve, type CfnTemplate } from '../../../emulator/cfn';
import { serverlessDefaults } from '../../../emulator/seed';
import { asArray, normalizeStatements, policySize, validatePolicy } from '../../../lib/iam-policy/grammar';
import type { PolicyDocument, PolicyKind, Statement } from '../../../lib/iam-policy/types';
import { accessLevels, kmsActions, objectActions, toolActions } from '../../../lib/policy/actions';
import { authorize } from '../../../lib/iam-policy/evaluate';
import type { Tool } from '../../../lib/snippets/types';

const ROOT = path.resolve(__dirname, '../../..');
const PLATFORM = '100000000001';
const ACCOUNT = '200000000002';
const EXTERNAL_ID = 'sample-external-id';
const BOUNDARY_ARN = `arn:aws:iam::${ACCOUNT}:policy/s3-onboarding/s3-onboarding-workload-boundary`;
const WORKLOAD_ROLES = `arn:aws:iam::${ACCOUNT}:role/s3-onboarding/s3ob-*`;
const TABLE_ARN = `arn:aws:dynamodb:eu-west-1:${PLATFORM}:table/s3-onboarding-dev-OnboardingsTable-ABC`;
const STREAM_ARN = `${TABLE_ARN}/stream/2026-01-01T00:00:00.000`;

const PSEUDO_PARAMETERS = [
  'AWS::AccountId',
  'AWS::NotificationARNs',
  'AWS::NoValue',
  'AWS::Partition',
  'AWS::Region',
  'AWS::StackId',
  'AWS::StackName',
  'AWS::URLSuffix',
];

type Resources = CfnTemplate['Resources'];
interface FullTemplate extends CfnTemplate {
  AWSTemplateFormatVersion?: string;
  Outputs?: Record<string, { Value: unknown }>;
  Parameters?: Record<string, { Type?: string; Default?: string }>;
}

const provisioner = readTemplate(path.join(ROOT, 'deploy/provisioner.yaml')) as FullTemplate;
// serverless.yml's own variables (`${param:eventBusName, 'default'}`) as deployed without parameters, as the emulator seeds it
const sls = serverlessDefaults(
  (readTemplate(path.join(ROOT, 'serverless.yml')) as unknown as { resources: FullTemplate }).resources,
) as FullTemplate;

// ---------------------------------------------------------------------------------------------------------------
// walking a template

/** Every Ref target, Fn::GetAtt resource and Fn::Sub variable (minus Sub's own local variables) in a value. */
function references(
  value: unknown,
  out: { ref: string[]; getAtt: string[]; sub: string[] } = { ref: [], getAtt: [], sub: [] },
) {
  if (Array.isArray(value)) value.forEach((v) => references(v, out));
  else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (k === 'Ref') out.ref.push(String(v));
      else if (k === 'Fn::GetAtt') out.getAtt.push(Array.isArray(v) ? String(v[0]) : String(v).split('.')[0]);
      else if (k === 'Fn::Sub') {
        const [tpl, local] = Array.isArray(v)
          ? [String(v[0]), (v[1] ?? {}) as Record<string, unknown>]
          : [String(v), {}];
        for (const m of tpl.matchAll(/\$\{([^}]+)\}/g)) {
          const name = m[1];
          if (name.startsWith('!') || name in local) continue; // ${!Literal} is no variable
          out.sub.push(name.includes('.') ? name.split('.')[0] : name);
        }
        if (Array.isArray(v)) references(v[1], out);
      } else references(v, out);
    }
  }
  return out;
}

/** Fn::GetAtt to known sample values (the emulator's resolver leaves GetAtt unresolvable). */
function substituteGetAtt(value: unknown, attrs: Record<string, string>): unknown {
  if (Array.isArray(value)) return value.map((v) => substituteGetAtt(v, attrs));
  if (value && typeof value === 'object') {
    const entries = Object.entries(value);
    if (entries.length === 1 && entries[0][0] === 'Fn::GetAtt') {
      const v = entries[0][1];
      const key = Array.isArray(v) ? v.join('.') : String(v);
      if (!(key in attrs)) throw new Error(`no sample value for Fn::GetAtt ${key}`);
      return attrs[key];
    }
    return Object.fromEntries(entries.map(([k, v]) => [k, substituteGetAtt(v, attrs)]));
  }
  return value;
}

function vars(t: FullTemplate, accountId: string, params: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {
    'AWS::AccountId': accountId,
    'AWS::Partition': 'aws',
    'AWS::Region': 'eu-west-1',
    'AWS::StackName': 'sample',
  };
  for (const [k, p] of Object.entries(t.Parameters ?? {})) if (p.Default !== undefined) out[k] = p.Default;
  return { ...out, ...params };
}

const unresolved: string[] = [];

interface FoundPolicy {
  where: string;
  kind: PolicyKind;
  doc: PolicyDocument;
  /** IAM's quota for this kind of document */
  maxSize: number;
}

/** Every policy document of the template's IAM resources, resolved for one account. */
function policies(
  resources: Resources,
  v: Record<string, string>,
  refs: Record<string, string>,
  attrs: Record<string, string> = {},
  conditions: Record<string, unknown> = {},
): FoundPolicy[] {
  const out: FoundPolicy[] = [];
  const r = (x: unknown) => {
    try {
      return resolve(substituteGetAtt(x, attrs), v, refs, conditions) as PolicyDocument;
    } catch (e) {
      // reported by the "resolves" test; the document is left out of the per-policy checks
      unresolved.push(`${(e as Error).message}`);
      return {
        Version: '2012-10-17',
        Statement: [{ Sid: 'Unresolvable', Effect: 'Deny', Action: 'none:None', Resource: '*' }],
      } as PolicyDocument;
    }
  };
  for (const [name, res] of Object.entries(resources)) {
    const p = res.Properties ?? {};
    if (res.Type === 'AWS::IAM::ManagedPolicy')
      out.push({ where: `${name}.PolicyDocument`, kind: 'identity', doc: r(p.PolicyDocument), maxSize: 6144 });
    if (res.Type === 'AWS::IAM::Role') {
      out.push({
        where: `${name}.AssumeRolePolicyDocument`,
        kind: 'trust',
        doc: r(p.AssumeRolePolicyDocument),
        maxSize: 2048,
      });
      for (const pol of (p.Policies as { PolicyName: string; PolicyDocument: unknown }[] | undefined) ?? []) {
        out.push({
          where: `${name}.Policies.${pol.PolicyName}`,
          kind: 'identity',
          doc: r(pol.PolicyDocument),
          maxSize: 10240,
        });
      }
    }
  }
  return out;
}

const provisionerVars = vars(provisioner, ACCOUNT, { PlatformAccountId: PLATFORM, ExternalId: EXTERNAL_ID });
const provisionerRefs = { WorkloadBoundary: BOUNDARY_ARN, ProvisionerRole: 's3-onboarding-provisioner' };
const provisionerPolicies = policies(
  provisioner.Resources,
  provisionerVars,
  provisionerRefs,
  {},
  provisioner.Conditions,
);
// the same account deployed with AllowKeyPolicyMigration=true (only while an estate migrates away from key statements)
const migratingPolicies = policies(
  provisioner.Resources,
  { ...provisionerVars, AllowKeyPolicyMigration: 'true' },
  provisionerRefs,
  {},
  provisioner.Conditions,
);
const slsPolicies = policies(
  sls.Resources,
  vars(sls, PLATFORM, {}),
  { OnboardingsTable: 'OnboardingsTable' },
  { 'OnboardingsTable.Arn': TABLE_ARN, 'OnboardingsTable.StreamArn': STREAM_ARN },
);
const allPolicies = [...provisionerPolicies, ...slsPolicies];

const policyAt = (list: FoundPolicy[], where: string): PolicyDocument => {
  const p = list.find((x) => x.where === where);
  if (!p) throw new Error(`no policy ${where}`);
  return p.doc;
};
const statements = (doc: PolicyDocument): Statement[] => normalizeStatements(doc);
const actionsOf = (st: Statement): string[] => asArray(st.Action);
const bySid = (doc: PolicyDocument, sid: string): Statement => {
  const st = statements(doc).find((s) => s.Sid === sid);
  if (!st) throw new Error(`no statement ${sid}`);
  return st;
};

// ---------------------------------------------------------------------------------------------------------------

describe('Templates: structure', () => {
  it('deploy/provisioner.yaml declares the 2010-09-09 template format and has resources and outputs', () => {
    expect(provisioner.AWSTemplateFormatVersion).toBe('2010-09-09');
    expect(Object.keys(provisioner.Resources).sort()).toEqual(['ProvisionerRole', 'WorkloadBoundary']);
    expect(Object.keys(provisioner.Outputs ?? {}).sort()).toEqual(['BoundaryPolicyArn', 'ProvisionerRoleArn']);
  });

  it('serverless.yml has a resources block with the table and the API role', () => {
    expect(Object.entries(sls.Resources).map(([k, r]) => [k, r.Type])).toEqual([
      ['OnboardingsTable', 'AWS::DynamoDB::Table'],
      ['ApiRole', 'AWS::IAM::Role'],
      ['FailedOnboardingsAlarm', 'AWS::CloudWatch::Alarm'],
      ['SweepErrorsAlarm', 'AWS::CloudWatch::Alarm'],
    ]);
  });

  it.each([
    ['deploy/provisioner.yaml', provisioner],
    ['serverless.yml resources', sls],
  ])('%s: every Ref, Fn::Sub variable and Fn::GetAtt names a parameter, pseudo parameter or resource', (_n, t) => {
    const { ref, sub, getAtt } = references([t.Resources, t.Outputs ?? {}]);
    const known = new Set([...Object.keys(t.Parameters ?? {}), ...PSEUDO_PARAMETERS, ...Object.keys(t.Resources)]);
    expect(ref.length + sub.length).toBeGreaterThan(0);
    expect([...ref, ...sub].filter((n) => !known.has(n))).toEqual([]);
    expect(getAtt.filter((n) => !(n in t.Resources))).toEqual([]);
  });

  it('deploy/provisioner.yaml: every parameter is used and parameters without a default are the per-account inputs', () => {
    const { ref, sub } = references([provisioner.Resources, provisioner.Conditions ?? {}]);
    const used = new Set([...ref, ...sub]);
    expect(Object.keys(provisioner.Parameters ?? {}).filter((p) => !used.has(p))).toEqual([]);
    expect(
      Object.entries(provisioner.Parameters ?? {})
        .filter(([, p]) => p.Default === undefined)
        .map(([k]) => k)
        .sort(),
    ).toEqual(['ExternalId', 'PlatformAccountId']);
  });

  it('every IAM resource resolves for a sample account (nothing left unresolvable)', () => {
    expect(provisionerPolicies.map((p) => p.where)).toEqual([
      'WorkloadBoundary.PolicyDocument',
      'ProvisionerRole.AssumeRolePolicyDocument',
      'ProvisionerRole.Policies.provision',
    ]);
    expect(slsPolicies.map((p) => p.where)).toEqual(['ApiRole.AssumeRolePolicyDocument', 'ApiRole.Policies.api']);
    expect(unresolved).toEqual([]);
    expect(JSON.stringify(allPolicies)).not.toMatch(/\$\{|"Ref"|"Fn::/);
  });

  it('the two templates agree: the provisioner trusts the API role by name, the API role may assume the provisioner by name', () => {
    const apiRole = sls.Resources.ApiRole.Properties;
    expect(apiRole.RoleName).toBe(provisioner.Parameters!.ApiRoleName.Default);
    expect(apiRole.Path).toBe('/');
    const assume = bySid(policyAt(slsPolicies, 'ApiRole.Policies.api'), 'AssumeProvisionerRoles');
    expect(assume.Resource).toBe(`arn:aws:iam::*:role/${provisioner.Parameters!.ProvisionerRoleName.Default}`);
    expect(provisioner.Resources.ProvisionerRole.Properties.Path).toBe('/');
  });
});

describe.each(allPolicies.map((p) => [p.where, p] as const))('Policy %s', (_where, p) => {
  it(`is a valid ${p.kind} policy and within IAM's size quota`, () => {
    expect(validatePolicy(p.doc, p.kind)).toBeNull();
    expect(p.doc.Version).toBe('2012-10-17');
    expect(policySize(JSON.stringify(p.doc))).toBeLessThanOrEqual(p.maxSize);
  });

  it("has no Allow statement with '*', a whole service (iam:*, s3:*, …) or NotAction", () => {
    for (const st of statements(p.doc).filter((s) => s.Effect === 'Allow')) {
      expect(st.NotAction).toBeUndefined();
      expect(st.NotResource).toBeUndefined();
      for (const a of actionsOf(st)) expect(a).not.toMatch(/^(\*|[A-Za-z0-9-]+:\*)$/);
    }
  });

  it('has no Principal "*" or {"AWS": "*"}, and a Sid on every statement of a permissions policy', () => {
    for (const st of statements(p.doc)) {
      expect(st.Principal).not.toBe('*');
      expect(asArray((st.Principal as { AWS?: string | string[] } | undefined)?.AWS)).not.toContain('*');
      expect(st.Sid ?? (p.kind === 'trust' ? 'trust' : undefined)).toBeDefined();
    }
  });
});

describe('Provisioner role: delegated role creation', () => {
  const provision = policyAt(provisionerPolicies, 'ProvisionerRole.Policies.provision');
  const allows = statements(provision).filter((s) => s.Effect === 'Allow');
  const boundaryCondition = { StringEquals: { 'iam:PermissionsBoundary': BOUNDARY_ARN } };
  const grantableCondition = { StringEquals: { 'aws:ResourceTag/s3-onboarding-grantable': 'true' } };
  const allowing = (action: string) =>
    allows.filter((s) => actionsOf(s).some((a) => a.toLowerCase() === action.toLowerCase()));

  it.each(['iam:CreateRole', 'iam:AttachRolePolicy', 'iam:PutRolePermissionsBoundary'])(
    'every Allow on %s requires the boundary (iam:PermissionsBoundary) and the workload path and prefix',
    (action) => {
      for (const st of allowing(action)) {
        expect(st.Condition).toEqual(boundaryCondition);
        expect(st.Resource).toBe(WORKLOAD_ROLES);
      }
    },
  );

  it('allows iam:CreateRole in exactly one statement, and never iam:AttachRolePolicy', () => {
    expect(allowing('iam:CreateRole').map((s) => s.Sid)).toEqual(['WorkloadRolesOnlyWithTheBoundary']);
    expect(allowing('iam:AttachRolePolicy')).toEqual([]);
  });

  it.each(['iam:PutRolePolicy', 'iam:DeleteRolePolicy'])(
    'every Allow on %s requires the boundary or a role tagged s3-onboarding-grantable=true',
    (action) => {
      const found = allowing(action);
      expect(found.map((s) => s.Sid)).toEqual(['WorkloadRolesOnlyWithTheBoundary', 'InstanceRoleGrantForEc2Workloads']);
      for (const st of found) expect([boundaryCondition, grantableCondition]).toContainEqual(st.Condition);
    },
  );

  it('changes trust, tags and existence only of workload roles the service tagged as its own', () => {
    for (const action of [
      'iam:UpdateAssumeRolePolicy',
      'iam:UpdateRole',
      'iam:TagRole',
      'iam:UntagRole',
      'iam:DeleteRole',
    ]) {
      for (const st of allowing(action)) {
        expect(st.Resource).toBe(WORKLOAD_ROLES);
        const tagOnCreate = {
          StringEquals: {
            'aws:RequestTag/managed-by': 's3-onboarding',
            'iam:PermissionsBoundary': `arn:aws:iam::${ACCOUNT}:policy/s3-onboarding/s3-onboarding-workload-boundary`,
          },
        };
        expect([
          { StringEquals: { 'aws:ResourceTag/managed-by': 's3-onboarding' } },
          ...(action === 'iam:TagRole' ? [tagOnCreate] : []),
        ]).toContainEqual(st.Condition);
      }
    }
  });

  it('grants no sts:AssumeRole, policy creation or user management at all', () => {
    const granted = allows.flatMap(actionsOf).map((a) => a.toLowerCase());
    for (const a of [
      'sts:assumerole',
      'iam:createpolicy',
      'iam:createpolicyversion',
      'iam:createuser',
      'iam:createaccesskey',
      'iam:attachuserpolicy',
    ]) {
      expect(granted).not.toContain(a);
    }
    expect(granted.every((a) => /^(iam|s3|kms|eks|servicequotas):[A-Za-z]+$/.test(a))).toBe(true);
  });

  it('passes roles (iam:PassRole) only of the workload path and prefix, only to EKS Pod Identity, and never below the path', () => {
    expect(allowing('iam:PassRole')).toEqual([
      {
        Sid: 'PassWorkloadRolesToPodIdentity',
        Effect: 'Allow',
        Action: 'iam:PassRole',
        Resource: WORKLOAD_ROLES,
        Condition: { StringEquals: { 'iam:PassedToService': 'pods.eks.amazonaws.com' } },
      },
    ]);
    expect(actionsOf(bySid(provision, 'DenyRoleChangesBelowTheServicePath'))).toContain('iam:PassRole');
  });

  it('changes EKS Pod Identity associations only in the clusters of its own account, and reads only the agent add-on', () => {
    const eks = allows.filter((s) => actionsOf(s).some((a) => a.startsWith('eks:')));
    expect(eks.map((s) => [s.Sid, actionsOf(s).sort(), s.Resource])).toEqual([
      ['AccountReads', ['eks:DescribeCluster', 'iam:GetAccountSummary', 'iam:ListOpenIDConnectProviders'], '*'],
      [
        'PodIdentityAssociationsOfClusters',
        ['eks:CreatePodIdentityAssociation', 'eks:ListPodIdentityAssociations'],
        `arn:aws:eks:*:${ACCOUNT}:cluster/*`,
      ],
      [
        'PodIdentityAssociationChanges',
        ['eks:DeletePodIdentityAssociation', 'eks:DescribePodIdentityAssociation', 'eks:UpdatePodIdentityAssociation'],
        `arn:aws:eks:*:${ACCOUNT}:podidentityassociation/*/*`,
      ],
      ['PodIdentityAgentAddon', ['eks:DescribeAddon'], `arn:aws:eks:*:${ACCOUNT}:addon/*/eks-pod-identity-agent/*`],
    ]);
  });

  it('explicitly denies editing or deleting the boundary, removing boundaries, changing itself and roles outside (or below) the path', () => {
    const deny = (sid: string) => {
      const st = bySid(provision, sid);
      expect(st.Effect).toBe('Deny');
      return st;
    };
    expect(deny('DenyBoundaryTampering')).toMatchObject({ Resource: BOUNDARY_ARN });
    expect(actionsOf(deny('DenyBoundaryTampering'))).toEqual(
      expect.arrayContaining(['iam:CreatePolicyVersion', 'iam:DeletePolicy', 'iam:SetDefaultPolicyVersion']),
    );
    expect(deny('DenyRemovingBoundaries')).toMatchObject({
      Action: 'iam:DeleteRolePermissionsBoundary',
      Resource: '*',
    });
    expect(deny('DenyEditingItself')).toMatchObject({
      Resource: `arn:aws:iam::${ACCOUNT}:role/s3-onboarding-provisioner`,
    });
    expect(actionsOf(deny('DenyEditingItself'))).toEqual(
      expect.arrayContaining([
        'iam:PutRolePolicy',
        'iam:AttachRolePolicy',
        'iam:UpdateAssumeRolePolicy',
        'iam:TagRole',
      ]),
    );
    expect(deny('DenyRoleChangesOutsideTheServicePath')).toMatchObject({ NotResource: WORKLOAD_ROLES });
    expect(deny('DenyRoleChangesBelowTheServicePath')).toMatchObject({
      Resource: `arn:aws:iam::${ACCOUNT}:role/s3-onboarding/*/*`,
    });
    for (const sid of ['DenyRoleChangesOutsideTheServicePath', 'DenyRoleChangesBelowTheServicePath']) {
      expect(actionsOf(deny(sid))).toEqual(
        expect.arrayContaining([
          'iam:CreateRole',
          'iam:DeleteRole',
          'iam:UpdateAssumeRolePolicy',
          'iam:AttachRolePolicy',
          'iam:TagRole',
        ]),
      );
    }
  });

  it('reads the quotas it checks before writing: applied values of its own account only, and what counts against them', () => {
    expect(allowing('servicequotas:GetServiceQuota')).toEqual([
      {
        Sid: 'QuotaReads',
        Effect: 'Allow',
        Action: 'servicequotas:GetServiceQuota',
        Resource: ['iam', 's3', 'kms'].map((s) => `arn:aws:servicequotas:*:${ACCOUNT}:${s}/*`),
      },
    ]);
    const granted = allows.flatMap(actionsOf);
    expect(granted.filter((a) => a.startsWith('servicequotas:'))).toEqual(['servicequotas:GetServiceQuota']);
    expect(allowing('s3:ListAccessPoints').map((s) => s.Sid)).toEqual(['ListAccessPoints']);
    expect(allowing('kms:ListGrants').map((s) => [s.Sid, s.Resource])).toEqual([
      ['ReadKeys', `arn:aws:kms:*:${ACCOUNT}:key/*`],
    ]);
    expect(allowing('iam:GetAccountSummary').map((s) => s.Sid)).toEqual(['AccountReads']);
    expect(allowing('iam:ListOpenIDConnectProviders').map((s) => s.Sid)).toEqual(['AccountReads']);
  });

  it('may touch OIDC providers only of EKS issuers, and keys only of its own account', () => {
    expect(bySid(provision, 'OidcProvidersForEks').Resource).toBe(`arn:aws:iam::${ACCOUNT}:oidc-provider/oidc.eks.*`);
    for (const sid of ['ReadKeys', 'GrantOptedInKeysToWorkloadRoles', 'RetireGrantsOnOptedInKeys'])
      expect(bySid(provision, sid).Resource).toBe(`arn:aws:kms:*:${ACCOUNT}:key/*`);
    for (const sid of ['ChangeOptedInBucketPolicies', 'RetireGrantsOnOptedInKeys'])
      expect(bySid(provision, sid).Condition).toEqual({
        StringEquals: { 'aws:ResourceTag/s3-onboarding-managed': 'true' },
      });
  });

  it('never changes a key policy (SSE-KMS access is a KMS grant), unless deployed to migrate old statements away', () => {
    const allowing = (doc: PolicyDocument, action: string) =>
      statements(doc).filter((s) => s.Effect === 'Allow' && actionsOf(s).some((a) => a.toLowerCase() === action));
    expect(allowing(provision, 'kms:putkeypolicy')).toEqual([]);
    const migrating = policyAt(migratingPolicies, 'ProvisionerRole.Policies.provision');
    expect(allowing(migrating, 'kms:putkeypolicy').map((s) => [s.Sid, s.Resource, s.Condition])).toEqual([
      [
        'MigrateOptedInKeyPolicies',
        `arn:aws:kms:*:${ACCOUNT}:key/*`,
        { StringEquals: { 'aws:ResourceTag/s3-onboarding-managed': 'true' } },
      ],
    ]);
  });

  describe('kms:CreateGrant, evaluated with the IAM evaluator', () => {
    const provisionerSession = {
      arn: `arn:aws:sts::${ACCOUNT}:assumed-role/s3-onboarding-provisioner/api`,
      accountId: ACCOUNT,
      roleArn: `arn:aws:iam::${ACCOUNT}:role/s3-onboarding-provisioner`,
    };
    const KEY = `arn:aws:kms:eu-west-1:${ACCOUNT}:key/k`;
    const ok = {
      'aws:ResourceTag/s3-onboarding-managed': 'true',
      'kms:RetiringPrincipal': `arn:aws:iam::${ACCOUNT}:role/s3-onboarding-provisioner`,
      'kms:GranteePrincipal': 'arn:aws:iam::300000000003:role/s3-onboarding/s3ob-abc',
      'kms:GrantIsForAWSResource': 'false',
    };
    const can = (context: Record<string, string | string[]>) =>
      authorize({
        principal: provisionerSession,
        action: 'kms:CreateGrant',
        resource: KEY,
        resourceAccountId: ACCOUNT,
        identityPolicies: [provision],
        context,
      }).allowed;

    it('allows a grant of Decrypt (and GenerateDataKey) on an opted-in key to a workload role, retirable by the provisioner', () => {
      expect(can({ ...ok, 'kms:GrantOperations': ['Decrypt'] })).toBe(true);
      expect(can({ ...ok, 'kms:GrantOperations': ['Decrypt', 'GenerateDataKey'] })).toBe(true);
    });

    it('refuses any other operation, an untagged key, another grantee or retiring principal, or a grant for an AWS resource', () => {
      expect(can({ ...ok, 'kms:GrantOperations': ['Decrypt', 'CreateGrant'] })).toBe(false);
      expect(can({ ...ok, 'kms:GrantOperations': ['Encrypt'] })).toBe(false);
      expect(can({ ...ok, 'aws:ResourceTag/s3-onboarding-managed': 'false', 'kms:GrantOperations': ['Decrypt'] })).toBe(
        false,
      );
      expect(
        can({
          ...ok,
          'kms:GranteePrincipal': 'arn:aws:iam::300000000003:role/admin',
          'kms:GrantOperations': ['Decrypt'],
        }),
      ).toBe(false);
      expect(
        can({
          ...ok,
          'kms:RetiringPrincipal': 'arn:aws:iam::300000000003:role/other',
          'kms:GrantOperations': ['Decrypt'],
        }),
      ).toBe(false);
      expect(can({ ...ok, 'kms:GrantIsForAWSResource': 'true', 'kms:GrantOperations': ['Decrypt'] })).toBe(false);
    });
  });
});

describe('Provisioner role: trust (confused deputy)', () => {
  const trust = policyAt(provisionerPolicies, 'ProvisionerRole.AssumeRolePolicyDocument');

  it('trusts only the API role of the platform account, and only with sts:ExternalId', () => {
    expect(statements(trust)).toEqual([
      {
        Sid: 'TrustTheApiWithExternalId',
        Effect: 'Allow',
        Principal: { AWS: `arn:aws:iam::${PLATFORM}:role/s3-onboarding-api` },
        Action: 'sts:AssumeRole',
        Condition: { StringEquals: { 'sts:ExternalId': EXTERNAL_ID } },
      },
    ]);
  });

  it('requires an external id parameter of at least two characters and a 12-digit platform account', () => {
    const p = provisioner.Parameters as Record<
      string,
      { MinLength?: number; AllowedPattern?: string; Default?: string }
    >;
    expect(p.ExternalId.Default).toBeUndefined();
    expect(p.ExternalId.MinLength).toBeGreaterThanOrEqual(2);
    expect(new RegExp(p.PlatformAccountId.AllowedPattern!).test('100000000001')).toBe(true);
    expect(new RegExp(p.PlatformAccountId.AllowedPattern!).test('*')).toBe(false);
  });

  it('caps the session at one hour (role chaining)', () => {
    expect(provisioner.Resources.ProvisionerRole.Properties.MaxSessionDuration).toBe(3600);
  });
});

describe('Workload permissions boundary', () => {
  const boundary = policyAt(provisionerPolicies, 'WorkloadBoundary.PolicyDocument');
  const S3_ALLOWED = [
    's3:AbortMultipartUpload',
    's3:DeleteObject',
    's3:GetBucketLocation',
    's3:GetObject',
    's3:ListBucket',
    's3:ListMultipartUploadParts',
    's3:PutObject',
  ];

  it('only allows the listed S3 object/bucket actions, kms:Decrypt/GenerateDataKey and sts:AssumeRole/TagSession of workload roles', () => {
    expect(statements(boundary).every((s) => s.Effect === 'Allow')).toBe(true);
    // S3 and KMS only on what the owner opted in: every statement granting them is conditioned on the tag; through
    // an access point, only the service's own (tagged managed-by; the bucket's delegation is the owner's opt-in)
    for (const st of statements(boundary).filter((x) => actionsOf(x).some((a) => /^(s3|kms):/.test(a)))) {
      expect(Object.values(st.Condition?.StringEquals ?? {})).toEqual([
        st.Sid === 'S3ThroughServiceAccessPoints' ? 's3-onboarding' : 'true',
      ]);
    }
    expect(bySid(boundary, 'S3ThroughServiceAccessPoints')).toMatchObject({
      Resource: ['arn:aws:s3:*:*:accesspoint/s3ob-*', 'arn:aws:s3:*:*:accesspoint/s3ob-*/object/*'],
      Condition: { StringEquals: { 'aws:ResourceTag/managed-by': 's3-onboarding' } },
    });
    expect(bySid(boundary, 'S3BucketReadOptedIn').Condition).toEqual({
      StringEquals: { 'aws:ResourceTag/s3-onboarding-managed': 'true' },
    });
    expect(bySid(boundary, 'S3ObjectsOfOptedInBuckets').Condition).toEqual({
      StringEquals: { 's3:BucketTag/s3-onboarding-managed': 'true' },
    });
    expect(bySid(boundary, 'KmsForSseKmsOptedInKeys').Condition).toEqual({
      StringEquals: { 'aws:ResourceTag/s3-onboarding-managed': 'true' },
    });
    const granted = statements(boundary).flatMap(actionsOf);
    expect([...new Set(granted.filter((a) => a.startsWith('s3:')))].sort()).toEqual(S3_ALLOWED);
    expect(granted.filter((a) => a.startsWith('kms:')).sort()).toEqual(['kms:Decrypt', 'kms:GenerateDataKey']);
    expect(granted.filter((a) => !/^(s3|kms):/.test(a))).toEqual(['sts:AssumeRole', 'sts:TagSession']);
    expect(bySid(boundary, 'Ec2FlowAssume').Resource).toBe('arn:aws:iam::*:role/s3-onboarding/s3ob-*');
    // EKS Pod Identity role chaining passes the pod's session tags to the target role: also only workload roles
    expect(bySid(boundary, 'PodIdentityChainTagSession').Resource).toBe('arn:aws:iam::*:role/s3-onboarding/s3ob-*');
    expect(granted.some((a) => a.includes('*'))).toBe(false);
  });

  it('allows no bucket-policy, ACL, IAM or key-management action', () => {
    const granted = statements(boundary)
      .flatMap(actionsOf)
      .map((a) => a.toLowerCase());
    for (const a of [
      's3:putbucketpolicy',
      's3:getbucketpolicy',
      's3:putbucketacl',
      's3:putobjectacl',
      'kms:putkeypolicy',
      'kms:creategrant',
      'iam:createrole',
      'iam:passrole',
    ]) {
      expect(granted).not.toContain(a);
    }
  });

  it('covers every action the service grants (each tool × the access levels it supports, with KMS)', () => {
    const granted = new Set(statements(boundary).flatMap(actionsOf));
    const tools: Tool[] = ['pbm', 'psmdb-operator', 'stackgres', 'velero', 'mountpoint-s3-csi', 'generic'];
    for (const t of tools) {
      for (const a of accessLevels(t)) {
        const needed = toolActions(t, a);
        for (const action of [...needed.bucket, ...objectActions(needed), ...kmsActions(t, a)])
          expect({ tool: t, access: a, action, covered: granted.has(action) }).toMatchObject({ covered: true });
      }
    }
  });

  describe("enforces the owner's opt-in, evaluated with the IAM evaluator (a role that may do everything, bounded)", () => {
    const role = {
      arn: `arn:aws:sts::${ACCOUNT}:assumed-role/s3ob-x/pod`,
      accountId: ACCOUNT,
      roleArn: `arn:aws:iam::${ACCOUNT}:role/s3-onboarding/s3ob-x`,
    };
    const everything: PolicyDocument = {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }],
    };
    const can = (action: string, resource: string, context: Record<string, string> = {}) =>
      authorize({
        principal: role,
        action,
        resource,
        resourceAccountId: ACCOUNT,
        identityPolicies: [everything],
        permissionsBoundary: boundary,
        context,
      }).allowed;
    const KEY = `arn:aws:kms:eu-west-1:${ACCOUNT}:key/k`;
    const OBJECT_ACTIONS = [
      's3:GetObject',
      's3:PutObject',
      's3:DeleteObject',
      's3:AbortMultipartUpload',
      's3:ListMultipartUploadParts',
    ];

    it('object actions: only with s3:BucketTag/s3-onboarding-managed=true (the key S3 sets for them while ABAC is on)', () => {
      for (const action of OBJECT_ACTIONS) {
        expect(can(action, 'arn:aws:s3:::b/p/x', { 's3:BucketTag/s3-onboarding-managed': 'true' })).toBe(true);
        expect(can(action, 'arn:aws:s3:::b/p/x')).toBe(false);
        expect(can(action, 'arn:aws:s3:::b/p/x', { 's3:BucketTag/s3-onboarding-managed': 'false' })).toBe(false);
        expect(can(action, 'arn:aws:s3:::b/p/x', { 's3:BucketTag/other': 'true' })).toBe(false);
        // the object-level statement does not match a bucket ARN
        expect(can(action, 'arn:aws:s3:::b', { 's3:BucketTag/s3-onboarding-managed': 'true' })).toBe(false);
      }
    });

    it('bucket actions: only with aws:ResourceTag/s3-onboarding-managed=true', () => {
      for (const action of ['s3:ListBucket', 's3:GetBucketLocation']) {
        expect(can(action, 'arn:aws:s3:::b', { 'aws:ResourceTag/s3-onboarding-managed': 'true' })).toBe(true);
        expect(can(action, 'arn:aws:s3:::b')).toBe(false);
        expect(can(action, 'arn:aws:s3:::b', { 'aws:ResourceTag/s3-onboarding-managed': 'yes' })).toBe(false);
      }
    });

    it('KMS: only keys tagged s3-onboarding-managed=true, in any account', () => {
      for (const action of ['kms:Decrypt', 'kms:GenerateDataKey']) {
        expect(can(action, KEY, { 'aws:ResourceTag/s3-onboarding-managed': 'true' })).toBe(true);
        expect(
          can(action, `arn:aws:kms:eu-west-1:300000000003:key/k`, { 'aws:ResourceTag/s3-onboarding-managed': 'true' }),
        ).toBe(true);
        expect(can(action, KEY)).toBe(false);
      }
    });

    it('nothing else S3, KMS or IAM, tagged or not', () => {
      const tagged = { 'aws:ResourceTag/s3-onboarding-managed': 'true', 's3:BucketTag/s3-onboarding-managed': 'true' };
      for (const [action, resource] of [
        ['s3:PutBucketPolicy', 'arn:aws:s3:::b'],
        ['s3:PutObjectAcl', 'arn:aws:s3:::b/x'],
        ['s3:PutBucketAbac', 'arn:aws:s3:::b'],
        ['kms:CreateGrant', KEY],
        ['iam:CreateRole', `arn:aws:iam::${ACCOUNT}:role/x`],
      ]) {
        expect(can(action!, resource!, tagged)).toBe(false);
      }
    });
  });

  it('lives under the workload role path, where the service expects it', () => {
    expect(provisioner.Resources.WorkloadBoundary.Properties).toMatchObject({
      Path: { Ref: 'WorkloadRolePath' },
      ManagedPolicyName: { Ref: 'BoundaryPolicyName' },
    });
    expect(resolve(provisioner.Resources.WorkloadBoundary.Properties.Path, provisionerVars)).toBe('/s3-onboarding/');
  });
});

describe('API role (serverless.yml)', () => {
  const api = policyAt(slsPolicies, 'ApiRole.Policies.api');

  it('is assumable only by Lambda', () => {
    expect(statements(policyAt(slsPolicies, 'ApiRole.AssumeRolePolicyDocument'))).toEqual([
      { Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' },
    ]);
  });

  it('may assume only the provisioner roles, use only its table and its stream, put events on its bus and write only its logs: no IAM, S3 or KMS action', () => {
    const granted = statements(api).flatMap(actionsOf);
    expect(granted.filter((a) => /^(iam|s3|kms|eks):/.test(a))).toEqual([]);
    expect(bySid(api, 'AssumeProvisionerRoles')).toMatchObject({
      Action: 'sts:AssumeRole',
      Resource: 'arn:aws:iam::*:role/s3-onboarding-provisioner',
    });
    expect(bySid(api, 'OwnTable').Resource).toEqual([TABLE_ARN, `${TABLE_ARN}/index/byKey`]);
    expect(bySid(api, 'Logs').Resource).toBe(
      `arn:aws:logs:eu-west-1:${PLATFORM}:log-group:/aws/lambda/s3-onboarding-*:*`,
    );
    // events: put on its own bus only; the table's stream: read only
    expect(bySid(api, 'PublishEvents')).toMatchObject({
      Action: 'events:PutEvents',
      Resource: `arn:aws:events:eu-west-1:${PLATFORM}:event-bus/default`,
    });
    expect(bySid(api, 'ReadOwnStream')).toMatchObject({
      Action: ['dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator', 'dynamodb:ListStreams'],
      Resource: STREAM_ARN,
    });
    expect(statements(api).every((s) => s.Resource !== '*')).toBe(true);
  });
});
