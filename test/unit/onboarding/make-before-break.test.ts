import fc from 'fast-check';
import { execute } from '../../../lib/onboarding/act/execute';
import { orderMakeBeforeBreak, rankOf } from '../../../lib/onboarding/plan/make-before-break';
import type { Action, Step } from '../../../lib/onboarding/model/steps';

const ACTIONS: Action[] = [
  'create-oidc-provider',
  'create-role',
  'update-trust-policy',
  'tag-role',
  'untag-role',
  'set-permissions-boundary',
  'put-role-policy',
  'delete-role-policy',
  'detach-role-policy',
  'delete-role',
  'delete-oidc-provider',
  'put-instance-role-grant',
  'delete-instance-role-grant',
  'put-bucket-policy-statements',
  'remove-bucket-policy-statements',
  'put-key-policy-statement',
  'remove-key-policy-statement',
  'create-key-grant',
  'retire-key-grant',
  'create-pod-identity-association',
  'update-pod-identity-association',
  'delete-pod-identity-association',
  'create-access-point',
  'put-access-point-policy',
  'delete-access-point',
  'put-access-point-delegation',
  'remove-access-point-delegation',
];

const statement = { Sid: 'x', Effect: 'Allow', Action: 's3:GetObject', Resource: '*' };
/** A step as the planners make them; statement puts that replace (remove non-empty) are swaps. */
function step(id: string, action: Action, after: string[], swap = false): Step {
  const params = action.includes('policy-statement')
    ? {
        target: { kind: 'bucket', accountId: '1', bucket: 'b', region: 'r' },
        onboardingId: 'ob',
        remove: swap ? [statement] : [],
        add: action.startsWith('put') ? [statement] : [],
      }
    : action === 'create-key-grant'
      ? { grant: { keyArn: 'k', granteePrincipal: 'g', operations: ['Decrypt'] } }
      : action === 'retire-key-grant'
        ? { keyArn: 'k', grantId: id, granteePrincipal: 'g', operations: ['Decrypt'], retiring: true }
        : {};
  return {
    id,
    action,
    accountId: '1',
    resource: id,
    params,
    after,
    scope: { kind: 'identity', key: 'k' },
  } as unknown as Step;
}

/** Random DAGs (a step waits only on earlier ones) of random actions: any order at all, removals before makes too. */
const anyPlans = fc
  .array(
    fc.record({ action: fc.constantFrom(...ACTIONS), swap: fc.boolean(), deps: fc.array(fc.nat(), { maxLength: 3 }) }),
    { maxLength: 14 },
  )
  .map((xs) =>
    xs.map((x, i) => step(`s${i}`, x.action, i ? [...new Set(x.deps.map((d) => `s${d % i}`))] : [], x.swap)),
  );

/**
 * Plans as the planners make them: a step never waits on one of a higher rank (a removal may wait on a make, as
 * delete-role-policy waits for a boundary put back; never the other way round), and tags neither wait nor are waited on.
 */
const plans = anyPlans.map((steps) =>
  steps.map((s) => {
    const rank = rankOf(s);
    const after =
      rank === undefined ? [] : s.after.filter((d) => (rankOf(steps.find((x) => x.id === d)!) ?? Infinity) <= rank);
    return { ...s, after } as Step;
  }),
);

function waitsOn(steps: readonly Step[], to: string, from: string): boolean {
  const byId = new Map(steps.map((s) => [s.id, s]));
  const seen = new Set<string>();
  const stack = [to];
  while (stack.length) {
    for (const d of byId.get(stack.pop()!)?.after ?? []) {
      if (d === from) return true;
      if (!seen.has(d)) {
        stack.push(d);
        seen.add(d);
      }
    }
  }
  return false;
}

