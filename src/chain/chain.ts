import { EventEmitter } from 'node:events';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import {
  blockHashOf,
  blockSize,
  decodeBlock,
  encodeBlock,
  fromDisplayHex,
  toDisplayHex,
  ValidationError,
  isValidationError,
  type RejectCode,
  type NetworkParams,
  nextWorkRequired,
  workForBits,
  encodeTx,
  isCoinbase,
  txHash,
  txid as txidOf,
  type Block,
  type Coin,
  type Transaction,
  checkBlock,
  checkBlockHeaderContext,
  checkCoinbaseAmount,
  checkCoinbaseHeight,
  checkFinalTx,
  checkInputCoins,
  isBlockMutation,
} from '../core/index.js';
import { BlockIndex, fromStored, isFailed, toStored, type BlockIndexEntry } from './block-index.js';
import { LowWorkBlocks, type HeldBlock } from './low-work.js';
import { OrphanPool } from './orphans.js';
import { VerifiedScripts } from './script-cache.js';
import { ScriptChecker, type ScriptJob } from './script-check.js';
import { ChainStore, StoreBatch } from './store.js';
import { decodeUndo, encodeUndo } from './undo.js';
import { UtxoSet, isUnspendable, outpointKey } from './utxo-set.js';

export type { BlockIndexEntry } from './block-index.js';

export interface ChainOptions {
  /** Node data directory; the chain keeps its LevelDB under `<dataDir>/chain`. */
  dataDir: string;
  params: NetworkParams;
  /** Clock in milliseconds (Date.now by default); injected by tests. */
  now?: () => number;
  orphanLimit?: number;
  /** Worker threads for signature checks; default up to 2 (one per core); 0 verifies on the calling thread. */
  scriptThreads?: number;
}

export interface ReorgSummary {
  depth: number;
  /** Blocks removed from the best chain, old tip first. */
  disconnected: Block[];
  /** Blocks added to the best chain, lowest first. */
  connected: Block[];
}

export interface ProcessBlockResult {
  /**
   * 'stale': valid so far, but on a side branch with less work than the tip:
   * held in memory only (see low-work.ts), stored if its branch catches up.
   */
  status: 'connected' | 'side-chain' | 'orphan' | 'duplicate' | 'stale';
  hash: string;
  height?: number;
  reorg?: ReorgSummary;
  /** For an orphan: the unknown ancestor block to fetch. */
  missingParent?: string;
  /** Orphans that were waiting for this block (directly or transitively) and are now in the block index. */
  connectedOrphans?: string[];
}

export interface ChainEvents {
  connect: [{ block: Block; hash: string; height: number }];
  disconnect: [{ block: Block; hash: string; height: number }];
  tip: [BlockIndexEntry];
  reorg: [{ depth: number; oldTip: BlockIndexEntry; newTip: BlockIndexEntry }];
  rejected: [{ hash: string; code: RejectCode }];
}

/** Entries in the UTXO change set of one connect or disconnect; `coin: null` means spent/removed. */
interface CoinChange {
  readonly txid: Uint8Array;
  readonly vout: number;
  readonly coin: Coin | null;
}

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
 * Every state change goes through one promise queue (one writer), and every
 * connect or disconnect is one atomic batch (block, undo, index status, coins,
 * tx index, tip), so the store is consistent after a crash at any moment and
 * the in-memory state is only updated once its batch is written.
 */
export class Chain extends EventEmitter<ChainEvents> {
  private queue: Promise<unknown> = Promise.resolve();
  private readonly index = new BlockIndex();
  private readonly utxo = new UtxoSet();
  private readonly orphans: OrphanPool;
  private readonly lowWork = new LowWorkBlocks(LOW_WORK_LIMIT, LOW_WORK_BYTES);
  /** Accepted blocks extending the tip, written together with their connect batch. */
  private readonly unsaved = new Map<string, Block>();
  /** Blocks connected/disconnected during the current processBlock, for its reorg summary. */
  private touched = new Map<string, Block>();
  private closed = false;
  /** Signatures the mempool already checked; block connection skips them. */
  readonly verifiedScripts = new VerifiedScripts();
  private readonly mtpByEntry = new WeakMap<BlockIndexEntry, number>();

