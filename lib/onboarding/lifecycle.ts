import { NotFoundError, ServiceError, TransientError } from '../errors';
import { hashBody, type Store, type OnboardingRecord, type Owned } from '../store/store';
import { queuedBucketPolicyWriter } from './bucket-policy-writer';
import { checkGuardrails } from '../guardrails/check';
import type { Guardrails } from '../guardrails/schema';
import { applySteps, planOnboarding, resultOf, type EngineDeps, type Planned } from './engine';
import { setKeyStatements } from './key-policy';
import { grantPolicyName, onboardingId, type OnboardingInput, type OnboardingResult } from './model';
import { accountOfArn, nameOfArn } from '../arn';

export interface ServiceDeps extends EngineDeps {
  store: Store;
  /** who may onboard what; every onboarding and offboarding is checked against it first */
  guardrails?: Guardrails;
}

export interface Caller {
  principal: string;
  jwt?: { sub?: string; groups?: string[] };
}

/** Refuses (403, naming the rule) what the guardrails do not allow, before any AWS call. */
export function enforceGuardrails(deps: ServiceDeps, caller: Caller, input: OnboardingInput): void {
  if (!deps.guardrails) return;
  checkGuardrails(deps.guardrails, { principalArn: caller.principal, jwt: caller.jwt }, input);
}

export interface HttpResult {
  statusCode: number;
  body: unknown;
}

export const withStoreLocks = (deps: { store: Store } & EngineDeps): ServiceDeps => ({
  ...deps,
  withLock: (name, fn) => deps.store.withLock(name, fn),
  bucketPolicyWriter: queuedBucketPolicyWriter(deps.store),
});

function clusterKeys(input: OnboardingInput): string[] {
  if (input.workload.type !== 'eks') return [];
  return input.workload.clusters.flatMap((c) => [c.name, `${c.accountId}/${c.region}/${c.name}`]);
}

/** What this plan will own once applied, added to what earlier attempts recorded. */
function ownedAfter(p: Planned, previous?: Owned): Owned {
  const r = p.resolved;
  const w = r.input.workload;
  const providers = new Map((previous?.oidcProviders ?? []).map((x) => [x.arn, x]));
  for (const s of p.steps) if (s.action === 'create-oidc-provider') providers.set(s.resource, { accountId: s.accountId, arn: s.resource });
  const keyArn = r.input.bucket.kmsKeyArn;
  return {
    role: { accountId: r.roleAccount, name: r.roleName, arn: r.roleArn },
    oidcProviders: [...providers.values()],
    bucketStatements: r.mode === 'bucket-policy' ? { accountId: r.bucketAccount, bucket: r.input.bucket.name, region: r.input.bucket.region } : previous?.bucketStatements,
    // until a stale grant is removed, the record keeps it, so a failed apply still lets DELETE find it
    keyStatements: p.desired.keyStatements.length && keyArn ? { accountId: accountOfArn(keyArn), keyArn } : previous?.keyStatements,
    instanceGrant: w.type === 'ec2' ? { accountId: r.workloadAccount, roleName: nameOfArn(w.instanceRoleArn), policyName: grantPolicyName(r.id) } : previous?.instanceGrant,
  };
}

export function recordBody(rec: OnboardingRecord): unknown {
  return {
    ...(rec.result ?? { id: rec.id, roleArn: rec.owned.role?.arn, roles: [], changes: [], policies: {}, snippets: {} }),
    id: rec.id,
    status: rec.status,
    createdAt: rec.createdAt,
    updatedAt: rec.updatedAt,
    requestedBy: rec.requestedBy,
    ...(rec.lastError ? { lastError: rec.lastError } : {}),
    ...(rec.status !== 'provisioned' ? { stepsPlanned: rec.stepsPlanned, stepsDone: rec.stepsDone } : {}),
  };
}

/**
 * POST: the guardrails (403 before any AWS call); plan; a dry run returns the plan; otherwise record what will be owned and which steps are planned, apply
 * step by step (recording each), and record the outcome. A failed apply leaves a record a retry or DELETE can use.
 */
