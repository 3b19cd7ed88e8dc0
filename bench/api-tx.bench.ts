/**
 * Transactions accepted per second through the HTTP API of one real node
 * process (regtest), load from this process over keep-alive HTTP: one
 * transaction per POST /transactions, then batches of {txs} (alone, then
 * relaying to a second node). Control rows: the same client against echo
 * servers (bare node:http, express 5), the HTTP ceiling of the machine. Every transaction
 * is a pre-signed, independent 1-in/1-out spend of a confirmed output, so the
 * timed phases measure admission only. Then, with a second node connected,
 * how long a block generated on the first takes to reach the second while the
 * batched load runs. A second, shorter pass over the same phases on fresh
 * nodes under V8's --cpu-prof shows where each phase's time goes.
 *
 * bench-timeout-s: 300
 */
import { rmSync, writeFileSync } from 'node:fs';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import os from 'node:os';
import { join } from 'node:path';
import { decodeTx, fromHex, verifyTxInput } from '../src/core/index.js';
import {
  freePort,
  loopbackNodeEnv,
  request,
  stopNode,
  tempDir,
  type NodeProcess,
} from '../test/helpers/processes.js';
import { launchNode, onLogLines, withDeadline } from './helpers-cluster.js';
import { loadProfiles, monotonicUs, summarize, type ProfileSummary } from './helpers-profile.js';
import { cpuSince, threadCpu, type ThreadCpu } from './helpers-threads.js';
import {
  BATCH_SIZE,
  LOAD_NODE_ENV,
  batchOutcome,
  closeLoadClient,
  fund,
  generate,
  info,
  load,
  mineMempool,
  ownScript,
  signSpends,
  toBatches,
} from './helpers-tx-load.js';
import { report, round } from './lib.js';

const SINGLE_CONCURRENCY = 32;
const BATCH_CONCURRENCY = 4;
const CONTROL_MS = 3000;

const root = tempDir('chainmesh-bench-api-tx-');

const running = new Set<NodeProcess>();
const controls = new Set<ChildProcess>();

interface Member {
  proc: NodeProcess;
  connected: Map<string, number>;
}

async function start(name: string, seeds: string[], execArgv: string[] = []): Promise<Member> {
  const port = await freePort();
  const dataDir = join(root, name);
  const connected = new Map<string, number>();
  const proc = await launchNode({
    name,
    port,
    dataDir,
    timeoutMs: 60_000,
    execArgv,
    env: {
      ...loopbackNodeEnv(port, dataDir, seeds),
      ...LOAD_NODE_ENV,
      // `block connected` (info for single tip changes) times the relay; debug would add a line per transaction
      LOG_LEVEL: 'info',
      GOSSIP_INTERVAL_MS: '1000',
    },
    spawned: (p) => {
      running.add(p);
      onLogLines(p, (line) => {
        if (line.message === 'block connected' && typeof line.fields.hash === 'string')
          connected.set(line.fields.hash, line.at);
      });
    },
  });
  return { proc, connected };
}

const WRK_SCRIPT = `
local bodies, n = {}, 0
for line in io.lines(os.getenv("CHAINMESH_BODIES")) do n = n + 1; bodies[n] = line end
local cycle, i = os.getenv("CHAINMESH_CYCLE") == "1", 0
request = function()
  i = i + 1
  if cycle and i > n then i = 1 end
  if i > n then return wrk.format("GET", "/healthz") end
  return wrk.format("POST", "/transactions", { ["Content-Type"] = "application/json" }, bodies[i])
end
`;

const hasWrk = spawnSync('wrk', ['--version']).error === undefined;

/** `times` prints the shell's own CPU, then its children's: "0m1.5s 0m0.25s". */
function childCpuSeconds(timesOutput: string): number {
  const line = timesOutput.trim().split('\n').at(-1) ?? '';
  return [...line.matchAll(/(\d+)m([\d.]+)s/g)].reduce((sum, m) => sum + Number(m[1]) * 60 + Number(m[2]), 0);
}

