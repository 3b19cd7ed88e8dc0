import { Router, type Request, type Response } from 'express';
import { decodeBlock, decodeTx, fromHex, isValidationError, toHex } from '../../core/index.js';
import { NodeError } from '../../node/errors.js';
import type { ChainmeshNode } from '../../node/node.js';
import { HEADER_NETWORK, HEADER_NODE_ID, type PeerSender } from '../../p2p/index.js';
import { statusForReject } from '../errors.js';
import { advertisementBody, blockBody, syncBody, transactionsBody } from '../validate.js';

const NODE_ID = /^[0-9a-f]{32}$/;

/** What the protocol routes use of the node (tests mount them over a bare P2P layer). */
export type ProtocolNode = Pick<ChainmeshNode, 'params' | 'p2p'>;

/**
 * Who is calling: peers identify themselves with headers, believed only for a
 * known peer calling from its own address (else the request is anonymous); a
 * request from another network is refused before anything is read or stored.
 * Every answer names this node's network, so a peer client of another network
 * learns it from the header whatever the body says.
 */
function sender(req: Request, res: Response, node: ProtocolNode): PeerSender | undefined {
  res.set(HEADER_NETWORK, node.params.genesisHash);
  const network = req.get(HEADER_NETWORK);
  if (network !== undefined && network !== node.params.genesisHash) {
    throw new NodeError(
      'peer-wrong-network',
      `this node is on network ${node.params.genesisHash}, not ${network}`,
    );
  }
  const nodeId = req.get(HEADER_NODE_ID);
  if (nodeId === undefined || !NODE_ID.test(nodeId)) return undefined;
  return node.p2p.isPlausibleSender(nodeId, req.socket.remoteAddress) ? { nodeId } : undefined;
}

/** The tutorial's protocol routes and the sync route, all thin over the P2P layer. */
export function protocolRoutes(node: ProtocolNode): Router {
  const router = Router();

  /** Malformed bytes from a peer count against it, like invalid blocks do. */
  const decodeFrom = <T>(from: PeerSender | undefined, kind: 'block' | 'tx', decode: () => T): T => {
    node.p2p.assertNotBanned(from);
    try {
      return decode();
    } catch (err) {
      if (isValidationError(err)) node.p2p.penalize(from, kind, err.code);
      throw err;
    }
  };

  router.post('/new_node_advertisement', (req, res) => {
    const from = sender(req, res, node);
    const body = advertisementBody.parse(req.body);
    res.json(node.p2p.handleAdvertisement(body, from));
  });

  router.get('/known_node_request', (req, res) => {
    sender(req, res, node);
    res.json(node.p2p.knownNodes());
  });

  router.post('/block', async (req, res) => {
    const from = sender(req, res, node);
    const { block } = blockBody.parse(req.body);
    const result = await node.p2p.receiveBlock(
      decodeFrom(from, 'block', () => decodeBlock(fromHex(block))),
      from,
    );
    res.json({ status: result.status, hash: result.hash, height: result.height ?? null });
  });

  router.post('/transactions', async (req, res) => {
    const from = sender(req, res, node);
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
    const from = sender(req, res, node);
    const { locator, limit } = syncBody.parse(req.body);
    const { blocks, more } = await node.p2p.serveSync(locator, limit ?? 500, from);
    res.json({ blocks: blocks.map(toHex), more });
  });

  return router;
}
