import type { Config } from '../../config';
import { NotAllowedError } from '../../errors';
import { checkGuardrails } from '../../guardrails/check';
import type { Guardrails } from '../../guardrails/schema';
import type { OnboardingInput } from '../model/onboarding';
import type { Caller } from '../model/deps';

/** The request's own bounds, checked before anything is read: the caller's guardrails, the managed accounts. */

/** Refuses (403, naming the rule) what the guardrails do not allow, before any AWS call. */
export function enforceGuardrails(deps: { guardrails?: Guardrails }, caller: Caller, input: OnboardingInput): void {
  if (!deps.guardrails) return;
  checkGuardrails(deps.guardrails, caller, input);
}

export function checkTargetAccounts(config: Config, accounts: string[]): void {
  for (const a of new Set(accounts)) {
    if (config.targetAccounts.length && !config.targetAccounts.includes(a))
      throw new NotAllowedError(`account ${a} is not managed by this service`, 'target-accounts');
  }
}
