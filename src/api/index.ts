/** The HTTP API's public API: the request listener over a node port, its contract and its errors. */
export { createRequestListener } from './app.js';
export { NODE_ERROR_CODES, NodeError, type NodeErrorCode } from './node-error.js';
export type { ApiChain, ApiMempool, ApiP2P, ApiPort, NodeInfo, Readiness } from './port.js';