  private constructor(
    readonly params: NetworkParams,
    private readonly store: ChainStore,
    private readonly now: () => number,
    orphanLimit: number,
    private readonly scripts: ScriptChecker,
  ) {
    super();
    this.orphans = new OrphanPool(orphanLimit);
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
    if (this.closed) return;
    this.closed = true;
    await this.queue.catch(() => undefined);
    await this.scripts.close();
    await this.store.close();
  }

  get tip(): BlockIndexEntry {
    return this.index.tip;
  }

  get height(): number {
    return this.index.tip.height;
  }

  /** Number of coins in the UTXO set. */
  get utxoCount(): number {
    return this.utxo.size;
  }

  get orphanCount(): number {
    return this.orphans.size;
  }

  // ---- loading -------------------------------------------------------------

  private async load(): Promise<void> {
    const genesisBytes = fromDisplayHex(this.params.genesisHash);
    const net = await this.store.getNetwork();
    if (!net) {
      await this.initGenesis();
    } else if (toDisplayHex(net) !== this.params.genesisHash) {
      throw new StoreNetworkError(toDisplayHex(net));
    }
    await this.store.forEachIndexEntry((stored) => {
      this.index.add(fromStored(stored, toDisplayHex(stored.hash) === this.params.genesisHash));
    });
    const tipBytes = (await this.store.getTip()) ?? genesisBytes;
    const tip = this.index.get(toDisplayHex(tipBytes));
    if (!tip) throw new Error('chain store is corrupt: tip not in block index');
    this.index.setActive(tip);
    for (const e of this.index.all()) this.index.addCandidate(e);
    await this.store.forEachCoin(({ txid, vout, coin }) => this.utxo.set(outpointKey(txid, vout), coin));
    // A crash between the steps of a reorg leaves a valid but not best tip: finish the job.
    await this.activateBestChain();
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
      .putFormat();
    await this.store.write(batch);
  }

  // ---- queries ---------------------------------------------------------------

  /** Known: in the block index (any status), in the orphan pool, or held as a low-work side-branch block. */
  hasBlock(hash: string): boolean {
    return this.index.has(hash) || this.orphans.has(hash) || this.lowWork.has(hash);
  }

  getEntry(hash: string): BlockIndexEntry | undefined {
    return this.index.get(hash);
  }

  async getRawBlock(hash: string): Promise<Uint8Array | undefined> {
    const pending = this.unsaved.get(hash);
    if (pending) return encodeBlock(pending);
    if (!/^[0-9a-f]{64}$/.test(hash)) return undefined;
    return this.store.getBlock(fromDisplayHex(hash));
  }

  async getBlock(hash: string): Promise<Block | undefined> {
    const pending = this.unsaved.get(hash);
    if (pending) return pending;
    const raw = await this.getRawBlock(hash);
    return raw ? decodeBlock(raw) : undefined;
  }

  getHashAtHeight(height: number): string | undefined {
    return this.index.atHeight(height)?.hash;
  }

  /** Tip, then ten predecessors one by one, then doubling steps back, always ending with genesis. */
  getLocator(): string[] {
    const out: string[] = [];
    let height = this.tip.height;
    let step = 1;
    while (height > 0) {
      out.push(this.index.atHeight(height)?.hash as string);
      if (out.length >= 10) step *= 2;
      height -= step;
    }
    out.push(this.params.genesisHash);
    return out;
  }

