import { defineConfig } from 'vitest/config';
import base from './vitest.config.js';

/**
 * `make test-unit`: the fast loop. The folders whose tests start no process
 * and need no build, Docker or network beyond loopback; crash.test.ts kills a
 * child process and runs with the rest under `make test`.
 */
export default defineConfig({
  test: {
    ...base.test,
    include: [
      'test/core/**/*.test.ts',
      'test/chain/**/*.test.ts',
      'test/mempool/**/*.test.ts',
      'test/miner/**/*.test.ts',
      'test/wallet/**/*.test.ts',
    ],
    exclude: ['test/chain/crash.test.ts'],
  },
});
