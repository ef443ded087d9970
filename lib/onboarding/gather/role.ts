import type { ProvisionerSessions } from '../../aws/session';
import * as iamApi from '../../aws/iam';
import type { PolicyDocument } from '../../policy/types';
import type { WorkloadIdentity } from '../model/onboarding';
import type { ObservedRole } from './observe';

/**
 * A role with every inline and attached policy. `exists`: what the store says of whether the role exists; until
 * it says yes, or GetRole finds the role, only GetRole is sent (a new identity's role is one read, not four; a
 * role the store does not know of costs a second level of reads). Without it, everything is read at once.
 */
export async function readRole(
  sessions: ProvisionerSessions,
  identity: WorkloadIdentity,
  knownNow: string[],
  knownLater?: Promise<string[]>,
  exists?: Promise<boolean>,
): Promise<ObservedRole | undefined> {
  const iam = sessions.iam(identity.roleAccount);
  const name = identity.roleName;
  const get = (names: string[]) => Promise.all(names.map((p) => iamApi.getRolePolicySized(iam, name, p)));
  // the store's answer may fail while its policies are never wanted (a new identity's role): that failure is
  // the store's to report, not an unhandled rejection here
  knownLater?.catch(() => undefined);
  const roleP = iamApi.getRole(iam, name);
  const policiesWanted = exists
    ? new Promise<boolean>((resolve) => {
        // the store failing says nothing: GetRole decides
        exists.then(
          (yes) => yes && resolve(true),
          () => undefined,
        );
        roleP.then(
          (r) => resolve(!!r),
          () => resolve(false),
        );
      })
    : Promise.resolve(true);
  const readPolicies = () =>
    Promise.all([
      iamApi.listRolePolicies(iam, name),
      iamApi.listAttachedRolePolicies(iam, name),
      get(knownNow),
      (knownLater ?? Promise.resolve([])).then(async (more) => {
        const extra = [...new Set(more)].filter((p) => !knownNow.includes(p));
        return { extra, docs: await get(extra) };
      }),
    ]);
  // a role that exists always gets its policies read (GetRole finding it is enough)
  const [role, policies] = await Promise.all([
    roleP,
    policiesWanted.then((wanted) => (wanted ? readPolicies() : undefined)),
  ]);
  if (!role || !policies) return undefined;
  const [names, attached, nowDocs, later] = policies;
  const known = [...knownNow, ...later.extra];
  const knownDocs = [...nowDocs, ...later.docs];
  const inline = new Map<string, { document: PolicyDocument; size: number }>();
  known.forEach((p, i) => {
    const doc = knownDocs[i];
    if (doc && (names ?? []).includes(p)) inline.set(p, doc);
  });
  // policies nobody told us about: read them too (a second level of reads only when they exist)
  const unknown = (names ?? []).filter((n) => !inline.has(n));
  const rest = await Promise.all(unknown.map((p) => iamApi.getRolePolicySized(iam, name, p)));
  unknown.forEach((p, i) => {
    const doc = rest[i];
    if (doc) inline.set(p, doc);
  });
  return {
    arn: role.arn,
    path: role.path,
    trust: role.trust,
    tags: role.tags,
    boundaryArn: role.boundaryArn,
    inline,
    attached: attached ?? [],
  };
}
