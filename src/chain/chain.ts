import { EventEmitter } from 'node:events';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import {
  blockHashOf,
  encodeBlock,
  fromDisplayHex,
  toDisplayHex,
  workForBits,
  type Block,
  type Coin,
  type NetworkParams,
  type Transaction,
} from '../core/index.js';
import { addressEntriesOf, type AddressTxEntry } from './address-index.js';
import { BlockIndex, fromStored, isFailed, toStored, type BlockIndexEntry } from './block-index.js';
import type { ChainState } from './chain-state.js';
import { BestChain } from './connect.js';
import { HeaderContext } from './header-context.js';
import { LowWorkBlocks } from './low-work.js';
import { OrphanPool } from './orphans.js';
import { BlockProcessor } from './process.js';
import { ChainQueries } from './queries.js';
import { SerialQueue } from './queue.js';
import { VerifiedScripts } from './script-cache.js';
import { ScriptChecker, type ScriptJob } from './script-check.js';
import { ChainStore, StoreBatch } from './store.js';
import { decodeUndo } from './undo.js';
import type { ChainEvents, ChainOptions, ProcessBlockResult } from './types.js';
import { UtxoSet, outpointKey } from './utxo-set.js';

const DEFAULT_ORPHAN_LIMIT = 100;
// Enough for a peer's heavier fork thousands of small blocks deep to arrive block by block.
const LOW_WORK_LIMIT = 5_000;
const LOW_WORK_BYTES = 32 * 1024 * 1024;

/** The data directory holds the chain of another network (its genesis hash is `storedGenesis`). */
export class StoreNetworkError extends Error {
  override readonly name = 'StoreNetworkError';
  constructor(readonly storedGenesis: string) {
    super(`chain store belongs to another network (genesis ${storedGenesis})`);
  }
}

/**
 * The chain state: block tree, best chain, UTXO set, persisted in LevelDB.
 * A thin facade over the parts that each own one job: the serial queue
 * (queue.ts: one writer), block processing (process.ts: checks, orphans,
 * low-work blocks), connect / disconnect / reorg (connect.ts: one atomic batch
 * each, so the store is consistent after a crash at any moment and the
 * in-memory state is only updated once its batch is written), read queries
 * (queries.ts) and header context (header-context.ts: median time past,
 * expected bits).
 */
export class Chain extends EventEmitter<ChainEvents> {
  private readonly queue = new SerialQueue();
  private readonly state: ChainState;
  private readonly headers: HeaderContext;
  private readonly queries: ChainQueries;
  private readonly best: BestChain;
  private readonly processor: BlockProcessor;
  /** Signatures the mempool already checked; block connection skips them. */
  readonly verifiedScripts = new VerifiedScripts();

  private constructor(
    readonly params: NetworkParams,
    private readonly store: ChainStore,
    now: () => number,
    orphanLimit: number,
    private readonly scripts: ScriptChecker,
  ) {
    super();
    const index = new BlockIndex();
    const lowWork = new LowWorkBlocks(LOW_WORK_LIMIT, LOW_WORK_BYTES);
    this.state = {
      params,
      store,
      index,
      utxo: new UtxoSet(),
      orphans: new OrphanPool(orphanLimit),
      lowWork,
      unsaved: new Map(),
      events: this,
    };
    this.headers = new HeaderContext(params, index, lowWork);
    this.queries = new ChainQueries(this.state);
    this.best = new BestChain(this.state, this.headers, this.queries, scripts, this.verifiedScripts);
    this.processor = new BlockProcessor(this.state, this.headers, this.best, now);
    store.watchHealth((failure) => {
      if (failure) this.emit('storeFailed', { error: failure });
      else this.emit('storeRecovered');
    });
  }

  static async open(opts: ChainOptions): Promise<Chain> {
    const dir = join(opts.dataDir, 'chain');
    await mkdir(dir, { recursive: true });
    const store = await ChainStore.open(dir);
    const scripts = new ScriptChecker(opts.scriptThreads);
    const chain = new Chain(
      opts.params,
      store,
      opts.now ?? Date.now,
      opts.orphanLimit ?? DEFAULT_ORPHAN_LIMIT,
      scripts,
    );
    try {
      await chain.load();
    } catch (err) {
      await scripts.close();
      await store.close();
      throw err;
    }
    return chain;
  }