describe('Function: orderMakeBeforeBreak', () => {
  it('every step of a lower rank runs before every step of a higher one, no order is lost, and no cycle is made (property)', async () => {
    await fc.assert(
      fc.asyncProperty(plans, async (steps) => {
        const ordered = orderMakeBeforeBreak(steps);
        // only `after` grows
        expect(ordered.map((s) => s.id)).toEqual(steps.map((s) => s.id));
        ordered.forEach((s, i) => expect(s.after).toEqual(expect.arrayContaining(steps[i].after)));
        for (const a of ordered) {
          for (const b of ordered) {
            const [ra, rb] = [rankOf(a), rankOf(b)];
            if (ra === undefined || rb === undefined || ra >= rb) continue;
            // a lower rank comes first, unless the plan itself already had it wait on the higher one
            if (!waitsOn(steps, a.id, b.id)) expect({ [b.id]: waitsOn(ordered, b.id, a.id) }).toEqual({ [b.id]: true });
          }
        }
        // the executor runs all of it: a cycle would leave steps pending forever
        const order: string[] = [];
        const out = await execute(ordered, async (s) => {
          order.push(s.id);
          return true;
        });
        expect(out.done).toHaveLength(steps.length);
        for (const s of ordered) for (const d of s.after) expect(order.indexOf(d)).toBeLessThan(order.indexOf(s.id));
      }),
      { numRuns: 300 },
    );
  });

  it('a failure at any step that makes access runs no removal (property)', async () => {
    await fc.assert(
      fc.asyncProperty(plans, fc.nat(), async (steps, pick) => {
        const makes = steps.filter((s) => (rankOf(s) ?? 3) < 3);
        fc.pre(makes.length > 0);
        const failing = makes[pick % makes.length].id;
        const out = await execute(orderMakeBeforeBreak(steps), async (s) => {
          if (s.id === failing) throw new Error('denied');
          return true;
        });
        // no removal ran: every one of them waited for the failed step
        expect(out.done.filter((d) => rankOf(d.step) === 3).map((d) => d.step.id)).toEqual([]);
      }),
      { numRuns: 300 },
    );
  });

  it('never makes a cycle, even for a plan whose makes wait on removals (property)', async () => {
    await fc.assert(
      fc.asyncProperty(anyPlans, async (steps) => {
        const out = await execute(orderMakeBeforeBreak(steps), async () => true);
        expect(out.done).toHaveLength(steps.length);
      }),
      { numRuns: 300 },
    );
  });

  it('orders a move from IRSA to Pod Identity with its bucket statement swapped: make and associate, swap, remove', () => {
    const plan = orderMakeBeforeBreak([
      step('new-role', 'create-role', []),
      step('new-policy', 'put-role-policy', ['new-role']),
      step('association', 'create-pod-identity-association', ['new-role']),
      step('swap', 'put-bucket-policy-statements', [], true),
      step('old-policy', 'delete-role-policy', []),
      step('old-role', 'delete-role', ['old-policy']),
      step('tag', 'tag-role', []),
    ]);
    const after = Object.fromEntries(plan.map((s) => [s.id, [...s.after].sort()]));
    expect(after).toEqual({
      'new-role': [],
      'new-policy': ['new-role'],
      // a new association waits only for the role it names: a first onboarding is no deeper than before
      association: ['new-role'],
      swap: ['association', 'new-policy', 'new-role'],
      'old-policy': ['association', 'new-policy', 'new-role', 'swap'],
      'old-role': ['association', 'new-policy', 'new-role', 'old-policy', 'swap'],
      tag: [],
    });
  });

  it('ranks KMS grants: a new grant with what makes access, the old one retired with the removals (a move to a new role)', () => {
    expect(rankOf(step('g', 'create-key-grant', []))).toBe(0);
    expect(rankOf(step('r', 'retire-key-grant', []))).toBe(3);
    const plan = orderMakeBeforeBreak([
      step('retire-old-grant', 'retire-key-grant', []),
      step('old-statement', 'remove-key-policy-statement', []),
      step('new-role', 'create-role', []),
      step('new-grant', 'create-key-grant', ['new-role']),
    ]);
    const after = Object.fromEntries(plan.map((s) => [s.id, [...s.after].sort()]));
    expect(after).toEqual({
      'retire-old-grant': ['new-grant', 'new-role'],
      'old-statement': ['new-grant', 'new-role'],
      'new-role': [],
      'new-grant': ['new-role'],
    });
  });
});
