import * as iamApi from '../../aws/iam';
import { tagValue } from '../model/desired';
import type { ServiceDeps } from '../model/deps';
import type { IdentityRecord } from '../model/records';
import { TAG_MANAGED_BY } from '../model/onboarding';

/**
 * The providers a removed identity leaves behind that may go too: created by the service (tagged), trusted by no
 * other identity it manages, and by no other role of the account (a team's own role may trust it). Callers hold
 * the providers' locks, so two removals never both keep a provider the other still counted.
 */
export async function removableProviders(deps: ServiceDeps, identity: IdentityRecord): Promise<string[]> {
  const iam = deps.sessions.iam(identity.roleAccount);
  const out = await Promise.all(
    identity.providers.map(async (p) => {
      if ((await deps.store.providers.users(p.arn, identity.key)).length) return undefined;
      const tags = await iamApi.oidcProviderTags(iam, p.arn);
      if (!tags || tagValue(tags, TAG_MANAGED_BY) !== deps.config.managedByTag) return undefined;
      const trusting = await iamApi.rolesTrusting(iam, p.arn);
      return trusting.some((name) => name !== identity.roleName) ? undefined : p.arn;
    }),
  );
  return out.filter((x): x is string => !!x);
}
