import { toDisplayHex, toHex, OP_RETURN, type Coin } from '../core/index.js';

/** OP_RETURN outputs can never be spent, so, as in Bitcoin, they never enter the UTXO set. */
export function isUnspendable(scriptPubKey: Uint8Array): boolean {
  return scriptPubKey[0] === OP_RETURN;
}

/** Map key of an outpoint: internal-order txid hex, then the output index. */
export function outpointKey(txid: Uint8Array, vout: number): string {
  return `${toHex(txid)}:${vout}`;
}

function scriptKey(scriptPubKey: Uint8Array): string {
  return toHex(scriptPubKey);
}

/**
 * The unspent outputs of the best chain, held in memory (loaded at open) so
 * that validation and the mempool look coins up synchronously. A second index
 * by scriptPubKey serves address balances without a scan.
 */
export class UtxoSet {
  private readonly coins = new Map<string, Coin>();
  private readonly byScript = new Map<string, Set<string>>();
  /** Sum of every coin's value, kept in step by set/delete so that reading it is O(1). */
  private valueSum = 0n;

  get size(): number {
    return this.coins.size;
  }

  /** Total value of the unspent coins, in base units. */
  get totalValue(): bigint {
    return this.valueSum;
  }

  get(key: string): Coin | undefined {
    return this.coins.get(key);
  }

  getOutpoint(txid: Uint8Array, vout: number): Coin | undefined {
    return this.coins.get(outpointKey(txid, vout));
  }

  set(key: string, coin: Coin): void {
    const previous = this.coins.get(key);
    if (previous) {
      this.unindex(key, previous);
      this.valueSum -= previous.value;
    }
    this.coins.set(key, coin);
    this.valueSum += coin.value;
    const sk = scriptKey(coin.scriptPubKey);
    let set = this.byScript.get(sk);
    if (!set) {
      set = new Set();
      this.byScript.set(sk, set);
    }
    set.add(key);
  }

  delete(key: string): void {
    const coin = this.coins.get(key);
    if (!coin) return;
    this.coins.delete(key);
    this.valueSum -= coin.value;
    this.unindex(key, coin);
  }

  private unindex(key: string, coin: Coin): void {
    const sk = scriptKey(coin.scriptPubKey);
    const set = this.byScript.get(sk);
    if (!set) return;
    set.delete(key);
    if (set.size === 0) this.byScript.delete(sk);
  }

  /** Coins paying to exactly this scriptPubKey; txid in display hex. */
  getByScript(scriptPubKey: Uint8Array): Array<{ txid: string; vout: number; coin: Coin }> {
    const keys = this.byScript.get(scriptKey(scriptPubKey));
    if (!keys) return [];
    const out: Array<{ txid: string; vout: number; coin: Coin }> = [];
    for (const key of keys) {
      const coin = this.coins.get(key);
      if (!coin) continue;
      const sep = key.indexOf(':');
      out.push({
        txid: toDisplayHex(Buffer.from(key.slice(0, sep), 'hex')),
        vout: Number(key.slice(sep + 1)),
        coin,
      });
    }
    return out;
  }

  entries(): IterableIterator<[string, Coin]> {
    return this.coins.entries();
  }
}
