/**
 * Test helper: deterministic keys, regtest blocks mined on the spot (BIP34
 * coinbase paying to a key), signed P2PKH spends and forks. Blocks are built
 * without a Chain, from a parent's header and height, so tests can hand them to
 * a Chain in any order, build invalid ones on purpose, or extend a Chain's tip.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { headerHash } from '../../src/core/primitives/block.js';
import { blockSubsidy, createCoinbaseTx } from '../../src/core/consensus/coinbase.js';
import { hash160, sha256 } from '../../src/core/crypto/hash.js';
import { publicKeyOf } from '../../src/core/crypto/keys.js';
import { computeMerkleRoot } from '../../src/core/primitives/merkle.js';
import type { NetworkParams } from '../../src/core/consensus/params.js';
import { hashMeetsTarget } from '../../src/core/consensus/pow.js';
import { p2pkhScript } from '../../src/core/script/script.js';
import { signP2pkhInput } from '../../src/core/script/sighash.js';
import { txHash } from '../../src/core/primitives/tx.js';
import { toDisplayHex } from '../../src/core/primitives/bytes.js';
import type { Block, BlockHeader, Transaction, TxOutput } from '../../src/core/primitives/types.js';

export interface TestKey {
  readonly priv: Uint8Array;
  readonly pub: Uint8Array;
  readonly hash160: Uint8Array;
  /** P2PKH scriptPubKey paying to this key. */
  readonly script: Uint8Array;
}

const keyCache = new Map<number, TestKey>();

/** The same key for the same number, in every test and process. */
export function testKey(n: number): TestKey {
  let key = keyCache.get(n);
  if (!key) {
    const priv = sha256(new TextEncoder().encode(`chainmesh-test-key-${n}`));
    const pub = publicKeyOf(priv);
    const h = hash160(pub);
    key = { priv, pub, hash160: h, script: p2pkhScript(h) };
    keyCache.set(n, key);
  }
  return key;
}

/** A block together with where the builder put it. */
export interface TestBlock extends Block {
  readonly hash: string;
  readonly height: number;
}

/** Anything with a header and a height can be built on: a TestBlock, a Chain's BlockIndexEntry. */
export interface ParentRef {
  readonly header: BlockHeader;
  readonly height: number;
}

export interface BlockOptions {
  /** Transactions after the coinbase. */
  txs?: Transaction[];
  /** Coinbase scriptPubKey; default testKey(0). */
  payTo?: Uint8Array;
  /** Fees the coinbase may claim on top of the subsidy (default 0: fees are burnt, which is valid). */
  fees?: bigint;
  /** Exact coinbase value (overrides subsidy + fees), e.g. to test inflation. */
  coinbaseValue?: bigint;
  /** Height written into the coinbase (BIP34); default the real height. */
  coinbaseHeight?: number;
  /** Header time; default parent time + the builder's spacing. */
  time?: number;
  /** Header bits; default the network's pow limit. */
  bits?: number;
  /** Distinguishes otherwise identical blocks (forks from the same parent). */
  tag?: number;
  /** Grind a nonce whose hash does NOT meet the target. */
  badPow?: boolean;
  /** Replace the merkle root after mining the real one (the header is re-mined). */
  merkleRoot?: Uint8Array;
}

export class ChainBuilder {
  readonly genesis: TestBlock;

  /** `spacing`: seconds between consecutive block times (small keeps long chains in the past). */
  constructor(
    readonly params: NetworkParams,
    private readonly spacing = 1,
  ) {
    this.genesis = { ...params.genesis, hash: params.genesisHash, height: 0 };
  }

  block(parent: ParentRef, opts: BlockOptions = {}): TestBlock {
    const height = parent.height + 1;
    const payTo = opts.payTo ?? testKey(0).script;
    const value = opts.coinbaseValue ?? blockSubsidy(height, this.params) + (opts.fees ?? 0n);
    const extra = opts.tag === undefined ? undefined : new TextEncoder().encode(`tag${opts.tag}`);
    const coinbase = createCoinbaseTx(opts.coinbaseHeight ?? height, [{ value, scriptPubKey: payTo }], extra);
    const txs = [coinbase, ...(opts.txs ?? [])];
    const merkleRoot = opts.merkleRoot ?? computeMerkleRoot(txs.map(txHash)).root;
    const header = mine(
      {
        version: 1,
        prevHash: headerHash(parent.header),
        merkleRoot,
        time: opts.time ?? parent.header.time + this.spacing,
        bits: opts.bits ?? this.params.powLimitBits,
        nonce: 0,
      },
      opts.badPow ?? false,
    );
    return { header, txs, hash: toDisplayHex(headerHash(header)), height };
  }

