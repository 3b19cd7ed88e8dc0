/** The explorer's public API: its routes and the read-only view of a node they need. */
export { explorerRoutes } from './routes.js';
export { DEFAULT_CLUSTER_OPTIONS, type ClusterOptions } from './cluster.js';
export { escapeHtml, html, Html } from './escape.js';
export type { ExplorerChain, ExplorerMempool, ExplorerNode } from './port.js';
