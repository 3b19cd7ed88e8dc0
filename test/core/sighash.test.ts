import fc from 'fast-check';
import secp256k1 from 'secp256k1';
import { describe, expect, it } from 'vitest';
import { decodeBlock } from '../../src/core/primitives/block.js';
import { fromHex, toDisplayHex, toHex } from '../../src/core/primitives/bytes.js';
import { ByteWriter } from '../../src/core/primitives/encoding.js';
import { ValidationError } from '../../src/core/errors.js';
import { hash160 } from '../../src/core/crypto/hash.js';
import { isLowS, parseStrictDer, privateKeyFromSeed, publicKeyOf } from '../../src/core/crypto/keys.js';
import { p2pkhScript, parseP2pkhScriptSig } from '../../src/core/script/script.js';
import {
  legacySighash,
  prepareP2pkhInput,
  sighashOf,
  signP2pkhInput,
  verifyP2pkhInput,
  verifyTxInput,
  verifyTxScripts,
  writeScriptCode,
} from '../../src/core/script/sighash.js';
import { decodeTx, encodeTx } from '../../src/core/primitives/tx.js';
import type { Transaction } from '../../src/core/primitives/types.js';
import { loadVectors } from '../helpers/vectors.js';

type SighashCase = [string, string, number, number, string];
const sighashCases = loadVectors<Array<SighashCase | [string]>>('sighash-legacy.json').filter(
  (c): c is SighashCase => c.length === 5,
);
function scriptCodeHex(script: string): string {
  const w = new ByteWriter();
  writeScriptCode(w, fromHex(script));
  return toHex(w.finish());
}

const p2pkh = loadVectors<{ prevTx: string; tx: string }>('p2pkh-txs.json');
const blocks = loadVectors<{ realTxSource: { hex: string }; txs: Array<{ hex: string }> }>('blocks.json');

describe('legacySighash: Bitcoin Core sighash.json', () => {
  it('has a meaningful number of cases', () => {
    expect(sighashCases.length).toBeGreaterThanOrEqual(180);
  });

  it.each(sighashCases.map((c, i) => [i + 1, ...c] as const))(
    'case %i',
    (_i, rawTx, script, inputIndex, hashType, expected) => {
      const digest = legacySighash(fromHex(rawTx), inputIndex, fromHex(script), hashType);
      expect(toDisplayHex(digest)).toBe(expected);
    },
  );
});

describe('legacySighash: edge cases Bitcoin defines', () => {
  const tx = decodeTx(fromHex(p2pkh.tx));
  const script = decodeTx(fromHex(p2pkh.prevTx)).outputs[0]!.scriptPubKey;
  const one = '01' + '00'.repeat(31);

  it('SIGHASH_SINGLE with no matching output returns the number one', () => {
    const threeInputs: Transaction = { ...tx, inputs: [tx.inputs[0]!, tx.inputs[0]!, tx.inputs[0]!] };
    expect(toHex(sighashOf(threeInputs, 2, script, 0x03))).toBe(one);
    expect(toHex(sighashOf(threeInputs, 2, script, 0x83))).toBe(one);
    expect(toHex(sighashOf(threeInputs, 1, script, 0x03))).not.toBe(one);
  });

  it('an input index out of range returns the number one, as Core does', () => {
    expect(toHex(sighashOf(tx, 5, script, 0x01))).toBe(one);
  });

  it('rejects undecodable transaction bytes with a ValidationError', () => {
    expect(() => legacySighash(fromHex('0100'), 0, script, 1)).toThrow(ValidationError);
  });

  it('serializes the scriptCode as Core does: separators removed where they parse as opcodes', () => {
    expect(scriptCodeHex('51ab52ab')).toBe('025152');
    // 0xab inside a push is data, not an opcode
    expect(scriptCodeHex('02abab51ab')).toBe('0402abab51');
    expect(scriptCodeHex('ab01ab')).toBe('0201ab');
    expect(scriptCodeHex('ab')).toBe('00');
    expect(scriptCodeHex('')).toBe('00');
  });

  it("a truncated push ends the bytes where Core's GetOp stopped, while the length counts the whole script", () => {
    // direct push of 5 with 1 byte left: GetOp stops after the opcode
    expect(scriptCodeHex('0501')).toBe('0205');
    // PUSHDATA1 without its length byte, and with a length but short data
    expect(scriptCodeHex('4c')).toBe('014c');
    expect(scriptCodeHex('4c0501')).toBe('034c05');
    // PUSHDATA2 with half a length field stops right after the opcode
    expect(scriptCodeHex('4d01')).toBe('024d');
    // a separator before the truncated push is removed and not counted
    expect(scriptCodeHex('ab05abab')).toBe('0305');
    expect(scriptCodeHex('51ab0100ab4c')).toBe('045101004c');
  });
});

