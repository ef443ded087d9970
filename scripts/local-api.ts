import { createServer, type IncomingMessage, type Server } from 'node:http';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { parse } from 'yaml';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';

/**
 * A local stand-in for API Gateway HTTP API: the routes and handlers of serverless.yml, driven with the same
 * version 2.0 events. Requests carry no signature; they act as `caller` (what the IAM authorizer would name),
 * or as the principal ARN in an `x-local-caller` header.
 */
interface RouteDef {
  method: string;
  pattern: RegExp;
  params: string[];
  routeKey: string;
  handlerPath: string;
  functionName: string;
  /** the function's timeout (serverless.yml: the function's, else the provider's) */
  timeoutMs: number;
}

type LambdaHandler = (event: APIGatewayProxyEventV2, context: Context) => Promise<APIGatewayProxyStructuredResultV2>;

export function routesFromServerless(repoRoot: string): RouteDef[] {
  const sls = parse(readFileSync(path.join(repoRoot, 'serverless.yml'), 'utf8')) as {
    provider?: { timeout?: number };
    functions: Record<
      string,
      { handler: string; timeout?: number; events?: { httpApi?: { method: string; path: string } }[] }
    >;
  };
  const routes: RouteDef[] = [];
  for (const [functionName, fn] of Object.entries(sls.functions)) {
    for (const ev of fn.events ?? []) {
      if (!ev.httpApi) continue;
      const params: string[] = [];
      const pattern = new RegExp(
        `^${ev.httpApi.path.replace(/\{([^}]+)\}/g, (_m, p: string) => {
          params.push(p);
          return '([^/]+)';
        })}$`,
      );
      routes.push({
        method: ev.httpApi.method.toUpperCase(),
        pattern,
        params,
        routeKey: `${ev.httpApi.method.toUpperCase()} ${ev.httpApi.path}`,
        handlerPath: fn.handler,
        functionName,
        timeoutMs: (fn.timeout ?? sls.provider?.timeout ?? 6) * 1000,
      });
    }
  }
  return routes;
}

function loadHandler(repoRoot: string, handlerPath: string): LambdaHandler {
  const dot = handlerPath.lastIndexOf('.');

  const mod = require(path.join(repoRoot, handlerPath.slice(0, dot))) as Record<string, LambdaHandler>;
  return mod[handlerPath.slice(dot + 1)];
}

const readBody = (req: IncomingMessage, limit: number): Promise<string> =>
  new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      // API Gateway refuses payloads over 10 MB; keep reading to answer, but stop storing
      if (size <= limit) chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });

/** The function serverless.yml schedules (the drift sweep), for POST /_local/sweep. */
function scheduledFunction(repoRoot: string): { handlerPath: string; functionName: string } | undefined {
  const sls = parse(readFileSync(path.join(repoRoot, 'serverless.yml'), 'utf8')) as {
    functions: Record<string, { handler: string; events?: { schedule?: unknown }[] }>;
  };
  const found = Object.entries(sls.functions).find(([, fn]) => fn.events?.some((e) => e.schedule));
  return found ? { functionName: found[0], handlerPath: found[1].handler } : undefined;
}

type SweepHandler = (
  event: unknown,
  context: Context,
) => Promise<{ checked: number; drifted: number; durationMs: number; complete: boolean }>;

/**
 * POST /_local/sweep: the scheduled drift sweep, run now and to the end (invocation after invocation, each resuming
 * from the cursor the last one saved, as the schedule would over several hours) → { checked, drifted, durationMs }.
 */
async function runSweep(repoRoot: string): Promise<{ checked: number; drifted: number; durationMs: number }> {
  const fn = scheduledFunction(repoRoot);
  if (!fn) throw new Error('serverless.yml schedules no function');
  const handler = loadHandler(repoRoot, fn.handlerPath) as unknown as SweepHandler;
  const started = Date.now();
  const total = { checked: 0, drifted: 0 };
  for (let i = 0; i < 1000; i++) {
    const deadline = Date.now() + 900_000;
    const context = {
      awsRequestId: randomUUID(),
      functionName: `s3-onboarding-local-${fn.functionName}`,
      getRemainingTimeInMillis: () => deadline - Date.now(),
    } as unknown as Context;
    const out = await handler({ source: 'aws.events', 'detail-type': 'Scheduled Event' }, context);
    total.checked += out.checked;
    total.drifted += out.drifted;
    if (out.complete) break;
  }
  return { ...total, durationMs: Date.now() - started };
}

