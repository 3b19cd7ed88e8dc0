import {
  checkCoinbaseAmount,
  checkCoinbaseHeight,
  checkFinalTx,
  checkInputCoins,
  encodeBlock,
  encodeTx,
  fromDisplayHex,
  isCoinbase,
  isValidationError,
  txHash,
  txid as txidOf,
  type Block,
  type Coin,
  type RejectCode,
  type Transaction,
} from '../core/index.js';
import { toStored, type BlockIndexEntry } from './block-index.js';
import { rejectBlock, type ChainState } from './chain-state.js';
import type { HeaderContext } from './header-context.js';
import type { ChainQueries } from './queries.js';
import type { VerifiedScripts } from './script-cache.js';
import type { ScriptChecker, ScriptJob } from './script-check.js';
import { StoreBatch } from './store.js';
import type { ReorgSummary } from './types.js';
import { addressEntriesOf } from './address-index.js';
import { decodeUndo, encodeUndo } from './undo.js';
import { isUnspendable, outpointKey } from './utxo-set.js';

/** Entries in the UTXO change set of one connect or disconnect; `coin: null` means spent/removed. */
interface CoinChange {
  readonly txid: Uint8Array;
  readonly vout: number;
  readonly coin: Coin | null;
}

/**
 * Connect, disconnect and reorg: moves the tip to the most-work valid block,
 * each connect or disconnect one atomic batch (block, undo, index status,
 * coins, tx index, tip), the in-memory state updated only once it is written.
 */
export class BestChain {
  /** Blocks connected/disconnected during the current processBlock, for its reorg summary. */
  private touched = new Map<string, Block>();

  constructor(
    private readonly state: ChainState,
    private readonly headers: HeaderContext,
    private readonly queries: ChainQueries,
    private readonly scripts: ScriptChecker,
    /** Signatures the mempool already checked; block connection skips them. */
    private readonly verifiedScripts: VerifiedScripts,
  ) {}

  /** Starts a new record of the blocks a state change connects and disconnects. */
  forgetTouched(): void {
    this.touched = new Map();
  }

  /** Net change of the best chain since `oldTip`, or undefined if nothing was disconnected. */
  summarize(oldTip: BlockIndexEntry): ReorgSummary | undefined {
    const { index } = this.state;
    if (index.onBestChain(oldTip)) return undefined;
    const fork = index.forkPoint(oldTip);
    const disconnected: Block[] = [];
    for (let e: BlockIndexEntry | undefined = oldTip; e && e !== fork; e = index.parentOf(e)) {
      disconnected.push(this.touched.get(e.hash) as Block);
    }
    const connected: Block[] = [];
    for (let h = fork.height + 1; h <= index.tip.height; h++) {
      connected.push(this.touched.get(index.atHeight(h)?.hash as string) as Block);
    }
    return { depth: disconnected.length, disconnected, connected };
  }

  /**
   * Moves the tip to the most-work valid block: disconnect to the fork point,
   * connect the branch; a block that fails is marked invalid with its
   * descendants and the choice is made again, which returns to the old branch
   * when nothing better is left.
   */
  async activate(startTip = this.state.index.tip): Promise<void> {
    const { index, unsaved, events } = this.state;
    let moved = false;
    for (let target = index.bestCandidate(); target; target = index.bestCandidate()) {
      const fork = index.forkPoint(target);
      while (index.tip !== fork) {
        await this.disconnectTip();
        moved = true;
      }
      const path: BlockIndexEntry[] = [];
      for (let e: BlockIndexEntry | undefined = target; e && e !== fork; e = index.parentOf(e)) path.push(e);
      for (const entry of path.reverse()) {
        const block = unsaved.get(entry.hash) ?? (await this.queries.getBlock(entry.hash));
        if (!block) throw new Error(`block data missing for ${entry.hash}`);
        try {
          await this.connectTip(entry, block);
          moved = true;
        } catch (err) {
          if (!isValidationError(err)) throw err;
          await this.markInvalid(entry, block, err.code);
          break;
        }
      }
    }
    const newTip = index.tip;
    // A failed reorg can end on the tip it started from; listeners still need to settle.
    if (newTip === startTip && !moved) return;
    if (!index.onBestChain(startTip)) {
      const depth = startTip.height - index.forkPoint(startTip).height;
      events.emit('reorg', { depth, oldTip: startTip, newTip });
    }
    events.emit('tip', newTip);
  }

  private async markInvalid(entry: BlockIndexEntry, block: Block, code: RejectCode): Promise<void> {
    const changed = this.state.index.invalidate(entry, code);
    const batch = new StoreBatch();
    if (this.state.unsaved.delete(entry.hash)) batch.putBlock(fromDisplayHex(entry.hash), encodeBlock(block));
    for (const e of changed) batch.putIndex(toStored(e));
    await this.state.store.write(batch);
    rejectBlock(this.state, entry.hash, code);
  }

