/** Relay policy: what this node is willing to hold, as opposed to what consensus allows. */

/** Default minimum relay fee rate, base units per 1000 bytes (Bitcoin Core's historic default). */
export const DEFAULT_MIN_FEE_RATE = 1000n;

/**
 * Smallest fee a transaction of `size` bytes must pay at `feeRatePerKb`.
 * Truncates like Bitcoin Core's CFeeRate::GetFee, but never rounds a positive
 * rate down to a free transaction.
 */
export function minimumFee(size: number, feeRatePerKb: bigint): bigint {
  const fee = (feeRatePerKb * BigInt(size)) / 1000n;
  return fee === 0n && feeRatePerKb > 0n && size > 0 ? 1n : fee;
}
