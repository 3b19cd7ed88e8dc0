/*
 * Script support is deliberately tiny: pay-to-public-key-hash is the only
 * spendable template. Outputs may also carry data behind OP_RETURN (provably
 * unspendable, value 0), which the genesis blocks use for their message.
 */

export const OP_0 = 0x00;
export const OP_PUSHDATA1 = 0x4c;
export const OP_PUSHDATA2 = 0x4d;
export const OP_PUSHDATA4 = 0x4e;
export const OP_1 = 0x51;
export const OP_16 = 0x60;
export const OP_RETURN = 0x6a;
export const OP_DUP = 0x76;
export const OP_EQUALVERIFY = 0x88;
export const OP_HASH160 = 0xa9;
export const OP_CODESEPARATOR = 0xab;
export const OP_CHECKSIG = 0xac;

export const P2PKH_SCRIPT_BYTES = 25;

/** OP_DUP OP_HASH160 <20 bytes> OP_EQUALVERIFY OP_CHECKSIG */
export function p2pkhScript(hash160: Uint8Array): Uint8Array {
  if (hash160.length !== 20) throw new RangeError('hash160 must be 20 bytes');
  const s = new Uint8Array(P2PKH_SCRIPT_BYTES);
  s[0] = OP_DUP;
  s[1] = OP_HASH160;
  s[2] = 20;
  s.set(hash160, 3);
  s[23] = OP_EQUALVERIFY;
  s[24] = OP_CHECKSIG;
  return s;
}

/** The key hash of a P2PKH script, or undefined for any other script. */
export function p2pkhHash(script: Uint8Array): Uint8Array | undefined {
  if (
    script.length !== P2PKH_SCRIPT_BYTES ||
    script[0] !== OP_DUP ||
    script[1] !== OP_HASH160 ||
    script[2] !== 20 ||
    script[23] !== OP_EQUALVERIFY ||
    script[24] !== OP_CHECKSIG
  ) {
    return undefined;
  }
  return script.slice(3, 23);
}

/** OP_RETURN followed only by pushes: provably unspendable data carrier. */
export function isNullData(script: Uint8Array): boolean {
  if (script.length === 0 || script[0] !== OP_RETURN) return false;
  const ops = parseOps(script.subarray(1));
  return ops !== undefined && ops.every((op) => op.data !== undefined || op.opcode === OP_0);
}

/** Scripts an output may carry: P2PKH, or a zero-value OP_RETURN data output (checked with the value). */
export function isStandardOutput(script: Uint8Array, value: bigint): boolean {
  return p2pkhHash(script) !== undefined || (value === 0n && isNullData(script));
}

export interface ScriptOp {
  readonly opcode: number;
  /** Pushed bytes for push opcodes (including OP_PUSHDATA1/2/4), a view into the script. */
  readonly data?: Uint8Array;
  /** Offset just after this op. */
  readonly end: number;
}

/** Splits a script into ops like Bitcoin's GetOp; undefined if a push runs past the end. */
export function parseOps(script: Uint8Array): ScriptOp[] | undefined {
  const ops: ScriptOp[] = [];
  let pc = 0;
  while (pc < script.length) {
    const op = nextOp(script, pc);
    if (!op) return undefined;
    ops.push(op);
    pc = op.end;
  }
  return ops;
}

/**
 * Bitcoin's GetScriptOp: reads the op at `pc`, failing at the end of the
 * script or on a push that runs past it. A failed push reports `end` where
 * Core leaves its iterator: after the opcode and after a complete PUSHDATA
 * length field, before the missing data. Legacy sighash depends on that
 * position (see sighash.ts writeScriptCode).
 */
export function readOp(
  script: Uint8Array,
  pc: number,
): ScriptOp | { readonly truncated: true; readonly end: number } {
  const opcode = script[pc];
  if (opcode === undefined) return { truncated: true, end: pc };
  let p = pc + 1;
  if (opcode > OP_PUSHDATA4) return { opcode, end: p };
  let size: number;
  if (opcode < OP_PUSHDATA1) {
    size = opcode;
  } else {
    const width = opcode === OP_PUSHDATA1 ? 1 : opcode === OP_PUSHDATA2 ? 2 : 4;
    if (p + width > script.length) return { truncated: true, end: p };
    size = 0;
    for (let i = width - 1; i >= 0; i--) size = size * 256 + (script[p + i] as number);
    p += width;
  }
  if (size > script.length - p) return { truncated: true, end: p };
  return { opcode, data: script.subarray(p, p + size), end: p + size };
}

