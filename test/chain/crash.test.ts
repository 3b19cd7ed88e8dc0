import { spawn } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { Chain, checkConsistency } from '../../src/chain/index.js';
import { NETWORKS } from '../../src/core/consensus/params.js';
import { tempDataDir } from '../helpers/chain-builder.js';

const params = NETWORKS.regtest;
const CHILD = fileURLToPath(new URL('../fixtures/crash-child.ts', import.meta.url));
const REPO = fileURLToPath(new URL('../..', import.meta.url));
const ROUNDS = 10;

let dir: string | undefined;
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Small deterministic PRNG (mulberry32): the kill points differ per round but not per run. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Starts the importing child, waits until it has processed `blocks` blocks,
 * lets it run a random few milliseconds more (a block takes a few, so the kill
 * lands anywhere inside building, validating or writing one), then SIGKILLs it.
 */
async function importAndKill(
  dataDir: string,
  round: number,
  blocks: number,
  delayMs: number,
): Promise<bigint> {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, dataDir, String(round)], {
    cwd: REPO,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<NodeJS.Signals | null>((resolve) =>
    child.on('exit', (_code, signal) => resolve(signal)),
  );
  let seen = 0;
  let pending = '';
  let acknowledged = 0n;
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      pending += d.toString();
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        if (!line.startsWith('b ')) continue;
        seen++;
        acknowledged = BigInt('0x' + line.slice(2));
      }
      if (seen >= blocks) resolve();
    });
    child.on('exit', () => reject(new Error(`child exited early: ${stderr}`)));
  });
  await new Promise((r) => setTimeout(r, delayMs));
  child.kill('SIGKILL');
  expect(await exited).toBe('SIGKILL');
  return acknowledged;
}

describe('chain: crash safety', () => {
  it(`reopens consistent after SIGKILL mid-import, ${ROUNDS} rounds`, async () => {
    dir = await tempDataDir();
    const rand = prng(20261125);
    let lastWork = 0n;
    let lastHeight = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const blocks = 1 + Math.floor(rand() * 40);
      const acknowledged = await importAndKill(dir, round, blocks, rand() * 20);

      const chain = await Chain.open({ dataDir: dir, params, scriptThreads: 0 });
      try {
        expect(chain.tip.status).toBe('valid');
        expect(await checkConsistency(chain)).toEqual([]);
        // Whatever processBlock acknowledged before the kill survived it: the tip never has less work.
        expect(chain.tip.chainWork).toBeGreaterThanOrEqual(acknowledged);
        expect(chain.tip.chainWork).toBeGreaterThanOrEqual(lastWork);
        lastWork = chain.tip.chainWork;
        lastHeight = chain.height;
      } finally {
        await chain.close();
      }
    }
    // The rounds did real work: a long chain whose UTXO set holds outputs of spends, not just coinbases.
    const chain = await Chain.open({ dataDir: dir, params, scriptThreads: 0 });
    try {
      expect(lastHeight).toBeGreaterThan(ROUNDS * 5);
      expect([...chain.utxoEntries()].some(([, coin]) => !coin.coinbase)).toBe(true);
    } finally {
      await chain.close();
    }
  }, 300_000); // ten child processes: generous when other test files share the cores
});
