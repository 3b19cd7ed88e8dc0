import express, { type Express, type RequestHandler } from 'express';
import type { ChainmeshNode } from '../node/node.js';
import { NodeError } from '../node/errors.js';
import { errorHandler } from './errors.js';
import { adminRoutes } from './routes/admin.js';
import { chainRoutes } from './routes/chain.js';
import { nodeRoutes } from './routes/node.js';
import { protocolRoutes } from './routes/protocol.js';

/** Largest accepted body: a 1 MB block in hex plus JSON framing, or a batch of transactions. */
const BODY_LIMIT = '4mb';

/** Records duration by the matched route pattern, never the raw URL (bounded label values). */
function requestMetrics(node: ChainmeshNode): RequestHandler {
  return (req, res, next) => {
    const end = node.metrics.httpRequestDuration.startTimer();
    res.on('finish', () => {
      const pattern = req.route ? `${req.baseUrl}${String(req.route.path)}` : 'unmatched';
      end({ method: req.method, route: pattern, status: String(res.statusCode) });
    });
    next();
  };
}

export function createApp(node: ChainmeshNode): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use(requestMetrics(node));
  app.use(express.json({ limit: BODY_LIMIT, strict: true, type: () => true }));
  app.use(nodeRoutes(node));
  app.use(protocolRoutes(node));
  app.use(chainRoutes(node));
  app.use(adminRoutes(node));
  app.use((req, _res, next) => next(new NodeError('not-found', `no route ${req.method} ${req.path}`)));
  app.use(
    errorHandler((error, cause) => {
      node.metrics.apiErrors.inc({ code: error.code });
      if (error.status >= 500) node.logger.error('request failed', { code: error.code, err: String(cause) });
    }),
  );
  return app;
}
