import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  addressToScript,
  base58Decode,
  base58Encode,
  decodeAddress,
  encodeAddress,
  scriptToAddress,
} from '../../src/core/consensus/address.js';
import { fromHex, toHex } from '../../src/core/primitives/bytes.js';
import { ValidationError } from '../../src/core/errors.js';
import { NETWORKS } from '../../src/core/consensus/params.js';
import { p2pkhScript } from '../../src/core/script/script.js';
import { loadVectors } from '../helpers/vectors.js';
import { codeOf } from '../helpers/errors.js';

interface Entry {
  address: string;
  hash160: string;
  version: number;
}
const v = loadVectors<{ p2pkh: Entry[]; p2sh: Entry[] }>('addresses.json');

describe('addresses: Bitcoin Core base58 vectors', () => {
  it.each(v.p2pkh.map((e) => [e.address, e] as const))('%s', (_a, e) => {
    const net = { addressVersion: e.version };
    expect(encodeAddress(fromHex(e.hash160), net)).toBe(e.address);
    expect(toHex(decodeAddress(e.address, net))).toBe(e.hash160);
    expect(toHex(addressToScript(e.address, net))).toBe(toHex(p2pkhScript(fromHex(e.hash160))));
    expect(scriptToAddress(p2pkhScript(fromHex(e.hash160)), net)).toBe(e.address);
  });

  it('testnet P2PKH addresses are regtest addresses (version 0x6f)', () => {
    const t = v.p2pkh.find((e) => e.version === 0x6f)!;
    expect(toHex(decodeAddress(t.address, NETWORKS.regtest))).toBe(t.hash160);
  });

  it('rejects another network or version with bad-address-network', () => {
    const main = v.p2pkh.find((e) => e.version === 0)!;
    expect(codeOf(() => decodeAddress(main.address, NETWORKS.regtest))).toBe('bad-address-network');
    expect(codeOf(() => decodeAddress(main.address, NETWORKS.demo))).toBe('bad-address-network');
    for (const e of v.p2sh)
      expect(codeOf(() => decodeAddress(e.address, NETWORKS.regtest))).toBe('bad-address-network');
  });

  it('rejects a corrupted checksum, bad characters and wrong lengths', () => {
    const a = v.p2pkh[0]!.address;
    const last = a[a.length - 1] === 'i' ? 'j' : 'i';
    expect(codeOf(() => decodeAddress(a.slice(0, -1) + last, { addressVersion: 0 }))).toBe(
      'bad-address-checksum',
    );
    expect(codeOf(() => decodeAddress(a.replace('A', '0'), { addressVersion: 0 }))).toBe('bad-address');
    expect(codeOf(() => decodeAddress('', { addressVersion: 0 }))).toBe('bad-address');
    expect(codeOf(() => decodeAddress('1'.repeat(200), { addressVersion: 0 }))).toBe('bad-address');
  });

  it('demo addresses round-trip and differ from regtest ones', () => {
    const h = fromHex('00'.repeat(19) + '01');
    const demo = encodeAddress(h, NETWORKS.demo);
    expect(toHex(decodeAddress(demo, NETWORKS.demo))).toBe(toHex(h));
    expect(demo).not.toBe(encodeAddress(h, NETWORKS.regtest));
    expect(scriptToAddress(Uint8Array.of(0x51), NETWORKS.demo)).toBeUndefined();
  });

  it('base58 round-trips bytes including leading zeros (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), (b) => {
        expect(toHex(base58Decode(base58Encode(b)))).toBe(toHex(b));
      }),
    );
  });

  it('arbitrary strings only ever throw ValidationError (property)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 60 }), (s) => {
        try {
          decodeAddress(s, NETWORKS.regtest);
        } catch (err) {
          expect(err).toBeInstanceOf(ValidationError);
        }
      }),
    );
  });
});
