import { Router, type Request } from 'express';
import { decodeBlock, decodeTx, fromHex, isValidationError, toHex } from '../../core/index.js';
import { NodeError } from '../../node/errors.js';
import type { ChainmeshNode } from '../../node/node.js';
import { statusForReject } from '../errors.js';
import { advertisementBody, blockBody, syncBody, transactionsBody } from '../validate.js';

const NODE_ID = /^[0-9a-f]{32}$/;
const HOST_PORT = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/;

type Sender = { nodeId: string; hostname?: string } | undefined;

/**
 * Who is calling: peers identify themselves with headers, believed only for a
 * known peer calling from its own address (else the request is anonymous); a
 * request from another network is refused before anything is read or stored.
 */
function sender(req: Request, node: ChainmeshNode): Sender {
  const network = req.get('x-chainmesh-network');
  if (network !== undefined && network !== node.params.genesisHash) {
    throw new NodeError(
      'peer-wrong-network',
      `this node is on network ${node.params.genesisHash}, not ${network}`,
    );
  }
  const nodeId = req.get('x-chainmesh-node-id');
  if (nodeId === undefined || !NODE_ID.test(nodeId)) return undefined;
  if (!node.p2p.isPlausibleSender(nodeId, req.socket.remoteAddress)) return undefined;
  const hostname = req.get('x-chainmesh-addr');
  return hostname !== undefined && HOST_PORT.test(hostname) ? { nodeId, hostname } : { nodeId };
}

/** The tutorial's protocol routes and the sync route, all thin over the P2P layer. */
export function protocolRoutes(node: ChainmeshNode): Router {
  const router = Router();

  /** Malformed bytes from a peer count against it, like invalid blocks do. */
  const decodeFrom = <T>(from: Sender, kind: 'block' | 'tx', decode: () => T): T => {
    node.p2p.assertNotBanned(from);
    try {
      return decode();
    } catch (err) {
      if (isValidationError(err)) node.p2p.penalize(from, kind, err.code);
      throw err;
    }
  };

  router.post('/new_node_advertisement', (req, res) => {
    const from = sender(req, node);
    const body = advertisementBody.parse(req.body);
    res.json(
      node.p2p.handleAdvertisement(body, {
        nodeId: from?.nodeId ?? body.nodeId,
        network: body.network,
        addr: from?.hostname ?? body.hostname,
      }),
    );
  });

  router.get('/known_node_request', (req, res) => {
    sender(req, node);
    res.json(node.p2p.knownNodes());
  });

  router.post('/block', async (req, res) => {
    const from = sender(req, node);
    const { block } = blockBody.parse(req.body);
    const result = await node.p2p.receiveBlock(
      decodeFrom(from, 'block', () => decodeBlock(fromHex(block))),
      from,
    );
    res.json({ status: result.status, hash: result.hash, height: result.height ?? null });
  });

  router.post('/transactions', async (req, res) => {
    const from = sender(req, node);
    const body = transactionsBody.parse(req.body);
    if ('tx' in body) {
      const tx = decodeFrom(from, 'tx', () => decodeTx(fromHex(body.tx)));
      const [result] = await node.p2p.receiveTransactions([tx], from);
      if (result && 'error' in result) res.status(statusForReject(result.error));
      res.json(result);
      return;
    }
    // A batch decodes every element first: one malformed transaction rejects the request and stores nothing.
    const txs = decodeFrom(from, 'tx', () => body.txs.map((hex) => decodeTx(fromHex(hex))));
    res.json({ results: await node.p2p.receiveTransactions(txs, from) });
  });

  router.post('/sync/blocks', async (req, res) => {
    const from = sender(req, node);
    const { locator, limit } = syncBody.parse(req.body);
    const { blocks, more } = await node.p2p.serveSync(locator, limit ?? 500, from);
    res.json({ blocks: blocks.map(toHex), more });
  });

  return router;
}
