import { describe, expect, it } from 'vitest';
import { Chain, checkConsistency } from '../../src/chain/index.js';
import { blockHashOf } from '../../src/core/primitives/block.js';
import { NETWORKS } from '../../src/core/consensus/params.js';
import { txHash, txid } from '../../src/core/primitives/tx.js';
import type { Block } from '../../src/core/primitives/types.js';
import {
  ChainBuilder,
  coinbaseInput,
  payTo,
  spendTx,
  testKey,
  type TestBlock,
} from '../helpers/chain-builder.js';
import { rejectCode } from '../helpers/errors.js';
import { balance, chainsClosedAfterEach } from '../helpers/chains.js';

const params = NETWORKS.regtest;
const { openChain, reopen } = chainsClosedAfterEach(params);

const alice = testKey(1);
const bob = testKey(2);
const hashes = (blocks: readonly Block[]): string[] => blocks.map((b) => blockHashOf(b.header));

/** Genesis + `mature` blocks paying alice, so later blocks can spend block 1's coinbase. */
async function matureChain(chain: Chain, b: ChainBuilder): Promise<TestBlock[]> {
  const blocks = b.chain(b.genesis, params.coinbaseMaturity + 1, { payTo: alice.script });
  for (const blk of blocks) await chain.processBlock(blk);
  return blocks;
}

