import { randomBytes } from 'node:crypto';
import {
  blockHashOf,
  completeBlock,
  decodeBlock,
  decodeBlockTxn,
  encodeBlock,
  encodeBlockTxn,
  encodeBlockTxnRequest,
  encodeCompactBlock,
  fillFromPool,
  fromDisplayHex,
  fromHex,
  bytesEqual,
  matchesHeader,
  missingIndexes,
  toCompactBlock,
  toDisplayHex,
  toHex,
  ValidationError,
  type Block,
  type BlockTxnRequest,
  type CompactBlock,
  type PartialBlock,
  type Transaction,
} from '../core/index.js';
import type { CompactBlockOutcome, Logger, Metrics } from '../obs/index.js';
import type { ChainPort, MempoolPort } from './deps.js';
import { PeerError } from './errors.js';
import type { PeerTransport } from './transport.js';

/** Blocks kept in memory after being sent compact, so a getblocktxn is answered before (or without) the store. */
const RECENT_BLOCKS = 32;
/** Peers whose compact block support is remembered (the peer book's own bound is far below). */
const SUPPORT_ENTRIES = 4096;
/** JSON around a blocktxn answer's hex: `{"blocktxn":"…"}`. */
const BLOCKTXN_JSON_OVERHEAD = '{"blocktxn":""}'.length;

/** A block on its way to peers: each encoding is built once, and only if a peer needs it. */
export class BlockPayload {
  private full: string | undefined;
  private compact: string | undefined;
  private decoded: Block | undefined;

  constructor(
    readonly hash: string,
    private readonly source: Block | Uint8Array,
  ) {
    if (!(source instanceof Uint8Array)) this.decoded = source;
  }

  get block(): Block {
    this.decoded ??= decodeBlock(this.source as Uint8Array);
    return this.decoded;
  }

  /** The whole block as hex (POST /block). */
  fullHex(): string {
    this.full ??= toHex(this.source instanceof Uint8Array ? this.source : encodeBlock(this.source));
    return this.full;
  }

  /** The compact block as hex (POST /cmpctblock): one random nonce per block, for every peer. */
  compactHex(): string {
    this.compact ??= toHex(encodeCompactBlock(toCompactBlock(this.block, randomBytes(8).readBigUInt64LE())));
    return this.compact;
  }
}

/** A compact block rebuilt (or not): the block when it was, and how. */
export interface Rebuilt {
  block?: Block;
  outcome: CompactBlockOutcome;
  /** Transactions fetched from the sender. */
  fetched: number;
}

/**
 * Compact block relay (BIP152) for this node: which peers take compact
 * blocks, the blocks recently sent compact (to answer getblocktxn), and
 * rebuilding a received compact block from the mempool, fetching from its
 * sender only what the mempool lacks.
 */
export class CompactBlocks {
  private readonly support = new Map<string, boolean>();
  private readonly recent = new Map<string, Block>();

  constructor(
    private readonly opts: {
      /** COMPACT_BLOCKS: off, this node neither sends compact blocks nor says it takes them. */
      enabled: boolean;
      chain: Pick<ChainPort, 'getRawBlock'>;
      mempool: Pick<MempoolPort, 'transactionsByKey'>;
      client: PeerTransport;
      metrics: Metrics;
      logger: Logger;
    },
  ) {}

  get enabled(): boolean {
    return this.opts.enabled;
  }

  /** What a peer said of itself (handshake, ping reply), or showed by sending a compact block. */
  recordSupport(nodeId: string, supports: boolean): void {
    this.support.delete(nodeId);
    this.support.set(nodeId, supports);
    if (this.support.size > SUPPORT_ENTRIES) {
      const oldest = this.support.keys().next().value;
      if (oldest !== undefined) this.support.delete(oldest);
    }
  }

  /** Whether blocks go to this peer compact. */
  sendsCompactTo(nodeId: string): boolean {
    return this.opts.enabled && this.support.get(nodeId) === true;
  }

  /** A block about to be sent compact: kept so that its transactions can be served before it is stored. */
  remember(hash: string, block: Block): void {
    if (this.recent.has(hash)) return;
    this.recent.set(hash, block);
    if (this.recent.size > RECENT_BLOCKS) {
      const oldest = this.recent.keys().next().value;
      if (oldest !== undefined) this.recent.delete(oldest);
    }
  }

