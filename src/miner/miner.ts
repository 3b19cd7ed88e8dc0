import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { blockHashOf, toDisplayHex, targetToBytes, type Block, type Transaction } from '../core/index.js';
import { headerMidstate } from './sha256-fast.js';
import { dutyCycle, FULL_SPEED, type DutyCycle } from './duty-cycle.js';
import { HashRateMeter } from './hash-rate.js';
import { searchNonces } from './pow-search.js';
import { PowWorkers } from './pow-workers.js';
import {
  assembleBlock,
  createTemplate,
  withNonce,
  type BlockTemplate,
  type TemplateChain,
} from './template.js';

export interface MinerChain extends TemplateChain {
  readonly tip: { readonly hash: string };
  processBlock(block: Block): Promise<{ status: string; hash: string }>;
  on(event: 'tip', listener: () => void): unknown;
  off(event: 'tip', listener: () => void): unknown;
}

export interface MinerMempool {
  selectForBlock(maxBytes: number): { txs: Transaction[]; fees: bigint };
  on(event: 'accepted', listener: () => void): unknown;
  off(event: 'accepted', listener: () => void): unknown;
}

export interface MinerOptions {
  payoutScript: Uint8Array;
  /** Percent of one core the continuous miner may use, 1–100. */
  intensityPercent: number;
  threads?: number;
  /** Clock in milliseconds (Date.now by default). */
  now?: () => number;
}

export interface MinerEvents {
  mined: [{ block: Block; hash: string }];
  /** The continuous miner started searching a new template. */
  template: [{ height: number; prevHash: string; txs: number; reward: bigint }];
  /** A proof-of-work thread died; mining resumes with fresh threads. */
  workerFailed: [{ error: Error }];
}

/** New transactions are folded into the template at most this often. */
const TEMPLATE_REFRESH_MS = 1000;
/** A template is rebuilt at least this often so its time stays current. */
const TEMPLATE_MAX_AGE_MS = 30_000;
/** After emitting a block, how long to wait for the node to make it the tip before mining on regardless. */
const MINED_TIP_WAIT_MS = 10_000;
/** Pause before retrying after a template could not be built or a worker failed. */
const TEMPLATE_RETRY_MS = 1000;
/** Nonces `generate` tries on the calling thread before starting workers: regtest needs about two. */
const INLINE_NONCES = 65_536;

/** generate() gave up: other blocks kept taking the tip before its own could (a node catching up). */
export class TipMovingError extends Error {
  override readonly name = 'TipMovingError';
  constructor(
    message: string,
    /** Blocks this call did connect before giving up. */
    readonly mined: string[],
  ) {
    super(message);
  }
}

/**
 * Proof of work on block templates. `start()` mines continuously at the
 * configured intensity and emits each block found as 'mined' (the node
 * connects and relays it); a new tip abandons the search at once.
 * `generate()` mines blocks on demand at full speed and connects them itself.
 */
export class Miner extends EventEmitter<MinerEvents> {
  private readonly payoutScript: Uint8Array;
  private readonly threads: number;
  private readonly duty: DutyCycle;
  private readonly now: () => number;
  private readonly meter: HashRateMeter;
  /** Per-instance coinbase salt, so two nodes paying one address never build the same block. */
  private readonly salt = randomBytes(4);
  private extraNonce = 0;
  private readonly workers: PowWorkers;
  /** Separate threads for generate(), so a tip change aborting the continuous search never cancels it. */
  private generateWorkers: PowWorkers | undefined;
  private running = false;
  private loopDone: Promise<void> | undefined;
  private templateStartedAt = 0;
  private refreshTimer: NodeJS.Timeout | undefined;
  /** Wakes the loop when it waits for the tip to move. */
  private wake: (() => void) | undefined;

  private readonly onTip = (): void => {
    this.workers.abort();
    this.wake?.();
  };

  private readonly onTx = (): void => {
    if (this.refreshTimer) return;
    const delay = Math.max(0, this.templateStartedAt + TEMPLATE_REFRESH_MS - this.now());
    this.refreshTimer = setTimeout(() => {
      this.refreshTimer = undefined;
      this.workers.abort();
    }, delay);
  };

  constructor(
    private readonly chain: MinerChain,
    private readonly mempool: MinerMempool,
    opts: MinerOptions,
  ) {
    super();
    this.payoutScript = opts.payoutScript;
    this.threads = opts.threads ?? 1;
    this.duty = dutyCycle(opts.intensityPercent, this.threads);
    this.now = opts.now ?? Date.now;
    this.meter = new HashRateMeter(10, this.now);
    this.workers = new PowWorkers(this.threads, (n) => this.meter.add(n));
  }

  get hashesPerSecond(): number {
    return this.meter.rate();
  }

  get hashesTotal(): number {
    return this.meter.total;
  }

  get mining(): boolean {
    return this.running;
  }

