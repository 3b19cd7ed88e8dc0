import type { ApiP2P, ApiPort } from '../port.js';

/**
 * The explorer's part of the api's port: read-only, so no page can reach an
 * admin action (generate, restart) or change anything; the type leaves them out.
 */
export type ExplorerNode = Pick<
  ApiPort,
  'params' | 'nodeId' | 'chain' | 'mempool' | 'blockFirstSeen' | 'projectedBlock'
> & {
  readonly config: Pick<ApiPort['config'], 'advertiseAddr'>;
  readonly p2p: Pick<ApiP2P, 'peers'>;
};

export type ExplorerChain = ExplorerNode['chain'];
export type ExplorerMempool = ExplorerNode['mempool'];
