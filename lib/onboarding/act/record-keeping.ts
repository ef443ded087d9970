import { PartiallyAppliedError, ServiceError } from '../../errors';
import type { ServiceDeps } from '../model/deps';
import type { IdentityRecord } from '../model/records';

/** The names of the store's locks, and the record-keeping every writing verb shares. */

export const identityLock = (key: string): string => `identity#${key}`;
export const providerLock = (arn: string): string => `provider#${arn}`;

/** After the last grant left an identity: forget it, its bindings and its share of the providers. */
export async function forgetIdentity(deps: ServiceDeps, record: IdentityRecord): Promise<void> {
  const { store } = deps;
  await Promise.all([
    store.identities.delete(record),
    ...record.bindings.map((b) => store.identities.releaseBinding(b, record.key)),
    ...record.providers.map((p) => store.providers.removeUser(p.arn, record.key)),
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
      await Promise.all(removedIdentities.map((k) => deps.store.providers.removeUser(arn, k)));
      return deps.store.providers.markDeleting(arn);
    },
    release: (arn, deleted) => (deleted ? deps.store.providers.forget(arn) : deps.store.providers.unmarkDeleting(arn)),
  };
}
