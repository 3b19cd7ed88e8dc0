import { Router } from 'express';
import type { ApiPort } from '../port.js';

/** Node-level views: info, health, readiness, peers, metrics. */
export function nodeRoutes(node: Pick<ApiPort, 'info' | 'readiness' | 'p2p' | 'metrics'>): Router {
  const router = Router();

  router.get('/info', (_req, res) => {
    res.json(node.info());
  });

  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });

  router.get('/readyz', (_req, res) => {
    const readiness = node.readiness();
    res.status(readiness.ready ? 200 : 503).json(readiness);
  });

  router.get('/peers', (_req, res) => {
    res.json(node.p2p.peers());
  });

  router.get('/metrics', async (_req, res) => {
    const body = await node.metrics.registry.metrics();
    res.type(node.metrics.registry.contentType).send(body);
  });

  return router;
}
