import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadScenario, parseAssertion, validateScenario } from '../../bench/chaos/scenario.js';
import { buildSchedule } from '../../bench/chaos/schedule.js';
import { heapAfterGcTrend, rssTrend } from '../../bench/chaos/report.js';

const SCENARIOS = join(import.meta.dirname, '..', '..', 'scenarios');

describe('chaos scenarios', () => {
  it('every shipped scenario file is valid', () => {
    const files = readdirSync(SCENARIOS).filter((f) => f.endsWith('.yaml'));
    expect(files.length).toBeGreaterThanOrEqual(5);
    for (const f of files) expect(loadScenario(join(SCENARIOS, f)).name).toBe(f.replace(/\.yaml$/, ''));
  });

  it('names each bad field in one error, one line per problem', () => {
    const doc = {
      name: 'Bad Name',
      nodes: 0,
      load: { paymentsPerSecond: -1, typo: 1 },
      perturbations: { kinds: ['kill', 'meteor'] },
      assertions: ['the moon is out'],
    };
    let message = '';
    try {
      validateScenario(doc, 'bad.yaml');
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/^bad\.yaml: invalid scenario/);
    expect(message).toMatch(/name: lower-case letters/);
    expect(message).toMatch(/nodes: /);
    expect(message).toMatch(/load\.paymentsPerSecond: /);
    expect(message).toMatch(/load: .*typo/);
    expect(message).toMatch(/perturbations\.kinds\.1: /);
  });

  it('refuses an assertion it cannot check, listing the forms it knows', () => {
    expect(() => validateScenario({ name: 'x', assertions: ['no bugs please'] }, 'x.yaml')).toThrow(
      /assertions\.0: "no bugs please" is not one of: every node at height/,
    );
    expect(() =>
      validateScenario(
        { name: 'x', duration: 30, perturbations: { at: [{ at: 40, kind: 'kill' }] } },
        'x.yaml',
      ),
    ).toThrow(/perturbations\.at\.0\.at: 40 s is after the scenario's duration/);
  });

  it('parses the assertion forms a scenario author writes', () => {
    expect(parseAssertion('every node at height ≥ 20 within 60 s')).toMatchObject({
      kind: 'height-within',
      height: 20,
      withinSec: 60,
    });
    expect(parseAssertion('0 lost payments')).toMatchObject({ kind: 'lost-payments', max: 0 });
    expect(parseAssertion('convergence p99 <= 10 s')).toMatchObject({
      kind: 'convergence',
      percentile: 99,
      maxSec: 10,
    });
    expect(parseAssertion('peak RSS <= 300 MB')).toMatchObject({ kind: 'peak-rss', maxMb: 300 });
  });

  it('replays: the same seed gives the same schedule, another seed a different one', () => {
    const s = loadScenario(join(SCENARIOS, 'kill-storm.yaml'));
    const a = buildSchedule(s, 42, 1);
    expect(a.length).toBeGreaterThan(3);
    expect(buildSchedule(s, 42, 1)).toEqual(a);
    expect(buildSchedule(s, 43, 1)).not.toEqual(a);
    // Intensity scales the rate.
    expect(buildSchedule(s, 42, 2).length).toBeGreaterThan(a.length);
    for (const p of a) expect(p.at).toBeLessThan(s.duration);
  });
});

describe('the soak RSS trend', () => {
  const life = (from: number, to: number, mb: (t: number) => number, n: number) =>
    Array.from({ length: (to - from) / 5 + 1 }, (_, i) => {
      const t = from + i * 5;
      return [t, mb(t), 50, n] as [number, number, number, number];
    });

  it('is the slope over the last two thirds of the load of the longest-lived process', () => {
    // A short first life, a restart, then 30 min growing 1 MB a minute, then a drain that jumps.
    const samples = [
      ...life(0, 300, () => 200, 0),
      ...life(305, 2105, (t) => 80 + t / 60, 1),
      ...life(2110, 2300, () => 400, 1),
    ];
    const trend = rssTrend(samples, 2105);
    expect(trend).toMatchObject({ life: 1, livedSeconds: 1800, rssSlopeMbPer10Min: 10 });
    expect(rssTrend(samples, 2105)?.rssSlopeMbPer10Min).toBeLessThan(rssTrend(samples)!.rssSlopeMbPer10Min);
  });

  it('leaves the warm-up third out, and sees growth that stopped before the last 10 minutes', () => {
    const warmUpThenFlat = life(0, 1800, (t) => (t < 600 ? 60 + t / 20 : 90), 0);
    expect(rssTrend(warmUpThenFlat)?.rssSlopeMbPer10Min).toBe(0);
    const growsInTheMiddle = life(
      0,
      1800,
      (t) => (t < 600 ? 60 + t / 20 : 90 + Math.min(t - 600, 600) / 60),
      0,
    );
    expect(rssTrend(growsInTheMiddle)?.rssSlopeMbPer10Min).toBeGreaterThan(3);
  });

  it('judges nothing when no process lived 20 minutes', () => {
    expect(rssTrend([...life(0, 900, () => 100, 0), ...life(905, 1800, () => 100, 1)])).toBeNull();
  });

  it('reads the heap after full GCs: the lowest reading of each 2 minutes that saw a major GC', () => {
    // Garbage piles up between GCs (a sawtooth every 50 s); the live heap under it grows 1 MB a
    // minute from 20 MB; one bucket sees no major GC and its high readings are left out.
    const heap = Array.from({ length: 1800 / 5 + 1 }, (_, i) => {
      const t = i * 5;
      const live = 20 + t / 60;
      const quiet = t >= 1200 && t < 1320;
      return [t, quiet ? live + 30 : live + (t % 50) / 5, quiet ? 24 : Math.floor(t / 50), 0] as [
        number,
        number,
        number,
        number,
      ];
    });
    const trend = heapAfterGcTrend(heap, { life: 0, windowFrom: 600, windowTo: 1800 });
    expect(trend?.points).toBe(9);
    expect(trend?.slopeMbPer10Min).toBeCloseTo(10, 0);
    expect(trend?.firstMb).toBe(30);
    const flat = heap.map(
      ([t, , gcs, l]) => [t, 40 + (t % 50) / 5, gcs, l] as [number, number, number, number],
    );
    expect(heapAfterGcTrend(flat, { life: 0, windowFrom: 600, windowTo: 1800 })?.slopeMbPer10Min).toBe(0);
    // Another life's readings, or too few GCs, judge nothing.
    expect(heapAfterGcTrend(heap, { life: 1, windowFrom: 600, windowTo: 1800 })).toBeNull();
  });
});
