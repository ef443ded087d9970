import * as kmsApi from '../aws/kms';
import type { ProvisionerSessions } from '../aws/session';
import { accountOfArn, regionOfArn } from '../arn';
import { mergeStatements, ownStatements, sameJson } from '../policy/documents';
import type { Statement } from '../policy/types';

type WithLock = <T>(name: string, fn: () => Promise<T>) => Promise<T>;
const direct: WithLock = (_name, fn) => fn();

/**
 * Sets one onboarding's statements in a key policy (an empty list removes them): read, merge, write under the
 * key's lock, every other statement kept as it was. True when it wrote.
 */
export function setKeyStatements(sessions: ProvisionerSessions, withLock: WithLock = direct, keyArn: string, id: string, statements: Statement[]): Promise<boolean> {
  const kms = sessions.kms(accountOfArn(keyArn), regionOfArn(keyArn));
  return withLock(`key-policy#${keyArn}`, async () => {
    const current = await kmsApi.getKeyPolicy(kms, keyArn);
    if (sameJson(ownStatements(current, id), statements)) return false;
    // a key policy is never left empty: the account's own statements always remain
    await kmsApi.putKeyPolicy(kms, keyArn, mergeStatements(current, id, statements));
    return true;
  });
}
