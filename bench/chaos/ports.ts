/** The ports a chaos run may open, from inclusive, to exclusive (freePortBlock's range). */
export interface PortRange {
  from: number;
  to: number;
}

/** Below the kernel's ephemeral range, so ports handed out to other programs cannot land inside a run's block. */
export const DEFAULT_PORTS: PortRange = { from: 20_000, to: 30_000 };

/**
 * `FROM-TO` (inclusive; `--ports` or `CHAOS_PORTS`), for a machine shared with other benches.
 * Throws a one-line error for anything else.
 */
export function portRange(raw: string | undefined): PortRange {
  if (raw === undefined || raw === '') return DEFAULT_PORTS;
  const m = /^(\d+)-(\d+)$/.exec(raw);
  const from = Number(m?.[1]);
  const to = Number(m?.[2]);
  if (!m || from < 1024 || to > 65_535 || to - from < 99)
    throw new Error(
      `--ports ${JSON.stringify(raw)}: expected FROM-TO within 1024-65535, at least 100 ports (e.g. 22000-23999)`,
    );
  return { from, to: to + 1 };
}
