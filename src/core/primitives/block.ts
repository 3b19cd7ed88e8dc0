import { toDisplayHex } from './bytes.js';
import { ByteReader, ByteWriter, varintSize } from './encoding.js';
import { ValidationError } from '../errors.js';
import { sha256d } from '../crypto/index.js';
import { MIN_TX_BYTES, readTx, txSize, writeTx } from './tx.js';
import type { Block, BlockHeader } from './types.js';

export const HEADER_BYTES = 80;

// Headers are immutable values; their hash is asked for constantly (index, relay, logs).
const headerHashCache = new WeakMap<BlockHeader, Uint8Array>();

function readHeader(r: ByteReader): BlockHeader {
  return {
    version: r.i32(),
    prevHash: r.bytes(32),
    merkleRoot: r.bytes(32),
    time: r.u32(),
    bits: r.u32(),
    nonce: r.u32(),
  };
}

function writeHeader(w: ByteWriter, h: BlockHeader): void {
  w.i32(h.version).bytes(h.prevHash).bytes(h.merkleRoot).u32(h.time).u32(h.bits).u32(h.nonce);
}

/** Decodes exactly 80 bytes. */
export function decodeHeader(raw: Uint8Array): BlockHeader {
  if (raw.length !== HEADER_BYTES) {
    throw new ValidationError(
      raw.length < HEADER_BYTES ? 'bad-encoding-truncated' : 'bad-encoding-trailing',
      `header must be ${HEADER_BYTES} bytes, got ${raw.length}`,
    );
  }
  return readHeader(new ByteReader(raw));
}

export function encodeHeader(h: BlockHeader): Uint8Array {
  if (h.prevHash.length !== 32 || h.merkleRoot.length !== 32)
    throw new RangeError('header hashes must be 32 bytes');
  const w = new ByteWriter(HEADER_BYTES);
  writeHeader(w, h);
  return w.finish();
}

/** Double SHA-256 of the 80-byte header, internal byte order. */
export function headerHash(h: BlockHeader): Uint8Array {
  let hash = headerHashCache.get(h);
  if (!hash) {
    hash = sha256d(encodeHeader(h));
    headerHashCache.set(h, hash);
  }
  return hash;
}

/** Block hash as display hex. */
export function blockHashOf(h: BlockHeader): string {
  return toDisplayHex(headerHash(h));
}

export function decodeBlock(raw: Uint8Array): Block {
  const r = new ByteReader(raw);
  if (raw.length < HEADER_BYTES)
    throw new ValidationError('bad-encoding-truncated', 'block shorter than a header');
  const header = readHeader(r);
  const n = r.count(MIN_TX_BYTES);
  const txs = new Array<ReturnType<typeof readTx>>(n);
  for (let i = 0; i < n; i++) txs[i] = readTx(r);
  r.end();
  return { header, txs };
}

/** Serialized size in bytes, without building the serialization. */
export function blockSize(b: Block): number {
  let n = HEADER_BYTES + varintSize(b.txs.length);
  for (const tx of b.txs) n += txSize(tx);
  return n;
}

export function encodeBlock(b: Block): Uint8Array {
  const w = new ByteWriter(blockSize(b));
  writeHeader(w, b.header);
  w.varint(b.txs.length);
  for (const tx of b.txs) writeTx(w, tx);
  return w.finish();
}

/** Root API: hash of a raw 80-byte header as display hex (ValidationError if not 80 bytes). */
export function blockHash(rawHeader: Uint8Array): string {
  decodeHeader(rawHeader);
  return toDisplayHex(sha256d(rawHeader));
}