  /** `count` blocks, each on the previous one, starting on `parent`. */
  chain(parent: ParentRef, count: number, opts: BlockOptions = {}): TestBlock[] {
    const out: TestBlock[] = [];
    let prev = parent;
    for (let i = 0; i < count; i++) {
      const b = this.block(prev, opts);
      out.push(b);
      prev = b;
    }
    return out;
  }
}

/** Grinds the nonce (regtest targets need about two tries). */
export function mine(header: BlockHeader, wantInvalid = false): BlockHeader {
  for (let nonce = header.nonce; ; nonce++) {
    const h: BlockHeader = { ...header, nonce };
    if (hashMeetsTarget(headerHash(h), h.bits) !== wantInvalid) return h;
  }
}

export interface SpendInput {
  /** Internal byte order. */
  readonly txid: Uint8Array;
  readonly vout: number;
  readonly scriptPubKey: Uint8Array;
  readonly key: TestKey;
}

/** A transaction spending `inputs` (each signed with its key) to `outputs`. */
export function spendTx(inputs: readonly SpendInput[], outputs: readonly TxOutput[]): Transaction {
  let tx: Transaction = {
    version: 1,
    inputs: inputs.map((i) => ({
      prevTxid: i.txid,
      prevVout: i.vout,
      scriptSig: new Uint8Array(0),
      sequence: 0xffffffff,
    })),
    outputs,
    locktime: 0,
  };
  inputs.forEach((input, n) => {
    tx = signP2pkhInput(tx, n, input.scriptPubKey, input.key.priv);
  });
  return tx;
}

/** Output 0 of a block's coinbase as a spendable input for `key`. */
export function coinbaseInput(block: Block, key: TestKey = testKey(0)): SpendInput & { value: bigint } {
  const cb = block.txs[0] as Transaction;
  const out = cb.outputs[0] as TxOutput;
  return { txid: txHash(cb), vout: 0, scriptPubKey: out.scriptPubKey, key, value: out.value };
}

/** Output `vout` of `tx` as a spendable input for `key`. */
export function outputInput(tx: Transaction, vout: number, key: TestKey): SpendInput & { value: bigint } {
  const out = tx.outputs[vout] as TxOutput;
  return { txid: txHash(tx), vout, scriptPubKey: out.scriptPubKey, key, value: out.value };
}

export function payTo(key: TestKey, value: bigint): TxOutput {
  return { value, scriptPubKey: key.script };
}

/**
 * A field-by-field copy of a transaction: a new object with new byte arrays,
 * so no serialization or hash memoized for the original (decodeTx keeps the
 * bytes it read) comes along, and encodeTx must run the encoder.
 */
export function rebuildTx(tx: Transaction): Transaction {
  return {
    version: tx.version,
    inputs: tx.inputs.map((i) => ({
      prevTxid: i.prevTxid.slice(),
      prevVout: i.prevVout,
      scriptSig: i.scriptSig.slice(),
      sequence: i.sequence,
    })),
    outputs: tx.outputs.map((o) => ({ value: o.value, scriptPubKey: o.scriptPubKey.slice() })),
    locktime: tx.locktime,
  };
}

/** rebuildTx for a block: a new header and rebuilt transactions, nothing memoized. */
export function rebuildBlock(block: Block): Block {
  const h = block.header;
  return {
    header: {
      version: h.version,
      prevHash: h.prevHash.slice(),
      merkleRoot: h.merkleRoot.slice(),
      time: h.time,
      bits: h.bits,
      nonce: h.nonce,
    },
    txs: block.txs.map(rebuildTx),
  };
}

/** A fresh temporary data directory; remove it with `rm(dir, { recursive: true, force: true })`. */
export function tempDataDir(prefix = 'chainmesh-chain-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}
