import { boundaryArn, type Config } from '../config';
import { ConflictError, NotAllowedError, QuotaExceededError, ValidationError } from '../errors';
import type { ProvisionerSessions } from '../aws/session';
import * as iamApi from '../aws/iam';
import * as s3Api from '../aws/s3';
import * as kmsApi from '../aws/kms';
import { clusterIssuer } from '../aws/eks';
import { kmsActions, toolActions } from '../policy/actions';
import {
  assumeRoleGrant,
  bucketPolicyStatements,
  instanceRoleTrust,
  keyPolicyStatement,
  mergeStatements,
  oidcProviderArn,
  ownStatements,
  permissionsPolicy,
  policySize,
  sameJson,
  webIdentityTrust,
} from '../policy/documents';
import type { PolicyDocument, Statement } from '../policy/types';
import { renderSnippets } from '../snippets';
import { checkBucketPolicySize, directBucketPolicyWriter, type BucketPolicyWriter } from './bucket-policy-writer';
import { setKeyStatements } from './key-policy';
import { defaultServiceAccounts } from '../snippets/defaults';
import {
  grantPolicyName,
  modeOf,
  onboardingId,
  roleName,
  ROLE_POLICY_NAME,
  TAG_ID,
  TAG_TOOL,
  type Change,
  type Mode,
  type OnboardingInput,
  type OnboardingResult,
} from './model';
import { accountOfArn, regionOfArn, nameOfArn } from '../arn';

export interface EngineDeps {
  config: Config;
  sessions: ProvisionerSessions;
  /** serialises read-modify-write of key policies; none: run directly */
  withLock?: <T>(name: string, fn: () => Promise<T>) => Promise<T>;
  /** how this onboarding's bucket-policy statements are written; default: read-merge-write with no coordination */
  bucketPolicyWriter?: BucketPolicyWriter;
}

/** One write the apply phase performs; `after` names the steps that must finish first. */
export interface Step extends Change {
  key: string;
  after: string[];
  run: () => Promise<unknown>;
}

/** Everything the plan is computed from: the request resolved, and what AWS holds now. */
export interface Resolved {
  input: OnboardingInput;
  id: string;
  mode: Mode;
  workloadAccount: string;
  bucketAccount: string;
  roleAccount: string;
  roleName: string;
  roleArn: string;
  serviceAccounts: string[];
  prefix: string;
}

export function resolve(config: Config, input: OnboardingInput): Resolved {
  const m = modeOf(input);
  const id = onboardingId(input);
  const name = roleName(config, input, id);
  let serviceAccounts: string[] = [];
  if (input.workload.type === 'eks') {
    const sas = input.workload.serviceAccounts ?? defaultServiceAccounts(input.tool, input.workload.namespace);
    if (!sas?.length) {
      throw new ValidationError('serviceAccounts is required for this tool and namespace', [
        { path: 'workload.serviceAccounts', message: `${input.tool} has no default service account in namespace ${input.workload.namespace}; name them` },
      ]);
    }
    serviceAccounts = [...new Set(sas)];
  }
  return {
    input,
    id,
    ...m,
    roleName: name,
    roleArn: `arn:aws:iam::${m.roleAccount}:role${config.workloadRolePath}${name}`,
    serviceAccounts,
    prefix: input.bucket.prefix ?? '',
  };
}

export interface Observed {
  issuers: string[];
  providers: string[];
  trustQuota: number;
  role?: iamApi.RoleState;
  rolePolicy?: PolicyDocument;
  bucketPolicy?: PolicyDocument;
  keyPolicy?: PolicyDocument;
  instanceGrant?: PolicyDocument;
}

const none = async <T>(): Promise<T | undefined> => undefined;

