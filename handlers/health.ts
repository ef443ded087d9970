import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { httpHandler, json } from '../lib/http/handler';
import { serviceRuntime } from '../lib/runtime/service';
import { errorName } from '../lib/aws/errors';

/**
 * GET /v1/health: proves the API can reach AWS as itself and assume the provisioner role in every target account.
 */
export const handler = httpHandler(async () => {
  const { config, sessions } = serviceRuntime();
  const platform = await sessions.sts.send(new GetCallerIdentityCommand({}));
  const accounts = await Promise.all(
    config.targetAccounts.map(async (accountId) => {
      try {
        const sts = new STSClient({ credentials: () => sessions.credentials(accountId) });
        const who = await sts.send(new GetCallerIdentityCommand({}));
        return { accountId, ok: true, arn: who.Arn };
      } catch (e) {
        return { accountId, ok: false, error: errorName(e) || (e as Error).message };
      }
    }),
  );
  const ok = accounts.every((a) => a.ok);
  return json(ok ? 200 : 503, { ok, platform: { arn: platform.Arn }, accounts });
});
