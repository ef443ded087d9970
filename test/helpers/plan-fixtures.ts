import { loadConfig } from '../../lib/config';
import { grantDesired, identityDesired, type GrantRef, type Resolved } from '../../lib/onboarding/model/desired';
import type { OnboardingInput } from '../../lib/onboarding/model/onboarding';
import type { ObservedRole } from '../../lib/onboarding/gather/observe';

/** What the planners' unit tests share: the configuration, the demo cluster's issuer and provider, a pbm request. */

export const config = loadConfig({});
export const ISSUER = 'https://oidc.eks.eu-west-1.amazonaws.com/id/DEMO';
export const PROVIDER = 'arn:aws:iam::200000000002:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/DEMO';

/** A pbm read-write request of the demo cluster's pbm-agent into `backups` (300000000003), prefix db/. */
export const input = (over: Partial<OnboardingInput> = {}): OnboardingInput => ({
  workload: {
    type: 'eks',
    clusters: [{ name: 'demo', accountId: '200000000002', region: 'eu-west-1' }],
    namespace: 'mongodb',
    serviceAccounts: ['pbm-agent'],
  },
  bucket: { name: 'backups', accountId: '300000000003', region: 'eu-west-1', prefix: 'db/' },
  tool: 'pbm',
  access: 'read-write',
  ...over,
});

/** The role as the service leaves it for these grants of `r`'s identity (each grant's policy is `r`'s). */
export function liveRoleOf(r: Resolved, grants: GrantRef[], extra: Partial<ObservedRole> = {}): ObservedRole {
  const d = identityDesired(config, r.identity, grants, [ISSUER]);
  const g = grantDesired(r.identity, r.grant);
  return {
    arn: r.identity.roleArn,
    path: '/s3-onboarding/',
    trust: d.role.trust,
    tags: d.role.tags,
    boundaryArn: d.role.boundaryArn,
    inline: new Map(
      grants.map((x) => [
        `s3-onboarding-${x.id}`,
        { document: g.permissions, size: JSON.stringify(g.permissions).length },
      ]),
    ),
    attached: [],
    ...extra,
  };
}
