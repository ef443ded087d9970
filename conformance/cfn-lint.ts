/**
 * npm run lint:cfn: cfn-lint (AWS's CloudFormation linter) on every template the project deploys: deploy/*.yaml and
 * the template `osls package` generates from serverless.yml (packaged offline, as test/integration/deploy does).
 * Errors fail. Warnings fail unless listed below with the reason they stay; a listed warning that no longer shows
 * fails too, so the list stays true.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from '../scripts/stack';
import { Checks, main, skippedCheck } from './lib/report';
import { which } from './lib/tools';

const TITLE = 'cfn-lint (the deployed templates)';
const run = promisify(execFile);

interface Match {
  Level: 'Error' | 'Warning' | 'Informational';
  Message: string;
  Rule: { Id: string };
  Location: { Path: (string | number)[]; Start: { LineNumber: number } };
}

/** Warnings that stay, matched by template, rule and path. */
export const KNOWN_WARNINGS: { template: string; rule: string; path: RegExp; reason: string }[] = [
  {
    template: 'osls package',
    rule: 'W3005',
    path: /^Resources\/\w+LambdaFunction\/DependsOn\/\d+$/,
    reason:
      'osls writes DependsOn: [ApiRole] on every function whose role is a logical name (provider.iam.role: ApiRole), beside the Fn::GetAtt that already orders it: redundant, not wrong, and generated (not in serverless.yml)',
  },
  {
    template: 'osls package',
    rule: 'W3005',
    path: /^Resources\/HttpApiRoute\w+\/DependsOn$/,
    reason:
      'osls writes DependsOn on every HTTP API route for the integration its Target already Refs: redundant, not wrong, and generated',
  },
];

async function lint(cfnLint: string, file: string): Promise<Match[]> {
  // cfn-lint exits non-zero when it finds anything; its JSON report is on stdout either way
  const out = await run(cfnLint, ['--format', 'json', '--', file], { maxBuffer: 16 * 1024 * 1024 }).catch(
    (e: { stdout?: string; stderr?: string }) => {
      if (e.stdout) return { stdout: e.stdout };
      throw new Error(`cfn-lint failed on ${file}: ${e.stderr ?? String(e)}`);
    },
  );
  return JSON.parse(out.stdout || '[]') as Match[];
}

async function runChecks(): Promise<void> {
  const cfnLint = which('cfn-lint');
  if (!cfnLint) return skippedCheck(TITLE, 'cfn-lint');
  const checks = new Checks(TITLE);
  const seen = new Set<number>();
  const judge = (template: string, matches: Match[]): string => {
    const where = (m: Match) =>
      `${m.Rule.Id} ${m.Location.Path.join('/')} (line ${m.Location.Start.LineNumber}): ${m.Message}`;
    const errors = matches.filter((m) => m.Level === 'Error');
    const warnings = matches.filter((m) => m.Level === 'Warning');
    const unexplained = warnings.filter((w) => {
      const i = KNOWN_WARNINGS.findIndex(
        (k) => k.template === template && k.rule === w.Rule.Id && k.path.test(w.Location.Path.join('/')),
      );
      if (i >= 0) seen.add(i);
      return i < 0;
    });
    const problems = [
      ...errors.map((e) => `error ${where(e)}`),
      ...unexplained.map((w) => `warning not explained in conformance/cfn-lint.ts: ${where(w)}`),
    ];
    if (problems.length) throw new Error(problems.join('\n'));
    const info = matches.filter((m) => m.Level === 'Informational').length;
    return `0 errors, ${warnings.length} warnings (all explained)${info ? `, ${info} informational` : ''}`;
  };

  for (const f of readdirSync(path.join(REPO_ROOT, 'deploy'))
    .filter((x) => /\.ya?ml$/.test(x))
    .sort()) {
    await checks.test(`deploy/${f}`, async () =>
      judge(`deploy/${f}`, await lint(cfnLint, path.join(REPO_ROOT, 'deploy', f))),
    );
  }
  const out = mkdtempSync(path.join(tmpdir(), 's3ob-package-'));
  let packaged = false;
  try {
    packaged = await checks.test('the template osls package generates (serverless.yml)', async () => {
      await run(
        process.execPath,
        [path.join(REPO_ROOT, 'node_modules/osls/bin/serverless.js'), 'package', '--stage', 'ci', '--package', out],
        {
          cwd: REPO_ROOT,
          // telemetry and notifications would reach for the network
          env: {
            ...process.env,
            SLS_TELEMETRY_DISABLED: '1',
            SLS_NOTIFICATIONS_MODE: 'off',
            SLS_DEPRECATION_DISABLE: '*',
          },
          // it takes seconds; when esbuild fails, osls waits instead of exiting
          timeout: 90_000,
          maxBuffer: 16 * 1024 * 1024,
        },
      );
      return judge('osls package', await lint(cfnLint, path.join(out, 'cloudformation-template-update-stack.json')));
    });
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
  await checks.test('every explained warning still shows', () => {
    const stale = KNOWN_WARNINGS.filter((k, i) => !seen.has(i) && (packaged || k.template !== 'osls package'));
    if (stale.length)
      throw new Error(
        `explained but not seen (remove them): ${stale.map((k) => `${k.template} ${k.rule} ${k.path}`).join('; ')}`,
      );
    return KNOWN_WARNINGS.map((k) => `${k.template} ${k.rule}: ${k.reason}`).join('\n');
  });
  checks.finish();
}

main(TITLE, runChecks);