export interface LocalApi {
  url: string;
  close(): Promise<void>;
}

export async function startLocalApi(opts: { port?: number; repoRoot: string; caller: string }): Promise<LocalApi> {
  const routes = routesFromServerless(opts.repoRoot);
  const handlers = new Map<string, LambdaHandler>();
  const server: Server = createServer((req, res) => {
    // nothing a request carries may take the local API down: any failure outside the handler is a 500
    const fail = () => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ message: 'Internal Server Error' }));
    };
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://local');
      const method = req.method ?? 'GET';
      const body = await readBody(req, 10 * 1024 * 1024);
      if (url.pathname === '/_local/sweep') {
        res.writeHead(method === 'POST' ? 200 : 405, { 'content-type': 'application/json' });
        res.end(JSON.stringify(method === 'POST' ? await runSweep(opts.repoRoot) : { message: 'Method Not Allowed' }));
        return;
      }
      const matches = routes.filter((r) => r.pattern.test(url.pathname));
      const route = matches.find((r) => r.method === method);
      if (!route) {
        res.writeHead(matches.length ? 405 : 404, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ message: matches.length ? 'Method Not Allowed' : 'Not Found' }));
        return;
      }
      const m = route.pattern.exec(url.pathname)!;
      let pathParameters: Record<string, string>;
      try {
        pathParameters = Object.fromEntries(route.params.map((p, i) => [p, decodeURIComponent(m[i + 1])]));
      } catch {
        // malformed percent-encoding (%E0%A4%A): what API Gateway answers, and the server keeps serving
        res.writeHead(400, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ message: 'Bad Request' }));
        return;
      }
      const headers = Object.fromEntries(
        Object.entries(req.headers).map(([k, v]) => [k.toLowerCase(), Array.isArray(v) ? v.join(',') : (v ?? '')]),
      );
      const requestId = randomUUID();
      // local only: a request may name the caller it acts as (API Gateway takes it from the SigV4 signature)
      const callerArn = headers['x-local-caller'] || opts.caller;
      const event: APIGatewayProxyEventV2 = {
        version: '2.0',
        routeKey: route.routeKey,
        rawPath: url.pathname,
        rawQueryString: url.search.replace(/^\?/, ''),
        headers,
        queryStringParameters: url.search ? Object.fromEntries(url.searchParams) : undefined,
        pathParameters: route.params.length ? pathParameters : undefined,
        requestContext: {
          accountId: 'local',
          apiId: 'local',
          domainName: url.host,
          domainPrefix: 'local',
          http: {
            method,
            path: url.pathname,
            protocol: 'HTTP/1.1',
            sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
            userAgent: headers['user-agent'] ?? '',
          },
          requestId,
          routeKey: route.routeKey,
          stage: '$default',
          time: new Date().toISOString(),
          timeEpoch: Date.now(),
          authorizer: { iam: { userArn: callerArn, accountId: callerArn.split(':')[4] } },
        } as unknown as APIGatewayProxyEventV2['requestContext'],
        body: body.length ? body : undefined,
        isBase64Encoded: false,
      };
      // the Lambda context's remaining time, from the function's timeout (LOCAL_FUNCTION_TIMEOUT_MS overrides it, to
      // try what a request does near its deadline); the local API does not stop a handler that overruns it
      const deadline = Date.now() + (Number(process.env.LOCAL_FUNCTION_TIMEOUT_MS) || route.timeoutMs);
      const context = {
        awsRequestId: requestId,
        functionName: `s3-onboarding-local-${route.functionName}`,
        functionVersion: '$LATEST',
        invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:s3-onboarding-local-${route.functionName}`,
        memoryLimitInMB: '512',
        logGroupName: 'local',
        logStreamName: 'local',
        callbackWaitsForEmptyEventLoop: false,
        getRemainingTimeInMillis: () => deadline - Date.now(),
        done: () => undefined,
        fail: () => undefined,
        succeed: () => undefined,
      } as Context;
      try {
        let handler = handlers.get(route.handlerPath);
        if (!handler) {
          handler = loadHandler(opts.repoRoot, route.handlerPath);
          handlers.set(route.handlerPath, handler);
        }
        const out = await handler(event, context);
        res.writeHead(out.statusCode ?? 200, { 'x-request-id': requestId, ...(out.headers as Record<string, string>) });
        res.end(out.body ?? '');
      } catch {
        // what API Gateway answers when the function itself fails
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ message: 'Internal Server Error' }));
      }
    })().catch(fail);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