describe('legacySighash: scriptCodes with separators and truncated pushes (independent port of Core)', () => {
  const { txs, cases } = loadVectors<{
    txs: Record<string, string>;
    cases: Array<{
      tx: string;
      script: string;
      about: string;
      scriptCode: string;
      inputIndex: number;
      hashType: number;
      sighash: string;
    }>;
  }>('sighash-script-code.json');

  it('covers every script with several hashtypes', () => {
    expect(new Set(cases.map((c) => c.script)).size).toBeGreaterThanOrEqual(15);
    expect(cases.length).toBeGreaterThanOrEqual(200);
  });

  it.each(cases.map((c) => [c.about, c.hashType, c.inputIndex, c] as const))(
    '%s, hashtype %i, input %i',
    (_about, _hashType, _input, c) => {
      expect(scriptCodeHex(c.script)).toBe(c.scriptCode);
      const digest = legacySighash(fromHex(txs[c.tx]!), c.inputIndex, fromHex(c.script), c.hashType);
      expect(toDisplayHex(digest)).toBe(c.sighash);
    },
  );
});

describe('P2PKH verification: real transactions', () => {
  it('verifies a real mainnet compressed-key P2PKH spend', () => {
    const prevScript = decodeTx(fromHex(p2pkh.prevTx)).outputs[0]!.scriptPubKey;
    expect(verifyP2pkhInput(fromHex(p2pkh.tx), 0, prevScript)).toBe(true);
  });

  it('fails against the wrong spent script, index or a tampered transaction', () => {
    const prev = decodeTx(fromHex(p2pkh.prevTx));
    const raw = fromHex(p2pkh.tx);
    expect(verifyP2pkhInput(raw, 0, prev.outputs[1]!.scriptPubKey)).toBe(false);
    expect(verifyP2pkhInput(raw, 1, prev.outputs[0]!.scriptPubKey)).toBe(false);
    const tampered = raw.slice();
    tampered[tampered.length - 10] = tampered[tampered.length - 10]! ^ 1; // inside an output script
    expect(verifyP2pkhInput(tampered, 0, prev.outputs[0]!.scriptPubKey)).toBe(false);
  });

  it('a real uncompressed-key spend verifies under Bitcoin rules, not under chainmesh rules', () => {
    // block 100000 tx 1 spends with a 65-byte key; the spent script is the P2PKH of that key
    const tx = decodeTx(fromHex(blocks.txs[1]!.hex));
    const { pubkey } = parseP2pkhScriptSig(tx.inputs[0]!.scriptSig)!;
    expect(pubkey.length).toBe(65);
    const script = p2pkhScript(hash160(pubkey));
    expect(verifyP2pkhInput(fromHex(blocks.txs[1]!.hex), 0, script)).toBe(true);
    expect(verifyTxInput(tx, 0, script)).toBe(false);
    // one changed byte anywhere in the signed data breaks it
    const tampered = fromHex(blocks.txs[1]!.hex);
    tampered[tampered.length - 5]! ^= 1;
    expect(verifyP2pkhInput(tampered, 0, script)).toBe(false);
  });

  it('real testnet compressed-key spends all verify under Bitcoin rules; chainmesh rules refuse the high-S ones', () => {
    const block = decodeBlock(fromHex(blocks.realTxSource.hex));
    let low = 0;
    let high = 0;
    for (const tx of block.txs.slice(1)) {
      const raw = encodeTx(tx);
      tx.inputs.forEach((input, i) => {
        const parts = parseP2pkhScriptSig(input.scriptSig);
        if (!parts || parts.pubkey.length !== 33) return;
        // For P2PKH the spent script is determined by the key it reveals.
        const prevScript = p2pkhScript(hash160(parts.pubkey));
        const compact = parseStrictDer(parts.sig.subarray(0, -1))!;
        expect(compact).toBeDefined();
        const digest = sighashOf(tx, i, prevScript, 1);
        const normalised = secp256k1.signatureNormalize(compact.slice());
        expect(secp256k1.ecdsaVerify(normalised, digest, parts.pubkey)).toBe(true);
        expect(verifyP2pkhInput(raw, i, prevScript)).toBe(true);
        expect(verifyTxInput(tx, i, prevScript)).toBe(isLowS(compact));
        if (isLowS(compact)) low++;
        else high++;
      });
    }
    expect(low).toBeGreaterThan(3);
    expect(high).toBeGreaterThan(0);
  });
});

