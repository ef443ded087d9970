/**
 * npm run differential: the emulator against moto, call by call.
 *
 * The operations come from the service's code (conformance/operations.ts); each must have steps in
 * conformance/scenarios.ts. The steps run in order against the emulator (DynamoDB: dynalite, the local stack's) and
 * against moto, both seeded with the same topology, acting as account roots (and as the API role for STS). For every
 * step it compares the outcome (success, or error code and HTTP status), the shape of a successful response (fields
 * present and their types) and the values a step names. Then the same steps run once more against a reset emulator
 * through botocore (the AWS CLI's SDK), which must parse every response and agree with SDK v3 on it.
 *
 * A difference passes only when conformance/known-differences.ts lists it (with its reason, also in
 * emulator/README.md); a listed difference that no longer shows fails too, so the list stays true.
 */
import './lib/env';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { AwsCredentialIdentity } from '@smithy/types';
import { startEmulator, type Emulator } from '../emulator/server';
import { defaultIssuer, type Topology } from '../emulator/topology';
import { actAsAccount, roleCredentialsAt, rootCredentials, seedEndpoint } from '../scripts/aws-endpoint';
import { startDynalite } from '../scripts/dynalite';
import { REPO_ROOT, tableDefinition } from '../scripts/stack';
import { KNOWN_DIFFERENCES, type KnownDifference } from './known-differences';
import { startMoto, type Service } from './lib/processes';
import { runPython } from './lib/python';
import { Checks, main, skippedCheck } from './lib/report';
import { checksTopology } from './lib/topology';
import { pythonWith, which } from './lib/tools';
import { serviceOperations } from './operations';
import { DIFF_TABLE, PLATFORM, STEPS, type Ctx, type Step } from './scenarios';

const TITLE = 'differential (the emulator against moto)';

const SDK: Record<string, { pkg: Record<string, unknown>; client: string }> = {
  iam: { pkg: require('@aws-sdk/client-iam'), client: 'IAMClient' },
  sts: { pkg: require('@aws-sdk/client-sts'), client: 'STSClient' },
  s3: { pkg: require('@aws-sdk/client-s3'), client: 'S3Client' },
  eks: { pkg: require('@aws-sdk/client-eks'), client: 'EKSClient' },
  kms: { pkg: require('@aws-sdk/client-kms'), client: 'KMSClient' },
  s3control: { pkg: require('@aws-sdk/client-s3-control'), client: 'S3ControlClient' },
  dynamodb: { pkg: require('@aws-sdk/client-dynamodb'), client: 'DynamoDBClient' },
  events: { pkg: require('@aws-sdk/client-eventbridge'), client: 'EventBridgeClient' },
  servicequotas: { pkg: require('@aws-sdk/client-service-quotas'), client: 'ServiceQuotasClient' },
};

type SdkClient = { send(c: unknown): Promise<Record<string, unknown>>; destroy(): void };
type Result = { ok: true; output: unknown } | { ok: false; code: string; status?: number; message?: string };

interface Target {
  name: 'emulator' | 'moto';
  /** where each service is served */
  endpoint(service: string): string;
  ctx: Ctx;
  api: AwsCredentialIdentity;
  close(): Promise<void>;
}

const errorCode = (name: string) => name.replace(/Exception$/, '');
const describe = (r: Result) => (r.ok ? 'ok' : `${r.code} (${r.status ?? '?'})`);

// ---------- running a step through SDK v3 ----------
/** Replaces `ref` markers with values from earlier steps' saved outputs (a placeholder when there is none). */
export function resolveRefs(v: unknown, saved: Map<string, unknown>): unknown {
  if (Array.isArray(v)) return v.map((x) => resolveRefs(x, saved));
  if (v && typeof v === 'object') {
    const r = (v as { $ref?: string }).$ref;
    if (typeof r === 'string') {
      const [name, path] = r.split(':');
      const value = valueAt(saved.get(name), path);
      return value === undefined ? `unresolved-${name}` : value;
    }
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, resolveRefs(x, saved)]));
  }
  return v;
}

