import {
  encodeAddress,
  encodeTx,
  fromDisplayHex,
  getNetwork,
  OP_RETURN,
  pushData,
  toHex,
  txid,
} from '../../src/core/index.js';
import { payTo, spendTx, testKey } from './chain-builder.js';
import { admin, request, type NodeProcess } from './processes.js';

/** Markup a hostile user or peer would like a page to run. */
export const HOSTILE_TEXT = '<script>alert(1)</script>';
/** A peer address that passes host:port checks (no `/`, no spaces) yet carries a script tag. */
export const HOSTILE_HOSTNAME = '<script>alert(2)<:3000';

const regtest = getNetwork('regtest');
const FEE = 10_000n;

/** The regtest address of test key `n`. */
export function testAddress(n: number): string {
  return encodeAddress(testKey(n).hash160, regtest);
}

/**
 * Funds test key `n` with a coinbase mined on `node` (plus the blocks that
 * make it mature), then submits a transaction spending it whose second
 * output is an OP_RETURN carrying `text`. Returns the txid (left in the mempool).
 */
export async function submitDataTx(node: NodeProcess, n: number, text: string): Promise<string> {
  const key = testKey(n);
  const address = testAddress(n);
  const funded = await admin(node, '/admin/generate', { count: 1, address });
  if (funded.status !== 200) throw new Error(`generate to ${address}: ${JSON.stringify(funded.body)}`);
  const matured = await admin(node, '/admin/generate', { count: regtest.coinbaseMaturity });
  if (matured.status !== 200) throw new Error(`generate: ${JSON.stringify(matured.body)}`);
  const utxos = (await request(`${node.url}/utxo/${address}`)).body.utxos as Array<{
    txid: string;
    vout: number;
    value: string;
    mature: boolean;
    spentInMempool: boolean;
  }>;
  const coin = utxos.find((u) => u.mature && !u.spentInMempool);
  if (!coin) throw new Error(`no mature coin for ${address}: ${JSON.stringify(utxos)}`);
  const value = BigInt(coin.value);
  const data = new TextEncoder().encode(text);
  const tx = spendTx(
    [{ txid: fromDisplayHex(coin.txid), vout: coin.vout, scriptPubKey: key.script, key }],
    [payTo(key, value - FEE), { value: 0n, scriptPubKey: Uint8Array.of(OP_RETURN, ...pushData(data)) }],
  );
  const res = await request(`${node.url}/transactions`, { body: { tx: toHex(encodeTx(tx)) } });
  if (res.status !== 200) throw new Error(`submit: ${res.status} ${JSON.stringify(res.body)}`);
  return txid(tx);
}

/** Advertises a made-up peer at `hostname` to `node` (as any stranger on the network could). */
export async function advertisePeer(node: NodeProcess, hostname: string, nodeId = 'ab'.repeat(16)) {
  const info = (await request(`${node.url}/info`)).body as { network: string };
  return request(`${node.url}/new_node_advertisement`, {
    body: { hostname, nodeId, network: info.network, height: 0 },
  });
}
