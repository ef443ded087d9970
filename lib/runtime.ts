import { Logger } from '@aws-lambda-powertools/logger';
import { loadConfig, type Config } from './config';
import { ProvisionerSessions } from './aws/session';

/** What handlers share across invocations of one Lambda container: built once, on first use. */
export interface Runtime {
  config: Config;
  sessions: ProvisionerSessions;
}

export const logger = new Logger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 's3-onboarding' });

let current: Runtime | undefined;

export function runtime(): Runtime {
  if (!current) {
    const config = loadConfig();
    current = { config, sessions: new ProvisionerSessions(config) };
  }
  return current;
}

/** For tests and the local stack: forget the cached runtime so the next call reads the environment again. */
export function resetRuntime(): void {
  current = undefined;
}