function sdkRunner(t: Target) {
  const clients = new Map<string, SdkClient>();
  const saved = new Map<string, unknown>();
  const clientFor = (service: string, as: string, region: string): SdkClient => {
    const key = `${service}/${as}/${region}`;
    let c = clients.get(key);
    if (!c) {
      const { pkg, client } = SDK[service];
      const Cls = pkg[client] as new (cfg: unknown) => SdkClient;
      const credentials = as === 'api' ? t.api : rootCredentials(as);
      // S3 Control's endpoint rules put the account id in front of a custom endpoint's host (no URL for an IP
      // address): the client is given the endpoint as resolved, as the tests' s3ControlFor does
      const resolved =
        service === 's3control' ? { endpointProvider: () => ({ url: new URL(t.endpoint(service)) }) } : {};
      c = new Cls({
        endpoint: t.endpoint(service),
        region,
        credentials,
        maxAttempts: 1,
        forcePathStyle: service === 's3' ? true : undefined,
        ...resolved,
      });
      if (as !== 'api') actAsAccount(c as never, as);
      clients.set(key, c);
    }
    return c;
  };
  return {
    async run(step: Step): Promise<Result> {
      const [service, operation] = step.op.split(':');
      const Command = SDK[service].pkg[`${operation}Command`] as new (input: unknown) => unknown;
      const region = service === 'iam' ? 'us-east-1' : (step.region ?? 'eu-west-1');
      try {
        const out = await clientFor(service, step.as, region).send(new Command(resolveRefs(step.input(t.ctx), saved)));
        const { $metadata: _m, ...output } = out;
        // a streamed body (GetObject) is compared as its text
        const body = output.Body as { transformToString?: () => Promise<string> } | undefined;
        if (body?.transformToString) output.Body = await body.transformToString();
        if (step.save) saved.set(step.save, output);
        return { ok: true, output };
      } catch (e) {
        const err = e as Error & { $metadata?: { httpStatusCode?: number }; Code?: string };
        if (!err.$metadata) throw e; // not an answer from the endpoint
        return { ok: false, code: errorCode(err.name), status: err.$metadata.httpStatusCode, message: err.message };
      }
    },
    close: () => clients.forEach((c) => c.destroy()),
  };
}

// ---------- comparing ----------
function typeOf(v: unknown): string {
  if (v instanceof Date) return 'timestamp';
  if (v instanceof Uint8Array) return 'blob';
  if (Array.isArray(v)) return 'list';
  return v === null ? 'null' : typeof v;
}

/** path → type for every field present (list members merged under `[]`). */
function shape(v: unknown, prefix = '', out = new Map<string, string>()): Map<string, string> {
  const t = typeOf(v);
  if (prefix) out.set(prefix, t);
  if (t === 'list') for (const x of v as unknown[]) shape(x, `${prefix}[]`, out);
  else if (t === 'object')
    for (const [k, x] of Object.entries(v as object)) if (x !== undefined) shape(x, prefix ? `${prefix}.${k}` : k, out);
  return out;
}

/** The value at a dotted path; `name[]` maps over a list. */
function valueAt(v: unknown, p: string): unknown {
  const [head, ...rest] = p.split('.');
  const list = head.endsWith('[]');
  const key = list ? head.slice(0, -2) : head;
  const here = v && typeof v === 'object' ? (v as Record<string, unknown>)[key] : undefined;
  if (!rest.length) return here;
  if (list) return Array.isArray(here) ? here.map((x) => valueAt(x, rest.join('.'))) : undefined;
  return valueAt(here, rest.join('.'));
}

/**
 * What a value means, for comparison: IAM's URL-encoded policy documents decoded and re-serialised (AWS, the
 * emulator and moto each percent-encode a little differently; every decoder reads them alike), and what each
 * target names differently (issuers, key ids) replaced with placeholders.
 */
