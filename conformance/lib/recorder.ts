/**
 * A recording proxy in front of an AWS-compatible endpoint (moto has no call log): every request is forwarded as
 * is, and logged with its service (SigV4 signing name), operation (from AWS's service models), status, error code,
 * whether it writes, and the policy documents it carries (trust, identity, bucket and key policies).
 */
import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { errorCodeOf, isWrite, operationOf, s3controlRequest, signingOf, type ServiceModel } from './aws-models';

export type DocumentKind = 'trust' | 'identity' | 'resource';

export interface PolicyDocumentSent {
  kind: DocumentKind;
  where: string;
  text: string;
}

export interface RecordedCall {
  seq: number;
  service: string;
  operation: string;
  status: number;
  errorCode?: string;
  write: boolean;
  accessKeyId?: string;
  documents: PolicyDocumentSent[];
}

export interface Recorder {
  url: string;
  calls: RecordedCall[];
  clear(): void;
  close(): Promise<void>;
}

const readAll = (s: IncomingMessage): Promise<Buffer> =>
  new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('end', () => resolve(Buffer.concat(chunks)));
    s.on('error', reject);
  });

/** The policy documents a request carries, by protocol. */
function documentsOf(service: string, operation: string, protocol: string, body: Buffer): PolicyDocumentSent[] {
  const where = `${service}:${operation}`;
  if (protocol === 'query') {
    const out: PolicyDocumentSent[] = [];
    for (const [k, v] of new URLSearchParams(body.toString('utf8'))) {
      if (!/PolicyDocument$/.test(k)) continue;
      const kind: DocumentKind =
        k === 'AssumeRolePolicyDocument' || operation === 'UpdateAssumeRolePolicy' ? 'trust' : 'identity';
      out.push({ kind, where: `${where} ${k}`, text: v });
    }
    return out;
  }
  if (service === 's3' && operation === 'PutBucketPolicy')
    return [{ kind: 'resource', where, text: body.toString('utf8') }];
  if (service === 's3control' && operation === 'PutAccessPointPolicy') {
    const m = /<Policy>([\s\S]*?)<\/Policy>/.exec(body.toString('utf8'));
    const text = m?.[1]
      ?.replace(/&quot;/g, '"')
      .replace(/&apos;/g, "'")
      .replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>')
      .replace(/&amp;/g, '&');
    return text ? [{ kind: 'resource', where, text }] : [];
  }
  if (service === 'kms' && (operation === 'PutKeyPolicy' || operation === 'CreateKey')) {
    const policy = (JSON.parse(body.toString('utf8') || '{}') as { Policy?: string }).Policy;
    return policy ? [{ kind: 'resource', where, text: policy }] : [];
  }
  return [];
}

export async function startRecorder(target: string, models: Map<string, ServiceModel>): Promise<Recorder> {
  const calls: RecordedCall[] = [];
  let seq = 0;
  const to = new URL(target);
  const server: Server = createServer((req, res) => {
    // a client that goes away mid-request, or an upstream that fails mid-answer, is a 502, never an unhandled rejection
    const fail = (e: unknown) => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(`recorder: ${(e as Error)?.message ?? String(e)}`);
    };
    void (async () => {
      const body = await readAll(req);
      const url = new URL(req.url ?? '/', 'http://proxy');
      const like = {
        method: req.method ?? 'GET',
        path: url.pathname,
        query: url.searchParams,
        headers: req.headers,
        body,
      };
      const { service = 'unsigned', accessKeyId } = signingOf(like);
      // STS AssumeRoleWithWebIdentity is sent unsigned
      const model =
        (s3controlRequest(service, url.pathname) ? models.get('s3control') : models.get(service)) ??
        (service === 'unsigned' ? models.get('sts') : undefined);
      const operation = (model && operationOf(model, like)) ?? `${req.method} ${url.pathname}`;
      const fwd = request(
        { host: to.hostname, port: to.port, method: req.method, path: req.url, headers: req.headers },
        (up) => {
          void readAll(up)
            .then((out) => {
              const status = up.statusCode ?? 502;
              calls.push({
                seq: ++seq,
                service: model?.service ?? service,
                operation,
                status,
                errorCode: errorCodeOf(status, up.headers, out),
                write: isWrite(model?.service ?? service, operation),
                accessKeyId,
                documents: model ? documentsOf(model.service, operation, model.protocol, body) : [],
              });
              res.writeHead(status, up.headers);
              res.end(out);
            })
            .catch(fail);
        },
      );
      fwd.on('error', fail);
      fwd.end(body);
    })().catch(fail);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    calls,
    clear: () => {
      calls.length = 0;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
