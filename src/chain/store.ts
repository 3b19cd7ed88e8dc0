import { ClassicLevel } from 'classic-level';
import {
  ByteReader,
  ByteWriter,
  CodedError,
  type BlockHeader,
  type Coin,
  REJECT_CODES,
  type RejectCode,
  decodeHeader,
  encodeHeader,
} from '../core/index.js';
import type { AddressTxEntry } from './address-index.js';

/*
 * Key layout. One byte of prefix, then fixed-width binary: hashes and txids in
 * internal byte order, vouts big-endian so that a txid's outputs sort together.
 *
 *   b <hash32>            raw block
 *   i <hash32>            index entry: header(80) height(u32) status(u8) seq(u32)
 *                         reject code(u8 length + ASCII, length 0 none) chainWork(big-endian, rest)
 *   r <hash32>            undo data of a connected block
 *   u <txid32> <vout BE>  coin: value(u64) height(u32) flags(u8) scriptPubKey(rest)
 *   t <txid32>            tx location on the best chain: block hash32, tx position(u32)
 *   a <hash160> <height BE> <position BE>
 *                         address index: best-chain tx paying to or spending from a P2PKH
 *                         key hash: txid32 received(u64) sent(u64); big-endian height and
 *                         position so an address's rows sort oldest to newest
 *   m <name>              metadata: 'tip' -> hash32, 'net' -> genesis hash32, 'format' -> u32,
 *                         'addr' -> u32 ADDRESS_INDEX_VERSION once the address index is complete
 *
 * Reject codes are stored as their text, not as a position in REJECT_CODES,
 * so adding or reordering codes never changes what stored entries mean.
 * 'format' is STORE_FORMAT: a store written with another layout is refused
 * at open rather than misread.
 */
export const STORE_FORMAT = 2;
const P_BLOCK = 0x62;
const P_INDEX = 0x69;
const P_UNDO = 0x72;
const P_COIN = 0x75;
const P_TX = 0x74;
const P_META = 0x6d;
const P_ADDRESS = 0x61;
/**
 * The address index was added to format 2 without changing the format: a
 * store without the 'addr' mark gets the index built from its blocks and undo
 * data at open (Chain.load), then the mark.
 */
export const ADDRESS_INDEX_VERSION = 1;

export type BlockStatus = 'header-valid' | 'valid' | 'invalid' | 'failed-child';
const STATUS_CODES: readonly BlockStatus[] = ['header-valid', 'valid', 'invalid', 'failed-child'];

/** What the store persists for each block index entry. */
export interface StoredIndexEntry {
  readonly hash: Uint8Array;
  readonly header: BlockHeader;
  readonly height: number;
  readonly status: BlockStatus;
  /** Order of first receipt: breaks chain-work ties in favour of the block seen first. */
  readonly seq: number;
  readonly chainWork: bigint;
  /** Why an 'invalid' block failed, so a resubmission gets the same answer after a restart. */
  readonly reason?: RejectCode | undefined;
}

export interface StoredCoin {
  readonly txid: Uint8Array;
  readonly vout: number;
  readonly coin: Coin;
}

function key(prefix: number, body: Uint8Array): Uint8Array {
  const k = new Uint8Array(1 + body.length);
  k[0] = prefix;
  k.set(body, 1);
  return k;
}

function coinKey(txid: Uint8Array, vout: number): Uint8Array {
  const k = new Uint8Array(37);
  k[0] = P_COIN;
  k.set(txid, 1);
  new DataView(k.buffer).setUint32(33, vout, false);
  return k;
}

function addressKey(hash160: Uint8Array, height: number, position: number): Uint8Array {
  const k = new Uint8Array(1 + 20 + 8);
  k[0] = P_ADDRESS;
  k.set(hash160, 1);
  const view = new DataView(k.buffer);
  view.setUint32(21, height, false);
  view.setUint32(25, position, false);
  return k;
}

function metaKey(name: string): Uint8Array {
  return key(P_META, new TextEncoder().encode(name));
}

function bigintToBytes(n: bigint): Uint8Array {
  let hex = n.toString(16);
  if (hex.length % 2) hex = '0' + hex;
  return new Uint8Array(Buffer.from(hex, 'hex'));
}

