import { isCoinbase, txHash, txid, bytesEqual, type Coin } from '../core/index.js';
import type { Chain } from './chain.js';
import { isUnspendable, outpointKey } from './utxo-set.js';

/**
 * Recomputes the UTXO set by replaying the stored best chain from genesis and
 * compares it, coin by coin, with the chain's live set; also checks that the
 * best chain is made of fully validated blocks and that the tx index points at
 * them. Returns the problems found (empty: consistent). Used after crashes and
 * by tools; cost is one pass over the chain.
 */
export async function checkConsistency(chain: Chain): Promise<string[]> {
  const problems: string[] = [];
  const replay = new Map<string, Coin>();
  for (let height = 1; height <= chain.height; height++) {
    const hash = chain.getHashAtHeight(height);
    const entry = hash === undefined ? undefined : chain.getEntry(hash);
    if (!hash || !entry) {
      problems.push(`no best-chain entry at height ${height}`);
      return problems;
    }
    if (entry.status !== 'valid') problems.push(`best-chain block ${hash} has status ${entry.status}`);
    const block = await chain.getBlock(hash);
    if (!block) {
      problems.push(`block data missing for ${hash}`);
      return problems;
    }
    block.txs.forEach((tx, i) => {
      if (!isCoinbase(tx)) {
        for (const input of tx.inputs) {
          const key = outpointKey(input.prevTxid, input.prevVout);
          if (!replay.delete(key)) problems.push(`height ${height} tx ${i} spends missing ${key}`);
        }
      }
      const id = txHash(tx);
      tx.outputs.forEach((out, vout) => {
        if (isUnspendable(out.scriptPubKey)) return;
        replay.set(outpointKey(id, vout), {
          value: out.value,
          scriptPubKey: out.scriptPubKey,
          height,
          coinbase: i === 0,
        });
      });
    });
  }
  let live = 0;
  for (const [key, coin] of chain.utxoEntries()) {
    live++;
    const expected = replay.get(key);
    if (!expected) {
      problems.push(`extra coin ${key}`);
      continue;
    }
    if (
      expected.value !== coin.value ||
      expected.height !== coin.height ||
      expected.coinbase !== coin.coinbase ||
      !bytesEqual(expected.scriptPubKey, coin.scriptPubKey)
    ) {
      problems.push(`coin ${key} differs from replay`);
    }
  }
  if (live !== replay.size) problems.push(`UTXO set has ${live} coins, replay has ${replay.size}`);

  const tipBlock = chain.height > 0 ? await chain.getBlock(chain.tip.hash) : undefined;
  for (const tx of tipBlock?.txs ?? []) {
    const found = await chain.findTx(txid(tx));
    if (found?.blockHash !== chain.tip.hash)
      problems.push(`tx index does not point tip tx ${txid(tx)} at the tip`);
  }
  return problems;
}