  /** Validates `block` against the UTXO set and makes it the tip in one atomic batch. */
  private async connectTip(entry: BlockIndexEntry, block: Block): Promise<void> {
    const { params, index, utxo, unsaved, store, events } = this.state;
    const height = entry.height;
    if (index.parentOf(entry) !== index.tip) throw new Error('connectTip: block does not extend the tip');
    const parentMtp = this.headers.medianTimePast(index.tip);
    const changes = new Map<string, CoinChange>();
    // By outpoint key, made once per input: it serves the lookup, the change and the UTXO set alike.
    const coinAt = (key: string): Coin | undefined => {
      const change = changes.get(key);
      if (change) return change.coin ?? undefined;
      return utxo.get(key);
    };
    const spent: Coin[] = [];
    const jobs: ScriptJob[] = [];
    let fees = 0n;
    const txs = block.txs;
    for (let i = 0; i < txs.length; i++) {
      const tx = txs[i] as Transaction;
      const id = txHash(tx);
      checkFinalTx(tx, height, parentMtp);
      if (i === 0) {
        checkCoinbaseHeight(block, height);
      } else {
        const keys = tx.inputs.map((input) => outpointKey(input.prevTxid, input.prevVout));
        const coins = keys.map(coinAt);
        fees += checkInputCoins(tx, coins, height, params);
        const rawTx = encodeTx(tx);
        const verified = this.verifiedScripts.has(txidOf(tx));
        for (let n = 0; n < tx.inputs.length; n++) {
          const input = tx.inputs[n] as Transaction['inputs'][number];
          const coin = coins[n] as Coin;
          spent.push(coin);
          changes.set(keys[n] as string, {
            txid: input.prevTxid,
            vout: input.prevVout,
            coin: null,
          });
          if (!verified) jobs.push({ tx, rawTx, inputIndex: n, prevScriptPubKey: coin.scriptPubKey });
        }
      }
      const coinbase = i === 0;
      tx.outputs.forEach((out, vout) => {
        if (isUnspendable(out.scriptPubKey)) return;
        changes.set(outpointKey(id, vout), {
          txid: id,
          vout,
          coin: { value: out.value, scriptPubKey: out.scriptPubKey, height, coinbase },
        });
      });
    }
    checkCoinbaseAmount(block, height, fees, params);
    await this.scripts.verifyAll(jobs);

    const hashBytes = fromDisplayHex(entry.hash);
    const batch = new StoreBatch();
    if (unsaved.has(entry.hash)) batch.putBlock(hashBytes, encodeBlock(block));
    entry.status = 'valid';
    batch.putIndex(toStored(entry)).putUndo(hashBytes, encodeUndo(spent)).putTip(hashBytes);
    for (const c of changes.values()) {
      if (c.coin) batch.putCoin(c.txid, c.vout, c.coin);
      else batch.delCoin(c.txid, c.vout);
    }
    txs.forEach((tx, position) => batch.putTx(txHash(tx), hashBytes, position));
    for (const row of addressEntriesOf(block, height, spent)) batch.putAddressTx(row);
    try {
      await store.write(batch);
    } catch (err) {
      entry.status = 'header-valid';
      throw err;
    }
    unsaved.delete(entry.hash);
    for (const [key, c] of changes) {
      if (c.coin) utxo.set(key, c.coin);
      else utxo.delete(key);
    }
    index.pushTip(entry);
    this.touched.set(entry.hash, block);
    events.emit('connect', { block, hash: entry.hash, height });
  }

  /** Undoes the tip block with its undo data in one atomic batch. */
  async disconnectTip(): Promise<void> {
    const { index, utxo, store, events } = this.state;
    const entry = index.tip;
    const parent = index.parentOf(entry);
    if (!parent) throw new Error('cannot disconnect genesis');
    const hashBytes = fromDisplayHex(entry.hash);
    const block = await this.queries.getBlock(entry.hash);
    const rawUndo = await store.getUndo(hashBytes);
    if (!block || !rawUndo) throw new Error(`block or undo data missing for ${entry.hash}`);
    const undo = decodeUndo(rawUndo);
    const changes = new Map<string, CoinChange>();
    const batch = new StoreBatch();
    let u = undo.length;
    // Reverse order, so an output created and spent inside the block ends up removed.
    for (let i = block.txs.length - 1; i >= 0; i--) {
      const tx = block.txs[i] as Transaction;
      const id = txHash(tx);
      tx.outputs.forEach((_, vout) => changes.set(outpointKey(id, vout), { txid: id, vout, coin: null }));
      if (!isCoinbase(tx)) {
        for (let n = tx.inputs.length - 1; n >= 0; n--) {
          const input = tx.inputs[n] as Transaction['inputs'][number];
          const coin = undo[--u];
          if (!coin) throw new Error(`undo data of ${entry.hash} is short`);
          changes.set(outpointKey(input.prevTxid, input.prevVout), {
            txid: input.prevTxid,
            vout: input.prevVout,
            coin,
          });
        }
      }
      batch.delTx(id);
    }
    if (u !== 0) throw new Error(`undo data of ${entry.hash} does not match the block`);
    for (const row of addressEntriesOf(block, entry.height, undo)) batch.delAddressTx(row);
    for (const c of changes.values()) {
      if (c.coin) batch.putCoin(c.txid, c.vout, c.coin);
      else batch.delCoin(c.txid, c.vout);
    }
    batch.delUndo(hashBytes).putTip(fromDisplayHex(parent.hash));
    await store.write(batch);
    for (const [key, c] of changes) {
      if (c.coin) utxo.set(key, c.coin);
      else utxo.delete(key);
    }
    index.popTip();
    index.addCandidate(entry);
    this.touched.set(entry.hash, block);
    events.emit('disconnect', { block, hash: entry.hash, height: entry.height });
  }
}
