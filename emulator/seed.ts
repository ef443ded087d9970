import path from 'node:path';
import { ROLE_TRUST_POLICY_LENGTH } from './quotas';
import { parse } from 'yaml';
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { readTemplate, resolve, Unresolvable, type CfnTemplate } from './cfn';
import { defaultIssuer, type Topology } from './topology';
import {
  accessPointKey,
  newAccessPoint,
  newAccount,
  newSigningKey,
  uniqueId,
  type Account,
  type Role,
  type World,
} from './state';
import { asArray } from '../lib/iam-policy/grammar';
import type { Statement } from '../lib/iam-policy/types';

const REPO_ROOT = path.resolve(__dirname, '..');
export const DEFAULT_EXTERNAL_ID = 's3-onboarding-local';
/** The thumbprint AWS documents for EKS issuers (IAM no longer checks it for them). */
export const EKS_THUMBPRINT = '9e99a48a9960b14926bb7f3b02e22da2b0ab7280';

export const externalIdFor = (t: Topology, accountId: string): string =>
  t.accountSettings[accountId]?.externalId ?? DEFAULT_EXTERNAL_ID;

/** An account's Service Quotas values from the topology (`assumeRolePolicySizeQuota` is the trust policy length's). */
function accountQuotas(t: Topology, accountId: string): Map<string, number> {
  const settings = t.accountSettings[accountId];
  const quotas = new Map(Object.entries(settings?.quotas ?? {}));
  if (settings?.assumeRolePolicySizeQuota !== undefined)
    quotas.set(ROLE_TRUST_POLICY_LENGTH, settings.assumeRolePolicySizeQuota);
  return quotas;
}

