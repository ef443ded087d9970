import { execFile } from 'node:child_process';
import { readFileSync, statSync, mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { build, type BuildOptions } from 'esbuild';
import { parse } from 'yaml';
import { BUILD_DIR, REPO_ROOT, type StackInfo } from '../lib/stack';
import { median, round } from '../lib/stats';

const run = promisify(execFile);

/** Options serverless-esbuild keeps for itself and does not pass to esbuild (its bundle.js). */
const PLUGIN_ONLY = [
  'concurrency',
  'zipConcurrency',
  'exclude',
  'nativeZip',
  'packager',
  'packagePath',
  'watch',
  'keepOutputDirectory',
  'packagerOptions',
  'installExtraArgs',
  'outputFileExtension',
  'outputBuildFolder',
  'outputWorkFolder',
  'nodeExternals',
  'skipBuild',
  'skipRebuild',
  'skipBuildExcludeFns',
  'stripEntryResolveExtensions',
  'disposeContext',
];

interface Serverless {
  provider: { environment?: Record<string, unknown> };
  custom: { esbuild: Record<string, unknown> };
  functions: Record<string, { handler: string; events?: { httpApi?: { method: string; path: string } }[] }>;
}

export const readServerless = (): Serverless =>
  parse(readFileSync(path.join(REPO_ROOT, 'serverless.yml'), 'utf8')) as Serverless;

/** esbuild options as serverless-esbuild derives them from custom.esbuild (its defaults, then the file's settings). */
export function esbuildOptions(sls: Serverless): BuildOptions {
  const custom: Record<string, unknown> = {
    bundle: true,
    target: 'node18',
    external: [],
    exclude: ['aws-sdk'],
    platform: 'node',
    ...sls.custom.esbuild,
  };
  const exclude = (custom.exclude as string[] | undefined) ?? [];
  const opts = Object.fromEntries(Object.entries(custom).filter(([k]) => !PLUGIN_ONLY.includes(k))) as BuildOptions;
  return {
    ...opts,
    external: [...((custom.external as string[]) ?? []), ...(exclude.includes('*') ? [] : exclude)],
    logLevel: 'error',
  };
}

/** The function's environment in Lambda, as far as it matters before the first request (strings only). */
export function lambdaEnvironment(sls: Serverless): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(sls.provider.environment ?? {}))
    env[k] = typeof v === 'string' ? withDefaults(v) : `bench-${k.toLowerCase()}`;
  // files the package carries (e.g. GUARDRAILS) are found from the task root, which here is the repository
  return {
    ...env,
    AWS_REGION: 'eu-west-1',
    LAMBDA_TASK_ROOT: REPO_ROOT,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
}

/** Serverless variables with a default (`${param:x, 'default'}`, `${opt:y, "d"}`) resolved to their default. */
const withDefaults = (v: string): string =>
  v.replace(
    /\$\{[^,}]+,\s*(?:'([^']*)'|"([^"]*)")\s*\}/g,
    (_m, a: string | undefined, b: string | undefined) => a ?? b ?? '',
  );

export interface Bundle {
  name: string;
  /** bytes in the output per package (node_modules) or per source folder */
  modules: Record<string, number>;
  /** the serverless.yml functions this bundle serves (several functions share one handler file) */
  functions: string[];
  entry: string;
  file: string;
  bytes: number;
  mapBytes: number;
  baseline: boolean;
}

export interface MeasuredBundle extends Bundle {
  requireMs: number[];
  medianMs: number;
}

export interface ColdStartResult {
  nodeOptions: string;
  runs: number;
  bundles: MeasuredBundle[];
  heaviest: string;
  heaviestMedianMs: number;
  sdkBaselineMedianMs: number;
  ratioToSdkBaseline: number;
  /** median over rounds of (heaviest / SDK-only) within the same round: less sensitive to drift on a busy machine */
  pairedRatioMedian: number;
  /** what the heaviest bundle carries beyond the SDK-only baseline: packages (or source folders) by bytes in the output */
  extraOverSdkBaseline: { module: string; bytes: number }[];
}

export interface FirstDryRunResult {
  runs: { requireMs: number; firstMs: number; secondMs: number }[];
  medianRequireMs: number;
  medianFirstMs: number;
  medianSecondMs: number;
}

