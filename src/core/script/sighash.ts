import { bytesEqual, fromHex, ByteWriter, decodeTx, type Transaction } from '../primitives/index.js';
import { ValidationError } from '../errors.js';
import {
  hash160,
  sha256d,
  isCompressedPublicKey,
  isLowS,
  isPublicKeyEncoding,
  normalizeS,
  parseStrictDer,
  publicKeyOf,
  signDigest,
  verifyCompact,
} from '../crypto/index.js';
import { OP_CODESEPARATOR, p2pkhHash, p2pkhScriptSig, parseP2pkhScriptSig, readOp } from './script.js';

export const SIGHASH_ALL = 0x01;
export const SIGHASH_NONE = 0x02;
export const SIGHASH_SINGLE = 0x03;
export const SIGHASH_ANYONECANPAY = 0x80;

// Bitcoin returns the number 1 (as a uint256, little-endian) for an input with no
// matching output under SIGHASH_SINGLE, or an out-of-range input; a famous quirk kept for fidelity.
const ONE = fromHex('01' + '00'.repeat(31));

/**
 * Writes the scriptCode of the input being signed exactly as Bitcoin Core's
 * SerializeScriptCode (legacy SignatureHash) does. Core walks the script
 * with GetOp, dropping every OP_CODESEPARATOR that parses as an opcode, and
 * stops at the first op that fails to parse. It writes the length first —
 * the full script size minus the separators it saw — then the bytes only up
 * to where that failed GetOp left its iterator (readOp's `end`). So for a
 * script ending in a truncated push the length promises more bytes than
 * follow, with or without separators; signatures commit to that preimage, so
 * it is reproduced rather than repaired.
 */
export function writeScriptCode(w: ByteWriter, script: Uint8Array): void {
  const kept: Array<[number, number]> = [];
  let separators = 0;
  let begin = 0;
  let it = 0;
  for (;;) {
    const op = readOp(script, it);
    it = op.end;
    if ('truncated' in op) break;
    if (op.opcode === OP_CODESEPARATOR) {
      kept.push([begin, it - 1]);
      begin = it;
      separators++;
    }
  }
  if (begin !== script.length) kept.push([begin, it]);
  w.varint(script.length - separators);
  for (const [from, to] of kept) w.bytes(script.subarray(from, to));
}

/**
 * Legacy (pre-segwit) signature digest of input `inputIndex` for any hashType,
 * including NONE, SINGLE and ANYONECANPAY, internal byte order.
 */
export function sighashOf(
  tx: Transaction,
  inputIndex: number,
  prevScriptPubKey: Uint8Array,
  hashType: number,
): Uint8Array {
  if (!Number.isInteger(inputIndex) || inputIndex < 0 || inputIndex >= tx.inputs.length) return ONE.slice();
  const base = hashType & 0x1f;
  const anyoneCanPay = (hashType & SIGHASH_ANYONECANPAY) !== 0;
  if (base === SIGHASH_SINGLE && inputIndex >= tx.outputs.length) return ONE.slice();

  const w = new ByteWriter(256 + prevScriptPubKey.length + tx.inputs.length * 41 + tx.outputs.length * 34);
  w.i32(tx.version);
  const inputIdxs = anyoneCanPay ? [inputIndex] : tx.inputs.map((_, i) => i);
  w.varint(inputIdxs.length);
  for (const i of inputIdxs) {
    const input = tx.inputs[i]!;
    w.bytes(input.prevTxid).u32(input.prevVout);
    if (i === inputIndex) writeScriptCode(w, prevScriptPubKey);
    else w.varint(0);
    // Under NONE/SINGLE the other inputs' sequences are not committed to.
    const zeroSeq = i !== inputIndex && (base === SIGHASH_NONE || base === SIGHASH_SINGLE);
    w.u32(zeroSeq ? 0 : input.sequence);
  }
  if (base === SIGHASH_NONE) {
    w.varint(0);
  } else if (base === SIGHASH_SINGLE) {
    w.varint(inputIndex + 1);
    // Outputs before ours are blanked to value -1 with an empty script.
    for (let i = 0; i < inputIndex; i++) w.i64(-1n).varint(0);
    const out = tx.outputs[inputIndex]!;
    w.i64(out.value).varBytes(out.scriptPubKey);
  } else {
    w.varint(tx.outputs.length);
    for (const out of tx.outputs) w.i64(out.value).varBytes(out.scriptPubKey);
  }
  w.u32(tx.locktime);
  w.i32(hashType);
  return sha256d(w.finish());
}

/** Root API: legacy sighash over raw transaction bytes (throws ValidationError if they do not decode). */
export function legacySighash(
  rawTx: Uint8Array,
  inputIndex: number,
  prevScriptPubKey: Uint8Array,
  hashType: number,
): Uint8Array {
  return sighashOf(decodeTx(rawTx), inputIndex, prevScriptPubKey, hashType);
}

/**
 * Which signature rules a P2PKH input is held to. `chainmesh`, for this
 * network's blocks and mempool: `<strict-DER low-S sig + SIGHASH_ALL>
 * <compressed key>`, one accepted encoding per signature. `bitcoin`, for
 * checking real Bitcoin spends: strict DER (BIP66) with any hashtype, high-S
 * accepted, compressed or uncompressed keys — low-S and compressed keys are
 * Bitcoin policy for new signatures, not rules for old ones.
 */
export type SignatureRules = 'chainmesh' | 'bitcoin';

/**
 * Everything needed to check one P2PKH input except the elliptic-curve
 * verification itself, so callers can batch that expensive step (e.g. over
 * worker threads) after the cheap structural checks passed.
 */
