/**
 * Hashes per second over a sliding window of one-second buckets, so the rate
 * reflects recent mining (a paused miner decays to zero) without floats
 * accumulating error over long runs.
 */
export class HashRateMeter {
  private readonly buckets: number[];
  private readonly stamps: number[];
  total = 0;
  private firstSec: number | undefined;

  constructor(
    private readonly windowSec = 10,
    private readonly now: () => number = Date.now,
  ) {
    this.buckets = new Array<number>(windowSec).fill(0);
    this.stamps = new Array<number>(windowSec).fill(-1);
  }

  add(hashes: number): void {
    this.total += hashes;
    const sec = Math.floor(this.now() / 1000);
    this.firstSec ??= sec;
    const i = sec % this.windowSec;
    if (this.stamps[i] !== sec) {
      this.stamps[i] = sec;
      this.buckets[i] = 0;
    }
    this.buckets[i] = (this.buckets[i] as number) + hashes;
  }

  /** Average over the completed seconds of the window (the current one is partial). */
  rate(): number {
    const sec = Math.floor(this.now() / 1000);
    // A meter younger than the window averages over the seconds it has seen.
    const seconds = Math.min(this.windowSec - 1, sec - (this.firstSec ?? sec));
    if (seconds <= 0) return 0;
    let sum = 0;
    for (let i = 0; i < this.windowSec; i++) {
      const stamp = this.stamps[i] as number;
      if (stamp < sec && stamp >= sec - this.windowSec + 1) sum += this.buckets[i] as number;
    }
    return Math.round(sum / seconds);
  }
}