describe('chain: reorganisation', () => {
  it('switches to a heavier branch, restoring spent coins and emitting events in order', async () => {
    const { chain } = await openChain();
    const b = new ChainBuilder(params);
    const base = await matureChain(chain, b);
    const fork = base.at(-1) as TestBlock;
    const spend = spendTx([coinbaseInput(base[0] as TestBlock, alice)], [payTo(bob, 49n * 100_000_000n)]);
    const a1 = b.block(fork, { txs: [spend] });
    const a2 = b.block(a1);
    await chain.processBlock(a1);
    await chain.processBlock(a2);
    expect(chain.getCoin(txHash(spend), 0)?.value).toBe(49n * 100_000_000n);

    const b1 = b.block(fork, { tag: 1, payTo: bob.script });
    const b2 = b.block(b1, { tag: 1 });
    const b3 = b.block(b2, { tag: 1 });
    // Less work than the tip: held in memory, not stored.
    expect(await chain.processBlock(b1)).toMatchObject({ status: 'stale', height: fork.height + 1 });
    expect(chain.getEntry(b1.hash)).toBeUndefined();
    // Equal work: stored with the ancestor it needs, but the branch seen first stays.
    expect(await chain.processBlock(b2)).toMatchObject({ status: 'side-chain' });
    expect(chain.getEntry(b1.hash)?.status).toBe('header-valid');
    expect(chain.tip.hash).toBe(a2.hash);

    const events: string[] = [];
    chain.on('disconnect', (e) => events.push(`-${e.hash}`));
    chain.on('connect', (e) => events.push(`+${e.hash}`));
    chain.on('reorg', (e) => events.push(`reorg ${e.depth} ${e.oldTip.hash} ${e.newTip.hash}`));
    chain.on('tip', (e) => events.push(`tip ${e.hash}`));
    const res = await chain.processBlock(b3);
    expect(res.status).toBe('connected');
    expect(res.reorg?.depth).toBe(2);
    expect(hashes(res.reorg?.disconnected ?? [])).toEqual([a2.hash, a1.hash]);
    expect(hashes(res.reorg?.connected ?? [])).toEqual([b1.hash, b2.hash, b3.hash]);
    expect(events).toEqual([
      `-${a2.hash}`,
      `-${a1.hash}`,
      `+${b1.hash}`,
      `+${b2.hash}`,
      `+${b3.hash}`,
      `reorg 2 ${a2.hash} ${b3.hash}`,
      `tip ${b3.hash}`,
    ]);
    // The spend is gone with its branch; the coin it spent is back.
    expect(chain.getCoin(txHash(spend), 0)).toBeUndefined();
    expect(chain.getCoin(coinbaseInput(base[0] as TestBlock).txid, 0)?.value).toBe(50n * 100_000_000n);
    expect(await chain.findTx(txid(spend))).toBeUndefined();
    expect(chain.getEntry(a1.hash)?.status).toBe('valid');
    expect(await checkConsistency(chain)).toEqual([]);

    // And back again: the old branch grows heavier.
    const a3 = b.block(a2);
    const a4 = b.block(a3);
    await chain.processBlock(a3);
    const back = await chain.processBlock(a4);
    expect(back.reorg?.depth).toBe(3);
    expect(chain.getCoin(txHash(spend), 0)?.value).toBe(49n * 100_000_000n);
    expect(await checkConsistency(chain)).toEqual([]);
  });

  it('falls back to the old chain when the heavier branch holds an invalid block, and remembers it after reopen', async () => {
    const { chain, dir } = await openChain();
    const b = new ChainBuilder(params);
    const base = await matureChain(chain, b);
    const fork = base.at(-1) as TestBlock;
    const a = b.chain(fork, 2);
    for (const blk of a) await chain.processBlock(blk);

    const b1 = b.block(fork, { tag: 2 });
    const bad = b.block(b1, { tag: 2, coinbaseValue: 51n * 100_000_000n }); // inflation, only seen when connected
    const b3 = b.block(bad, { tag: 2 });
    const b4 = b.block(b3, { tag: 2 });
    expect((await chain.processBlock(b1)).status).toBe('stale');
    expect((await chain.processBlock(bad)).status).toBe('side-chain');

    const rejected: string[] = [];
    chain.on('rejected', (e) => rejected.push(`${e.hash} ${e.code}`));
    const seen: string[] = [];
    chain.on('connect', (e) => seen.push(`+${e.height}`));
    chain.on('disconnect', (e) => seen.push(`-${e.height}`));
    expect(await rejectCode(chain.processBlock(b3))).toBe('bad-blk-prev-invalid');
    const h = fork.height;
    // Disconnect the old branch, connect b1, fail on `bad`, go back.
    expect(seen).toEqual([`-${h + 2}`, `-${h + 1}`, `+${h + 1}`, `-${h + 1}`, `+${h + 1}`, `+${h + 2}`]);
    expect(rejected).toEqual([`${bad.hash} bad-blk-cb-amount`, `${b3.hash} bad-blk-prev-invalid`]);
    expect(chain.tip.hash).toBe(a[1]?.hash);
    expect(chain.getEntry(bad.hash)?.status).toBe('invalid');
    expect(chain.getEntry(b3.hash)?.status).toBe('failed-child');
    expect(chain.getEntry(b1.hash)?.status).toBe('valid');
    expect(await rejectCode(chain.processBlock(b4))).toBe('bad-blk-prev-invalid');
    expect(chain.hasBlock(b4.hash)).toBe(false);
    expect(await rejectCode(chain.processBlock(bad))).toBe('bad-blk-cb-amount');
    expect(await checkConsistency(chain)).toEqual([]);

    const again = await reopen(chain, dir);
    expect(again.tip.hash).toBe(a[1]?.hash);
    expect(again.getEntry(bad.hash)?.status).toBe('invalid');
    expect(again.getEntry(b3.hash)?.status).toBe('failed-child');
    expect(await rejectCode(again.processBlock(b4))).toBe('bad-blk-prev-invalid');
    // The reject code of the invalid block itself survives the restart.
    expect(await rejectCode(again.processBlock(bad))).toBe('bad-blk-cb-amount');
    expect(await checkConsistency(again)).toEqual([]);
    // A valid heavier branch from b1 still wins.
    const c = b.chain(b1, 2, { tag: 3 });
    expect((await again.processBlock(c[0] as TestBlock)).status).toBe('side-chain');
    const res = await again.processBlock(c[1] as TestBlock);
    expect(res).toMatchObject({ status: 'connected', reorg: { depth: 2 } });
    expect(await checkConsistency(again)).toEqual([]);
  });

  it('keeps the valid prefix of a branch when it already has more work than the old chain', async () => {
    const { chain } = await openChain();
    const b = new ChainBuilder(params);
    const base = await matureChain(chain, b);
    const fork = base.at(-1) as TestBlock;
    const a1 = b.block(fork);
    await chain.processBlock(a1);
    const good = b.chain(fork, 3, { tag: 4 });
    const bad = b.block(good[2] as TestBlock, { tag: 4, coinbaseHeight: 5 });
    const after = b.block(bad, { tag: 4 });
    for (const blk of good.slice(0, 1)) await chain.processBlock(blk);
    // Deliver the rest of the branch out of order: the last two arrive as orphans first.
    expect((await chain.processBlock(after)).status).toBe('orphan');
    expect((await chain.processBlock(bad)).status).toBe('orphan');
    expect((await chain.processBlock(good[2] as TestBlock)).status).toBe('orphan');
    const res = await chain.processBlock(good[1] as TestBlock);
    // good[1] outweighs a1 (reorg); its orphan good[2] connects; bad fails and its orphan child is dropped.
    expect(res.status).toBe('connected');
    expect(res.connectedOrphans).toEqual([good[2]?.hash]);
    expect(res.reorg?.depth).toBe(1);
    expect(chain.tip.hash).toBe(good[2]?.hash);
    expect(chain.getEntry(bad.hash)?.status).toBe('invalid');
    expect(chain.hasBlock(after.hash)).toBe(false);
    expect(chain.orphanCount).toBe(0);
    expect(await checkConsistency(chain)).toEqual([]);
  });
});