export interface P2pkhCheck {
  readonly digest: Uint8Array;
  /** 64-byte compact r ‖ s, low-S (normalised under `bitcoin` rules). */
  readonly signature: Uint8Array;
  /** Public key whose hash160 matches the spent script. */
  readonly pubkey: Uint8Array;
}

/**
 * Structural P2PKH checks for one input: the spent script is P2PKH; the
 * scriptSig is exactly `<sig + hashtype> <key>` under the given rules; the
 * key hashes to the script's hash. Returns the reject code on failure.
 */
export function prepareP2pkhInput(
  tx: Transaction,
  inputIndex: number,
  prevScriptPubKey: Uint8Array,
  rules: SignatureRules = 'chainmesh',
): P2pkhCheck | ValidationError {
  const input = tx.inputs[inputIndex];
  if (!input) return new ValidationError('bad-txns-script-verify-failed', 'input index out of range');
  const keyHash = p2pkhHash(prevScriptPubKey);
  if (!keyHash) return new ValidationError('bad-txns-nonstandard-script', 'spent output is not P2PKH');
  const parts = parseP2pkhScriptSig(input.scriptSig);
  if (!parts) return new ValidationError('bad-txns-nonstandard-script', 'scriptSig is not <sig> <pubkey>');
  const { sig, pubkey } = parts;
  const hashType = sig[sig.length - 1] as number;
  if (rules === 'chainmesh' && hashType !== SIGHASH_ALL) {
    return new ValidationError('bad-txns-script-verify-failed', 'hashtype must be SIGHASH_ALL');
  }
  let compact = parseStrictDer(sig.subarray(0, sig.length - 1));
  if (!compact) return new ValidationError('bad-txns-sig-der', 'signature is not strict DER');
  if (!isLowS(compact)) {
    if (rules === 'chainmesh') return new ValidationError('bad-txns-sig-highs', 'signature S is not low');
    compact = normalizeS(compact);
  }
  if (rules === 'chainmesh' ? !isCompressedPublicKey(pubkey) : !isPublicKeyEncoding(pubkey)) {
    return new ValidationError(
      'bad-txns-script-verify-failed',
      rules === 'chainmesh' ? 'public key must be compressed' : 'not a public key encoding',
    );
  }
  if (!bytesEqual(hash160(pubkey), keyHash)) {
    return new ValidationError('bad-txns-script-verify-failed', 'public key does not match the spent script');
  }
  return {
    digest: sighashOf(tx, inputIndex, prevScriptPubKey, hashType),
    signature: compact,
    pubkey: pubkey.slice(),
  };
}

export function verifyP2pkhCheck(check: P2pkhCheck): boolean {
  return verifyCompact(check.digest, check.signature, check.pubkey);
}

/** Verifies one input of a decoded transaction; false for anything invalid. */
export function verifyTxInput(
  tx: Transaction,
  inputIndex: number,
  prevScriptPubKey: Uint8Array,
  rules: SignatureRules = 'chainmesh',
): boolean {
  const check = prepareP2pkhInput(tx, inputIndex, prevScriptPubKey, rules);
  return !(check instanceof ValidationError) && verifyP2pkhCheck(check);
}

/**
 * Root API: verifies one P2PKH input over raw transaction bytes under
 * Bitcoin's rules (so real mainnet spends verify, old ones included);
 * false (never throws) for anything invalid.
 */
export function verifyP2pkhInput(
  rawTx: Uint8Array,
  inputIndex: number,
  prevScriptPubKey: Uint8Array,
): boolean {
  try {
    return verifyTxInput(decodeTx(rawTx), inputIndex, prevScriptPubKey, 'bitcoin');
  } catch {
    return false;
  }
}

/**
 * Synchronous script verification of every input, `prevScripts[i]` being
 * the script of the output input i spends. Throws the reject code of the
 * first failing input.
 */
export function verifyTxScripts(tx: Transaction, prevScripts: readonly Uint8Array[]): void {
  if (prevScripts.length !== tx.inputs.length) throw new RangeError('one previous script per input required');
  for (let i = 0; i < tx.inputs.length; i++) {
    const check = prepareP2pkhInput(tx, i, prevScripts[i]!);
    if (check instanceof ValidationError) throw check;
    if (!verifyP2pkhCheck(check)) {
      throw new ValidationError('bad-txns-script-verify-failed', `signature of input ${i} does not verify`);
    }
  }
}

/** Returns a copy of `tx` with input `inputIndex` signed (SIGHASH_ALL, compressed key). */
export function signP2pkhInput(
  tx: Transaction,
  inputIndex: number,
  prevScriptPubKey: Uint8Array,
  priv: Uint8Array,
): Transaction {
  const input = tx.inputs[inputIndex];
  if (!input) throw new RangeError('input index out of range');
  const pubkey = publicKeyOf(priv);
  const keyHash = p2pkhHash(prevScriptPubKey);
  if (!keyHash || !bytesEqual(keyHash, hash160(pubkey))) {
    throw new ValidationError('bad-key', 'private key does not own the spent P2PKH output');
  }
  const der = signDigest(sighashOf(tx, inputIndex, prevScriptPubKey, SIGHASH_ALL), priv);
  const sigWithType = new Uint8Array(der.length + 1);
  sigWithType.set(der);
  sigWithType[der.length] = SIGHASH_ALL;
  const inputs = tx.inputs.slice();
  inputs[inputIndex] = { ...input, scriptSig: p2pkhScriptSig(sigWithType, pubkey) };
  return { ...tx, inputs };
}
