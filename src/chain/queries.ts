import {
  decodeBlock,
  encodeBlock,
  fromDisplayHex,
  toDisplayHex,
  type Block,
  type Coin,
  type Transaction,
} from '../core/index.js';
import type { AddressTxEntry } from './address-index.js';
import type { BlockIndexEntry } from './block-index.js';
import type { ChainState } from './chain-state.js';

/** Read-only questions about the chain: blocks, the best chain's hashes, transactions and coins. */
export class ChainQueries {
  constructor(private readonly state: ChainState) {}

  /** Known: in the block index (any status), in the orphan pool, or held as a low-work side-branch block. */
  hasBlock(hash: string): boolean {
    const { index, orphans, lowWork } = this.state;
    return index.has(hash) || orphans.has(hash) || lowWork.has(hash);
  }

  getEntry(hash: string): BlockIndexEntry | undefined {
    return this.state.index.get(hash);
  }

  async getRawBlock(hash: string): Promise<Uint8Array | undefined> {
    const pending = this.state.unsaved.get(hash);
    if (pending) return encodeBlock(pending);
    if (!/^[0-9a-f]{64}$/.test(hash)) return undefined;
    return this.state.store.getBlock(fromDisplayHex(hash));
  }

  async getBlock(hash: string): Promise<Block | undefined> {
    const pending = this.state.unsaved.get(hash);
    if (pending) return pending;
    const raw = await this.getRawBlock(hash);
    return raw ? decodeBlock(raw) : undefined;
  }

  getHashAtHeight(height: number): string | undefined {
    return this.state.index.atHeight(height)?.hash;
  }

  /** Tip, then ten predecessors one by one, then doubling steps back, always ending with genesis. */
  getLocator(): string[] {
    const { index, params } = this.state;
    const out: string[] = [];
    let height = index.tip.height;
    let step = 1;
    while (height > 0) {
      out.push(index.atHeight(height)?.hash as string);
      if (out.length >= 10) step *= 2;
      height -= step;
    }
    out.push(params.genesisHash);
    return out;
  }

  /** Best-chain hashes after the first locator entry found on our best chain (genesis if none). */
  getHashesAfterLocator(locator: string[], limit: number): string[] {
    const { index } = this.state;
    let fork = 0;
    for (const hash of locator) {
      const e = index.get(hash);
      if (e && index.onBestChain(e)) {
        fork = e.height;
        break;
      }
    }
    const out: string[] = [];
    for (let h = fork + 1; h <= index.tip.height && out.length < limit; h++) {
      out.push(index.atHeight(h)?.hash as string);
    }
    return out;
  }

  getCoin(prevTxid: Uint8Array, vout: number): Coin | undefined {
    return this.state.utxo.getOutpoint(prevTxid, vout);
  }

  /** By `outpointKey` (utxo-set.ts), for callers that reuse one key for several lookups. */
  coinAt(outpoint: string): Coin | undefined {
    return this.state.utxo.get(outpoint);
  }

  getCoinsByScript(scriptPubKey: Uint8Array): Array<{ txid: string; vout: number; coin: Coin }> {
    return this.state.utxo.getByScript(scriptPubKey);
  }

  /** Every coin of the UTXO set, keyed `<internal-order txid hex>:<vout>` (consistency checks, tools). */
  utxoEntries(): IterableIterator<[string, Coin]> {
    return this.state.utxo.entries();
  }

  /**
   * Best-chain transactions paying to or spending from a P2PKH key hash,
   * newest first (height, then position in the block), `offset` rows skipped.
   */
  getAddressTxs(hash160: Uint8Array, limit: number, offset: number): Promise<AddressTxEntry[]> {
    return this.state.store.getAddressTxs(hash160, limit, offset);
  }

  async findTx(txid: string): Promise<{ tx: Transaction; blockHash: string; height: number } | undefined> {
    if (!/^[0-9a-f]{64}$/.test(txid)) return undefined;
    const loc = await this.state.store.getTxLocation(fromDisplayHex(txid));
    if (!loc) return undefined;
    const blockHash = toDisplayHex(loc.blockHash);
    const entry = this.state.index.get(blockHash);
    const block = await this.getBlock(blockHash);
    const tx = block?.txs[loc.position];
    if (!entry || !tx) return undefined;
    return { tx, blockHash, height: entry.height };
  }
}
