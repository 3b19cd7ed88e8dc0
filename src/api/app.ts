import type { RequestListener } from 'node:http';
import express, { type Express, type RequestHandler } from 'express';
import type { ApiPort } from './port.js';
import { NodeError } from './node-error.js';
import { HEADER_NETWORK } from '../p2p/index.js';
import { errorHandler, type ApiError } from './errors.js';
import { explorerRoutes } from './explorer/index.js';
import { withFastLane } from './fast-lane.js';
import { addressRoutes } from './routes/address.js';
import { adminRoutes } from './routes/admin.js';
import { chainRoutes } from './routes/chain.js';
import { nodeRoutes } from './routes/node.js';
import { protocolHandlers, protocolRoutes, type ProtocolHandlers } from './routes/protocol.js';

/** Largest accepted body: a 1 MB block in hex plus JSON framing, or a batch of transactions. */
const BODY_LIMIT_BYTES = 4 * 1024 * 1024;

/** Records duration by the matched route pattern, never the raw URL (bounded label values). */
function requestMetrics(node: ApiPort): RequestHandler {
  return (req, res, next) => {
    const end = node.metrics.httpRequestDuration.startTimer();
    res.on('finish', () => {
      const pattern = req.route ? `${req.baseUrl}${String(req.route.path)}` : 'unmatched';
      end({ method: req.method, route: pattern, status: String(res.statusCode) });
    });
    next();
  };
}

/** Every error answer, whichever lane served it, is counted by code; server faults are logged. */
function reportError(node: ApiPort): (error: ApiError, cause: unknown) => void {
  return (error, cause) => {
    node.metrics.apiErrors.inc({ code: error.code });
    // A store that cannot write is logged once by the node when it starts and stops, not per request.
    if (error.status >= 500 && error.code !== 'store-unavailable')
      node.logger.error('request failed', { code: error.code, err: String(cause) });
  };
}

/**
 * Every answer names this node's network, errors included, so a peer client
 * of another network learns it from the header whatever the body says.
 */
export function namesNetwork(node: Pick<ApiPort, 'params'>): RequestHandler {
  return (_req, res, next) => {
    res.setHeader(HEADER_NETWORK, node.params.genesisHash);
    next();
  };
}

export function createApp(node: ApiPort, handlers: ProtocolHandlers): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use(requestMetrics(node));
  app.use(namesNetwork(node));
  app.use(express.json({ limit: BODY_LIMIT_BYTES, strict: true, type: () => true }));
  app.use(nodeRoutes(node));
  app.use(protocolRoutes(node, handlers));
  app.use(chainRoutes(node));
  app.use(explorerRoutes(node));
  app.use(addressRoutes(node));
  app.use(adminRoutes(node));
  app.use((req, _res, next) => next(new NodeError('not-found', `no route ${req.method} ${req.path}`)));
  app.use(errorHandler(reportError(node)));
  return app;
}

/** The node's HTTP server: the fast lane for incoming transactions and blocks, express for the rest. */
export function createRequestListener(node: ApiPort): RequestListener {
  const handlers = protocolHandlers(node);
  return withFastLane(
    node,
    handlers,
    BODY_LIMIT_BYTES,
    { startTimer: () => node.metrics.httpRequestDuration.startTimer(), onError: reportError(node) },
    createApp(node, handlers),
  );
}
