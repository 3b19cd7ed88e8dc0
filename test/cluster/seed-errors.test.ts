import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  cleanup,
  freePortBlock,
  startNode,
  stopAll,
  tempDir,
  waitFor,
  type NodeProcess,
} from '../helpers/processes.js';

function logLines(node: NodeProcess): Array<Record<string, unknown>> {
  return node.output
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** Issue 14: a SEED_HOSTS name that does not resolve is named in the logs with its DNS error. */
describe('a seed name that does not resolve', () => {
  const dir = tempDir();
  const nodes: NodeProcess[] = [];
  afterAll(async () => {
    await stopAll(nodes);
    cleanup(dir);
  });

  it('logs the seed and the DNS error once, and every retry names the seeds', async () => {
    const seed = 'no-such-seed.invalid:3000';
    const node = await startNode({
      name: 'lonely',
      dataDir: join(dir, 'lonely'),
      port: await freePortBlock(1),
      env: { SEED_HOSTS: seed },
    });
    nodes.push(node);
    const retries = () =>
      logLines(node).filter((l) => l.message === 'no seed or known peer answered, retrying');
    await waitFor('two join retries', () => retries().length >= 2, { timeoutMs: 30_000 });
    const warnings = logLines(node).filter((l) => l.message === 'seed name does not resolve');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ level: 'warn', seed });
    expect(warnings[0]!.error).toMatch(/^getaddrinfo (ENOTFOUND|EAI_AGAIN) no-such-seed\.invalid$/);
    for (const retry of retries()) expect(retry.seeds).toBe(seed);
  }, 60_000);
});
