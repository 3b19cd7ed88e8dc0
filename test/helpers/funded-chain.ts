import { rm } from 'node:fs/promises';
import { Chain } from '../../src/chain/index.js';
import { NETWORKS } from '../../src/core/consensus/params.js';
import { Mempool } from '../../src/mempool/index.js';
import { ChainBuilder, tempDataDir, testKey, type TestBlock } from './chain-builder.js';

export interface FundedChain {
  readonly chain: Chain;
  readonly mempool: Mempool;
  readonly builder: ChainBuilder;
  /** Block 1, whose coinbase pays `testKey(1)` and is mature for the next block. */
  readonly funding: TestBlock;
  /** Every block after genesis, `funding` first: block i is at height i + 1. */
  readonly blocks: readonly TestBlock[];
  readonly tip: TestBlock;
  close(): Promise<void>;
}

/** A regtest chain on a real LevelDB temp dir with one spendable coinbase, and a mempool on it. */
export async function openFundedChain(): Promise<FundedChain> {
  const params = NETWORKS.regtest;
  const dir = await tempDataDir();
  const now = (params.genesis.header.time + 100_000) * 1000;
  const chain = await Chain.open({ dataDir: dir, params, now: () => now });
  const mempool = new Mempool(chain, { maxBytes: 1_000_000 });
  const builder = new ChainBuilder(params);
  const funding = builder.block(builder.genesis, { payTo: testKey(1).script });
  const rest = builder.chain(funding, params.coinbaseMaturity, { payTo: testKey(2).script });
  for (const blk of [funding, ...rest]) await chain.processBlock(blk);
  return {
    chain,
    mempool,
    builder,
    funding,
    blocks: [funding, ...rest],
    tip: rest.at(-1) as TestBlock,
    async close() {
      await chain.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
