/**
 * Proof of work: Bitcoin's compact `bits` encoding of a 256-bit target, the
 * work a target represents, the hash-vs-target check and the difficulty
 * retarget. Every rule here mirrors Bitcoin Core (arith_uint256 SetCompact /
 * GetCompact, pow.cpp) so real mainnet headers check the same way.
 */
import { sha256d } from '../crypto/index.js';
import { ValidationError } from '../errors.js';
import { decodeHeader } from '../primitives/index.js';

const TWO_256 = 1n << 256n;

export interface DecodedCompact {
  /** Magnitude of the target; the sign bit is reported separately, as Core does. */
  readonly target: bigint;
  readonly negative: boolean;
  readonly overflow: boolean;
}

/** Bitcoin Core's SetCompact, including its negative and overflow flags. */
export function decodeCompact(bits: number): DecodedCompact {
  const size = bits >>> 24;
  // Core masks the sign bit off before shifting, so 0x01803456 is zero, not negative.
  let word = bits & 0x007fffff;
  let target: bigint;
  if (size <= 3) {
    word >>>= 8 * (3 - size);
    target = BigInt(word);
  } else {
    target = BigInt(word) << BigInt(8 * (size - 3));
  }
  const negative = word !== 0 && (bits & 0x00800000) !== 0;
  const overflow = word !== 0 && (size > 34 || (word > 0xff && size > 33) || (word > 0xffff && size > 32));
  // A target wider than 256 bits is truncated by Core's fixed-width integer; it is flagged as overflow anyway.
  return { target: overflow ? target % TWO_256 : target, negative, overflow };
}

/** Target encoded by `bits`; throws `bad-blk-bits` for negative or overflowing encodings. */
export function bitsToTarget(bits: number): bigint {
  const { target, negative, overflow } = decodeCompact(bits);
  if (negative || overflow)
    throw new ValidationError('bad-blk-bits', `invalid compact target 0x${hex32(bits)}`);
  return target;
}

/** Bitcoin Core's GetCompact for a non-negative target (rounds down to 3 significant bytes). */
export function targetToBits(target: bigint): number {
  if (target < 0n || target >= TWO_256) throw new RangeError('target out of range');
  let size = byteLength(target);
  let compact: number;
  if (size <= 3) {
    compact = Number(target) * 2 ** (8 * (3 - size));
  } else {
    compact = Number(target >> BigInt(8 * (size - 3)));
  }
  // The mantissa's top bit would read as a sign bit: move to a larger exponent instead.
  if (compact & 0x00800000) {
    compact >>>= 8;
    size++;
  }
  return ((size << 24) | compact) >>> 0;
}

/** Expected number of hashes to find a block at `bits`: 2^256 / (target + 1). Invalid bits count as no work. */
export function workForBits(bits: number): bigint {
  const { target, negative, overflow } = decodeCompact(bits);
  if (negative || overflow || target === 0n) return 0n;
  return TWO_256 / (target + 1n);
}

/**
 * The target as 32 little-endian bytes, the same order as a block hash in
 * internal order, so the mining loop can compare without bigint allocation.
 * Throws `bad-blk-bits` like `bitsToTarget`.
 */
export function targetToBytes(bits: number): Uint8Array {
  let t = bitsToTarget(bits);
  const out = new Uint8Array(32);
  for (let i = 0; i < 32 && t > 0n; i++) {
    out[i] = Number(t & 0xffn);
    t >>= 8n;
  }
  return out;
}

/**
 * hash ≤ target, both read as little-endian 256-bit integers. Allocation-free
 * and usually decided by the first byte compared, which makes it cheap enough
 * for the nonce loop.
 */
export function hashMeetsTargetBytes(hash: Uint8Array, target: Uint8Array): boolean {
  for (let i = 31; i >= 0; i--) {
    const h = hash[i] as number;
    const t = target[i] as number;
    if (h !== t) return h < t;
  }
  return true;
}

/** Bitcoin's check of a block hash (internal byte order) against its header's `bits`. */
export function hashMeetsTarget(hash: Uint8Array, bits: number): boolean {
  if (hash.length !== 32) return false;
  const { target, negative, overflow } = decodeCompact(bits);
  if (negative || overflow || target === 0n) return false;
  return hashMeetsTargetBytes(hash, targetToBytes(bits));
}

/** The parameters retargeting reads; any NetworkParams fits (kept structural so params.ts can import pow.ts). */
export interface PowParams {
  readonly powLimitBits: number;
  readonly targetSpacingSec: number;
  readonly retargetInterval: number;
  readonly noRetarget: boolean;
}

export interface WorkContext {
  /** Height of the block whose bits are being decided. */
  readonly height: number;
  /** Bits of its parent. */
  readonly prevBits: number;
  /**
   * At a retarget height: time of the block `retargetInterval` blocks before
   * the new one (height − interval), as Bitcoin uses — its famous off-by-one
   * measures interval − 1 block gaps.
   */
  readonly firstBlockTime?: number;
  /** At a retarget height: time of the parent block. */
  readonly lastBlockTime?: number;
}

/** Bits required for the block at `ctx.height`: Bitcoin's retarget, clamped to ×4 and capped at the pow limit. */
export function nextWorkRequired(params: PowParams, ctx: WorkContext): number {
  if (params.noRetarget || ctx.height === 0 || ctx.height % params.retargetInterval !== 0)
    return ctx.prevBits;
  if (ctx.firstBlockTime === undefined || ctx.lastBlockTime === undefined) {
    throw new TypeError(
      'nextWorkRequired: firstBlockTime and lastBlockTime are required at a retarget height',
    );
  }
  const targetTimespan = params.targetSpacingSec * params.retargetInterval;
  let actual = ctx.lastBlockTime - ctx.firstBlockTime;
  if (actual < targetTimespan / 4) actual = Math.floor(targetTimespan / 4);
  if (actual > targetTimespan * 4) actual = targetTimespan * 4;
  const powLimit = bitsToTarget(params.powLimitBits);
  let target = (bitsToTarget(ctx.prevBits) * BigInt(actual)) / BigInt(targetTimespan);
  if (target > powLimit) target = powLimit;
  return targetToBits(target);
}

function byteLength(n: bigint): number {
  let len = 0;
  while (n > 0n) {
    n >>= 8n;
    len++;
  }
  return len;
}

function hex32(n: number): string {
  return (n >>> 0).toString(16).padStart(8, '0');
}

/** Root API: the header's hash is at or below the target its own `bits` encode (ValidationError if not 80 bytes). */
export function checkProofOfWork(rawHeader: Uint8Array): boolean {
  const header = decodeHeader(rawHeader);
  return hashMeetsTarget(sha256d(rawHeader), header.bits);
}
