/**
 * A/B of node builds under the batched API load, for changes smaller than
 * the drift of this machine's speed (up to 2× within an hour here). Each
 * round starts a fresh node of every build in turn (regtest, its own data
 * dir), funds it, and posts pre-signed one-input transactions in batches of
 * 250, 4 in flight, reading the node's CPU per thread from /proc. Rounds
 * interleave the builds, so a drift shows in all of them alike: builds are
 * compared within a round (the summary does, round by round), never across
 * rounds.
 *
 * Usage: npx tsx bench/ab.ts [--rounds N] [--txs N] <build> <build> ...
 *   build: a git revision, built in a temporary worktree, or `.` for this
 *   tree's dist (make build first; `make ab REVS="…"` does).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import {
  MAIN,
  freePort,
  loopbackNodeEnv,
  stopNode,
  tempDir,
  type NodeProcess,
} from '../test/helpers/processes.js';
import { launchNode, withDeadline } from './helpers-cluster.js';
import { cpuSince, threadCpu } from './helpers-threads.js';
import {
  BATCH_SIZE,
  LOAD_NODE_ENV,
  batchOutcome,
  closeLoadClient,
  fund,
  load,
  signSpends,
  toBatches,
} from './helpers-tx-load.js';
import { median } from './lib.js';

const REPO = join(import.meta.dirname, '..');
const BATCHES_IN_FLIGHT = 4;
const LOAD_MS = 60_000;

interface Build {
  readonly label: string;
  readonly main: string;
  /** A worktree made for this run, removed at the end. */
  readonly worktree?: string;
}

interface Sample {
  readonly round: number;
  readonly label: string;
  readonly rate: number;
  readonly mainUs: number;
  readonly othersUs: number;
  readonly cores: number;
}

function usage(problem: string): never {
  console.error(
    `${problem}\nusage: npx tsx bench/ab.ts [--rounds 1-20] [--txs 1000-100000] <rev|.> <rev|.> ...`,
  );
  process.exit(2);
}

function parseArgs(argv: readonly string[]): { rounds: number; txs: number; builds: string[] } {
  let rounds = 6;
  let txs = 30_000;
  const builds: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--rounds' || arg === '--txs') {
      const value = Number(argv[++i]);
      const [min, max] = arg === '--rounds' ? [1, 20] : [1000, 100_000];
      if (!Number.isInteger(value) || value < min || value > max)
        usage(`${arg} takes an integer from ${min} to ${max}, not ${argv[i] ?? 'nothing'}`);
      if (arg === '--rounds') rounds = value;
      else txs = value;
    } else if (arg.startsWith('-')) {
      usage(`unknown option ${arg}`);
    } else {
      builds.push(arg);
    }
  }
  if (builds.length === 0) usage('name at least one build');
  return { rounds, txs, builds };
}

function run(command: string, args: string[], cwd: string): string {
  const out = spawnSync(command, args, { cwd, encoding: 'utf8' });
  if (out.status !== 0) throw new Error(`${command} ${args.join(' ')} failed:\n${out.stderr}${out.stdout}`);
  return out.stdout.trim();
}

