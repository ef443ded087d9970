import type { Config } from '../config';
import type { ProvisionerSessions } from '../aws/session';
import * as iamApi from '../aws/iam';
import { NotAllowedError, PartiallyAppliedError, ServiceError } from '../errors';
import { checkGuardrails } from '../guardrails/check';
import type { Guardrails } from '../guardrails/schema';
import type { Store } from '../store/store';
import type { PolicyWriter } from './policy-writer';
import { tagValue } from './desired';
import type { IdentityRecord } from './records';
import { TAG_MANAGED_BY, type OnboardingInput, type WorkloadIdentity } from './model';

/** What the service's verbs share: configuration, AWS sessions, the store and how resource policies are written. */
export interface ServiceDeps {
  config: Config;
  sessions: ProvisionerSessions;
  store: Store;
  writer: PolicyWriter;
  /** who may onboard what; every verb is checked against it first */
  guardrails?: Guardrails;
}

export interface Caller {
  principal: string;
  jwt?: { sub?: string; groups?: string[] };
}

export interface HttpResult {
  statusCode: number;
  body: unknown;
}

/** Refuses (403, naming the rule) what the guardrails do not allow, before any AWS call. */
export function enforceGuardrails(deps: { guardrails?: Guardrails }, caller: Caller, input: OnboardingInput): void {
  if (!deps.guardrails) return;
  checkGuardrails(deps.guardrails, { principalArn: caller.principal, jwt: caller.jwt }, input);
}

export function checkTargetAccounts(config: Config, accounts: string[]): void {
  for (const a of new Set(accounts)) {
    if (config.targetAccounts.length && !config.targetAccounts.includes(a))
      throw new NotAllowedError(`account ${a} is not managed by this service`, 'target-accounts');
  }
}

export const identityLock = (key: string): string => `identity#${key}`;
export const providerLock = (arn: string): string => `provider#${arn}`;

export function identityOfRecord(r: IdentityRecord): WorkloadIdentity {
  return {
    key: r.key,
    kind: r.kind,
    roleAccount: r.roleAccount,
    roleName: r.roleName,
    roleArn: r.roleArn,
    clusters: r.clusters,
    namespace: r.namespace,
    serviceAccounts: r.serviceAccounts,
    instanceRoleArn: r.instanceRoleArn,
    bindings: r.bindings,
  };
}

/**
 * The providers a removed identity leaves behind that may go too: created by the service (tagged), trusted by no
 * other identity it manages, and by no other role of the account (a team's own role may trust it). Callers hold
 * the providers' locks, so two removals never both keep a provider the other still counted.
 */
export async function removableProviders(deps: ServiceDeps, identity: IdentityRecord): Promise<string[]> {
  const iam = deps.sessions.iam(identity.roleAccount);
  const out = await Promise.all(
    identity.providers.map(async (p) => {
      if ((await deps.store.providerUsers(p.arn, identity.key)).length) return undefined;
      const tags = await iamApi.oidcProviderTags(iam, p.arn);
      if (!tags || tagValue(tags, TAG_MANAGED_BY) !== deps.config.managedByTag) return undefined;
      const trusting = await iamApi.rolesTrusting(iam, p.arn);
      return trusting.some((name) => name !== identity.roleName) ? undefined : p.arn;
    }),
  );
  return out.filter((x): x is string => !!x);
}

/** After the last grant left an identity: forget it, its bindings and its share of the providers. */
export async function forgetIdentity(deps: ServiceDeps, record: IdentityRecord): Promise<void> {
  const { store } = deps;
  await Promise.all([
    store.deleteIdentity(record),
    ...record.bindings.map((b) => store.releaseBinding(b, record.key)),
    ...record.providers.map((p) => store.removeProviderUser(p.arn, record.key)),
  ]);
}

/** What a record or a 503 may tell the caller about a failure: our own words, never AWS's or a stack. */
export function callerSafe(e: unknown): string {
  if (e instanceof ServiceError) return e.expose || e.status === 503 ? e.message : `${e.name}: an internal error`;
  return 'an internal error';
}

/**
 * Record-keeping after AWS was written: a refusal here (a concurrent request changed the record meanwhile) must
 * not become a 4xx, which would promise that nothing was written. It is a 503 that says to retry.
 */
export async function recordAfterWrites<T>(id: string, work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (e) {
    if (e instanceof ServiceError && e.status < 500) {
      throw new PartiallyAppliedError(
        `onboarding ${id} was changed in AWS, but recording it failed (${e.message}); retry the same request to bring its record up to date`,
      );
    }
    throw e;
  }
}

/** How the executor deletes an OIDC provider other identities may adopt at the same time. */
export interface ProviderDeletion {
  /** right before: take the removed identities off the provider and claim its deletion; false: something uses it */
  claim(arn: string): Promise<boolean>;
  /** right after, deleted or not */
  release(arn: string, deleted: boolean): Promise<void>;
}

export function providerDeletion(deps: ServiceDeps, removedIdentities: string[]): ProviderDeletion {
  return {
    claim: async (arn) => {
      await Promise.all(removedIdentities.map((k) => deps.store.removeProviderUser(arn, k)));
      return deps.store.markProviderDeleting(arn);
    },
    release: (arn, deleted) => (deleted ? deps.store.forgetProvider(arn) : deps.store.unmarkProviderDeleting(arn)),
  };
}
