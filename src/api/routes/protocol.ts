import { Router, type Request, type Response } from 'express';
import {
  decodeBlock,
  decodeBlockTxnRequest,
  decodeCompactBlock,
  decodeTx,
  fromHex,
  isValidationError,
  toHex,
} from '../../core/index.js';
import { NodeError } from '../node-error.js';
import type { ApiPort } from '../port.js';
import {
  HEADER_NETWORK,
  HEADER_CHAIN_WORK,
  HEADER_NODE_ID,
  HEADER_RELAYED_TO,
  parseRelayedTo,
  type BlockRelayHints,
  type PeerSender,
} from '../../p2p/index.js';
import { statusForReject } from '../errors.js';
import {
  advertisementBody,
  blockBody,
  blockTxnRequestBody,
  compactBlockBody,
  syncBody,
  transactionsBody,
} from '../validate.js';

const NODE_ID = /^[0-9a-f]{32}$/;

/** What the protocol routes use of the node (tests mount them over a bare P2P layer). */
export type ProtocolNode = Pick<ApiPort, 'params' | 'p2p'>;

/** A protocol request as the handlers see it, whichever server parsed it (express or the fast lane). */
export interface ProtocolCall {
  /** A request header by lower-case name. */
  readonly header: (name: string) => string | undefined;
  readonly remoteAddress: string | undefined;
  /** The parsed JSON body. */
  readonly body: unknown;
}

/** What a handler answers: serialized as JSON with this status, plus the network header. */
export interface ProtocolAnswer {
  readonly status: number;
  readonly body: unknown;
}

export type ProtocolHandler = (call: ProtocolCall) => ProtocolAnswer | Promise<ProtocolAnswer>;

const ok = (body: unknown): ProtocolAnswer => ({ status: 200, body });

/**
 * The tutorial's protocol routes and the sync route, all thin over the P2P
 * layer and free of any HTTP framework, so the same code serves express and
 * the fast lane (fast-lane.ts).
 */
export function protocolHandlers(node: ProtocolNode) {
  /**
   * Who is calling: peers identify themselves with headers, believed only for a
   * known peer calling from its own address (else the request is anonymous); a
   * request from another network is refused before anything is read or stored.
   */
  const sender = (call: ProtocolCall): PeerSender | undefined => {
    const network = call.header(HEADER_NETWORK);
    if (network !== undefined && network !== node.params.genesisHash) {
      throw new NodeError(
        'peer-wrong-network',
        `this node is on network ${node.params.genesisHash}, not ${network}`,
      );
    }
    const nodeId = call.header(HEADER_NODE_ID);
    if (nodeId === undefined || !NODE_ID.test(nodeId)) return undefined;
    return node.p2p.isPlausibleSender(nodeId, call.remoteAddress) ? { nodeId } : undefined;
  };

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

  const advertise: ProtocolHandler = (call) => {
    const from = sender(call);
    return ok(node.p2p.handleAdvertisement(advertisementBody.parse(call.body), from, call.remoteAddress));
  };

  const knownNodes: ProtocolHandler = (call) => {
    sender(call);
    return ok(node.p2p.knownNodes());
  };

  const ping: ProtocolHandler = (call) => {
    const from = sender(call);
    if (from !== undefined) node.p2p.heardPing(from, call.header(HEADER_CHAIN_WORK));
    return ok(node.p2p.pingReply());
  };

  const relayHints = (call: ProtocolCall): BlockRelayHints => {
    const header = call.header(HEADER_RELAYED_TO);
    if (header === undefined) return {};
    const relayedTo = parseRelayedTo(header);
    if (relayedTo === undefined)
      throw new NodeError(
        'bad-request',
        `${HEADER_RELAYED_TO} must be up to 64 comma-separated 8-hex-digit node id prefixes`,
      );
    return { relayedTo };
  };

  const postBlock: ProtocolHandler = async (call) => {
    const from = sender(call);
    const hints = relayHints(call);
    const { block } = blockBody.parse(call.body);
    const result = await node.p2p.receiveBlock(
      decodeFrom(from, 'block', () => decodeBlock(fromHex(block))),
      from,
      hints,
    );
    return ok({ status: result.status, hash: result.hash, height: result.height ?? null });
  };

  /** BIP152 cmpctblock: rebuilt from the mempool, missing transactions fetched from the sender, then as POST /block. */
  const postCompactBlock: ProtocolHandler = async (call) => {
    const from = sender(call);
    const hints = relayHints(call);
    const { cmpctblock } = compactBlockBody.parse(call.body);
    const result = await node.p2p.receiveCompactBlock(
      decodeFrom(from, 'block', () => decodeCompactBlock(fromHex(cmpctblock))),
      from,
      hints,
    );
    return ok({
      status: result.status,
      hash: result.hash,
      height: ('height' in result ? result.height : undefined) ?? null,
      outcome: result.outcome ?? null,
    });
  };

  /** BIP152 getblocktxn: transactions of a block this node announced, as a blocktxn. */
  const getBlockTxn: ProtocolHandler = async (call) => {
    const from = sender(call);
    const { getblocktxn } = blockTxnRequestBody.parse(call.body);
    const request = decodeFrom(from, 'block', () => decodeBlockTxnRequest(fromHex(getblocktxn)));
    return ok({ blocktxn: await node.p2p.serveBlockTxn(request, from) });
  };

  const postTransactions: ProtocolHandler = async (call) => {
    const from = sender(call);
    const body = transactionsBody.parse(call.body);
    if ('tx' in body) {
      const tx = decodeFrom(from, 'tx', () => decodeTx(fromHex(body.tx)));
      const [result] = await node.p2p.receiveTransactions([tx], from);
      return { status: result && 'error' in result ? statusForReject(result.error) : 200, body: result };
    }
    // A batch decodes every element first: one malformed transaction rejects the request and stores nothing.
    const txs = decodeFrom(from, 'tx', () => body.txs.map((hex) => decodeTx(fromHex(hex))));
    return ok({ results: await node.p2p.receiveTransactions(txs, from) });
  };

  const syncBlocks: ProtocolHandler = async (call) => {
    const from = sender(call);
    const { locator, limit } = syncBody.parse(call.body);
    const { blocks, more } = await node.p2p.serveSync(locator, limit ?? 500, from);
    return ok({ blocks: blocks.map(toHex), more });
  };

  return {
    advertise,
    knownNodes,
    ping,
    postBlock,
    postCompactBlock,
    getBlockTxn,
    postTransactions,
    syncBlocks,
  };
}

export type ProtocolHandlers = ReturnType<typeof protocolHandlers>;

function viaExpress(handler: ProtocolHandler) {
  return async (req: Request, res: Response): Promise<void> => {
    const answer = await handler({
      header: (name) => req.get(name),
      remoteAddress: req.socket.remoteAddress,
      body: req.body,
    });
    res.status(answer.status).json(answer.body);
  };
}

/** The protocol routes as an express router. */
export function protocolRoutes(node: ProtocolNode, handlers = protocolHandlers(node)): Router {
  const router = Router();
  router.post('/new_node_advertisement', viaExpress(handlers.advertise));
  router.get('/known_node_request', viaExpress(handlers.knownNodes));
  router.get('/ping', viaExpress(handlers.ping));
  router.post('/block', viaExpress(handlers.postBlock));
  router.post('/cmpctblock', viaExpress(handlers.postCompactBlock));
  router.post('/getblocktxn', viaExpress(handlers.getBlockTxn));
  router.post('/transactions', viaExpress(handlers.postTransactions));
  router.post('/sync/blocks', viaExpress(handlers.syncBlocks));
  return router;
}
