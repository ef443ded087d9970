/**
 * A small test runner for the second-opinion checks: each check lists its cases as it runs them and ends with one
 * summary line `N passed, N failed, N skipped`. A check whose tool is missing prints `skipped: <tool> not installed`
 * and counts as skipped, never as passed. With CHECKS_REPORT set (as .ci/run does), the outcome is appended there
 * as one JSON line.
 */
import { appendFileSync } from 'node:fs';

export type Outcome = 'passed' | 'failed' | 'skipped';

export class Checks {
  private readonly started = Date.now();
  private passed = 0;
  private failed = 0;
  private skipped = 0;
  readonly notes: string[] = [];

  constructor(readonly title: string) {
    process.stdout.write(`${title}\n`);
  }

  /** Runs one case: a throw fails it (with the message), anything else passes it. */
  async test(name: string, fn: () => Promise<void | string> | void | string): Promise<boolean> {
    const t0 = Date.now();
    try {
      const detail = await fn();
      this.passed++;
      process.stdout.write(
        `  ✓ ${name} (${Date.now() - t0} ms)${detail ? `\n      ${detail.replace(/\n/g, '\n      ')}` : ''}\n`,
      );
      return true;
    } catch (e) {
      this.failed++;
      const msg = e instanceof Error ? (e.stack && process.env.CHECKS_STACK ? e.stack : e.message) : String(e);
      process.stdout.write(`  ✗ ${name} (${Date.now() - t0} ms)\n      ${msg.replace(/\n/g, '\n      ')}\n`);
      return false;
    }
  }

  skip(name: string, reason: string): void {
    this.skipped++;
    process.stdout.write(`  - ${name}: skipped (${reason})\n`);
  }

  /** A tool some cases need is missing: said plainly, and those cases are then skipped. */
  toolMissing(tool: string): void {
    process.stdout.write(`skipped: ${tool} not installed\n`);
  }

  note(line: string): void {
    this.notes.push(line);
    process.stdout.write(`  ${line}\n`);
  }

  get outcome(): Outcome {
    if (this.failed) return 'failed';
    return this.passed ? 'passed' : 'skipped';
  }

  /** Prints the summary, records it, and sets the exit code (1 when anything failed). */
  finish(): Outcome {
    const seconds = ((Date.now() - this.started) / 1000).toFixed(1);
    process.stdout.write(
      `${this.title}: ${this.passed} passed, ${this.failed} failed, ${this.skipped} skipped (${seconds} s)\n`,
    );
    record({
      check: this.title,
      outcome: this.outcome,
      passed: this.passed,
      failed: this.failed,
      skipped: this.skipped,
      seconds: Number(seconds),
    });
    if (this.failed) process.exitCode = 1;
    return this.outcome;
  }
}

/** A whole check skipped because its tool is missing: visible, and never a pass. */
export function skippedCheck(title: string, tool: string): void {
  process.stdout.write(`${title}\nskipped: ${tool} not installed\n${title}: 0 passed, 0 failed, 1 skipped\n`);
  record({
    check: title,
    outcome: 'skipped',
    passed: 0,
    failed: 0,
    skipped: 1,
    seconds: 0,
    reason: `${tool} not installed`,
  });
}

function record(r: Record<string, unknown>): void {
  if (process.env.CHECKS_REPORT) appendFileSync(process.env.CHECKS_REPORT, `${JSON.stringify(r)}\n`);
}

/** Runs a check's main function, so that an unexpected throw is a visible failure with the exit code set. */
export function main(title: string, fn: () => Promise<void>): void {
  fn().catch((e: Error) => {
    process.stdout.write(`${title}: aborted: ${e.stack ?? e.message}\n`);
    record({ check: title, outcome: 'failed', passed: 0, failed: 1, skipped: 0, seconds: 0, reason: e.message });
    process.exitCode = 1;
  });
}
