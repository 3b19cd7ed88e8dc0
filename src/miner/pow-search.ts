import { hashMeetsTargetBytes } from '../core/index.js';
import { hashHeaderWithNonce } from './sha256-fast.js';

/** One past the largest nonce: the header's nonce is a 32-bit field. */
export const NONCE_SPACE = 2 ** 32;

export interface SearchResult {
  /** The winning nonce, if one was found. */
  readonly nonce?: number;
  /** First nonce not yet tried. */
  readonly next: number;
  readonly hashes: number;
}

/**
 * Tries nonces `from` .. `end - 1` against a header given by its SHA-256
 * midstate (first 64 bytes) and `tail12` (bytes 64..75). Synchronous and
 * allocation-free apart from the result, so callers bound it by range size.
 */
export function searchNonces(
  midstate: Uint32Array,
  tail12: Uint8Array,
  target: Uint8Array,
  from: number,
  end: number,
  out: Uint8Array = new Uint8Array(32),
): SearchResult {
  for (let nonce = from; nonce < end; nonce++) {
    hashHeaderWithNonce(midstate, tail12, nonce, out);
    // Top byte first: for any real target this rejects almost every hash in one comparison.
    if (out[31] === 0 || (target[31] as number) > 0) {
      if (hashMeetsTargetBytes(out, target)) return { nonce, next: nonce + 1, hashes: nonce - from + 1 };
    }
  }
  return { next: end, hashes: end - from };
}
