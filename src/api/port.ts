import type { Chain } from '../chain/index.js';
import type { NetworkParams } from '../core/index.js';
import type { Mempool } from '../mempool/index.js';
import type { BlockTemplate } from '../miner/index.js';
import type { Logger, Metrics } from '../obs/index.js';
import type { P2P } from '../p2p/index.js';

/** GET /info: what a node says about itself. */
export interface NodeInfo {
  nodeId: string;
  network: string;
  networkName: string;
  version: string;
  address: string;
  height: number;
  tipHash: string;
  tipTime: number;
  chainWork: string;
  peers: number;
  knownPeers: number;
  mempool: number;
  mempoolBytes: number;
  /** Coins in the UTXO set of the best chain. */
  utxoCount: number;
  /** Their total value in base units, as a decimal string: with the height it shows whether money is conserved. */
  utxoValue: string;
  syncing: boolean;
  mining: boolean;
  hashesPerSecond: number;
}

/** GET /readyz: whether a load balancer should send this node traffic, and why not. */
export interface Readiness {
  ready: boolean;
  checks: { store: boolean; joined: boolean; caughtUp: boolean };
  height: number;
  bestPeerHeight: number | null;
}

/** What the routes read of the chain: the tip, blocks by hash or height, transactions and coins. */
export type ApiChain = Pick<
  Chain,
  | 'height'
  | 'tip'
  | 'getHashAtHeight'
  | 'getEntry'
  | 'getBlock'
  | 'getRawBlock'
  | 'findTx'
  | 'getCoinsByScript'
  | 'getAddressTxs'
>;

/** What the routes read of the mempool. */
export type ApiMempool = Pick<
  Mempool,
  'count' | 'bytes' | 'get' | 'entries' | 'isSpent' | 'pendingForScript' | 'activityForScript'
>;

/** What the protocol and peer routes call on the peer layer. */
export type ApiP2P = Pick<
  P2P,
  | 'peers'
  | 'isPlausibleSender'
  | 'heardPing'
  | 'assertNotBanned'
  | 'penalize'
  | 'handleAdvertisement'
  | 'knownNodes'
  | 'pingReply'
  | 'receiveBlock'
  | 'receiveCompactBlock'
  | 'serveBlockTxn'
  | 'receiveTransactions'
  | 'serveSync'
>;

/**
 * The api's port: exactly what the routes read and call, so the api depends on
 * this contract and not on the daemon that composes the node (ChainmeshNode
 * implements it).
 */
export interface ApiPort {
  readonly params: NetworkParams;
  readonly nodeId: string;
  /** The admin token (admin routes are off without one) and the address this node advertises to peers. */
  readonly config: { readonly adminToken?: string | undefined; readonly advertiseAddr: string };
  readonly chain: ApiChain;
  readonly mempool: ApiMempool;
  readonly p2p: ApiP2P;
  readonly metrics: Pick<Metrics, 'httpRequestDuration' | 'apiErrors' | 'registry'>;
  readonly logger: Pick<Logger, 'error'>;
  info(): NodeInfo;
  readiness(): Readiness;
  /** Regtest's generatetoaddress: mine `count` blocks now and relay them; their hashes. */
  generate(count: number, address: string | undefined): Promise<string[]>;
  /** Asks the process runner to stop this node and start it again from its data dir. */
  requestRestart(): void;
  /** When this node first saw a block (unix ms), while its bounded record still holds it. */
  blockFirstSeen(hash: string): number | undefined;
  /** The block the miner would build on the tip now: the mempool's pick by fee rate, parents first. */
  projectedBlock(): Pick<BlockTemplate, 'height' | 'txs' | 'reward'>;
}
