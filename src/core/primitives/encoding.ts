import { ValidationError } from '../errors.js';

/**
 * Bounds-checked little-endian reader over a byte view. Every failure is a
 * ValidationError so that decoders fed hostile bytes fail with a reason code.
 * `bytes()` returns copies: decoded structures must not alias a caller's buffer
 * that may be reused.
 */
export class ByteReader {
  private pos = 0;
  private readonly view: DataView;

  constructor(private readonly buf: Uint8Array) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  get offset(): number {
    return this.pos;
  }

  get remaining(): number {
    return this.buf.length - this.pos;
  }

  private need(n: number): void {
    if (n > this.buf.length - this.pos)
      throw new ValidationError('bad-encoding-truncated', 'unexpected end of data');
  }

  u8(): number {
    this.need(1);
    return this.view.getUint8(this.pos++);
  }

  u16(): number {
    this.need(2);
    const v = this.view.getUint16(this.pos, true);
    this.pos += 2;
    return v;
  }

  u32(): number {
    this.need(4);
    const v = this.view.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }

  i32(): number {
    this.need(4);
    const v = this.view.getInt32(this.pos, true);
    this.pos += 4;
    return v;
  }

  i64(): bigint {
    this.need(8);
    const v = this.view.getBigInt64(this.pos, true);
    this.pos += 8;
    return v;
  }

  u64(): bigint {
    this.need(8);
    const v = this.view.getBigUint64(this.pos, true);
    this.pos += 8;
    return v;
  }

  /** Copy of the next n bytes. */
  bytes(n: number): Uint8Array {
    this.need(n);
    const out = this.buf.slice(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /** View (no copy) of the bytes between two offsets already read. */
  span(start: number, end: number): Uint8Array {
    return this.buf.subarray(start, end);
  }

  /** CompactSize, rejecting non-minimal encodings as Bitcoin Core does. */
  varint(): number {
    const first = this.u8();
    if (first < 0xfd) return first;
    if (first === 0xfd) {
      const v = this.u16();
      if (v < 0xfd) throw new ValidationError('bad-encoding', 'non-canonical CompactSize');
      return v;
    }
    if (first === 0xfe) {
      const v = this.u32();
      if (v < 0x10000) throw new ValidationError('bad-encoding', 'non-canonical CompactSize');
      return v;
    }
    const v = this.u64();
    if (v < 0x100000000n) throw new ValidationError('bad-encoding', 'non-canonical CompactSize');
    // No structure here can hold 2^32 items or bytes; refuse before anyone allocates.
    throw new ValidationError('bad-encoding-oversize', 'CompactSize too large');
  }

  /**
   * A count of items each at least `minItemBytes` long: bounded by what is left
   * in the buffer, so a forged count fails before any allocation.
   */
  count(minItemBytes: number): number {
    const n = this.varint();
    if (n * minItemBytes > this.remaining)
      throw new ValidationError('bad-encoding-oversize', 'count exceeds data');
    return n;
  }

  varBytes(): Uint8Array {
    const n = this.varint();
    if (n > this.remaining) throw new ValidationError('bad-encoding-oversize', 'length exceeds data');
    return this.bytes(n);
  }

  /** Decoders consume whole messages: leftover bytes mean a malformed encoding. */
  end(): void {
    if (this.pos !== this.buf.length) throw new ValidationError('bad-encoding-trailing', 'trailing bytes');
  }
}

/** Growable little-endian writer. */
export class ByteWriter {
  private buf: Uint8Array;
  private view: DataView;
  private pos = 0;

  constructor(initialSize = 256) {
    this.buf = new Uint8Array(initialSize);
    this.view = new DataView(this.buf.buffer);
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = Math.max(64, this.buf.length * 2);
    while (size < this.pos + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  u8(v: number): this {
    this.ensure(1);
    this.view.setUint8(this.pos, v);
    this.pos += 1;
    return this;
  }

  u16(v: number): this {
    this.ensure(2);
    this.view.setUint16(this.pos, v, true);
    this.pos += 2;
    return this;
  }

  u32(v: number): this {
    this.ensure(4);
    this.view.setUint32(this.pos, v >>> 0, true);
    this.pos += 4;
    return this;
  }

  i32(v: number): this {
    this.ensure(4);
    this.view.setInt32(this.pos, v | 0, true);
    this.pos += 4;
    return this;
  }

  i64(v: bigint): this {
    this.ensure(8);
    this.view.setBigInt64(this.pos, BigInt.asIntN(64, v), true);
    this.pos += 8;
    return this;
  }

  u64(v: bigint): this {
    this.ensure(8);
    this.view.setBigUint64(this.pos, BigInt.asUintN(64, v), true);
    this.pos += 8;
    return this;
  }

  bytes(b: Uint8Array): this {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
    return this;
  }

  varint(n: number): this {
    if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`invalid CompactSize ${n}`);
    if (n < 0xfd) return this.u8(n);
    if (n <= 0xffff) return this.u8(0xfd).u16(n);
    if (n <= 0xffffffff) return this.u8(0xfe).u32(n);
    return this.u8(0xff).u64(BigInt(n));
  }

  varBytes(b: Uint8Array): this {
    return this.varint(b.length).bytes(b);
  }

  /** The written bytes (a view of the internal buffer; the writer must not be reused). */
  finish(): Uint8Array {
    return this.buf.subarray(0, this.pos);
  }
}

export function varintSize(n: number): number {
  return n < 0xfd ? 1 : n <= 0xffff ? 3 : n <= 0xffffffff ? 5 : 9;
}
