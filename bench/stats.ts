// Percentiles of raw samples (no histogram rounding): the benchmark keeps
// every sample, so p99 is the 99th-percentile sample itself.

export interface Summary {
  count: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
}

export function summarize(samples: Float64Array | number[]): Summary {
  const sorted = Float64Array.from(samples).sort();
  const n = sorted.length;
  if (n === 0) return { count: 0, mean: NaN, p50: NaN, p90: NaN, p99: NaN, p999: NaN, max: NaN };
  let sum = 0;
  for (const v of sorted) sum += v;
  return {
    count: n,
    mean: sum / n,
    p50: percentile(sorted, 0.5),
    p90: percentile(sorted, 0.9),
    p99: percentile(sorted, 0.99),
    p999: percentile(sorted, 0.999),
    max: sorted[n - 1]!,
  };
}

/** Nearest-rank percentile of sorted samples. */
export function percentile(sorted: Float64Array, q: number): number {
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank]!;
}

/**
 * CPU microseconds per call of `each(offset + i)` over `n` calls (process.cpuUsage, all threads): how
 * decision_cpu_us_server and bench/ab.ts time a block of decisions, and the parsing they subtract.
 */
export function cpuUsPerCall(each: (i: number) => void, n: number, offset: number): number {
  const c0 = process.cpuUsage();
  for (let i = 0; i < n; i++) each(offset + i);
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / n;
}

export const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

export const round = (v: number, digits = 1): number => (Number.isFinite(v) ? Number(v.toFixed(digits)) : v);