/** Reads what exists, with every independent read in parallel. */
async function observe(deps: EngineDeps, r: Resolved): Promise<Observed> {
  const { sessions } = deps;
  const w = r.input.workload;
  const b = r.input.bucket;
  const roleIam = sessions.iam(r.roleAccount);
  const keyAccount = b.kmsKeyArn && accountOfArn(b.kmsKeyArn);
  const keyRegion = b.kmsKeyArn && regionOfArn(b.kmsKeyArn);
  const needsKeyPolicy = !!b.kmsKeyArn && keyAccount !== r.roleAccount;
  const [issuers, providers, trustQuota, role, rolePolicy, , bucketPolicy, key, keyPolicy, instance, instanceGrant] = await Promise.all([
    w.type === 'eks'
      ? Promise.all(w.clusters.map((c, i) => clusterIssuer(sessions.eks(c.accountId, c.region), c.name, `workload.clusters.${i}.name`)))
      : Promise.resolve([]),
    w.type === 'eks' ? iamApi.listOidcProviders(roleIam) : Promise.resolve([]),
    w.type === 'eks' ? iamApi.trustPolicyQuota(roleIam) : Promise.resolve(Infinity),
    iamApi.getRole(roleIam, r.roleName),
    iamApi.getRolePolicy(roleIam, r.roleName, ROLE_POLICY_NAME),
    s3Api.bucketRegion(sessions.s3(r.bucketAccount, b.region), b.name, r.bucketAccount).then((region) => {
      if (region !== b.region) {
        throw new ValidationError(`bucket ${b.name} is in ${region}`, [{ path: 'bucket.region', message: `the bucket is in ${region}, not ${b.region}` }]);
      }
    }),
    r.mode === 'bucket-policy' ? s3Api.getBucketPolicy(sessions.s3(r.bucketAccount, b.region), b.name, r.bucketAccount) : none<PolicyDocument>(),
    b.kmsKeyArn ? kmsApi.describeKey(sessions.kms(keyAccount!, keyRegion!), b.kmsKeyArn) : none<{ arn: string; awsManaged: boolean }>(),
    needsKeyPolicy ? kmsApi.getKeyPolicy(sessions.kms(keyAccount!, keyRegion!), b.kmsKeyArn!) : none<PolicyDocument>(),
    w.type === 'ec2' ? iamApi.getRole(sessions.iam(r.workloadAccount), nameOfArn(w.instanceRoleArn)) : none<iamApi.RoleState>(),
    w.type === 'ec2' ? iamApi.getRolePolicy(sessions.iam(r.workloadAccount), nameOfArn(w.instanceRoleArn), grantPolicyName(r.id)) : none<PolicyDocument>(),
  ]);
  if (w.type === 'ec2' && (!instance || instance.arn !== w.instanceRoleArn)) {
    throw new ValidationError('the instance role does not exist', [{ path: 'workload.instanceRoleArn', message: `no role ${w.instanceRoleArn}` }]);
  }
  if (key?.awsManaged) {
    throw new ValidationError('AWS managed keys cannot be granted', [{ path: 'bucket.kmsKeyArn', message: 'the AWS managed aws/s3 key cannot be shared; use a customer managed key' }]);
  }
  return { issuers, providers, trustQuota, role, rolePolicy, bucketPolicy, keyPolicy, instanceGrant };
}

export interface Desired {
  trust: PolicyDocument;
  permissions: PolicyDocument;
  tags: Record<string, string>;
  boundaryArn?: string;
  bucketStatements: Statement[];
  keyStatements: Statement[];
  instanceGrant?: PolicyDocument;
  missingProviders: string[];
}

function desire(config: Config, r: Resolved, o: Observed): Desired {
  const { input } = r;
  const w = input.workload;
  const actions = toolActions(input.tool, input.access);
  const scope = { bucket: input.bucket.name, prefix: r.prefix };
  const kms = input.bucket.kmsKeyArn ? { keyArn: input.bucket.kmsKeyArn, actions: kmsActions(input.access) } : undefined;
  const clusters = o.issuers.map((issuerUrl) => ({ issuerUrl, providerArn: oidcProviderArn(r.roleAccount, issuerUrl) }));
  const trust = w.type === 'eks' ? webIdentityTrust(clusters, w.namespace, r.serviceAccounts) : instanceRoleTrust(w.instanceRoleArn);
  const size = policySize(trust);
  if (size > o.trustQuota) {
    let fit = 0;
    while (fit < clusters.length && policySize(webIdentityTrust(clusters.slice(0, fit + 1), (w as { namespace: string }).namespace, r.serviceAccounts)) <= o.trustQuota) fit++;
    throw new QuotaExceededError(
      `the trust policy for ${clusters.length} clusters is ${size} characters, over this account's AssumeRolePolicySizeQuota of ${o.trustQuota}; ${fit} cluster(s) fit in one role — split the request or raise the quota (L-C07B4B0D)`,
      { trustPolicySize: size, quota: o.trustQuota, clustersRequested: clusters.length, clustersThatFit: fit },
    );
  }
  return {
    trust,
    permissions: permissionsPolicy(scope, actions, kms),
    // the service's own tags last: a request can never overwrite them
    tags: { ...(input.tags ?? {}), 'managed-by': config.managedByTag, [TAG_ID]: r.id, [TAG_TOOL]: input.tool },
    boundaryArn: boundaryArn(config, r.roleAccount),
    bucketStatements: r.mode === 'bucket-policy' ? bucketPolicyStatements(r.id, scope, actions, r.roleArn) : [],
    keyStatements: kms && accountOfArn(kms.keyArn) !== r.roleAccount ? [keyPolicyStatement(r.id, r.roleArn, kms.actions)] : [],
    instanceGrant: w.type === 'ec2' ? assumeRoleGrant(r.roleArn) : undefined,
    missingProviders: clusters.filter((c) => !o.providers.includes(c.providerArn)).map((c) => c.issuerUrl),
  };
}

