import {
  base58Decode,
  encodeAddress,
  isNetworkName,
  NETWORKS,
  sha256d,
  type NetworkParams,
} from '../core/index.js';
import { WalletError } from './errors.js';

const BASE58 = /^[1-9A-HJ-NP-Za-km-z]*$/;
const ADDRESS_BYTES = 25;

/** What a valid address of this network looks like, for error messages. */
export function addressExample(params: NetworkParams): string {
  const first = encodeAddress(new Uint8Array(20), params)[0];
  const last = encodeAddress(new Uint8Array(20).fill(0xff), params)[0];
  const starts = first === last ? `"${first}"` : `"${first}" or "${last}"`;
  return `a ${params.name} address is 34 Base58 characters starting with ${starts}, e.g. ${encodeAddress(new Uint8Array(20), params)}`;
}

function networkOfVersion(version: number): string | undefined {
  for (const [name, p] of Object.entries(NETWORKS)) if (p.addressVersion === version) return name;
  return undefined;
}

/**
 * The hash160 a P2PKH address of `params`' network pays to. Each check has its
 * own message (length, alphabet, checksum, network), ending with what a valid
 * address looks like, so a mistyped address is told apart from one of another network.
 */
export function parseAddress(text: string, params: NetworkParams): Uint8Array {
  const address = text.trim();
  const fail = (code: 'bad-address' | 'wrong-network', why: string): WalletError =>
    new WalletError(
      code,
      `"${address.slice(0, 64)}" is not a ${params.name} address: ${why}; ${addressExample(params)}`,
    );
  if (address.length === 0) throw fail('bad-address', 'it is empty');
  if (address.length < 26 || address.length > 35)
    throw fail('bad-address', `it has ${address.length} characters (a P2PKH address has 26-35)`);
  if (!BASE58.test(address)) {
    const bad = [...address].find((c) => !BASE58.test(c)) as string;
    throw fail('bad-address', `"${bad}" is not a Base58 character (0, O, I and l are not used)`);
  }
  const raw = base58Decode(address);
  if (raw.length !== ADDRESS_BYTES)
    throw fail('bad-address', `it decodes to ${raw.length} bytes, not ${ADDRESS_BYTES}`);
  const payload = raw.subarray(0, 21);
  const checksum = sha256d(payload).subarray(0, 4);
  if (!checksum.every((b, i) => b === raw[21 + i]))
    throw fail('bad-address', 'its checksum does not match (a character is mistyped or missing)');
  const version = payload[0] as number;
  if (version !== params.addressVersion) {
    const other = networkOfVersion(version);
    throw fail(
      'wrong-network',
      other && isNetworkName(other)
        ? `it is a ${other} address`
        : `its version byte 0x${version.toString(16).padStart(2, '0')} belongs to no chainmesh network`,
    );
  }
  return payload.slice(1);
}
