import { describe, expect, it } from 'vitest';
import { base58Encode, encodeAddress, getNetwork, sha256d } from '../../src/core/index.js';
import { addressExample, parseAddress, WalletError } from '../../src/wallet/index.js';

const demo = getNetwork('demo');
const regtest = getNetwork('regtest');
const hash = Uint8Array.from({ length: 20 }, (_, i) => i * 7);
const demoAddress = encodeAddress(hash, demo);

function failure(text: string): WalletError {
  try {
    parseAddress(text, demo);
  } catch (err) {
    if (err instanceof WalletError) return err;
    throw err;
  }
  throw new Error(`${text} was accepted`);
}

describe('parseAddress', () => {
  it('returns the hash160 of a valid address of the network', () => {
    expect(parseAddress(demoAddress, demo)).toEqual(hash);
    expect(parseAddress(` ${demoAddress}\n`, demo)).toEqual(hash);
  });

  it('says what a valid address looks like', () => {
    expect(addressExample(demo)).toMatch(/^a demo address is 34 Base58 characters starting with "C"/);
    expect(addressExample(regtest)).toMatch(/starting with "m" or "n"/);
  });

  it('names the check that failed, with a valid example, for each kind of bad address', () => {
    const mistyped = demoAddress.slice(0, 10) + (demoAddress[10] === 'a' ? 'b' : 'a') + demoAddress.slice(11);
    const cases: Array<[string, string, RegExp]> = [
      ['', 'bad-address', /it is empty/],
      ['Cabc', 'bad-address', /it has 4 characters/],
      [demoAddress.replace(/.$/, '0'), 'bad-address', /"0" is not a Base58 character/],
      [mistyped, 'bad-address', /its checksum does not match/],
      [encodeAddress(hash, regtest), 'wrong-network', /it is a regtest address/],
      [
        base58Encode(withChecksum(Uint8Array.of(0x00, ...hash))),
        'wrong-network',
        /version byte 0x00 belongs to no/,
      ],
      [base58Encode(withChecksum(Uint8Array.of(demo.addressVersion, ...hash, 1))), 'bad-address', /26 bytes/],
    ];
    for (const [text, code, why] of cases) {
      const err = failure(text);
      expect(err.code, text).toBe(code);
      expect(err.message, text).toMatch(why);
      expect(err.message, text).toMatch(/a demo address is 34 Base58 characters/);
    }
  });
});

function withChecksum(payload: Uint8Array): Uint8Array {
  return Uint8Array.of(...payload, ...sha256d(payload).subarray(0, 4));
}
