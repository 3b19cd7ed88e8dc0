import { ValidationError } from '../errors.js';

const HEX_RE = /^(?:[0-9a-fA-F]{2})*$/;

export function toHex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

/** Strict: even length, hex digits only (Buffer.from would silently truncate). */
export function fromHex(s: string): Uint8Array {
  if (typeof s !== 'string' || !HEX_RE.test(s))
    throw new ValidationError('bad-encoding', 'invalid hex string');
  return new Uint8Array(Buffer.from(s, 'hex'));
}

/** Hashes are shown byte-reversed, as Bitcoin explorers do. */
export function toDisplayHex(hash: Uint8Array): string {
  return toHex(Uint8Array.from(hash).reverse());
}

export function fromDisplayHex(s: string): Uint8Array {
  return fromHex(s).reverse();
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let len = 0;
  for (const p of parts) len += p.length;
  const out = new Uint8Array(len);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}
