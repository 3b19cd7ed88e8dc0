import { Router } from 'express';
import { z } from 'zod';
import { addressToScript, fromDisplayHex, toHex } from '../../core/index.js';
import { NodeError } from '../node-error.js';
import type { ApiPort } from '../port.js';
import { blockView, txView } from '../views.js';
import { hash, listLimit, pagination } from '../validate.js';

const blockId = z.union([
  hash,
  z
    .string()
    .regex(/^\d{1,10}$/)
    .transform(Number),
]);
const format = z.object({ format: z.enum(['json', 'hex']).optional() });
const address = z.string().regex(/^[1-9A-HJ-NP-Za-km-z]{25,40}$/, 'a Base58Check address');
const DEFAULT_PAGE = 20;

/** Read-only views of the chain, mempool and UTXO set. */
export function chainRoutes(node: Pick<ApiPort, 'params' | 'chain' | 'mempool' | 'blockFirstSeen'>): Router {
  const router = Router();
  const { chain, params } = node;

  /** The tutorial's GET /block: the chain, newest first, paginated. */
  router.get('/block', async (req, res) => {
    const { limit = DEFAULT_PAGE, offset = 0 } = pagination.parse(req.query);
    const top = chain.height - offset;
    const blocks = [];
    for (let height = top; height >= 0 && height > top - limit; height--) {
      const blockHash = chain.getHashAtHeight(height);
      const block = blockHash ? await chain.getBlock(blockHash) : undefined;
      if (block) blocks.push(blockView(block, params, height));
    }
    res.json({ height: chain.height, offset, limit, blocks });
  });

  router.get('/block/:id', async (req, res) => {
    const id = blockId.parse(req.params.id);
    const { format: wanted = 'json' } = format.parse(req.query);
    const blockHash = typeof id === 'number' ? chain.getHashAtHeight(id) : id;
    const entry = blockHash ? chain.getEntry(blockHash) : undefined;
    const raw = blockHash ? await chain.getRawBlock(blockHash) : undefined;
    if (!blockHash || !entry || !raw) throw new NodeError('not-found', `no block ${req.params.id}`);
    if (wanted === 'hex') {
      res.json({ hash: blockHash, height: entry.height, hex: toHex(raw) });
      return;
    }
    const block = await chain.getBlock(blockHash);
    if (!block) throw new NodeError('not-found', `no block ${req.params.id}`);
    const onBestChain = chain.getHashAtHeight(entry.height) === blockHash;
    res.json({
      ...blockView(block, params, entry.height),
      confirmations: onBestChain ? chain.height - entry.height + 1 : 0,
      // When this node first had the block (received or mined), unix ms: how it spread over the cluster.
      firstSeen: node.blockFirstSeen(blockHash) ?? null,
    });
  });

  router.get('/transactions/:id', async (req, res) => {
    const txid = hash.parse(req.params.id);
    const pending = node.mempool.get(txid);
    if (pending) {
      res.json({ ...txView(pending, params), status: 'mempool', confirmations: 0 });
      return;
    }
    const found = await chain.findTx(txid);
    if (!found) throw new NodeError('not-found', `no transaction ${txid}`);
    res.json({
      ...txView(found.tx, params),
      status: 'confirmed',
      blockHash: found.blockHash,
      height: found.height,
      confirmations: chain.height - found.height + 1,
    });
  });

  router.get('/mempool', (req, res) => {
    const { limit = 1000 } = listLimit.parse(req.query);
    const txs = [];
    for (const entry of node.mempool.entries()) {
      if (txs.length >= limit) break;
      txs.push({ txid: entry.txid, fee: entry.fee.toString(), size: entry.size, time: entry.time });
    }
    res.json({ count: node.mempool.count, bytes: node.mempool.bytes, txs });
  });

  /** The tutorial's GET /utxo/:address: spendable outputs of an address. */
  router.get('/utxo/:address', (req, res) => {
    const script = addressToScript(address.parse(req.params.address), params);
    const utxos = chain.getCoinsByScript(script).map(({ txid, vout, coin }) => ({
      txid,
      vout,
      value: coin.value.toString(),
      height: coin.height,
      coinbase: coin.coinbase,
      mature: !coin.coinbase || chain.height + 1 - coin.height >= params.coinbaseMaturity,
      scriptPubKey: toHex(coin.scriptPubKey),
      spentInMempool: node.mempool.isSpent(fromDisplayHex(txid), vout),
    }));
    res.json({ address: req.params.address, height: chain.height, utxos });
  });

  return router;
}
