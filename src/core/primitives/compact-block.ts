/**
 * Compact blocks (BIP152): a block relayed as its header, a nonce and a
 * 6-byte short id per transaction, plus the few transactions the receiver
 * cannot have (at least the coinbase), so that a receiver holding the rest in
 * its mempool rebuilds the block from about 6 bytes per transaction instead
 * of receiving all of them again. The messages and their encodings are
 * BIP152's `HeaderAndShortIDs`, `BlockTransactionsRequest` and
 * `BlockTransactions`, with this project's legacy transaction encoding (no
 * witnesses, so a txid is also its wtxid).
 *
 * Decoders read peer bytes: every count is bounded by the bytes present and
 * by the largest block any network here allows before anything is allocated,
 * and every fault is a ValidationError with its own code.
 */
import { concatBytes, bytesEqual } from './bytes.js';
import { ByteReader, ByteWriter } from './encoding.js';
import { ValidationError } from '../errors.js';
import { sha256, sipHash24Low48, sipHashKey, type SipHashKey } from '../crypto/index.js';
import { decodeHeader, encodeHeader, HEADER_BYTES } from './block.js';
import { computeMerkleRoot } from './merkle.js';
import { MIN_TX_BYTES, readTx, txHash, txSize, writeTx } from './tx.js';
import type { Block, BlockHeader, Transaction } from './types.js';

/** Bytes of one short id on the wire. */
export const SHORT_ID_BYTES = 6;
/**
 * Most transactions a compact block or a request may name: a block of the
 * largest size any network here allows (1 MB) made of the smallest possible
 * transactions. Bitcoin Core bounds these counts the same way (block weight
 * over the smallest transaction weight).
 */
export const MAX_COMPACT_TXS = Math.floor(1_000_000 / MIN_TX_BYTES);

export interface PrefilledTransaction {
  /** Position in the block. */
  readonly index: number;
  readonly tx: Transaction;
}

/** BIP152's HeaderAndShortIDs (the `cmpctblock` message). */
export interface CompactBlock {
  readonly header: BlockHeader;
  /** Chosen by the sender per block, so nobody can precompute colliding transactions for the key. */
  readonly nonce: bigint;
  /** The 48-bit short id of every transaction not prefilled, in block order. */
  readonly shortIds: readonly number[];
  /** In increasing index order. */
  readonly prefilled: readonly PrefilledTransaction[];
}

/** BIP152's BlockTransactionsRequest (`getblocktxn`): transactions of a block by index. */
export interface BlockTxnRequest {
  /** Internal byte order. */
  readonly blockHash: Uint8Array;
  /** Strictly increasing. */
  readonly indexes: readonly number[];
}

/** BIP152's BlockTransactions (`blocktxn`): the transactions a request named, in its order. */
export interface BlockTxn {
  readonly blockHash: Uint8Array;
  readonly txs: readonly Transaction[];
}

/** The SipHash key of a compact block: the first 16 bytes of SHA-256(header ‖ nonce as 8 little-endian bytes). */
export function shortIdKey(header: BlockHeader, nonce: bigint): SipHashKey {
  const nonceBytes = new ByteWriter(8).u64(nonce).finish();
  return sipHashKey(sha256(concatBytes(encodeHeader(header), nonceBytes)).subarray(0, 16));
}

/** A transaction's short id: the low 48 bits of SipHash-2-4 of its hash (internal byte order) under the block's key. */
export function shortTxId(key: SipHashKey, hash: Uint8Array): number {
  return sipHash24Low48(key, hash);
}

/**
 * The compact form of a block: the coinbase prefilled (a receiver never has
 * it), a short id for every other transaction. `nonce` must be fresh per
 * block (random in production, fixed in tests).
 */
export function toCompactBlock(block: Block, nonce: bigint): CompactBlock {
  const [coinbase, ...rest] = block.txs;
  if (!coinbase) throw new RangeError('a block has at least its coinbase');
  const key = shortIdKey(block.header, nonce);
  return {
    header: block.header,
    nonce,
    shortIds: rest.map((tx) => shortTxId(key, txHash(tx))),
    prefilled: [{ index: 0, tx: coinbase }],
  };
}

