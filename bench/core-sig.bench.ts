/**
 * secp256k1 signature verifications per second: the `secp256k1` package
 * (libsecp256k1) through core/keys.ts, as script validation calls it, against
 * node:crypto (OpenSSL, no fast secp256k1 path) with pre-parsed key objects.
 */
import crypto from 'node:crypto';
import {
  parseStrictDer,
  privateKeyFromSeed,
  publicKeyOf,
  signDigest,
  verifyCompact,
  verifyDigest,
} from '../src/core/crypto/keys.js';
import { bestOpsPerSecond, report, round } from './lib.js';

const WINDOWS = 3;
const WINDOW_MS = 1000;
const N = 64;

function libsecp256k1Rates(): { der: number; compact: number } {
  const cases = Array.from({ length: N }, (_, i) => {
    const priv = privateKeyFromSeed(new TextEncoder().encode(`sig bench ${i}`));
    const digest = new Uint8Array(crypto.createHash('sha256').update(`message ${i}`).digest());
    const der = signDigest(digest, priv);
    return { digest, der, compact: parseStrictDer(der) as Uint8Array, pub: publicKeyOf(priv) };
  });
  if (!cases.every((c) => verifyDigest(c.digest, c.der, c.pub)))
    throw new Error('keys.verifyDigest rejects valid signatures');
  let ok = 0;
  const der = bestOpsPerSecond(
    () => {
      for (const c of cases) if (verifyDigest(c.digest, c.der, c.pub)) ok++;
    },
    N,
    WINDOWS,
    WINDOW_MS,
  );
  const compact = bestOpsPerSecond(
    () => {
      for (const c of cases) if (verifyCompact(c.digest, c.compact, c.pub)) ok++;
    },
    N,
    WINDOWS,
    WINDOW_MS,
  );
  if (ok === 0) throw new Error('no signature verified');
  return { der, compact };
}

function nodeCryptoRate(): number {
  const cases = Array.from({ length: N }, (_, i) => {
    const { privateKey, publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'secp256k1' });
    const message = Buffer.from(`message ${i}`);
    return { message, publicKey, sig: crypto.sign('sha256', message, privateKey) };
  });
  let ok = 0;
  const rate = bestOpsPerSecond(
    () => {
      for (const c of cases) if (crypto.verify('sha256', c.message, c.publicKey, c.sig)) ok++;
    },
    N,
    WINDOWS,
    WINDOW_MS,
  );
  if (ok === 0) throw new Error('node:crypto verified nothing');
  return rate;
}

const lib = libsecp256k1Rates();
report('secp256k1 (libsecp256k1) verify, strict DER via keys.verifyDigest', lib.der, 'verifies/s', {
  note: `best of ${WINDOWS} × ${WINDOW_MS / 1000} s`,
});
report('secp256k1 (libsecp256k1) verify, pre-parsed compact signature', lib.compact, 'verifies/s', {
  note: `best of ${WINDOWS} × ${WINDOW_MS / 1000} s`,
});
const node = nodeCryptoRate();
report('node:crypto secp256k1 verify (KeyObject cached)', node, 'verifies/s', {
  note: `best of ${WINDOWS} × ${WINDOW_MS / 1000} s`,
});
report('libsecp256k1 / node:crypto', round(lib.der / node, 2), '×');
