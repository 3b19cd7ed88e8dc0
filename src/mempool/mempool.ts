import { EventEmitter } from 'node:events';
import {
  toDisplayHex,
  toHex,
  ValidationError,
  type NetworkParams,
  verifyTxScripts,
  encodeTx,
  isCoinbase,
  txHash,
  txid as txidOf,
  txSize,
  type Block,
  type Coin,
  type Transaction,
  type TxInput,
  checkFinalTx,
  checkInputCoins,
  checkTransaction,
} from '../core/index.js';
import { type ScriptJob, outpointKey } from '../chain/index.js';
import { compareFeeRate, feeRateKey, LowestFeeRateHeap } from './fee-order.js';
import { DEFAULT_MIN_FEE_RATE, minimumFee } from './policy.js';
import { selectByFeeRate } from './select.js';

/** The part of the chain the mempool reads: the UTXO set, the height and the block events. */
export interface MempoolChain {
  readonly params: NetworkParams;
  readonly height: number;
  /** Median time past of the tip: the clock that time locks are measured against. */
  medianTimePast(): number;
  /** A coin of the UTXO set by its `outpointKey`, the key this pool's spends are recorded under too. */
  coinAt(outpoint: string): Coin | undefined;
  /** Shared with block connection, which skips signatures verified here. */
  readonly verifiedScripts: { has(txid: string): boolean; add(txid: string): void };
  verifyScripts(jobs: readonly ScriptJob[]): Promise<boolean>;
  on(event: 'connect' | 'disconnect', listener: (ev: { block: Block }) => void): unknown;
  on(event: 'tip', listener: () => void): unknown;
  off(event: 'connect' | 'disconnect' | 'tip', listener: (...args: never[]) => void): unknown;
}

export interface MempoolOptions {
  /** Cap on the summed serialized size of held transactions. */
  maxBytes: number;
  /** Minimum relay fee rate in base units per 1000 bytes. */
  minFeeRate?: bigint;
  /** Clock in milliseconds for entry times (Date.now by default). */
  now?: () => number;
}

export type RemovalReason = 'block' | 'conflict' | 'evicted' | 'reorg';

export interface MempoolEvents {
  /** `source: 'reorg'` marks a transaction re-admitted from a disconnected block. */
  accepted: [{ txid: string; tx: Transaction; fee: bigint; source?: 'reorg' }];
  removed: [{ txid: string; reason: RemovalReason }];
}

interface Entry {
  readonly txid: string;
  readonly tx: Transaction;
  readonly fee: bigint;
  readonly size: number;
  readonly rate: bigint;
  /** Admission time, unix ms. */
  readonly time: number;
  readonly seq: number;
  /** Coins spent, by input index: chain coins or outputs of in-pool parents. */
  readonly spent: readonly Coin[];
  /** `outpointKey` of the coin each input spends: its entries in `spends`. */
  readonly inputKeys: readonly string[];
  /** `outpointKey` of each output: where a child's entry in `spends` would be. */
  readonly outputKeys: readonly string[];
  /** Txids of in-pool transactions this one spends from, and of those spending from it. */
  parents: ReadonlySet<string>;
  children: ReadonlySet<string>;
}

// Most pool transactions have no relatives in the pool: until they get one they share this set
// (an empty Set costs ~160 bytes, nearly as much as a one-input transaction's own bytes).
const NO_RELATIVES: ReadonlySet<string> = new Set();

function withRelative(set: ReadonlySet<string>, txid: string): ReadonlySet<string> {
  if (set === NO_RELATIVES) return new Set([txid]);
  (set as Set<string>).add(txid);
  return set;
}

function withoutRelative(set: ReadonlySet<string>, txid: string): void {
  if (set !== NO_RELATIVES) (set as Set<string>).delete(txid);
}

/** An output of a pool transaction, seen as a coin by its children; never a coinbase, so maturity never applies. */
const MEMPOOL_HEIGHT = 0x7fffffff;

/** A pre-verification batch is sent to the workers as soon as it holds this many transactions. */
const PREVERIFY_BATCH_TXS = 8;

/**
 * Unconfirmed transactions, validated against the UTXO set plus the pool
 * itself (chains of unconfirmed transactions are allowed), first spend wins
 * (no replacement), bounded in bytes with lowest-fee-rate eviction.
 *
 * Every admission and removal runs synchronously from first lookup to last
 * write (signatures not already checked by `preverify` are checked on this
 * thread), so two concurrent accepts, or an accept and a block connect, can
 * never interleave and double spend.
 */
