import { bitsToTarget, isNullData, parseOps } from '../../core/index.js';

/** How pages write numbers for people: coins with exact decimals, times in UTC, ages and delays. */

/** Base units as coins with exact decimals (1 CMC = 10^8 base units), as the wallet writes them: `12.5 CMC`. */
export { formatAmount as formatCoins } from '../../core/index.js';

/** A unix time in seconds as `2026-12-04 15:43:02 UTC`. */
export function formatTime(unixSec: number): string {
  const iso = new Date(unixSec * 1000).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)} UTC`;
}

/** A duration in ms, coarsely: `850 ms`, `4.2 s`, `3 min`, `5 h`, `2 d`. */
export function formatDuration(ms: number): string {
  const abs = Math.abs(ms);
  const sign = ms < 0 ? '-' : '';
  if (abs < 1000) return `${sign}${Math.round(abs)} ms`;
  if (abs < 60_000) return `${sign}${(abs / 1000).toFixed(1)} s`;
  if (abs < 3_600_000) return `${sign}${Math.floor(abs / 60_000)} min`;
  if (abs < 86_400_000) return `${sign}${Math.floor(abs / 3_600_000)} h`;
  return `${sign}${Math.floor(abs / 86_400_000)} d`;
}

/** How long before `nowMs` a unix time in seconds was: `12 s ago`, `in 3 s` for a clock ahead. */
export function formatAge(unixSec: number, nowMs: number): string {
  const ms = nowMs - unixSec * 1000;
  if (Math.abs(ms) < 1000) return 'just now';
  if (ms < 0) return `in ${formatDuration(-ms)}`;
  return `${formatDuration(Math.floor(ms / 1000) * 1000)} ago`;
}

/** A signed delay: `+1.2 s` after, `-300 ms` (a block stamped later than this node's clock). */
export function formatDelay(ms: number): string {
  return ms >= 0 ? `+${formatDuration(ms)}` : formatDuration(ms);
}

/** Bytes as `512 B`, `12.3 kB`, `1.0 MB` (decimal units, as mempool.space shows them). */
export function formatBytes(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  if (bytes < 1_000_000) return `${(bytes / 1000).toFixed(1)} kB`;
  return `${(bytes / 1_000_000).toFixed(2)} MB`;
}

/** Fee rate in base units per byte with two decimals, from integers only. */
export function formatFeeRate(fee: bigint, size: number): string {
  const hundredths = (fee * 100n) / BigInt(Math.max(size, 1));
  return `${hundredths / 100n}.${(hundredths % 100n).toString().padStart(2, '0')} units/B`;
}

/** Difficulty as Bitcoin defines it, easiest target over this target, to three decimals (integers only). */
export function formatDifficulty(bits: number, powLimitBits: number): string {
  const thousandths = (bitsToTarget(powLimitBits) * 1000n) / bitsToTarget(bits);
  return `${thousandths / 1000n}.${(thousandths % 1000n).toString().padStart(3, '0')}`;
}

/** First and last characters of a long hex string, for tables: `00a1b2c3…d4e5f6`. */
export function shortHash(hex: string): string {
  return hex.length > 16 ? `${hex.slice(0, 8)}…${hex.slice(-8)}` : hex;
}

/** Bytes as text for people: printable ASCII kept, every other byte shown as `.` (no control or bidi characters). */
export function printable(bytes: Uint8Array): string {
  let text = '';
  for (const b of bytes) text += b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.';
  return text;
}

/** The data an OP_RETURN output carries (its pushes joined), undefined for any other script. */
export function nullData(script: Uint8Array): Uint8Array | undefined {
  if (!isNullData(script)) return undefined;
  const pushes = (parseOps(script.subarray(1)) ?? []).flatMap((op) => (op.data ? [op.data] : []));
  const out = new Uint8Array(pushes.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of pushes) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
