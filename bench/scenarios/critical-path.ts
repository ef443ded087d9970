import { FLOWS, REPEAT_MIN_DEPTH, type Flow } from '../flows';
import { chainDepth, serviceCalls } from '../lib/calls';
import { onboard, spawnStack, type BenchStack } from '../lib/stack';

export interface FlowRun {
  status: number;
  wallMs: number;
  calls: number;
  writes: number;
  depth: number;
  chain: string[];
}

export interface FlowResult {
  flow: string;
  crossAccount: boolean;
  minDepth: number;
  minPath: string;
  repeatMinDepth: number;
  /** whether the propagation runs count against the propagation budget */
  propagationBudget: boolean;
  /** the first onboarding a fresh API process serves: its provisioner credentials are not cached yet */
  cold: FlowRun;
  first: FlowRun[];
  repeat: FlowRun[];
  propagation: FlowRun[];
  errors: string[];
}

export interface CriticalPathOptions {
  runs: number;
  /** unmeasured (first onboarding, repeat) pairs before the measured runs: the process's JIT warm-up */
  warmUps: number;
  propagationRuns: number;
  perCallMs: number;
  propagationMs: number;
}

async function measure(
  stack: BenchStack,
  body: unknown,
  expected: number,
  errors: string[],
  what: string,
): Promise<FlowRun> {
  const res = await onboard(stack, body);
  const calls = serviceCalls(await stack.admin.calls());
  if (res.status !== expected)
    errors.push(`${what}: HTTP ${res.status} (expected ${expected}): ${JSON.stringify(res.body).slice(0, 300)}`);
  const { depth, chain } = chainDepth(calls);
  return {
    status: res.status,
    wallMs: res.ms,
    calls: calls.length,
    writes: calls.filter((c) => c.write).length,
    depth,
    chain,
  };
}

/** A clean world with the given latency and propagation window, and an empty call log. */
async function fresh(stack: BenchStack, perCallMs: number, propagationMs = 0): Promise<void> {
  await stack.admin.reset();
  await stack.admin.latency(perCallMs);
  if (propagationMs) await stack.admin.propagation(propagationMs);
  await stack.admin.clearCalls();
}

async function runFlow(flow: Flow, i: number, o: CriticalPathOptions, log: (s: string) => void): Promise<FlowResult> {
  const stack = await spawnStack(`stack-flow-${i}`);
  const errors: string[] = [];
  try {
    // load the handler module (an invalid body is refused before any AWS call), so the cold run measures credentials, not tsx
    await onboard(stack, {});

    await fresh(stack, o.perCallMs);
    const cold = await measure(stack, flow.request('cold'), 201, errors, 'cold first onboarding');

    // a warm container has served requests before: the first few a fresh process serves also pay its JIT warm-up
    for (let r = 0; r < o.warmUps; r++) {
      await fresh(stack, o.perCallMs);
      const body = flow.request(`warm-up-${r}`);
      await measure(stack, body, 201, errors, `warm-up #${r}`);
      await measure(stack, body, 200, errors, `warm-up repeat #${r}`);
    }

    const first: FlowRun[] = [];
    const repeat: FlowRun[] = [];
    for (let r = 0; r < o.runs; r++) {
      await fresh(stack, o.perCallMs);
      const body = flow.request(`run-${r}`);
      first.push(await measure(stack, body, 201, errors, `first onboarding #${r}`));
      await stack.admin.clearCalls();
      repeat.push(await measure(stack, body, 200, errors, `repeat #${r}`));
    }

    const propagation: FlowRun[] = [];
    for (let r = 0; r < (flow.propagation?.runs ?? o.propagationRuns); r++) {
      await fresh(stack, o.perCallMs, o.propagationMs);
      propagation.push(
        await measure(
          stack,
          flow.request(`propagation-${r}`),
          201,
          errors,
          `first onboarding, ${o.propagationMs} ms propagation, #${r}`,
        ),
      );
    }
    log(`  ${flow.name}: done`);
    return {
      flow: flow.name,
      crossAccount: flow.crossAccount,
      minDepth: flow.minDepth,
      minPath: flow.minPath,
      repeatMinDepth: flow.repeatMinDepth ?? REPEAT_MIN_DEPTH,
      propagationBudget: flow.propagation?.budget ?? true,
      cold,
      first,
      repeat,
      propagation,
      errors,
    };
  } finally {
    await stack.close();
  }
}

/** Every flow, each in a fresh stack (so the first request of each finds the credential cache empty). */
export async function criticalPath(o: CriticalPathOptions, log: (s: string) => void): Promise<FlowResult[]> {
  const out: FlowResult[] = [];
  for (const [i, flow] of FLOWS.entries()) out.push(await runFlow(flow, i, o, log));
  return out;
}