export class Mempool extends EventEmitter<MempoolEvents> {
  private readonly pool = new Map<string, Entry>();
  /** Outpoint (`outpointKey`) -> txid of the pool transaction spending it. */
  private readonly spends = new Map<string, string>();
  /** scriptPubKey hex -> pool txids paying to it or spending a coin locked by it (address views). */
  private readonly byScript = new Map<string, Set<string>>();
  private readonly lowest = new LowestFeeRateHeap<Entry>((e) => this.pool.get(e.txid) === e);
  private readonly maxBytes: number;
  private readonly minFeeRate: bigint;
  private readonly now: () => number;
  private totalBytes = 0;
  private seq = 0;
  /** Blocks disconnected by the chain operation in progress, newest first; re-admitted when it settles. */
  private disconnected: Block[] = [];
  /** Txid being admitted: its eviction during the trim is a rejection, not a removal. */
  private admitting: string | undefined;
  /** Transactions gathered for the next shared pre-verification batch. */
  private pendingPreverify: { txs: Transaction[]; done: Promise<void>; send: () => void } | undefined;

  private readonly onConnect = ({ block }: { block: Block }): void => this.blockConnected(block);
  private readonly onDisconnect = ({ block }: { block: Block }): void => void this.disconnected.push(block);
  private readonly onTip = (): void => this.reorgSettled();

  constructor(
    private readonly chain: MempoolChain,
    opts: MempoolOptions,
  ) {
    super();
    this.maxBytes = opts.maxBytes;
    this.minFeeRate = opts.minFeeRate ?? DEFAULT_MIN_FEE_RATE;
    this.now = opts.now ?? Date.now;
    chain.on('connect', this.onConnect);
    chain.on('disconnect', this.onDisconnect);
    chain.on('tip', this.onTip);
  }

  /** Stops following the chain (the pool's contents stay readable). */
  close(): void {
    this.chain.off('connect', this.onConnect);
    this.chain.off('disconnect', this.onDisconnect);
    this.chain.off('tip', this.onTip);
  }

  get count(): number {
    return this.pool.size;
  }

  get bytes(): number {
    return this.totalBytes;
  }

  has(txid: string): boolean {
    return this.pool.has(txid);
  }

  get(txid: string): Transaction | undefined {
    return this.pool.get(txid)?.tx;
  }

  /**
   * Pool transactions whose key is wanted, by key: `keyOf` derives a key from
   * a transaction's hash (internal byte order), e.g. a compact block's short
   * id, so one pass over the pool builds the index a block needs. A key two
   * pool transactions share maps to null: neither can be told apart.
   */
  transactionsByKey<K>(keyOf: (hash: Uint8Array) => K, wanted: ReadonlySet<K>): Map<K, Transaction | null> {
    const found = new Map<K, Transaction | null>();
    for (const { tx } of this.pool.values()) {
      const key = keyOf(txHash(tx));
      if (!wanted.has(key)) continue;
      found.set(key, found.has(key) ? null : tx);
    }
    return found;
  }

  /** Whether a pool transaction spends this outpoint (prevTxid in internal order). */
  isSpent(prevTxid: Uint8Array, vout: number): boolean {
    return this.spends.has(outpointKey(prevTxid, vout));
  }

  *entries(): Iterable<{ txid: string; tx: Transaction; fee: bigint; size: number; time: number }> {
    for (const { txid, tx, fee, size, time } of this.pool.values()) yield { txid, tx, fee, size, time };
  }

  /**
   * Validates `tx` against the UTXO set plus the pool and admits it. Throws a
   * ValidationError with the reject code otherwise; emits 'accepted'.
   */
  async accept(tx: Transaction): Promise<{ txid: string; fee: bigint }> {
    return this.admit(tx);
  }

  /** Transactions for a block template: fee-rate order, parents before children, at most `maxBytes`. */
  selectForBlock(maxBytes: number): { txs: Transaction[]; fees: bigint } {
    const { txs, fees } = selectByFeeRate(this.pool.values(), maxBytes);
    return { txs, fees };
  }