/** Bundles every handler file of serverless.yml, and the two baselines, with the same options. */
export async function bundleAll(sls: Serverless): Promise<Bundle[]> {
  const out = path.join(BUILD_DIR, 'bundles');
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  const options = esbuildOptions(sls);
  const entries = new Map<string, string[]>();
  for (const [fn, def] of Object.entries(sls.functions)) {
    const file = `${def.handler.slice(0, def.handler.lastIndexOf('.'))}.ts`;
    entries.set(file, [...(entries.get(file) ?? []), fn]);
  }
  const all: { entry: string; functions: string[]; baseline: boolean; name: string }[] = [
    ...[...entries].map(([entry, functions]) => ({ entry, functions, baseline: false, name: entry })),
    { entry: 'bench/baselines/empty.ts', functions: [], baseline: true, name: 'baseline: empty handler' },
    { entry: 'bench/baselines/sdk-only.ts', functions: [], baseline: true, name: 'baseline: SDK clients only' },
  ];
  return Promise.all(
    all.map(async (b) => {
      const outdir = path.join(out, path.dirname(b.entry));
      // metafile only adds the build's own report; the output is the same
      const result = await build({
        ...options,
        entryPoints: [path.join(REPO_ROOT, b.entry)],
        outdir,
        absWorkingDir: REPO_ROOT,
        metafile: true,
      });
      const file = path.join(outdir, `${path.basename(b.entry, '.ts')}.js`);
      const output = Object.values(result.metafile.outputs).find((x) => x.entryPoint);
      const modules: Record<string, number> = {};
      for (const [input, v] of Object.entries(output?.inputs ?? {})) {
        const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input);
        const key = m ? m[1] : input.split('/').slice(0, -1).join('/') || input;
        modules[key] = (modules[key] ?? 0) + v.bytesInOutput;
      }
      let mapBytes = 0;
      try {
        mapBytes = statSync(`${file}.map`).size;
      } catch {
        /* no source map */
      }
      return { ...b, modules, file, bytes: statSync(file).size, mapBytes };
    }),
  );
}

/** The measuring script's own line: the last one that is a JSON object (a handler may log before it). */
function lastJson(stdout: string): unknown {
  const line = stdout
    .split('\n')
    .reverse()
    .find((l) => l.trim().startsWith('{"requireMs"'));
  if (!line) throw new Error(`no measurement in the output: ${stdout.slice(0, 500)}`);
  return JSON.parse(line.slice(line.indexOf('{"requireMs"')));
}

const REQUIRE_SCRIPT = `
const t0 = process.hrtime.bigint();
require(process.argv[1]);
const t1 = process.hrtime.bigint();
process.stdout.write('\\n' + JSON.stringify({ requireMs: Number(t1 - t0) / 1e6 }));
`;

async function requireOnce(file: string, env: Record<string, string>): Promise<number> {
  const { stdout } = await run(process.execPath, ['-e', REQUIRE_SCRIPT, file], {
    env: { PATH: process.env.PATH ?? '', ...env },
  });
  return (lastJson(stdout) as { requireMs: number }).requireMs;
}

/** A fresh node process: require the bundle, then invoke the handler twice with a dry-run event, timing each. */
const DRY_RUN_SCRIPT = `
const [file, exportName, body] = process.argv.slice(1);
const t0 = process.hrtime.bigint();
const mod = require(file);
const t1 = process.hrtime.bigint();
const event = (id) => ({
  version: '2.0', routeKey: 'POST /v1/onboardings', rawPath: '/v1/onboardings', rawQueryString: '',
  headers: { 'content-type': 'application/json' },
  requestContext: { accountId: 'bench', apiId: 'bench', domainName: 'bench', domainPrefix: 'bench', requestId: id, routeKey: 'POST /v1/onboardings', stage: '$default',
    http: { method: 'POST', path: '/v1/onboardings', protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'bench' },
    time: new Date().toISOString(), timeEpoch: Date.now(),
    authorizer: { iam: { userArn: 'arn:aws:iam::100000000001:role/platform-admin', accountId: '100000000001' } } },
  body, isBase64Encoded: false,
});
const context = (id) => ({ awsRequestId: id, functionName: 'bench-createOnboarding', functionVersion: '$LATEST', memoryLimitInMB: '512',
  invokedFunctionArn: 'arn:aws:lambda:eu-west-1:100000000001:function:bench-createOnboarding', logGroupName: 'bench', logStreamName: 'bench',
  callbackWaitsForEmptyEventLoop: false, getRemainingTimeInMillis: () => 28000 });
(async () => {
  const r1 = await mod[exportName](event('first'), context('first'));
  const t2 = process.hrtime.bigint();
  const r2 = await mod[exportName](event('second'), context('second'));
  const t3 = process.hrtime.bigint();
  process.stdout.write('\\n' + JSON.stringify({ requireMs: Number(t1 - t0) / 1e6, firstMs: Number(t2 - t1) / 1e6, secondMs: Number(t3 - t2) / 1e6, status: r1.statusCode, status2: r2.statusCode, body: r1.statusCode === 200 ? undefined : r1.body }));
  process.exit(0);
})().catch((e) => { process.stderr.write(String(e && e.stack || e)); process.exit(1); });
`;

