import { DeleteCommand, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { ProvisionerSessions } from '../../aws/session';
import { NotFoundError, TransientError } from '../../errors';
import { instrumentClient } from '../../metrics';
import type { Store } from '../../store/store';
import type { ServiceDeps } from '../model/deps';
import type { DriftState, OnboardingRecord } from '../model/records';
import { verify } from './verify';

/**
 * The drift sweep: verify (lib/onboarding/verify.ts: reads only, never a write to AWS) over every active
 * onboarding, a page of the store's list at a time, with bounded concurrency and a per-account rate of AWS calls.
 * Each finding is saved on its record as `drift: { ok, checkedAt, failing }` (the stream publishes Drift Detected /
 * Drift Resolved when it turns). An invocation stops starting verifies when the Lambda's remaining time falls under
 * the margin and saves its cursor (the page it was on) in the store: the next invocation resumes there, so a large
 * table never needs one long run. A throttled verify is retried after a growing pause; a record deleted (or changed)
 * meanwhile is skipped.
 */

export interface SweepOptions {
  /** verifies at once */
  concurrency: number;
  /** AWS calls per second per account (every attempt counts, retries included) */
  callsPerSecond: number;
  /** stop starting verifies when less than this is left of the invocation */
  marginMs: number;
  /** attempts per record while AWS throttles (pauses 0.2 s, 0.4 s, … between them) */
  attempts: number;
  pageSize: number;
}

export interface SweepSummary {
  checked: number;
  drifted: number;
  durationMs: number;
  /** the whole table was swept (false: the cursor is saved and the next invocation resumes) */
  complete: boolean;
  /** records skipped: deleted or changed during the sweep, or still throttled after every attempt */
  skipped: number;
}

const positive = (env: NodeJS.ProcessEnv, name: string, fallback: number): number => {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0)
    throw new Error(`configuration: ${name} must be a positive number, not ${JSON.stringify(raw)}`);
  return n;
};

export function sweepOptions(env: NodeJS.ProcessEnv = process.env): SweepOptions {
  return {
    concurrency: Math.floor(positive(env, 'SWEEP_CONCURRENCY', 8)),
    callsPerSecond: positive(env, 'SWEEP_CALLS_PER_SECOND', 10),
    marginMs: positive(env, 'SWEEP_MARGIN_MS', 30_000),
    attempts: Math.floor(positive(env, 'SWEEP_ATTEMPTS', 5)),
    pageSize: Math.min(100, Math.floor(positive(env, 'SWEEP_PAGE_SIZE', 100))),
  };
}

/**
 * At most `perSecond` calls per account: each call takes the next free slot of its account, spaced evenly, and once
 * its slot has come it also waits while the account already sent its share within the last second (a call whose
 * slot came late, behind a busy event loop, must not go out together with the ones after it).
 */
export class AccountRateLimiter {
  private readonly next = new Map<string, number>();
  private readonly sent = new Map<string, number[]>();
  /** calls let through, per account */
  readonly granted = new Map<string, number>();
  constructor(
    private readonly perSecond: number,
    private readonly now: () => number = Date.now,
    private readonly sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
  ) {}

  async acquire(accountId: string): Promise<void> {
    const interval = 1000 / this.perSecond;
    const t = this.now();
    const slot = Math.max(t, this.next.get(accountId) ?? t);
    this.next.set(accountId, slot + interval);
    this.granted.set(accountId, (this.granted.get(accountId) ?? 0) + 1);
    if (slot > t) await this.sleep(slot - t);
    // the sliding window: at most max(1, perSecond × window) sends within any window (1 s, or one interval when slower)
    const windowMs = Math.max(1000, interval);
    const allowed = Math.max(1, Math.floor((this.perSecond * windowMs) / 1000));
    const sent = this.sent.get(accountId) ?? [];
    this.sent.set(accountId, sent);
    for (;;) {
      const now = this.now();
      while (sent.length && sent[0] <= now - windowMs) sent.shift();
      if (sent.length < allowed) {
        sent.push(now);
        return;
      }
      await this.sleep(sent[0] + windowMs - now);
    }
  }
}

/** The sweep's own sessions: the same provisioner roles, every client call waiting for its account's rate. */
export function sweepSessions(deps: ServiceDeps, limiter: AccountRateLimiter): ProvisionerSessions {
  return new ProvisionerSessions(deps.config, deps.sessions.sts, undefined, (client, account) =>
    instrumentClient(client, account, (a) => limiter.acquire(a)),
  );
}

const CURSOR_KEY = { pk: 'SWEEP', sk: 'CURSOR' };

async function readCursor(store: Store): Promise<string | undefined> {
  const out = await store.doc.send(new GetCommand({ TableName: store.table, Key: CURSOR_KEY, ConsistentRead: true }));
  return typeof out.Item?.nextToken === 'string' ? out.Item.nextToken : undefined;
}