/** One op at `pc`, or undefined if the script is truncated there. */
export function nextOp(script: Uint8Array, pc: number): ScriptOp | undefined {
  const op = readOp(script, pc);
  return 'truncated' in op ? undefined : op;
}

/** Minimal CScriptNum encoding (little-endian, sign bit in the top byte). */
export function encodeScriptNum(n: number): Uint8Array {
  if (!Number.isSafeInteger(n)) throw new RangeError('script number must be a safe integer');
  if (n === 0) return new Uint8Array(0);
  const out: number[] = [];
  const neg = n < 0;
  let abs = Math.abs(n);
  while (abs > 0) {
    out.push(abs & 0xff);
    abs = Math.floor(abs / 256);
  }
  const last = out[out.length - 1] as number;
  if (last & 0x80) out.push(neg ? 0x80 : 0);
  else if (neg) out[out.length - 1] = last | 0x80;
  return Uint8Array.from(out);
}

/** Decodes a minimally encoded CScriptNum of at most `maxBytes`; undefined otherwise. */
export function decodeScriptNum(b: Uint8Array, maxBytes = 6): number | undefined {
  if (b.length > maxBytes) return undefined;
  if (b.length === 0) return 0;
  const top = b[b.length - 1] as number;
  // Minimality: a 0x00/0x80 top byte is only allowed when the byte below needs its high bit.
  if ((top & 0x7f) === 0 && (b.length === 1 || ((b[b.length - 2] as number) & 0x80) === 0)) return undefined;
  let n = top & 0x7f;
  for (let i = b.length - 2; i >= 0; i--) n = n * 256 + (b[i] as number);
  return top & 0x80 ? -n : n;
}

/** Pushes `data` with the smallest opcode, as Bitcoin's CScript << vector does. */
export function pushData(data: Uint8Array): Uint8Array {
  const n = data.length;
  const head =
    n < OP_PUSHDATA1
      ? [n]
      : n <= 0xff
        ? [OP_PUSHDATA1, n]
        : n <= 0xffff
          ? [OP_PUSHDATA2, n & 0xff, n >> 8]
          : [OP_PUSHDATA4, n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff, n >>> 24];
  const out = new Uint8Array(head.length + n);
  out.set(head);
  out.set(data, head.length);
  return out;
}

/** Bitcoin's CScript << int64: OP_0, OP_1..OP_16 as opcodes, other values as minimal number pushes. */
export function pushInt(n: number): Uint8Array {
  if (n === 0) return Uint8Array.of(OP_0);
  if (n === -1 || (n >= 1 && n <= 16)) return Uint8Array.of(OP_1 + n - 1);
  return pushData(encodeScriptNum(n));
}

/** `<sig+hashtype> <pubkey>` as two direct pushes. */
export function p2pkhScriptSig(sigWithHashType: Uint8Array, pubkey: Uint8Array): Uint8Array {
  if (sigWithHashType.length >= OP_PUSHDATA1 || pubkey.length >= OP_PUSHDATA1) {
    throw new RangeError('signature and public key must fit direct pushes');
  }
  const out = new Uint8Array(2 + sigWithHashType.length + pubkey.length);
  out[0] = sigWithHashType.length;
  out.set(sigWithHashType, 1);
  out[1 + sigWithHashType.length] = pubkey.length;
  out.set(pubkey, 2 + sigWithHashType.length);
  return out;
}

/**
 * Splits a P2PKH scriptSig into its signature (with hashtype byte) and public
 * key: exactly two direct pushes and nothing else; undefined otherwise.
 */
export function parseP2pkhScriptSig(
  scriptSig: Uint8Array,
): { sig: Uint8Array; pubkey: Uint8Array } | undefined {
  const sigLen = scriptSig[0];
  if (sigLen === undefined || sigLen === 0 || sigLen >= OP_PUSHDATA1) return undefined;
  const keyLen = scriptSig[1 + sigLen];
  if (keyLen === undefined || keyLen === 0 || keyLen >= OP_PUSHDATA1) return undefined;
  if (2 + sigLen + keyLen !== scriptSig.length) return undefined;
  return { sig: scriptSig.subarray(1, 1 + sigLen), pubkey: scriptSig.subarray(2 + sigLen) };
}