  /** Best-chain hashes after the first locator entry found on our best chain (genesis if none). */
  getHashesAfterLocator(locator: string[], limit: number): string[] {
    let fork = 0;
    for (const hash of locator) {
      const e = this.index.get(hash);
      if (e && this.index.onBestChain(e)) {
        fork = e.height;
        break;
      }
    }
    const out: string[] = [];
    for (let h = fork + 1; h <= this.tip.height && out.length < limit; h++) {
      out.push(this.index.atHeight(h)?.hash as string);
    }
    return out;
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

  getCoin(prevTxid: Uint8Array, vout: number): Coin | undefined {
    return this.utxo.getOutpoint(prevTxid, vout);
  }

  /** By `outpointKey` (utxo-set.ts), for callers that reuse one key for several lookups. */
  coinAt(outpoint: string): Coin | undefined {
    return this.utxo.get(outpoint);
  }

  getCoinsByScript(scriptPubKey: Uint8Array): Array<{ txid: string; vout: number; coin: Coin }> {
    return this.utxo.getByScript(scriptPubKey);
  }

  /** Every coin of the UTXO set, keyed `<internal-order txid hex>:<vout>` (consistency checks, tools). */
  utxoEntries(): IterableIterator<[string, Coin]> {
    return this.utxo.entries();
  }

  async findTx(txid: string): Promise<{ tx: Transaction; blockHash: string; height: number } | undefined> {
    if (!/^[0-9a-f]{64}$/.test(txid)) return undefined;
    const loc = await this.store.getTxLocation(fromDisplayHex(txid));
    if (!loc) return undefined;
    const blockHash = toDisplayHex(loc.blockHash);
    const entry = this.index.get(blockHash);
    const block = await this.getBlock(blockHash);
    const tx = block?.txs[loc.position];
    if (!entry || !tx) return undefined;
    return { tx, blockHash, height: entry.height };
  }

  /** What a miner needs to build on the tip now. */
  // No network here lowers difficulty with time (no testnet 20-minute rule), so the clock is unused.
  nextBlockContext(_nowSec: number): { height: number; prevHash: Uint8Array; bits: number; minTime: number } {
    const tip = this.tip;
    return {
      height: tip.height + 1,
      prevHash: fromDisplayHex(tip.hash),
      bits: this.expectedBits(tip),
      minTime: this.mtp(tip) + 1,
    };
  }

  /** Median of the times of the last `medianTimeSpan` blocks ending at `hash` (default: tip). */
  medianTimePast(hash?: string): number {
    const entry = hash === undefined ? this.tip : this.index.get(hash);
    if (!entry) throw new Error(`unknown block ${hash}`);
    return this.mtp(entry);
  }

  /** An entry's ancestors never change, so neither does its median time past; the mempool asks once per transaction. */
  private mtp(entry: BlockIndexEntry): number {
    const known = this.mtpByEntry.get(entry);
    if (known !== undefined) return known;
    const times: number[] = [];
    let cur: BlockIndexEntry | undefined = entry;
    for (let i = 0; i < this.params.medianTimeSpan && cur; i++) {
      times.push(cur.header.time);
      cur = this.parentOf(cur);
    }
    times.sort((a, b) => a - b);
    const median = times[Math.floor(times.length / 2)] as number;
    this.mtpByEntry.set(entry, median);
    return median;
  }

  private expectedBits(prev: BlockIndexEntry): number {
    const height = prev.height + 1;
    const interval = this.params.retargetInterval;
    if (this.params.noRetarget || height % interval !== 0) {
      return nextWorkRequired(this.params, { height, prevBits: prev.header.bits });
    }
    const first = this.ancestorOf(prev, height - interval) as BlockIndexEntry;
    return nextWorkRequired(this.params, {
      height,
      prevBits: prev.header.bits,
      firstBlockTime: first.header.time,
      lastBlockTime: prev.header.time,
    });
  }

  /** Parent of an index entry or of a held low-work block (whose ancestors may be held too). */
  private parentOf(e: BlockIndexEntry): BlockIndexEntry | undefined {
    return this.index.parentOf(e) ?? this.lowWork.get(e.prevHash)?.entry;
  }

  private ancestorOf(e: BlockIndexEntry, height: number): BlockIndexEntry | undefined {
    let cur: BlockIndexEntry | undefined = e;
    while (cur && cur.height > height && !this.index.has(cur.hash)) cur = this.parentOf(cur);
    return cur && this.index.getAncestor(cur, height);
  }

  // ---- block processing ------------------------------------------------------

  /**
   * Operator override, as Bitcoin's `invalidateblock`: marks a block and its
   * descendants invalid (persisted), disconnecting them if they are on the
   * best chain, and moves to the best remaining chain.
   */
  invalidateBlock(hash: string): Promise<void> {
    return this.enqueue(async () => {
      const entry = this.index.get(hash);
      if (!entry) throw new Error(`unknown block ${hash}`);
      if (entry.height === 0) throw new Error('cannot invalidate the genesis block');
      const startTip = this.tip;
      while (this.index.onBestChain(entry)) await this.disconnectTip();
      const batch = new StoreBatch();
      for (const e of this.index.invalidate(entry)) batch.putIndex(toStored(e));
      await this.store.write(batch);
      // Branches lighter than the old tip were never candidates, or not even stored; now they may be the best.
      for (const e of this.index.all()) this.index.addCandidate(e);
      await this.storeHeldBranches();
      await this.activateBestChain(startTip);
      this.touched = new Map();
    });
  }

  /** Runs `fn` after every earlier state change: the chain has exactly one writer. */
  private enqueue<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(() => {
      if (this.closed) throw new Error('chain is closed');
      return fn();
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  processBlock(block: Block): Promise<ProcessBlockResult> {
    // Relay delivers most blocks several times: answer a known valid one without waiting for the queue.
    const hash = blockHashOf(block.header);
    const known = this.index.get(hash);
    if (known && !isFailed(known) && !this.closed) {
      return Promise.resolve({ status: 'duplicate', hash, height: known.height });
    }
    return this.enqueue(() => this.processSerial(block));
  }

  private async processSerial(block: Block): Promise<ProcessBlockResult> {
    const hash = blockHashOf(block.header);
    const known = this.index.get(hash);
    const held = this.lowWork.get(hash);
    if (known || held || this.orphans.has(hash)) {
      if (known && isFailed(known)) {
        const code = known.reason ?? 'bad-blk-prev-invalid';
        this.emit('rejected', { hash, code });
        throw new ValidationError(code, `block ${hash} is known to be invalid`);
      }
      if (known) return { status: 'duplicate', hash, height: known.height };
      if (held) return { status: 'duplicate', hash, height: held.entry.height };
      return { status: 'duplicate', hash, missingParent: this.orphans.rootOf(hash) as string };
    }
    const oldTip = this.tip;
    this.touched = new Map();
    try {
      const accepted = await this.processOne(block, hash);
      if (accepted === 'orphan') {
        return { status: 'orphan', hash, missingParent: this.orphans.rootOf(hash) as string };
      }
      const connectedOrphans = await this.processOrphansOf(hash);
      // A stale block is in the index now if orphans waiting for it brought its branch to the tip's work.
      const entry = this.index.get(hash);
      const result: ProcessBlockResult = entry
        ? { status: this.index.onBestChain(entry) ? 'connected' : 'side-chain', hash, height: entry.height }
        : { status: 'stale', hash, height: this.lowWork.get(hash)?.entry.height };
      const reorg = this.summarize(oldTip);
      if (reorg) result.reorg = reorg;
      if (connectedOrphans.length > 0) result.connectedOrphans = connectedOrphans;
      return result;
    } finally {
      this.touched = new Map();
    }
  }

  /** Checks, stores and (if it leads to the most work) connects one block. */
  private async processOne(block: Block, hash: string): Promise<BlockIndexEntry | 'orphan' | 'stale'> {
    let entry: BlockIndexEntry;
    try {
      const accepted = await this.acceptBlock(block, hash);
      if (accepted === 'orphan' || accepted === 'stale') return accepted;
      entry = accepted;
    } catch (err) {
      if (isValidationError(err)) this.reject(hash, err.code);
      throw err;
    }
    await this.activateBestChain();
    if (entry.status === 'failed-child') {
      this.reject(hash, 'bad-blk-prev-invalid');
      throw new ValidationError('bad-blk-prev-invalid', `block ${hash} descends from an invalid block`);
    }
    if (entry.status === 'invalid') {
      // markInvalid already reported it.
      const code = entry.reason ?? 'bad-blk-prev-invalid';
      throw new ValidationError(code, `block ${hash} is invalid (${code})`);
    }
    return entry;
  }

  /**
   * Context-free and header checks, then files the block: as an orphan, held
   * in memory if its branch has less work than the tip, or in the index
   * (stored, with any held ancestors its branch needs).
   */
  private async acceptBlock(block: Block, hash: string): Promise<BlockIndexEntry | 'orphan' | 'stale'> {
    checkBlock(block, this.params);
    const prevHash = toDisplayHex(block.header.prevHash);
    const parent = this.index.get(prevHash) ?? this.lowWork.get(prevHash)?.entry;
    if (!parent) {
      if (block.header.prevHash.every((b) => b === 0)) {
        throw new ValidationError('bad-blk-genesis', 'a second genesis block');
      }
      // Cheap: transaction encodings are memoized since checkBlock serialized them.
      this.orphans.add(hash, prevHash, block, blockSize(block));
      return 'orphan';
    }
    if (isFailed(parent)) throw new ValidationError('bad-blk-prev-invalid', `parent ${prevHash} is invalid`);
    checkBlockHeaderContext(
      block.header,
      {
        prevHeight: parent.height,
        expectedBits: this.expectedBits(parent),
        medianTimePast: this.mtp(parent),
        nowSec: Math.floor(this.now() / 1000),
      },
      this.params,
    );
    const entry: BlockIndexEntry = {
      hash,
      header: block.header,
      height: parent.height + 1,
      chainWork: parent.chainWork + workForBits(block.header.bits),
      prevHash,
      seq: this.index.takeSeq(),
      status: 'header-valid',
    };
    // Equal work is stored (as Core does): it may become the tip on the next block.
    if (entry.chainWork < this.tip.chainWork) {
      this.lowWork.add({ entry, block, bytes: blockSize(block) });
      return 'stale';
    }
    const batch = new StoreBatch();
    if (parent === this.tip && entry.chainWork > parent.chainWork) {
      // The common case: the block data goes into its connect batch, one write per block.
      this.unsaved.set(hash, block);
    } else {
      batch.putBlock(fromDisplayHex(hash), encodeBlock(block)).putIndex(toStored(entry));
    }
    const branch = this.lowWork.has(prevHash) ? this.takeHeldBranch(prevHash) : [];
    await this.storeBranch(branch, batch);
    this.index.add(entry);
    this.index.addCandidate(entry);
    return entry;
  }

  /**
   * Takes the held branch ending at `hash` out of the low-work pool to be
   * stored. If the stored block it forks from has been found invalid since it
   * was held, the branch is forgotten instead and the block is rejected.
   */
  private takeHeldBranch(hash: string): HeldBlock[] {
    const branch = this.lowWork.branch(hash);
    const root = branch[0] as HeldBlock;
    const forkParent = this.index.get(root.entry.prevHash);
    if (!forkParent || isFailed(forkParent)) {
      this.lowWork.drop(root.entry.hash);
      throw new ValidationError('bad-blk-prev-invalid', `block ${hash} descends from an invalid block`);
    }
    for (const held of branch) this.lowWork.delete(held.entry.hash);
    return branch;
  }

  /** After the tip lost work (invalidateBlock), stores the held branches that now reach it. */
  private async storeHeldBranches(): Promise<void> {
    const tipWork = this.tip.chainWork;
    const heads = [...this.lowWork.values()].filter((h) => h.entry.chainWork >= tipWork);
    for (const head of heads) {
      if (!this.lowWork.has(head.entry.hash)) continue; // stored with another head's branch
      let branch: HeldBlock[];
      try {
        branch = this.takeHeldBranch(head.entry.hash);
      } catch (err) {
        if (isValidationError(err)) continue;
        throw err;
      }
      await this.storeBranch(branch, new StoreBatch());
    }
  }

  /** Writes held blocks (lowest first) together with `batch` in one atomic write, then indexes them. */
  private async storeBranch(branch: readonly HeldBlock[], batch: StoreBatch): Promise<void> {
    for (const { entry, block } of branch) {
      batch.putBlock(fromDisplayHex(entry.hash), encodeBlock(block)).putIndex(toStored(entry));
    }
    if (batch.ops.length > 0) await this.store.write(batch);
    for (const { entry } of branch) {
      this.index.add(entry);
      this.index.addCandidate(entry);
    }
  }

  /**
   * Reports a rejected block and forgets orphans that were waiting for it:
   * they cannot connect. Not after a mutated copy (a body that does not match
   * its header): the real block may still come, and its orphans connect then.
   */
  private reject(hash: string, code: RejectCode): void {
    if (!isBlockMutation(code)) {
      const dropped = [hash];
      for (let h = dropped.pop(); h !== undefined; h = dropped.pop()) {
        for (const child of this.orphans.takeChildren(h)) dropped.push(child.hash);
      }
    }
    this.emit('rejected', { hash, code });
  }

  /**
   * Connects (or files as side branches, or holds as low-work blocks) the
   * orphans that were waiting for `hash`, transitively; returns those now in
   * the block index.
   */
  private async processOrphansOf(hash: string): Promise<string[]> {
    const accepted: string[] = [];
    const parents = [hash];
    for (let parent = parents.shift(); parent !== undefined; parent = parents.shift()) {
      for (const child of this.orphans.takeChildren(parent)) {
        try {
          const result = await this.processOne(child.block, child.hash);
          if (result === 'orphan') continue;
          accepted.push(child.hash);
          parents.push(child.hash);
        } catch (err) {
          if (!isValidationError(err)) throw err;
        }
      }
    }
    return accepted.filter((h) => this.index.has(h));
  }

  /** Net change of the best chain since `oldTip`, or undefined if nothing was disconnected. */
  private summarize(oldTip: BlockIndexEntry): ReorgSummary | undefined {
    if (this.index.onBestChain(oldTip)) return undefined;
    const fork = this.index.forkPoint(oldTip);
    const disconnected: Block[] = [];
    for (let e: BlockIndexEntry | undefined = oldTip; e && e !== fork; e = this.index.parentOf(e)) {
      disconnected.push(this.touched.get(e.hash) as Block);
    }
    const connected: Block[] = [];
    for (let h = fork.height + 1; h <= this.tip.height; h++) {
      connected.push(this.touched.get(this.index.atHeight(h)?.hash as string) as Block);
    }
    return { depth: disconnected.length, disconnected, connected };
  }

  /**
   * Moves the tip to the most-work valid block: disconnect to the fork point,
   * connect the branch; a block that fails is marked invalid with its
   * descendants and the choice is made again, which returns to the old branch
   * when nothing better is left.
   */
  private async activateBestChain(startTip = this.tip): Promise<void> {
    let moved = false;
    for (let target = this.index.bestCandidate(); target; target = this.index.bestCandidate()) {
      const fork = this.index.forkPoint(target);
      while (this.tip !== fork) {
        await this.disconnectTip();
        moved = true;
      }
      const path: BlockIndexEntry[] = [];
      for (let e: BlockIndexEntry | undefined = target; e && e !== fork; e = this.index.parentOf(e))
        path.push(e);
      for (const entry of path.reverse()) {
        const block = this.unsaved.get(entry.hash) ?? (await this.getBlock(entry.hash));
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
    const newTip = this.tip;
    // A failed reorg can end on the tip it started from; listeners still need to settle.
    if (newTip === startTip && !moved) return;
    if (!this.index.onBestChain(startTip)) {
      const depth = startTip.height - this.index.forkPoint(startTip).height;
      this.emit('reorg', { depth, oldTip: startTip, newTip });
    }
    this.emit('tip', newTip);
  }

  private async markInvalid(entry: BlockIndexEntry, block: Block, code: RejectCode): Promise<void> {
    const changed = this.index.invalidate(entry, code);
    const batch = new StoreBatch();
    if (this.unsaved.delete(entry.hash)) batch.putBlock(fromDisplayHex(entry.hash), encodeBlock(block));
    for (const e of changed) batch.putIndex(toStored(e));
    await this.store.write(batch);
    this.reject(entry.hash, code);
  }

  /** Validates `block` against the UTXO set and makes it the tip in one atomic batch. */
  private async connectTip(entry: BlockIndexEntry, block: Block): Promise<void> {
    const params = this.params;
    const height = entry.height;
    if (this.index.parentOf(entry) !== this.tip) throw new Error('connectTip: block does not extend the tip');
    const parentMtp = this.mtp(this.tip);
    const changes = new Map<string, CoinChange>();
    // By outpoint key, made once per input: it serves the lookup, the change and the UTXO set alike.
    const coinAt = (key: string): Coin | undefined => {
      const change = changes.get(key);
      if (change) return change.coin ?? undefined;
      return this.utxo.get(key);
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
    if (this.unsaved.has(entry.hash)) batch.putBlock(hashBytes, encodeBlock(block));
    entry.status = 'valid';
    batch.putIndex(toStored(entry)).putUndo(hashBytes, encodeUndo(spent)).putTip(hashBytes);
    for (const c of changes.values()) {
      if (c.coin) batch.putCoin(c.txid, c.vout, c.coin);
      else batch.delCoin(c.txid, c.vout);
    }
    txs.forEach((tx, position) => batch.putTx(txHash(tx), hashBytes, position));
    try {
      await this.store.write(batch);
    } catch (err) {
      entry.status = 'header-valid';
      throw err;
    }
    this.unsaved.delete(entry.hash);
    for (const [key, c] of changes) {
      if (c.coin) this.utxo.set(key, c.coin);
      else this.utxo.delete(key);
    }
    this.index.pushTip(entry);
    this.touched.set(entry.hash, block);
    this.emit('connect', { block, hash: entry.hash, height });
  }

  /** Undoes the tip block with its undo data in one atomic batch. */
  private async disconnectTip(): Promise<void> {
    const entry = this.tip;
    const parent = this.index.parentOf(entry);
    if (!parent) throw new Error('cannot disconnect genesis');
    const hashBytes = fromDisplayHex(entry.hash);
    const block = await this.getBlock(entry.hash);
    const rawUndo = await this.store.getUndo(hashBytes);
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
    for (const c of changes.values()) {
      if (c.coin) batch.putCoin(c.txid, c.vout, c.coin);
      else batch.delCoin(c.txid, c.vout);
    }
    batch.delUndo(hashBytes).putTip(fromDisplayHex(parent.hash));
    await this.store.write(batch);
    for (const [key, c] of changes) {
      if (c.coin) this.utxo.set(key, c.coin);
      else this.utxo.delete(key);
    }
    this.index.popTip();
    this.index.addCandidate(entry);
    this.touched.set(entry.hash, block);
    this.emit('disconnect', { block, hash: entry.hash, height: entry.height });
  }
}
