import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { decodeAddress, getNetwork } from '../../src/core/index.js';
import { DEMO_MINER_WALLET, demoWallet, demoWallets } from '../../src/wallet/index.js';

const ROOT = join(import.meta.dirname, '..', '..');

describe('demo wallets', () => {
  it('are demo-network addresses, refused on regtest', () => {
    for (const w of demoWallets()) {
      expect(decodeAddress(w.address, getNetwork('demo'))).toHaveLength(20);
      expect(() => decodeAddress(w.address, getNetwork('regtest'))).toThrow(/another network/);
    }
  });

  it("are what docker-compose.yml's miners pay by default", () => {
    const compose = parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
      services: Record<string, { environment: Record<string, string> }>;
    };
    for (const service of ['seed', 'node']) {
      expect(compose.services[service]?.environment.MINER_ADDRESS).toBe(
        `\${MINER_ADDRESS:-${demoWallet(DEMO_MINER_WALLET).address}}`,
      );
    }
  });
});