  async close(): Promise<void> {
    if (this.queue.closed) return;
    await this.queue.close();
    await this.scripts.close();
    await this.store.close();
  }

  get tip(): BlockIndexEntry {
    return this.state.index.tip;
  }

  get height(): number {
    return this.state.index.tip.height;
  }

  /** Number of coins in the UTXO set. */
  get utxoCount(): number {
    return this.state.utxo.size;
  }

  /** Total value of the UTXO set in base units (O(1): maintained on connect, disconnect and load). */
  get utxoValue(): bigint {
    return this.state.utxo.totalValue;
  }

  /** Whether the last store write succeeded: false while the disk refuses writes. */
  get storeWritable(): boolean {
    return this.store.writable;
  }

  get orphanCount(): number {
    return this.state.orphans.size;
  }

  // ---- loading -------------------------------------------------------------

  private async load(): Promise<void> {
    const { index, utxo, store, params } = this.state;
    const genesisBytes = fromDisplayHex(params.genesisHash);
    const net = await store.getNetwork();
    if (!net) {
      await this.initGenesis();
    } else if (toDisplayHex(net) !== params.genesisHash) {
      throw new StoreNetworkError(toDisplayHex(net));
    }
    await store.forEachIndexEntry((stored) => {
      index.add(fromStored(stored, toDisplayHex(stored.hash) === params.genesisHash));
    });
    const tipBytes = (await store.getTip()) ?? genesisBytes;
    const tip = index.get(toDisplayHex(tipBytes));
    if (!tip) throw new Error('chain store is corrupt: tip not in block index');
    index.setActive(tip);
    for (const e of index.all()) index.addCandidate(e);
    if (!(await store.hasAddressIndex())) await this.buildAddressIndex();
    await store.forEachCoin(({ txid, vout, coin }) => utxo.set(outpointKey(txid, vout), coin));
    // A crash between the steps of a reorg leaves a valid but not best tip: finish the job.
    await this.best.activate();
  }

  /**
   * Builds the address index of a store written before it existed, from the
   * best chain's blocks and undo data, then marks it complete. Rows are
   * idempotent puts, so a crash part-way only means building again.
   */
  private async buildAddressIndex(): Promise<void> {
    const { index, store } = this.state;
    let batch = new StoreBatch();
    for (let height = 1; height <= index.tip.height; height++) {
      const hash = index.atHeight(height)?.hash as string;
      const block = await this.getBlock(hash);
      const undo = await store.getUndo(fromDisplayHex(hash));
      if (!block || !undo) throw new Error(`chain store is corrupt: block or undo data missing for ${hash}`);
      for (const e of addressEntriesOf(block, height, decodeUndo(undo))) batch.putAddressTx(e);
      if (batch.ops.length >= 10_000) {
        await store.write(batch);
        batch = new StoreBatch();
      }
    }
    await store.write(batch.putAddressIndexMark());
  }

  private async initGenesis(): Promise<void> {
    const genesis = this.params.genesis;
    const hash = blockHashOf(genesis.header);
    if (hash !== this.params.genesisHash) throw new Error('network genesis block does not match its hash');
    const entry: BlockIndexEntry = {
      hash,
      header: genesis.header,
      height: 0,
      chainWork: workForBits(genesis.header.bits),
      prevHash: '',
      seq: 0,
      status: 'valid',
    };
    const hashBytes = fromDisplayHex(hash);
    // As in Bitcoin, the genesis coinbase is not added to the UTXO set: it cannot be spent.
    const batch = new StoreBatch()
      .putBlock(hashBytes, encodeBlock(genesis))
      .putIndex(toStored(entry))
      .putTip(hashBytes)
      .putNetwork(hashBytes)
      .putFormat()
      .putAddressIndexMark();
    await this.store.write(batch);
  }

  // ---- queries (queries.ts) --------------------------------------------------

  /** Known: in the block index (any status), in the orphan pool, or held as a low-work side-branch block. */
  hasBlock(hash: string): boolean {
    return this.queries.hasBlock(hash);
  }

