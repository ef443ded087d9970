/**
 * Which AWS operation an HTTP request is, decided from AWS's own service models (botocore's data files, the
 * models the AWS CLI is generated from), not from the emulator's parser: the query protocol names it in `Action`,
 * JSON protocols in `X-Amz-Target`, REST protocols by method and URI template (the most specific match wins).
 */
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import path from 'node:path';

interface ModelFile {
  metadata: { protocol: string; signingName?: string; endpointPrefix: string; targetPrefix?: string };
  operations: Record<string, { name: string; http: { method: string; requestUri: string } }>;
}

interface Rule {
  op: string;
  method: string;
  segments: string[];
  query: [string, string | undefined][];
}

export interface ServiceModel {
  service: string;
  protocol: string;
  operations: string[];
  rules: Rule[];
}

export interface HttpRequestLike {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

function readModel(dir: string): ModelFile {
  const versions = readdirSync(dir).sort();
  const latest = path.join(dir, versions[versions.length - 1]);
  const gz = path.join(latest, 'service-2.json.gz');
  const text = existsSync(gz)
    ? gunzipSync(readFileSync(gz)).toString('utf8')
    : readFileSync(path.join(latest, 'service-2.json'), 'utf8');
  return JSON.parse(text) as ModelFile;
}

/** botocore's data directory of a service whose directory is not named after its signing name. */
const MODEL_DIRS: Record<string, string> = { servicequotas: 'service-quotas' };

/** Loads the models of the given services (by SigV4 signing name) from botocore's data directory. */
export function loadModels(botocoreDir: string, services: string[]): Map<string, ServiceModel> {
  const out = new Map<string, ServiceModel>();
  for (const service of services) {
    const m = readModel(path.join(botocoreDir, 'data', MODEL_DIRS[service] ?? service));
    const signing = m.metadata.signingName ?? m.metadata.endpointPrefix;
    // S3 Control signs as s3 (its requests are told apart by their /v20180820/ path: s3controlRequest)
    if (signing !== service && !(service === 's3control' && signing === 's3'))
      throw new Error(`botocore model data/${service} signs as ${signing}`);
    const rules: Rule[] = Object.values(m.operations).map((o) => {
      const [p, q] = o.http.requestUri.split('?');
      return {
        op: o.name,
        method: o.http.method,
        segments: p.split('/').filter(Boolean),
        query: (q ? q.split('&') : []).map((kv) => {
          const [k, v] = kv.split('=');
          return [k, v] as [string, string | undefined];
        }),
      };
    });
    out.set(service, { service, protocol: m.metadata.protocol, operations: Object.keys(m.operations), rules });
  }
  return out;
}

function matchPath(template: string[], actual: string[]): number | undefined {
  let literal = 0;
  for (let i = 0; i < template.length; i++) {
    const t = template[i];
    if (/^\{[^}]+\+\}$/.test(t)) return i < actual.length ? literal : undefined; // greedy: the rest, at least one segment
    if (i >= actual.length) return undefined;
    if (/^\{[^}]+\}$/.test(t)) continue;
    if (t !== actual[i]) return undefined;
    literal++;
  }
  return template.length === actual.length ? literal : undefined;
}

/** Whether a request signed as s3 is S3 Control's (its API lives under /v20180820/). */
export const s3controlRequest = (service: string, path: string): boolean =>
  service === 's3' && path.startsWith('/v20180820/');

/** The operation a request names, or undefined when the model has none that fits. */
export function operationOf(model: ServiceModel, req: HttpRequestLike): string | undefined {
  if (model.protocol === 'query' || model.protocol === 'ec2') {
    const form = req.body.length ? new URLSearchParams(req.body.toString('utf8')) : req.query;
    return form.get('Action') ?? req.query.get('Action') ?? undefined;
  }
  if (model.protocol === 'json') {
    const target = String(req.headers['x-amz-target'] ?? '');
    return target ? target.split('.').pop() : undefined;
  }
  const actual = req.path
    .split('/')
    .filter(Boolean)
    .map((s) => decodeURIComponent(s));
  let best: { op: string; score: number } | undefined;
  for (const r of model.rules) {
    if (r.method !== req.method) continue;
    const literal = matchPath(r.segments, actual);
    if (literal === undefined) continue;
    if (!r.query.every(([k, v]) => req.query.has(k) && (v === undefined || req.query.get(k) === v))) continue;
    const greedy = r.segments.some((s) => s.endsWith('+}')) ? 0 : 1;
    const score = r.query.length * 1000 + literal * 10 + greedy;
    if (!best || score > best.score) best = { op: r.op, score };
  }
  return best?.op;
}

/** The SigV4 signing name and access key of a request (header or presigned query). */
export function signingOf(req: HttpRequestLike): { service?: string; accessKeyId?: string } {
  const auth = String(req.headers.authorization ?? '');
  const m =
    /Credential=([^/]+)\/\d{8}\/[^/]+\/([^/]+)\/aws4_request/.exec(auth) ??
    /^([^/]+)\/\d{8}\/[^/]+\/([^/]+)\/aws4_request$/.exec(req.query.get('X-Amz-Credential') ?? '');
  return m ? { accessKeyId: m[1], service: m[2] } : {};
}

/** Reads are Get*, List*, Describe*, Head* and STS's own calls; every other operation counts as a write. */
export const isWrite = (service: string, operation: string): boolean =>
  // publishing an event changes no resource (as the emulator's call log counts writes)
  service !== 'events' &&
  !(
    /^(Get|List|Describe|Head)/.test(operation) ||
    (service === 'sts' && /^(AssumeRole|GetCallerIdentity|GetSessionToken)/.test(operation))
  );

/** The AWS error code of a response, in any of the protocols' shapes. */
export function errorCodeOf(
  status: number,
  headers: Record<string, string | string[] | undefined>,
  body: Buffer,
): string | undefined {
  if (status < 300) return undefined;
  const header = headers['x-amzn-errortype'];
  if (typeof header === 'string' && header) return header.split(':')[0];
  const text = body.toString('utf8');
  const xml = /<Code>([^<]+)<\/Code>/.exec(text);
  if (xml) return xml[1];
  try {
    const j = JSON.parse(text) as { __type?: string; code?: string; Code?: string };
    const t = j.__type ?? j.code ?? j.Code;
    if (t) return t.split('#').pop();
  } catch {
    /* not JSON */
  }
  return String(status);
}
