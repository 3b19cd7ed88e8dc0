import secp256k1 from 'secp256k1';
import { ValidationError } from '../errors.js';
import { sha256 } from './hash.js';

/*
 * secp256k1 through the `secp256k1` package: Bitcoin Core's libsecp256k1 as a
 * prebuilt native addon (~6× node:crypto here). Policy enforced on top of it:
 * compressed public keys, DER signatures that are strict (BIP66) and low-S
 * (BIP62/BIP146), so every signature has exactly one accepted encoding.
 */

// n / 2 for the secp256k1 group order n, big-endian.
const HALF_ORDER = Uint8Array.from(
  Buffer.from('7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0', 'hex'),
);

export function isValidPrivateKey(priv: Uint8Array): boolean {
  return priv instanceof Uint8Array && priv.length === 32 && secp256k1.privateKeyVerify(priv);
}

/**
 * Deterministic key from arbitrary seed bytes (SHA-256, re-hashed in the
 * astronomically unlikely case the digest is not a valid scalar). For tests,
 * demos and wallets that derive keys from a passphrase.
 */
export function privateKeyFromSeed(seed: Uint8Array): Uint8Array {
  let k = sha256(seed);
  while (!secp256k1.privateKeyVerify(k)) k = sha256(k);
  return k;
}

/** 33-byte compressed public key. */
export function publicKeyOf(priv: Uint8Array): Uint8Array {
  if (!isValidPrivateKey(priv)) throw new ValidationError('bad-key', 'invalid private key');
  return secp256k1.publicKeyCreate(priv, true);
}

export function isCompressedPublicKey(pub: Uint8Array): boolean {
  return pub.length === 33 && (pub[0] === 0x02 || pub[0] === 0x03);
}

/** Compressed, or the 65-byte uncompressed form that early Bitcoin used. */
export function isPublicKeyEncoding(pub: Uint8Array): boolean {
  return isCompressedPublicKey(pub) || (pub.length === 65 && pub[0] === 0x04);
}

/** The low-S twin (n − s) of a compact signature; both verify for the same key and digest. */
export function normalizeS(compact: Uint8Array): Uint8Array {
  const copy = compact.slice();
  secp256k1.signatureNormalize(copy);
  return copy;
}

/** ECDSA over a 32-byte digest (RFC 6979 nonces), returned as low-S strict DER. */
export function signDigest(digest: Uint8Array, priv: Uint8Array): Uint8Array {
  if (digest.length !== 32) throw new RangeError('digest must be 32 bytes');
  if (!isValidPrivateKey(priv)) throw new ValidationError('bad-key', 'invalid private key');
  const { signature } = secp256k1.ecdsaSign(digest, priv);
  return secp256k1.signatureExport(secp256k1.signatureNormalize(signature));
}

/**
 * BIP66 strict DER (Bitcoin Core's IsValidSignatureEncoding without the
 * trailing hashtype byte): minimal lengths, positive minimal integers.
 */
export function isStrictDer(sig: Uint8Array): boolean {
  if (sig.length < 8 || sig.length > 72) return false;
  if (sig[0] !== 0x30 || sig[1] !== sig.length - 2) return false;
  const lenR = sig[3] as number;
  if (5 + lenR >= sig.length) return false;
  const lenS = sig[5 + lenR] as number;
  if (lenR + lenS + 6 !== sig.length) return false;
  if (sig[2] !== 0x02 || lenR === 0) return false;
  const r0 = sig[4] as number;
  if (r0 & 0x80) return false;
  if (lenR > 1 && r0 === 0 && !((sig[5] as number) & 0x80)) return false;
  if (sig[lenR + 4] !== 0x02 || lenS === 0) return false;
  const s0 = sig[lenR + 6] as number;
  if (s0 & 0x80) return false;
  if (lenS > 1 && s0 === 0 && !((sig[lenR + 7] as number) & 0x80)) return false;
  return true;
}

/** 64-byte compact (r ‖ s) form of a strict DER signature, or undefined. */
export function parseStrictDer(der: Uint8Array): Uint8Array | undefined {
  if (!isStrictDer(der)) return undefined;
  try {
    return secp256k1.signatureImport(der);
  } catch {
    // r or s ≥ n, or zero: well-formed DER but not a valid signature.
    return undefined;
  }
}

/** s ≤ n/2 on a 64-byte compact signature. */
export function isLowS(compact: Uint8Array): boolean {
  for (let i = 0; i < 32; i++) {
    const s = compact[32 + i] as number;
    const h = HALF_ORDER[i] as number;
    if (s !== h) return s < h;
  }
  return true;
}

/** Verifies a compact low-S signature; false for anything malformed (never throws). */
export function verifyCompact(digest: Uint8Array, compact: Uint8Array, pubkey: Uint8Array): boolean {
  if (digest.length !== 32 || compact.length !== 64 || !isPublicKeyEncoding(pubkey)) return false;
  if (!isLowS(compact)) return false;
  try {
    return secp256k1.ecdsaVerify(compact, digest, pubkey);
  } catch {
    // Not a point on the curve.
    return false;
  }
}

/** Strict-DER, low-S, compressed-key verification; false for anything invalid (never throws). */
export function verifyDigest(digest: Uint8Array, derSig: Uint8Array, pubkey: Uint8Array): boolean {
  const compact = parseStrictDer(derSig);
  return compact !== undefined && isCompressedPublicKey(pubkey) && verifyCompact(digest, compact, pubkey);
}
