import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..');
const GENESIS_HEADER =
  '0100000000000000000000000000000000000000000000000000000000000000000000003ba3edfd7a7b12b27ac72c3e67768f617fc81bc3888a51323a9fb8aa4b1e5e4a29ab5f49ffff001d1dac2b7c';

/** The package root (`import … from 'chainmesh'`, resolved through package.json `exports` to dist) is the core library. */
describe('package root export', () => {
  it('exposes the consensus functions from the built output', () => {
    const script = `
      import { blockHash, checkProofOfWork, merkleRoot, legacySighash, verifyP2pkhInput } from 'chainmesh';
      const header = Buffer.from('${GENESIS_HEADER}', 'hex');
      console.log(JSON.stringify({
        hash: blockHash(header),
        pow: checkProofOfWork(header),
        root: merkleRoot(['4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b']),
        types: [typeof legacySighash, typeof verifyP2pkhInput],
        resolved: import.meta.resolve('chainmesh'),
      }));`;
    const out = JSON.parse(
      execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8' }),
    );
    expect(out).toEqual({
      hash: '000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f',
      pow: true,
      root: '4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b',
      types: ['function', 'function'],
      resolved: expect.stringMatching(/\/dist\/index\.js$/),
    });
  });
});
