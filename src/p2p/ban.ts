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

// Transaction codes an honest peer can produce: its tip differs from ours (a
// block ahead or behind), another relay raced it, or our policy is stricter.
const INNOCENT_TX_CODES = new Set([
  'bad-txns-inputs-missingorspent', // the parent has not reached us yet, or a block we lack spent it
  'bad-txns-premature-spend-of-coinbase', // mature at its height, one block above ours
  'bad-txns-nonfinal', // final at its next height, not yet at ours
  'bad-txns-fee-too-low',
  'txn-already-known',
  'txn-mempool-conflict',
  'mempool-full',
]);
// A block is judged against its own parent, the same on every node: only clocks differ.
const INNOCENT_BLOCK_CODES = new Set(['bad-blk-time-too-new']);
/**
 * Faults only full validation finds (inputs, scripts, coinbase against the
 * UTXO set and height). Peers forward a block once its header, proof of work
 * and merkle root hold, before these checks (as BIP152's high-bandwidth mode
 * does), so an honest peer can pass one such block on in good faith: it costs
 * half a ban, and the peer stops forwarding early from its source (P2P).
 */
const CONTEXTUAL_BLOCK_CODES = new Set([
  'bad-txns-inputs-missingorspent',
  'bad-txns-premature-spend-of-coinbase',
  'bad-txns-in-belowout',
  'bad-txns-inputvalues-outofrange',
  'bad-txns-script-verify-failed',
  'bad-txns-sig-highs',
  'bad-txns-sig-der',
  'bad-txns-nonstandard-script',
  'bad-txns-nonfinal',
  'bad-blk-cb-height',
  'bad-blk-cb-amount',
  'bad-blk-prev-invalid',
]);
export const CONTEXTUAL_INVALID_BLOCK_POINTS = INVALID_BLOCK_POINTS / 2;

export function misbehaviourPoints(kind: 'block' | 'tx', code: string): number {
  if (kind === 'block') {
    if (INNOCENT_BLOCK_CODES.has(code)) return 0;
    return CONTEXTUAL_BLOCK_CODES.has(code) ? CONTEXTUAL_INVALID_BLOCK_POINTS : INVALID_BLOCK_POINTS;
  }
  return INNOCENT_TX_CODES.has(code) ? 0 : INVALID_TX_POINTS;
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
