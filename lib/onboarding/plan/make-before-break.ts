import type { Action, Step } from '../model/steps';

/**
 * Make before break (contract §4), as a property of every plan: a step that removes or narrows access starts only
 * once every step that creates access (a role, its policy, its trust, its boundary, a bucket- or key-policy
 * statement, a KMS grant, an association) is done. The executor starts nothing new after a failure, so a change that fails at
 * any write leaves the workload with the access it had, or with the new access as well, never with neither.
 *
 * Pure: steps in, steps out (only `after` grows). A make step that itself waits on a removal (none of the
 * planners' today) keeps that order instead: no cycle is ever introduced.
 */

/** Actions that take access away. */
const BREAK_ACTIONS: ReadonlySet<Action> = new Set<Action>([
  'delete-role-policy',
  'detach-role-policy',
  'delete-role',
  'delete-oidc-provider',
  'delete-instance-role-grant',
  'remove-bucket-policy-statements',
  'remove-key-policy-statement',
  'retire-key-grant',
  'delete-pod-identity-association',
  'delete-access-point',
  'remove-access-point-delegation',
]);

/** Actions that neither grant nor take away access: they need not wait, nor be waited for. */
const NEUTRAL_ACTIONS: ReadonlySet<Action> = new Set<Action>(['tag-role', 'untag-role']);

/**
 * The order of a transition, by rank; each step waits for every step of a lower rank, neutral steps (tags) for
 * none:
 * 0. what new access needs: roles, their trust, boundary and policies, OIDC providers, new statements, and a new
 *    Pod Identity association (it adds a way in and takes none away: a pod keeps using IRSA while its service
 *    account is annotated, and a new identity has nothing to lose; it waits only for the role it names, so a
 *    first onboarding is no deeper than before);
 * 1. a statement swapped from the old principal to the new one, in one write (atomic: until it lands the old
 *    principal has the bucket, after it the new one);
 * 2. an association re-pointed to the new role (after the swap, so a failure leaves the new identity working);
 * 3. removals of the old access.
 */
export function rankOf(s: Step): 0 | 1 | 2 | 3 | undefined {
  if (NEUTRAL_ACTIONS.has(s.action)) return undefined;
  if (BREAK_ACTIONS.has(s.action)) return 3;
  if (s.action === 'update-pod-identity-association') return 2;
  if (
    (s.action === 'put-bucket-policy-statements' || s.action === 'put-key-policy-statement') &&
    s.params.remove.length > 0
  )
    return 1;
  return 0;
}

/** Whether `to` waits (directly or not) on `from`, in the graph as it stands. */
function waitsOn(after: Map<string, Set<string>>, to: string, from: string): boolean {
  const seen = new Set<string>();
  const stack = [to];
  while (stack.length) {
    const cur = stack.pop()!;
    for (const dep of after.get(cur) ?? []) {
      if (dep === from) return true;
      if (!seen.has(dep)) {
        seen.add(dep);
        stack.push(dep);
      }
    }
  }
  return false;
}

export function orderMakeBeforeBreak(steps: readonly Step[]): Step[] {
  const ids = new Set(steps.map((s) => s.id));
  const after = new Map(steps.map((s) => [s.id, new Set(s.after.filter((a) => ids.has(a)))]));
  const ranked = steps.flatMap((s) => {
    const r = rankOf(s);
    return r === undefined ? [] : [{ id: s.id, rank: r }];
  });
  // edges are added one at a time, each only where the earlier step does not already wait on the later: no cycle
  for (const later of ranked) {
    for (const earlier of ranked) {
      if (earlier.rank >= later.rank || after.get(later.id)!.has(earlier.id) || waitsOn(after, earlier.id, later.id))
        continue;
      after.get(later.id)!.add(earlier.id);
    }
  }
  return steps.map((s) => {
    const extra = [...after.get(s.id)!].filter((a) => !s.after.includes(a));
    return extra.length ? ({ ...s, after: [...s.after, ...extra] } as Step) : s;
  });
}
