import http from 'node:http';
import net from 'node:net';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeAddress, getNetwork, hash160, publicKeyOf } from '../../src/core/index.js';
import { buildPayment } from '../../src/wallet/index.js';
import {
  admin,
  cleanup,
  info,
  jsonOrText,
  request,
  startNode,
  stopAll,
  tempDir,
  type NodeProcess,
} from '../helpers/processes.js';
import { spendable } from '../helpers/wallet.js';

const params = getNetwork('regtest');
const key = Uint8Array.from(Buffer.from('22'.repeat(32), 'hex'));
const address = encodeAddress(hash160(publicKeyOf(key)), params);

interface Answer {
  status: number;
  contentType: string | undefined;
  network: string | undefined;
  body: unknown;
}

/**
 * One POST over node:http. `framing: 'length'` declares a Content-Length, which
 * the fast lane serves; `'chunked'` streams the body, which only express reads.
 */
function post(
  node: NodeProcess,
  path: string,
  body: string | Buffer,
  framing: 'length' | 'chunked',
  headers: Record<string, string> = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const bytes = typeof body === 'string' ? Buffer.from(body) : body;
    const req = http.request(
      {
        host: '127.0.0.1',
        port: node.port,
        path,
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(framing === 'length' ? { 'content-length': String(bytes.length) } : {}),
          ...headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          resolve({
            status: res.statusCode ?? 0,
            contentType: res.headers['content-type'],
            network: res.headers['x-chainmesh-network'] as string | undefined,
            body: jsonOrText(Buffer.concat(chunks).toString()),
          });
        });
      },
    );
    req.on('error', reject);
    if (framing === 'chunked') {
      // Two writes before end: node sends Transfer-Encoding: chunked.
      req.write(bytes.subarray(0, Math.floor(bytes.length / 2)));
      req.write(bytes.subarray(Math.floor(bytes.length / 2)));
    } else {
      req.write(bytes);
    }
    req.end();
  });
}

/** GET over node:http, with the answer's headers. */
function get(node: NodeProcess, path: string, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port: node.port, path, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          resolve({
            status: res.statusCode ?? 0,
            contentType: res.headers['content-type'],
            network: res.headers['x-chainmesh-network'] as string | undefined,
            body: jsonOrText(Buffer.concat(chunks).toString()),
          });
        });
      })
      .on('error', reject);
  });
}

function metricCount(metrics: string, route: string, status: number, method = 'POST'): number {
  const line = metrics
    .split('\n')
    .find((l) =>
      l.startsWith(
        `chainmesh_http_request_duration_seconds_count{method="${method}",route="${route}",status="${status}"}`,
      ),
    );
  return line ? Number(line.split(' ').at(-1)) : 0;
}

/**
 * POST /transactions and POST /block are served by the fast lane (node:http)
 * when the body is plain JSON of a declared length, and by express otherwise:
 * both must give the same answer to the same request.
 */
