import { writeFileSync } from 'node:fs';
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
    samples: Array<[number, number, number]>;
  }>;
  assertions: AssertionResult[];
  pass: boolean;
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
  hostile: HostileStats;
  finalHeight: number | null;
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
    samples: m.samples,
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
    }
  });
  const pass = assertions.every((a) => a.pass) && input.violations.length === 0 && payments.lost === 0;
  return {
    scenario: input.scenario.name,
    seed: input.seed,
    intensity: input.intensity,
    replay: `npx tsx bench/chaos/main.ts --scenario ${input.scenario.name} --seed ${input.seed} --intensity ${input.intensity}`,
    startedAt: new Date(input.startedAt).toISOString(),
    wallSeconds: Math.round((Date.now() - input.startedAt) / 1000),
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
    out.push(`Replay: \`${r.replay}\` · ${r.wallSeconds} s wall · final height ${r.finalHeight ?? '—'}`, '');
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
    out.push('', '| node | restarts | peak RSS | RSS first → last | peak fds |', '|---|---:|---:|---:|---:|');
    for (const n of r.nodes)
      out.push(
        `| ${n.name} | ${n.restarts} | ${n.peakRssMb} MB | ${n.firstRssMb ?? '—'} → ${n.lastRssMb ?? '—'} MB | ${n.peakFds} |`,
      );
    out.push('', `Invariant violations: ${r.violations.length}`);
    for (const v of r.violations)
      out.push(`- at ${v.at} s, ${v.kind}: ${v.detail.replace(/\n/g, ' ').slice(0, 400)}`);
    out.push('', '| assertion | observed | result |', '|---|---|---|');
    for (const a of r.assertions) out.push(`| ${a.text} | ${a.observed} | ${a.pass ? 'pass' : 'FAIL'} |`);
    out.push('');
  }
  return out.join('\n');
}

export function summary(r: RunReport): string {
  const conv = r.perturbations
    .map((p) => `${p.kind}×${p.count} p50 ${sec(p.p50Ms)} p99 ${sec(p.p99Ms)}`)
    .join('; ');
  const peak = Math.max(0, ...r.nodes.map((n) => n.peakRssMb));
  return [
    `${r.pass ? 'PASS' : 'FAIL'} ${r.scenario} seed ${r.seed}: ${r.applied.length} perturbations (${conv || 'none'})`,
    `  payments ${r.payments.submitted} submitted, ${r.payments.confirmed} confirmed, ${r.payments.conflicted} conflicted, ${r.payments.lost} lost; violations ${r.violations.length}; peak RSS ${peak} MB; final height ${r.finalHeight}`,
    ...r.assertions.map((a) => `  ${a.pass ? 'ok  ' : 'FAIL'} ${a.text} (observed ${a.observed})`),
  ].join('\n');
}

export function writeReports(dir: string, reports: readonly RunReport[]): void {
  writeFileSync(join(dir, 'report.json'), JSON.stringify(reports, null, 2));
  writeFileSync(join(dir, 'report.md'), markdown(reports));
}
