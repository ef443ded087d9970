import { Logger } from '@aws-lambda-powertools/logger';
import { loadConfig, type Config } from './config';
import { ProvisionerSessions } from './aws/session';
import { Store } from './store/store';
import { withStoreLocks, type ServiceDeps } from './onboarding/lifecycle';

/** What handlers share across invocations of one Lambda container: built once, on first use. */
export type Runtime = ServiceDeps & { config: Config };

export const logger = new Logger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 's3-onboarding' });

let current: Runtime | undefined;

export function runtime(): Runtime {
  if (!current) {
    const config = loadConfig();
    const store = new Store(process.env.TABLE_NAME || 's3-onboarding');
    current = withStoreLocks({ config, sessions: new ProvisionerSessions(config), store });
  }
  return current;
}

/** For tests and the local stack: forget the cached runtime so the next call reads the environment again. */
export function resetRuntime(): void {
  current = undefined;
  logger.setLogLevel((process.env.POWERTOOLS_LOG_LEVEL as 'INFO' | undefined) ?? 'INFO');
}