describe('fast lane for transactions and blocks', () => {
  const dir = tempDir();
  let node: NodeProcess;

  beforeAll(async () => {
    node = await startNode({ name: 'lane', dataDir: join(dir, 'lane') });
    const mined = await admin(node, '/admin/generate', { count: params.coinbaseMaturity + 3, address });
    expect(mined.status).toBe(200);
  });

  afterAll(async () => {
    await stopAll([node]);
    cleanup(dir);
  });

  /** The same request through the fast lane, then through express. */
  const bothLanes = async (
    path: string,
    body: string,
    headers: Record<string, string> = {},
  ): Promise<[Answer, Answer]> => [
    await post(node, path, body, 'length', headers),
    await post(node, path, body, 'chunked', headers),
  ];

  const bodies: Array<[string, string, string]> = [
    ['/transactions', 'not json', 'invalid JSON'],
    ['/transactions', '"a string"', 'a JSON string at the top level'],
    ['/transactions', '12', 'a JSON number at the top level'],
    ['/transactions', '', 'an empty body'],
    ['/transactions', '{}', 'an empty object'],
    ['/transactions', '[]', 'an array'],
    ['/transactions', ' \n\t{"tx": "zz"}', 'bad hex after leading whitespace'],
    ['/transactions', '\ufeff{"tx": "00"}', 'a byte order mark, then an undecodable transaction'],
    ['/transactions', '{"tx": "0100000000"}', 'a truncated transaction'],
    ['/transactions', '{"txs": []}', 'an empty batch'],
    ['/transactions', '{"txs": ["01000000", "zz"]}', 'a batch with bad hex'],
    ['/transactions', '{"tx": "00", "extra": 1}', 'an unknown field'],
    ['/block', '{"block": "00"}', 'an undecodable block'],
    ['/block', `{"block": "${'00'.repeat(81)}"}`, 'a block of zeros'],
    ['/block', '{"block": 12}', 'a number for hex'],
    ['/block', '{"block": "ab"', 'truncated JSON'],
  ];

  it.each(bodies)('%s with %j (%s): the same answer from both lanes', async (path, body) => {
    const [fast, viaExpress] = await bothLanes(path, body);
    expect(fast.status).toBeGreaterThanOrEqual(400);
    expect(fast.status).toBeLessThan(500);
    expect(fast.body).toEqual({ error: expect.any(String), message: expect.any(String) });
    expect(fast).toEqual(viaExpress);
    expect(fast.network).toBe(params.genesisHash);
    expect(fast.contentType).toBe('application/json; charset=utf-8');
  });

  it('a request from another network is refused by both lanes alike', async () => {
    const headers = { 'x-chainmesh-network': 'c'.repeat(64) };
    const [fast, viaExpress] = await bothLanes('/transactions', '{"tx": "00"}', headers);
    expect(fast.status).toBe(409);
    expect(fast.body).toMatchObject({ error: 'peer-wrong-network' });
    expect(fast).toEqual(viaExpress);
  });

  it('accepts a payment through the fast lane; express then answers the duplicate as the fast lane does', async () => {
    const { body: utxos } = await request(`${node.url}/utxo/${address}`);
    const payment = (amount: bigint) =>
      JSON.stringify({
        tx: buildPayment({
          params,
          privateKey: key,
          coins: spendable(utxos.utxos),
          to: address,
          amount,
          feeRate: 20n,
        }).hex,
      });
    const first = payment(1000n);
    const accepted = await post(node, '/transactions', first, 'length');
    expect(accepted.status).toBe(200);
    expect(accepted.body).toEqual({ txid: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(accepted.network).toBe(params.genesisHash);

    const [againFast, again] = await bothLanes('/transactions', first);
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ error: 'txn-already-known' });
    expect(againFast).toEqual(again);

    // The same coin spent differently: a conflict, refused by either lane.
    const conflict = payment(2000n);
    const [conflictFast, conflictExpress] = await bothLanes('/transactions', conflict);
    expect(conflictFast.status).toBe(409);
    expect(conflictFast.body).toMatchObject({ error: 'txn-mempool-conflict' });
    expect(conflictFast).toEqual(conflictExpress);
    expect((await info(node)).mempool).toBe(1);
  });

  it('leaves compressed and non-UTF-8 bodies to express, which inflates or refuses them', async () => {
    const body = '{"txs": []}';
    const plain = await post(node, '/transactions', body, 'length');
    const gzipped = await post(node, '/transactions', gzipSync(body), 'length', {
      'content-encoding': 'gzip',
    });
    expect(gzipped).toEqual(plain);
    const latin1 = await post(node, '/transactions', body, 'length', {
      'content-type': 'application/json; charset=latin1',
    });
    expect(latin1.status).toBe(415);
    const utf8 = await post(node, '/transactions', body, 'length', {
      'content-type': 'application/json; charset=UTF-8',
    });
    expect(utf8).toEqual(plain);
  });

  it('answers a block it already has as a duplicate, in both lanes', async () => {
    const tip = (await info(node)).tipHash as string;
    const { body } = await request(`${node.url}/block/${tip}?format=hex`);
    const block = JSON.stringify({ block: body.hex });
    const [fast, viaExpress] = await bothLanes('/block', block);
    expect(fast.status).toBe(200);
    expect(fast.body).toEqual({ status: 'duplicate', hash: tip, height: null });
    expect(fast).toEqual(viaExpress);
  });

  it('a client that hangs up mid-body changes nothing and the node keeps serving', async () => {
    const before = await info(node);
    for (let i = 0; i < 5; i++) {
      await new Promise<void>((resolve, reject) => {
        const socket = net.connect(node.port, '127.0.0.1', () => {
          socket.write(
            'POST /transactions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"tx": "01',
          );
          socket.destroy();
          resolve();
        });
        socket.on('error', reject);
      });
    }
    expect((await request(`${node.url}/healthz`)).status).toBe(200);
    expect(await info(node)).toMatchObject({ height: before.height, mempool: before.mempool });
  });

  it('GET /info: the fast lane answers exactly what express does (a query string takes express)', async () => {
    const before = (await request(`${node.url}/metrics`)).body as string;
    const fast = await get(node, '/info');
    const viaExpress = await get(node, '/info?lane=express');
    expect(fast.status).toBe(200);
    expect(fast.body).toMatchObject({ network: params.genesisHash, tipHash: expect.any(String) });
    expect(fast).toEqual(viaExpress);
    const after = (await request(`${node.url}/metrics`)).body as string;
    // Both requests are timed under the route pattern, whichever lane served them.
    expect(metricCount(after, '/info', 200, 'GET') - metricCount(before, '/info', 200, 'GET')).toBe(2);
  });

  it('GET /ping: the fast lane answers exactly what express does, and refuses another network alike', async () => {
    const before = (await request(`${node.url}/metrics`)).body as string;
    const fast = await get(node, '/ping');
    const viaExpress = await get(node, '/ping?lane=express');
    expect(fast.status).toBe(200);
    expect(fast.body).toMatchObject({ network: params.genesisHash, tipHash: expect.any(String) });
    expect(fast).toEqual(viaExpress);
    const after = (await request(`${node.url}/metrics`)).body as string;
    expect(metricCount(after, '/ping', 200, 'GET') - metricCount(before, '/ping', 200, 'GET')).toBe(2);
    const other = { 'x-chainmesh-network': 'ab'.repeat(32) };
    const [fastRefused, expressRefused] = [
      await get(node, '/ping', other),
      await get(node, '/ping?x=1', other),
    ];
    expect(fastRefused.status).toBeGreaterThanOrEqual(400);
    expect(fastRefused.body).toMatchObject({ error: 'peer-wrong-network' });
    expect(fastRefused).toEqual(expressRefused);
  });

  it('times and counts fast-lane requests under the route pattern, like express routes', async () => {
    const before = (await request(`${node.url}/metrics`)).body as string;
    for (let i = 0; i < 3; i++) await post(node, '/transactions', '{"tx": "zz"}', 'length');
    const after = (await request(`${node.url}/metrics`)).body as string;
    expect(metricCount(after, '/transactions', 400) - metricCount(before, '/transactions', 400)).toBe(3);
    const errors = (m: string) =>
      Number(/^chainmesh_api_errors_total\{code="bad-request"\} (\d+)$/m.exec(m)?.[1] ?? 0);
    expect(errors(after) - errors(before)).toBe(3);
  });
});