  /**
   * Pending activity of one scriptPubKey: pool outputs paying it that no pool
   * transaction spends yet (`incoming`), and confirmed coins of it that pool
   * transactions spend (`outgoing`). Confirmed balance − outgoing + incoming
   * is the balance once the pool confirms.
   */
  pendingForScript(scriptPubKey: Uint8Array): {
    incoming: Array<{ txid: string; vout: number; value: bigint }>;
    outgoing: Array<{ txid: string; prevTxid: string; prevVout: number; value: bigint }>;
  } {
    const key = toHex(scriptPubKey);
    const incoming: Array<{ txid: string; vout: number; value: bigint }> = [];
    const outgoing: Array<{ txid: string; prevTxid: string; prevVout: number; value: bigint }> = [];
    for (const id of this.byScript.get(key) ?? []) {
      const e = this.pool.get(id) as Entry;
      e.tx.outputs.forEach((o, vout) => {
        if (toHex(o.scriptPubKey) === key && !this.spends.has(e.outputKeys[vout] as string)) {
          incoming.push({ txid: id, vout, value: o.value });
        }
      });
      e.tx.inputs.forEach((input, i) => {
        const coin = e.spent[i] as Coin;
        const prevTxid = toDisplayHex(input.prevTxid);
        // A parent still in the pool means the coin is not confirmed yet: already not in the confirmed balance.
        if (!this.pool.has(prevTxid) && toHex(coin.scriptPubKey) === key) {
          outgoing.push({ txid: id, prevTxid, prevVout: input.prevVout, value: coin.value });
        }
      });
    }
    return { incoming, outgoing };
  }

  /**
   * Pool transactions paying to or spending from one scriptPubKey, with what
   * each moved for it (`received`: its outputs to the script, `sent`: the
   * script's coins it spends, confirmed or from pool parents), newest first.
   */
  activityForScript(
    scriptPubKey: Uint8Array,
  ): Array<{ txid: string; time: number; received: bigint; sent: bigint }> {
    const key = toHex(scriptPubKey);
    const rows: Array<{ txid: string; time: number; seq: number; received: bigint; sent: bigint }> = [];
    for (const id of this.byScript.get(key) ?? []) {
      const e = this.pool.get(id) as Entry;
      let received = 0n;
      let sent = 0n;
      for (const o of e.tx.outputs) if (toHex(o.scriptPubKey) === key) received += o.value;
      for (const coin of e.spent) if (toHex(coin.scriptPubKey) === key) sent += coin.value;
      rows.push({ txid: id, time: e.time, seq: e.seq, received, sent });
    }
    rows.sort((a, b) => b.seq - a.seq);
    return rows.map(({ txid, time, received, sent }) => ({ txid, time, received, sent }));
  }

  /**
   * Verifies signatures over the chain's worker pool ahead of admission, so
   * admitting each transaction afterwards skips that work and this thread
   * spends its time on requests instead. Calls made in the same turn of the
   * event loop share one batch, sent once it holds PREVERIFY_BATCH_TXS
   * transactions or when the turn ends: concurrent single-transaction
   * requests then travel to the workers in small groups while this thread
   * reads the next ones, instead of all waiting on one batch together.
   * Transactions spending coins not known yet (parents later in the batch)
   * are left to the inline check; if any signature of the batch fails, or a
   * worker fails, nothing is recorded and admission finds the culprit inline
   * with its precise code.
   */
  preverify(txs: readonly Transaction[]): Promise<void> {
    let pending = this.pendingPreverify;
    if (!pending) {
      let release: (done: Promise<void>) => void = () => undefined;
      const batch = {
        txs: [] as Transaction[],
        done: new Promise<void>((resolve) => (release = resolve)),
        send: () => {
          // Sent once: when full, or when the turn ends, whichever comes first.
          if (this.pendingPreverify !== batch) return;
          this.pendingPreverify = undefined;
          release(this.verifyAhead(batch.txs));
        },
      };
      pending = this.pendingPreverify = batch;
      setImmediate(batch.send);
    }
    for (const tx of txs) pending.txs.push(tx);
    if (pending.txs.length >= PREVERIFY_BATCH_TXS) pending.send();
    return pending.done;
  }

