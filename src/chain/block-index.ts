import { fromDisplayHex, toDisplayHex, type RejectCode, type BlockHeader } from '../core/index.js';
import type { BlockStatus, StoredIndexEntry } from './store.js';

export type { BlockStatus } from './store.js';

/** One block known to the node: its header and where it sits in the tree. */
export interface BlockIndexEntry {
  /** Display hex. */
  readonly hash: string;
  readonly header: BlockHeader;
  readonly height: number;
  /** Sum of the work of this block and all its ancestors. */
  readonly chainWork: bigint;
  /** Display hex of the parent ('' for genesis). */
  readonly prevHash: string;
  /** First-seen order, the tie-break between branches of equal work. */
  readonly seq: number;
  /**
   * 'header-valid': stored, header checked in context, not (yet) connected.
   * 'valid': fully validated when connected once (it stays so after a disconnect).
   * 'invalid': failed validation. 'failed-child': descends from an invalid block.
   */
  status: BlockStatus;
  /** Reject code of an 'invalid' block. */
  reason?: RejectCode | undefined;
}

export function isFailed(e: BlockIndexEntry): boolean {
  return e.status === 'invalid' || e.status === 'failed-child';
}

export function toStored(e: BlockIndexEntry): StoredIndexEntry {
  return {
    hash: fromDisplayHex(e.hash),
    header: e.header,
    height: e.height,
    status: e.status,
    seq: e.seq,
    chainWork: e.chainWork,
    reason: e.reason,
  };
}

export function fromStored(s: StoredIndexEntry, genesis: boolean): BlockIndexEntry {
  return {
    hash: toDisplayHex(s.hash),
    header: s.header,
    height: s.height,
    chainWork: s.chainWork,
    prevHash: genesis ? '' : toDisplayHex(s.header.prevHash),
    seq: s.seq,
    status: s.status,
    ...(s.reason ? { reason: s.reason } : {}),
  };
}

function better(a: BlockIndexEntry, b: BlockIndexEntry): boolean {
  return a.chainWork > b.chainWork || (a.chainWork === b.chainWork && a.seq < b.seq);
}

/**
 * The tree of all stored blocks plus the active (best) chain as an array by
 * height. Candidates are stored blocks that might become the tip: more work
 * than the tip and not known to be invalid, as in Bitcoin Core's
 * setBlockIndexCandidates, so choosing the best tip never scans the tree.
 */
export class BlockIndex {
  private readonly entries = new Map<string, BlockIndexEntry>();
  private readonly children = new Map<string, BlockIndexEntry[]>();
  private readonly active: BlockIndexEntry[] = [];
  private readonly candidates = new Set<BlockIndexEntry>();
  private nextSeq = 0;

  get size(): number {
    return this.entries.size;
  }

  get tip(): BlockIndexEntry {
    const tip = this.active[this.active.length - 1];
    if (!tip) throw new Error('block index has no tip');
    return tip;
  }

  takeSeq(): number {
    return this.nextSeq++;
  }

  get(hash: string): BlockIndexEntry | undefined {
    return this.entries.get(hash);
  }

  has(hash: string): boolean {
    return this.entries.has(hash);
  }

  parentOf(e: BlockIndexEntry): BlockIndexEntry | undefined {
    return e.prevHash === '' ? undefined : this.entries.get(e.prevHash);
  }

  childrenOf(e: BlockIndexEntry): readonly BlockIndexEntry[] {
    return this.children.get(e.hash) ?? [];
  }

  add(e: BlockIndexEntry): void {
    this.entries.set(e.hash, e);
    if (e.seq >= this.nextSeq) this.nextSeq = e.seq + 1;
    if (e.prevHash === '') return;
    let list = this.children.get(e.prevHash);
    if (!list) {
      list = [];
      this.children.set(e.prevHash, list);
    }
    list.push(e);
  }

  /** Best-chain entry at a height. */
  atHeight(height: number): BlockIndexEntry | undefined {
    return this.active[height];
  }

  onBestChain(e: BlockIndexEntry): boolean {
    return this.active[e.height] === e;
  }

  /** Replaces the active chain with the path from genesis to `tip` (used at load). */
  setActive(tip: BlockIndexEntry): void {
    this.active.length = tip.height + 1;
    let cur: BlockIndexEntry | undefined = tip;
    while (cur) {
      this.active[cur.height] = cur;
      cur = this.parentOf(cur);
    }
  }

  pushTip(e: BlockIndexEntry): void {
    if (e.height !== this.active.length) throw new Error('pushTip: not the next height');
    this.active.push(e);
  }

  popTip(): BlockIndexEntry {
    const tip = this.active.pop();
    if (!tip) throw new Error('popTip on empty chain');
    return tip;
  }

  /** Ancestor of `e` at `height`, leaving the side branch for the best-chain array as soon as possible. */
  getAncestor(e: BlockIndexEntry, height: number): BlockIndexEntry | undefined {
    if (height > e.height || height < 0) return undefined;
    let cur: BlockIndexEntry | undefined = e;
    while (cur && cur.height > height) {
      if (this.onBestChain(cur)) return this.active[height];
      cur = this.parentOf(cur);
    }
    return cur;
  }

  /** Last common ancestor of `e` and the active chain. */
  forkPoint(e: BlockIndexEntry): BlockIndexEntry {
    let cur: BlockIndexEntry | undefined =
      e.height < this.active.length ? e : this.getAncestor(e, this.tip.height);
    while (cur && !this.onBestChain(cur)) cur = this.parentOf(cur);
    if (!cur) throw new Error('block not connected to genesis');
    return cur;
  }

  addCandidate(e: BlockIndexEntry): void {
    if (!isFailed(e) && better(e, this.tip)) this.candidates.add(e);
  }

  /** Most work (first seen on ties) candidate, or undefined when the tip is already best. */
  bestCandidate(): BlockIndexEntry | undefined {
    const tip = this.tip;
    let best: BlockIndexEntry | undefined;
    for (const c of this.candidates) {
      if (isFailed(c) || !better(c, tip)) {
        this.candidates.delete(c);
        continue;
      }
      if (!best || better(c, best)) best = c;
    }
    return best;
  }

  /** Marks `e` invalid and every descendant failed-child; returns all entries whose status changed. */
  invalidate(e: BlockIndexEntry, reason?: RejectCode): BlockIndexEntry[] {
    const changed: BlockIndexEntry[] = [];
    e.status = 'invalid';
    e.reason = reason;
    this.candidates.delete(e);
    changed.push(e);
    const stack = [...this.childrenOf(e)];
    while (stack.length > 0) {
      const c = stack.pop() as BlockIndexEntry;
      if (c.status !== 'failed-child' && c.status !== 'invalid') {
        c.status = 'failed-child';
        changed.push(c);
      }
      this.candidates.delete(c);
      stack.push(...this.childrenOf(c));
    }
    return changed;
  }

  *all(): IterableIterator<BlockIndexEntry> {
    yield* this.entries.values();
  }
}
