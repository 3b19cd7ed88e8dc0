import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/**
 * The README's runnable blocks (convention in the README's "Contributing: the
 * README runs"): a `sh` block preceded by `<!-- readme-test: run ... -->` or
 * `<!-- readme-test: background until="..." -->`.
 */
export interface ReadmeBlock {
  /** 1-based line of the marker, for failure messages. */
  line: number;
  mode: 'run' | 'background';
  /** Texts the output must contain (run). */
  expects: string[];
  /** Text the output must show before the next block runs (background). */
  until: string | undefined;
  /** Commands beyond a built tree and bash that the block calls (e.g. curl): without them it is skipped, and said. */
  needs: string[];
  script: string;
}

const MARKER = /^<!--\s*readme-test:\s*(.*?)\s*-->\s*$/;
const ATTRIBUTE = /^(\w+)=(?:"([^"]*)"|'([^']*)')\s*/;

/** Every marked block in order. Throws on a malformed marker: a typo must not silently drop a block. */
export function extractBlocks(markdown: string): ReadmeBlock[] {
  const lines = markdown.split('\n');
  const blocks: ReadmeBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const marker = MARKER.exec(lines[i] ?? '');
    if (!marker) continue;
    const line = i + 1;
    const fail = (why: string) => new Error(`README line ${line}: ${why}: ${lines[i]}`);
    let rest = marker[1] ?? '';
    const mode = /^(run|background)\b\s*/.exec(rest);
    if (!mode) throw fail('expected "run" or "background" after "readme-test:"');
    rest = rest.slice(mode[0].length);
    const expects: string[] = [];
    let until: string | undefined;
    const needs: string[] = [];
    while (rest !== '') {
      const attribute = ATTRIBUTE.exec(rest);
      if (!attribute) throw fail(`cannot read the marker from ${JSON.stringify(rest)}`);
      const value = attribute[2] ?? attribute[3] ?? '';
      if (attribute[1] === 'expect') expects.push(value);
      else if (attribute[1] === 'until') until = value;
      else if (attribute[1] === 'needs') needs.push(...value.split(/\s+/).filter(Boolean));
      else throw fail(`unknown attribute ${attribute[1]}`);
      rest = rest.slice(attribute[0].length);
    }
    if (mode[1] === 'background' && until === undefined) throw fail('a background block needs until="..."');
    let j = i + 1;
    while ((lines[j] ?? '').trim() === '' && j < lines.length) j++;
    if (lines[j]?.trim() !== '```sh') throw fail('the marker is not followed by a ```sh block');
    const end = lines.findIndex((l, k) => k > j && l.trim() === '```');
    if (end < 0) throw fail('the ```sh block does not end');
    const script = lines.slice(j + 1, end).join('\n');
    if (script.trim() === '') throw fail('the ```sh block is empty');
    blocks.push({ line, mode: mode[1] as 'run' | 'background', expects, until, needs, script });
    i = end;
  }
  return blocks;
}

export function readmeBlocks(path: string): ReadmeBlock[] {
  const blocks = extractBlocks(readFileSync(path, 'utf8'));
  if (blocks.length === 0) throw new Error(`${path}: no block marked <!-- readme-test: run --> was found`);
  return blocks;
}

export interface RunOptions {
  cwd: string;
  env: Record<string, string>;
  /** Per block: a run block must exit, a background block must show `until`, within this. */
  timeoutMs: number;
}

interface Started {
  block: ReadmeBlock;
  pid: number;
  output: () => string;
  exited: Promise<number | null>;
}

function start(block: ReadmeBlock, opts: RunOptions): Started {
  // Its own process group, so that a signal reaches the block's commands and not only bash.
  const child = spawn('bash', ['-eo', 'pipefail', '-c', block.script], {
    cwd: opts.cwd,
    env: opts.env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) =>
    child.on('exit', (code, signal) => resolve(signal ? null : code)),
  );
  return { block, pid: child.pid ?? -1, output: () => output, exited };
}

function failure(block: ReadmeBlock, why: string, output: string): Error {
  return new Error(
    `README block at line ${block.line} ${why}\n--- block ---\n${block.script}\n--- output (last 3000 characters) ---\n${output.slice(-3000)}`,
  );
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

function missingCommands(block: ReadmeBlock, opts: RunOptions): string[] {
  return block.needs.filter(
    (command) =>
      spawnSync('bash', ['-c', 'command -v "$0"', command], { env: opts.env, stdio: 'ignore' }).status !== 0,
  );
}

/**
 * Runs the blocks in order; the first failure throws, naming the block and
 * its output. Background blocks are stopped (SIGINT, then SIGKILL) at the end
 * either way, and must then exit 0. Returns each run block's output, and the
 * blocks skipped because a command they need is not installed.
 */
export async function runBlocks(
  blocks: ReadmeBlock[],
  opts: RunOptions,
): Promise<{ outputs: string[]; skipped: string[] }> {
  const background: Started[] = [];
  const outputs: string[] = [];
  const skipped: string[] = [];
  let failed: unknown;
  try {
    for (const block of blocks) {
      const notInstalled = missingCommands(block, opts);
      if (notInstalled.length > 0) {
        skipped.push(
          `README block at line ${block.line} needs ${notInstalled.join(', ')}, not installed here`,
        );
        continue;
      }
      const started = start(block, opts);
      if (block.mode === 'background') {
        background.push(started);
        const deadline = Date.now() + opts.timeoutMs;
        let exitCode: number | null | undefined;
        void started.exited.then((c) => (exitCode = c));
        while (!started.output().includes(block.until ?? '')) {
          if (exitCode !== undefined)
            throw failure(
              block,
              `exited (${exitCode}) before showing ${JSON.stringify(block.until)}`,
              started.output(),
            );
          if (Date.now() > deadline)
            throw failure(
              block,
              `did not show ${JSON.stringify(block.until)} within ${opts.timeoutMs} ms`,
              started.output(),
            );
          await new Promise((r) => setTimeout(r, 200));
        }
        continue;
      }
      const timer = setTimeout(() => signalGroup(started.pid, 'SIGKILL'), opts.timeoutMs);
      const code = await started.exited;
      clearTimeout(timer);
      const output = started.output();
      if (code !== 0)
        throw failure(
          block,
          code === null ? `was killed after ${opts.timeoutMs} ms` : `exited ${code}`,
          output,
        );
      const missing = block.expects.filter((text) => !output.includes(text));
      if (missing.length > 0)
        throw failure(block, `output lacks ${missing.map((m) => JSON.stringify(m)).join(', ')}`, output);
      outputs.push(output);
    }
  } catch (err) {
    failed = err;
  }
  for (const started of background.reverse()) {
    signalGroup(started.pid, 'SIGINT');
    const timer = setTimeout(() => signalGroup(started.pid, 'SIGKILL'), 20_000);
    const code = await started.exited;
    clearTimeout(timer);
    failed ??=
      code === 0
        ? undefined
        : failure(started.block, `exited ${code} when stopped with SIGINT`, started.output());
  }
  if (failed) throw failed;
  return { outputs, skipped };
}