/** Checks out and compiles one revision, or points at this tree's build for `.`. */
function prepare(spec: string, made: Build[]): Build {
  if (spec === '.') {
    if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run make build first`);
    return { label: '.', main: MAIN };
  }
  const resolved = spawnSync('git', ['rev-parse', '--verify', '--quiet', `${spec}^{commit}`], {
    cwd: REPO,
    encoding: 'utf8',
  });
  if (resolved.status !== 0) usage(`${spec} is not a revision of this repository`);
  const sha = resolved.stdout.trim();
  const worktree = tempDir('chainmesh-ab-');
  run('git', ['worktree', 'add', '--detach', '--force', worktree, sha], REPO);
  const build: Build = {
    label: `${spec} (${sha.slice(0, 7)})`,
    main: join(worktree, 'dist', 'cli', 'main.js'),
    worktree,
  };
  made.push(build);
  // This tree's packages when the revision locks the same ones; else its own (older revisions lock winston).
  const lock = (dir: string) => readFileSync(join(dir, 'package-lock.json'), 'utf8');
  if (lock(worktree) === lock(REPO)) symlinkSync(join(REPO, 'node_modules'), join(worktree, 'node_modules'));
  else {
    console.log(`installing the packages ${build.label} locks ...`);
    run('npm', ['ci', '--no-audit', '--no-fund', '--ignore-scripts'], worktree);
  }
  console.log(`building ${build.label} ...`);
  run(
    process.execPath,
    [join(REPO, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'],
    worktree,
  );
  return build;
}

async function measure(build: Build, round: number, txs: number, running: Set<NodeProcess>): Promise<Sample> {
  const port = await freePort();
  const dataDir = tempDir('chainmesh-ab-node-');
  const node = await launchNode({
    name: `ab-${round}`,
    port,
    dataDir,
    main: build.main,
    timeoutMs: 60_000,
    env: { ...loopbackNodeEnv(port, dataDir), ...LOAD_NODE_ENV, LOG_LEVEL: 'warn' },
    spawned: (p) => running.add(p),
  });
  try {
    const coins = await withDeadline('funding', 180_000, fund(node, txs));
    const bodies = toBatches(signSpends(coins));
    const pid = node.child.pid;
    const before = threadCpu(pid);
    const result = await withDeadline(
      'batched load',
      LOAD_MS + 60_000,
      load(node, bodies, BATCHES_IN_FLIGHT, LOAD_MS, batchOutcome),
    );
    const cpu = cpuSince(pid, before, threadCpu(pid));
    if (!cpu) throw new Error('no per-thread CPU: /proc is needed');
    if (result.accepted !== txs)
      throw new Error(`${result.accepted} of ${txs} accepted (${result.rejected} rejected) in ${LOAD_MS} ms`);
    return {
      round,
      label: build.label,
      rate: (result.accepted * 1000) / result.ms,
      mainUs: (cpu.main * 1e6) / result.accepted,
      othersUs: (cpu.others * 1e6) / result.accepted,
      cores: (cpu.main + cpu.others) / (result.ms / 1000),
    };
  } finally {
    await stopNode(node);
    running.delete(node);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

function range(values: readonly number[], digits: number): string {
  const lo = Math.min(...values).toFixed(digits);
  const hi = Math.max(...values).toFixed(digits);
  return lo === hi ? lo : `${lo}-${hi}`;
}

/** `build` against `base`, round by round: only rounds of the same minute are comparable. */
function versus(samples: readonly Sample[], base: Build, build: Build, rounds: number): string {
  const rateRatios: number[] = [];
  const cpuRatios: number[] = [];
  for (let round = 1; round <= rounds; round++) {
    const a = samples.find((s) => s.round === round && s.label === base.label) as Sample;
    const b = samples.find((s) => s.round === round && s.label === build.label) as Sample;
    rateRatios.push(b.rate / a.rate);
    cpuRatios.push((b.mainUs + b.othersUs) / (a.mainUs + a.othersUs));
  }
  const higher = rateRatios.filter((r) => r > 1).length;
  return `${build.label} against ${base.label}, same round: tx/s ×${median(rateRatios).toFixed(2)} (median; higher in ${higher} of ${rounds} rounds), CPU per tx ×${median(cpuRatios).toFixed(2)}`;
}

async function main(): Promise<void> {
  const { rounds, txs, builds: specs } = parseArgs(process.argv.slice(2));
  const made: Build[] = [];
  const running = new Set<NodeProcess>();
  const teardown = () => {
    for (const p of running) {
      if (p.exitCode === null) p.child.kill('SIGKILL');
      rmSync(p.dataDir, { recursive: true, force: true });
    }
    for (const b of made) {
      spawnSync('git', ['worktree', 'remove', '--force', b.worktree as string], { cwd: REPO });
      rmSync(b.worktree as string, { recursive: true, force: true });
    }
  };
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.on(sig, () => {
      teardown();
      process.exit(1);
    });
  }
  try {
    const builds = specs.map((spec, i) => {
      const build = prepare(spec, made);
      // A build named twice is an A/A run (the noise floor): each copy needs a label of its own.
      return specs.indexOf(spec) === specs.lastIndexOf(spec)
        ? build
        : { ...build, label: `${build.label} #${i + 1}` };
    });
    const samples: Sample[] = [];
    console.log(
      `${rounds} rounds of ${txs} transactions, batches of ${BATCH_SIZE}, ${BATCHES_IN_FLIGHT} in flight`,
    );
    console.log(
      'round  build                      tx/s   request-thread µs/tx  other threads µs/tx  cores busy',
    );
    for (let round = 1; round <= rounds; round++) {
      for (const build of builds) {
        const s = await measure(build, round, txs, running);
        samples.push(s);
        console.log(
          `${String(round).padEnd(6)} ${s.label.padEnd(26)} ${s.rate.toFixed(0).padStart(6)}   ${s.mainUs.toFixed(0).padStart(20)}  ${s.othersUs.toFixed(0).padStart(19)}  ${s.cores.toFixed(2).padStart(10)}`,
        );
      }
    }
    console.log('\nbuild                      tx/s          CPU µs/tx (all threads)  cores busy');
    for (const build of builds) {
      const mine = samples.filter((s) => s.label === build.label);
      const rates = range(
        mine.map((s) => s.rate),
        0,
      );
      const cpu = range(
        mine.map((s) => s.mainUs + s.othersUs),
        0,
      );
      console.log(
        `${build.label.padEnd(26)} ${rates.padEnd(13)} ${cpu.padEnd(24)} ${range(
          mine.map((s) => s.cores),
          2,
        )}`,
      );
    }
    const [base, ...others] = builds;
    for (const build of others) console.log(versus(samples, base as Build, build, rounds));
  } finally {
    teardown();
    closeLoadClient();
  }
}

try {
  await main();
} catch (err) {
  console.error(err instanceof Error ? err.message : String(err));
  process.exitCode = 1;
}