  /**
   * POST /getblocktxn: the transactions a peer lacks to rebuild a block this
   * node announced, as a blocktxn message in hex. Unknown block: not-found;
   * an index beyond the block: bad-blocktxn-index.
   */
  async serveBlockTxn(req: BlockTxnRequest): Promise<string> {
    const hash = toDisplayHex(req.blockHash);
    let block = this.recent.get(hash);
    if (!block) {
      const raw = await this.opts.chain.getRawBlock(hash);
      if (!raw) throw new PeerError('not-found', `block ${hash} is not known here`);
      block = decodeBlock(raw);
    }
    const txs: Transaction[] = [];
    for (const index of req.indexes) {
      const tx = block.txs[index];
      if (!tx)
        throw new ValidationError(
          'bad-blocktxn-index',
          `index ${index}: block ${hash} has ${block.txs.length} transactions`,
        );
      txs.push(tx);
    }
    const hex = toHex(encodeBlockTxn({ blockHash: req.blockHash, txs }));
    this.opts.metrics.bytesSent.inc({ kind: 'blocktxn' }, hex.length + BLOCKTXN_JSON_OVERHEAD);
    return hex;
  }

  /**
   * Rebuilds a compact block from the mempool, asking `sender` (a tried
   * peer; undefined for an anonymous request) for what is missing. A short-id
   * collision (two equal ids in the block, or a rebuilt block whose merkle
   * root does not match after using mempool transactions) is nobody's fault:
   * the sender is asked for every transaction instead. A sender that does not
   * answer leaves the block unbuilt (outcome failed, no block): the caller
   * falls back to a sync. A malformed or mismatched answer throws its
   * ValidationError, which is the sender's fault.
   */
  async rebuild(c: CompactBlock, sender: { nodeId: string; hostname: string } | undefined): Promise<Rebuilt> {
    const { metrics, logger } = this.opts;
    const hash = blockHashOf(c.header);
    const lookup = this.opts.mempool.transactionsByKey.bind(this.opts.mempool);
    const partial = fillFromPool(c, lookup);
    let result: Rebuilt;
    if (partial === undefined) {
      logger.info('compact block short ids collide, fetching all its transactions', { hash });
      result = await this.fetchAll(c, sender);
    } else {
      const missing = missingIndexes(partial);
      if (missing.length === 0) {
        result = { block: completeBlock(partial, []), outcome: 'rebuilt', fetched: 0 };
      } else {
        const fetched = await this.fetch(hash, missing, sender);
        result = fetched
          ? { block: completeBlock(partial, fetched), outcome: 'missing_fetched', fetched: fetched.length }
          : { outcome: 'failed', fetched: 0 };
      }
      if (result.block && !matchesHeader(result.block) && partial.fromPool > 0) {
        // BIP152: a mismatch after using our own transactions may be a short-id collision, not the sender's fault.
        logger.info('rebuilt block does not match its header, fetching all its transactions', { hash });
        result = await this.fetchAll(c, sender);
      }
    }
    metrics.compactBlocks.inc({ outcome: result.outcome });
    logger.debug('compact block', {
      hash,
      outcome: result.outcome,
      fetched: result.fetched,
      peer: sender?.nodeId,
    });
    return result;
  }

  /** Every transaction of the block from the sender: the block as the sender has it, or none. */
  private async fetchAll(
    c: CompactBlock,
    sender: { nodeId: string; hostname: string } | undefined,
  ): Promise<Rebuilt> {
    const partial: PartialBlock = {
      header: c.header,
      txs: new Array<Transaction | undefined>(c.shortIds.length + c.prefilled.length),
      fromPool: 0,
    };
    const writable = partial.txs as Array<Transaction | undefined>;
    for (const p of c.prefilled) writable[p.index] = p.tx;
    const fetched = await this.fetch(blockHashOf(c.header), missingIndexes(partial), sender);
    return fetched
      ? { block: completeBlock(partial, fetched), outcome: 'failed', fetched: fetched.length }
      : { outcome: 'failed', fetched: 0 };
  }

  /** getblocktxn to the sender; undefined when it cannot be asked or does not answer. */
  private async fetch(
    hash: string,
    indexes: number[],
    sender: { nodeId: string; hostname: string } | undefined,
  ): Promise<Transaction[] | undefined> {
    if (!sender) return undefined;
    const blockHash = fromDisplayHex(hash);
    let answerHex: string;
    try {
      answerHex = await this.opts.client.getBlockTxn(
        sender.hostname,
        toHex(encodeBlockTxnRequest({ blockHash, indexes })),
      );
    } catch (err) {
      this.opts.logger.info('getblocktxn failed', {
        hash,
        peer: sender.nodeId,
        error: err instanceof Error ? err.message : String(err),
      });
      return undefined;
    }
    const answer = decodeBlockTxn(fromHex(answerHex));
    if (!bytesEqual(answer.blockHash, blockHash))
      throw new ValidationError(
        'bad-blocktxn-hash',
        `blocktxn for ${toDisplayHex(answer.blockHash)}, not ${hash}`,
      );
    return answer.txs as Transaction[];
  }
}
