/** The pure arithmetic of `make scale` (bench/scale/main.ts), tested in test/bench/scale-stats.test.ts. */

/** Every message that carries a block between peers: compact (BIP152) and whole. */
export const BLOCK_RELAY_KINDS = ['cmpctblock', 'getblocktxn', 'blocktxn', 'block'] as const;
export type BlockRelayKind = (typeof BLOCK_RELAY_KINDS)[number];

/** `name{kind="..."} value` lines of a Prometheus text for the block relay kinds (other labels allowed). */
export function kindCounts(metrics: string, name: string): Partial<Record<BlockRelayKind, number>> {
  const out: Partial<Record<BlockRelayKind, number>> = {};
  for (const line of metrics.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const kind = /[{,]kind="([^"]*)"/.exec(line)?.[1] as BlockRelayKind | undefined;
    if (kind === undefined || !BLOCK_RELAY_KINDS.includes(kind)) continue;
    out[kind] = (out[kind] ?? 0) + Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return out;
}

/** Least squares y = a + b·x; slope b and R². */
export function fit(
  xs: readonly number[],
  ys: readonly number[],
): { slope: number; intercept: number; r2: number } {
  const n = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = (xs[i] as number) - mx;
    const dy = (ys[i] as number) - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  const slope = sxx === 0 ? 0 : sxy / sxx;
  return { slope, intercept: my - slope * mx, r2: syy === 0 || sxx === 0 ? 1 : (sxy * sxy) / (sxx * syy) };
}
