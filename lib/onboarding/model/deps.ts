import type { Config } from '../../config';
import type { ProvisionerSessions } from '../../aws/session';
import type { Guardrails } from '../../guardrails/schema';
import type { Store } from '../../store/store';
import type { PolicyWriter } from '../act/policy-writer';

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
