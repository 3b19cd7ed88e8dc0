/** A timer a clock started: Node's own handle for the wall clock. */
export interface ClockTimer {
  /** Lets the process exit while the timer is pending (a no-op on a virtual clock). */
  unref(): unknown;
}

/**
 * Time as the peer layer sees it: every timer and timestamp of src/p2p goes
 * through one clock, so the same code runs on the wall clock (the shipped
 * default) or on a simulator's virtual clock (bench/sim), where no real time
 * passes between events.
 */
export interface Clock {
  /** Unix time in milliseconds. */
  now(): number;
  setTimeout(callback: () => void, ms: number): ClockTimer;
  clearTimeout(timer: ClockTimer | undefined): void;
  setInterval(callback: () => void, ms: number): ClockTimer;
  clearInterval(timer: ClockTimer | undefined): void;
}

/** Node's timers and Date.now. */
export const wallClock: Clock = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (timer) => clearTimeout(timer as NodeJS.Timeout | undefined),
  setInterval: (callback, ms) => setInterval(callback, ms),
  clearInterval: (timer) => clearInterval(timer as NodeJS.Timeout | undefined),
};
