/** The peer-to-peer layer's public API: the P2P class, the ports it needs, and the wire headers. */
export type { AcceptedBlock, BlockLogPort, ChainPort, MempoolPort, ProcessBlockResult } from './deps.js';
export {
  P2P,
  type BlockRelayHints,
  type P2POptions,
  type P2PTuning,
  type PeerSender,
  type PeerView,
  type TxResult,
  keepLiveFor,
} from './p2p.js';
export type { AdvertisementBody, AdvertisementReply, PeerInfo, PingReply, SyncReply } from './wire.js';
export type { PeerTransport } from './transport.js';
export { PeerRequestError } from './peer-client.js';
export { wallClock, type Clock, type ClockTimer } from './clock.js';
export {
  HEADER_ADDR,
  HEADER_CHAIN_WORK,
  HEADER_NETWORK,
  HEADER_NODE_ID,
  HEADER_RELAYED_TO,
  parseRelayedTo,
  relayedToHeaders,
} from './wire.js';
export { PEER_ERROR_CODES, PeerError, type PeerErrorCode } from './errors.js';