export async function provision(deps: ServiceDeps, input: OnboardingInput, caller: Caller): Promise<HttpResult> {
  enforceGuardrails(deps, caller, input);
  if (input.dryRun) return { statusCode: 200, body: resultOf(await planOnboarding(deps, input), 'planned') };
  const id = onboardingId(input);
  // one request per onboarding at a time: the plan is made under the lock, so it sees what the last one did
  return deps.store.withLock(`onboarding#${id}`, async () => {
    const p = await planOnboarding(deps, input);
    const existing = await deps.store.getRecord(id);
    // a key grant this onboarding no longer needs (the key changed or was dropped) is removed, not left behind
    const staleKey = existing?.owned.keyStatements;
    if (staleKey && staleKey.keyArn !== (p.desired.keyStatements.length ? input.bucket.kmsKeyArn : undefined)) {
      p.steps.push({ key: 'stale-key-policy', after: [], action: 'remove-key-policy-statement', accountId: staleKey.accountId, resource: staleKey.keyArn, run: () => setKeyStatements(deps.sessions, deps.withLock, staleKey.keyArn, id, []) });
    }
    const result: OnboardingResult = resultOf(p, 'provisioned');
    if (p.steps.length === 0 && existing?.status === 'provisioned') {
      const rec = await deps.store.saveRecord({ ...existing, request: input, result, requestedBy: caller.principal, tags: input.tags ?? {} }, existing.version);
      return { statusCode: 200, body: recordBody(rec) };
    }
    const now = new Date().toISOString();
    let rec = await deps.store.saveRecord(
      {
        id,
        version: existing?.version ?? 0,
        status: 'provisioning',
        request: input,
        result,
        owned: ownedAfter(p, existing?.owned),
        stepsPlanned: p.steps.map((s) => s.action),
        stepsDone: [],
        createdAt: existing && existing.status !== 'deleted' ? existing.createdAt : now,
        updatedAt: now,
        requestedBy: caller.principal,
        tags: input.tags ?? {},
        clusterKeys: clusterKeys(input),
        bucketName: input.bucket.name,
      },
      existing?.version ?? 0,
    );
    // record progress in order; each save is conditional on the version before it
    let progress: Promise<unknown> = Promise.resolve();
    const done: string[] = [];
    try {
      await applySteps(p.steps, (s) => {
        done.push(s.action);
        progress = progress.then(async () => {
          rec = await deps.store.saveRecord({ ...rec, stepsDone: [...done] }, rec.version);
        });
      });
      await progress;
    } catch (e) {
      await progress.catch(() => undefined);
      await deps.store.saveRecord({ ...rec, status: 'failed', stepsDone: [...done], lastError: (e as Error).message }, rec.version);
      // a 4xx promises that nothing was written: once a step has, say so, as a retryable 503
      if (done.length && (!(e instanceof ServiceError) || e.status < 500)) {
        throw new TransientError(`the onboarding was partially applied (${done.length} of ${p.steps.length} steps: ${done.join(', ')}) before it failed: ${(e as Error).message}. Retry the same request to finish it, or DELETE it.`);
      }
      throw e;
    }
    const owned = p.desired.keyStatements.length ? rec.owned : { ...rec.owned, keyStatements: undefined };
    rec = await deps.store.saveRecord({ ...rec, owned, status: 'provisioned', lastError: undefined }, rec.version);
    return { statusCode: p.steps.length ? 201 : 200, body: recordBody(rec) };
  });
}

export async function getOnboarding(deps: ServiceDeps, id: string): Promise<OnboardingRecord> {
  const rec = await deps.store.getRecord(id);
  if (!rec || rec.status === 'deleted') throw new NotFoundError(`no onboarding ${id}`);
  return rec;
}

/**
 * Runs `fn` once per Idempotency-Key and body: a retry gets the first response; another body is a 409. The scope
 * names the route and the caller, so one caller's key never answers for another.
 */
export async function idempotent(store: Store, scope: string, key: string | undefined, body: unknown, fn: () => Promise<HttpResult>): Promise<HttpResult> {
  if (!key) return fn();
  const stored = await store.claimIdempotencyKey(scope, key, hashBody(body));
  if (stored) return stored;
  try {
    const out = await fn();
    await store.completeIdempotencyKey(scope, key, out);
    return out;
  } catch (e) {
    await store.releaseIdempotencyKey(scope, key);
    throw e;
  }
}

