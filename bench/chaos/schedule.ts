import { Rng } from './rng.js';
import type { PerturbationKind, Scenario } from './scenario.js';

export interface ScheduledPerturbation {
  /** Seconds after the load starts. */
  at: number;
  kind: PerturbationKind;
  /** Seconds the fault lasts (ignored by instantaneous kinds such as kill). */
  duration: number;
  /** A member name, or a draw in [0, 1) that picks among the members live at that moment. */
  target: string | number;
}

/**
 * The whole schedule of a run, computed up front from the seed alone: the
 * same seed and scenario give the same list on every machine, whatever the
 * nodes do. Perturbations run one after another (each waits for the previous
 * one to heal), so a gap is drawn after each.
 */
export function buildSchedule(scenario: Scenario, seed: number, intensity: number): ScheduledPerturbation[] {
  const rng = new Rng(seed, 1);
  const { perturbations: p, duration } = scenario;
  const out: ScheduledPerturbation[] = p.at.map((f) => ({
    at: f.at,
    kind: f.kind,
    duration: f.duration ?? p.minDuration,
    target: f.target ?? rng.next(),
  }));
  const perMinute = p.perMinute * intensity;
  if (perMinute > 0) {
    const meanGap = 60 / perMinute;
    // Leave the first 10 s to the load alone, and the last 10 s free of new faults.
    for (let at = 10 + rng.next() * meanGap; at < duration - 10;) {
      const kind = rng.pick(p.kinds);
      const length = p.minDuration + rng.next() * (p.maxDuration - p.minDuration);
      out.push({ at: round(at), kind, duration: round(length), target: rng.next() });
      at += meanGap * (0.5 + rng.next());
    }
  }
  return out.sort((a, b) => a.at - b.at);
}

function round(x: number): number {
  return Math.round(x * 10) / 10;
}
