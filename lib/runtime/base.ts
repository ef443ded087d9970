import path from 'node:path';
import { boundaryArn, loadConfig, type Config } from '../config';
import { Store } from '../store/store';
import { loadGuardrails } from '../guardrails/load';
import type { Guardrails } from '../guardrails/schema';
import { logger } from '../log';

/**
 * What every handler of a Lambda container shares, built once on first use: configuration, the store and the
 * guardrails. The read routes (GET, list) need nothing more; the write routes add the AWS sessions
 * (./service.ts), so that reading a record never loads the engine, the snippets or the policy builders.
 */
export interface BaseRuntime {
  config: Config;
  store: Store;
  guardrails: Guardrails;
}

let localGuardrails: Guardrails | undefined;
let current: BaseRuntime | undefined;

/** The local stack's stand-in when no GUARDRAILS file is given (contract section 1); never used in AWS. */
export function setLocalGuardrails(g: Guardrails | undefined): void {
  localGuardrails = g;
  current = undefined;
}

/** GUARDRAILS names the file (validated at cold start); without one, nothing may be onboarded (fail closed). */
function guardrails(): Guardrails {
  const file = process.env.GUARDRAILS;
  if (file)
    return loadGuardrails(
      path.isAbsolute(file) ? file : path.resolve(process.env.LAMBDA_TASK_ROOT ?? process.cwd(), file),
    );
  return localGuardrails ?? ({ version: 1, accounts: {}, rules: [] } as unknown as Guardrails);
}

export function baseRuntime(): BaseRuntime {
  if (!current) {
    const config = loadConfig();
    const g = guardrails();
    checkGuardrailsAgainstConfig(g, config, process.env.GUARDRAILS);
    // external ids from the guardrails file complete those from the environment
    for (const [account, settings] of Object.entries(g.accounts ?? {})) {
      const externalId = (settings as { externalId?: string } | null)?.externalId;
      if (externalId && !Object.hasOwn(config.externalIds, account)) config.externalIds[account] = externalId;
    }
    current = {
      config,
      store: new Store(process.env.TABLE_NAME || 's3-onboarding', undefined, undefined, config.lockLeaseMs),
      guardrails: g,
    };
  }
  return current;
}

/**
 * The guardrails file may restate the role path, name prefix and boundary; they are fixed by the deployment
 * (serverless.yml and deploy/provisioner.yaml), so a file that says otherwise is a misconfiguration, refused loudly.
 */
export function checkGuardrailsAgainstConfig(g: Guardrails, config: Config, source?: string): void {
  const d = (g as { defaults?: { rolePath?: string; roleNamePrefix?: string } }).defaults;
  const problems: string[] = [];
  if (d?.rolePath && d.rolePath !== config.workloadRolePath)
    problems.push(`defaults.rolePath ${d.rolePath} is not the deployed ${config.workloadRolePath}`);
  if (d?.roleNamePrefix && d.roleNamePrefix !== config.roleNamePrefix)
    problems.push(`defaults.roleNamePrefix ${d.roleNamePrefix} is not the deployed ${config.roleNamePrefix}`);
  for (const [account, settings] of Object.entries(g.accounts ?? {})) {
    const wanted = (settings as { permissionsBoundaryArn?: string } | null)?.permissionsBoundaryArn;
    if (wanted && wanted !== boundaryArn(config, account))
      problems.push(
        `accounts.${account}.permissionsBoundaryArn ${wanted} is not the deployed ${boundaryArn(config, account) ?? '(none)'}`,
      );
  }
  if (problems.length)
    throw new Error(`guardrails${source ? ` file ${source}` : ''} do not match the deployment: ${problems.join('; ')}`);
}

/** For tests and the local stack: forget the cached runtime so the next call reads the environment again. */
export function resetRuntime(): void {
  current = undefined;
  logger.setLogLevel((process.env.POWERTOOLS_LOG_LEVEL as 'INFO' | undefined) ?? 'INFO');
}
