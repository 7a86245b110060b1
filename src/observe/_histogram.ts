// A fixed log-scale histogram of durations, in ms: the bounded memory
// behind the metrics' percentiles. Bucket 0 holds values under MIN_MS; bucket
// i ≥ 1 holds [MIN_MS·2^((i-1)/4), MIN_MS·2^(i/4)), four buckets per octave
// (two per power of √2). A percentile is read as the geometric middle of its
// bucket, so it is within 2^(1/8) - 1 ≈ 9.1% of the exact value; it is never
// read outside the smallest and largest values recorded (so one value, or
// many equal ones, read exactly).

/** The lower bound of bucket 1: 2^-6 ms, about 16 µs. */
const MIN_MS = 1 / 64;
/** Buckets per octave. */
const PER_OCTAVE = 4;
/** Octaves covered above MIN_MS: up to 2^32 ms, about 50 days. */
const OCTAVES = 38;

/** How many buckets a histogram has; larger values share the last one. */
export const BUCKETS: number = 1 + OCTAVES * PER_OCTAVE;

/** A histogram's counts, one per bucket. */
export type Buckets = Float64Array | Uint32Array;

/** The bucket of `ms`, a finite non-negative number. */
export function bucketOf(ms: number): number {
  if (ms < MIN_MS) return 0;
  const index = 1 + Math.floor(Math.log2(ms / MIN_MS) * PER_OCTAVE);
  return index < BUCKETS ? index : BUCKETS - 1;
}

/** The value a bucket stands for: the geometric middle of its bounds. */
function _middle(bucket: number): number {
  if (bucket === 0) return MIN_MS / 2;
  return MIN_MS * Math.pow(2, (bucket - 0.5) / PER_OCTAVE);
}

/** Adds every count of `from` to `into`. */
export function addBuckets(into: Float64Array, from: Buckets): void {
  for (let i = 0; i < BUCKETS; i++) into[i]! += from[i]!;
}

/**
 * The `q` quantile (0 < q ≤ 1) of `count` values held in `buckets`, by
 * nearest rank, within [`min`, `max`]; 0 with no values.
 */
export function quantile(
  buckets: Buckets,
  count: number,
  q: number,
  min: number,
  max: number,
): number {
  if (count <= 0) return 0;
  const rank = Math.max(1, Math.ceil(q * count));
  let seen = 0;
  for (let i = 0; i < BUCKETS; i++) {
    seen += buckets[i]!;
    if (seen >= rank) return Math.max(min, Math.min(_middle(i), max));
  }
  return max;
}
