import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AwsError } from './errors';
import type { CallContext, Caller, EmulatorRequest, ServiceModule } from './context';
import { requestId, type World } from './state';
import { buildWorld } from './seed';
import type { Topology } from './topology';
import { handleAdmin } from './admin';
import { iam } from './services/iam';
import { sts } from './services/sts';
import { s3 } from './services/s3';
import { eks } from './services/eks';
import { kms } from './services/kms';
import { s3control, S3CONTROL_PREFIX } from './services/s3control';
import { eksAuth } from './services/eks-auth';
import { events } from './services/events';
import { servicequotas } from './services/servicequotas';
import { handleImds, newImdsState } from './imds';

const services: Record<string, ServiceModule> = {
  iam,
  sts,
  s3,
  s3control,
  eks,
  kms,
  'eks-auth': eksAuth,
  events,
  servicequotas,
};
/** calls that change a resource (the call log's `write`); publishing an event changes none */
const WRITE = /^(Create|Put|Update|Delete|Attach|Detach|Tag|Untag|Add|Remove|Set|Upload|Abort|Complete|Retire|Revoke)/;
const isWrite = (service: string, operation: string): boolean => service !== 'events' && WRITE.test(operation);

export interface Emulator {
  url: string;
  port: number;
  /** the EC2 instance-metadata stand-in (its own listener: SDKs drop any path of the IMDS endpoint) */
  imdsUrl: string;
  world: () => World;
  reset: () => Promise<void>;
  close: () => Promise<void>;
}

export interface EmulatorOptions {
  port?: number;
  /** port of the instance-metadata stand-in (default: any free port) */
  imdsPort?: number;
  host?: string;
  topology: Topology;
  /** directory holding deploy/ templates (defaults to the repository root) */
  repoRoot?: string;
  /** also run on POST /_emulator/reset (the local stack empties its DynamoDB table, so records match AWS again) */
  onReset?: () => Promise<void>;
  /** run on POST /_emulator/reset before the state is rebuilt (the local stream drops what it has not delivered) */
  beforeReset?: () => Promise<void>;
}

export async function startEmulator(opts: EmulatorOptions): Promise<Emulator> {
  let world = buildWorld(opts.topology, opts.repoRoot);
  const reset = async () => {
    await opts.beforeReset?.();
    // sessions survive a reset, like credentials already handed out; seeded roles keep their ids
    world = buildWorld(opts.topology, opts.repoRoot, world.signingKey, world.sessions);
    await opts.onReset?.();
  };
  const server: Server = createServer((req, res) => {
    void dispatch(req, res);
  });
  server.keepAliveTimeout = 5_000;

  async function dispatch(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const body = await readBody(req);
      const url = new URL(req.url ?? '/', 'http://emulator');
      if (url.pathname.startsWith('/_emulator/')) {
        const out = await handleAdmin(world, { method: req.method ?? 'GET', path: url.pathname, body, reset });
        res.writeHead(out.status, { 'content-type': 'application/json' });
        res.end(out.body === undefined ? '' : JSON.stringify(out.body));
        return;
      }
      const out = await handleAws(world, req, url, body);
      res.writeHead(out.status, { ...(out.headers ?? {}) });
      res.end(out.body ?? '');
    } catch (err) {
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(`emulator internal error: ${(err as Error).message}`);
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const imdsState = newImdsState();
  const imds: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      try {
        handleImds(world, imdsState, req, res);
      } catch (err) {
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(`emulator internal error: ${(err as Error).message}`);
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    imds.once('error', reject);
    imds.listen(opts.imdsPort ?? 0, opts.host ?? '127.0.0.1', () => resolve());
  }).catch(async (err: unknown) => {
    await new Promise<void>((r) => server.close(() => r()));
    throw err;
  });
  const imdsPort = (imds.address() as AddressInfo).port;
  const closeServer = (s: Server) =>
    new Promise<void>((resolve) => {
      s.closeAllConnections();
      s.close(() => resolve());
    });
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    imdsUrl: `http://127.0.0.1:${imdsPort}`,
    world: () => world,
    reset,
    close: () => Promise.all([closeServer(server), closeServer(imds)]).then(() => undefined),
  };
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** Service and access key from the SigV4 credential scope (signatures are not verified). */
function parseAuthorization(
  header: string | undefined,
): { accessKeyId: string; region: string; service: string } | undefined {
  const m = /Credential=([^/]+)\/\d{8}\/([^/]+)\/([^/]+)\/aws4_request/.exec(header ?? '');
  return m ? { accessKeyId: m[1], region: m[2], service: m[3] } : undefined;
}

