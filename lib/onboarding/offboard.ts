import * as iamApi from '../aws/iam';
import { ConflictError, NotFoundError } from '../errors';
import { directBucketPolicyWriter } from './bucket-policy-writer';
import { setKeyStatements } from './key-policy';
import type { Change } from './model';
import { ROLE_POLICY_NAME, TAG_ID } from './model';
import { enforceGuardrails, type Caller, type ServiceDeps } from './lifecycle';
import { accountOfArn } from '../arn';

/**
 * DELETE: removes exactly what the record says this service created, and only if it still looks like ours:
 * its bucket- and key-policy statements (by Sid), the instance-role grant, the role (inline policies first), and
 * OIDC providers it created that no other onboarding uses. Then marks the record deleted. Repeating it is harmless.
 */
export async function offboard(deps: ServiceDeps, id: string, caller: Caller): Promise<{ id: string; status: 'deleted'; changes: Change[] }> {
  const existing = await deps.store.getRecord(id);
  if (existing?.status === 'deleted') return { id, status: 'deleted', changes: [] };
  if (!existing) throw new NotFoundError(`no onboarding ${id}`);
  // only a caller who may onboard it may remove it
  enforceGuardrails(deps, caller, existing.request);
  return deps.store.withLock(`onboarding#${id}`, async () => {
    let rec = (await deps.store.getRecord(id))!;
    if (rec.status === 'deleted') return { id, status: 'deleted' as const, changes: [] };
    const { sessions, store, config } = deps;
    const o = rec.owned;
    // ownership first: a refusal (409) must come before anything is removed
    const role = o.role ? await iamApi.getRole(sessions.iam(o.role.accountId), o.role.name) : undefined;
    if (o.role && role && (role.tags['managed-by'] !== config.managedByTag || role.tags[TAG_ID] !== id)) {
      throw new ConflictError(`role ${o.role.name} no longer carries this onboarding's tags; refusing to delete anything`);
    }
    rec = await deps.store.saveRecord({ ...rec, status: 'deleting' }, rec.version);
    const changes: Change[] = [];

    await Promise.all([
      o.bucketStatements &&
        (deps.bucketPolicyWriter ?? directBucketPolicyWriter)(
          { accountId: o.bucketStatements.accountId, bucket: o.bucketStatements.bucket, s3: sessions.s3(o.bucketStatements.accountId, o.bucketStatements.region) },
          id,
          [],
        ).then((wrote) => {
          if (wrote) changes.push({ action: 'remove-bucket-policy-statements', accountId: o.bucketStatements!.accountId, resource: `arn:aws:s3:::${o.bucketStatements!.bucket}` });
        }),
      o.keyStatements &&
        setKeyStatements(sessions, deps.withLock, o.keyStatements.keyArn, id, []).then((wrote) => {
          if (wrote) changes.push({ action: 'remove-key-policy-statement', accountId: o.keyStatements!.accountId, resource: o.keyStatements!.keyArn });
        }),
      o.instanceGrant &&
        iamApi.deleteRolePolicy(sessions.iam(o.instanceGrant.accountId), o.instanceGrant.roleName, o.instanceGrant.policyName).then((out) => {
          if (out) changes.push({ action: 'delete-instance-role-grant', accountId: o.instanceGrant!.accountId, resource: `${o.instanceGrant!.roleName}#${o.instanceGrant!.policyName}` });
        }),
    ]);

    if (o.role && role) {
      const iam = sessions.iam(o.role.accountId);
      const names = (await iamApi.listRolePolicies(iam, o.role.name)) ?? [ROLE_POLICY_NAME];
      await Promise.all(names.map((n) => iamApi.deleteRolePolicy(iam, o.role!.name, n)));
      await iamApi.deleteRole(iam, o.role.name);
      changes.push({ action: 'delete-role', accountId: o.role.accountId, resource: o.role.arn });
    }

    // providers this onboarding's trust uses: delete those the service created (tagged) that nothing else uses —
    // no other onboarding, and no role at all in that account (a team's own role may trust it too)
    const candidates = new Map(o.oidcProviders.map((p) => [p.arn, p]));
    for (const arn of federatedPrincipals(rec)) candidates.set(arn, { accountId: accountOfArn(arn), arn });
    if (candidates.size) {
      const others = await allActiveRecords(deps, id);
      for (const p of candidates.values()) {
        if (others.some((r) => r.owned.oidcProviders.some((x) => x.arn === p.arn) || federatedPrincipals(r).includes(p.arn))) continue;
        const iam = sessions.iam(p.accountId);
        const tags = await iamApi.oidcProviderTags(iam, p.arn);
        if (tags?.['managed-by'] !== config.managedByTag) continue;
        if ((await iamApi.rolesTrusting(iam, p.arn)).length) continue;
        if (await iamApi.deleteOidcProvider(iam, p.arn)) changes.push({ action: 'delete-oidc-provider', accountId: p.accountId, resource: p.arn });
      }
    }
    await store.saveRecord({ ...rec, status: 'deleted' }, rec.version);
    return { id, status: 'deleted' as const, changes };
  });
}

/** The OIDC providers an onboarding's trust policy names. */
function federatedPrincipals(rec: { result?: { policies?: { trust?: unknown } } }): string[] {
  const trust = rec.result?.policies?.trust as { Statement?: { Principal?: { Federated?: string } }[] } | undefined;
  return (trust?.Statement ?? []).map((s) => s.Principal?.Federated).filter((x): x is string => !!x);
}

async function allActiveRecords(deps: ServiceDeps, except: string) {
  const out = [];
  let nextToken: string | undefined;
  do {
    const page = await deps.store.listRecords({ limit: 100, nextToken });
    // onboardings being deleted do not keep a provider alive (two concurrent DELETEs would otherwise both keep it)
    out.push(...page.items.filter((r) => r.id !== except && r.status !== 'deleting'));
    nextToken = page.nextToken;
  } while (nextToken);
  return out;
}