function bytesToBigint(b: Uint8Array): bigint {
  return b.length === 0
    ? 0n
    : BigInt('0x' + Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex'));
}

const ascii = new TextEncoder();
const knownCodes: ReadonlySet<string> = new Set(REJECT_CODES);

export function encodeIndexEntry(e: Omit<StoredIndexEntry, 'hash'>): Uint8Array {
  const reason = ascii.encode(e.reason ?? '');
  const w = new ByteWriter(80 + 10 + reason.length + 32);
  w.bytes(encodeHeader(e.header)).u32(e.height).u8(STATUS_CODES.indexOf(e.status)).u32(e.seq);
  w.u8(reason.length).bytes(reason);
  w.bytes(bigintToBytes(e.chainWork));
  return w.finish().slice();
}

export function decodeIndexEntry(hash: Uint8Array, raw: Uint8Array): StoredIndexEntry {
  const r = new ByteReader(raw);
  const header = decodeHeader(r.bytes(80));
  const height = r.u32();
  const status = STATUS_CODES[r.u8()];
  if (status === undefined) throw new Error('corrupt index entry: unknown status');
  const seq = r.u32();
  const text = new TextDecoder().decode(r.bytes(r.u8()));
  if (text !== '' && !knownCodes.has(text))
    throw new Error(`corrupt index entry: unknown reject code '${text}'`);
  const reason = text === '' ? undefined : (text as RejectCode);
  return { hash, header, height, status, seq, reason, chainWork: bytesToBigint(r.bytes(r.remaining)) };
}

export function encodeCoin(c: Coin): Uint8Array {
  const w = new ByteWriter(13 + c.scriptPubKey.length);
  w.u64(c.value)
    .u32(c.height)
    .u8(c.coinbase ? 1 : 0)
    .bytes(c.scriptPubKey);
  return w.finish().slice();
}

export function decodeCoin(raw: Uint8Array): Coin {
  const r = new ByteReader(raw);
  const value = r.u64();
  const height = r.u32();
  const coinbase = r.u8() === 1;
  return { value, height, coinbase, scriptPubKey: r.bytes(r.remaining) };
}

/** Collects writes to be applied in one atomic LevelDB batch. */
export class StoreBatch {
  readonly ops: Array<
    { type: 'put'; key: Uint8Array; value: Uint8Array } | { type: 'del'; key: Uint8Array }
  > = [];

  private put(k: Uint8Array, value: Uint8Array): this {
    this.ops.push({ type: 'put', key: k, value });
    return this;
  }

  private del(k: Uint8Array): this {
    this.ops.push({ type: 'del', key: k });
    return this;
  }

  putBlock(hash: Uint8Array, raw: Uint8Array): this {
    return this.put(key(P_BLOCK, hash), raw);
  }

  putIndex(e: StoredIndexEntry): this {
    return this.put(key(P_INDEX, e.hash), encodeIndexEntry(e));
  }

  putUndo(hash: Uint8Array, raw: Uint8Array): this {
    return this.put(key(P_UNDO, hash), raw);
  }

  delUndo(hash: Uint8Array): this {
    return this.del(key(P_UNDO, hash));
  }

  putCoin(txid: Uint8Array, vout: number, coin: Coin): this {
    return this.put(coinKey(txid, vout), encodeCoin(coin));
  }

  delCoin(txid: Uint8Array, vout: number): this {
    return this.del(coinKey(txid, vout));
  }

  putTx(txid: Uint8Array, blockHash: Uint8Array, position: number): this {
    const v = new Uint8Array(36);
    v.set(blockHash, 0);
    new DataView(v.buffer).setUint32(32, position, true);
    return this.put(key(P_TX, txid), v);
  }

  delTx(txid: Uint8Array): this {
    return this.del(key(P_TX, txid));
  }

  putAddressTx(e: AddressTxEntry): this {
    const w = new ByteWriter(48);
    w.bytes(e.txid).u64(e.received).u64(e.sent);
    return this.put(addressKey(e.hash160, e.height, e.position), w.finish().slice());
  }

  delAddressTx(e: AddressTxEntry): this {
    return this.del(addressKey(e.hash160, e.height, e.position));
  }

  putAddressIndexMark(): this {
    const v = new Uint8Array(4);
    new DataView(v.buffer).setUint32(0, ADDRESS_INDEX_VERSION, true);
    return this.put(metaKey('addr'), v);
  }

  putTip(hash: Uint8Array): this {
    return this.put(metaKey('tip'), hash);
  }

  putNetwork(genesisHash: Uint8Array): this {
    return this.put(metaKey('net'), genesisHash);
  }

  putFormat(): this {
    const v = new Uint8Array(4);
    new DataView(v.buffer).setUint32(0, STORE_FORMAT, true);
    return this.put(metaKey('format'), v);
  }
}

/** The chain's LevelDB database. Only the chain module writes to it. */
/** The store could not write (the disk is full or failing); the chain state is as before the write. */
export class StoreWriteError extends CodedError<'store-unavailable'> {
  override readonly name = 'StoreWriteError';
  constructor(override readonly cause: unknown) {
    super(
      'store-unavailable',
      `chain store write failed: ${cause instanceof Error ? cause.message : String(cause)}`,
    );
  }
}

export class ChainStore {
  /** The last failed write, until a write succeeds again. */
  private failure: StoreWriteError | undefined;
  /** Told when writes start failing (with the error) and when they succeed again (undefined). */
  private onHealthChange: ((failure: StoreWriteError | undefined) => void) | undefined;

  private constructor(private readonly db: ClassicLevel<Uint8Array, Uint8Array>) {}

  static async open(location: string): Promise<ChainStore> {
    const db = new ClassicLevel<Uint8Array, Uint8Array>(location, {
      keyEncoding: 'view',
      valueEncoding: 'view',
    });
    await db.open();
    const store = new ChainStore(db);
    try {
      await store.checkFormat();
    } catch (err) {
      await db.close();
      throw err;
    }
    return store;
  }

  /** A store that holds a chain must have been written in this layout (a new, empty one is fine). */
  private async checkFormat(): Promise<void> {
    if ((await this.getNetwork()) === undefined) return;
    const v = await this.db.get(metaKey('format'));
    const format = v?.length === 4 ? new DataView(v.buffer, v.byteOffset, 4).getUint32(0, true) : 1;
    if (format !== STORE_FORMAT) {
      throw new Error(
        `chain store format ${format} is not the supported format ${STORE_FORMAT}: start from an empty data directory`,
      );
    }
  }

  close(): Promise<void> {
    return this.db.close();
  }

  /**
   * Applies all writes or none of them, also across a crash (LevelDB's
   * write-ahead log). A write the disk refuses (full, read-only, I/O error)
   * becomes a StoreWriteError: nothing of the batch was applied.
   *
   * A refused write can leave a torn record at the end of LevelDB's log, and
   * LevelDB appends the next records after it: at the next open, recovery
   * stops at the torn record and drops every write that followed (found by
   * the chaos harness: a node lost 11 blocks it had accepted after its disk
   * had room again). So the database is reopened before the next write:
   * recovery then meets the torn record at the end of the old log, and new
   * writes go to a fresh one.
   */
  async write(batch: StoreBatch): Promise<void> {
    try {
      // After a failed write the log may end in a torn record (see above): reopen first.
      if (this.failure !== undefined) {
        await this.db.close();
        await this.db.open();
      }
      await this.db.batch(batch.ops);
    } catch (err) {
      const failure = new StoreWriteError(err);
      if (this.failure === undefined) this.onHealthChange?.(failure);
      this.failure = failure;
      throw failure;
    }
    if (this.failure !== undefined) {
      this.failure = undefined;
      this.onHealthChange?.(undefined);
    }
  }

  /** Whether the last write succeeded: false while the disk refuses writes. */
  get writable(): boolean {
    return this.failure === undefined;
  }

  /** One listener for the moments writes start failing and start succeeding again (not every write). */
  watchHealth(listener: (failure: StoreWriteError | undefined) => void): void {
    this.onHealthChange = listener;
  }

  async getBlock(hash: Uint8Array): Promise<Uint8Array | undefined> {
    return own(await this.db.get(key(P_BLOCK, hash)));
  }

  async getUndo(hash: Uint8Array): Promise<Uint8Array | undefined> {
    return own(await this.db.get(key(P_UNDO, hash)));
  }

  async getTxLocation(txid: Uint8Array): Promise<{ blockHash: Uint8Array; position: number } | undefined> {
    const v = await this.db.get(key(P_TX, txid));
    if (!v || v.length !== 36) return undefined;
    return {
      blockHash: own(v.subarray(0, 32)) as Uint8Array,
      position: new DataView(v.buffer, v.byteOffset, v.byteLength).getUint32(32, true),
    };
  }

  async getTip(): Promise<Uint8Array | undefined> {
    return own(await this.db.get(metaKey('tip')));
  }

  async getNetwork(): Promise<Uint8Array | undefined> {
    return own(await this.db.get(metaKey('net')));
  }

  async hasAddressIndex(): Promise<boolean> {
    const v = await this.db.get(metaKey('addr'));
    return (
      v?.length === 4 && new DataView(v.buffer, v.byteOffset, 4).getUint32(0, true) === ADDRESS_INDEX_VERSION
    );
  }

  /**
   * Address index rows of one key hash, newest first: skips `offset` rows and
   * returns at most `limit`, reading no more than offset + limit rows.
   */
  async getAddressTxs(hash160: Uint8Array, limit: number, offset: number): Promise<AddressTxEntry[]> {
    const gte = addressKey(hash160, 0, 0);
    const lt = addressKey(hash160, 0xffffffff, 0xffffffff);
    const out: AddressTxEntry[] = [];
    let skipped = 0;
    const it = this.db.iterator({ gte, lte: lt, reverse: true, limit: offset + limit });
    try {
      for (let batch = await it.nextv(256); batch.length > 0; batch = await it.nextv(256)) {
        for (const [k, v] of batch) {
          if (skipped++ < offset) continue;
          const view = new DataView(k.buffer, k.byteOffset, k.byteLength);
          const r = new ByteReader(v);
          out.push({
            hash160: own(k.subarray(1, 21)) as Uint8Array,
            height: view.getUint32(21, false),
            position: view.getUint32(25, false),
            txid: own(r.bytes(32)) as Uint8Array,
            received: r.u64(),
            sent: r.u64(),
          });
        }
      }
    } finally {
      await it.close();
    }
    return out;
  }

  /** Calls `fn` for every index entry (start-up: entries come in large batches, not one await each). */
  forEachIndexEntry(fn: (e: StoredIndexEntry) => void): Promise<void> {
    return this.scan(P_INDEX, (k, v) =>
      fn(decodeIndexEntry(own(k.subarray(1, 33)) as Uint8Array, own(v) as Uint8Array)),
    );
  }

  /** Calls `fn` for every coin of the UTXO set. */
  forEachCoin(fn: (c: StoredCoin) => void): Promise<void> {
    return this.scan(P_COIN, (k, v) => {
      const vout = new DataView(k.buffer, k.byteOffset, k.byteLength).getUint32(33, false);
      fn({ txid: own(k.subarray(1, 33)) as Uint8Array, vout, coin: decodeCoin(own(v) as Uint8Array) });
    });
  }

  private async scan(prefix: number, fn: (k: Uint8Array, v: Uint8Array) => void): Promise<void> {
    const it = this.db.iterator(range(prefix));
    try {
      for (let batch = await it.nextv(4096); batch.length > 0; batch = await it.nextv(4096)) {
        for (const [k, v] of batch) fn(k, v);
      }
    } finally {
      await it.close();
    }
  }
}

/**
 * LevelDB hands out Buffers; decoders and callers expect plain Uint8Arrays
 * they own (Buffer#slice would alias, and tests compare types), so copy once here.
 */
function own(v: Uint8Array | undefined): Uint8Array | undefined {
  return v === undefined ? undefined : new Uint8Array(v);
}

function range(prefix: number): { gte: Uint8Array; lt: Uint8Array } {
  return { gte: Uint8Array.of(prefix), lt: Uint8Array.of(prefix + 1) };
}
