/**
 * Transaction load against one node's HTTP API, shared by the API bench and
 * the A/B harness: coins of one key, fanned out into many small confirmed
 * outputs (`fund`), pre-signed independent 1-in/1-out spends of them
 * (`signSpends`), and keep-alive POSTs of them, one or a batch per request,
 * from this process (`load`).
 */
import http from 'node:http';
import {
  encodeAddress,
  encodeTx,
  fromDisplayHex,
  getNetwork,
  hash160,
  p2pkhScript,
  publicKeyOf,
  sha256,
  signP2pkhInput,
  toHex,
  txHash,
  type Transaction,
} from '../src/core/index.js';
import { admin, info as nodeInfo, jsonOrText, request, type NodeProcess } from '../test/helpers/processes.js';

const params = getNetwork('regtest');
const SPLIT_OUTPUTS = 2000;
const SPEND_FEE = 1000n;
export const BATCH_SIZE = 250;

const priv = sha256(new TextEncoder().encode('chainmesh api-tx bench key'));
const keyHash = hash160(publicKeyOf(priv));
/** The script every funded coin and every spend pays to. */
export const ownScript = p2pkhScript(keyHash);
const ownAddress = encodeAddress(keyHash, params);

/** What a node taking this load needs beyond `loopbackNodeEnv`: a mempool large enough for every phase. */
export const LOAD_NODE_ENV = { MEMPOOL_MAX_BYTES: String(256 * 1024 * 1024) } as const;

const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

/** Closes the keep-alive connections, so that the process can exit. */
export function closeLoadClient(): void {
  agent.destroy();
}

/** One POST over the keep-alive agent; resolves with the status and the parsed body. */
export function post(
  node: { port: number },
  path: string,
  body: string,
): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port: node.port,
        path,
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          resolve({ status: res.statusCode ?? 0, body: jsonOrText(Buffer.concat(chunks).toString()) });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** GET /info: the fields the load reads. */
export function info(node: NodeProcess): Promise<{ height: number; mempool: number; tipHash: string }> {
  return nodeInfo(node);
}

export async function generate(node: NodeProcess, count: number): Promise<string[]> {
  const res = await admin(node, '/admin/generate', { count, address: ownAddress });
  if (res.status !== 200) throw new Error(`generate: ${res.status} ${JSON.stringify(res.body)}`);
  return (res.body as { hashes: string[] }).hashes;
}

/** Coinbases of our key, fanned out into `outputs` small confirmed coins: returns [txHash, vout, value]. */
export async function fund(node: NodeProcess, outputs: number): Promise<Array<[Uint8Array, number, bigint]>> {
  const splits = Math.ceil(outputs / SPLIT_OUTPUTS);
  await generate(node, splits + params.coinbaseMaturity);
  const res = await request(`${node.url}/utxo/${ownAddress}`);
  if (res.status !== 200) throw new Error(`utxo: ${res.status}`);
  const coins = (
    res.body as { utxos: Array<{ txid: string; vout: number; value: string; mature: boolean }> }
  ).utxos
    .filter((u) => u.mature)
    .slice(0, splits);
  if (coins.length < splits) throw new Error(`only ${coins.length} mature coinbases, need ${splits}`);
  const out: Array<[Uint8Array, number, bigint]> = [];
  const splitHexes: string[] = [];
  for (const coin of coins) {
    const fee = 100_000n; // ~68 kB at 1 base unit per byte, with room
    const each = (BigInt(coin.value) - fee) / BigInt(SPLIT_OUTPUTS);
    let tx: Transaction = {
      version: 1,
      inputs: [
        {
          prevTxid: fromDisplayHex(coin.txid),
          prevVout: coin.vout,
          scriptSig: new Uint8Array(0),
          sequence: 0xffffffff,
        },
      ],
      outputs: Array.from({ length: SPLIT_OUTPUTS }, () => ({ value: each, scriptPubKey: ownScript })),
      locktime: 0,
    };
    tx = signP2pkhInput(tx, 0, ownScript, priv);
    const hash = txHash(tx);
    for (let vout = 0; vout < SPLIT_OUTPUTS; vout++) out.push([hash, vout, each]);
    splitHexes.push(toHex(encodeTx(tx)));
  }
  for (let i = 0; i < splitHexes.length; i += 10) {
    const res2 = await post(node, '/transactions', JSON.stringify({ txs: splitHexes.slice(i, i + 10) }));
    const results = (res2.body as { results?: Array<{ error?: string; message?: string }> }).results ?? [];
    const failed = results.find((r) => r.error);
    if (res2.status !== 200 || failed)
      throw new Error(`split rejected: ${res2.status} ${JSON.stringify(failed ?? res2.body)}`);
  }
  // Blocks of ≤ 1 MB take ~14 splits each.
  await mineMempool(node, splits);
  return out.slice(0, outputs);
}

