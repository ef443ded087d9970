import { ContentionError } from '../../errors';
import { canonicalJson } from '../../json';
import { type Caller, type HttpResult, type ServiceDeps } from '../model/deps';
import { resolveRequest, type Resolved } from '../model/desired';
import { type OnboardingInput } from '../model/onboarding';
import { changeOf } from '../model/steps';
import { checkTargetAccounts, enforceGuardrails } from '../request/checks';
import { readContext, readStore, type ProvisionContext } from '../gather/provision';
import { planProvision, resultOf, type ProvisionPlan } from '../plan/provision';
import { admitted, likelyWrites, type Admitted } from '../act/admission';
import { stepRunner, targetKey } from '../act/apply';
import { beforeDeadline, fenced, type StepRunner } from '../act/execute';
import { registerProviders, rollback, writeIntent } from '../act/intent';
import { recordFailure, recordProvisioned, recordUnchanged } from '../act/journal';
import { providerDeletion } from '../act/record-keeping';
import { runRecorded } from '../act/run';

/**
 * POST: a grant on a workload identity, created or converged. The request → its resolved model → the locks and
 * reads (gather) → one plan (every foreseeable refusal here, before any write) → the intent recorded → one
 * executor with its journal → the outcome recorded. A dry run stops after the plan.
 */

export interface RequestOptions {
  /** when the function will be stopped (ms since the epoch); no step starts that it cannot cover */
  deadline?: number;
}

export async function provision(
  deps: ServiceDeps,
  input: OnboardingInput,
  caller: Caller,
  opts: RequestOptions = {},
): Promise<HttpResult> {
  enforceGuardrails(deps, caller, input);
  const r = resolveRequest(deps.config, input);
  checkTargetAccounts(deps.config, [
    r.identity.roleAccount,
    r.grant.bucketAccount,
    ...r.identity.clusters.map((c) => c.accountId),
  ]);
  if (input.dryRun) {
    const plan = planProvision(deps, r, await readContext(deps, r));
    return { statusCode: 200, body: resultOf(r, plan, plan.steps.map(changeOf), 'planned') };
  }
  return admitted(deps, r, (a) => provisionAdmitted(deps, r, caller, a, opts.deadline));
}

/** POST under the locks of the identities involved. */
async function provisionAdmitted(
  deps: ServiceDeps,
  r: Resolved,
  caller: Caller,
  { hint, locked, observed, reservations, locks }: Admitted,
  deadline?: number,
): Promise<HttpResult> {
  const input = r.input;
  // the store, AWS and (when this request will likely write) the intent, side by side: record-keeping stays off
  // the critical path of AWS calls
  const storeP = readStore(deps, r);
  const contextP = readContext(deps, r, { hint, observed, store: storeP });
  const earlyIntent = storeP.then((st) =>
    likelyWrites(st.record, input) ? writeIntent(deps, r, st, input, caller) : undefined,
  );
  let ctx: ProvisionContext;
  let plan: ProvisionPlan;
  try {
    ctx = await contextP;
    for (const k of [ctx.record?.identityKey, ctx.record?.movingFrom]) {
      if (k && !locked.includes(k))
        throw new ContentionError(`onboarding ${r.id} was changed by another request; retry`);
    }
    plan = planProvision(deps, r, ctx);
    // a reserved policy the plan does not write is let go now, not held through the other steps
    reservations.keepOnly(plan.steps.flatMap((s) => ('target' in s.params ? [targetKey(s.params.target)] : [])));
  } catch (e) {
    // refused (or unreadable) before any write: take back what was recorded meanwhile
    const early = await earlyIntent.catch(() => undefined);
    if (early) await rollback(deps, r, early);
    throw e;
  }
  // the answer (with its snippets) is rendered before any write: it cannot fail after one
  const result = resultOf(r, plan, [], 'provisioned');
  const listed = ctx.identityRecord?.grants.find((g) => g.id === r.id);
  if (
    !plan.steps.length &&
    ctx.record?.status === 'provisioned' &&
    !ctx.moving &&
    listed &&
    canonicalJson(listed.tags) === canonicalJson(r.grant.tags)
  )
    return recordUnchanged(deps, r, ctx, plan, await earlyIntent, { input, caller, result });

  const intent = (await earlyIntent) ?? (await writeIntent(deps, r, await storeP, input, caller));
  // the identity registers on the OIDC providers its trust names while the first steps run (a DynamoDB write off
  // the AWS calls' critical path, a turn of the event loop after they are on their way); a provider another
  // request is deleting stops the plan: nothing new starts, and the answer is a 503
  let registration: { failed: boolean; error?: unknown } = { failed: false };
  // the alias AWS gives an access point this request creates: the answer's snippets name it
  let createdAlias: string | undefined;
  const registering = new Promise<void>((resolve) => setImmediate(resolve))
    .then(() => registerProviders(deps, r, intent, plan))
    .catch((error: unknown) => {
      registration = { failed: true, error };
    });
  // every step of this request, the undo's too: only while it holds its locks, and only with time to finish it
  const guarded = (run: StepRunner) =>
    beforeDeadline(
      fenced(run, () => locks.fence()),
      deadline,
      deps.config.stepBudgetMs,
    );
  const runStep = guarded(
    stepRunner({
      sessions: deps.sessions,
      createdAccessPoint: (_arn, alias) => (createdAlias = alias),
      writer: reservations.writer(deps.writer),
      providers: ctx.moving ? providerDeletion(deps, [ctx.moving.identity.key]) : undefined,
    }),
  );
  const ran = await runRecorded(deps.store, intent.record, plan.steps, (step) =>
    registration.failed ? Promise.reject(registration.error) : runStep(step),
  );
  await registering;
  const failures = [...ran.exec.failed.map((f) => f.error), ...(registration.failed ? [registration.error] : [])];
  if (failures.length) {
    // leases reserved for statements no step got to write go now: taking a statement back must not wait on them
    await reservations.settle();
    return recordFailure(deps, r, ctx, plan, intent, ran, failures[0], guarded);
  }
  // an access point made now: the snippets name its alias (the same files, rendered with it)
  const answer = createdAlias ? resultOf(r, plan, [], 'provisioned', createdAlias) : result;
  return recordProvisioned(deps, r, ctx, plan, ran, { input, caller, result: answer, locks });
}
