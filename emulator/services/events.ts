import { randomUUID } from 'node:crypto';
import type { CallContext, ServiceModule } from '../context';
import { requireCaller } from '../context';
import { AwsError } from '../errors';
import { authorizeCall } from '../authz';

/**
 * Amazon EventBridge, PutEvents only (JSON 1.1, `X-Amz-Target: AWSEvents.PutEvents`): what the service publishes.
 * The call is authorised like AWS (`events:PutEvents` on the bus ARN, same account); each entry is validated and
 * answered in AWS's shape (an entry that fails says why in its place, FailedEntryCount counts them), and every
 * accepted event is kept, in order, for `GET /_emulator/events`. Rules, targets, archives and bus policies are not
 * modelled; every bus name exists.
 */

const MAX_ENTRIES = 10;
/** AWS: 256 KB per request, counted over the entries (Time 14 bytes, Source, DetailType, Detail, Resources) */
const MAX_REQUEST_BYTES = 256 * 1024;

function busArn(region: string, account: string, nameOrArn: string): { arn: string; name: string; account: string } {
  const m = /^arn:aws[\w-]*:events:([\w-]+):(\d{12}):event-bus\/([\w.\-/]+)$/.exec(nameOrArn);
  if (m) return { arn: nameOrArn, name: m[3], account: m[2] };
  return { arn: `arn:aws:events:${region}:${account}:event-bus/${nameOrArn}`, name: nameOrArn, account };
}

/** AWS counts an entry's size over these fields (User Guide, "Calculating PutEvents event entry size"). */
function entrySize(e: Record<string, unknown>): number {
  let size = e.Time !== undefined ? 14 : 0;
  for (const k of ['Source', 'DetailType', 'Detail']) if (typeof e[k] === 'string') size += Buffer.byteLength(e[k]);
  if (Array.isArray(e.Resources)) for (const r of e.Resources) size += Buffer.byteLength(String(r));
  return size;
}

type Entry = { EventId: string } | { ErrorCode: string; ErrorMessage: string };

function putEvents(ctx: CallContext, body: Record<string, unknown>): { FailedEntryCount: number; Entries: Entry[] } {
  const caller = requireCaller(ctx);
  const entries = body.Entries;
  if (!Array.isArray(entries) || entries.length < 1 || entries.length > MAX_ENTRIES) {
    throw new AwsError(
      'ValidationException',
      `1 validation error detected: Value at 'entries' failed to satisfy constraint: Member must have length less than or equal to ${MAX_ENTRIES} and greater than or equal to 1`,
    );
  }
  if (entries.reduce((n: number, e) => n + entrySize((e ?? {}) as Record<string, unknown>), 0) > MAX_REQUEST_BYTES) {
    throw new AwsError('ValidationException', 'Total size of the entries in the request is over the limit.');
  }
  // the caller must be allowed to put events on every bus the request names, before any entry is accepted
  const buses = new Map<string, ReturnType<typeof busArn>>();
  for (const e of entries as Record<string, unknown>[]) {
    const bus = busArn(
      ctx.req.region,
      caller.accountId,
      typeof e?.EventBusName === 'string' && e.EventBusName ? e.EventBusName : 'default',
    );
    buses.set(bus.arn, bus);
  }
  for (const bus of buses.values()) {
    if (bus.account !== caller.accountId) {
      // a bus of another account takes events only through its resource policy, which the emulator does not model
      throw new AwsError(
        'AccessDeniedException',
        `User: ${caller.arn} is not authorized to perform: events:PutEvents on resource: ${bus.arn} because no resource-based policy allows the events:PutEvents action`,
        400,
      );
    }
    try {
      authorizeCall(ctx.world, caller, {
        action: 'events:PutEvents',
        resource: bus.arn,
        resourceAccountId: bus.account,
      });
    } catch (e) {
      throw new AwsError('AccessDeniedException', (e as Error).message, 400);
    }
  }
  const out: Entry[] = [];
  for (const raw of entries as unknown[]) {
    const e = (raw ?? {}) as Record<string, unknown>;
    const bad = (field: string) => ({
      ErrorCode: 'InvalidArgument',
      ErrorMessage: `Parameter ${field} is not valid. Reason: ${field} is a required argument.`,
    });
    if (typeof e.Source !== 'string' || !e.Source) {
      out.push(bad('Source'));
      continue;
    }
    if (typeof e.DetailType !== 'string' || !e.DetailType) {
      out.push(bad('DetailType'));
      continue;
    }
    if (typeof e.Detail !== 'string' || !e.Detail) {
      out.push(bad('Detail'));
      continue;
    }
    if (e.Source.toLowerCase().startsWith('aws.')) {
      out.push({ ErrorCode: 'NotAuthorizedForSourceException', ErrorMessage: 'Not authorized for the source.' });
      continue;
    }
    let detail: unknown;
    try {
      detail = JSON.parse(e.Detail);
    } catch {
      detail = undefined;
    }
    if (!detail || typeof detail !== 'object' || Array.isArray(detail)) {
      out.push({ ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' });
      continue;
    }
    const bus = busArn(
      ctx.req.region,
      caller.accountId,
      typeof e.EventBusName === 'string' && e.EventBusName ? e.EventBusName : 'default',
    );
    const id = randomUUID();
    // the SDK sends Time as epoch seconds
    const time = typeof e.Time === 'number' ? new Date(e.Time * 1000) : new Date(ctx.now);
    ctx.world.events.push({
      id,
      time: time.toISOString(),
      eventBusName: bus.name,
      account: caller.accountId,
      region: ctx.req.region,
      source: e.Source,
      detailType: e.DetailType,
      resources: Array.isArray(e.Resources) ? e.Resources.map(String) : [],
      detail,
    });
    out.push({ EventId: id });
  }
  return { FailedEntryCount: out.filter((x) => 'ErrorCode' in x).length, Entries: out };
}

export const events: ServiceModule = {
  name: 'events',
  operationOf: (req) =>
    String(req.headers['x-amz-target'] ?? '')
      .split('.')
      .pop() || 'Unknown',
  handle(ctx) {
    if (ctx.operation !== 'PutEvents')
      throw new AwsError('UnknownOperationException', `The emulator does not implement EventBridge ${ctx.operation}`);
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(ctx.req.body.toString('utf8') || '{}');
    } catch {
      throw new AwsError('SerializationException', 'Invalid JSON body');
    }
    return {
      status: 200,
      headers: { 'content-type': 'application/x-amz-json-1.1' },
      body: JSON.stringify(putEvents(ctx, body)),
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
