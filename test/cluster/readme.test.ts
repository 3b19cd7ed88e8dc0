import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MAIN, cleanup, freePortBlock, tempDir } from '../helpers/processes.js';
import { extractBlocks, readmeBlocks, runBlocks, type RunOptions } from '../helpers/readme.js';

const README = join(import.meta.dirname, '..', '..', 'README.md');

/**
 * Where README blocks run: an empty directory, a temporary HOME and wallet
 * directory, the built `chainmesh` on PATH (as `npm link` gives), and
 * SEED_PORT on a free block of loopback ports below 32768.
 */
async function sandbox(dir: string): Promise<RunOptions> {
  const bin = join(dir, 'bin');
  const home = join(dir, 'home');
  const work = join(dir, 'work');
  for (const d of [bin, home, work]) mkdirSync(d, { recursive: true });
  const shim = join(bin, 'chainmesh');
  writeFileSync(shim, `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(MAIN)} "$@"\n`);
  chmodSync(shim, 0o755);
  return {
    cwd: work,
    env: {
      PATH: `${bin}:${process.env.PATH ?? '/usr/bin:/bin'}`,
      HOME: home,
      CHAINMESH_WALLET_DIR: join(home, 'wallets'),
      SEED_PORT: String(await freePortBlock(8)),
      TMPDIR: dir,
    },
    timeoutMs: 240_000,
  };
}

/** Issue 14: the README's marked commands run, so one that stops working fails CI. */
describe('the README runs', () => {
  const dir = tempDir('chainmesh-readme-');
  afterAll(() => cleanup(dir));

  it('every marked block exits 0 and shows what its marker expects, against a cluster it starts', async () => {
    const blocks = readmeBlocks(README);
    expect(blocks.filter((b) => b.mode === 'run').length).toBeGreaterThanOrEqual(3);
    const { outputs, skipped } = await runBlocks(blocks, await sandbox(dir));
    for (const line of skipped) console.warn(line);
    expect(outputs.length + skipped.length).toBe(blocks.filter((b) => b.mode === 'run').length);
    // The blocks that need only chainmesh always run.
    expect(outputs.length).toBeGreaterThanOrEqual(
      blocks.filter((b) => b.mode === 'run' && b.needs.length === 0).length,
    );
  }, 600_000);
});

/** The runner itself: it cannot pass a README whose commands fail, or one with nothing to run. */
describe('the README runner', () => {
  const dir = tempDir('chainmesh-readme-runner-');
  afterAll(() => cleanup(dir));
  const options = (): RunOptions => ({ cwd: dir, env: { PATH: process.env.PATH ?? '' }, timeoutMs: 20_000 });

  it('fails when no block is marked', () => {
    const file = join(dir, 'empty.md');
    writeFileSync(file, '# nothing\n\n```sh\necho not marked\n```\n');
    expect(() => readmeBlocks(file)).toThrow('no block marked');
  });

  it('fails on a malformed marker rather than skipping its block', () => {
    expect(() => extractBlocks('<!-- readme-test: runn -->\n\n```sh\ntrue\n```\n')).toThrow('line 1');
    expect(() => extractBlocks('<!-- readme-test: run expcet="x" -->\n\n```sh\ntrue\n```\n')).toThrow(
      'unknown attribute expcet',
    );
    expect(() => extractBlocks('<!-- readme-test: run -->\n\n```text\ntrue\n```\n')).toThrow(
      'not followed by a ```sh block',
    );
    expect(() => extractBlocks('<!-- readme-test: background -->\n\n```sh\nsleep 1\n```\n')).toThrow(
      'needs until',
    );
  });

  it('skips a block whose command is not installed, and says so', async () => {
    const blocks = extractBlocks(
      '<!-- readme-test: run needs="no-such-command-here" -->\n\n```sh\nno-such-command-here\n```\n',
    );
    expect(blocks[0]!.needs).toEqual(['no-such-command-here']);
    await expect(runBlocks(blocks, options())).resolves.toEqual({
      outputs: [],
      skipped: ['README block at line 1 needs no-such-command-here, not installed here'],
    });
  });

  it('fails when a command exits non-zero, naming the block', async () => {
    const blocks = extractBlocks(
      'a\n\n<!-- readme-test: run -->\n\n```sh\necho fine\n```\n\n<!-- readme-test: run -->\n\n```sh\necho before\nfalse\necho after\n```\n',
    );
    await expect(runBlocks(blocks, options())).rejects.toThrow(
      /README block at line 9 exited 1[\s\S]*before/,
    );
  });

  it('fails when the output lacks what the marker expects', async () => {
    const blocks = extractBlocks(
      `<!-- readme-test: run expect='"a":1' expect="missing" -->\n\n\`\`\`sh\necho '{"a":1}'\n\`\`\`\n`,
    );
    await expect(runBlocks(blocks, options())).rejects.toThrow('output lacks "missing"');
  });

  it('fails when a background block exits before showing its text, and stops one that runs', async () => {
    const early = extractBlocks('<!-- readme-test: background until="up" -->\n\n```sh\necho down\n```\n');
    await expect(runBlocks(early, options())).rejects.toThrow('exited (0) before showing "up"');
    const marker = join(dir, 'stopped');
    const running = extractBlocks(
      `<!-- readme-test: background until="up" -->\n\n\`\`\`sh\ntrap 'touch ${marker}; exit 0' INT\necho up\nwhile true; do sleep 0.1; done\n\`\`\`\n\n<!-- readme-test: run expect="ran" -->\n\n\`\`\`sh\necho ran\n\`\`\`\n`,
    );
    await expect(runBlocks(running, options())).resolves.toEqual({ outputs: ['ran\n'], skipped: [] });
    expect(existsSync(marker)).toBe(true); // it got SIGINT
  });
});
