import { Router, type RequestHandler, type Response } from 'express';
import { addressToScript } from '../../core/index.js';
import { addressPage } from './address-page.js';
import { blockPage } from './block-page.js';
import { CLIENT_SCRIPT } from './client-script.js';
import { ClusterView, DEFAULT_CLUSTER_OPTIONS, type ClusterOptions } from './cluster.js';
import type { Html } from './escape.js';
import { BlockSizes, homePage } from './home-page.js';
import { ASSET_PATHS, CONTENT_SECURITY_POLICY, ICON_SVG, messagePage, type PageContext } from './layout.js';
import { MempoolSummaries } from './mempool-summary.js';
import type { ExplorerNode } from './port.js';
import { MAX_SEARCH_CHARS, resolveSearch } from './search.js';
import { STYLESHEET } from './style.js';
import { txPage } from './tx-page.js';

const HEIGHT = /^\d{1,10}$/;
const HASH = /^[0-9a-f]{64}$/;
const BASE58 = /^[1-9A-HJ-NP-Za-km-z]{25,40}$/;

/** Every explorer answer: no inline script or style may run, no sniffing, no caching of live data. */
const explorerHeaders: RequestHandler = (_req, res, next) => {
  res.setHeader('content-security-policy', CONTENT_SECURITY_POLICY);
  res.setHeader('x-content-type-options', 'nosniff');
  res.setHeader('referrer-policy', 'no-referrer');
  res.setHeader('cache-control', 'no-store');
  next();
};

function sendPage(res: Response, status: number, page: Html): void {
  res.status(status).type('text/html; charset=utf-8').send(page.text);
}

/**
 * The explorer: server-rendered, read-only pages at `/` and under
 * `/explorer/`, plus the one script and stylesheet they load. It reads the
 * node through ExplorerNode only, needs no admin token and offers no admin
 * action. Bad input (a malformed id, an unknown hash, an over-long search)
 * gets a page that says so and a 4xx.
 */
export function explorerRoutes(
  node: ExplorerNode,
  clusterOptions: ClusterOptions = DEFAULT_CLUSTER_OPTIONS,
): Router {
  const router = Router();
  const cluster = new ClusterView(node, clusterOptions);
  const mempoolSummaries = new MempoolSummaries(node);
  const blockSizes = new BlockSizes();
  const context = (): PageContext => ({
    networkName: node.params.name,
    nodeId: node.nodeId,
    advertiseAddr: node.config.advertiseAddr,
    height: node.chain.height,
  });
  const problem = (res: Response, status: 400 | 404, title: string, message: string, search = '') =>
    sendPage(res, status, messagePage(context(), title, message, search));

  router.get(ASSET_PATHS.script, (_req, res) => {
    res.setHeader('x-content-type-options', 'nosniff');
    res.type('text/javascript; charset=utf-8').send(CLIENT_SCRIPT);
  });
  router.get(ASSET_PATHS.style, (_req, res) => {
    res.setHeader('x-content-type-options', 'nosniff');
    res.type('text/css; charset=utf-8').send(STYLESHEET);
  });

  router.get(ASSET_PATHS.icon, (_req, res) => {
    res.setHeader('x-content-type-options', 'nosniff');
    res.type('image/svg+xml').send(ICON_SVG);
  });

  /** What the page polls: a few dozen bytes, so open pages cost the node next to nothing. */
  router.get('/explorer/tip', (_req, res) => {
    const tip = node.chain.tip;
    res.setHeader('cache-control', 'no-store');
    res.json({ height: tip.height, hash: tip.hash, time: tip.header.time });
  });

  router.get('/', explorerHeaders, async (_req, res) => {
    const nowMs = Date.now();
    const page = await homePage(node, context(), {
      nowMs,
      mempool: mempoolSummaries.current(),
      cluster: await cluster.snapshot(),
      sizes: blockSizes,
    });
    sendPage(res, 200, page);
  });

  router.get('/explorer/search', explorerHeaders, async (req, res) => {
    const q = req.query.q;
    const result = await resolveSearch(q, node.chain, node.mempool, node.params);
    if ('found' in result) {
      res.redirect(303, result.found);
      return;
    }
    // An over-long term is not echoed back into the search box.
    const echo = typeof q === 'string' && q.length <= MAX_SEARCH_CHARS ? q : '';
    problem(
      res,
      result.status,
      result.status === 404 ? 'Nothing found' : 'Not a search term',
      result.message,
      echo,
    );
  });

  router.get('/explorer/block/:id', explorerHeaders, async (req, res) => {
    const id = String(req.params.id);
    let hash: string | undefined;
    if (HEIGHT.test(id)) {
      hash = node.chain.getHashAtHeight(Number(id));
      if (!hash) {
        problem(
          res,
          404,
          'No such block',
          `No block at height ${id}: this node's tip is at height ${node.chain.height}.`,
        );
        return;
      }
    } else if (HASH.test(id)) {
      hash = id;
    } else {
      problem(
        res,
        400,
        'Not a block id',
        'A block is named by its height (digits) or its hash (64 lowercase hex characters).',
      );
      return;
    }
    const page = await blockPage(node, context(), hash, Date.now());
    if (page) sendPage(res, 200, page);
    else problem(res, 404, 'No such block', `This node has no block ${hash}.`);
  });

  router.get('/explorer/tx/:txid', explorerHeaders, async (req, res) => {
    const id = String(req.params.txid);
    if (!HASH.test(id)) {
      problem(res, 400, 'Not a transaction id', 'A transaction id is 64 lowercase hex characters.');
      return;
    }
    const page = await txPage(node, context(), id);
    if (page) sendPage(res, 200, page);
    else problem(res, 404, 'No such transaction', `No transaction ${id} in this node's chain or mempool.`);
  });

  router.get('/explorer/address/:address', explorerHeaders, async (req, res) => {
    const address = String(req.params.address);
    if (!BASE58.test(address)) {
      problem(res, 400, 'Not an address', 'An address is 25 to 40 Base58 characters.');
      return;
    }
    try {
      addressToScript(address, node.params);
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      problem(
        res,
        400,
        'Not an address of this network',
        `${address} is not a ${node.params.name} address: ${why}.`,
      );
      return;
    }
    sendPage(res, 200, await addressPage(node, context(), address));
  });

  router.use('/explorer', explorerHeaders, (req, res) => {
    problem(res, 404, 'No such page', `The explorer has no page ${req.path}.`);
  });

  return router;
}
