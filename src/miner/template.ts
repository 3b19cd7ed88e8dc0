import {
  encodeHeader,
  HEADER_BYTES,
  blockSubsidy,
  createCoinbaseTx,
  computeMerkleRoot,
  type NetworkParams,
  txHash,
  type Block,
  type BlockHeader,
  type Transaction,
} from '../core/index.js';

/** Header version of the blocks we build (no version-bits deployments on these networks). */
export const BLOCK_VERSION = 1;

/** Room left for the header, the transaction count and the coinbase, as Bitcoin Core reserves for it. */
const COINBASE_RESERVE_BYTES = 1000;

export interface TemplateChain {
  readonly params: NetworkParams;
  nextBlockContext(nowSec: number): { height: number; prevHash: Uint8Array; bits: number; minTime: number };
}

export interface TemplateMempool {
  selectForBlock(maxBytes: number): { txs: Transaction[]; fees: bigint };
}

/** Everything of a block but the coinbase's extra nonce and the header nonce. */
export interface BlockTemplate {
  readonly height: number;
  readonly prevHash: Uint8Array;
  readonly bits: number;
  readonly time: number;
  /** Pool transactions, parents before children. */
  readonly txs: readonly Transaction[];
  /** Subsidy plus fees: what the coinbase pays. */
  readonly reward: bigint;
  readonly payoutScript: Uint8Array;
}

/** A template for the block on the current tip, filled from the mempool by fee rate. */
export function createTemplate(
  chain: TemplateChain,
  mempool: TemplateMempool,
  payoutScript: Uint8Array,
  nowSec: number,
): BlockTemplate {
  const ctx = chain.nextBlockContext(nowSec);
  const room = chain.params.maxBlockBytes - HEADER_BYTES - COINBASE_RESERVE_BYTES;
  const { txs, fees } = mempool.selectForBlock(room);
  return {
    height: ctx.height,
    prevHash: ctx.prevHash,
    bits: ctx.bits,
    // A clock behind the median time past would give an invalid block.
    time: Math.max(nowSec, ctx.minTime),
    txs,
    reward: blockSubsidy(ctx.height, chain.params) + fees,
    payoutScript,
  };
}

/**
 * The block for `template` with `extraNonce` in its coinbase (BIP34 height
 * first), nonce 0, and the first 76 header bytes the proof-of-work search
 * varies the nonce after.
 */
export function assembleBlock(
  template: BlockTemplate,
  extraNonce: Uint8Array,
): { block: Block; header76: Uint8Array } {
  const coinbase = createCoinbaseTx(
    template.height,
    [{ value: template.reward, scriptPubKey: template.payoutScript }],
    extraNonce,
  );
  const txs = [coinbase, ...template.txs];
  const header: BlockHeader = {
    version: BLOCK_VERSION,
    prevHash: template.prevHash,
    merkleRoot: computeMerkleRoot(txs.map(txHash)).root,
    time: template.time,
    bits: template.bits,
    nonce: 0,
  };
  return { block: { header, txs }, header76: encodeHeader(header).subarray(0, 76) };
}

export function withNonce(block: Block, nonce: number): Block {
  return { header: { ...block.header, nonce }, txs: block.txs };
}
