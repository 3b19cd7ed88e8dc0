import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import {
  encodeAddress,
  fromHex,
  getNetwork,
  hash160,
  isNetworkName,
  isValidPrivateKey,
  publicKeyOf,
  toHex,
  type NetworkName,
  type NetworkParams,
} from '../core/index.js';
import { WalletError } from './errors.js';

/*
 * One JSON file per named wallet in the wallet directory, holding one
 * secp256k1 key and the network it belongs to:
 *
 *   { "format": 1, "network": "demo", "privateKey": "<64 hex>", "address": "C…" }
 *
 * The directory is 0700 and the files 0600, written with O_EXCL so an existing
 * wallet is never overwritten. The key is stored unencrypted: the protection
 * is the file mode, as for an ssh key without a passphrase.
 */
const FILE_FORMAT = 1;
const NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$/;
const SUFFIX = '.json';

export interface WalletKey {
  readonly name: string;
  readonly network: NetworkName;
  readonly params: NetworkParams;
  readonly privateKey: Uint8Array;
  readonly address: string;
  readonly file: string;
}

/** `$CHAINMESH_WALLET_DIR`, else ~/.chainmesh/wallets. */
export function defaultWalletDir(env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env.CHAINMESH_WALLET_DIR?.trim();
  return fromEnv ? fromEnv : join(homedir(), '.chainmesh', 'wallets');
}

export function checkWalletName(name: string): string {
  if (!NAME.test(name)) {
    throw new WalletError(
      'bad-wallet-name',
      `wallet name "${name.slice(0, 40)}" is not allowed: 1-32 letters, digits, "-" or "_", starting with a letter or digit`,
    );
  }
  return name;
}

export function addressOfKey(privateKey: Uint8Array, params: NetworkParams): string {
  return encodeAddress(hash160(publicKeyOf(privateKey)), params);
}

function fileOf(dir: string, name: string): string {
  return join(dir, `${name}${SUFFIX}`);
}

async function ensureDir(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    // mkdir's mode is filtered by the umask and leaves an existing directory alone.
    await chmod(dir, 0o700);
  } catch (err) {
    throw new WalletError(
      'bad-wallet-file',
      `wallet directory ${dir} cannot be created or made private: ${(err as Error).message}`,
    );
  }
}

/** Writes a key file for `name`; refuses to overwrite an existing wallet. */
export async function saveWallet(
  dir: string,
  name: string,
  network: NetworkName,
  privateKey: Uint8Array,
): Promise<WalletKey> {
  checkWalletName(name);
  if (!isValidPrivateKey(privateKey))
    throw new WalletError('bad-wallet-file', 'not a valid secp256k1 private key');
  const params = getNetwork(network);
  const address = addressOfKey(privateKey, params);
  await ensureDir(dir);
  const file = fileOf(dir, name);
  const body = `${JSON.stringify({ format: FILE_FORMAT, network, privateKey: toHex(privateKey), address }, null, 2)}\n`;
  try {
    await writeFile(file, body, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new WalletError('wallet-exists', `a wallet named "${name}" already exists (${file})`);
    }
    throw new WalletError('bad-wallet-file', `cannot write ${file}: ${(err as Error).message}`);
  }
  return { name, network, params, privateKey, address, file };
}

/** A fresh random key saved as wallet `name`. */
export async function createWallet(dir: string, name: string, network: NetworkName): Promise<WalletKey> {
  let key = randomBytes(32);
  while (!isValidPrivateKey(key)) key = randomBytes(32);
  return saveWallet(dir, name, network, new Uint8Array(key));
}

/** Names of the wallets in `dir`, sorted; none if the directory does not exist. */
export async function listWalletNames(dir: string): Promise<string[]> {
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new WalletError(
      'bad-wallet-file',
      `cannot read wallet directory ${dir}: ${(err as Error).message}`,
    );
  }
  return entries
    .filter((f) => f.endsWith(SUFFIX))
    .map((f) => f.slice(0, -SUFFIX.length))
    .filter((n) => NAME.test(n))
    .sort();
}

/** Reads and checks wallet `name`: file mode, format, key, network, and that the address matches the key. */
export async function loadWallet(dir: string, name: string): Promise<WalletKey> {
  checkWalletName(name);
  const file = fileOf(dir, name);
  let text: string;
  try {
    const info = await stat(file);
    if ((info.mode & 0o077) !== 0) {
      throw new WalletError(
        'bad-wallet-file',
        `${file} can be read by other users (mode ${(info.mode & 0o777).toString(8)}): run chmod 600 ${file}`,
      );
    }
    text = await readFile(file, 'utf8');
  } catch (err) {
    if (err instanceof WalletError) throw err;
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      const names = await listWalletNames(dir);
      throw new WalletError(
        'no-wallet',
        `no wallet named "${name}" in ${dir}` + (names.length > 0 ? ` (wallets: ${names.join(', ')})` : ''),
      );
    }
    throw new WalletError('bad-wallet-file', `cannot read ${file}: ${(err as Error).message}`);
  }
  const bad = (why: string) =>
    new WalletError('bad-wallet-file', `${file} is not a chainmesh wallet file: ${why}`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw bad('not JSON');
  }
  const { format, network, privateKey, address } = (parsed ?? {}) as Record<string, unknown>;
  if (format !== FILE_FORMAT) throw bad(`format ${String(format)}, expected ${FILE_FORMAT}`);
  if (typeof network !== 'string' || !isNetworkName(network)) throw bad('unknown network');
  if (typeof privateKey !== 'string' || !/^[0-9a-f]{64}$/.test(privateKey))
    throw bad('privateKey is not 64 hex');
  const key = fromHex(privateKey);
  if (!isValidPrivateKey(key)) throw bad('privateKey is not a valid secp256k1 key');
  const params = getNetwork(network);
  const derived = addressOfKey(key, params);
  if (address !== derived) throw bad(`address ${String(address)} is not the key's address ${derived}`);
  return { name, network, params, privateKey: key, address: derived, file };
}

/**
 * The wallet a command acts on: the one named, else the only one in the
 * directory, else an error naming the choices.
 */
export async function pickWallet(dir: string, name?: string): Promise<WalletKey> {
  if (name !== undefined) return loadWallet(dir, name);
  const names = await listWalletNames(dir);
  if (names.length === 1) return loadWallet(dir, names[0] as string);
  if (names.length === 0) {
    throw new WalletError('no-wallet', `no wallet in ${dir}: create one with "chainmesh wallet new"`);
  }
  throw new WalletError(
    'ambiguous-wallet',
    `${names.length} wallets in ${dir}: choose one with --name (${names.join(', ')})`,
  );
}
