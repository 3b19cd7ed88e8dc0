import {
  blockHashOf,
  blockSize,
  checkBlock,
  checkBlockHeaderContext,
  encodeBlock,
  fromDisplayHex,
  isValidationError,
  toDisplayHex,
  ValidationError,
  workForBits,
  type Block,
} from '../core/index.js';
import { isFailed, toStored, type BlockIndexEntry } from './block-index.js';
import { rejectBlock, type ChainState } from './chain-state.js';
import type { BestChain } from './connect.js';
import type { HeaderContext } from './header-context.js';
import type { HeldBlock } from './low-work.js';
import { StoreBatch } from './store.js';
import type { ProcessBlockResult } from './types.js';

/**
 * A block's way in, from arrival to filed: checked, then kept as an orphan,
 * held as a low-work block, or indexed (stored) and the best chain moved.
 * Runs on the chain's serial queue (queue.ts), one block at a time.
 */
export class BlockProcessor {
  constructor(
    private readonly state: ChainState,
    private readonly headers: HeaderContext,
    private readonly best: BestChain,
    private readonly now: () => number,
  ) {}

  async process(block: Block): Promise<ProcessBlockResult> {
    const { index, lowWork, orphans, events } = this.state;
    const hash = blockHashOf(block.header);
    const known = index.get(hash);
    const held = lowWork.get(hash);
    const prevHash = toDisplayHex(block.header.prevHash);
    if (orphans.has(hash) && (index.has(prevHash) || lowWork.has(prevHash))) {
      // Its parent is known now, but arrived by a path that did not release it (a store write failed
      // between filing the parent and connecting it): process it as new instead of answering
      // 'duplicate' to every peer that sends it, which left the node stuck behind (chaos harness).
      orphans.delete(hash);
      return this.process(block);
    }
    if (known || held || orphans.has(hash)) {
      if (known && isFailed(known)) {
        const code = known.reason ?? 'bad-blk-prev-invalid';
        events.emit('rejected', { hash, code });
        throw new ValidationError(code, `block ${hash} is known to be invalid`);
      }
      if (known) return { status: 'duplicate', hash, height: known.height };
      if (held) return { status: 'duplicate', hash, height: held.entry.height };
      return { status: 'duplicate', hash, missingParent: orphans.rootOf(hash) as string };
    }
    const oldTip = index.tip;
    this.best.forgetTouched();
    try {
      const accepted = await this.processOne(block, hash);
      if (accepted === 'orphan') {
        return { status: 'orphan', hash, missingParent: orphans.rootOf(hash) as string };
      }
      const connectedOrphans = await this.processOrphansOf(hash);
      // A stale block is in the index now if orphans waiting for it brought its branch to the tip's work.
      const entry = index.get(hash);
      const result: ProcessBlockResult = entry
        ? { status: index.onBestChain(entry) ? 'connected' : 'side-chain', hash, height: entry.height }
        : { status: 'stale', hash, height: lowWork.get(hash)?.entry.height };
      const reorg = this.best.summarize(oldTip);
      if (reorg) result.reorg = reorg;
      if (connectedOrphans.length > 0) result.connectedOrphans = connectedOrphans;
      return result;
    } finally {
      this.best.forgetTouched();
    }
  }

  /**
   * Operator override, as Bitcoin's `invalidateblock`: marks a block and its
   * descendants invalid (persisted), disconnecting them if they are on the
   * best chain, and moves to the best remaining chain.
   */
  async invalidate(hash: string): Promise<void> {
    const { index, store } = this.state;
    const entry = index.get(hash);
    if (!entry) throw new Error(`unknown block ${hash}`);
    if (entry.height === 0) throw new Error('cannot invalidate the genesis block');
    const startTip = index.tip;
    while (index.onBestChain(entry)) await this.best.disconnectTip();
    const batch = new StoreBatch();
    for (const e of index.invalidate(entry)) batch.putIndex(toStored(e));
    await store.write(batch);
    // Branches lighter than the old tip were never candidates, or not even stored; now they may be the best.
    for (const e of index.all()) index.addCandidate(e);
    await this.storeHeldBranches();
    await this.best.activate(startTip);
    this.best.forgetTouched();
  }

