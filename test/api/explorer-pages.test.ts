import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeAddress, getNetwork } from '../../src/core/index.js';
import { testKey } from '../helpers/chain-builder.js';
import {
  HOSTILE_HOSTNAME,
  HOSTILE_TEXT,
  advertisePeer,
  submitDataTx,
  testAddress,
} from '../helpers/explorer-fixtures.js';
import {
  admin,
  cleanup,
  info,
  restartNode,
  startNode,
  stopAll,
  tempDir,
  type NodeProcess,
} from '../helpers/processes.js';

interface Page {
  status: number;
  headers: Headers;
  body: string;
}

async function get(url: string): Promise<Page> {
  const res = await fetch(url, { redirect: 'manual', signal: AbortSignal.timeout(30_000) });
  // Whitespace collapsed, as a browser shows it: the templates are formatted source, not fixed strings.
  return { status: res.status, headers: res.headers, body: (await res.text()).replace(/\s+/g, ' ') };
}

/** Every <script> element of a page: only the node's own file, never inline, never from data. */
function scriptTags(body: string): string[] {
  return body.match(/<script\b[^>]*>/gi) ?? [];
}

/** Issue 14: the explorer's pages over real HTTP from a real node process. */
describe('explorer pages', () => {
  const dir = tempDir();
  let node: NodeProcess;
  let noAdmin: NodeProcess;
  let hostileTxid: string;

  beforeAll(async () => {
    [node, noAdmin] = await Promise.all([
      startNode({ name: 'explorer', dataDir: join(dir, 'explorer') }),
      startNode({ name: 'no-admin', dataDir: join(dir, 'no-admin'), env: { ADMIN_TOKEN: '' } }),
    ]);
    hostileTxid = await submitDataTx(node, 3, HOSTILE_TEXT);
    const advertised = await advertisePeer(node, HOSTILE_HOSTNAME);
    expect(advertised.status).toBe(200);
  });

  afterAll(async () => {
    await stopAll([node, noAdmin]);
    cleanup(dir);
  });

  it('serves the home page with the tip the API reports, a CSP that forbids inline script, and no inline script', async () => {
    const tip = await info(node);
    const page = await get(`${node.url}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const csp = page.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
    expect(page.body).toContain(`data-tip="${tip.tipHash}"`);
    expect(page.body).toContain(`<b id="tip-height">${tip.height}</b>`);
    expect(scriptTags(page.body)).toEqual(['<script src="/explorer/app.js" defer>']);
    for (const part of [
      'Recent blocks',
      'First seen here',
      'Mempool',
      'Projected next block',
      'Peers',
      'Cluster',
      '<svg',
    ]) {
      expect(page.body).toContain(part);
    }
  });

  it('serves its script, stylesheet and icon itself', async () => {
    const script = await get(`${node.url}/explorer/app.js`);
    expect(script.status).toBe(200);
    expect(script.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(script.body).toContain('/explorer/tip');
    expect((await get(`${node.url}/explorer/style.css`)).headers.get('content-type')).toBe(
      'text/css; charset=utf-8',
    );
    expect((await get(`${node.url}/explorer/icon.svg`)).status).toBe(200);
    const tip = await info(node);
    expect(JSON.parse((await get(`${node.url}/explorer/tip`)).body)).toEqual({
      height: tip.height,
      hash: tip.tipHash,
      time: tip.tipTime,
    });
  });

  it('shows a hostile output script and a hostile peer address as text, never as markup', async () => {
    const txPage = await get(`${node.url}/explorer/tx/${hostileTxid}`);
    expect(txPage.status).toBe(200);
    expect(txPage.body).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(txPage.body).not.toContain(HOSTILE_TEXT);
    expect(scriptTags(txPage.body)).toHaveLength(1);
    const home = await get(`${node.url}/`);
    expect(home.body).toContain(hostileTxid.slice(0, 8)); // listed in the mempool and the projected block
    expect(home.body).toContain('&lt;script&gt;alert(2)&lt;:3000');
    expect(home.body).not.toContain('<script>alert(2)');
    expect(scriptTags(home.body)).toHaveLength(1);
  });

  it('shows a block with when this node first saw it, and keeps that time over a restart', async () => {
    const [hash] = (await admin(node, '/admin/generate', { count: 1 })).body.hashes as string[];
    const before = await get(`${node.url}/explorer/block/${hash}`);
    expect(before.status).toBe(200);
    const seen = /First seen by this node<\/dt> <dd> ([^<]+ UTC), ([+-][^<]+) after its timestamp/.exec(
      before.body,
    );
    expect(seen, before.body).not.toBeNull();
    node = await restartNode(node);
    const after = await get(`${node.url}/explorer/block/${hash}`);
    expect(after.body).toContain(`${seen![1]}, ${seen![2]} after its timestamp`);
    const byHeight = await get(`${node.url}/explorer/block/${(await info(node)).height}`);
    expect(byHeight.body).toContain(hash);
  });

  it('shows an address with its balance, its transactions and its coins', async () => {
    const page = await get(`${node.url}/explorer/address/${testAddress(3)}`);
    expect(page.status).toBe(200);
    expect(page.body).toContain(testAddress(3));
    expect(page.body).toMatch(/id="balance">[0-9.]+ CMC</);
    // Its confirmed transactions from the address index: at least the coinbase that funded it.
    expect(page.body).toMatch(
      /<table id="history">[\s\S]*href="\/explorer\/tx\/[0-9a-f]{64}"[\s\S]*\+[0-9.]+ CMC/,
    );
  });

  it('search leads to a block, a transaction and an address', async () => {
    const tip = await info(node);
    const cases: Array<[string, string]> = [
      [String(tip.height), `/explorer/block/${tip.height}`],
      [tip.tipHash, `/explorer/block/${tip.tipHash}`],
      [hostileTxid, `/explorer/tx/${hostileTxid}`],
      [testAddress(3), `/explorer/address/${testAddress(3)}`],
    ];
    for (const [q, where] of cases) {
      const res = await get(`${node.url}/explorer/search?q=${encodeURIComponent(q)}`);
      expect([res.status, res.headers.get('location')]).toEqual([303, where]);
    }
  });

  it('bad input gets a page that says what is wrong and a 4xx, and the node keeps serving', async () => {
    const demoAddress = encodeAddress(testKey(3).hash160, getNetwork('demo'));
    const cases: Array<[string, number, string]> = [
      ['/explorer/search?q=', 400, 'Type a block height'],
      ['/explorer/search', 400, 'Type a block height'],
      ['/explorer/search?q=1&q=2', 400, 'Type a block height'],
      [`/explorer/search?q=${encodeURIComponent(HOSTILE_TEXT)}`, 400, 'nothing was looked up'],
      [`/explorer/search?q=${'ab'.repeat(32)}`, 404, 'No block or transaction'],
      ['/explorer/search?q=99999999', 404, 'No block at height 99999999'],
      [`/explorer/search?q=${'x'.repeat(10_000)}`, 400, 'at most 128 characters'],
      [`/explorer/search?q=${demoAddress}`, 400, 'not an address of the regtest network'],
      ['/explorer/block/xyz', 400, 'A block is named by its height'],
      ['/explorer/block/99999999', 404, 'No block at height 99999999'],
      [`/explorer/block/${'cd'.repeat(32)}`, 404, 'This node has no block'],
      ['/explorer/tx/zz', 400, 'A transaction id is 64'],
      [`/explorer/tx/${'ef'.repeat(32)}`, 404, 'No transaction'],
      ['/explorer/address/0OIl', 400, 'An address is 25 to 40 Base58'],
      [`/explorer/address/${demoAddress}`, 400, 'is not a regtest address'],
      [`/explorer/address/${testAddress(3).slice(0, -1)}1`, 400, 'is not a regtest address'],
      ['/explorer/nothing-here', 404, 'The explorer has no page'],
    ];
    for (const [path, status, message] of cases) {
      const page = await get(`${node.url}${path}`);
      expect([path, page.status], page.body).toEqual([path, status]);
      expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(page.body).toContain(message);
      expect(page.body).not.toContain(HOSTILE_TEXT);
    }
    // Past the HTTP server's header limit the request never reaches the explorer: 431, and nothing else changes.
    expect((await get(`${node.url}/explorer/search?q=${'9'.repeat(70_000)}`)).status).toBe(431);
    expect((await get(`${node.url}/healthz`)).status).toBe(200);
  });

  it('works with the admin token unset and offers no admin action', async () => {
    const page = await get(`${noAdmin.url}/`);
    expect(page.status).toBe(200);
    expect(page.body).toContain(`data-tip="${(await info(noAdmin)).tipHash}"`);
    expect(page.body).not.toMatch(/admin|restart|<form[^>]*method="post"/i);
  });
});
