/**
 * Transactions whose signatures already verified, so a block does not check
 * them a second time after the mempool did (Bitcoin Core's script execution
 * cache). Sound because a legacy txid commits to every scriptSig and to the
 * spent outpoints, and an outpoint's scriptPubKey can never change. Bounded:
 * the oldest entries go first.
 */
export class VerifiedScripts {
  private readonly ids = new Set<string>();

  constructor(private readonly capacity = 250_000) {}

  /** By txid (display hex), which transactions memoize: no conversion per lookup. */
  add(txid: string): void {
    this.ids.delete(txid);
    this.ids.add(txid);
    if (this.ids.size > this.capacity) {
      const oldest = this.ids.values().next().value;
      if (oldest !== undefined) this.ids.delete(oldest);
    }
  }

  has(txid: string): boolean {
    return this.ids.has(txid);
  }

  get size(): number {
    return this.ids.size;
  }
}