  /** Checks, stores and (if it leads to the most work) connects one block. */
  private async processOne(block: Block, hash: string): Promise<BlockIndexEntry | 'orphan' | 'stale'> {
    let entry: BlockIndexEntry;
    try {
      const accepted = await this.acceptBlock(block, hash);
      if (accepted === 'orphan' || accepted === 'stale') return accepted;
      entry = accepted;
    } catch (err) {
      if (isValidationError(err)) rejectBlock(this.state, hash, err.code);
      throw err;
    }
    await this.best.activate();
    if (entry.status === 'failed-child') {
      rejectBlock(this.state, hash, 'bad-blk-prev-invalid');
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
    const { params, index, lowWork, orphans, unsaved } = this.state;
    checkBlock(block, params);
    const prevHash = toDisplayHex(block.header.prevHash);
    const parent = index.get(prevHash) ?? lowWork.get(prevHash)?.entry;
    if (!parent) {
      if (block.header.prevHash.every((b) => b === 0)) {
        throw new ValidationError('bad-blk-genesis', 'a second genesis block');
      }
      // Cheap: transaction encodings are memoized since checkBlock serialized them.
      orphans.add(hash, prevHash, block, blockSize(block));
      return 'orphan';
    }
    if (isFailed(parent)) throw new ValidationError('bad-blk-prev-invalid', `parent ${prevHash} is invalid`);
    checkBlockHeaderContext(
      block.header,
      {
        prevHeight: parent.height,
        expectedBits: this.headers.expectedBits(parent),
        medianTimePast: this.headers.medianTimePast(parent),
        nowSec: Math.floor(this.now() / 1000),
      },
      params,
    );
    const entry: BlockIndexEntry = {
      hash,
      header: block.header,
      height: parent.height + 1,
      chainWork: parent.chainWork + workForBits(block.header.bits),
      prevHash,
      seq: index.takeSeq(),
      status: 'header-valid',
    };
    // Equal work is stored (as Core does): it may become the tip on the next block.
    if (entry.chainWork < index.tip.chainWork) {
      lowWork.add({ entry, block, bytes: blockSize(block) });
      return 'stale';
    }
    const batch = new StoreBatch();
    if (parent === index.tip && entry.chainWork > parent.chainWork) {
      // The common case: the block data goes into its connect batch, one write per block.
      unsaved.set(hash, block);
    } else {
      batch.putBlock(fromDisplayHex(hash), encodeBlock(block)).putIndex(toStored(entry));
    }
    const branch = lowWork.has(prevHash) ? this.takeHeldBranch(prevHash) : [];
    await this.storeBranch(branch, batch);
    index.add(entry);
    index.addCandidate(entry);
    return entry;
  }

  /**
   * Takes the held branch ending at `hash` out of the low-work pool to be
   * stored. If the stored block it forks from has been found invalid since it
   * was held, the branch is forgotten instead and the block is rejected.
   */
  private takeHeldBranch(hash: string): HeldBlock[] {
    const { index, lowWork } = this.state;
    const branch = lowWork.branch(hash);
    const root = branch[0] as HeldBlock;
    const forkParent = index.get(root.entry.prevHash);
    if (!forkParent || isFailed(forkParent)) {
      lowWork.drop(root.entry.hash);
      throw new ValidationError('bad-blk-prev-invalid', `block ${hash} descends from an invalid block`);
    }
    for (const held of branch) lowWork.delete(held.entry.hash);
    return branch;
  }

  /** After the tip lost work (invalidateBlock), stores the held branches that now reach it. */
  private async storeHeldBranches(): Promise<void> {
    const { index, lowWork } = this.state;
    const tipWork = index.tip.chainWork;
    const heads = [...lowWork.values()].filter((h) => h.entry.chainWork >= tipWork);
    for (const head of heads) {
      if (!lowWork.has(head.entry.hash)) continue; // stored with another head's branch
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
    const { index, store } = this.state;
    for (const { entry, block } of branch) {
      batch.putBlock(fromDisplayHex(entry.hash), encodeBlock(block)).putIndex(toStored(entry));
    }
    if (batch.ops.length > 0) await store.write(batch);
    for (const { entry } of branch) {
      index.add(entry);
      index.addCandidate(entry);
    }
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
      for (const child of this.state.orphans.takeChildren(parent)) {
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
    return accepted.filter((h) => this.state.index.has(h));
  }
}
