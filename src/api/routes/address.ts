import { Router } from 'express';
import { z } from 'zod';
import { addressToScript, fromDisplayHex, p2pkhHash, toDisplayHex } from '../../core/index.js';
import type { ApiPort } from '../port.js';
import { nonNegativeInt } from '../validate.js';

const address = z.string().regex(/^[1-9A-HJ-NP-Za-km-z]{25,40}$/, 'a Base58Check address');
/** Rows are read newest first and skipped one by one: the offset is bounded like the page. */
export const MAX_HISTORY_OFFSET = 10_000;
const historyPage = z.object({
  limit: nonNegativeInt(50).optional(),
  offset: nonNegativeInt(MAX_HISTORY_OFFSET).optional(),
});
const DEFAULT_PAGE = 20;

/** Balances and histories of P2PKH addresses; amounts are strings of base units (1 CMC = 10^8). */
export function addressRoutes(node: Pick<ApiPort, 'params' | 'chain' | 'mempool'>): Router {
  const router = Router();
  const { chain, mempool, params } = node;

  router.get('/address/:address/balance', (req, res) => {
    const script = addressToScript(address.parse(req.params.address), params);
    let confirmed = 0n;
    let immature = 0n;
    let spendable = 0n;
    for (const { txid, vout, coin } of chain.getCoinsByScript(script)) {
      if (coin.coinbase && chain.height + 1 - coin.height < params.coinbaseMaturity) {
        immature += coin.value;
        continue;
      }
      confirmed += coin.value;
      if (!mempool.isSpent(fromDisplayHex(txid), vout)) spendable += coin.value;
    }
    const pending = mempool.pendingForScript(script);
    const incoming = pending.incoming.reduce((sum, c) => sum + c.value, 0n);
    const outgoing = pending.outgoing.reduce((sum, c) => sum + c.value, 0n);
    res.json({
      address: req.params.address,
      height: chain.height,
      confirmed: confirmed.toString(),
      immature: immature.toString(),
      unconfirmed: (incoming - outgoing).toString(),
      unconfirmedIncoming: incoming.toString(),
      unconfirmedOutgoing: outgoing.toString(),
      spendable: spendable.toString(),
    });
  });

  /**
   * The address's transactions, newest first: unconfirmed ones (the pool)
   * before confirmed ones (the address index, best chain only).
   */
  router.get('/address/:address/history', async (req, res) => {
    const script = addressToScript(address.parse(req.params.address), params);
    const { limit = DEFAULT_PAGE, offset = 0 } = historyPage.parse(req.query);
    const height = chain.height;
    const pool = mempool.activityForScript(script);
    const txs: object[] = pool.slice(offset, offset + limit).map((row) => ({
      txid: row.txid,
      status: 'unconfirmed',
      height: null,
      blockHash: null,
      confirmations: 0,
      time: Math.floor(row.time / 1000),
      received: row.received.toString(),
      sent: row.sent.toString(),
      net: (row.received - row.sent).toString(),
    }));
    const wanted = limit - txs.length;
    // One row more than asked tells whether another page exists.
    const rows = await chain.getAddressTxs(
      p2pkhHash(script) as Uint8Array,
      wanted + 1,
      Math.max(0, offset - pool.length),
    );
    for (const row of rows.slice(0, wanted)) {
      const blockHash = chain.getHashAtHeight(row.height);
      txs.push({
        txid: toDisplayHex(row.txid),
        status: 'confirmed',
        height: row.height,
        blockHash: blockHash ?? null,
        confirmations: height - row.height + 1,
        time: blockHash ? (chain.getEntry(blockHash)?.header.time ?? null) : null,
        received: row.received.toString(),
        sent: row.sent.toString(),
        net: (row.received - row.sent).toString(),
      });
    }
    res.json({ address: req.params.address, height, offset, limit, more: rows.length > wanted, txs });
  });

  return router;
}
