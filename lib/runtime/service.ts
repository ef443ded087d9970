import { ProvisionerSessions } from '../aws/session';
import { QuotaReader, serviceQuotaSource } from '../aws/quotas';
import type { ServiceDeps } from '../onboarding/model/deps';
import { queuedPolicyWriter } from '../onboarding/act/policy-writer';
import { baseRuntime, type BaseRuntime } from './base';
import { instrumentClient } from '../metrics';

/** The write routes' runtime: the base plus the provisioner sessions and the grouped resource-policy writer. */
let current: { base: BaseRuntime; deps: ServiceDeps } | undefined;

function withSessions(base: BaseRuntime): ServiceDeps {
  const sessions = new ProvisionerSessions(base.config, undefined, undefined, (c, account) =>
    instrumentClient(c, account),
  );
  return {
    ...base,
    sessions,
    writer: queuedPolicyWriter(base.store, { leaseMs: base.config.policyLeaseMs }),
    quotas: new QuotaReader(sessions, base.config, serviceQuotaSource(sessions)),
  };
}

export function serviceRuntime(): ServiceDeps {
  const base = baseRuntime();
  if (current?.base !== base) {
    current = {
      base,
      deps: withSessions(base),
    };
  }
  return current.deps;
}