/** Bundles, then requires each bundle in fresh node processes, round robin, with the Lambda environment. */
export async function coldStart(requireRuns: number, log: (s: string) => void): Promise<ColdStartResult> {
  const sls = readServerless();
  const bundles = await bundleAll(sls);
  const env = lambdaEnvironment(sls);
  log(`  bundled ${bundles.length} entries; requiring each ${requireRuns} times`);

  // one fresh process per sample; a first, discarded round warms the file cache
  const samples = new Map<string, number[]>(bundles.map((b) => [b.name, []]));
  for (let r = -1; r < requireRuns; r++) {
    for (let k = 0; k < bundles.length; k++) {
      const b = bundles[(k + Math.max(r, 0)) % bundles.length];
      const ms = await requireOnce(b.file, env);
      if (r >= 0) samples.get(b.name)!.push(ms);
    }
  }
  const measured = bundles.map((b) => ({
    ...b,
    requireMs: samples.get(b.name)!.map((x) => round(x, 2)),
    medianMs: round(median(samples.get(b.name)!), 2),
  }));
  const heaviest = measured.filter((b) => !b.baseline).reduce((a, b) => (b.bytes > a.bytes ? b : a));
  const sdk = measured.find((b) => b.entry === 'bench/baselines/sdk-only.ts')!;
  const extra = Object.entries(heaviest.modules)
    .map(([module, bytes]) => ({ module, bytes: bytes - (sdk.modules[module] ?? 0) }))
    .filter((x) => x.bytes > 1024)
    .sort((a, b) => b.bytes - a.bytes);
  return {
    nodeOptions: env.NODE_OPTIONS ?? '',
    runs: requireRuns,
    bundles: measured,
    heaviest: heaviest.name,
    heaviestMedianMs: heaviest.medianMs,
    sdkBaselineMedianMs: sdk.medianMs,
    ratioToSdkBaseline: round(heaviest.medianMs / sdk.medianMs, 3),
    pairedRatioMedian: round(median(samples.get(heaviest.name)!.map((x, i) => x / samples.get(sdk.name)![i])), 3),
    extraOverSdkBaseline: extra,
  };
}

/**
 * The first dry-run request a fresh process serves: require the POST /v1/onboardings bundle, invoke it with a
 * dry-run event (credentials, clients and guardrails are set up lazily, on this first request), then once more.
 * The process runs with the Lambda environment plus the running stack's (endpoints, the API role's credentials).
 */
export async function firstDryRun(stack: StackInfo, body: unknown, runs: number): Promise<FirstDryRunResult> {
  const sls = readServerless();
  const env = lambdaEnvironment(sls);
  const create = Object.entries(sls.functions).find(([, f]) =>
    f.events?.some((e) => e.httpApi?.method.toUpperCase() === 'POST' && e.httpApi.path === '/v1/onboardings'),
  );
  if (!create) throw new Error('serverless.yml has no POST /v1/onboardings function');
  const handler = create[1].handler;
  const entry = `${handler.slice(0, handler.lastIndexOf('.'))}.ts`;
  const file = path.join(BUILD_DIR, 'bundles', `${entry.slice(0, -3)}.js`);
  const exportName = handler.slice(handler.lastIndexOf('.') + 1);
  const out: FirstDryRunResult['runs'] = [];
  for (let r = 0; r < runs; r++) {
    const { stdout } = await run(process.execPath, ['-e', DRY_RUN_SCRIPT, file, exportName, JSON.stringify(body)], {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH ?? '', ...env, ...stack.env },
    });
    const x = lastJson(stdout) as {
      requireMs: number;
      firstMs: number;
      secondMs: number;
      status: number;
      status2: number;
      body?: string;
    };
    if (x.status !== 200 || x.status2 !== 200)
      throw new Error(`dry run in a fresh process answered ${x.status}/${x.status2}: ${x.body ?? ''}`);
    out.push({ requireMs: round(x.requireMs, 2), firstMs: round(x.firstMs, 2), secondMs: round(x.secondMs, 2) });
  }
  return {
    runs: out,
    medianRequireMs: round(median(out.map((x) => x.requireMs)), 2),
    medianFirstMs: round(median(out.map((x) => x.firstMs)), 2),
    medianSecondMs: round(median(out.map((x) => x.secondMs)), 2),
  };
}