function normalize(v: unknown, ctx: Ctx): unknown {
  if (v === undefined) return undefined;
  if (typeof v === 'string' && /^%7B/i.test(v)) v = JSON.parse(decodeURIComponent(v));
  else if (typeof v === 'string' && /^\s*\{/.test(v)) v = JSON.parse(v);
  let s = JSON.stringify(v);
  for (const c of ctx.topology.clusters)
    s = s.split(c.oidcIssuer!.replace(/^https:\/\//, '')).join(`<issuer of ${c.name}>`);
  ctx.topology.kmsKeys.forEach((k, i) => {
    s = s.split(k.arn.split('/').pop()!).join(`<key ${i}>`);
  });
  return JSON.parse(s);
}

function differences(step: Step, a: Result, b: Result, ctxA: Ctx, ctxB: Ctx): string[] {
  const out: string[] = [];
  if (!a.ok || !b.ok || a.ok !== b.ok) {
    if (describe(a) !== describe(b)) out.push(`outcome: emulator ${describe(a)}, moto ${describe(b)}`);
    return out;
  }
  const sa = shape(a.output);
  const sb = shape(b.output);
  for (const [p, t] of sb) if (!sa.has(p)) out.push(`missing in emulator: ${p} (${t})`);
  for (const [p, t] of sa) if (!sb.has(p)) out.push(`only in emulator: ${p} (${t})`);
  for (const [p, t] of sa) if (sb.has(p) && sb.get(p) !== t) out.push(`type of ${p}: emulator ${t}, moto ${sb.get(p)}`);
  for (const p of step.values ?? []) {
    const va = JSON.stringify(normalize(valueAt(a.output, p), ctxA));
    const vb = JSON.stringify(normalize(valueAt(b.output, p), ctxB));
    if (va !== vb) out.push(`value of ${p}: emulator ${va}, moto ${vb}`);
  }
  return out;
}

const stepKey = (s: Step) => `${s.op} — ${s.label}`;

// ---------- targets ----------

/** The step table, keyed as serverless.yml keys the service's table. */
async function createDiffTable(endpoint: string): Promise<void> {
  const ddb = actAsAccount(
    new DynamoDBClient({ endpoint, region: 'eu-west-1', credentials: rootCredentials(PLATFORM), maxAttempts: 1 }),
    PLATFORM,
  );
  try {
    await ddb.send(new CreateTableCommand({ TableName: DIFF_TABLE, ...tableDefinition() }));
  } finally {
    ddb.destroy();
  }
}

async function emulatorTarget(topology: Topology): Promise<Target & { emulator: Emulator }> {
  const emulator = await startEmulator({ topology });
  const ddb = await startDynalite(0).catch(async (e: unknown) => {
    await emulator.close();
    throw e;
  });
  // what was started is closed if the rest of the set-up fails (listening servers would keep the check alive)
  try {
    return await targetOn(emulator, ddb, topology);
  } catch (e) {
    await Promise.allSettled([emulator.close(), ddb.close()]);
    throw e;
  }
}

async function targetOn(
  emulator: Emulator,
  ddb: { url: string; close(): Promise<void> },
  topology: Topology,
): Promise<Target & { emulator: Emulator }> {
  await createDiffTable(ddb.url);
  const credentials = async () => {
    const res = await fetch(`${emulator.url}/_emulator/credentials`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        roleArn: `arn:aws:iam::${topology.platformAccountId}:role/s3-onboarding-api`,
        sessionName: 'differential',
      }),
    });
    const c = (await res.json()) as { accessKeyId: string; secretAccessKey: string; sessionToken: string };
    return { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey, sessionToken: c.sessionToken };
  };
  return {
    name: 'emulator',
    emulator,
    endpoint: (service) => (service === 'dynamodb' ? ddb.url : emulator.url),
    ctx: {
      topology: {
        ...topology,
        clusters: topology.clusters.map((c) => ({ ...c, oidcIssuer: c.oidcIssuer ?? defaultIssuer(c) })),
      },
    },
    api: await credentials(),
    close: async () => {
      await emulator.close();
      await ddb.close();
    },
  };
}

async function motoTarget(moto: Service, topology: Topology): Promise<Target> {
  const seeded = await seedEndpoint(moto.url, topology, REPO_ROOT);
  await createDiffTable(moto.url);
  return {
    name: 'moto',
    endpoint: () => moto.url,
    ctx: { topology: seeded.topology },
    api: await roleCredentialsAt(
      moto.url,
      `arn:aws:iam::${topology.platformAccountId}:role/s3-onboarding-api`,
      'differential',
    ),
    close: async () => undefined,
  };
}

