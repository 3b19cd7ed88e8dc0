import { bytesEqual, fromDisplayHex, toDisplayHex } from './bytes.js';
import { ValidationError } from '../errors.js';
import { sha256d } from '../crypto/index.js';

const ZERO_HASH = new Uint8Array(32);

/**
 * Bitcoin's merkle root: pairwise double SHA-256, an odd last node paired with
 * itself. `mutated` reports two identical siblings anywhere in the tree — the
 * CVE-2012-2459 ambiguity where a transaction list with repeated txids has the
 * same root as the honest list — so callers can reject such blocks.
 */
export function computeMerkleRoot(hashes: readonly Uint8Array[]): { root: Uint8Array; mutated: boolean } {
  if (hashes.length === 0) return { root: ZERO_HASH.slice(), mutated: false };
  let level = hashes.slice();
  let mutated = false;
  const pair = new Uint8Array(64);
  while (level.length > 1) {
    const next: Uint8Array[] = [];
    for (let i = 0; i < level.length; i += 2) {
      const left = level[i] as Uint8Array;
      const right = level[i + 1];
      if (right !== undefined && bytesEqual(left, right)) mutated = true;
      pair.set(left, 0);
      pair.set(right ?? left, 32);
      next.push(sha256d(pair));
    }
    level = next;
  }
  return { root: (level[0] as Uint8Array).slice(), mutated };
}

/** Root API: merkle root of display-hex txids, as display hex. */
export function merkleRoot(txids: string[]): string {
  const hashes = txids.map((id) => {
    const h = fromDisplayHex(id);
    if (h.length !== 32) throw new ValidationError('bad-encoding', 'txid must be 32 bytes of hex');
    return h;
  });
  return toDisplayHex(computeMerkleRoot(hashes).root);
}
