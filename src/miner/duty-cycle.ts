/**
 * Mining intensity as a duty cycle: each worker hashes for `workMs` then
 * sleeps for `sleepMs` in every period, so the node uses about
 * `intensityPercent` of one core in total however many workers it runs — a
 * laptop running several containers stays usable.
 */
export interface DutyCycle {
  readonly workMs: number;
  readonly sleepMs: number;
}

export const DEFAULT_PERIOD_MS = 100;

/** Full speed: hash without pausing (on-demand generation). */
export const FULL_SPEED: DutyCycle = { workMs: DEFAULT_PERIOD_MS, sleepMs: 0 };

export function dutyCycle(
  intensityPercent: number,
  threads: number,
  periodMs = DEFAULT_PERIOD_MS,
): DutyCycle {
  if (!(intensityPercent > 0) || intensityPercent > 100)
    throw new RangeError('intensity must be in (0, 100]');
  if (!Number.isInteger(threads) || threads < 1) throw new RangeError('threads must be a positive integer');
  const share = intensityPercent / 100 / threads;
  // At least 1 ms of work per period so a tiny intensity still makes progress.
  const workMs = Math.max(1, Math.round(periodMs * share));
  return { workMs, sleepMs: Math.max(0, periodMs - workMs) };
}