function writeShortId(w: ByteWriter, id: number): void {
  w.u32(id % 0x1_0000_0000).u16(Math.floor(id / 0x1_0000_0000));
}

function readShortId(r: ByteReader): number {
  const lo = r.u32();
  return r.u16() * 0x1_0000_0000 + lo;
}

/** Indexes travel as differences: each is the gap to the previous one, minus one. */
function writeIndexes(w: ByteWriter, indexes: readonly number[]): void {
  let last = -1;
  for (const index of indexes) {
    if (!Number.isSafeInteger(index) || index <= last) throw new RangeError('indexes must increase');
    w.varint(index - last - 1);
    last = index;
  }
}

export function encodeCompactBlock(c: CompactBlock): Uint8Array {
  let prefilledBytes = 0;
  for (const p of c.prefilled) prefilledBytes += 9 + txSize(p.tx);
  const w = new ByteWriter(HEADER_BYTES + 8 + 9 + c.shortIds.length * SHORT_ID_BYTES + 9 + prefilledBytes);
  w.bytes(encodeHeader(c.header)).u64(c.nonce);
  w.varint(c.shortIds.length);
  for (const id of c.shortIds) writeShortId(w, id);
  w.varint(c.prefilled.length);
  let last = -1;
  for (const p of c.prefilled) {
    if (p.index <= last) throw new RangeError('prefilled indexes must increase');
    w.varint(p.index - last - 1);
    last = p.index;
    writeTx(w, p.tx);
  }
  return w.finish();
}

export function decodeCompactBlock(raw: Uint8Array): CompactBlock {
  if (raw.length < HEADER_BYTES)
    throw new ValidationError('bad-encoding-truncated', 'compact block shorter than a header');
  const r = new ByteReader(raw);
  const header = decodeHeader(r.bytes(HEADER_BYTES));
  const nonce = r.u64();
  const idCount = r.count(SHORT_ID_BYTES);
  if (idCount > MAX_COMPACT_TXS)
    throw new ValidationError('bad-cmpct-toomany', `${idCount} short ids: more than a block holds`);
  const shortIds = new Array<number>(idCount);
  for (let i = 0; i < idCount; i++) shortIds[i] = readShortId(r);
  const prefilledCount = r.count(1 + MIN_TX_BYTES);
  const total = idCount + prefilledCount;
  if (total === 0) throw new ValidationError('bad-cmpct-empty', 'compact block names no transaction');
  if (total > MAX_COMPACT_TXS)
    throw new ValidationError('bad-cmpct-toomany', `${total} transactions: more than a block holds`);
  const prefilled = new Array<PrefilledTransaction>(prefilledCount);
  let last = -1;
  for (let i = 0; i < prefilledCount; i++) {
    const index = last + r.varint() + 1;
    // Every index must fall inside the block: the short ids fill the slots the prefilled leave.
    if (index >= total)
      throw new ValidationError(
        'bad-cmpct-prefilled-index',
        `prefilled transaction ${i} at index ${index}, beyond the block's ${total} transactions`,
      );
    prefilled[i] = { index, tx: readTx(r) };
    last = index;
  }
  r.end();
  return { header, nonce, shortIds, prefilled };
}

export function encodeBlockTxnRequest(req: BlockTxnRequest): Uint8Array {
  const w = new ByteWriter(32 + 9 + req.indexes.length * 3);
  w.bytes(req.blockHash).varint(req.indexes.length);
  writeIndexes(w, req.indexes);
  return w.finish();
}

export function decodeBlockTxnRequest(raw: Uint8Array): BlockTxnRequest {
  const r = new ByteReader(raw);
  const blockHash = r.bytes(32);
  const count = r.count(1);
  if (count === 0)
    throw new ValidationError('bad-blocktxn-index', 'a request names at least one transaction');
  if (count > MAX_COMPACT_TXS)
    throw new ValidationError('bad-blocktxn-index', `${count} indexes: more than a block holds`);
  const indexes = new Array<number>(count);
  let last = -1;
  for (let i = 0; i < count; i++) {
    const index = last + r.varint() + 1;
    if (index >= MAX_COMPACT_TXS)
      throw new ValidationError('bad-blocktxn-index', `index ${index}: beyond any block`);
    indexes[i] = index;
    last = index;
  }
  r.end();
  return { blockHash, indexes };
}