// ---------- botocore ----------
interface BotocoreResult {
  ok: boolean;
  output?: unknown;
  code?: string;
  status?: number;
  parseError?: string;
}

/** Field paths of a botocore output, in SDK v3 terms (botocore's dates are {$date}). */
function botocoreShape(v: unknown, prefix = '', out = new Set<string>()): Set<string> {
  if (prefix) out.add(prefix);
  if (Array.isArray(v)) for (const x of v) botocoreShape(x, `${prefix}[]`, out);
  else if (v && typeof v === 'object' && !('$date' in v) && !('$bytes' in v))
    for (const [k, x] of Object.entries(v)) botocoreShape(x, prefix ? `${prefix}.${k}` : k, out);
  return out;
}

// ---------- main ----------
async function run(): Promise<void> {
  const motoServer = which('moto_server');
  if (!motoServer) return skippedCheck(TITLE, 'moto_server');
  const checks = new Checks(TITLE);
  const topology = checksTopology();
  const operations = serviceOperations();

  await checks.test('every operation the service calls has differential steps', () => {
    const covered = new Set(STEPS.map((s) => s.op));
    const missing = operations.filter((o) => !covered.has(`${o.service}:${o.operation}`));
    if (missing.length)
      throw new Error(
        `no steps in conformance/scenarios.ts for: ${missing.map((o) => `${o.service}:${o.operation} (${o.sites[0]})`).join(', ')}`,
      );
    const extra = [...covered].filter((k) => !operations.some((o) => `${o.service}:${o.operation}` === k));
    return `${operations.length} operations read from the code (${[...new Set(operations.map((o) => o.service))].join(', ')}), all covered; ${STEPS.length} steps${extra.length ? `, some for operations outside the service's code (set-up, the clients' S3 data plane, or not yet called): ${extra.join(', ')}` : ''}`;
  });

  const moto = await startMoto(motoServer);
  let emu: Awaited<ReturnType<typeof emulatorTarget>> | undefined;
  let motoT: Target | undefined;
  const sdkResults: Result[] = [];
  const observed = new Set<string>();
  try {
    emu = await emulatorTarget(topology);
    motoT = await motoTarget(moto, topology);
    const a = sdkRunner(emu);
    const b = sdkRunner(motoT);
    const known = new Map<string, KnownDifference>(
      KNOWN_DIFFERENCES.flatMap((k) => k.differences.map((d) => [`${k.step}|${d}`, k] as const)),
    );
    for (const step of STEPS) {
      await checks.test(stepKey(step), async () => {
        const ra = await a.run(step);
        const rb = await b.run(step);
        sdkResults[STEPS.indexOf(step)] = ra;
        const problems: string[] = [];
        const documented: string[] = [];
        const expected = step.expect ?? 'ok';
        if ((ra.ok ? 'ok' : ra.code) !== errorCode(expected))
          problems.push(`the emulator answers ${describe(ra)}; AWS answers ${expected}`);
        for (const d of differences(step, ra, rb, emu!.ctx, motoT!.ctx)) {
          const k = known.get(`${stepKey(step)}|${d}`);
          if (k) {
            observed.add(`${stepKey(step)}|${d}`);
            documented.push(`documented (${k.side}): ${d} — ${k.reason}`);
          } else problems.push(`difference: ${d}`);
        }
        if (problems.length) throw new Error(`emulator ${describe(ra)}, moto ${describe(rb)}\n${problems.join('\n')}`);
        return [`emulator ${describe(ra)}, moto ${describe(rb)}`, ...documented].join('\n');
      });
    }
    a.close();
    b.close();

    // botocore parses every emulator response of IAM, STS, S3, EKS and KMS, and agrees with SDK v3 on it
    const python = pythonWith('botocore');
    if (!python) {
      checks.toolMissing('botocore');
      checks.skip('botocore parses every emulator response', 'botocore not installed');
    } else {
      const fresh = await emulatorTarget(topology); // a fresh emulator: the same starting state as the SDK v3 run
      try {
        const steps = STEPS.map((s, i) => ({ s, i })).filter(({ s }) => !s.op.startsWith('dynamodb:'));
        const calls = steps.map(({ s }) => {
          const [service, operation] = s.op.split(':');
          const credentials = s.as === 'api' ? fresh.api : rootCredentials(s.as);
          return {
            service,
            operation,
            params: s.input(fresh.ctx),
            save: s.save,
            region: service === 'iam' ? 'us-east-1' : (s.region ?? 'eu-west-1'),
            endpoint: fresh.emulator.url,
            credentials,
            headers: s.as === 'api' ? {} : { 'x-moto-account-id': s.as },
          };
        });
        const results = await runPython<BotocoreResult[]>(python, 'botocore_calls.py', calls);
        await checks.test(
          `botocore parses every emulator response (${calls.length} calls) and agrees with SDK v3`,
          () => {
            const problems: string[] = [];
            results.forEach((r, j) => {
              const { s, i } = steps[j];
              const sdk = sdkResults[i];
              if (!sdk) return problems.push(`${stepKey(s)}: no SDK v3 result to compare with`);
              if (r.parseError) return problems.push(`${stepKey(s)}: botocore could not parse: ${r.parseError}`);
              const bo = r.ok ? 'ok' : `${errorCode(r.code ?? '')} (${r.status})`;
              if (bo !== describe(sdk)) return problems.push(`${stepKey(s)}: botocore ${bo}, SDK v3 ${describe(sdk)}`);
              if (r.ok && sdk.ok) {
                const sdkShape = shape(sdk.output);
                const fromSdk = new Set(sdkShape.keys());
                // botocore decodes IAM's policy documents into objects; SDK v3 leaves them strings
                const decodedBelow = (p: string) =>
                  [...sdkShape].some(([q, t]) => t === 'string' && p.startsWith(`${q}.`));
                // botocore asks S3 for URL-encoded listings by itself (and decodes them): the echo is its own doing
                const ownRequest = (p: string) =>
                  /^s3:ListObjects/.test(s.op) && p === 'EncodingType' && !('EncodingType' in calls[j].params);
                const fromBoto = new Set(
                  [...botocoreShape(r.output)].filter((p) => !decodedBelow(p) && !ownRequest(p)),
                );
                const onlyBoto = [...fromBoto].filter((p) => !fromSdk.has(p));
                const onlySdk = [...fromSdk].filter((p) => !fromBoto.has(p));
                if (onlyBoto.length || onlySdk.length)
                  problems.push(
                    `${stepKey(s)}: fields only botocore parsed: ${onlyBoto.join(', ') || '-'}; only SDK v3: ${onlySdk.join(', ') || '-'}`,
                  );
              }
            });
            if (problems.length) throw new Error(problems.join('\n'));
            return `${results.filter((r) => r.ok).length} successes and ${results.filter((r) => !r.ok).length} errors parsed alike`;
          },
        );
      } finally {
        await fresh.close();
      }
    }
  } finally {
    await emu?.close();
    await motoT?.close();
    await moto.stop();
  }

  await checks.test('every documented difference still shows (conformance/known-differences.ts)', () => {
    const stale = KNOWN_DIFFERENCES.flatMap((k) =>
      k.differences.filter((d) => !observed.has(`${k.step}|${d}`)).map((d) => `${k.step}: ${d}`),
    );
    if (stale.length)
      throw new Error(`listed but not seen (remove them, here and in emulator/README.md):\n${stale.join('\n')}`);
    const bySide = (side: string) => KNOWN_DIFFERENCES.filter((k) => k.side === side).length;
    return `${KNOWN_DIFFERENCES.length} steps with documented differences (${bySide('moto')} where moto departs from AWS, ${bySide('emulator')} where the emulator does)`;
  });
  await checks.test('every documented difference is in emulator/README.md', () => {
    const readme = readFileSync(path.join(REPO_ROOT, 'emulator/README.md'), 'utf8');
    const absent = KNOWN_DIFFERENCES.map((k) => k.readme ?? k.step).filter((text) => !readme.includes(text));
    if (absent.length) throw new Error(`not in emulator/README.md: ${[...new Set(absent)].join('; ')}`);
  });
  checks.finish();
}

main(TITLE, run);