export function buildWorld(
  t: Topology,
  repoRoot = REPO_ROOT,
  signingKey = newSigningKey(),
  sessions: World['sessions'] = new Map(),
): World {
  const world: World = {
    accounts: new Map(t.accounts.map((id) => [id, newAccount(id, accountQuotas(t, id))])),
    clusters: [],
    buckets: new Map(),
    kmsKeys: new Map(),
    sessions,
    calls: [],
    events: [],
    seq: 0,
    faults: [],
    faultSeq: 0,
    perCallMs: 0,
    propagationMs: 0,
    signingKey,
    platformAccountId: t.platformAccountId,
    podIdentityAssociations: new Map(),
    accessPoints: new Map(),
  };
  const epoch = new Date('2026-01-01T00:00:00Z');

  // the API's own role, from serverless.yml, as deployed with the default parameters, in the region the local
  // stack runs the API in (scripts/stack.ts: the first cluster's)
  const sls = parse(readFileSync(path.join(repoRoot, 'serverless.yml'), 'utf8')) as { resources: CfnTemplate };
  applyTemplate(
    world.accounts.get(t.platformAccountId)!,
    { Resources: { ApiRole: serverlessDefaults(sls.resources.Resources.ApiRole) as CfnTemplate['Resources'][string] } },
    { 'AWS::Region': t.clusters[0]?.region ?? 'eu-west-1' },
  );

  // every account: the provisioner role and the workload boundary, from the deployment template
  const template = readTemplate(path.join(repoRoot, 'deploy/provisioner.yaml'));
  for (const account of world.accounts.values()) {
    applyTemplate(account, template, {
      PlatformAccountId: t.platformAccountId,
      ExternalId: externalIdFor(t, account.id),
    });
  }

  for (const c of t.clusters) {
    const issuer = c.oidcIssuer ?? defaultIssuer(c);
    world.clusters.push({
      name: c.name,
      accountId: c.accountId,
      region: c.region,
      issuer,
      createdAt: epoch,
      podIdentityAgent: c.podIdentityAgent,
    });
    if (c.oidcProvider) {
      const url = issuer.replace(/^https:\/\//, '');
      const arn = `arn:aws:iam::${c.accountId}:oidc-provider/${url}`;
      world.accounts.get(c.accountId)!.oidcProviders.set(arn, {
        arn,
        url,
        clientIds: ['sts.amazonaws.com'],
        thumbprints: [EKS_THUMBPRINT],
        tags: new Map(),
        createDate: epoch,
      });
    }
  }
  for (const r of t.roles) {
    const role = putRole(world.accounts.get(r.accountId) ?? fail(`role ${r.name}: unknown account ${r.accountId}`), {
      name: r.name,
      path: r.path,
      trustPolicy: JSON.stringify(r.trustPolicy),
      inline: Object.fromEntries(Object.entries(r.inlinePolicies).map(([k, v]) => [k, JSON.stringify(v)])),
      tags: r.tags,
    });
    // the instance-metadata stand-in serves the first topology role EC2 may assume (POST /_emulator/imds changes it)
    if (!world.imdsRoleArn && trustsEc2(r.trustPolicy)) world.imdsRoleArn = role.arn;
  }
  for (const k of t.kmsKeys) {
    const [, , , region, accountId, res] = k.arn.split(':');
    const defaultPolicy = {
      Version: '2012-10-17',
      Id: 'key-default-1',
      Statement: [
        {
          Sid: 'Enable IAM User Permissions',
          Effect: 'Allow',
          Principal: { AWS: `arn:aws:iam::${accountId}:root` },
          Action: 'kms:*',
          Resource: '*',
        },
      ],
    };
    world.kmsKeys.set(k.arn, {
      arn: k.arn,
      keyId: res.slice('key/'.length),
      accountId,
      region,
      policy: JSON.stringify(k.policy ?? defaultPolicy),
      aliases: (k.aliases ?? []).map((a) => (a.startsWith('alias/') ? a : `alias/${a}`)),
      awsManaged: k.awsManaged ?? false,
      tags: { ...k.tags },
      createDate: epoch,
      grants: new Map(),
    });
  }
  for (const b of t.buckets) {
    world.buckets.set(b.name, {
      name: b.name,
      accountId: b.accountId,
      region: b.region,
      policy: b.policy ? JSON.stringify(b.policy) : undefined,
      kmsKeyArn: b.kmsKeyArn,
      tags: b.tags ?? {},
      abac: b.abac,
      objects: new Map(),
      createDate: epoch,
    });
  }
  // pre-existing ("foreign") access points: made by someone else, never by the service
  for (const a of t.accessPoints) {
    const bucket = world.buckets.get(a.bucket) ?? fail(`access point ${a.name}: unknown bucket ${a.bucket}`);
    const ap = newAccessPoint({
      name: a.name,
      accountId: a.accountId,
      region: a.region,
      bucket: bucket.name,
      bucketAccountId: bucket.accountId,
      createDate: epoch,
      tags: new Map(Object.entries(a.tags ?? {})),
    });
    if (a.policy) ap.policy = JSON.stringify(a.policy);
    world.accessPoints.set(accessPointKey(ap.accountId, ap.region, ap.name), ap);
  }
  return world;
}

/** Whether a trust policy has an Allow statement naming the EC2 service principal. */
const trustsEc2 = (trust: Record<string, unknown>): boolean =>
  asArray((trust as { Statement?: Statement | Statement[] }).Statement).some(
    (st) =>
      st.Effect === 'Allow' &&
      st.Principal !== undefined &&
      st.Principal !== '*' &&
      asArray(st.Principal.Service).includes('ec2.amazonaws.com'),
  );

const fail = (m: string): never => {
  throw new Error(m);
};

export interface RoleSpec {
  name: string;
  path?: string;
  trustPolicy: string;
  inline?: Record<string, string>;
  managed?: string[];
  tags?: Record<string, string>;
  boundary?: string;
  maxSessionDuration?: number;
  description?: string;
}

/** Seeded roles get ids derived from their ARN, so sessions issued before a reset stay valid after it. */
const seededRoleId = (arn: string): string => {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  const h = createHash('sha256').update(arn).digest();
  return `AROA${Array.from(h.subarray(0, 17), (b) => alphabet[b % 32]).join('')}`;
};

function putRole(account: Account, s: RoleSpec): Role {
  const path = s.path ?? '/';
  const role: Role = {
    roleId: seededRoleId(`arn:aws:iam::${account.id}:role${path}${s.name}`),
    name: s.name,
    path,
    arn: `arn:aws:iam::${account.id}:role${path}${s.name}`,
    accountId: account.id,
    trustPolicy: s.trustPolicy,
    trustBindings: new Map(),
    description: s.description,
    maxSessionDuration: s.maxSessionDuration ?? 3600,
    permissionsBoundary: s.boundary,
    tags: new Map(Object.entries(s.tags ?? {})),
    inlinePolicies: new Map(Object.entries(s.inline ?? {})),
    attachedPolicies: new Set(s.managed ?? []),
    createDate: new Date('2026-01-01T00:00:00Z'),
    visibleAt: 0,
  };
  account.roles.set(s.name.toLowerCase(), role);
  return role;
}

/** A managed policy of a template, resolved for one account. */
export interface TemplatePolicy {
  arn: string;
  name: string;
  path: string;
  document: unknown;
  description?: string;
}

/**
 * The IAM resources of a CloudFormation template (managed policies, then roles), resolved for one account:
 * what the emulator seeds, and what a seeded AWS-compatible endpoint gets through IAM calls.
 */
export function templateIam(
  template: CfnTemplate,
  accountId: string,
  params: Record<string, string>,
): { policies: TemplatePolicy[]; roles: (RoleSpec & { inline: Record<string, string> })[] } {
  const vars: Record<string, string> = {
    'AWS::AccountId': accountId,
    'AWS::Partition': 'aws',
    'AWS::Region': 'us-east-1',
  };
  for (const [k, p] of Object.entries(template.Parameters ?? {})) if (p.Default !== undefined) vars[k] = p.Default;
  Object.assign(vars, params);
  const refs: Record<string, string> = {};
  const entries = Object.entries(template.Resources);
  const policies: TemplatePolicy[] = [];
  for (const [logical, r] of entries) {
    if (r.Type !== 'AWS::IAM::ManagedPolicy') continue;
    const p = resolve(r.Properties, vars, refs, template.Conditions) as {
      ManagedPolicyName: string;
      Path?: string;
      PolicyDocument: unknown;
      Description?: string;
    };
    const pathName = p.Path ?? '/';
    const arn = `arn:aws:iam::${accountId}:policy${pathName}${p.ManagedPolicyName}`;
    policies.push({
      arn,
      name: p.ManagedPolicyName,
      path: pathName,
      document: p.PolicyDocument,
      description: p.Description,
    });
    refs[logical] = arn;
  }
  const roles: (RoleSpec & { inline: Record<string, string> })[] = [];
  for (const [, r] of entries) {
    if (r.Type !== 'AWS::IAM::Role') continue;
    const props = r.Properties as Record<string, unknown>;
    const get = <T>(key: string): T => resolve(props[key], vars, refs, template.Conditions) as T;
    const inline = ((props.Policies as { PolicyName: string; PolicyDocument: { Statement: unknown[] } }[]) ?? []).map(
      (pol) => ({
        name: pol.PolicyName,
        doc: {
          ...(pol.PolicyDocument as object),
          // statements that name resources of other stacks (a table ARN, say) do not exist in the emulator
          Statement: pol.PolicyDocument.Statement.flatMap((st) => {
            try {
              const resolved = resolve(st, vars, refs, template.Conditions);
              // a statement under Fn::If whose condition is false (AWS::NoValue) is left out
              return typeof resolved === 'symbol' ? [] : [resolved];
            } catch (e) {
              if (e instanceof Unresolvable) return [];
              throw e;
            }
          }),
        },
      }),
    );
    const tags = get<{ Key: string; Value: string }[] | undefined>('Tags') ?? [];
    roles.push({
      name: get<string>('RoleName'),
      path: get<string | undefined>('Path'),
      trustPolicy: JSON.stringify(get('AssumeRolePolicyDocument')),
      inline: Object.fromEntries(inline.map((p) => [p.name, JSON.stringify(p.doc)])),
      managed: get<string[] | undefined>('ManagedPolicyArns'),
      tags: Object.fromEntries(tags.map((t) => [t.Key, t.Value])),
      boundary: get<string | undefined>('PermissionsBoundary'),
      maxSessionDuration: get<number | undefined>('MaxSessionDuration'),
      description: get<string | undefined>('Description'),
    });
  }
  return { policies, roles };
}

/** Creates the IAM resources of a CloudFormation template in one account (managed policies, then roles). */
function applyTemplate(account: Account, template: CfnTemplate, params: Record<string, string>): void {
  const { policies, roles } = templateIam(template, account.id, params);
  for (const p of policies) {
    account.policies.set(p.arn, {
      policyId: uniqueId('ANPA'),
      name: p.name,
      path: p.path,
      arn: p.arn,
      description: p.description,
      versions: [{ id: 'v1', document: JSON.stringify(p.document), createDate: new Date(0) }],
      defaultVersionId: 'v1',
      createDate: new Date(0),
      updateDate: new Date(0),
      tags: new Map(),
    });
  }
  for (const r of roles) putRole(account, r);
}

/** serverless.yml's own variables with a literal default (`${param:eventBusName, 'default'}`) as deployed without the parameter. */
export function serverlessDefaults(value: unknown): unknown {
  if (typeof value === 'string')
    return value.replace(/\$\{(?:param|opt):[\w.-]+,\s*'([^']*)'\}/g, (_m, d: string) => d);
  if (Array.isArray(value)) return value.map(serverlessDefaults);
  if (value && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, serverlessDefaults(v)]));
  return value;
}
