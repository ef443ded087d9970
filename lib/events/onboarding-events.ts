import type { Change } from '../onboarding/model/onboarding';
import type { OnboardingRecord } from '../onboarding/model/records';

/**
 * The events of an onboarding, derived from one change of its record (a DynamoDB stream record's old and new
 * images): the transactional outbox. Pure: the same change always gives the same events, with the same eventIds,
 * so a stream record delivered twice publishes events a consumer de-duplicates.
 */

export const EVENT_SOURCE = 's3-onboarding';

const DETAIL_TYPES = {
  provisioned: 'Onboarding Provisioned',
  updated: 'Onboarding Updated',
  removed: 'Onboarding Removed',
  failed: 'Onboarding Failed',
  driftDetected: 'Onboarding Drift Detected',
  driftResolved: 'Onboarding Drift Resolved',
} as const;

export type DetailType = (typeof DETAIL_TYPES)[keyof typeof DETAIL_TYPES];

/** `detail` of every event (events.schema.json). */
interface OnboardingEventDetail {
  /** stable for de-duplication: the same change of the same record always has the same id */
  eventId: string;
  id: string;
  /** the record's version after the change */
  version: number;
  status: OnboardingRecord['status'];
  roleArn: string;
  requestedBy: string;
  bucket: { name: string; accountId?: string; region: string };
  prefix: string;
  tool: string;
  /** the request's tags (the ticket) */
  tags: Record<string, string>;
  /** Provisioned, Updated, Removed, Failed: what was written in AWS (Failed: the steps that finished) */
  changes?: Change[];
  /** Failed: why (the caller-safe message the record keeps) */
  error?: string;
  /** Drift Detected: the verify checks that fail; Drift Resolved: empty */
  failing?: string[];
  /** Drift events: when the sweep checked */
  checkedAt?: string;
  /** when the change was saved (drift events: when the sweep checked) */
  time: string;
}

export interface OnboardingEvent {
  detailType: DetailType;
  detail: OnboardingEventDetail;
}

/**
 * What is live for the workload: the role, what the last fully applied change wanted (its policies and
 * statements), the identity and the tags copied onto what was created. A save that keeps it is no event.
 */
function liveDigest(r: OnboardingRecord): string {
  return JSON.stringify([r.roleArn, r.identityKey, r.desired ?? null, r.request.tags ?? {}]);
}

const sameResult = (a: OnboardingRecord, b: OnboardingRecord): boolean =>
  JSON.stringify(a.result ?? null) === JSON.stringify(b.result ?? null);

function detailOf(
  r: OnboardingRecord,
  type: DetailType,
  extra: Partial<OnboardingEventDetail>,
  discriminator = '',
): OnboardingEventDetail {
  const b = r.request.bucket;
  return {
    eventId: `${r.id}:${r.version}:${type
      .replace(/^Onboarding /, '')
      .toLowerCase()
      .replace(/ /g, '-')}${discriminator}`,
    id: r.id,
    version: r.version,
    status: r.status,
    roleArn: r.roleArn,
    requestedBy: r.requestedBy,
    bucket: { name: b.name, ...(b.accountId ? { accountId: b.accountId } : {}), region: b.region },
    prefix: b.prefix ?? '',
    tool: r.request.tool,
    tags: { ...(r.request.tags ?? {}) },
    ...extra,
    // a drift finding is saved without touching updatedAt: its event happened when the sweep checked
    time: extra.checkedAt ?? r.updatedAt,
  };
}

/**
 * The events one change of a record means. `before`/`after` undefined: the item did not exist / was removed.
 *
 * - Provisioned: a grant fully applied for the first time (its record had never held an applied result).
 * - Updated: a later full apply (a new result: it changed what is live, or wrote to AWS again to repair drift), or
 *   a save of a provisioned record that changed what is live (the role, the desired policies and statements, the
 *   identity or the tags). A repeat that changes nothing, a progress save and a rollback to the previous record
 *   are no event.
 * - Failed: a change stopped with an error recorded (a partial apply or a failed removal).
 * - Removed: the record became a tombstone. The deletion of a record that never held anything (a refused first
 *   attempt) and the expiry of a tombstone are no event.
 * - Drift Detected / Resolved: the sweep's finding turned from ok (or unknown) to drift, or from drift to ok.
 */
export function eventsOf(before: OnboardingRecord | undefined, after: OnboardingRecord | undefined): OnboardingEvent[] {
  if (!after) return [];
  const out: OnboardingEvent[] = [];
  const push = (detailType: DetailType, extra: Partial<OnboardingEventDetail>, discriminator = '') =>
    out.push({ detailType, detail: detailOf(after, detailType, extra, discriminator) });
  if (after.status === 'provisioned' && after.result) {
    const changes = after.result.changes;
    if (!before || !before.result) push(DETAIL_TYPES.provisioned, { changes });
    // from provisioned: only what the save changed (a repeat records who asked last); from an attempt: a fresh
    // result (a rollback restores the previous record, result and all)
    else if (before.status === 'provisioned' ? liveDigest(before) !== liveDigest(after) : !sameResult(before, after))
      push(DETAIL_TYPES.updated, { changes });
  }
  if (after.status === 'deleted' && before && before.status !== 'deleted') {
    push(DETAIL_TYPES.removed, { changes: before.attempt?.stepsPlanned ?? [] });
  }
  const error = after.attempt?.error;
  if (error !== undefined && before?.attempt?.error === undefined)
    push(DETAIL_TYPES.failed, { changes: after.attempt?.stepsDone ?? [], error });
  const wasDrifting = before?.drift?.ok === false;
  if (after.drift && after.status !== 'deleted') {
    if (!after.drift.ok && !wasDrifting)
      push(
        DETAIL_TYPES.driftDetected,
        { failing: after.drift.failing, checkedAt: after.drift.checkedAt },
        `:${after.drift.checkedAt}`,
      );
    if (after.drift.ok && wasDrifting)
      push(DETAIL_TYPES.driftResolved, { failing: [], checkedAt: after.drift.checkedAt }, `:${after.drift.checkedAt}`);
  }
  return out;
}
