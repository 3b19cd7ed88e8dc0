/**
 * Helpers shared by bench/*.bench.ts. A bench is a plain script run in its own
 * process by bench/run.ts; it reports each measurement with `report()`, which
 * prints one tagged JSON line that the runner collects (anything else the bench
 * prints is passed through as log output).
 */

import os from 'node:os';

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

export interface Rates {
  /** Operations per second of elapsed time. */
  wall: number;
  /** Operations per second of this process's CPU time (user + system), as `openssl speed` counts. */
  cpu: number;
}

/**
 * Like opsPerSecond, also dividing by the CPU time the process used, which a
 * loaded machine does not inflate. Only meaningful while no other thread of
 * this process is busy.
 */
export function rates(batch: () => void, perBatch: number, durationMs: number): Rates {
  const warmUntil = performance.now() + Math.min(300, durationMs / 5);
  while (performance.now() < warmUntil) batch();
  let ops = 0;
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  let now = start;
  while (now - start < durationMs) {
    batch();
    ops += perBatch;
    now = performance.now();
  }
  const cpu = process.cpuUsage(cpu0);
  return { wall: (ops * 1000) / (now - start), cpu: (ops * 1e6) / (cpu.user + cpu.system) };
}

/** Best wall and best CPU rate over `windows` windows of `windowMs`. */
export function bestRates(batch: () => void, perBatch: number, windows: number, windowMs: number): Rates {
  const best: Rates = { wall: 0, cpu: 0 };
  for (let i = 0; i < windows; i++) {
    const r = rates(batch, perBatch, windowMs);
    best.wall = Math.max(best.wall, r.wall);
    best.cpu = Math.max(best.cpu, r.cpu);
  }
  return best;
}

/** One-line description of the machine's load, for the notes of timing rows. */
export function loadNote(): string {
  return `load avg ${os.loadavg()[0]?.toFixed(1)}`;
}

/**
 * Best rate over `windows` separate windows of `windowMs` each. On a shared
 * machine other processes steal whole windows; the best window is the
 * closest estimate of what the code does on an otherwise idle core.
 */
export function bestOpsPerSecond(
  batch: () => void,
  perBatch: number,
  windows: number,
  windowMs: number,
): number {
  let best = 0;
  for (let i = 0; i < windows; i++) best = Math.max(best, opsPerSecond(batch, perBatch, windowMs));
  return best;
}

/** Fastest of `runs` timings (ms) of an async or sync function, after one warm-up call; see bestOpsPerSecond. */
export async function bestMs(fn: () => unknown, runs: number): Promise<number> {
  await fn();
  let best = Infinity;
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await fn();
    best = Math.min(best, performance.now() - t0);
  }
  return best;
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
  return median(times);
}

/** The middle value; for an even count, the mean of the two middle ones. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((x, y) => x - y);
  const mid = sorted.length >> 1;
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

export function round(n: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}
