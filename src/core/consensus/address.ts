import { bytesEqual, concatBytes } from '../primitives/index.js';
import { ValidationError } from '../errors.js';
import { sha256d } from '../crypto/index.js';
import type { NetworkParams } from './params.js';
import { p2pkhHash, p2pkhScript } from '../script/index.js';

const ALPHABET = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
const ALPHABET_MAP = new Map([...ALPHABET].map((c, i) => [c, i]));
// No address is longer than this; bounds the bigint work on hostile input.
const MAX_ADDRESS_CHARS = 64;

export function base58Encode(bytes: Uint8Array): string {
  let zeros = 0;
  while (zeros < bytes.length && bytes[zeros] === 0) zeros++;
  let n = 0n;
  for (const b of bytes) n = (n << 8n) | BigInt(b);
  let out = '';
  while (n > 0n) {
    out = ALPHABET[Number(n % 58n)] + out;
    n /= 58n;
  }
  return '1'.repeat(zeros) + out;
}

export function base58Decode(s: string): Uint8Array {
  let zeros = 0;
  while (zeros < s.length && s[zeros] === '1') zeros++;
  let n = 0n;
  for (const c of s) {
    const v = ALPHABET_MAP.get(c);
    if (v === undefined) throw new ValidationError('bad-address', 'invalid base58 character');
    n = n * 58n + BigInt(v);
  }
  const body: number[] = [];
  while (n > 0n) {
    body.unshift(Number(n & 0xffn));
    n >>= 8n;
  }
  return Uint8Array.from([...new Array<number>(zeros).fill(0), ...body]);
}

export function base58CheckEncode(payload: Uint8Array): string {
  return base58Encode(concatBytes(payload, sha256d(payload).subarray(0, 4)));
}

export function base58CheckDecode(s: string): Uint8Array {
  if (typeof s !== 'string' || s.length === 0 || s.length > MAX_ADDRESS_CHARS) {
    throw new ValidationError('bad-address', 'address has an invalid length');
  }
  const raw = base58Decode(s);
  if (raw.length < 5) throw new ValidationError('bad-address', 'address too short');
  const payload = raw.subarray(0, raw.length - 4);
  if (!bytesEqual(sha256d(payload).subarray(0, 4), raw.subarray(raw.length - 4))) {
    throw new ValidationError('bad-address-checksum', 'address checksum mismatch');
  }
  return payload.slice();
}

/** Base58Check(version ‖ hash160). */
export function encodeAddress(hash160: Uint8Array, params: Pick<NetworkParams, 'addressVersion'>): string {
  if (hash160.length !== 20) throw new RangeError('hash160 must be 20 bytes');
  return base58CheckEncode(concatBytes(Uint8Array.of(params.addressVersion), hash160));
}

/** The hash160 an address pays to; ValidationError bad-address / -checksum / -network. */
export function decodeAddress(addr: string, params: Pick<NetworkParams, 'addressVersion'>): Uint8Array {
  const payload = base58CheckDecode(addr);
  if (payload.length !== 21) throw new ValidationError('bad-address', 'address payload must be 21 bytes');
  if (payload[0] !== params.addressVersion) {
    throw new ValidationError('bad-address-network', 'address belongs to another network');
  }
  return payload.slice(1);
}

export function addressToScript(addr: string, params: Pick<NetworkParams, 'addressVersion'>): Uint8Array {
  return p2pkhScript(decodeAddress(addr, params));
}

/** The address of a P2PKH script, undefined for any other script. */
export function scriptToAddress(
  script: Uint8Array,
  params: Pick<NetworkParams, 'addressVersion'>,
): string | undefined {
  const h = p2pkhHash(script);
  return h && encodeAddress(h, params);
}