describe('chain: low-work side branches', () => {
  it('a branch lighter than the tip is held in memory only: nothing of it reaches the store', async () => {
    const { chain, dir } = await openChain();
    const b = new ChainBuilder(params);
    const main = b.chain(b.genesis, 8);
    for (const blk of main) await chain.processBlock(blk);
    // Forking from an old block costs only that block's difficulty: the cheap disk-filling attack.
    const side = b.chain(b.genesis, 7, { tag: 20 });
    for (const [i, blk] of side.entries()) {
      expect(await chain.processBlock(blk)).toEqual({ status: 'stale', hash: blk.hash, height: i + 1 });
    }
    expect(chain.hasBlock(side[6]!.hash)).toBe(true);
    expect(await chain.processBlock(side[3]!)).toEqual({
      status: 'duplicate',
      hash: side[3]!.hash,
      height: 4,
    });
    for (const blk of side) {
      expect(chain.getEntry(blk.hash)).toBeUndefined();
      expect(await chain.getRawBlock(blk.hash)).toBeUndefined();
    }
    expect(chain.tip.hash).toBe(main[7]!.hash);

    const again = await reopen(chain, dir);
    for (const blk of side) expect(again.hasBlock(blk.hash)).toBe(false);
    expect(again.tip.hash).toBe(main[7]!.hash);
    expect(await checkConsistency(again)).toEqual([]);
  });

  it('a heavier fork arriving block by block from the fork point, as a sync delivers it, is stored when it catches up and wins', async () => {
    const { chain, dir } = await openChain();
    const b = new ChainBuilder(params);
    const main = b.chain(b.genesis, 5, { payTo: alice.script });
    for (const blk of main) await chain.processBlock(blk);
    const side = b.chain(main[0]!, 6, { tag: 21, payTo: bob.script });
    // Heights 2-4 are lighter than the tip (5): held.
    for (const blk of side.slice(0, 3)) expect((await chain.processBlock(blk)).status).toBe('stale');
    // Height 5 ties the tip: stored, with the held blocks below it, in one batch; the first seen stays.
    expect(await chain.processBlock(side[3]!)).toMatchObject({ status: 'side-chain', height: 5 });
    for (const blk of side.slice(0, 4)) {
      expect(chain.getEntry(blk.hash)?.status).toBe('header-valid');
      expect(await chain.getRawBlock(blk.hash)).toBeDefined();
    }
    expect(chain.tip.hash).toBe(main[4]!.hash);
    const res = await chain.processBlock(side[4]!);
    expect(res).toMatchObject({ status: 'connected', height: 6, reorg: { depth: 4 } });
    expect(hashes(res.reorg?.connected ?? [])).toEqual(hashes(side.slice(0, 5)));
    expect((await chain.processBlock(side[5]!)).status).toBe('connected');
    expect(balance(chain, bob.script)).toBe(6n * 50n * 100_000_000n);
    expect(await checkConsistency(chain)).toEqual([]);

    const again = await reopen(chain, dir);
    expect(again.tip.hash).toBe(side[5]!.hash);
    expect(await checkConsistency(again)).toEqual([]);
  });

  it('orphans completing a held branch store it: the lighter parent arriving last is answered as stored', async () => {
    const { chain } = await openChain();
    const b = new ChainBuilder(params);
    const main = b.chain(b.genesis, 4);
    for (const blk of main) await chain.processBlock(blk);
    const side = b.chain(b.genesis, 4, { tag: 22 });
    for (const blk of side.slice(1).reverse()) expect((await chain.processBlock(blk)).status).toBe('orphan');
    // side[0] alone is lighter than the tip, but its orphans bring the branch to equal work.
    const res = await chain.processBlock(side[0]!);
    expect(res).toMatchObject({ status: 'side-chain', height: 1 });
    expect(res.connectedOrphans).toEqual(hashes(side.slice(1)));
    expect(chain.getEntry(side[3]!.hash)?.status).toBe('header-valid');
    expect(chain.orphanCount).toBe(0);
    expect(chain.tip.hash).toBe(main[3]!.hash);
  });

  it('the median time past of a held block counts its held ancestors', async () => {
    const { chain } = await openChain();
    const b = new ChainBuilder(params);
    const main = b.chain(b.genesis, 12);
    for (const blk of main) await chain.processBlock(blk);
    const side = b.chain(main[0]!, 8, { tag: 25 });
    for (const blk of side) expect((await chain.processBlock(blk)).status).toBe('stale');
    const parent = side[7]!;
    // Earlier than its parent but after the median of the last 11 blocks: valid, as in Bitcoin.
    const early = b.block(parent, { tag: 26, time: parent.header.time - 3 });
    expect((await chain.processBlock(early)).status).toBe('stale');
    const tooEarly = b.block(parent, { tag: 27, time: chain.medianTimePast(main[0]!.hash) });
    expect(await rejectCode(chain.processBlock(tooEarly))).toBe('bad-blk-time-too-old');
  });

  it('a held branch crossing retarget heights is checked against its own ancestors', async () => {
    // Retarget every 4 blocks; 800 s spacing spans the target timespan, keeping the easiest bits.
    const retargeting = { ...params, noRetarget: false, retargetInterval: 4 };
    const { chain } = await openChain(undefined, { params: retargeting });
    const b = new ChainBuilder(retargeting, 800);
    const main = b.chain(b.genesis, 9);
    for (const blk of main) expect((await chain.processBlock(blk)).status).toBe('connected');
    const side = b.chain(main[1]!, 8, { tag: 23 });
    // Heights 3-8 are held; the retargets at 4 and 8 look back through held blocks.
    for (const blk of side.slice(0, 5)) expect((await chain.processBlock(blk)).status).toBe('stale');
    // At height 8 the held ancestors call for the easiest bits: harder ones are refused.
    const wrong = b.block(side[4]!, { tag: 24, bits: 0x2000ffff });
    expect(wrong.height % 4).toBe(0);
    expect(await rejectCode(chain.processBlock(wrong))).toBe('bad-blk-bits');
    expect((await chain.processBlock(side[5]!)).status).toBe('stale');
    expect((await chain.processBlock(side[6]!)).status).toBe('side-chain');
    expect((await chain.processBlock(side[7]!)).status).toBe('connected');
    expect(await checkConsistency(chain)).toEqual([]);
  });
});