async function saveCursor(store: Store, nextToken: string | undefined): Promise<void> {
  if (nextToken)
    await store.doc.send(
      new PutCommand({ TableName: store.table, Item: { ...CURSOR_KEY, type: 'sweep-cursor', nextToken } }),
    );
  else await store.doc.send(new DeleteCommand({ TableName: store.table, Key: CURSOR_KEY }));
}

/**
 * Saves the finding on the record, only if the record is still the version verify read (a change meanwhile is
 * the API's, and the next sweep looks again). The version is kept: a finding is not a change of the grant, and
 * never makes an API request's conditional write fail (an API save that read the record before the finding was
 * saved keeps the finding it read, and the next sweep saves the new one).
 */
async function saveDrift(store: Store, rec: OnboardingRecord, drift: DriftState): Promise<boolean> {
  const next: OnboardingRecord = { ...rec, drift };
  return store.conditionally(
    new UpdateCommand({
      TableName: store.table,
      Key: { pk: `ONB#${rec.id}`, sk: 'RECORD' },
      UpdateExpression: 'SET #doc = :doc',
      ConditionExpression: '#version = :v AND #status = :provisioned',
      ExpressionAttributeNames: { '#doc': 'doc', '#version': 'version', '#status': 'status' },
      ExpressionAttributeValues: { ':doc': JSON.stringify(next), ':v': rec.version, ':provisioned': 'provisioned' },
    }),
  );
}

/** Runs `fn` over `items`, at most `limit` at once, starting none once `stop()` says so; true when all started. */
async function pool<T>(
  items: T[],
  limit: number,
  stop: () => boolean,
  fn: (item: T) => Promise<void>,
): Promise<boolean> {
  let i = 0;
  let stopped = false;
  const worker = async () => {
    while (i < items.length) {
      if (stop()) {
        stopped = true;
        return;
      }
      await fn(items[i++]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return !stopped && i >= items.length;
}

/**
 * One invocation of the sweep. `deps.sessions` should be rate-limited (sweepSessions); `remainingMs` is the
 * Lambda's remaining time.
 */
export async function sweep(
  deps: ServiceDeps,
  opts: SweepOptions,
  remainingMs: () => number,
  now: () => number = Date.now,
): Promise<SweepSummary> {
  const started = now();
  const summary: SweepSummary = { checked: 0, drifted: 0, durationMs: 0, complete: false, skipped: 0 };
  const outOfTime = () => remainingMs() < opts.marginMs;
  let token = await readCursor(deps.store);
  for (;;) {
    const page = await deps.store.records.list({ limit: opts.pageSize, nextToken: token });
    const active = page.items.filter((r) => r.status === 'provisioned');
    const finished = await pool(active, opts.concurrency, outOfTime, async (rec) => {
      const outcome = await checkOne(deps, rec, opts, now);
      if (outcome === 'skipped') summary.skipped++;
      else {
        summary.checked++;
        if (outcome === 'drifted') summary.drifted++;
      }
    });
    if (!finished) {
      // resume with this page next time (its records already checked are checked again: verify only reads)
      await saveCursor(deps.store, token);
      break;
    }
    token = page.nextToken;
    if (!token) {
      await saveCursor(deps.store, undefined);
      summary.complete = true;
      break;
    }
    if (outOfTime()) {
      await saveCursor(deps.store, token);
      break;
    }
  }
  summary.durationMs = now() - started;
  return summary;
}

async function checkOne(
  deps: ServiceDeps,
  listed: OnboardingRecord,
  opts: SweepOptions,
  now: () => number,
): Promise<'ok' | 'drifted' | 'skipped'> {
  for (let attempt = 1; ; attempt++) {
    // the record as verify will read it (a change since the list was read is what is checked)
    const rec = await deps.store.records.get(listed.id);
    if (!rec || rec.status !== 'provisioned') return 'skipped';
    try {
      const result = await verify(deps, rec.id);
      const drift: DriftState = {
        ok: result.ok,
        checkedAt: new Date(now()).toISOString(),
        failing: result.checks.filter((c) => !c.ok).map((c) => c.name),
      };
      if (!(await saveDrift(deps.store, rec, drift))) return 'skipped';
      return drift.ok ? 'ok' : 'drifted';
    } catch (e) {
      if (e instanceof NotFoundError) return 'skipped';
      if (e instanceof TransientError && attempt < opts.attempts) {
        await new Promise((r) => setTimeout(r, 200 * 2 ** (attempt - 1) * (0.5 + Math.random() / 2)));
        continue;
      }
      if (e instanceof TransientError) return 'skipped';
      throw e;
    }
  }
}