/** Generates blocks until the node's mempool is empty; more than `maxBlocks` is an error. */
export async function mineMempool(node: NodeProcess, maxBlocks: number): Promise<void> {
  for (let i = 0; (await info(node)).mempool > 0; i++) {
    if (i >= maxBlocks) throw new Error(`mempool not empty after ${maxBlocks} blocks`);
    await generate(node, 1);
  }
}

export function signSpends(coins: Array<[Uint8Array, number, bigint]>): string[] {
  return coins.map(([prevTxid, prevVout, value]) => {
    const tx: Transaction = {
      version: 1,
      inputs: [{ prevTxid, prevVout, scriptSig: new Uint8Array(0), sequence: 0xffffffff }],
      outputs: [{ value: value - SPEND_FEE, scriptPubKey: ownScript }],
      locktime: 0,
    };
    return toHex(encodeTx(signP2pkhInput(tx, 0, ownScript, priv)));
  });
}

export interface LoadResult {
  accepted: number;
  rejected: number;
  requests: number;
  ms: number;
  /** CPU of this (load-generating) process, in cores. */
  clientCpu?: number;
  /** status → count of requests that were not 200. */
  other: Map<string, number>;
}

/** `concurrency` workers take the next request body from `bodies` until it is empty or `ms` passed. */
export async function load(
  node: { port: number },
  bodies: string[],
  concurrency: number,
  ms: number,
  acceptedIn: (status: number, body: unknown) => [number, number],
): Promise<LoadResult> {
  const result: LoadResult = { accepted: 0, rejected: 0, requests: 0, ms: 0, other: new Map() };
  let next = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const deadline = t0 + ms;
  const worker = async () => {
    while (next < bodies.length && performance.now() < deadline) {
      const body = bodies[next++] as string;
      const res = await post(node, '/transactions', body);
      result.requests++;
      const [ok, bad] = acceptedIn(res.status, res.body);
      result.accepted += ok;
      result.rejected += bad;
      if (res.status !== 200) {
        const key = `${res.status} ${(res.body as { error?: string }).error ?? ''}`;
        result.other.set(key, (result.other.get(key) ?? 0) + 1);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  result.ms = performance.now() - t0;
  const used = process.cpuUsage(cpu0);
  result.clientCpu = (used.user + used.system) / 1000 / result.ms;
  return result;
}

export function toBatches(hexes: string[]): string[] {
  const bodies: string[] = [];
  for (let i = 0; i < hexes.length; i += BATCH_SIZE)
    bodies.push(JSON.stringify({ txs: hexes.slice(i, i + BATCH_SIZE) }));
  return bodies;
}

export function batchOutcome(status: number, body: unknown): [number, number] {
  if (status !== 200) return [0, BATCH_SIZE];
  const results = (body as { results: Array<{ txid?: string }> }).results;
  const ok = results.filter((r) => r.txid !== undefined).length;
  return [ok, results.length - ok];
}
