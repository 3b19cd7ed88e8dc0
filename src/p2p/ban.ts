/**
 * Ban score, after Bitcoin Core's misbehaviour score: a peer that sends
 * something provably invalid earns points; at the threshold it is ignored for
 * a while (its requests refused, never gossiped with or relayed to).
 */
export const BAN_THRESHOLD = 100;
export const DEFAULT_BAN_MS = 10 * 60_000;
/** Invalid proof of work, merkle root, encoding... cost the peer everything at once. */
export const INVALID_BLOCK_POINTS = 100;
export const INVALID_TX_POINTS = 10;

// Codes an honest peer can produce (races, clocks, local policy): no points.
const INNOCENT_CODES = new Set([
  'bad-blk-time-too-new',
  'bad-txns-inputs-missingorspent',
  'bad-txns-premature-spend-of-coinbase',
  'bad-txns-fee-too-low',
  'txn-already-known',
  'txn-mempool-conflict',
  'mempool-full',
]);

export function misbehaviourPoints(kind: 'block' | 'tx', code: string): number {
  if (INNOCENT_CODES.has(code)) return 0;
  return kind === 'block' ? INVALID_BLOCK_POINTS : INVALID_TX_POINTS;
}

interface Score {
  points: number;
  bannedUntil: number;
}

export class BanList {
  private readonly scores = new Map<string, Score>();

  constructor(
    private readonly opts: { now: () => number; threshold?: number; banMs?: number; maxTracked?: number },
  ) {}

  /** Adds points; returns true when this pushed the peer over the threshold. */
  misbehaving(key: string, points: number): boolean {
    if (points <= 0 || this.isBanned(key)) return false;
    const score = this.scores.get(key) ?? { points: 0, bannedUntil: 0 };
    score.points += points;
    this.scores.delete(key); // re-insert: the Map's order is the eviction order
    this.scores.set(key, score);
    this.evict();
    if (score.points < (this.opts.threshold ?? BAN_THRESHOLD)) return false;
    score.bannedUntil = this.opts.now() + (this.opts.banMs ?? DEFAULT_BAN_MS);
    return true;
  }

  isBanned(key: string | undefined): boolean {
    if (key === undefined) return false;
    const score = this.scores.get(key);
    if (!score || score.bannedUntil === 0) return false;
    if (this.opts.now() < score.bannedUntil) return true;
    // The ban has served its time: a clean slate.
    this.scores.delete(key);
    return false;
  }

  score(key: string): number {
    this.isBanned(key); // clears a served ban
    return this.scores.get(key)?.points ?? 0;
  }

  // Fake node ids are free to make up: the table must not grow with them.
  private evict(): void {
    const max = this.opts.maxTracked ?? 10_000;
    for (const key of this.scores.keys()) {
      if (this.scores.size <= max) break;
      if (!this.isBanned(key)) this.scores.delete(key);
    }
  }
}