  private async verifyAhead(txs: readonly Transaction[]): Promise<void> {
    const jobs: ScriptJob[] = [];
    const ids: string[] = [];
    for (const tx of txs) {
      const id = txidOf(tx);
      if (isCoinbase(tx) || this.chain.verifiedScripts.has(id) || this.pool.has(id)) continue;
      const coins = tx.inputs.map((input) => this.coinFor(input));
      if (coins.some((coin) => coin === undefined)) continue;
      const rawTx = encodeTx(tx);
      coins.forEach((coin, inputIndex) =>
        jobs.push({ tx, rawTx, inputIndex, prevScriptPubKey: (coin as Coin).scriptPubKey }),
      );
      ids.push(id);
    }
    if (jobs.length === 0) return;
    let allValid = false;
    try {
      allValid = await this.chain.verifyScripts(jobs);
    } catch {
      // A worker died mid-batch: admission checks every signature inline instead, so nothing is lost.
    }
    if (allValid) for (const id of ids) this.chain.verifiedScripts.add(id);
  }

  private admit(tx: Transaction, source?: 'reorg'): { txid: string; fee: bigint } {
    // Cheapest checks first: a relayed duplicate costs one hash and a map lookup.
    const id = txidOf(tx);
    if (this.pool.has(id)) throw new ValidationError('txn-already-known', `${id} is already in the mempool`);
    checkTransaction(tx);
    if (isCoinbase(tx))
      throw new ValidationError('bad-txns-coinbase-in-mempool', 'a coinbase is only valid in a block');
    // As the next block would see it.
    checkFinalTx(tx, this.chain.height + 1, this.chain.medianTimePast());
    const hash = txHash(tx);
    const outputKeys = tx.outputs.map((_, vout) => outpointKey(hash, vout));
    for (const key of outputKeys) {
      if (this.chain.coinAt(key))
        throw new ValidationError('txn-already-known', `${id} is already confirmed`);
    }
    // Each input's key and coin are worked out once per admission: they are most of its bookkeeping.
    const keys = tx.inputs.map((input) => outpointKey(input.prevTxid, input.prevVout));
    for (const key of keys) {
      const holder = this.spends.get(key);
      if (holder !== undefined) {
        throw new ValidationError('txn-mempool-conflict', `input already spent by ${holder} in the mempool`);
      }
    }

    const parents = new Set<string>();
    const coins = tx.inputs.map((input, i) => this.coinFor(input, keys[i], parents));
    const fee = checkInputCoins(tx, coins, this.chain.height + 1, this.chain.params);
    const spent = coins as Coin[];
    const size = txSize(tx);
    const required = minimumFee(size, this.minFeeRate);
    if (fee < required) {
      throw new ValidationError(
        'bad-txns-fee-too-low',
        `fee ${fee} below the minimum ${required} for ${size} bytes`,
      );
    }
    if (!this.chain.verifiedScripts.has(id)) {
      verifyTxScripts(
        tx,
        spent.map((c) => c.scriptPubKey),
      );
      this.chain.verifiedScripts.add(id);
    }

    const entry: Entry = {
      txid: id,
      tx,
      fee,
      size,
      rate: feeRateKey(fee, size),
      time: this.now(),
      seq: this.seq++,
      spent,
      inputKeys: keys,
      outputKeys,
      parents: parents.size > 0 ? parents : NO_RELATIVES,
      children: NO_RELATIVES,
    };
    if (this.totalBytes + size > this.maxBytes) {
      const floor = this.lowest.peek();
      if (!floor || compareFeeRate(entry, floor) <= 0) {
        throw new ValidationError('mempool-full', `mempool full and fee rate not above its lowest`);
      }
    }
    this.insert(entry);
    this.admitting = id;
    try {
      this.trim();
    } finally {
      this.admitting = undefined;
    }
    if (!this.pool.has(id))
      throw new ValidationError('mempool-full', 'evicted with an ancestor to make room');
    this.emit('accepted', source ? { txid: id, tx, fee, source } : { txid: id, tx, fee });
    return { txid: id, fee };
  }

  /** The coin an input spends: from the UTXO set, else an output of a pool transaction (recorded in `parents`). */
  private coinFor(
    input: TxInput,
    key = outpointKey(input.prevTxid, input.prevVout),
    parents?: Set<string>,
  ): Coin | undefined {
    const coin = this.chain.coinAt(key);
    if (coin) return coin;
    const parentId = toDisplayHex(input.prevTxid);
    const out = this.pool.get(parentId)?.tx.outputs[input.prevVout];
    if (!out) return undefined;
    parents?.add(parentId);
    return { value: out.value, scriptPubKey: out.scriptPubKey, height: MEMPOOL_HEIGHT, coinbase: false };
  }

