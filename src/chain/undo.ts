import { ByteReader, ByteWriter, type Coin } from '../core/index.js';

/**
 * Undo data of a block: the coins its transactions spent, in spending order
 * (transaction order, then input order). Disconnecting walks it backwards.
 */
export function encodeUndo(spent: readonly Coin[]): Uint8Array {
  const w = new ByteWriter(16 + spent.length * 40);
  w.varint(spent.length);
  for (const c of spent)
    w.u64(c.value)
      .u32(c.height)
      .u8(c.coinbase ? 1 : 0)
      .varBytes(c.scriptPubKey);
  return w.finish().slice();
}

export function decodeUndo(raw: Uint8Array): Coin[] {
  const r = new ByteReader(raw);
  const n = r.count(14);
  const out = new Array<Coin>(n);
  for (let i = 0; i < n; i++) {
    const value = r.u64();
    const height = r.u32();
    const coinbase = r.u8() === 1;
    out[i] = { value, height, coinbase, scriptPubKey: r.varBytes() };
  }
  r.end();
  return out;
}
