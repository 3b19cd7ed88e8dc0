/** The explorer's public API: its routes and the read-only view of a node they need. */
export { explorerRoutes } from './routes.js';
export { escapeHtml, html, Html } from './escape.js';
export type { ExplorerChain, ExplorerMempool, ExplorerNode } from './port.js';
