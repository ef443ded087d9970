import { Logger } from '@aws-lambda-powertools/logger';
import { loadConfig, type Config } from './config';
import { ProvisionerSessions } from './aws/session';
import { Store } from './store/store';
import { withStoreLocks, type ServiceDeps } from './onboarding/lifecycle';
import path from 'node:path';
import { loadGuardrails } from './guardrails/load';
import type { Guardrails } from './guardrails/schema';

/** What handlers share across invocations of one Lambda container: built once, on first use. */
export type Runtime = ServiceDeps & { config: Config };

let localGuardrails: Guardrails | undefined;

/** The local stack's stand-in when no GUARDRAILS file is given (contract section 1); never used in AWS. */
export function setLocalGuardrails(g: Guardrails | undefined): void {
  localGuardrails = g;
  current = undefined;
}

/** GUARDRAILS names the file (validated at cold start); without one, nothing may be onboarded (fail closed). */
function guardrails(): Guardrails {
  const file = process.env.GUARDRAILS;
  if (file) return loadGuardrails(path.isAbsolute(file) ? file : path.resolve(process.env.LAMBDA_TASK_ROOT ?? process.cwd(), file));
  return localGuardrails ?? { version: 1, accounts: {}, kmsKeys: [], rules: [] } as unknown as Guardrails;
}

export const logger = new Logger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 's3-onboarding' });

let current: Runtime | undefined;

export function runtime(): Runtime {
  if (!current) {
    const config = loadConfig();
    const store = new Store(process.env.TABLE_NAME || 's3-onboarding');
    const g = guardrails();
    // external ids from the guardrails file complete those from the environment
    for (const [account, settings] of Object.entries(g.accounts ?? {})) {
      const externalId = (settings as { externalId?: string } | null)?.externalId;
      if (externalId) config.externalIds[account] ??= externalId;
    }
    current = { ...withStoreLocks({ config, sessions: new ProvisionerSessions(config), store }), guardrails: g };
  }
  return current;
}

/** For tests and the local stack: forget the cached runtime so the next call reads the environment again. */
export function resetRuntime(): void {
  current = undefined;
  logger.setLogLevel((process.env.POWERTOOLS_LOG_LEVEL as 'INFO' | undefined) ?? 'INFO');
}
