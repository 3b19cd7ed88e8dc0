import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Chain } from '../../src/chain/chain.js';
import { createCoinbaseTx } from '../../src/core/consensus/coinbase.js';
import { ValidationError } from '../../src/core/errors.js';
import { NETWORKS } from '../../src/core/consensus/params.js';
import { txid, txSize } from '../../src/core/primitives/tx.js';
import type { Transaction } from '../../src/core/primitives/types.js';
import {
  completeBlock,
  fillFromPool,
  matchesHeader,
  missingIndexes,
  shortIdKey,
  shortTxId,
  toCompactBlock,
} from '../../src/core/primitives/compact-block.js';
import { Mempool, type MempoolEvents } from '../../src/mempool/mempool.js';
import {
  ChainBuilder,
  coinbaseInput,
  outputInput,
  payTo,
  spendTx,
  testKey,
  type SpendInput,
  type TestBlock,
} from '../helpers/chain-builder.js';
import { rejectCode } from '../helpers/errors.js';

const params = NETWORKS.regtest;
const [alice, bob, carol] = [testKey(0), testKey(1), testKey(2)];
const FEE = 10_000n;
/** Blocks mined before each test: coinbases of heights 1..6 are mature for the next block (16). */
const PREMINE = 15;

interface Fixture {
  chain: Chain;
  mempool: Mempool;
  builder: ChainBuilder;
  blocks: TestBlock[];
  accepted: MempoolEvents['accepted'][0][];
  removed: MempoolEvents['removed'][0][];
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(opts: { maxBytes?: number; minFeeRate?: bigint } = {}): Promise<Fixture> {
  const dir = await mkdtemp(join(tmpdir(), 'chainmesh-mempool-'));
  const chain = await Chain.open({ dataDir: dir, params });
  cleanups.push(async () => {
    await chain.close();
    await rm(dir, { recursive: true, force: true });
  });
  const builder = new ChainBuilder(params);
  const blocks = builder.chain(builder.genesis, PREMINE, { payTo: alice.script });
  for (const b of blocks) expect((await chain.processBlock(b)).status).toBe('connected');
  const mempool = new Mempool(chain, { maxBytes: opts.maxBytes ?? 1_000_000, minFeeRate: opts.minFeeRate });
  cleanups.push(async () => mempool.close());
  const accepted: Fixture['accepted'] = [];
  const removed: Fixture['removed'] = [];
  mempool.on('accepted', (e) => accepted.push(e));
  mempool.on('removed', (e) => removed.push(e));
  return { chain, mempool, builder, blocks, accepted, removed };
}

/** Spend of one input paying `value − fee` to `to` (default bob). */
function pay(input: SpendInput & { value: bigint }, fee = FEE, to = bob): Transaction {
  return spendTx([input], [payTo(to, input.value - fee)]);
}

function coin(f: Fixture, height: number): SpendInput & { value: bigint } {
  return coinbaseInput(f.blocks[height - 1] as TestBlock, alice);
}

describe('mempool admission', () => {
  it('accepts a valid spend, reports it and its fee, and knows it afterwards', async () => {
    const f = await setup();
    const tx = pay(coin(f, 1));
    const result = await f.mempool.accept(tx);
    expect(result).toEqual({ txid: txid(tx), fee: FEE });
    expect(f.accepted).toEqual([{ txid: txid(tx), tx, fee: FEE }]);
    expect(f.mempool.has(txid(tx))).toBe(true);
    expect(f.mempool.get(txid(tx))).toBe(tx);
    expect(f.mempool.count).toBe(1);
    expect(f.mempool.bytes).toBe(txSize(tx));
    expect([...f.mempool.entries()]).toMatchObject([{ txid: txid(tx), fee: FEE, size: txSize(tx) }]);
    expect(f.mempool.isSpent(coin(f, 1).txid, 0)).toBe(true);
    expect(f.mempool.isSpent(coin(f, 2).txid, 0)).toBe(false);
    expect(await rejectCode(f.mempool.accept(tx))).toBe('txn-already-known');
  });

  it('refuses a double spend of an output a pool transaction already spends (no replacement)', async () => {
    const f = await setup();
    const first = pay(coin(f, 1));
    await f.mempool.accept(first);
    const richer = pay(coin(f, 1), 5n * FEE, carol);
    expect(await rejectCode(f.mempool.accept(richer))).toBe('txn-mempool-conflict');
    expect(f.mempool.has(txid(first))).toBe(true);
    expect(f.mempool.count).toBe(1);
  });

  it('serialises concurrent accepts so exactly one of two conflicting spends gets in', async () => {
    const f = await setup();
    const a = pay(coin(f, 2), FEE, bob);
    const b = pay(coin(f, 2), FEE, carol);
    const results = await Promise.allSettled([f.mempool.accept(a), f.mempool.accept(b)]);
    expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    const failed = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect((failed.reason as ValidationError).code).toBe('txn-mempool-conflict');
    expect(f.mempool.count).toBe(1);
  });

  it('rejects unknown inputs, immature coinbases, coinbases, overspends and bad signatures with their codes', async () => {
    const f = await setup();
    const unknown = spendTx(
      [{ txid: new Uint8Array(32).fill(7), vout: 0, scriptPubKey: alice.script, key: alice }],
      [payTo(bob, 1000n)],
    );
    expect(await rejectCode(f.mempool.accept(unknown))).toBe('bad-txns-inputs-missingorspent');
    // Height 7's coinbase has 9 confirmations at the next block: one short of maturity.
    expect(await rejectCode(f.mempool.accept(pay(coin(f, 7))))).toBe('bad-txns-premature-spend-of-coinbase');
    const cb = createCoinbaseTx(16, [payTo(bob, 1000n)]);
    expect(await rejectCode(f.mempool.accept(cb))).toBe('bad-txns-coinbase-in-mempool');
    const input = coin(f, 3);
    const overspend = spendTx([input], [payTo(bob, input.value + 1n)]);
    expect(await rejectCode(f.mempool.accept(overspend))).toBe('bad-txns-in-belowout');
    const good = pay(coin(f, 3));
    const tampered: Transaction = { ...good, outputs: [payTo(carol, input.value - FEE)] };
    expect(await rejectCode(f.mempool.accept(tampered))).toBe('bad-txns-script-verify-failed');
    const noOutputs: Transaction = { ...good, outputs: [] };
    expect(await rejectCode(f.mempool.accept(noOutputs))).toBe('bad-txns-vout-empty');
    expect(f.mempool.count).toBe(0);
    expect(f.accepted).toEqual([]);
  });

  it('requires the minimum relay fee rate', async () => {
    const f = await setup({ minFeeRate: 1000n });
    const free = pay(coin(f, 1), 0n);
    expect(await rejectCode(f.mempool.accept(free))).toBe('bad-txns-fee-too-low');
    // 1000 per kB: a fee of one unit per byte is exactly enough.
    const size = BigInt(txSize(free));
    expect(await rejectCode(f.mempool.accept(pay(coin(f, 1), size - 1n)))).toBe('bad-txns-fee-too-low');
    await f.mempool.accept(pay(coin(f, 1), size));
    expect(f.mempool.count).toBe(1);
  });

  it('refuses a transaction that is already confirmed', async () => {
    const f = await setup();
    const tx = pay(coin(f, 1));
    const block = f.builder.block(f.blocks.at(-1) as TestBlock, { txs: [tx], payTo: alice.script });
    expect((await f.chain.processBlock(block)).status).toBe('connected');
    expect(await rejectCode(f.mempool.accept(tx))).toBe('txn-already-known');
  });

  it('accepts chains of unconfirmed transactions and selects parents before children', async () => {
    const f = await setup();
    const parent = pay(coin(f, 1), 1000n); // lowest fee rate of all
    const child = pay(outputInput(parent, 0, bob), 50_000n, carol);
    const grandchild = pay(outputInput(child, 0, carol), 40_000n, alice);
    const unrelated = pay(coin(f, 2), 20_000n);
    for (const tx of [parent, child, grandchild, unrelated]) await f.mempool.accept(tx);
    expect(f.mempool.count).toBe(4);
    const { txs, fees } = f.mempool.selectForBlock(1_000_000);
    expect(txs.map(txid)).toEqual([unrelated, parent, child, grandchild].map(txid));
    expect(fees).toBe(1000n + 50_000n + 40_000n + 20_000n);
    // A budget for two transactions takes the best two that can stand alone.
    const two = f.mempool.selectForBlock(txSize(unrelated) + txSize(parent));
    expect(two.txs.map(txid)).toEqual([unrelated, parent].map(txid));
    // Spending an unconfirmed output twice is a conflict too.
    expect(await rejectCode(f.mempool.accept(pay(outputInput(parent, 0, bob), FEE, alice)))).toBe(
      'txn-mempool-conflict',
    );
  });

  it('shows pending incoming and outgoing amounts per script', async () => {
    const f = await setup();
    const input = coin(f, 1);
    const toBob = pay(input);
    const bobToCarol = pay(outputInput(toBob, 0, bob), FEE, carol);
    await f.mempool.accept(toBob);
    expect(f.mempool.pendingForScript(bob.script)).toEqual({
      incoming: [{ txid: txid(toBob), vout: 0, value: input.value - FEE }],
      outgoing: [],
    });
    expect(f.mempool.pendingForScript(alice.script)).toEqual({
      incoming: [],
      outgoing: [
        {
          txid: txid(toBob),
          prevTxid: txid(f.blocks[0]?.txs[0] as Transaction),
          prevVout: 0,
          value: input.value,
        },
      ],
    });
    await f.mempool.accept(bobToCarol);
    // Bob's pending output is spent again in the pool: nothing pending for him any more.
    expect(f.mempool.pendingForScript(bob.script)).toEqual({ incoming: [], outgoing: [] });
    expect(f.mempool.pendingForScript(carol.script).incoming).toHaveLength(1);
  });
});

describe('transactions by key (the index a compact block is rebuilt from)', () => {
  it('finds pool transactions by a key of their hash, only the wanted ones, and rebuilds a compact block', async () => {
    const f = await setup();
    const txs = [1, 2, 3, 4].map((h) => pay(coin(f, h)));
    for (const tx of txs) await f.mempool.accept(tx);
    const block = f.builder.block(f.blocks[f.blocks.length - 1] as TestBlock, { txs: txs.slice(0, 3) });
    const compact = toCompactBlock(block, 42n);
    const key = shortIdKey(block.header, 42n);
    const found = f.mempool.transactionsByKey((hash) => shortTxId(key, hash), new Set(compact.shortIds));
    expect([...found.values()].map((tx) => txid(tx as Transaction)).sort()).toEqual(
      txs.slice(0, 3).map(txid).sort(),
    );
    const partial = fillFromPool(compact, (keyOf, wanted) => f.mempool.transactionsByKey(keyOf, wanted))!;
    expect(missingIndexes(partial)).toEqual([]);
    expect(matchesHeader(completeBlock(partial, []))).toBe(true);
  });

  it('a key two pool transactions share maps to null', async () => {
    const f = await setup();
    const txs = [1, 2].map((h) => pay(coin(f, h)));
    for (const tx of txs) await f.mempool.accept(tx);
    expect([...f.mempool.transactionsByKey(() => 'same', new Set(['same']))]).toEqual([['same', null]]);
    expect(f.mempool.transactionsByKey(() => 'same', new Set(['other'])).size).toBe(0);
  });
});

describe('shared pre-verification', () => {
  it('checks the transactions of calls made in one turn as one batch, then admits them without checking again', async () => {
    const f = await setup();
    const batches: number[] = [];
    const verify = f.chain.verifyScripts.bind(f.chain);
    f.chain.verifyScripts = (jobs) => {
      batches.push(jobs.length);
      return verify(jobs);
    };
    const txs = [1, 2, 3].map((h) => pay(coin(f, h)));
    await Promise.all(txs.map((tx) => f.mempool.preverify([tx])));
    expect(batches).toEqual([3]);
    expect(txs.map((tx) => f.chain.verifiedScripts.has(txid(tx)))).toEqual([true, true, true]);
    for (const tx of txs) await f.mempool.accept(tx);
    expect(batches).toEqual([3]);
    expect(f.mempool.count).toBe(3);
  });

  it('sends a batch as soon as it holds 8 transactions, once, and the rest of the turn in the next batch', async () => {
    const f = await setup();
    const input = coin(f, 1);
    const parent = spendTx(
      [input],
      Array.from({ length: 12 }, () => payTo(bob, (input.value - FEE) / 12n)),
    );
    await f.mempool.accept(parent);
    const children = Array.from({ length: 12 }, (_, i) => pay(outputInput(parent, i, bob), FEE, carol));
    const batches: number[] = [];
    const verify = f.chain.verifyScripts.bind(f.chain);
    f.chain.verifyScripts = (jobs) => {
      batches.push(jobs.length);
      return verify(jobs);
    };

    const first = f.mempool.preverify(children.slice(0, 5));
    expect(batches).toEqual([]);
    const second = f.mempool.preverify(children.slice(5, 10));
    // Full: sent at once, not at the end of the turn.
    expect(batches).toEqual([10]);
    const third = f.mempool.preverify(children.slice(10));
    expect(batches).toEqual([10]);
    await Promise.all([first, second, third]);
    expect(batches).toEqual([10, 2]);
    expect(children.every((tx) => f.chain.verifiedScripts.has(txid(tx)))).toBe(true);
    for (const tx of children) await f.mempool.accept(tx);
    expect(batches).toEqual([10, 2]);
    expect(f.mempool.count).toBe(13);
  });

  it('a forged signature in one call leaves every transaction of the turn to the inline check', async () => {
    const f = await setup();
    const good = pay(coin(f, 4));
    const forged: Transaction = { ...pay(coin(f, 5)), inputs: pay(coin(f, 6), FEE + 1n).inputs };
    await Promise.all([f.mempool.preverify([good]), f.mempool.preverify([forged])]);
    expect(f.chain.verifiedScripts.has(txid(good))).toBe(false);
    expect(await rejectCode(f.mempool.accept(forged))).toBe('bad-txns-script-verify-failed');
    await f.mempool.accept(good);
    expect(f.chain.verifiedScripts.has(txid(good))).toBe(true);
  });

  it('a worker failure is not an error: admission verifies inline', async () => {
    const f = await setup();
    f.chain.verifyScripts = () => Promise.reject(new Error('worker died'));
    const tx = pay(coin(f, 1));
    await f.mempool.preverify([tx]);
    expect(f.chain.verifiedScripts.has(txid(tx))).toBe(false);
    await f.mempool.accept(tx);
    expect(f.mempool.has(txid(tx))).toBe(true);
  });
});

describe('mempool limits', () => {
  it('evicts the lowest fee rate with its descendants when full, and refuses a newcomer that pays least', async () => {
    const probe = pay(coin(await setup(), 1));
    const size = txSize(probe);
    // Room for three one-input transactions (sizes vary by a byte or two with the signature).
    const f = await setup({ maxBytes: 3 * size + 6 });
    const cheapParent = pay(coin(f, 1), 2n * BigInt(size));
    const richChild = pay(outputInput(cheapParent, 0, bob), 30n * BigInt(size), carol);
    const middle = pay(coin(f, 2), 10n * BigInt(size));
    for (const tx of [cheapParent, richChild, middle]) await f.mempool.accept(tx);
    expect(f.mempool.count).toBe(3);

    const newcomer = pay(coin(f, 3), 20n * BigInt(size));
    await f.mempool.accept(newcomer);
    expect(new Set(f.removed)).toEqual(
      new Set([
        { txid: txid(cheapParent), reason: 'evicted' },
        { txid: txid(richChild), reason: 'evicted' },
      ]),
    );
    expect([...f.mempool.entries()].map((e) => e.txid).sort()).toEqual([txid(middle), txid(newcomer)].sort());
    await f.mempool.accept(pay(coin(f, 4), 15n * BigInt(size)));
    expect(f.mempool.count).toBe(3);
    expect(f.mempool.bytes).toBeLessThanOrEqual(3 * size + 6);

    const lowball = pay(coin(f, 5), 5n * BigInt(size));
    expect(await rejectCode(f.mempool.accept(lowball))).toBe('mempool-full');
    expect(f.mempool.count).toBe(3);
    expect(f.removed).toHaveLength(2);
  });
});

describe('mempool and the chain', () => {
  it('drops mined transactions (children stay) and conflicts of a connected block with their descendants', async () => {
    const f = await setup();
    const mined = pay(coin(f, 1));
    const childOfMined = pay(outputInput(mined, 0, bob), FEE, carol);
    const loser = pay(coin(f, 2), FEE, bob);
    const loserChild = pay(outputInput(loser, 0, bob), FEE, carol);
    const bystander = pay(coin(f, 3));
    for (const tx of [mined, childOfMined, loser, loserChild, bystander]) await f.mempool.accept(tx);

    const winner = pay(coin(f, 2), FEE, carol); // same coin as `loser`
    const block = f.builder.block(f.blocks.at(-1) as TestBlock, {
      txs: [mined, winner],
      payTo: alice.script,
    });
    expect((await f.chain.processBlock(block)).status).toBe('connected');

    expect(f.removed).toEqual(
      expect.arrayContaining([
        { txid: txid(mined), reason: 'block' },
        { txid: txid(loser), reason: 'conflict' },
        { txid: txid(loserChild), reason: 'conflict' },
      ]),
    );
    expect(f.removed).toHaveLength(3);
    expect([...f.mempool.entries()].map((e) => e.txid).sort()).toEqual(
      [txid(childOfMined), txid(bystander)].sort(),
    );
    // The child now spends a confirmed coin: it stands alone in a template.
    expect(f.mempool.selectForBlock(txSize(childOfMined)).txs).toEqual([childOfMined]);
  });

  it('re-admits transactions of disconnected blocks after a reorg, drops those the new branch conflicts with', async () => {
    const f = await setup();
    const tip = f.blocks.at(-1) as TestBlock;
    const comesBack = pay(coin(f, 1));
    const doubleSpent = pay(coin(f, 2), FEE, bob);
    const x = f.builder.block(tip, { txs: [comesBack, doubleSpent], payTo: alice.script, tag: 1 });
    await f.mempool.accept(comesBack);
    expect((await f.chain.processBlock(x)).status).toBe('connected');
    expect(f.mempool.count).toBe(0);
    // Spends an output confirmed in x; after the reorg its parent is unconfirmed again.
    const child = pay(outputInput(comesBack, 0, bob), 2n * FEE, carol);
    await f.mempool.accept(child);
    // Spends an output of a transaction the new branch double-spends: it cannot survive the reorg.
    const orphaned = pay(outputInput(doubleSpent, 0, bob), FEE, carol);
    await f.mempool.accept(orphaned);

    const otherSpend = pay(coin(f, 2), FEE, carol);
    const y1 = f.builder.block(tip, { txs: [otherSpend], payTo: alice.script, tag: 2 });
    const y2 = f.builder.block(y1, { payTo: alice.script, tag: 2 });
    expect((await f.chain.processBlock(y1)).status).toBe('side-chain');
    const result = await f.chain.processBlock(y2);
    expect(result.status).toBe('connected');
    expect(result.reorg?.depth).toBe(1);

    expect(f.mempool.has(txid(comesBack))).toBe(true);
    expect(f.accepted).toContainEqual({ txid: txid(comesBack), tx: comesBack, fee: FEE, source: 'reorg' });
    expect(f.mempool.has(txid(doubleSpent))).toBe(false);
    expect(f.mempool.has(txid(otherSpend))).toBe(false);
    expect(f.mempool.has(txid(child))).toBe(true);
    expect(f.removed).toContainEqual({ txid: txid(orphaned), reason: 'reorg' });
    expect(f.mempool.selectForBlock(1_000_000).txs.map(txid)).toEqual([txid(comesBack), txid(child)]);

    // Back to the first branch: mined again, the pair leaves the pool.
    const x2 = f.builder.block(x, { payTo: alice.script, tag: 1 });
    const x3 = f.builder.block(x2, { payTo: alice.script, tag: 1 });
    await f.chain.processBlock(x2);
    expect((await f.chain.processBlock(x3)).reorg?.depth).toBe(2);
    expect(f.mempool.has(txid(comesBack))).toBe(false);
    expect(f.mempool.has(txid(child))).toBe(true);
    expect(f.mempool.has(txid(otherSpend))).toBe(false);
  });
});