/** The writes that take AWS from what is observed to what is desired. No writes when they already match. */
function plan(deps: EngineDeps, r: Resolved, o: Observed, d: Desired): Step[] {
  const { sessions, config } = deps;
  const steps: Step[] = [];
  const iam = sessions.iam(r.roleAccount);
  const b = r.input.bucket;
  const roleDeps: string[] = [];

  for (const issuerUrl of [...new Set(d.missingProviders)]) {
    const key = `oidc:${issuerUrl}`;
    roleDeps.push(key);
    steps.push({
      key,
      after: [],
      action: 'create-oidc-provider',
      accountId: r.roleAccount,
      resource: oidcProviderArn(r.roleAccount, issuerUrl),
      run: () => iamApi.createOidcProvider(iam, issuerUrl, { 'managed-by': config.managedByTag, [TAG_ID]: r.id }),
    });
  }

  if (!o.role) {
    steps.push({
      key: 'role',
      after: roleDeps,
      action: 'create-role',
      accountId: r.roleAccount,
      resource: r.roleArn,
      run: () =>
        iamApi.createRole(iam, {
          name: r.roleName,
          path: config.workloadRolePath,
          trust: d.trust,
          tags: d.tags,
          boundaryArn: d.boundaryArn,
          description: `s3-onboarding ${r.id}: ${r.input.tool} ${r.input.access} on s3://${b.name}/${r.prefix}`,
        }),
    });
  } else {
    if (o.role.tags['managed-by'] !== config.managedByTag || o.role.tags[TAG_ID] !== r.id || o.role.arn !== r.roleArn) {
      throw new ConflictError(`role ${r.roleName} exists in account ${r.roleAccount} but was not created by this service for onboarding ${r.id}; refusing to take it over`);
    }
    if (!sameJson(o.role.trust, d.trust)) {
      steps.push({ key: 'trust', after: roleDeps, action: 'update-trust-policy', accountId: r.roleAccount, resource: r.roleArn, run: () => iamApi.updateTrust(iam, r.roleName, d.trust) });
    }
    const changed = Object.fromEntries(Object.entries(d.tags).filter(([k, v]) => o.role!.tags[k] !== v));
    const stale = Object.keys(o.role.tags).filter((k) => !(k in d.tags));
    if (Object.keys(changed).length) steps.push({ key: 'tag', after: [], action: 'tag-role', accountId: r.roleAccount, resource: r.roleArn, run: () => iamApi.tagRole(iam, r.roleName, changed) });
    if (stale.length) steps.push({ key: 'untag', after: [], action: 'untag-role', accountId: r.roleAccount, resource: r.roleArn, run: () => iamApi.untagRole(iam, r.roleName, stale) });
    if (d.boundaryArn && o.role.boundaryArn !== d.boundaryArn) {
      steps.push({ key: 'boundary', after: [], action: 'set-permissions-boundary', accountId: r.roleAccount, resource: r.roleArn, run: () => iamApi.putBoundary(iam, r.roleName, d.boundaryArn!) });
    }
  }

  if (!o.rolePolicy || !sameJson(o.rolePolicy, d.permissions)) {
    steps.push({
      key: 'permissions',
      // a role that lost its boundary gets it back first: the provisioner may only write into bounded roles
      after: o.role ? ['boundary'] : ['role'],
      action: 'put-role-policy',
      accountId: r.roleAccount,
      resource: `${r.roleArn}#${ROLE_POLICY_NAME}`,
      run: () => iamApi.putRolePolicy(iam, r.roleName, ROLE_POLICY_NAME, d.permissions),
    });
  }

  if (r.mode === 'bucket-policy' && !sameJson(ownStatements(o.bucketPolicy, r.id), d.bucketStatements)) {
    checkBucketPolicySize(b.name, mergeStatements(o.bucketPolicy, r.id, d.bucketStatements));
    const writer = deps.bucketPolicyWriter ?? directBucketPolicyWriter;
    steps.push({
      key: 'bucket-policy',
      after: [],
      action: 'put-bucket-policy-statements',
      accountId: r.bucketAccount,
      resource: `arn:aws:s3:::${b.name}`,
      run: () => writer({ accountId: r.bucketAccount, bucket: b.name, s3: sessions.s3(r.bucketAccount, b.region) }, r.id, d.bucketStatements),
    });
  }

  if (d.keyStatements.length && o.keyPolicy && !sameJson(ownStatements(o.keyPolicy, r.id), d.keyStatements)) {
    const keyArn = b.kmsKeyArn!;
    steps.push({
      key: 'key-policy',
      after: [],
      action: 'put-key-policy-statement',
      accountId: accountOfArn(keyArn),
      resource: keyArn,
      run: () => setKeyStatements(sessions, deps.withLock, keyArn, r.id, d.keyStatements),
    });
  }

  if (d.instanceGrant && (!o.instanceGrant || !sameJson(o.instanceGrant, d.instanceGrant))) {
    const w = r.input.workload as { instanceRoleArn: string };
    steps.push({
      key: 'instance-grant',
      after: [],
      action: 'put-instance-role-grant',
      accountId: r.workloadAccount,
      resource: `${w.instanceRoleArn}#${grantPolicyName(r.id)}`,
      run: () => iamApi.putRolePolicy(sessions.iam(r.workloadAccount), nameOfArn(w.instanceRoleArn), grantPolicyName(r.id), d.instanceGrant!),
    });
  }
  return steps;
}

