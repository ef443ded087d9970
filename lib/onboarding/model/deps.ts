import type { Config } from '../../config';
import type { ProvisionerSessions } from '../../aws/session';
import type { QuotaReader } from '../../aws/quotas';
import type { Caller as AnyCaller } from '../../guardrails/check';
import type { Guardrails } from '../../guardrails/schema';
import type { Store } from '../../store/store';
import type { PolicyWriter } from '../act/policy-writer';

/** What the service's verbs share: configuration, AWS sessions, the store and how resource policies are written. */
export interface ServiceDeps {
  config: Config;
  sessions: ProvisionerSessions;
  store: Store;
  writer: PolicyWriter;
  /** reads the AWS quotas a plan adds to (the runtime always gives one; without it no quota is checked) */
  quotas?: QuotaReader;
  /** who may onboard what; every verb is checked against it first */
  guardrails?: Guardrails;
}

/** Who asks: the guardrails' caller (lib/guardrails/check.ts), always with the IAM principal that signed the request. */
export interface Caller extends AnyCaller {
  principal: string;
}

export interface HttpResult {
  statusCode: number;
  body: unknown;
}
