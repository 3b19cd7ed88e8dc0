import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromHex, toHex } from '../../src/core/primitives/bytes.js';
import { ValidationError } from '../../src/core/errors.js';
import { sha256d } from '../../src/core/crypto/hash.js';
import { decodeTx, encodeTx, isCoinbase, txHash, txid } from '../../src/core/primitives/tx.js';
import type { Transaction } from '../../src/core/primitives/types.js';
import { loadVectors } from '../helpers/vectors.js';
import { rebuildTx } from '../helpers/chain-builder.js';
import { codeOf } from '../helpers/errors.js';
import { mutatedCopies } from '../helpers/mutations.js';

interface BlockVectors {
  txs: Array<{ name: string; txid: string; hex: string }>;
  realTxSource: { hex: string };
}
interface P2pkhVectors {
  prevTx: string;
  prevTxid: string;
  tx: string;
  txid: string;
}
const blocks = loadVectors<BlockVectors>('blocks.json');
const p2pkh = loadVectors<P2pkhVectors>('p2pkh-txs.json');

const realTxs: Array<[string, string, string]> = [
  ...blocks.txs.map((t): [string, string, string] => [t.name, t.hex, t.txid]),
  ['mainnet_tx prevTx', p2pkh.prevTx, p2pkh.prevTxid],
  ['mainnet_tx tx', p2pkh.tx, p2pkh.txid],
];

describe('transactions: real Bitcoin data', () => {
  it.each(realTxs)('%s decodes, re-encodes byte-identically and has the published txid', (_name, hex, id) => {
    const tx = decodeTx(fromHex(hex));
    expect(toHex(encodeTx(tx))).toBe(hex);
    expect(txid(tx)).toBe(id);
  });

  it('recognises the coinbase', () => {
    const cb = blocks.txs[0];
    expect(cb).toBeDefined();
    const tx = decodeTx(fromHex(cb!.hex));
    expect(isCoinbase(tx)).toBe(true);
    expect(tx.outputs[0]?.value).toBe(5_000_000_000n);
    expect(isCoinbase(decodeTx(fromHex(p2pkh.tx)))).toBe(false);
  });

  it.each(realTxs)('%s: the encoder, not the bytes decodeTx kept, reproduces it', (_name, hex, id) => {
    const rebuilt = rebuildTx(decodeTx(fromHex(hex)));
    expect(toHex(encodeTx(rebuilt))).toBe(hex);
    expect(txid(rebuilt)).toBe(id);
  });

  it('a rebuilt transaction carries nothing memoized: changing a field changes its encoding', () => {
    const decoded = decodeTx(fromHex(p2pkh.tx));
    const changed = { ...rebuildTx(decoded), locktime: decoded.locktime + 1 };
    expect(toHex(encodeTx(changed))).not.toBe(p2pkh.tx);
    expect(toHex(encodeTx(changed)).slice(0, -8)).toBe(p2pkh.tx.slice(0, -8));
  });

  it('decoded transactions own their bytes', () => {
    const raw = fromHex(p2pkh.tx);
    const tx = decodeTx(raw);
    raw.fill(0);
    expect(toHex(encodeTx(tx))).toBe(p2pkh.tx);
    expect(txid(tx)).toBe(p2pkh.txid);
    // The fields too, not only the memoized encoding: a field-by-field rebuild still encodes the same.
    expect(toHex(encodeTx(rebuildTx(tx)))).toBe(p2pkh.tx);
  });
});

/**
 * encode(decode(x)) == x on both paths: the decoded object (whose encoding
 * decodeTx memoized from the input) and a field-by-field rebuild of it, which
 * only the encoder can serialize. Also checks the hash of each.
 */
function roundTrips(decoded: Transaction, raw: Uint8Array): void {
  const rebuilt = rebuildTx(decoded);
  expect(toHex(encodeTx(decoded))).toBe(toHex(raw));
  expect(toHex(encodeTx(rebuilt))).toBe(toHex(raw));
  expect(toHex(txHash(rebuilt))).toBe(toHex(sha256d(raw)));
  expect(toHex(txHash(decoded))).toBe(toHex(sha256d(raw)));
}

describe('transactions: malformed input', () => {
  const good = fromHex(p2pkh.tx);

  it('rejects every truncation with a typed error', () => {
    for (let n = 0; n < good.length; n++) {
      const code = codeOf(() => decodeTx(good.subarray(0, n)));
      expect(code, `prefix ${n}`).toMatch(/^bad-encoding/);
    }
  });

  it('rejects trailing bytes', () => {
    const raw = new Uint8Array(good.length + 1);
    raw.set(good);
    expect(codeOf(() => decodeTx(raw))).toBe('bad-encoding-trailing');
  });

  it('rejects the segwit marker', () => {
    // version, marker 0x00, flag 0x01, then a plausible body
    expect(codeOf(() => decodeTx(fromHex('010000000001' + p2pkh.tx.slice(10))))).toBe('bad-encoding');
  });

  it('fails fast on a forged input count of 2^60', () => {
    expect(codeOf(() => decodeTx(fromHex('01000000ff0000000000000010' + '00'.repeat(64))))).toBe(
      'bad-encoding-oversize',
    );
    expect(codeOf(() => decodeTx(fromHex('01000000feffffff7f' + '00'.repeat(64))))).toBe(
      'bad-encoding-oversize',
    );
  });

  it('rejects a non-canonical input count', () => {
    expect(codeOf(() => decodeTx(fromHex('01000000fd0100' + p2pkh.tx.slice(10))))).toBe('bad-encoding');
  });

  it('keeps a negative output value for validation to reject', () => {
    const hex = p2pkh.tx.replace('409c000000000000', 'ffffffffffffffff');
    expect(decodeTx(fromHex(hex)).outputs[0]?.value).toBe(-1n);
  });

  it('random bytes only ever throw ValidationError (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), (bytes) => {
        try {
          roundTrips(decodeTx(bytes), bytes);
        } catch (err) {
          expect(err).toBeInstanceOf(ValidationError);
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('mutations of a real transaction only throw ValidationError and round-trip when valid (property)', () => {
    fc.assert(
      fc.property(mutatedCopies(good, 4), (raw) => {
        try {
          roundTrips(decodeTx(raw), raw);
        } catch (err) {
          expect(err).toBeInstanceOf(ValidationError);
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('arbitrary transactions round-trip through encode/decode (property)', () => {
    const bytes = (max: number) => fc.uint8Array({ maxLength: max });
    const arbTx = fc.record({
      version: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
      inputs: fc.array(
        fc.record({
          prevTxid: fc.uint8Array({ minLength: 32, maxLength: 32 }),
          prevVout: fc.nat({ max: 0xffffffff }),
          scriptSig: bytes(300),
          sequence: fc.nat({ max: 0xffffffff }),
        }),
        { minLength: 1, maxLength: 5 },
      ),
      outputs: fc.array(
        fc.record({ value: fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), scriptPubKey: bytes(300) }),
        { maxLength: 5 },
      ),
      locktime: fc.nat({ max: 0xffffffff }),
    });
    fc.assert(
      fc.property(arbTx, (tx) => {
        const raw = encodeTx(tx);
        const back = decodeTx(raw);
        expect(back).toEqual(tx);
        roundTrips(back, raw);
      }),
      { numRuns: 500 },
    );
  });
});
