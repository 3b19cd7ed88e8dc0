/**
 * SipHash-2-4 (Aumasson and Bernstein, 2012): a keyed 64-bit hash, used by
 * BIP152 to turn a transaction id into a short id nobody can aim a collision
 * at without knowing the key. JavaScript has no 64-bit integers outside
 * bigint, which is an order of magnitude slower, so each 64-bit word lives
 * as two 32-bit halves (low, high) in one scratch array.
 */

/** A SipHash key as four little-endian 32-bit words: k0 low, k0 high, k1 low, k1 high. */
export type SipHashKey = Readonly<Uint32Array>;

/** A 16-byte key read as SipHash reads it: k0 = bytes 0-7, k1 = bytes 8-15, little-endian. */
export function sipHashKey(key: Uint8Array): SipHashKey {
  if (key.length !== 16) throw new RangeError(`a SipHash key is 16 bytes, got ${key.length}`);
  const view = new DataView(key.buffer, key.byteOffset, 16);
  return Uint32Array.of(
    view.getUint32(0, true),
    view.getUint32(4, true),
    view.getUint32(8, true),
    view.getUint32(12, true),
  );
}

// v0..v3 as (low, high) pairs at indexes 0/1, 2/3, 4/5, 6/7; m at 8/9. Synchronous use only.
const s = new Uint32Array(10);
const V0 = 0;
const V1 = 2;
const V2 = 4;
const V3 = 6;
const M = 8;

function add(a: number, b: number): void {
  const lo = (s[a] as number) + (s[b] as number);
  s[a + 1] = (s[a + 1] as number) + (s[b + 1] as number) + (lo > 0xffffffff ? 1 : 0);
  s[a] = lo;
}

function xor(a: number, b: number): void {
  s[a] = (s[a] as number) ^ (s[b] as number);
  s[a + 1] = (s[a + 1] as number) ^ (s[b + 1] as number);
}

/** Rotate left by n bits, 0 < n < 32. */
function rotl(a: number, n: number): void {
  const lo = s[a] as number;
  const hi = s[a + 1] as number;
  s[a] = (lo << n) | (hi >>> (32 - n));
  s[a + 1] = (hi << n) | (lo >>> (32 - n));
}

/** Rotate left by 32 bits: the halves swap. */
function swap(a: number): void {
  const lo = s[a] as number;
  s[a] = s[a + 1] as number;
  s[a + 1] = lo;
}

function sipRound(): void {
  add(V0, V1);
  rotl(V1, 13);
  xor(V1, V0);
  swap(V0);
  add(V2, V3);
  rotl(V3, 16);
  xor(V3, V2);
  add(V0, V3);
  rotl(V3, 21);
  xor(V3, V0);
  add(V2, V1);
  rotl(V1, 17);
  xor(V1, V2);
  swap(V2);
}

function compress(): void {
  xor(V3, M);
  sipRound();
  sipRound();
  xor(V0, M);
}

/** Leaves the 64-bit result in s[V0] (low) and s[V0 + 1] (high). */
function run(key: SipHashKey, data: Uint8Array): void {
  const [k0lo, k0hi, k1lo, k1hi] = key as unknown as [number, number, number, number];
  // The constants are "somepseudorandomlygeneratedbytes" as four 64-bit words.
  s[V0] = k0lo ^ 0x70736575;
  s[V0 + 1] = k0hi ^ 0x736f6d65;
  s[V1] = k1lo ^ 0x6e646f6d;
  s[V1 + 1] = k1hi ^ 0x646f7261;
  s[V2] = k0lo ^ 0x6e657261;
  s[V2 + 1] = k0hi ^ 0x6c796765;
  s[V3] = k1lo ^ 0x79746573;
  s[V3 + 1] = k1hi ^ 0x74656462;
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const whole = data.length - (data.length % 8);
  for (let i = 0; i < whole; i += 8) {
    s[M] = view.getUint32(i, true);
    s[M + 1] = view.getUint32(i + 4, true);
    compress();
  }
  // The last word: the remaining bytes, and the length modulo 256 in its top byte.
  let lo = 0;
  let hi = (data.length & 0xff) << 24;
  for (let i = whole; i < data.length; i++) {
    const shift = (i - whole) * 8;
    if (shift < 32) lo |= (data[i] as number) << shift;
    else hi |= (data[i] as number) << (shift - 32);
  }
  s[M] = lo;
  s[M + 1] = hi;
  compress();
  s[V2] = (s[V2] as number) ^ 0xff;
  for (let i = 0; i < 4; i++) sipRound();
  xor(V0, V1);
  xor(V0, V2);
  xor(V0, V3);
}

/** SipHash-2-4 of `data`: the 64-bit result as 8 little-endian bytes, as the reference implementation outputs it. */
export function sipHash24(key: SipHashKey, data: Uint8Array): Uint8Array {
  run(key, data);
  const out = new Uint8Array(8);
  const view = new DataView(out.buffer);
  view.setUint32(0, s[V0] as number, true);
  view.setUint32(4, s[V0 + 1] as number, true);
  return out;
}

/** The low 48 bits of SipHash-2-4 of `data` as a number (exact: below 2^53). */
export function sipHash24Low48(key: SipHashKey, data: Uint8Array): number {
  run(key, data);
  return ((s[V0 + 1] as number) & 0xffff) * 0x1_0000_0000 + (s[V0] as number);
}