export function encodeBlockTxn(b: BlockTxn): Uint8Array {
  let size = 32 + 9;
  for (const tx of b.txs) size += txSize(tx);
  const w = new ByteWriter(size);
  w.bytes(b.blockHash).varint(b.txs.length);
  for (const tx of b.txs) writeTx(w, tx);
  return w.finish();
}

export function decodeBlockTxn(raw: Uint8Array): BlockTxn {
  const r = new ByteReader(raw);
  const blockHash = r.bytes(32);
  const count = r.count(MIN_TX_BYTES);
  const txs = new Array<Transaction>(count);
  for (let i = 0; i < count; i++) txs[i] = readTx(r);
  r.end();
  return { blockHash, txs };
}

/**
 * Unconfirmed transactions by key, for the keys wanted: `keyOf` maps a
 * transaction hash (internal byte order) to its key (here a short id). A key
 * two candidates share maps to null: neither can be told apart from the other.
 */
export type PoolLookup = (
  keyOf: (hash: Uint8Array) => number,
  wanted: ReadonlySet<number>,
) => ReadonlyMap<number, Transaction | null>;

/** A block being rebuilt from a compact block. */
export interface PartialBlock {
  readonly header: BlockHeader;
  /** The transaction at each index of the block; undefined while missing. */
  readonly txs: ReadonlyArray<Transaction | undefined>;
  /** How many were found in the pool (the rest were prefilled, or are missing). */
  readonly fromPool: number;
}

/**
 * Places the prefilled transactions and those of the pool whose short id the
 * block names. Undefined when two short ids of the block are equal: the
 * block cannot be rebuilt from short ids (a collision, by chance or made by
 * a third party), and the whole block must be fetched instead; BIP152 does
 * not count that against the sender. A short id two pool transactions share
 * stays missing, to be fetched.
 */
export function fillFromPool(c: CompactBlock, lookup: PoolLookup): PartialBlock | undefined {
  const wanted = new Set(c.shortIds);
  if (wanted.size !== c.shortIds.length) return undefined;
  const key = shortIdKey(c.header, c.nonce);
  const found = lookup((hash) => shortTxId(key, hash), wanted);
  const txs = new Array<Transaction | undefined>(c.shortIds.length + c.prefilled.length);
  for (const p of c.prefilled) txs[p.index] = p.tx;
  let next = 0;
  let fromPool = 0;
  for (let i = 0; i < txs.length; i++) {
    if (txs[i] !== undefined) continue;
    const tx = found.get(c.shortIds[next++] as number);
    if (tx) {
      txs[i] = tx;
      fromPool++;
    }
  }
  return { header: c.header, txs, fromPool };
}

/** Indexes of the transactions still missing, in increasing order: what a `getblocktxn` asks for. */
export function missingIndexes(p: PartialBlock): number[] {
  const out: number[] = [];
  for (let i = 0; i < p.txs.length; i++) if (p.txs[i] === undefined) out.push(i);
  return out;
}

/**
 * The block, with the missing transactions taken in order from a `blocktxn`
 * answer. Throws when the answer does not hold exactly the missing ones.
 */
export function completeBlock(p: PartialBlock, fetched: readonly Transaction[]): Block {
  const missing = missingIndexes(p);
  if (fetched.length !== missing.length)
    throw new ValidationError(
      'bad-blocktxn-count',
      `${fetched.length} transactions for ${missing.length} missing`,
    );
  const txs = p.txs.slice() as Transaction[];
  missing.forEach((index, i) => (txs[index] = fetched[i] as Transaction));
  return { header: p.header, txs };
}

/**
 * Whether the transactions are the ones the header commits to (merkle root,
 * not mutated). A rebuilt block that fails this after using pool
 * transactions may only have met a short-id collision.
 */
export function matchesHeader(block: Block): boolean {
  const { root, mutated } = computeMerkleRoot(block.txs.map(txHash));
  return !mutated && bytesEqual(root, block.header.merkleRoot);
}
