import { toHex } from '../core/bytes.js';

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

  add(txHash: Uint8Array): void {
    const key = toHex(txHash);
    this.ids.delete(key);
    this.ids.add(key);
    if (this.ids.size > this.capacity) {
      const oldest = this.ids.values().next().value;
      if (oldest !== undefined) this.ids.delete(oldest);
    }
  }

  has(txHash: Uint8Array): boolean {
    return this.ids.has(toHex(txHash));
  }

  get size(): number {
    return this.ids.size;
  }
}