/**
 * The load from wrk, a second process written in C: the client costs a
 * fraction of a core, so what it measures is the server. Each request takes
 * the next body (`cycle`: round and round); once they run out it asks for
 * /healthz (never counted as accepted), so rates computed from accepted
 * transactions stay lower bounds.
 */
async function wrkLoad(
  node: { port: number },
  bodies: string[],
  opts: { concurrency: number; ms: number; cycle?: boolean },
): Promise<{ requests: number; ms: number; clientCpu: number }> {
  const dir = tempDir('chainmesh-bench-wrk-');
  try {
    writeFileSync(join(dir, 'bodies'), bodies.join('\n') + '\n');
    writeFileSync(join(dir, 'load.lua'), WRK_SCRIPT);
    const wrk = `wrk -t1 -c${opts.concurrency} -d${Math.round(opts.ms / 1000)}s -s ${join(dir, 'load.lua')} http://127.0.0.1:${node.port}`;
    const child = spawn('sh', ['-c', `${wrk} && times`], {
      env: { ...process.env, CHAINMESH_BODIES: join(dir, 'bodies'), CHAINMESH_CYCLE: opts.cycle ? '1' : '0' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    const t0 = performance.now();
    await new Promise<void>((resolve, reject) => {
      child.on('error', reject);
      child.on('exit', (code) =>
        code === 0 ? resolve() : reject(new Error(`wrk exited with ${code}: ${out}`)),
      );
    });
    const wall = performance.now() - t0;
    const requests = Number(/(\d+) requests in/.exec(out)?.[1]);
    if (!Number.isFinite(requests)) throw new Error(`unexpected wrk output: ${out}`);
    return { requests, ms: wall, clientCpu: childCpuSeconds(out) / (wall / 1000) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * What the HTTP layer alone gives on this machine right now, with the same
 * client and body as the single-transaction phase: an echo server
 * (helpers-echo-server.ts) in its own process.
 */
async function controlRate(kind: 'express' | 'http', body: string): Promise<number> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(import.meta.dirname, 'helpers-echo-server.ts'), kind, String(port)],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  controls.add(child);
  try {
    await withDeadline(
      `${kind} control server start`,
      30_000,
      new Promise<void>((resolve) => child.stdout.on('data', () => resolve())),
    );
    if (hasWrk) {
      const r = await wrkLoad({ port }, [body], {
        concurrency: SINGLE_CONCURRENCY,
        ms: CONTROL_MS,
        cycle: true,
      });
      return (r.requests * 1000) / r.ms;
    }
    const bodies = new Array<string>(1_000_000).fill(body);
    const r = await load({ port }, bodies, SINGLE_CONCURRENCY, CONTROL_MS, (status) =>
      status === 200 ? [1, 0] : [0, 1],
    );
    return (r.accepted * 1000) / r.ms;
  } finally {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
    controls.delete(child);
  }
}

function reportProfile(label: string, summary: ProfileSummary, functions: number, modules: number): void {
  summary.functions.slice(0, functions).forEach((f, i) => {
    report(`${label} #${i + 1} ${f.name.split(' ')[0] ?? ''}`, round(f.percent, 1), '%', {
      note: `${f.name}${f.via ? ` ← ${f.via}` : ''}`,
    });
  });
  summary.modules.slice(0, modules).forEach((m, i) => {
    report(`${label} by module #${i + 1} ${m.name}`, round(m.percent, 1), '%');
  });
  for (const e of summary.entries.filter((x) => x.percent >= 1)) {
    report(`${label} under ${e.name}`, round(e.percent, 1), '%', {
      note: 'inclusive time, innermost of the listed functions',
    });
  }
}

/** Where a node's time goes, by the service call it is made in (see reportProfile). */
const ENTRIES = [
  'receiveTransactions', // mempool admission (API and relayed batches)
  'connectTip', // block connect: every input script checked again
  'verifyPacked', // the chain's script-check worker threads
  'receiveBlock',
  'generate',
  'selectForBlock',
  'jsonParser',
  'sendTransactions',
  'sendBlock',
];

/** One pass over every phase: measured on plain nodes, or repeated shorter under the profiler. */
interface Pass {
  /** Node names and data dirs are prefixed with it. */
  readonly name: string;
  /** Run the nodes under V8's --cpu-prof and report where their time went, not rates. */
  readonly profiled: boolean;
  readonly phaseMs: number;
  readonly pools: { readonly single: number; readonly alone: number; readonly batched: number };
}

/**
 * The rates come from nodes without the profiler, which costs them about a
 * fifth of their throughput here; the profiles come from a second, shorter
 * pass over the same phases on fresh nodes under --cpu-prof.
 */
const PASSES: readonly Pass[] = [
  { name: '', profiled: false, phaseMs: 10_000, pools: { single: 50_000, alone: 30_000, batched: 36_000 } },
  { name: 'prof-', profiled: true, phaseMs: 5000, pools: { single: 15_000, alone: 15_000, batched: 18_000 } },
];

function profileArgs(pass: Pass, name: string): string[] {
  return pass.profiled ? ['--cpu-prof', `--cpu-prof-dir=${join(root, `${pass.name}${name}`)}`] : [];
}

async function main(): Promise<void> {
  report('machine load average (1 min) at start', round(os.loadavg()[0] ?? 0, 1), '', {
    note: `${os.cpus().length} cores shared with whatever else runs`,
  });
  for (const pass of PASSES) await runPass(pass);
}

async function runPass(pass: Pass): Promise<void> {
  const { profiled, phaseMs, pools } = pass;
  /** Rates are reported by the measured pass only; the profiled pass reports profiles only. */
  const measure = (...args: Parameters<typeof report>) => {
    if (!profiled) report(...args);
  };
  const a = await start(`${pass.name}a`, [], profileArgs(pass, 'prof-a'));

  const t0 = performance.now();
  const coins = await withDeadline(
    'funding',
    120_000,
    fund(a.proc, pools.single + pools.alone + pools.batched),
  );
  const fundMs = performance.now() - t0;
  const t1 = performance.now();
  const singles = signSpends(coins.slice(0, pools.single));
  const batchedAlone = signSpends(coins.slice(pools.single, pools.single + pools.alone));
  const batched = signSpends(coins.slice(pools.single + pools.alone));
  console.log(
    `${profiled ? 'profiled pass: ' : ''}funded ${coins.length} coins in ${round(fundMs / 1000, 1)} s, signed them in ${round((performance.now() - t1) / 1000, 1)} s`,
  );

  // The same load against servers that do nothing but answer.
  const sample = JSON.stringify({ tx: singles[0] });
  for (const kind of profiled ? [] : (['http', 'express'] as const)) {
    report(
      `control: bare ${kind === 'http' ? 'node:http' : 'express 5 + express.json'} echo, ${hasWrk ? 'wrk' : 'same client'}`,
      round(await controlRate(kind, sample), 0),
      'req/s',
      {
        note: `no validation, own process, ${CONTROL_MS / 1000} s at concurrency ${SINGLE_CONCURRENCY}: the HTTP ceiling of this machine now (the issue measured ~50 k and ~7.6 k elsewhere)`,
      },
    );
  }

  if (!profiled) {
    report(
      'control: one input signature check (verifyTxInput), one thread',
      round(checksPerSecond(singles[0] as string), 0),
      '/s',
      {
        note: `in this process, ${CONTROL_MS / 1000} s: scriptSig parsing, key hash, sighash and libsecp256k1, what a script worker does per input`,
      },
    );
  }

  // Single: one transaction per request.
  const before = (await info(a.proc)).mempool;
  const singleBodies = singles.map((hex) => JSON.stringify({ tx: hex }));
  const profFrom = monotonicUs();
  const singleCpu0 = threadCpu(a.proc.child.pid);
  const single = await withDeadline<{ requests: number; ms: number; clientCpu?: number; accepted?: number }>(
    'single-tx load',
    phaseMs + 30_000,
    hasWrk
      ? wrkLoad(a.proc, singleBodies, { concurrency: SINGLE_CONCURRENCY, ms: phaseMs })
      : load(a.proc, singleBodies, SINGLE_CONCURRENCY, phaseMs, (status) =>
          status === 200 ? [1, 0] : [0, 1],
        ),
  );
  const profTo = monotonicUs();
  const singleCpu = cpuSince(a.proc.child.pid, singleCpu0, threadCpu(a.proc.child.pid));
  const accepted = (await info(a.proc)).mempool - before;
  if (single.accepted !== undefined && single.accepted !== accepted) {
    throw new Error(`mempool grew by ${accepted} but ${single.accepted} were accepted`);
  }
  measure('POST /transactions {tx}: accepted', round((accepted * 1000) / single.ms, 0), 'tx/s', {
    min: 3000,
    note: `${accepted} accepted (mempool growth) in ${round(single.ms / 1000, 1)} s at concurrency ${SINGLE_CONCURRENCY}, ${single.requests} answers; ${hasWrk ? 'load from wrk' : 'load from this process (wrk not installed)'}, which used ${round(single.clientCpu ?? 0, 2)} core; node without the profiler`,
  });
  reportCpuPerTx(measure, '{tx}', singleCpu, accepted, single.ms);

  // Batched on the node alone (nobody to relay to).
  const beforeAlone = (await info(a.proc)).mempool;
  const aloneFrom = monotonicUs();
  const aloneCpu0 = threadCpu(a.proc.child.pid);
  const alone = await withDeadline(
    'batched load, one node',
    phaseMs + 30_000,
    load(a.proc, toBatches(batchedAlone), BATCH_CONCURRENCY, phaseMs, batchOutcome),
  );
  const aloneTo = monotonicUs();
  const aloneCpu = cpuSince(a.proc.child.pid, aloneCpu0, threadCpu(a.proc.child.pid));
  const afterAlone = (await info(a.proc)).mempool;
  measure(
    `POST /transactions {txs: ${BATCH_SIZE}}, node alone: accepted`,
    round((alone.accepted * 1000) / alone.ms, 0),
    'tx/s',
    {
      min: 10_000,
      note: `${alone.accepted} accepted (${alone.rejected} rejected) in ${round(alone.ms / 1000, 1)} s, ${BATCH_CONCURRENCY} requests in flight; mempool +${afterAlone - beforeAlone}; no peer`,
    },
  );
  reportCpuPerTx(measure, `{txs: ${BATCH_SIZE}}`, aloneCpu, alone.accepted, alone.ms);
  if (afterAlone - beforeAlone !== alone.accepted) {
    throw new Error(`mempool grew by ${afterAlone - beforeAlone} but ${alone.accepted} were accepted`);
  }

  // The probe block below then holds only transactions relayed during the phase, as in a network whose
  // nodes share their mempools, rather than earlier ones the second node never saw (~5,200 fit a block).
  await withDeadline('mining the mempool empty', 120_000, mineMempool(a.proc, 20));

  // A second node, connected to the first, for the batched phase and relay.
  const b = await start(`${pass.name}b`, [`127.0.0.1:${a.proc.port}`], profileArgs(pass, 'prof-b'));
  const aInfo = await info(a.proc);
  await withDeadline(
    'second node syncs',
    60_000,
    (async () => {
      while ((await info(b.proc)).tipHash !== aInfo.tipHash) await new Promise((r) => setTimeout(r, 100));
    })(),
  );
  await withDeadline(
    'second node listed as a peer',
    30_000,
    (async () => {
      for (;;) {
        const peers = await request(`${a.proc.url}/known_node_request`);
        if (Array.isArray(peers.body) && peers.body.length > 0) return;
        await new Promise((r) => setTimeout(r, 100));
      }
    })(),
  );

  // Batched, with one block generated on the first node a few seconds in.
  const batchBodies = toBatches(batched);
  const beforeBatch = (await info(a.proc)).mempool;
  let relay: { generateMs: number; hash: string; fromUs: number } | undefined;
  const batchFrom = monotonicUs();
  const relayProbe = (async () => {
    await new Promise((r) => setTimeout(r, 2000));
    const fromUs = monotonicUs();
    const g0 = performance.now();
    const [hash] = await generate(a.proc, 1);
    relay = { generateMs: performance.now() - g0, hash: hash as string, fromUs };
  })();
  const batch = await withDeadline(
    'batched load',
    phaseMs + 30_000,
    load(a.proc, batchBodies, BATCH_CONCURRENCY, phaseMs, batchOutcome),
  );
  const batchTo = monotonicUs();
  await relayProbe;
  const probe = relay as unknown as { generateMs: number; hash: string; fromUs: number };
  const afterBatch = (await info(a.proc)).mempool;
  const batchRate = (batch.accepted * 1000) / batch.ms;
  const mined = await request(`${a.proc.url}/block/${probe.hash}`);
  const minedTxs = Array.isArray((mined.body as { txs?: unknown[] }).txs)
    ? (mined.body as { txs: unknown[] }).txs.length - 1
    : 0;
  measure(
    `POST /transactions {txs: ${BATCH_SIZE}}, relaying to a 2nd node: accepted`,
    round(batchRate, 0),
    'tx/s',
    {
      min: 10_000,
      note: `${batch.accepted} accepted (${batch.rejected} rejected) in ${round(batch.ms / 1000, 1)} s, ${BATCH_CONCURRENCY} requests in flight; mempool ${afterBatch - beforeBatch >= 0 ? '+' : ''}${afterBatch - beforeBatch} (+${batch.accepted} − ${minedTxs} mined in the probe block); relaying to a second node; the load generator used ${round(batch.clientCpu ?? 0, 2)} core`,
    },
  );
  if (afterBatch - beforeBatch !== batch.accepted - minedTxs) {
    throw new Error(
      `mempool changed by ${afterBatch - beforeBatch}, expected ${batch.accepted} − ${minedTxs}`,
    );
  }

  await withDeadline(
    'probe block reaches the second node',
    30_000,
    (async () => {
      while (!b.connected.has(probe.hash)) await new Promise((r) => setTimeout(r, 10));
    })(),
  );
  const relayTo = monotonicUs();
  const relayMs = (b.connected.get(probe.hash) as number) - (a.connected.get(probe.hash) as number);
  measure('block relay under batched load: connected on 1st → connected on 2nd', relayMs, 'ms', {
    max: 1000,
    note: `block of ${minedTxs} txs generated on the loaded node (generate call took ${round(probe.generateMs, 0)} ms); from the nodes' 'block connected' log timestamps`,
  });

  // Profiles are written when the nodes exit.
  await Promise.all([stopNode(a.proc), stopNode(b.proc)]);
  running.delete(a.proc);
  running.delete(b.proc);
  if (!profiled) return;
  const profA = loadProfiles(join(root, `${pass.name}prof-a`));
  const single1 = summarize(profA, profFrom, profTo, 8, ENTRIES);
  report('CPU profile, single-tx phase: node busy time', round(single1.busyMs, 0), 'ms', {
    note: `profiled pass: ${round(single.ms, 0)} ms wall, ${round((accepted * 1000) / single.ms, 0)} tx/s under the profiler; every thread, idle left out; rows below: self time as % of busy`,
  });
  reportProfile('CPU single-tx', single1, 8, 5);
  const alone1 = summarize(profA, aloneFrom, aloneTo, 5, ENTRIES);
  report('CPU profile, batched phase, node alone: busy time', round(alone1.busyMs, 0), 'ms', {
    note: `profiled pass: ${round(alone.ms, 0)} ms wall, ${round((alone.accepted * 1000) / alone.ms, 0)} tx/s under the profiler`,
  });
  reportProfile('CPU batched alone', alone1, 5, 3);
  const batch1 = summarize(profA, batchFrom, batchTo, 0, ENTRIES);
  report('CPU profile, batched phase relaying to a 2nd node: busy time', round(batch1.busyMs, 0), 'ms', {
    note: `profiled pass: ${round(batch.ms, 0)} ms wall, includes generating the probe block`,
  });
  reportProfile('CPU batched+relay', batch1, 0, 0);
  const relay1 = summarize(loadProfiles(join(root, `${pass.name}prof-b`)), probe.fromUs, relayTo, 5, ENTRIES);
  report('CPU profile, 2nd node from generate until it connects: busy', round(relay1.busyMs, 0), 'ms', {
    note: `profiled pass: ${round((relayTo - probe.fromUs) / 1000, 0)} ms wall (${relayMs} ms from connected on the 1st)`,
  });
  reportProfile('CPU 2nd node', relay1, 5, 3);
}

/** How many input checks one thread of this machine does per second right now. */
function checksPerSecond(txHex: string): number {
  const tx = decodeTx(fromHex(txHex));
  // Warm-up, so the window measures optimised code.
  for (let i = 0; i < 200; i++) verifyTxInput(tx, 0, ownScript);
  let checks = 0;
  const start = performance.now();
  while (performance.now() - start < CONTROL_MS) {
    if (!verifyTxInput(tx, 0, ownScript)) throw new Error('a signed spend does not verify');
    checks++;
  }
  return (checks * 1000) / (performance.now() - start);
}

/** Where an accepted transaction's CPU goes, and the rate the machine's cores allow at that cost. */
function reportCpuPerTx(
  measure: (...args: Parameters<typeof report>) => void,
  phase: string,
  cpu: ThreadCpu | undefined,
  accepted: number,
  ms: number,
): void {
  if (!cpu || accepted === 0) return;
  const us = (seconds: number) => round((seconds * 1e6) / accepted, 0);
  measure(`POST /transactions ${phase}: request thread CPU per accepted tx`, us(cpu.main), 'µs', {
    note: `node's main thread, from /proc (no profiler): HTTP, JSON, decoding, mempool admission`,
  });
  measure(`POST /transactions ${phase}: other threads' CPU per accepted tx`, us(cpu.others), 'µs', {
    note: `script workers (signatures), GC helpers, libuv; ${round(cpu.main + cpu.others, 1)} CPU s in all`,
  });
  // Two limits: all the cores' time, and the request thread's, which is one thread however many cores there are.
  const cores = os.availableParallelism();
  const used = cpu.main + cpu.others;
  const byCores = (cores * accepted) / used;
  const byRequestThread = accepted / cpu.main;
  measure(
    `POST /transactions ${phase}: ceiling at that CPU per tx`,
    round(Math.min(byCores, byRequestThread), 0),
    'tx/s',
    {
      note: `the lower of ${round(byCores, 0)} (all ${cores} cores busy with this node alone) and ${round(byRequestThread, 0)} (its request thread busy all the time); during the phase it kept ${round(used / (ms / 1000), 2)} cores busy`,
    },
  );
}

const killAll = () => {
  for (const p of running) if (p.exitCode === null) p.child.kill('SIGKILL');
  for (const c of controls) c.kill('SIGKILL');
};
process.on('exit', killAll);
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    killAll();
    rmSync(root, { recursive: true, force: true });
    process.exit(1);
  });
}

try {
  await main();
} catch (err) {
  console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
  process.exitCode = 1;
} finally {
  await Promise.all([...running].map((p) => stopNode(p, 'SIGKILL')));
  closeLoadClient();
  rmSync(root, { recursive: true, force: true });
}