describe('P2PKH signing and strict rules', () => {
  const priv = privateKeyFromSeed(new TextEncoder().encode('core-sighash test key'));
  const pub = publicKeyOf(priv);
  const script = p2pkhScript(hash160(pub));
  const unsigned: Transaction = {
    version: 1,
    inputs: [
      { prevTxid: fromHex('11'.repeat(32)), prevVout: 0, scriptSig: new Uint8Array(0), sequence: 0xffffffff },
      { prevTxid: fromHex('22'.repeat(32)), prevVout: 3, scriptSig: new Uint8Array(0), sequence: 0xffffffff },
    ],
    outputs: [{ value: 12345n, scriptPubKey: script }],
    locktime: 0,
  };
  const signed = signP2pkhInput(signP2pkhInput(unsigned, 0, script, priv), 1, script, priv);
  const raw = encodeTx(signed);

  function withScriptSig(scriptSig: Uint8Array): Uint8Array {
    const inputs = signed.inputs.slice();
    inputs[0] = { ...inputs[0]!, scriptSig };
    return encodeTx({ ...signed, inputs });
  }
  const parts = parseP2pkhScriptSig(signed.inputs[0]!.scriptSig)!;

  it('signs every input so that it verifies, without mutating the input transaction', () => {
    expect(unsigned.inputs[0]!.scriptSig.length).toBe(0);
    expect(verifyP2pkhInput(raw, 0, script)).toBe(true);
    expect(verifyP2pkhInput(raw, 1, script)).toBe(true);
    expect(() => verifyTxScripts(signed, [script, script])).not.toThrow();
    const der = parts.sig.subarray(0, -1);
    expect(isLowS(parseStrictDer(der)!)).toBe(true);
  });

  it('refuses to sign an output the key does not own', () => {
    const other = p2pkhScript(new Uint8Array(20));
    expect(() => signP2pkhInput(unsigned, 0, other, priv)).toThrow(ValidationError);
  });

  it('rejects a hashtype other than SIGHASH_ALL', () => {
    const sig = parts.sig.slice();
    sig[sig.length - 1] = 0x81;
    const s = new Uint8Array([sig.length, ...sig, 33, ...parts.pubkey]);
    expect(verifyP2pkhInput(withScriptSig(s), 0, script)).toBe(false);
  });

  it('rejects the high-S twin of a valid signature under chainmesh rules', () => {
    const compact = parseStrictDer(parts.sig.subarray(0, -1))!;
    // s' = n - s: same signature mathematically, the malleated form
    const n = BigInt('0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141');
    const s = BigInt('0x' + toHex(compact.subarray(32)));
    const highS = fromHex((n - s).toString(16).padStart(64, '0'));
    const twin = new Uint8Array(64);
    twin.set(compact.subarray(0, 32));
    twin.set(highS, 32);
    const der = secp256k1.signatureExport(twin);
    const sig = new Uint8Array([...der, 1]);
    const scriptSig = new Uint8Array([sig.length, ...sig, 33, ...parts.pubkey]);
    const check = prepareP2pkhInput(decodeTx(withScriptSig(scriptSig)), 0, script);
    expect(check).toBeInstanceOf(ValidationError);
    expect((check as ValidationError).code).toBe('bad-txns-sig-highs');
    expect(verifyTxInput(decodeTx(withScriptSig(scriptSig)), 0, script)).toBe(false);
    // Bitcoin accepts the malleated twin (low-S is policy there, not consensus).
    expect(verifyP2pkhInput(withScriptSig(scriptSig), 0, script)).toBe(true);
  });

  it('rejects non-strict DER (padded integer) and malformed scriptSigs', () => {
    const der = parts.sig.subarray(0, -1);
    // insert a superfluous 0x00 in front of r: valid BER, invalid under BIP66
    const lenR = der[3]!;
    const padded = new Uint8Array([0x30, der[1]! + 1, 0x02, lenR + 1, 0x00, ...der.subarray(4)]);
    const sig = new Uint8Array([...padded, 1]);
    const bad = new Uint8Array([sig.length, ...sig, 33, ...parts.pubkey]);
    const check = prepareP2pkhInput(decodeTx(withScriptSig(bad)), 0, script);
    expect((check as ValidationError).code).toBe('bad-txns-sig-der');
    for (const s of [
      new Uint8Array(0),
      signed.inputs[0]!.scriptSig.subarray(0, 10),
      new Uint8Array([...signed.inputs[0]!.scriptSig, 0x51]),
      new Uint8Array([0x4c, parts.sig.length, ...parts.sig, 33, ...parts.pubkey]), // PUSHDATA1 instead of a direct push
    ]) {
      expect(verifyP2pkhInput(withScriptSig(s), 0, script)).toBe(false);
    }
  });

  it('verifyTxScripts reports the failing reason', () => {
    const inputs = signed.inputs.slice();
    inputs[1] = { ...inputs[1]!, scriptSig: signed.inputs[0]!.scriptSig };
    const crossed = { ...signed, inputs };
    expect(() => verifyTxScripts(crossed, [script, script])).toThrow(
      expect.objectContaining({ code: 'bad-txns-script-verify-failed' }),
    );
    expect(() => verifyTxScripts(signed, [script, new Uint8Array([0x51])])).toThrow(
      expect.objectContaining({ code: 'bad-txns-nonstandard-script' }),
    );
  });

  it('never throws on arbitrary bytes', () => {
    for (let n = 0; n < raw.length; n += 3)
      expect(verifyP2pkhInput(raw.subarray(0, n), 0, script)).toBe(false);
    expect(verifyP2pkhInput(raw, -1, script)).toBe(false);
    expect(verifyP2pkhInput(raw, 0, new Uint8Array(0))).toBe(false);
  });
});

describe('verifyP2pkhInput under mutation (property)', () => {
  it('any byte change to a real signed spend makes it fail, and nothing throws', () => {
    const good = fromHex(p2pkh.tx);
    const script = decodeTx(fromHex(p2pkh.prevTx)).outputs[0]!.scriptPubKey;
    fc.assert(
      fc.property(fc.nat(good.length - 1), fc.integer({ min: 1, max: 255 }), (i, delta) => {
        const raw = good.slice();
        raw[i] = (raw[i]! + delta) & 0xff;
        expect(verifyP2pkhInput(raw, 0, script)).toBe(false);
      }),
      { numRuns: 1500 },
    );
  });
});
