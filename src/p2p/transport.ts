import type { AdvertisementBody, AdvertisementReply, PeerInfo, PingReply, SyncReply } from './wire.js';

/**
 * How the peer layer talks to other nodes: one method per request of the
 * node-to-node protocol. PeerClient (HTTP) is the shipped implementation; a
 * simulator passes an in-memory one (bench/sim). A request that produces no
 * usable answer rejects with a PeerRequestError, whose reason (timeout,
 * network, bad-response, http, wrong-network) drives the peer book.
 */
export interface PeerTransport {
  advertise(host: string, body: AdvertisementBody): Promise<AdvertisementReply>;
  knownNodes(host: string): Promise<PeerInfo[]>;
  /** `chainWork`: ours, encoded as in a ping reply (HEADER_CHAIN_WORK). */
  ping(host: string, chainWork: string): Promise<PingReply>;
  /** `relayedTo`: short ids of the peers known to have been sent this block (HEADER_RELAYED_TO). */
  sendBlock(host: string, blockHex: string, relayedTo?: readonly string[]): Promise<void>;
  /** A compact block (BIP152 HeaderAndShortIDs, hex); the peer may ask for transactions (getblocktxn) before it answers. */
  sendCompactBlock(host: string, compactHex: string, relayedTo?: readonly string[]): Promise<void>;
  /** The transactions of a block the peer announced compact: a BIP152 getblocktxn in, its blocktxn out (hex). */
  getBlockTxn(host: string, requestHex: string): Promise<string>;
  sendTransactions(host: string, txHexes: string[]): Promise<void>;
  syncBlocks(host: string, locator: string[], limit: number, timeoutMs: number): Promise<SyncReply>;
  /** Aborts every request in flight. */
  close(): void;
}
