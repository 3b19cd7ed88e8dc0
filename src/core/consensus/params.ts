import { headerHash, toDisplayHex, computeMerkleRoot, txHash, type Block } from '../primitives/index.js';
import { createCoinbaseTx } from './coinbase.js';
import { OP_RETURN, pushData } from '../script/index.js';

export type NetworkName = 'regtest' | 'demo';

export interface NetworkParams {
  readonly name: NetworkName;
  /** Base58Check version byte of P2PKH addresses. */
  readonly addressVersion: number;
  readonly genesis: Block;
  /** Display hex; doubles as the network id in every peer handshake. */
  readonly genesisHash: string;
  /** Easiest allowed target, also the genesis bits. */
  readonly powLimitBits: number;
  readonly targetSpacingSec: number;
  /** Blocks between difficulty adjustments. */
  readonly retargetInterval: number;
  readonly noRetarget: boolean;
  /** Confirmations before a coinbase output can be spent. */
  readonly coinbaseMaturity: number;
  readonly halvingInterval: number;
  readonly initialSubsidy: bigint;
  readonly maxBlockBytes: number;
  readonly maxFutureBlockTimeSec: number;
  /** Blocks in the median-time-past window (Bitcoin: 11). */
  readonly medianTimeSpan: number;
}

export const COIN = 100_000_000n;

/** 2025-11-25T00:00:00Z, shared by both genesis blocks. */
const GENESIS_TIME = 1764028800;

/**
 * A genesis block is fixed data: a coinbase whose scriptSig carries the BIP34
 * height 0 and a message, paying nothing to an OP_RETURN output, under a
 * header whose nonce was searched once at development time and is asserted
 * by the tests (hash, proof of work, merkle root).
 */
function makeGenesis(network: NetworkName, bits: number, nonce: number): Block {
  const message = new TextEncoder().encode(`chainmesh ${network} genesis 2025-11-25`);
  const coinbase = createCoinbaseTx(
    0,
    [{ value: 0n, scriptPubKey: Uint8Array.of(OP_RETURN, ...pushData(message)) }],
    message,
  );
  const header = {
    version: 1,
    prevHash: new Uint8Array(32),
    merkleRoot: computeMerkleRoot([txHash(coinbase)]).root,
    time: GENESIS_TIME,
    bits,
    nonce,
  };
  return { header, txs: [coinbase] };
}

function network(p: Omit<NetworkParams, 'genesis' | 'genesisHash'>, genesisNonce: number): NetworkParams {
  const genesis = makeGenesis(p.name, p.powLimitBits, genesisNonce);
  return Object.freeze({ ...p, genesis, genesisHash: toDisplayHex(headerHash(genesis.header)) });
}

const COMMON = {
  initialSubsidy: 50n * COIN,
  maxBlockBytes: 1_000_000,
  maxFutureBlockTimeSec: 7200,
  medianTimeSpan: 11,
} as const;

export const NETWORKS: Record<NetworkName, NetworkParams> = {
  // Tests: minimum difficulty (a block in a couple of hashes), no retarget, short maturity.
  regtest: network(
    {
      ...COMMON,
      name: 'regtest',
      addressVersion: 0x6f,
      powLimitBits: 0x207fffff,
      targetSpacingSec: 600,
      retargetInterval: 2016,
      noRetarget: true,
      coinbaseMaturity: 10,
      halvingInterval: 150,
    },
    1,
  ),
  // Clusters: ~4096 hashes per block at the limit, 10 s blocks, retarget every 20 blocks.
  demo: network(
    {
      ...COMMON,
      name: 'demo',
      addressVersion: 0x1c,
      powLimitBits: 0x1f0fffff,
      targetSpacingSec: 10,
      retargetInterval: 20,
      noRetarget: false,
      coinbaseMaturity: 10,
      halvingInterval: 210_000,
    },
    11331,
  ),
};

export function isNetworkName(name: string): name is NetworkName {
  return name === 'regtest' || name === 'demo';
}

/** Parameters of a network by name; throws RangeError for an unknown name. */
export function getNetwork(name: string): NetworkParams {
  if (!isNetworkName(name)) throw new RangeError(`unknown network "${name}" (expected regtest or demo)`);
  return NETWORKS[name];
}
