import { timingSafeEqual } from 'node:crypto';
import { Router, type RequestHandler } from 'express';
import { NodeError } from '../node-error.js';
import type { ApiPort } from '../port.js';
import { generateBody } from '../validate.js';

/** Admin routes need `Authorization: Bearer $ADMIN_TOKEN` and are off when no token is configured. */
function requireAdmin(token: string | undefined): RequestHandler {
  const expected = token ? Buffer.from(`Bearer ${token}`) : undefined;
  return (req, _res, next) => {
    if (!expected)
      throw new NodeError('admin-disabled', 'admin routes are disabled: set ADMIN_TOKEN to enable them');
    const given = Buffer.from(req.get('authorization') ?? '');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      throw new NodeError('unauthorized', 'missing or wrong bearer token');
    }
    next();
  };
}

export function adminRoutes(node: Pick<ApiPort, 'config' | 'generate' | 'requestRestart'>): Router {
  const router = Router();
  const admin = requireAdmin(node.config.adminToken);

  router.post('/admin/generate', admin, async (req, res) => {
    const { count, address } = generateBody.parse(req.body);
    res.json({ hashes: await node.generate(count, address) });
  });

  /** The tutorial's restart: the runner stops this node and starts it again from its data dir. */
  router.post('/restart', admin, (_req, res) => {
    res.status(202).json({ restarting: true });
    res.on('finish', () => node.requestRestart());
  });

  return router;
}
