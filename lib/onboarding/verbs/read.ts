import { NotFoundError, ServiceError } from '../../errors';
import { checkGuardrails } from '../../guardrails/check';
import type { Guardrails } from '../../guardrails/schema';
import type { Store } from '../../store/store';
import type { ListQuery } from '../../store/records';
import type { Caller } from '../model/deps';
import type { OnboardingRecord } from '../model/records';

/**
 * The read routes, scoped by the guardrails like the writes: a record outside the caller's rules answers exactly
 * as an unknown id, and lists hold only records the caller's rules cover. Light on purpose: no AWS, no engine.
 */

export interface ReadDeps {
  store: Store;
  guardrails?: Guardrails;
}

/** True when the caller's rules cover the record's request (they could have made it). */
export function visibleTo(deps: ReadDeps, caller: Caller | undefined, rec: OnboardingRecord): boolean {
  if (!deps.guardrails || !caller) return true;
  try {
    checkGuardrails(deps.guardrails, caller, rec.request);
    return true;
  } catch (e) {
    if (e instanceof ServiceError && e.status === 403) return false;
    throw e;
  }
}

export async function getOnboarding(deps: ReadDeps, id: string, caller?: Caller): Promise<OnboardingRecord> {
  const rec = await deps.store.records.get(id);
  if (!rec || rec.status === 'deleted' || !visibleTo(deps, caller, rec)) throw new NotFoundError(`no onboarding ${id}`);
  return rec;
}

export function listOnboardings(
  deps: ReadDeps,
  caller: Caller | undefined,
  q: Omit<ListQuery, 'accept'> & { drift?: boolean },
) {
  const { drift, ...query } = q;
  // drift: the sweep's last finding (records not swept yet have none, and match neither value)
  return deps.store.records.list({
    ...query,
    accept: (r) =>
      visibleTo(deps, caller, r) && (drift === undefined || (r.drift !== undefined && r.drift.ok === !drift)),
  });
}
