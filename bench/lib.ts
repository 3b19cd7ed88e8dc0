/**
 * Helpers shared by bench/*.bench.ts. A bench is a plain script run in its own
 * process by bench/run.ts; it reports each measurement with `report()`, which
 * prints one tagged JSON line that the runner collects (anything else the bench
 * prints is passed through as log output).
 */

export const ROW_TAG = '@@bench-row ';

export interface BenchRow {
  /** Bench file the row came from (filled in by the runner). */
  bench?: string;
  name: string;
  value: number;
  unit: string;
  /** Human-readable goal, e.g. "≥ 35 %". */
  target?: string;
  /** Absent when the row is informational. */
  pass?: boolean;
  note?: string;
}

export interface ReportOptions {
  /** Goal: value ≥ min. */
  min?: number;
  /** Goal: value ≤ max. */
  max?: number;
  note?: string;
}

export function report(name: string, value: number, unit: string, opts: ReportOptions = {}): BenchRow {
  const row: BenchRow = { name, value, unit };
  const goals: string[] = [];
  let pass: boolean | undefined;
  if (opts.min !== undefined) {
    goals.push(`≥ ${opts.min}`);
    pass = value >= opts.min;
  }
  if (opts.max !== undefined) {
    goals.push(`≤ ${opts.max}`);
    pass = (pass ?? true) && value <= opts.max;
  }
  if (goals.length > 0) row.target = goals.join(', ');
  if (pass !== undefined) row.pass = pass;
  if (opts.note !== undefined) row.note = opts.note;
  process.stdout.write(ROW_TAG + JSON.stringify(row) + '\n');
  return row;
}

/**
 * Runs `batch` (which performs `perBatch` operations) repeatedly for about
 * `durationMs` after a short warm-up, returning operations per second.
 */
export function opsPerSecond(batch: () => void, perBatch: number, durationMs: number): number {
  const warmUntil = performance.now() + Math.min(300, durationMs / 5);
  while (performance.now() < warmUntil) batch();
  let ops = 0;
  const start = performance.now();
  let now = start;
  while (now - start < durationMs) {
    batch();
    ops += perBatch;
    now = performance.now();
  }
  return (ops * 1000) / (now - start);
}

/** Median of `runs` timings (ms) of an async or sync function, after one warm-up call. */
export async function medianMs(fn: () => unknown, runs: number): Promise<number> {
  await fn();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)] as number;
}

export function round(n: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}
