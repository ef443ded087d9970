/**
 * The closing table of .ci/run's second-opinion checks, from the CHECKS_REPORT lines each check appended. A check
 * that left no line crashed, and counts as failed; a skipped check is shown as skipped, never as passed. Exit 1 when
 * anything failed (or, with CHECKS_REQUIRE_TOOLS=1, when anything was skipped).
 */
import { existsSync, readFileSync } from 'node:fs';

const [file, ...expected] = process.argv.slice(2);
const lines = file && existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : [];
const rows = lines.map(
  (l) =>
    JSON.parse(l) as {
      check: string;
      outcome: string;
      passed: number;
      failed: number;
      skipped: number;
      seconds: number;
      reason?: string;
    },
);
const out = process.stdout;
out.write('\nsecond opinions (moto, botocore, cfn-lint, rclone):\n');
for (const r of rows) {
  out.write(
    `  ${r.outcome.toUpperCase().padEnd(8)} ${r.check}: ${r.passed} passed, ${r.failed} failed, ${r.skipped} skipped, ${r.seconds} s${r.reason ? ` (${r.reason})` : ''}\n`,
  );
}
const missing = expected.length - rows.length;
if (missing > 0) out.write(`  FAILED   ${missing} check(s) ended without a summary (see their output above)\n`);
const count = (o: string) => rows.filter((r) => r.outcome === o).length;
out.write(
  `second opinions: ${count('passed')} passed, ${count('failed') + Math.max(missing, 0)} failed, ${count('skipped')} skipped\n`,
);
if (count('failed') || missing > 0 || (process.env.CHECKS_REQUIRE_TOOLS === '1' && count('skipped')))
  process.exitCode = 1;