  getEntry(hash: string): BlockIndexEntry | undefined {
    return this.queries.getEntry(hash);
  }

  getRawBlock(hash: string): Promise<Uint8Array | undefined> {
    return this.queries.getRawBlock(hash);
  }

  getBlock(hash: string): Promise<Block | undefined> {
    return this.queries.getBlock(hash);
  }

  getHashAtHeight(height: number): string | undefined {
    return this.queries.getHashAtHeight(height);
  }

  /** Tip, then ten predecessors one by one, then doubling steps back, always ending with genesis. */
  getLocator(): string[] {
    return this.queries.getLocator();
  }

  /** Best-chain hashes after the first locator entry found on our best chain (genesis if none). */
  getHashesAfterLocator(locator: string[], limit: number): string[] {
    return this.queries.getHashesAfterLocator(locator, limit);
  }

  getCoin(prevTxid: Uint8Array, vout: number): Coin | undefined {
    return this.queries.getCoin(prevTxid, vout);
  }

  /** By `outpointKey` (utxo-set.ts), for callers that reuse one key for several lookups. */
  coinAt(outpoint: string): Coin | undefined {
    return this.queries.coinAt(outpoint);
  }

  getCoinsByScript(scriptPubKey: Uint8Array): Array<{ txid: string; vout: number; coin: Coin }> {
    return this.queries.getCoinsByScript(scriptPubKey);
  }

  /** Every coin of the UTXO set, keyed `<internal-order txid hex>:<vout>` (consistency checks, tools). */
  utxoEntries(): IterableIterator<[string, Coin]> {
    return this.queries.utxoEntries();
  }

  findTx(txid: string): Promise<{ tx: Transaction; blockHash: string; height: number } | undefined> {
    return this.queries.findTx(txid);
  }

  /** Best-chain transactions of a P2PKH key hash, newest first (the store's address index). */
  getAddressTxs(hash160: Uint8Array, limit: number, offset: number): Promise<AddressTxEntry[]> {
    return this.queries.getAddressTxs(hash160, limit, offset);
  }

  /**
   * Checks signatures over the worker pool without touching chain state (the
   * mempool uses it for batches): true iff all verify. Even one signature goes
   * to the workers: the point is to keep the thread that serves requests free,
   * whereas a block's few signatures are quicker checked inline than sent away.
   */
  verifyScripts(jobs: readonly ScriptJob[]): Promise<boolean> {
    return this.scripts.allValid(jobs, 0);
  }

  // ---- header context (header-context.ts) ------------------------------------

  /** What a miner needs to build on the tip now. */
  // No network here lowers difficulty with time (no testnet 20-minute rule), so the clock is unused.
  nextBlockContext(_nowSec: number): { height: number; prevHash: Uint8Array; bits: number; minTime: number } {
    const tip = this.tip;
    return {
      height: tip.height + 1,
      prevHash: fromDisplayHex(tip.hash),
      bits: this.headers.expectedBits(tip),
      minTime: this.headers.medianTimePast(tip) + 1,
    };
  }

  /** Median of the times of the last `medianTimeSpan` blocks ending at `hash` (default: tip). */
  medianTimePast(hash?: string): number {
    const entry = hash === undefined ? this.tip : this.state.index.get(hash);
    if (!entry) throw new Error(`unknown block ${hash}`);
    return this.headers.medianTimePast(entry);
  }

  // ---- state changes, one at a time (queue.ts, process.ts) -------------------

  /**
   * Operator override, as Bitcoin's `invalidateblock`: marks a block and its
   * descendants invalid (persisted), disconnecting them if they are on the
   * best chain, and moves to the best remaining chain.
   */
  invalidateBlock(hash: string): Promise<void> {
    return this.queue.run(() => this.processor.invalidate(hash));
  }

  processBlock(block: Block): Promise<ProcessBlockResult> {
    // Relay delivers most blocks several times: answer a known valid one without waiting for the queue.
    const hash = blockHashOf(block.header);
    const known = this.state.index.get(hash);
    if (known && !isFailed(known) && !this.queue.closed) {
      return Promise.resolve({ status: 'duplicate', hash, height: known.height });
    }
    return this.queue.run(() => this.processor.process(block));
  }
}
