import { execute } from '../../../lib/onboarding/act/execute';
import type { Step } from '../../../lib/onboarding/model/steps';

const step = (id: string, after: string[] = []): Step =>
  ({
    id,
    action: 'tag-role',
    accountId: '1',
    resource: id,
    params: { role: id, tags: [] },
    after,
    scope: { kind: 'identity', key: 'k' },
  }) as Step;

/** A runner whose steps finish when the test says so. */
function controlled() {
  const log: string[] = [];
  const gates = new Map<string, { resolve: (wrote: boolean) => void; reject: (e: Error) => void }>();
  const run = (s: Step) =>
    new Promise<boolean>((resolve, reject) => {
      log.push(`start ${s.id}`);
      gates.set(s.id, { resolve, reject });
    });
  const tick = () => new Promise((r) => setImmediate(r));
  return { log, gates, run, tick };
}

describe('Function: execute', () => {
  it('runs independent steps at once and a step only after everything it waits for', async () => {
    const c = controlled();
    const done = execute([step('policy', ['role']), step('role', ['oidc']), step('oidc'), step('bucket')], c.run);
    await c.tick();
    expect(c.log).toEqual(['start oidc', 'start bucket']);
    c.gates.get('oidc')!.resolve(true);
    await c.tick();
    expect(c.log).toEqual(['start oidc', 'start bucket', 'start role']);
    c.gates.get('role')!.resolve(true);
    c.gates.get('bucket')!.resolve(false);
    await c.tick();
    c.gates.get('policy')!.resolve(true);
    const out = await done;
    expect(out.done.map((d) => [d.step.id, d.wrote])).toEqual([
      ['oidc', true],
      ['role', true],
      ['bucket', false],
      ['policy', true],
    ]);
    expect(out.failed).toEqual([]);
  });

  it('after a failure starts nothing new, skips what waited on it, and answers only once every running step settled', async () => {
    const c = controlled();
    let settled = false;
    const done = execute([step('a'), step('b'), step('c', ['a']), step('d', ['b'])], c.run).then((x) => {
      settled = true;
      return x;
    });
    await c.tick();
    c.gates.get('a')!.reject(new Error('a failed'));
    await c.tick();
    // b is still running: no answer yet, and d (waiting on b) will not start
    expect(settled).toBe(false);
    c.gates.get('b')!.resolve(true);
    const out = await done;
    expect(c.log).toEqual(['start a', 'start b']);
    expect(out.failed.map((f) => [f.step.id, (f.error as Error).message])).toEqual([['a', 'a failed']]);
    expect(out.done.map((d) => d.step.id)).toEqual(['b']);
    expect(out.skipped.map((s) => s.id).sort()).toEqual(['c', 'd']);
  });

  it('an empty plan is done at once; a runner that throws synchronously is a failed step', async () => {
    expect(await execute([], async () => true)).toEqual({ done: [], failed: [], skipped: [] });
    const out = await execute([step('x')], () => {
      throw new Error('boom');
    });
    expect(out.failed.map((f) => f.step.id)).toEqual(['x']);
  });
});
