import { rm } from 'node:fs/promises';
import { afterEach } from 'vitest';
import { Chain, type ChainOptions } from '../../src/chain/index.js';
import { NETWORKS, type NetworkParams } from '../../src/core/index.js';
import { tempDataDir } from './chain-builder.js';

/**
 * Chains on temporary data directories for one test file: every chain opened
 * is closed, and every directory made is removed, after each test.
 */
export function chainsClosedAfterEach(params: NetworkParams = NETWORKS.regtest) {
  const dirs: string[] = [];
  const chains: Chain[] = [];

  afterEach(async () => {
    for (const c of chains.splice(0)) await c.close();
    for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
  });

  /** Opens a chain on `dir`, or on a fresh temporary directory; `options` override the file's defaults. */
  async function openChain(
    dir?: string,
    options: Partial<Omit<ChainOptions, 'dataDir'>> = {},
  ): Promise<{ chain: Chain; dir: string }> {
    const d = dir ?? (await tempDataDir());
    if (!dir) dirs.push(d);
    const chain = await Chain.open({ dataDir: d, params, ...options });
    chains.push(chain);
    return { chain, dir: d };
  }

  /** Closes `chain` and opens its directory again, as a restart does. */
  async function reopen(chain: Chain, dir: string): Promise<Chain> {
    await chain.close();
    chains.splice(chains.indexOf(chain), 1);
    return (await openChain(dir)).chain;
  }

  return { openChain, reopen };
}

/** Sum of the coins the chain's UTXO set holds for `script`. */
export function balance(chain: Chain, script: Uint8Array): bigint {
  return chain.getCoinsByScript(script).reduce((sum, c) => sum + c.coin.value, 0n);
}