describe('chain: invalidateBlock', () => {
  it('disconnects the block and its descendants and moves to the best remaining branch', async () => {
    const { chain, dir } = await openChain();
    const b = new ChainBuilder(params);
    const main = b.chain(b.genesis, 5, { payTo: alice.script });
    for (const blk of main) await chain.processBlock(blk);
    const side = b.chain(main[1] as TestBlock, 2, { tag: 8, payTo: bob.script });
    // Lighter than the tip: held in memory only, until the invalidation leaves them the best branch.
    for (const blk of side) expect((await chain.processBlock(blk)).status).toBe('stale');
    const disconnected: number[] = [];
    chain.on('disconnect', (e) => disconnected.push(e.height));
    await chain.invalidateBlock(main[2]?.hash as string);
    expect(disconnected).toEqual([5, 4, 3]);
    expect(chain.tip.hash).toBe(side[1]?.hash);
    expect(chain.getEntry(main[4]?.hash as string)?.status).toBe('failed-child');
    expect(await checkConsistency(chain)).toEqual([]);
    const again = await reopen(chain, dir);
    expect(again.tip.hash).toBe(side[1]?.hash);
    expect(await rejectCode(again.processBlock(b.block(main[4] as TestBlock)))).toBe('bad-blk-prev-invalid');
    expect(await checkConsistency(again)).toEqual([]);
  });
});

