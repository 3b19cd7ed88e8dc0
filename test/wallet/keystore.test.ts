import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { getNetwork, toHex } from '../../src/core/index.js';
import {
  addressOfKey,
  createWallet,
  defaultWalletDir,
  demoWallets,
  DEMO_WALLET_NAMES,
  listWalletNames,
  loadWallet,
  pickWallet,
  saveWallet,
  WalletError,
} from '../../src/wallet/index.js';
import { cleanup, tempDir } from '../helpers/processes.js';

const root = tempDir('chainmesh-keystore-');
afterAll(() => cleanup(root));
let n = 0;
const freshDir = () => join(root, `w${n++}`, 'wallets');

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    if (err instanceof WalletError) return err.code;
    throw err;
  }
  return 'ok';
}

describe('keystore', () => {
  it('defaults to $CHAINMESH_WALLET_DIR, else ~/.chainmesh/wallets', () => {
    expect(defaultWalletDir({ CHAINMESH_WALLET_DIR: '/x/y' })).toBe('/x/y');
    expect(defaultWalletDir({ HOME: '/home/u' })).toMatch(/\.chainmesh\/wallets$/);
  });

  it('writes a 0600 key file in a 0700 directory, holding the key and its network', async () => {
    const dir = freshDir();
    const w = await createWallet(dir, 'main', 'demo');
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(w.file).mode & 0o777).toBe(0o600);
    const body = JSON.parse(readFileSync(w.file, 'utf8')) as Record<string, unknown>;
    expect(body).toEqual({ format: 1, network: 'demo', privateKey: toHex(w.privateKey), address: w.address });
    expect(w.address).toBe(addressOfKey(w.privateKey, getNetwork('demo')));
    const loaded = await loadWallet(dir, 'main');
    expect(loaded.address).toBe(w.address);
    expect(loaded.privateKey).toEqual(w.privateKey);
    expect(loaded.params.name).toBe('demo');
  });

  it('makes an existing, too-open directory private', async () => {
    const dir = freshDir();
    mkdirSync(dir, { recursive: true, mode: 0o755 });
    chmodSync(dir, 0o755);
    await createWallet(dir, 'a', 'regtest');
    expect(statSync(dir).mode & 0o777).toBe(0o700);
  });

  it('never overwrites a wallet and refuses unsafe names', async () => {
    const dir = freshDir();
    const first = await createWallet(dir, 'main', 'regtest');
    expect(await codeOf(createWallet(dir, 'main', 'regtest'))).toBe('wallet-exists');
    expect((await loadWallet(dir, 'main')).address).toBe(first.address);
    for (const name of ['', '../x', 'a/b', '.hidden', 'x'.repeat(33), 'sp ace'])
      expect(await codeOf(createWallet(dir, name, 'regtest'))).toBe('bad-wallet-name');
  });

  it('picks the only wallet, or the named one, or names the choices', async () => {
    const dir = freshDir();
    expect(await listWalletNames(dir)).toEqual([]);
    await expect(pickWallet(dir)).rejects.toThrow(/no wallet in .*: create one with "chainmesh wallet new"/);
    const a = await createWallet(dir, 'alpha', 'regtest');
    expect((await pickWallet(dir)).address).toBe(a.address);
    await createWallet(dir, 'beta', 'regtest');
    expect(await listWalletNames(dir)).toEqual(['alpha', 'beta']);
    await expect(pickWallet(dir)).rejects.toThrow(/2 wallets in .*: choose one with --name \(alpha, beta\)/);
    expect(await codeOf(pickWallet(dir))).toBe('ambiguous-wallet');
    expect((await pickWallet(dir, 'beta')).name).toBe('beta');
    await expect(pickWallet(dir, 'gamma')).rejects.toThrow(
      /no wallet named "gamma" .*\(wallets: alpha, beta\)/,
    );
  });

  it('refuses a key file other users can read, and files that are not wallets', async () => {
    const dir = freshDir();
    const w = await createWallet(dir, 'open', 'regtest');
    chmodSync(w.file, 0o644);
    await expect(loadWallet(dir, 'open')).rejects.toThrow(
      /can be read by other users \(mode 644\): run chmod 600/,
    );
    const write = (name: string, body: string) =>
      writeFileSync(join(dir, `${name}.json`), body, { mode: 0o600 });
    const key = toHex(w.privateKey);
    write('notjson', '{');
    write('format', JSON.stringify({ format: 2, network: 'demo', privateKey: key, address: w.address }));
    write('net', JSON.stringify({ format: 1, network: 'mainnet', privateKey: key, address: w.address }));
    write(
      'key',
      JSON.stringify({ format: 1, network: 'demo', privateKey: '00'.repeat(32), address: w.address }),
    );
    write('addr', JSON.stringify({ format: 1, network: 'demo', privateKey: key, address: w.address }));
    for (const [name, why] of [
      ['notjson', /not JSON/],
      ['format', /format 2/],
      ['net', /unknown network/],
      ['key', /not a valid secp256k1 key/],
      ['addr', /is not the key's address/],
    ] as const) {
      await expect(loadWallet(dir, name)).rejects.toThrow(why);
      expect(await codeOf(loadWallet(dir, name))).toBe('bad-wallet-file');
    }
  });

  it('saves a given key (the demo wallets) under its name', async () => {
    const dir = freshDir();
    for (const demo of demoWallets()) await saveWallet(dir, demo.name, 'demo', demo.privateKey);
    expect(await listWalletNames(dir)).toEqual([...DEMO_WALLET_NAMES]);
    expect((await loadWallet(dir, 'demo-bob')).address).toBe(demoWallets()[1]?.address);
  });
});

describe('demo wallets', () => {
  it('are fixed, public, distinct demo-network keys', () => {
    const wallets = demoWallets();
    expect(wallets.map((w) => w.address)).toEqual([
      'CRBjS7Y9s3JkSV4NSGBDSkEwDZ34SXQDig',
      'CYqKqu3Hg1PxdhrqvARjeUzi8Zd2bwp73y',
      'CSW9VGoqyfZUFEYULZTJZNK6GV5KDN5mnA',
    ]);
    expect(new Set(wallets.map((w) => toHex(w.privateKey))).size).toBe(3);
  });
});
