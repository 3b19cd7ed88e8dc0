import type { Clock, ClockTimer } from '../../src/p2p/index.js';

/** 2026-01-01T00:00:00Z: every run starts at the same virtual time (block times derive from it). */
export const SIM_EPOCH_MS = Date.UTC(2026, 0, 1);

class VirtualTimer implements ClockTimer {
  cancelled = false;
  constructor(
    readonly callback: () => void,
    /** Repeats every this many ms (setInterval), else fires once. */
    readonly everyMs: number | undefined,
  ) {}

  unref(): this {
    return this;
  }
}

interface Due {
  at: number;
  seq: number;
  timer: VirtualTimer;
}

/**
 * A discrete-event clock: timers wait in a priority queue ordered by due time
 * (ties: the order they were set), and `run` jumps from one to the next, so no
 * real time passes between events. After each callback the microtasks it
 * started (the promise chains of the real p2p code) run to their next timer
 * before the clock moves on: the code sees time move only through its timers.
 */
export class VirtualClock implements Clock {
  private time: number;
  private seq = 0;
  private readonly heap: Due[] = [];
  /** Callbacks run so far (a measure of the simulation's work). */
  events = 0;

  constructor(startMs = SIM_EPOCH_MS) {
    this.time = startMs;
  }

  /** Whole milliseconds, as Date.now (timestamps on the wire are integers); timers keep sub-ms precision. */
  now(): number {
    return Math.floor(this.time);
  }

  /** The exact virtual time (sub-millisecond), for the network model and measurements. */
  exactNow(): number {
    return this.time;
  }

  setTimeout(callback: () => void, ms: number): ClockTimer {
    const timer = new VirtualTimer(callback, undefined);
    this.push(this.time + Math.max(0, ms), timer);
    return timer;
  }

  setInterval(callback: () => void, ms: number): ClockTimer {
    const timer = new VirtualTimer(callback, Math.max(1, ms));
    this.push(this.time + Math.max(1, ms), timer);
    return timer;
  }

  clearTimeout(timer: ClockTimer | undefined): void {
    if (timer instanceof VirtualTimer) timer.cancelled = true;
  }

  clearInterval(timer: ClockTimer | undefined): void {
    this.clearTimeout(timer);
  }

  /** Timers waiting (cancelled ones included until their time comes). */
  get pending(): number {
    return this.heap.length;
  }

  /**
   * Runs every timer due up to `untilMs` in order, then sets the clock to
   * `untilMs`. Timers due within `quantumMs` of the first one run back to
   * back before the microtasks they started: a continuation may see the clock
   * up to one quantum late (0: strictly one timer at a time).
   */
  async runUntil(untilMs: number, quantumMs = 0): Promise<void> {
    for (;;) {
      const first = this.heap[0];
      if (first === undefined || first.at > untilMs) break;
      const batchEnd = Math.min(untilMs, first.at + quantumMs);
      for (let next = this.heap[0]; next !== undefined && next.at <= batchEnd; next = this.heap[0]) {
        this.pop();
        if (next.timer.cancelled) continue;
        this.time = Math.max(this.time, next.at);
        if (next.timer.everyMs !== undefined) this.push(next.at + next.timer.everyMs, next.timer);
        this.events++;
        next.timer.callback();
        if (quantumMs === 0) break;
      }
      // setImmediate runs once the microtask queue is empty: the callbacks' promise chains have settled.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    this.time = Math.max(this.time, untilMs);
  }

  private push(at: number, timer: VirtualTimer): void {
    const heap = this.heap;
    const item = { at, seq: this.seq++, timer };
    let i = heap.length;
    heap.push(item);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(item, heap[parent]!)) break;
      heap[i] = heap[parent]!;
      i = parent;
    }
    heap[i] = item;
  }

  private pop(): void {
    const heap = this.heap;
    const last = heap.pop()!;
    if (heap.length === 0) return;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= heap.length) break;
      const right = left + 1;
      const child = right < heap.length && before(heap[right]!, heap[left]!) ? right : left;
      if (!before(heap[child]!, last)) break;
      heap[i] = heap[child]!;
      i = child;
    }
    heap[i] = last;
  }
}

function before(a: Due, b: Due): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}