async function handleAws(world: World, raw: IncomingMessage, url: URL, body: Buffer) {
  const started = Date.now();
  const rid = requestId();
  const auth = parseAuthorization(raw.headers.authorization) ?? presigned(url);
  let service = auth?.service;
  // STS AssumeRoleWithWebIdentity is sent unsigned
  if (!service && /(^|&)Action=AssumeRoleWithWebIdentity(&|$)/.test(body.toString('utf8'))) service = 'sts';
  // S3 Control signs as `s3`; its API lives under /v20180820/ (a bucket of that name would be shadowed)
  const module =
    service === 's3' && url.pathname.startsWith(S3CONTROL_PREFIX) ? s3control : service ? services[service] : undefined;
  if (!module) {
    return {
      status: 400,
      headers: { 'content-type': 'text/plain' },
      body: `emulator: unsupported or missing service in credential scope (${service ?? 'none'})`,
    };
  }
  const req: EmulatorRequest = {
    method: raw.method ?? 'GET',
    path: url.pathname,
    query: url.searchParams,
    headers: raw.headers,
    body,
    service: module.name,
    region: auth?.region ?? 'us-east-1',
    accessKeyId: auth?.accessKeyId,
  };
  let operation = 'Unknown';
  let caller: Caller | undefined;
  let status = 500;
  let errorCode: string | null = null;
  // the per-call latency is the whole time AWS takes to answer, counted from the request's arrival: the call is
  // served at once and answered when that time is up. AWS serves parallel calls on separate hosts, so one call's
  // processing never delays another's answer; serving first and waiting after keeps the emulator's single thread
  // out of the latency, and the order calls take effect in stays the order they arrived in.
  const answerAt = started + world.perCallMs;
  try {
    operation = module.operationOf(req);
    // operations AWS serves unsigned ignore whatever signature the client sent
    caller = module.allowsAnonymous?.(operation) ? undefined : resolveCaller(world, req.accessKeyId, started);
    if (!caller && !module.allowsAnonymous?.(operation)) {
      throw new AwsError('MissingAuthenticationToken', 'Request is missing Authentication Token', 403);
    }
    await applyFaults(world, module.name, operation);
    const ctx: CallContext = { world, req, operation, caller, requestId: rid, now: Date.now() };
    const out = await module.handle(ctx);
    status = out.status;
    return { ...out, headers: { 'x-amzn-requestid': rid, 'x-amz-request-id': rid, ...(out.headers ?? {}) } };
  } catch (err) {
    const e =
      err instanceof AwsError ? err : new AwsError('InternalFailure', `emulator: ${(err as Error).message}`, 500);
    status = e.httpStatus;
    errorCode = e.code;
    const out = module.renderError(e.code, e.message, e.httpStatus, { requestId: rid, type: e.type, req });
    return { ...out, headers: { 'x-amzn-requestid': rid, 'x-amz-request-id': rid, ...(out.headers ?? {}) } };
  } finally {
    const wait = answerAt - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    world.calls.push({
      seq: ++world.seq,
      startedAt: new Date(started).toISOString(),
      durationMs: Date.now() - started,
      accountId: caller?.accountId ?? null,
      principalArn: caller?.arn ?? null,
      service: module.name,
      operation,
      status,
      errorCode,
      write: isWrite(module.name, operation),
    });
  }
}

function presigned(url: URL) {
  const cred = url.searchParams.get('X-Amz-Credential');
  const m = cred ? /^([^/]+)\/\d{8}\/([^/]+)\/([^/]+)\/aws4_request$/.exec(cred) : null;
  return m ? { accessKeyId: m[1], region: m[2], service: m[3] } : undefined;
}

function resolveCaller(world: World, accessKeyId: string | undefined, now: number): Caller | undefined {
  if (!accessKeyId) return undefined;
  const root = /^AKIA(\d{12})ROOT$/.exec(accessKeyId);
  if (root) {
    if (!world.accounts.has(root[1])) {
      throw new AwsError('InvalidClientTokenId', 'The security token included in the request is invalid.', 403);
    }
    return { arn: `arn:aws:iam::${root[1]}:root`, accountId: root[1], accessKeyId };
  }
  const session = world.sessions.get(accessKeyId);
  if (!session)
    throw new AwsError('InvalidClientTokenId', 'The security token included in the request is invalid.', 403);
  if (session.expiresAt <= now)
    throw new AwsError('ExpiredToken', 'The security token included in the request is expired', 400);
  return { arn: session.arn, accountId: session.accountId, accessKeyId, session };
}

async function applyFaults(world: World, service: string, operation: string): Promise<void> {
  for (const f of world.faults) {
    if (f.service && f.service.toLowerCase() !== service) continue;
    if (f.operation && f.operation !== operation) continue;
    if (f.count !== undefined && f.count <= 0) continue;
    if (f.after !== undefined && f.after > 0) {
      f.after--;
      continue;
    }
    if (f.probability !== undefined && Math.random() >= f.probability) continue;
    if (f.count !== undefined) f.count--;
    if (f.delayMs) await new Promise((r) => setTimeout(r, f.delayMs));
    // a delay-only fault: the call goes on, late (a write slower than a lease still lands, as in AWS)
    if (f.errorCode === undefined) return;
    throw new AwsError(f.errorCode, f.message ?? `Injected fault: ${f.errorCode}`, f.httpStatus ?? 500);
  }
}
