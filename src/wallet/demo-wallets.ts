import { getNetwork, privateKeyFromSeed } from '../core/index.js';
import { addressOfKey } from './keystore.js';

/*
 * PUBLIC KEYS — DEMO NETWORK ONLY — NEVER FOR VALUE.
 *
 * The demo network ships three wallets whose private keys anyone can derive
 * from the seed text below (it is in this file, so it is public). They exist
 * so a fresh demo cluster has funded wallets to move coins between: compose
 * and `chainmesh cluster` make the miners pay DEMO_MINER_WALLET, and
 * `chainmesh wallet import-demo` writes the three key files. Anyone can spend
 * their coins; they are only valid on the demo network (its address version).
 */
export const DEMO_WALLET_NAMES = ['demo-alice', 'demo-bob', 'demo-carol'] as const;
export type DemoWalletName = (typeof DEMO_WALLET_NAMES)[number];

/** The demo wallet the demo miners pay by default. */
export const DEMO_MINER_WALLET: DemoWalletName = 'demo-alice';

export interface DemoWallet {
  readonly name: DemoWalletName;
  readonly privateKey: Uint8Array;
  /** Address on the demo network. */
  readonly address: string;
}

function seedOf(name: DemoWalletName): Uint8Array {
  return new TextEncoder().encode(
    `chainmesh ${name}: a PUBLIC key for the demo network only, never for value`,
  );
}

export function demoWallets(): DemoWallet[] {
  const params = getNetwork('demo');
  return DEMO_WALLET_NAMES.map((name) => {
    const privateKey = privateKeyFromSeed(seedOf(name));
    return { name, privateKey, address: addressOfKey(privateKey, params) };
  });
}

export function demoWallet(name: DemoWalletName): DemoWallet {
  return demoWallets().find((w) => w.name === name) as DemoWallet;
}