  /** Mines continuously until stop(). */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.chain.on('tip', this.onTip);
    this.mempool.on('accepted', this.onTx);
    this.loopDone = this.loop();
  }

  /** Stops mining and terminates the worker threads. */
  async stop(): Promise<void> {
    this.running = false;
    this.chain.off('tip', this.onTip);
    this.mempool.off('accepted', this.onTx);
    clearTimeout(this.refreshTimer);
    this.refreshTimer = undefined;
    this.workers.abort();
    this.wake?.();
    await this.loopDone;
    this.loopDone = undefined;
    const generators = this.generateWorkers;
    this.generateWorkers = undefined;
    await Promise.all([this.workers.close(), generators?.close()]);
  }

  /**
   * Mines `count` blocks paying `payoutScript` at full speed, each connected
   * through chain.processBlock before the next; returns their hashes. A block
   * that loses a race with one arriving meanwhile is replaced, not counted.
   * `onConnected` gets each block as soon as it is connected (the node relays
   * it from there, without reading it back from the store).
   */
  async generate(
    count: number,
    payoutScript: Uint8Array,
    onConnected?: (block: Block, hash: string) => void,
  ): Promise<string[]> {
    const hashes: string[] = [];
    for (let attempts = 0; hashes.length < count; attempts++) {
      if (attempts >= count * 10) throw new TipMovingError('the tip kept moving under the miner', hashes);
      const block = await this.solve(payoutScript);
      const result = await this.chain.processBlock(block);
      if (result.status !== 'connected') continue;
      hashes.push(result.hash);
      onConnected?.(block, result.hash);
    }
    return hashes;
  }

  private async loop(): Promise<void> {
    while (this.running) {
      const tipBefore = this.chain.tip.hash;
      let next;
      try {
        next = this.nextBlock(this.payoutScript);
      } catch {
        // The chain cannot give a template right now (e.g. closing): try again shortly.
        await this.tipMovedFrom(tipBefore, TEMPLATE_RETRY_MS);
        continue;
      }
      const { template, block, header76 } = next;
      this.templateStartedAt = this.now();
      this.emit('template', {
        height: template.height,
        prevHash: toDisplayHex(template.prevHash),
        txs: template.txs.length,
        reward: template.reward,
      });
      const maxAge = setTimeout(() => this.workers.abort(), TEMPLATE_MAX_AGE_MS);
      let outcome;
      try {
        outcome = await this.workers.mine(header76, targetToBytes(block.header.bits), this.duty);
      } catch (err) {
        // A crashed worker: the pool starts fresh threads with the next template, after a pause
        // so a worker that cannot start at all does not turn into a spawn loop.
        this.emit('workerFailed', { error: err instanceof Error ? err : new Error(String(err)) });
        await this.tipMovedFrom(tipBefore, TEMPLATE_RETRY_MS);
        continue;
      } finally {
        clearTimeout(maxAge);
      }
      if (!this.running || outcome.kind !== 'found') continue;
      // Found just as another block took the tip: that block would only be a competitor of the new tip.
      if (this.chain.tip.hash !== tipBefore) continue;
      const found = withNonce(block, outcome.nonce);
      this.emit('mined', { block: found, hash: blockHashOf(found.header) });
      // Mining on before the node connected our block would only build a competitor of it.
      await this.tipMovedFrom(tipBefore, MINED_TIP_WAIT_MS);
    }
  }

  private tipMovedFrom(hash: string, timeoutMs: number): Promise<void> {
    if (this.chain.tip.hash !== hash || !this.running) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      this.wake = done;
    });
  }

  /** A block on the current tip with a fresh extra nonce, nonce not yet searched. */
  private nextBlock(payoutScript: Uint8Array): {
    template: BlockTemplate;
    block: Block;
    header76: Uint8Array;
  } {
    const template = createTemplate(this.chain, this.mempool, payoutScript, Math.floor(this.now() / 1000));
    const extra = new Uint8Array(8);
    extra.set(this.salt);
    new DataView(extra.buffer).setUint32(4, this.extraNonce++ >>> 0, true);
    return { template, ...assembleBlock(template, extra) };
  }

  /** A solved block for generate(): a few nonces inline (enough on regtest), then all workers at full speed. */
  private async solve(payoutScript: Uint8Array): Promise<Block> {
    for (;;) {
      const { block, header76 } = this.nextBlock(payoutScript);
      const target = targetToBytes(block.header.bits);
      const inline = searchNonces(headerMidstate(header76), header76.subarray(64), target, 0, INLINE_NONCES);
      this.meter.add(inline.hashes);
      if (inline.nonce !== undefined) return withNonce(block, inline.nonce);
      this.generateWorkers ??= new PowWorkers(this.threads, (n) => this.meter.add(n));
      const outcome = await this.generateWorkers.mine(header76, target, FULL_SPEED);
      if (outcome.kind === 'found') return withNonce(block, outcome.nonce);
      if (outcome.kind === 'aborted') throw new Error('generate: the miner was stopped');
      // Exhausted: the next template has a new extra nonce (and a fresher time).
    }
  }
}
