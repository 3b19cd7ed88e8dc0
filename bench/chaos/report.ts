import { writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { percentile } from '../helpers-cluster.js';
import type { Member } from './cluster.js';
import type { LoadStats, PaymentLoad } from './load.js';
import type { Applied, HostileStats } from './perturb.js';
import type { Convergence, Violation } from './run.js';
import type { Scenario } from './scenario.js';
import type { ScheduledPerturbation } from './schedule.js';

export interface AssertionResult {
  text: string;
  pass: boolean;
  observed: string;
}

export interface RunReport {
  scenario: string;
  seed: number;
  intensity: number;
  replay: string;
  startedAt: string;
  wallSeconds: number;
  /** The machine's 1-minute load average over the run (every 5 s), and its core count. */
  loadAverage: { first: number; mean: number; max: number; last: number; cores: number };
  finalHeight: number | null;
  schedule: ScheduledPerturbation[];
  perturbations: Array<{
    kind: string;
    count: number;
    p50Ms: number | null;
    p99Ms: number | null;
    maxMs: number | null;
    neverConverged: number;
  }>;
  applied: Applied[];
  convergences: Convergence[];
  payments: {
    submitted: number;
    confirmed: number;
    conflicted: number;
    lost: number;
    refusedAtSubmit: Record<string, number>;
    unreachableAtSubmit: number;
    rebroadcasts: number;
  };
  conflictPairs: number;
  badInputs: Record<string, { tried: number; refused: number }>;
  hostile: HostileStats;
  violations: Violation[];
  nodes: Array<{
    name: string;
    restarts: number;
    peakRssMb: number;
    peakFds: number;
    firstRssMb: number | null;
    lastRssMb: number | null;
    /** RSS trend of the node's longest-lived process, when it lived long enough to judge. */
    trend: Trend | null;
    samples: Array<[number, number, number, number]>;
    /** [seconds, V8 heap used MB, major GCs so far, process life] (Member.heap). */
    heap: Array<[number, number, number, number]>;
  }>;
  assertions: AssertionResult[];
  pass: boolean;
}

/** A process must live this long for its RSS trend to be judged. */
export const TREND_MIN_LIFE_S = 1200;
/**
 * The trend is read over the last two thirds of the process's life under load: the first third
 * is warm-up (JIT code, caches and the V8 heap growing to their working size), which the soak's
 * heap snapshots showed to be most of the early growth. The slope is still given per 10 minutes.
 */
export const TREND_WINDOW_SHARE = 2 / 3;
const PER_10_MIN_S = 600;

export interface Trend {
  /** Process life (restart count) the trend was read from, and how long it lived, in seconds. */
  life: number;
  livedSeconds: number;
  /** Least-squares slope of RSS over the window (the last two thirds of the life), MB per 10 minutes. */
  rssSlopeMbPer10Min: number;
  /** Open fds at the start and the end of the window. */
  fdsFrom: number;
  fdsTo: number;
  /** The window, in seconds since the cluster started. */
  windowFrom: number;
  windowTo: number;
  /** The V8 heap after full GCs over the same window (heapAfterGc), when the node's /metrics gave it. */
  heapAfterGc?: HeapTrend | null;
}

/**
 * V8 heap in use just after full GCs: the lowest heap reading of each HEAP_BUCKET_S that saw a
 * major (mark-compact) GC. Heap in use is live objects plus garbage not yet collected, so that
 * lowest reading is an upper bound of the live heap, close to it when the reading came soon after
 * the GC; RSS also moves with when GCs happen and how much of the heap V8 keeps mapped, this does
 * not. A live-object leak shows as a slope here; flat here with RSS growing points outside the JS
 * heap (native buffers, LevelDB, allocator).
 */
export interface HeapTrend {
  /** Buckets with a major GC in them (the points of the fit). */
  points: number;
  firstMb: number;
  lastMb: number;
  slopeMbPer10Min: number;
}
export const HEAP_BUCKET_S = 120;

/** Least-squares slope of y over x. */
function slope(points: ReadonlyArray<readonly [number, number]>): number {
  const n = points.length;
  const mx = points.reduce((a, p) => a + p[0], 0) / n;
  const my = points.reduce((a, p) => a + p[1], 0) / n;
  let num = 0;
  let den = 0;
  for (const [x, y] of points) {
    num += (x - mx) * (y - my);
    den += (x - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

/**
 * The RSS trend of the longest-lived process among the samples taken up to
 * `untilSec` (the end of the load), over the last TREND_WINDOW_SHARE of its
 * life before then; null when no process lived TREND_MIN_LIFE_S.
 */
export function rssTrend(
  samples: ReadonlyArray<readonly [number, number, number, number]>,
  untilSec = Infinity,
): Trend | null {
  const lives = new Map<number, Array<readonly [number, number, number, number]>>();
  for (const s of samples) {
    if (s[0] > untilSec) continue;
    const life = lives.get(s[3]) ?? [];
    life.push(s);
    lives.set(s[3], life);
  }
  let best: { life: number; rows: Array<readonly [number, number, number, number]> } | undefined;
  for (const [life, rows] of lives) {
    const lived = (rows.at(-1)?.[0] ?? 0) - (rows[0]?.[0] ?? 0);
    const bestLived = best ? (best.rows.at(-1)?.[0] ?? 0) - (best.rows[0]?.[0] ?? 0) : -1;
    if (lived > bestLived) best = { life, rows };
  }
  if (!best) return null;
  const first = best.rows[0]?.[0] ?? 0;
  const last = best.rows.at(-1)?.[0] ?? 0;
  if (last - first < TREND_MIN_LIFE_S) return null;
  const window = best.rows.filter((r) => r[0] >= last - (last - first) * TREND_WINDOW_SHARE);
  return {
    life: best.life,
    livedSeconds: last - first,
    rssSlopeMbPer10Min: Math.round(slope(window.map((r) => [r[0], r[1]])) * PER_10_MIN_S * 10) / 10,
    fdsFrom: window[0]?.[2] ?? 0,
    fdsTo: window.at(-1)?.[2] ?? 0,
    windowFrom: window[0]?.[0] ?? 0,
    windowTo: last,
  };
}

/** heapAfterGc over the trend's life and window; null with fewer than 3 buckets that saw a major GC. */
export function heapAfterGcTrend(
  heap: ReadonlyArray<readonly [number, number, number, number]>,
  trend: Pick<Trend, 'life' | 'windowFrom' | 'windowTo'>,
): HeapTrend | null {
  const rows = heap.filter((h) => h[3] === trend.life && h[0] >= trend.windowFrom && h[0] <= trend.windowTo);
  const floors: Array<[number, number]> = [];
  for (let from = trend.windowFrom; from < trend.windowTo; from += HEAP_BUCKET_S) {
    const bucket = rows.filter((h) => h[0] >= from && h[0] < from + HEAP_BUCKET_S);
    const first = bucket[0];
    const last = bucket.at(-1);
    if (!first || !last || last[2] <= first[2]) continue;
    const low = bucket.reduce((a, b) => (b[1] < a[1] ? b : a));
    floors.push([low[0], low[1]]);
  }
  if (floors.length < 3) return null;
  return {
    points: floors.length,
    firstMb: floors[0]?.[1] ?? 0,
    lastMb: floors.at(-1)?.[1] ?? 0,
    slopeMbPer10Min: Math.round(slope(floors) * PER_10_MIN_S * 10) / 10,
  };
}

function loadSummary(samples: readonly number[]): RunReport['loadAverage'] {
  const r = (x: number) => Math.round(x * 10) / 10;
  return {
    first: r(samples[0] ?? 0),
    mean: r(samples.reduce((a, b) => a + b, 0) / Math.max(1, samples.length)),
    max: r(Math.max(0, ...samples)),
    last: r(samples.at(-1) ?? 0),
    cores: availableParallelism(),
  };
}

function withHeap(trend: Trend | null, heap: Member['heap']): Trend | null {
  return trend && { ...trend, heapAfterGc: heapAfterGcTrend(heap, trend) };
}

export function buildReport(input: {
  scenario: Scenario;
  seed: number;
  intensity: number;
  startedAt: number;
  schedule: ScheduledPerturbation[];
  applied: Applied[];
  convergences: Convergence[];
  load: PaymentLoad;
  violations: Violation[];
  members: Member[];
  heightReachedAt: Map<number, number>;
  /** When the load stopped, in the samples' time base (seconds since the cluster started). */
  loadEndSec: number;
  hostile: HostileStats;
  finalHeight: number | null;
  /** How the run named its scenario on the command line (a path, --docker), for the replay line. */
  scenarioArgs?: string | undefined;
  loadAverages: readonly number[];
}): RunReport {
  const { load, convergences } = input;
  const kinds = [...new Set(convergences.map((c) => c.kind))].sort();
  const perturbations = kinds.map((kind) => {
    const times = convergences
      .filter((c) => c.kind === kind && c.ms !== null)
      .map((c) => c.ms as number)
      .sort((a, b) => a - b);
    return {
      kind,
      count: convergences.filter((c) => c.kind === kind).length,
      p50Ms: times.length ? percentile(times, 50) : null,
      p99Ms: times.length ? percentile(times, 99) : null,
      maxMs: times.length ? (times.at(-1) as number) : null,
      neverConverged: convergences.filter((c) => c.kind === kind && c.ms === null).length,
    };
  });
  const statuses = [...load.payments.values()].map((p) => p.status);
  const stats: LoadStats = load.stats;
  const payments = {
    submitted: stats.submitted,
    confirmed: statuses.filter((s) => s === 'deep' || s === 'confirmed').length,
    conflicted: statuses.filter((s) => s === 'conflicted').length,
    lost: statuses.filter((s) => s === 'lost' || s === 'pending').length,
    refusedAtSubmit: stats.refusedAtSubmit,
    unreachableAtSubmit: stats.unreachable,
    rebroadcasts: stats.rebroadcasts,
  };
  const badInputs: RunReport['badInputs'] = {};
  for (const k of Object.keys(stats.invalidTried) as Array<keyof LoadStats['invalidTried']>) {
    badInputs[k] = { tried: stats.invalidTried[k], refused: stats.invalidRefused[k] };
  }
  const nodes = input.members.map((m) => ({
    name: m.name,
    restarts: m.restarts,
    peakRssMb: Math.round(m.peakRssBytes / 1024 / 1024),
    peakFds: m.peakFds,
    firstRssMb: m.samples[0]?.[1] ?? null,
    lastRssMb: m.samples.at(-1)?.[1] ?? null,
    trend: withHeap(rssTrend(m.samples, input.loadEndSec), m.heap),
    samples: m.samples,
    heap: m.heap,
  }));
  const allTimes = convergences
    .filter((c) => c.ms !== null)
    .map((c) => c.ms as number)
    .sort((a, b) => a - b);
  const assertions = input.scenario.parsedAssertions.map((a): AssertionResult => {
    switch (a.kind) {
      case 'height-within': {
        const ms = input.heightReachedAt.get(a.height);
        return {
          text: a.text,
          pass: ms !== undefined && ms <= a.withinSec * 1000,
          observed: ms === undefined ? 'never' : `${(ms / 1000).toFixed(1)} s`,
        };
      }
      case 'lost-payments':
        return { text: a.text, pass: payments.lost <= a.max, observed: String(payments.lost) };
      case 'violations':
        return {
          text: a.text,
          pass: input.violations.length <= a.max,
          observed: String(input.violations.length),
        };
      case 'convergence': {
        const v = allTimes.length ? percentile(allTimes, a.percentile) : 0;
        const never = convergences.some((c) => c.ms === null);
        return {
          text: a.text,
          pass: !never && v <= a.maxSec * 1000,
          observed: never ? 'a heal never converged' : `${(v / 1000).toFixed(1)} s`,
        };
      }
      case 'peak-rss': {
        const peak = Math.max(0, ...nodes.map((n) => n.peakRssMb));
        return { text: a.text, pass: peak <= a.maxMb, observed: `${peak} MB` };
      }
      case 'confirmed-payments':
        return { text: a.text, pass: payments.confirmed >= a.min, observed: String(payments.confirmed) };
      case 'rss-slope': {
        // Judged on every node whose process lived long enough; a run where none did proves nothing.
        const judged = nodes.filter((n) => n.trend !== null);
        const worst = Math.max(...judged.map((n) => n.trend?.rssSlopeMbPer10Min ?? 0));
        return {
          text: a.text,
          pass: judged.length > 0 && worst <= a.maxMbPer10Min,
          observed:
            judged.length === 0
              ? `no process lived ${TREND_MIN_LIFE_S / 60} min`
              : `worst ${worst} MB per 10 min over ${judged.length} long-lived processes`,
        };
      }
    }
  });
  const pass = assertions.every((a) => a.pass) && input.violations.length === 0 && payments.lost === 0;
  return {
    scenario: input.scenario.name,
    seed: input.seed,
    intensity: input.intensity,
    // Everything the schedule depends on, so that flags that overrode the file replay too.
    replay: `npx tsx bench/chaos/main.ts ${input.scenarioArgs ?? `--scenario ${input.scenario.name}`} --seed ${input.seed} --intensity ${input.intensity} --nodes ${input.scenario.nodes} --duration ${input.scenario.duration}`,
    startedAt: new Date(input.startedAt).toISOString(),
    wallSeconds: Math.round((Date.now() - input.startedAt) / 1000),
    loadAverage: loadSummary(input.loadAverages),
    finalHeight: input.finalHeight,
    schedule: input.schedule,
    perturbations,
    applied: input.applied,
    convergences,
    payments,
    conflictPairs: stats.conflictPairs,
    badInputs,
    hostile: input.hostile,
    violations: input.violations,
    nodes,
    assertions,
    pass,
  };
}

const sec = (ms: number | null) => (ms === null ? '—' : `${(ms / 1000).toFixed(1)} s`);

export function markdown(reports: readonly RunReport[]): string {
  const out: string[] = ['# Chaos run', ''];
  for (const r of reports) {
    out.push(`## ${r.scenario} — seed ${r.seed}, intensity ${r.intensity}: ${r.pass ? 'PASS' : 'FAIL'}`, '');
    const la = r.loadAverage;
    out.push(
      `Replay: \`${r.replay}\` · ${r.wallSeconds} s wall · final height ${r.finalHeight ?? '—'} · load average ${la.first} → ${la.last} (mean ${la.mean}, max ${la.max}, ${la.cores} cores)`,
      '',
    );
    out.push(
      '| perturbation | applied | convergence p50 | p99 | max | never converged |',
      '|---|---:|---:|---:|---:|---:|',
    );
    for (const p of r.perturbations)
      out.push(
        `| ${p.kind} | ${p.count} | ${sec(p.p50Ms)} | ${sec(p.p99Ms)} | ${sec(p.maxMs)} | ${p.neverConverged} |`,
      );
    if (r.perturbations.length === 0) out.push('| (none) | 0 | — | — | — | 0 |');
    const pay = r.payments;
    out.push(
      '',
      '| payments submitted | confirmed | conflicted (own double spend) | lost | refused at submit | conflict pairs |',
      '|---:|---:|---:|---:|---:|---:|',
    );
    out.push(
      `| ${pay.submitted} | ${pay.confirmed} | ${pay.conflicted} | ${pay.lost} | ${Object.values(pay.refusedAtSubmit).reduce((a, b) => a + b, 0)} | ${r.conflictPairs} |`,
    );
    out.push('', '| bad input | tried | refused |', '|---|---:|---:|');
    for (const [k, v] of Object.entries(r.badInputs)) out.push(`| ${k} | ${v.tried} | ${v.refused} |`);
    if (Object.keys(r.hostile.attacks).length > 0) {
      out.push('', '| hostile peer sent | requests | refused | answered 2xx |', '|---|---:|---:|---:|');
      for (const [k, v] of Object.entries(r.hostile.attacks))
        out.push(`| ${k} | ${v.sent} | ${v.refused} | ${v.accepted} |`);
      out.push(
        '',
        `Fake addresses left in peer books 30 s after each flood: ${r.hostile.fakePeersAfter30s.join(', ')}`,
      );
    }
    out.push(
      '',
      `| node | restarts | peak RSS | RSS first → last | peak fds | RSS slope per 10 min, last two thirds of the load of its longest life | fds over that window | heap after full GC over that window: first → last, slope per 10 min |`,
      '|---|---:|---:|---:|---:|---:|---:|---:|',
    );
    for (const n of r.nodes) {
      const t = n.trend;
      const h = t?.heapAfterGc;
      out.push(
        `| ${n.name} | ${n.restarts} | ${n.peakRssMb} MB | ${n.firstRssMb ?? '—'} → ${n.lastRssMb ?? '—'} MB | ${n.peakFds} | ${t ? `${t.rssSlopeMbPer10Min} MB / 10 min (lived ${Math.round(t.livedSeconds / 60)} min)` : '—'} | ${t ? `${t.fdsFrom} → ${t.fdsTo}` : '—'} | ${h ? `${h.firstMb} → ${h.lastMb} MB, ${h.slopeMbPer10Min} MB / 10 min (${h.points} × ${HEAP_BUCKET_S / 60} min)` : '—'} |`,
      );
    }
    if (r.wallSeconds >= TREND_MIN_LIFE_S) out.push('', ...rssOverTime(r));
    out.push('', `Invariant violations: ${r.violations.length}`);
    for (const v of r.violations)
      out.push(`- at ${v.at} s, ${v.kind}: ${v.detail.replace(/\n/g, ' ').slice(0, 400)}`);
    out.push('', '| assertion | observed | result |', '|---|---|---|');
    for (const a of r.assertions) out.push(`| ${a.text} | ${a.observed} | ${a.pass ? 'pass' : 'FAIL'} |`);
    out.push('');
  }
  return out.join('\n');
}

/** RSS (MB) / fds per node every 5 minutes, for reading a long run's memory over time. */
function rssOverTime(r: RunReport): string[] {
  const step = 300;
  const end = Math.max(0, ...r.nodes.map((n) => n.samples.at(-1)?.[0] ?? 0));
  const marks: number[] = [];
  for (let t = 0; t <= end; t += step) marks.push(t);
  const out = [
    'RSS MB / open fds over time (the sample nearest each mark; * = restarted since the previous mark):',
    '',
    `| node | ${marks.map((t) => `${t / 60} min`).join(' | ')} |`,
    `|---|${marks.map(() => '---:').join('|')}|`,
  ];
  for (const n of r.nodes) {
    let lastLife = -1;
    const cells = marks.map((t) => {
      const s = n.samples.find((x) => x[0] >= t);
      if (!s || s[0] - t >= step) return '—';
      const restarted = lastLife >= 0 && s[3] !== lastLife;
      lastLife = s[3];
      return `${s[1]}/${s[2]}${restarted ? '*' : ''}`;
    });
    out.push(`| ${n.name} | ${cells.join(' | ')} |`);
  }
  return out;
}

export function summary(r: RunReport): string {
  const conv = r.perturbations
    .map((p) => `${p.kind}×${p.count} p50 ${sec(p.p50Ms)} p99 ${sec(p.p99Ms)}`)
    .join('; ');
  const peak = Math.max(0, ...r.nodes.map((n) => n.peakRssMb));
  return [
    `${r.pass ? 'PASS' : 'FAIL'} ${r.scenario} seed ${r.seed}: ${r.applied.length} perturbations (${conv || 'none'})`,
    `  load average ${r.loadAverage.first} → ${r.loadAverage.last} (mean ${r.loadAverage.mean}, max ${r.loadAverage.max}, ${r.loadAverage.cores} cores); payments ${r.payments.submitted} submitted, ${r.payments.confirmed} confirmed, ${r.payments.conflicted} conflicted, ${r.payments.lost} lost; violations ${r.violations.length}; peak RSS ${peak} MB; final height ${r.finalHeight}`,
    ...r.assertions.map((a) => `  ${a.pass ? 'ok  ' : 'FAIL'} ${a.text} (observed ${a.observed})`),
  ].join('\n');
}

export function writeReports(dir: string, reports: readonly RunReport[]): void {
  writeFileSync(join(dir, 'report.json'), JSON.stringify(reports, null, 2));
  writeFileSync(join(dir, 'report.md'), markdown(reports));
}
