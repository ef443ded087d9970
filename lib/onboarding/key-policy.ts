import * as kmsApi from '../aws/kms';
import { ownStatements, removeStatements } from '../policy/documents';
import type { Store } from '../store/store';
import type { ProvisionerSessions } from '../aws/session';

/** Removes an onboarding's statement from a key policy (under the key's lock). True when it wrote. */
export function removeKeyStatement(deps: { store: Store; sessions: ProvisionerSessions }, id: string, k: { accountId: string; keyArn: string }): Promise<boolean> {
  return deps.store.withLock(`key-policy#${k.keyArn}`, async () => {
    const kms = deps.sessions.kms(k.accountId, k.keyArn.split(':')[3]);
    const current = await kmsApi.getKeyPolicy(kms, k.keyArn);
    if (ownStatements(current, id).length === 0) return false;
    // a key policy cannot be empty: the account's own statements always remain
    await kmsApi.putKeyPolicy(kms, k.keyArn, removeStatements(current, id) ?? current);
    return true;
  });
}

