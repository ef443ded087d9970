import type { CallContext, ServiceModule } from '../context';
import { requireCaller } from '../context';
import { AwsError } from '../errors';
import { authorizeCall } from '../authz';
import { appliedQuota, findQuota, quotaKey, type QuotaDef } from '../quotas';

/**
 * Service Quotas (JSON 1.1, `X-Amz-Target: ServiceQuotasV20190624.<Operation>`, credential scope `servicequotas`):
 * GetServiceQuota (the value applied to the caller's account: the topology's, else AWS's default) and
 * GetAWSDefaultServiceQuota, for the quotas in emulator/quotas.ts only; any other service or quota code is
 * `NoSuchResourceException`, as is a global (IAM) quota asked for outside us-east-1, where AWS keeps them.
 * GetServiceQuota needs `servicequotas:GetServiceQuota` on `arn:aws:servicequotas:<region>:<account>:<service>/<quota>`;
 * GetAWSDefaultServiceQuota `servicequotas:GetAWSDefaultServiceQuota` on `*`.
 */

const TARGET = 'ServiceQuotasV20190624';
const GLOBAL_REGION = 'us-east-1';

const noSuchResource = () =>
  new AwsError('NoSuchResourceException', 'The request failed because the specified service does not exist.');

function lookup(ctx: CallContext, body: Record<string, unknown>): QuotaDef {
  for (const field of ['ServiceCode', 'QuotaCode'])
    if (typeof body[field] !== 'string' || !/^[a-zA-Z][a-zA-Z0-9-]{1,127}$/.test(body[field]))
      throw new AwsError('IllegalArgumentException', `${field} is missing or invalid`);
  const def = findQuota(body.ServiceCode as string, body.QuotaCode as string);
  if (!def || (def.global && ctx.req.region !== GLOBAL_REGION)) throw noSuchResource();
  return def;
}

function render(def: QuotaDef, region: string, accountId: string, value: number) {
  return {
    ServiceCode: def.serviceCode,
    ServiceName: def.serviceName,
    QuotaArn: `arn:aws:servicequotas:${region}:${accountId}:${quotaKey(def)}`,
    QuotaCode: def.quotaCode,
    QuotaName: def.quotaName,
    Value: value,
    Unit: 'None',
    Adjustable: def.adjustable,
    GlobalQuota: def.global,
  };
}

const ops: Record<string, (ctx: CallContext, body: Record<string, unknown>) => unknown> = {
  GetServiceQuota(ctx, body) {
    const caller = requireCaller(ctx);
    const def = lookup(ctx, body);
    authorizeCall(ctx.world, caller, {
      action: 'servicequotas:GetServiceQuota',
      resource: `arn:aws:servicequotas:${ctx.req.region}:${caller.accountId}:${quotaKey(def)}`,
      resourceAccountId: caller.accountId,
    });
    const account = ctx.world.accounts.get(caller.accountId)!;
    const applied = appliedQuota(account, quotaKey(def));
    return { Quota: { ...render(def, ctx.req.region, caller.accountId, applied), QuotaAppliedAtLevel: 'ACCOUNT' } };
  },
  GetAWSDefaultServiceQuota(ctx, body) {
    const caller = requireCaller(ctx);
    const def = lookup(ctx, body);
    authorizeCall(ctx.world, caller, {
      action: 'servicequotas:GetAWSDefaultServiceQuota',
      resource: '*',
      resourceAccountId: caller.accountId,
    });
    return { Quota: render(def, ctx.req.region, '', def.value) };
  },
};

export const servicequotas: ServiceModule = {
  name: 'servicequotas',
  operationOf: (req) => {
    const target = String(req.headers['x-amz-target'] ?? '');
    return target.startsWith(`${TARGET}.`) ? target.slice(TARGET.length + 1) : 'Unknown';
  },
  handle(ctx) {
    const op = ops[ctx.operation];
    if (!op)
      throw new AwsError(
        'UnknownOperationException',
        `The emulator does not implement Service Quotas ${ctx.operation}`,
      );
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(ctx.req.body.toString('utf8') || '{}');
    } catch {
      throw new AwsError('SerializationException', 'Invalid JSON body');
    }
    return {
      status: 200,
      headers: { 'content-type': 'application/x-amz-json-1.1' },
      body: JSON.stringify(op(ctx, body)),
    };
  },
  renderError(code, message, status) {
    const type = code === 'AccessDenied' ? 'AccessDeniedException' : code;
    return {
      status: status === 403 ? 400 : status,
      headers: { 'content-type': 'application/x-amz-json-1.1' },
      body: JSON.stringify({ __type: type, message }),
    };
  },
};
