// Fixed latency histogram buckets for the rollups. Changing the bounds changes the meaning of
// stored columns, so it needs a schema migration.

/** Upper bounds (ms, exclusive) of every bucket but the last, which is open-ended. */
export const HISTOGRAM_BOUNDS_MS = [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000] as const;
export const HISTOGRAM_BUCKETS = HISTOGRAM_BOUNDS_MS.length + 1;

export function histogramBucket(ms: number): number {
  for (let i = 0; i < HISTOGRAM_BOUNDS_MS.length; i++) if (ms < HISTOGRAM_BOUNDS_MS[i]) return i;
  return HISTOGRAM_BOUNDS_MS.length;
}

/**
 * The q-quantile (0 < q ≤ 1) estimated from bucket counts, interpolating linearly inside the
 * bucket that holds it. The open-ended last bucket reports its lower bound.
 */
export function histogramQuantile(counts: readonly number[], q: number): number | undefined {
  let total = 0;
  for (const c of counts) total += c;
  if (total === 0) return undefined;
  const rank = q * total;
  let below = 0;
  for (let i = 0; i < counts.length; i++) {
    const count = counts[i];
    if (count > 0 && below + count >= rank) {
      if (i >= HISTOGRAM_BOUNDS_MS.length) return HISTOGRAM_BOUNDS_MS[HISTOGRAM_BOUNDS_MS.length - 1];
      const lower = i === 0 ? 0 : HISTOGRAM_BOUNDS_MS[i - 1];
      const upper = HISTOGRAM_BOUNDS_MS[i];
      return lower + ((upper - lower) * (rank - below)) / count;
    }
    below += count;
  }
  return HISTOGRAM_BOUNDS_MS[HISTOGRAM_BOUNDS_MS.length - 1];
}
