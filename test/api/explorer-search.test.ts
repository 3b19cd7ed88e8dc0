import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_SEARCH_CHARS, resolveSearch } from '../../src/api/explorer/search.js';
import { encodeAddress, getNetwork, txid } from '../../src/core/index.js';
import { testKey } from '../helpers/chain-builder.js';
import { openFundedChain, type FundedChain } from '../helpers/funded-chain.js';

/** The search box over a real chain (LevelDB in a temp dir) and its mempool. */
describe('explorer search', () => {
  let f: FundedChain;
  const regtest = getNetwork('regtest');
  const search = (q: unknown) => resolveSearch(q, f.chain, f.mempool, regtest);

  beforeAll(async () => {
    f = await openFundedChain();
  });
  afterAll(async () => {
    await f.close();
  });

  it('finds a block by height and by hash (any case, surrounding spaces ignored)', async () => {
    expect(await search('1')).toEqual({ found: '/explorer/block/1' });
    expect(await search(` ${f.funding.hash.toUpperCase()} `)).toEqual({
      found: `/explorer/block/${f.funding.hash}`,
    });
  });

  it('finds a confirmed transaction by txid', async () => {
    const id = txid(f.funding.txs[0]!);
    expect(await search(id)).toEqual({ found: `/explorer/tx/${id}` });
  });

  it('finds an address of this network, refuses one of another network saying why', async () => {
    const address = encodeAddress(testKey(1).hash160, regtest);
    expect(await search(address)).toEqual({ found: `/explorer/address/${address}` });
    const demo = encodeAddress(testKey(1).hash160, getNetwork('demo'));
    const wrong = await search(demo);
    expect(wrong).toMatchObject({ status: 400 });
    expect((wrong as { message: string }).message).toContain('not an address of the regtest network');
  });

  it('says when a well-formed term matches nothing (404) and what it looked for', async () => {
    const beyond = await search(String(f.chain.height + 1));
    expect(beyond).toEqual({
      status: 404,
      message: `No block at height ${f.chain.height + 1} yet: this node's tip is at height ${f.chain.height}.`,
    });
    expect(await search('ab'.repeat(32))).toMatchObject({
      status: 404,
      message: expect.stringContaining('No block or transaction'),
    });
  });

  it('refuses malformed, empty, repeated and over-long terms without looking anything up (400)', async () => {
    for (const q of [
      '',
      '   ',
      undefined,
      ['1', '2'],
      '<script>alert(1)</script>',
      '12345678901',
      'ab'.repeat(31),
      'x'.repeat(MAX_SEARCH_CHARS + 1),
    ]) {
      expect(await search(q)).toMatchObject({ status: 400, message: expect.any(String) });
    }
  });
});