/** Runs steps as soon as what they wait for is done, so independent writes go in parallel. */
export async function applySteps(steps: Step[], onDone?: (s: Step) => void): Promise<void> {
  const byKey = new Map(steps.map((s) => [s.key, s]));
  const running = new Map<string, Promise<void>>();
  const run = (s: Step): Promise<void> => {
    let p = running.get(s.key);
    if (!p) {
      p = (async () => {
        await Promise.all(s.after.filter((k) => byKey.has(k)).map((k) => run(byKey.get(k)!)));
        await s.run();
        onDone?.(s);
      })();
      running.set(s.key, p);
    }
    return p;
  };
  const results = await Promise.allSettled(steps.map(run));
  const failed = results.find((x): x is PromiseRejectedResult => x.status === 'rejected');
  if (failed) throw failed.reason;
}

export interface Planned {
  resolved: Resolved;
  desired: Desired;
  observed: Observed;
  steps: Step[];
}

/** Reads AWS and computes the writes; writes nothing. */
export async function planOnboarding(deps: EngineDeps, input: OnboardingInput): Promise<Planned> {
  const resolved = resolve(deps.config, input);
  for (const a of new Set([resolved.roleAccount, resolved.bucketAccount, resolved.workloadAccount])) {
    if (deps.config.targetAccounts.length && !deps.config.targetAccounts.includes(a)) {
      throw new NotAllowedError(`account ${a} is not managed by this service`, 'target-accounts');
    }
  }
  const observed = await observe(deps, resolved);
  const desired = desire(deps.config, resolved, observed);
  return { resolved, observed, desired, steps: plan(deps, resolved, observed, desired) };
}

/** The response body of a planned (or applied) onboarding. */
export function resultOf(p: Planned, status: 'provisioned' | 'planned'): OnboardingResult {
  const { resolved: r, desired, steps } = p;
  const input = r.input;
  return {
    id: r.id,
    status,
    roleArn: r.roleArn,
    roles: [{ arn: r.roleArn, accountId: r.roleAccount, purpose: input.workload.type === 'eks' ? 'irsa-workload' : 'ec2-assumed-workload' }],
    changes: steps.map(({ action, accountId, resource }) => ({ action, accountId, resource })),
    policies: {
      trust: desired.trust,
      permissions: desired.permissions,
      bucketPolicyStatements: desired.bucketStatements,
      ...(desired.keyStatements.length ? { keyPolicyStatements: desired.keyStatements } : {}),
      ...(desired.instanceGrant ? { instanceRoleGrant: desired.instanceGrant } : {}),
    },
    snippets: renderSnippets({
      onboardingId: r.id,
      tool: input.tool,
      access: input.access,
      roleArn: r.roleArn,
      bucket: { name: input.bucket.name, region: input.bucket.region, prefix: r.prefix || undefined, kmsKeyArn: input.bucket.kmsKeyArn },
      workload: input.workload.type === 'eks' ? { ...input.workload, serviceAccounts: r.serviceAccounts } : input.workload,
    }),
  };
}

export interface OnboardOutcome {
  result: OnboardingResult;
  /** true when AWS was changed (201), false when all was in place or it was a dry run (200) */
  changed: boolean;
}

/** Plans the onboarding from the desired and observed state; applies it unless it is a dry run. */
export async function onboard(deps: EngineDeps, input: OnboardingInput): Promise<OnboardOutcome> {
  const p = await planOnboarding(deps, input);
  if (!input.dryRun) await applySteps(p.steps);
  return { changed: !input.dryRun && p.steps.length > 0, result: resultOf(p, input.dryRun ? 'planned' : 'provisioned') };
}
