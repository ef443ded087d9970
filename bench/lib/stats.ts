/** Summary statistics over samples, always computed on a sorted copy. */

export const sorted = (xs: readonly number[]): number[] => [...xs].sort((a, b) => a - b);

/** Nearest-rank percentile (p in 0..100): the smallest sample with at least p % of the samples at or below it. */
export function percentile(xs: readonly number[], p: number): number {
  if (!xs.length) return NaN;
  const s = sorted(xs);
  const rank = Math.max(1, Math.ceil((p / 100) * s.length));
  return s[Math.min(rank, s.length) - 1];
}

/** The middle sample, or the mean of the two middle samples. */
export function median(xs: readonly number[]): number {
  if (!xs.length) return NaN;
  const s = sorted(xs);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export const max = (xs: readonly number[]): number => (xs.length ? Math.max(...xs) : NaN);
export const min = (xs: readonly number[]): number => (xs.length ? Math.min(...xs) : NaN);

export interface Summary {
  n: number;
  median: number;
  p95: number;
  min: number;
  max: number;
}

export const summary = (xs: readonly number[]): Summary => ({
  n: xs.length,
  median: round(median(xs)),
  p95: round(percentile(xs, 95)),
  min: round(min(xs)),
  max: round(max(xs)),
});

export const round = (x: number, digits = 1): number =>
  Number.isFinite(x) ? Math.round(x * 10 ** digits) / 10 ** digits : x;