  private insert(e: Entry): void {
    this.pool.set(e.txid, e);
    this.lowest.push(e);
    this.totalBytes += e.size;
    for (const key of e.inputKeys) this.spends.set(key, e.txid);
    for (const p of e.parents) {
      const parent = this.pool.get(p);
      if (parent) parent.children = withRelative(parent.children, e.txid);
    }
    // Children can be here before their parent: a parent re-admitted after a reorg.
    for (const key of e.outputKeys) {
      const child = this.pool.get(this.spends.get(key) ?? '');
      if (child) {
        e.children = withRelative(e.children, child.txid);
        child.parents = withRelative(child.parents, e.txid);
      }
    }
    for (const script of scriptsOf(e)) {
      const set = this.byScript.get(script);
      if (set) set.add(e.txid);
      else this.byScript.set(script, new Set([e.txid]));
    }
  }

  private remove(e: Entry, reason: RemovalReason): void {
    this.pool.delete(e.txid);
    this.lowest.noteRemoved();
    this.totalBytes -= e.size;
    for (const key of e.inputKeys) {
      if (this.spends.get(key) === e.txid) this.spends.delete(key);
    }
    for (const p of e.parents) withoutRelative(this.pool.get(p)?.children ?? NO_RELATIVES, e.txid);
    for (const c of e.children) withoutRelative(this.pool.get(c)?.parents ?? NO_RELATIVES, e.txid);
    for (const script of scriptsOf(e)) {
      const set = this.byScript.get(script);
      set?.delete(e.txid);
      if (set?.size === 0) this.byScript.delete(script);
    }
    if (e.txid !== this.admitting) this.emit('removed', { txid: e.txid, reason });
  }

  /** Removes a transaction and everything spending its outputs, transitively. */
  private removeWithDescendants(e: Entry, reason: RemovalReason): void {
    const doomed = new Set([e]);
    for (const d of doomed) {
      for (const c of d.children) {
        const child = this.pool.get(c);
        if (child) doomed.add(child);
      }
    }
    // Descendants first, so no event announces a child whose parent is already gone.
    for (const d of [...doomed].reverse()) this.remove(d, reason);
  }

  private trim(): void {
    while (this.totalBytes > this.maxBytes) {
      const victim = this.lowest.peek();
      if (!victim) return;
      this.removeWithDescendants(victim, 'evicted');
    }
  }

  /** Mined transactions leave (their children now spend confirmed coins); conflicting ones leave with descendants. */
  private blockConnected(block: Block): void {
    for (const tx of block.txs) {
      const e = this.pool.get(txidOf(tx));
      if (e) this.remove(e, 'block');
    }
    for (const tx of block.txs) {
      if (isCoinbase(tx)) continue;
      for (const input of tx.inputs) {
        const holder = this.pool.get(this.spends.get(outpointKey(input.prevTxid, input.prevVout)) ?? '');
        if (holder) this.removeWithDescendants(holder, 'conflict');
      }
    }
  }

  /**
   * After a chain operation that disconnected blocks: their transactions come
   * back (oldest block first, so parents precede children) if they still
   * validate, then anything left spending a coin that vanished — or a coinbase
   * output that is immature again — leaves with its descendants.
   */
  private reorgSettled(): void {
    if (this.disconnected.length === 0) return;
    const blocks = this.disconnected.reverse();
    this.disconnected = [];
    for (const block of blocks) {
      for (const tx of block.txs) {
        if (isCoinbase(tx)) continue;
        try {
          this.admit(tx, 'reorg');
        } catch {
          // No longer valid on the new branch (spent there, or confirmed in it): dropped, as Bitcoin Core does.
        }
      }
    }
    const spendHeight = this.chain.height + 1;
    const maturity = this.chain.params.coinbaseMaturity;
    for (const e of [...this.pool.values()]) {
      if (!this.pool.has(e.txid)) continue;
      const broken = e.tx.inputs.some((input) => {
        const coin = this.coinFor(input);
        return !coin || (coin.coinbase && spendHeight - coin.height < maturity);
      });
      if (broken) this.removeWithDescendants(e, 'reorg');
    }
  }
}

function scriptsOf(e: Entry): Set<string> {
  const scripts = new Set<string>();
  for (const o of e.tx.outputs) scripts.add(toHex(o.scriptPubKey));
  for (const c of e.spent) scripts.add(toHex(c.scriptPubKey));
  return scripts;
}
