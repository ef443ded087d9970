/** The emulator's call log, and what the benchmark derives from it. */

import type { CallRecord } from '../../emulator/state';

export type { CallRecord };

/**
 * Calls the service itself made: everything done with a provisioner session, plus the API role's
 * AssumeRole calls that obtain those sessions (the pods', the benchmark's and root calls are left out).
 */
export const isServiceCall = (c: CallRecord): boolean =>
  !!c.principalArn &&
  (c.principalArn.includes(':assumed-role/s3-onboarding-provisioner/') ||
    (c.principalArn.includes(':assumed-role/s3-onboarding-api/') &&
      c.service === 'sts' &&
      c.operation === 'AssumeRole'));

export const serviceCalls = (calls: CallRecord[]): CallRecord[] => calls.filter(isServiceCall);

export const label = (c: CallRecord): string => `${c.service}:${c.operation}`;

/**
 * Depth of the longest chain of calls that waited on each other: B waited on A when B started at or after
 * A ended (A.start + A.duration <= B.start + slack; the log has millisecond resolution). Returns the depth
 * (number of calls on the chain) and one longest chain, for the report.
 */
export function chainDepth(calls: CallRecord[], slackMs = 5): { depth: number; chain: string[] } {
  const xs = calls
    .map((c) => ({ c, start: Date.parse(c.startedAt), end: Date.parse(c.startedAt) + c.durationMs }))
    .sort((a, b) => a.start - b.start || a.c.seq - b.c.seq);
  const best: number[] = [];
  const prev: number[] = [];
  for (let j = 0; j < xs.length; j++) {
    best[j] = 1;
    prev[j] = -1;
    for (let i = 0; i < j; i++) {
      if (xs[i].end <= xs[j].start + slackMs && best[i] + 1 > best[j]) {
        best[j] = best[i] + 1;
        prev[j] = i;
      }
    }
  }
  if (!xs.length) return { depth: 0, chain: [] };
  let k = best.indexOf(Math.max(...best));
  const chain: string[] = [];
  while (k >= 0) {
    chain.unshift(label(xs[k].c));
    k = prev[k];
  }
  return { depth: chain.length, chain };
}