describe('chain: orphans', () => {
  it('connects blocks that arrive in reverse order once the missing parent arrives', async () => {
    const { chain } = await openChain();
    const b = new ChainBuilder(params);
    const blocks = b.chain(b.genesis, 6);
    const [first, ...rest] = blocks as [TestBlock, ...TestBlock[]];
    for (let i = blocks.length - 1; i >= 1; i--) {
      const blk = blocks[i] as TestBlock;
      const res = await chain.processBlock(blk);
      expect(res).toMatchObject({ status: 'orphan', hash: blk.hash, missingParent: blocks[i - 1]?.hash });
      expect(chain.hasBlock(blk.hash)).toBe(true);
    }
    expect((await chain.processBlock(rest[4] as TestBlock)).status).toBe('duplicate');
    expect(chain.height).toBe(0);
    const res = await chain.processBlock(first);
    expect(res).toMatchObject({ status: 'connected', height: 1 });
    expect(res.connectedOrphans).toEqual(hashes(rest));
    expect(chain.height).toBe(6);
    expect(chain.orphanCount).toBe(0);
    expect(await checkConsistency(chain)).toEqual([]);
  });

  it('reports the missing ancestor and bounds the pool, evicting the oldest', async () => {
    const { chain } = await openChain(undefined, { orphanLimit: 3 });
    const b = new ChainBuilder(params);
    const blocks = b.chain(b.genesis, 6);
    expect((await chain.processBlock(blocks[2] as TestBlock)).missingParent).toBe(blocks[1]?.hash);
    expect((await chain.processBlock(blocks[3] as TestBlock)).missingParent).toBe(blocks[1]?.hash);
    await chain.processBlock(blocks[4] as TestBlock);
    await chain.processBlock(blocks[5] as TestBlock); // evicts blocks[2]
    expect(chain.orphanCount).toBe(3);
    expect(chain.hasBlock(blocks[2]?.hash as string)).toBe(false);
    // A resubmitted orphan is a duplicate that still names what to fetch.
    expect(await chain.processBlock(blocks[5] as TestBlock)).toMatchObject({
      status: 'duplicate',
      missingParent: blocks[2]?.hash,
    });
    const res = await chain.processBlock(blocks[0] as TestBlock);
    expect(res.connectedOrphans).toBeUndefined();
    await chain.processBlock(blocks[1] as TestBlock);
    expect(chain.height).toBe(2);
    const res3 = await chain.processBlock(blocks[2] as TestBlock);
    expect(res3.connectedOrphans).toEqual(hashes(blocks.slice(3)));
    expect(chain.height).toBe(6);
  });

  it('a tampered copy of a block (body not matching its header) costs the real block neither its orphans nor its standing', async () => {
    const { chain } = await openChain();
    const b = new ChainBuilder(params);
    const base = await matureChain(chain, b);
    const t1 = spendTx([coinbaseInput(base[0] as TestBlock, alice)], [payTo(bob, 10n * 100_000_000n)]);
    const t2 = spendTx([coinbaseInput(base[1] as TestBlock, alice)], [payTo(bob, 20n * 100_000_000n)]);
    const parent = b.block(base.at(-1) as TestBlock, { txs: [t1, t2] });
    const child = b.block(parent);
    expect((await chain.processBlock(child)).status).toBe('orphan');
    const rejected: string[] = [];
    chain.on('rejected', (e) => rejected.push(`${e.hash} ${e.code}`));

    // CVE-2012-2459: the odd last transaction repeated keeps the merkle root.
    const duplicated: Block = { header: parent.header, txs: [...parent.txs, t2] };
    expect(await rejectCode(chain.processBlock(duplicated))).toBe('bad-blk-duplicate-tx');
    // A changed transaction no longer matches the merkle root.
    const tampered: Block = { header: parent.header, txs: [parent.txs[0]!, t1, { ...t2, locktime: 1 }] };
    expect(await rejectCode(chain.processBlock(tampered))).toBe('bad-blk-merkle');
    expect(rejected).toEqual([`${parent.hash} bad-blk-duplicate-tx`, `${parent.hash} bad-blk-merkle`]);
    // Nothing is recorded against the header's hash, and the orphan still waits for it.
    expect(chain.hasBlock(parent.hash)).toBe(false);
    expect(chain.hasBlock(child.hash)).toBe(true);
    expect(chain.orphanCount).toBe(1);

    const res = await chain.processBlock(parent);
    expect(res).toMatchObject({ status: 'connected', connectedOrphans: [child.hash] });
    expect(chain.tip.hash).toBe(child.hash);
    expect(chain.getCoin(txHash(t2), 0)?.value).toBe(20n * 100_000_000n);
    expect(await checkConsistency(chain)).toEqual([]);
  });

  it('a genuinely invalid body still drops the orphans waiting for its block', async () => {
    const { chain } = await openChain();
    const b = new ChainBuilder(params);
    const [b1] = b.chain(b.genesis, 1) as [TestBlock];
    // Inflation is committed to by the merkle root: every copy of this header is invalid.
    const bad = b.block(b1, { coinbaseValue: 51n * 100_000_000n });
    const child = b.block(bad);
    await chain.processBlock(b1);
    expect((await chain.processBlock(child)).status).toBe('orphan');
    expect(await rejectCode(chain.processBlock(bad))).toBe('bad-blk-cb-amount');
    expect(chain.hasBlock(child.hash)).toBe(false);
    expect(chain.orphanCount).toBe(0);
  });

  it('rejects orphans that fail context-free checks without storing them', async () => {
    const { chain } = await openChain();
    const b = new ChainBuilder(params);
    const [b1, b2] = b.chain(b.genesis, 2) as [TestBlock, TestBlock];
    const badPow = b.block(b1, { badPow: true, tag: 9 });
    expect(await rejectCode(chain.processBlock(badPow))).toBe('bad-blk-pow');
    expect(chain.hasBlock(badPow.hash)).toBe(false);
    expect(chain.orphanCount).toBe(0);
    await chain.processBlock(b2);
    expect(chain.orphanCount).toBe(1);
  });
});
