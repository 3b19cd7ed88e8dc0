/**
 * `make scale`: real `chainmesh node` processes on loopback (regtest) at N = 10, 25, 50, 100 on
 * this one machine, with the method of bench/cluster.bench.ts, and the report
 * bench/results/scale.md with its SVG plots (bench/scale/plot.ts).
 *
 * One cluster grows 10 → 25 → 50 → 100; the nodes start as `chainmesh cluster` starts them
 * (staggered, with its Node.js flags). Per N:
 * - discovery: from every new process answering /healthz until every node has at least
 *   min(N − 1, RELAY_FANOUT) live peers (GET /info `peers`), the number block relay needs;
 * - propagation: a block generated on a random node (POST /admin/generate) until every node has
 *   connected it, timed by the nodes' own `block connected` log lines (ms timestamps, one clock);
 *   each node's arrival time after the origin's goes into the CDF;
 * - messages and bytes per node per block: deltas of chainmesh_p2p_{messages,bytes}_sent_total
 *   {kind="block"} over the rounds;
 * - idle cost per node over IDLE_WINDOW_MS: RSS, PSS, threads, fds, CPU s per minute (/proc).
 * Propagation p50 is fitted against ln N and against N by least squares (slope, R²).
 *
 * Bounded: every wait has a deadline, the whole run at most RUN_DEADLINE_MS, every process is
 * killed at the end, ports are below 32768 (freePortBlock). SCALE_SIZES=10,25 shortens a run.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { execFileSync, spawn } from 'node:child_process';
import { CHILD_EXEC_ARGV } from '../../src/cli/cluster.js';
import { keepLiveFor } from '../../src/p2p/index.js';
import {
  ADMIN_TOKEN,
  freePortBlock,
  jsonOrText,
  loopbackNodeEnv,
  stopAll,
  tempDir,
  type NodeProcess,
} from '../../test/helpers/processes.js';
import { killOnExit, launchNode, percentile, withDeadline } from '../helpers-cluster.js';
import { cdfPlot, linePlot } from './plot.js';
import { BLOCK_RELAY_KINDS, fit, kindCounts, type BlockRelayKind } from './stats.js';
import { idleCost, meanCost, sampleProcess, type IdleCost } from './proc.js';

const SIZES = (process.env.SCALE_SIZES ?? '10,25,50,100').split(',').map(Number);
const ROUNDS = Number(process.env.SCALE_BLOCKS ?? 8);
if (SIZES.some((n) => !Number.isInteger(n) || n < 2 || n > 200) || !(ROUNDS >= 1 && ROUNDS <= 100)) {
  console.error('SCALE_SIZES must be integers 2-200 (e.g. 10,25), SCALE_BLOCKS an integer 1-100');
  process.exit(2);
}
const MAX_N = Math.max(...SIZES);
/** The production defaults (config.ts), as `chainmesh cluster` runs: the bench overrides none. */
const RELAY_FANOUT = 8;
const GOSSIP_INTERVAL_MS = 3000;
const STARTING_AT_ONCE = Math.max(2, 2 * os.availableParallelism());
/** Ports of this bench (the helpers of this repository each have a range). */
const PORT_RANGE = { from: 14_000, to: 20_000 };
/**
 * Deadlines that grow with the cluster, bounded: start-up 60 s + 5 s per new process (a node
 * loads on about 1 s of CPU, on 2 cores shared with the nodes already running and with whatever
 * else the machine runs: 310 s from 50 to 100), discovery 60 s + 2 s per node (260 s at N = 100).
 */
const startupDeadlineMs = (added: number) => 60_000 + 5_000 * added;
const discoveryDeadlineMs = (n: number) => 60_000 + 2_000 * n;
/** Discovery polls a node at most this often, and at most DISCOVERY_POLLS_AT_ONCE nodes at once. */
const DISCOVERY_POLL_MS = 1_000;
const DISCOVERY_POLLS_AT_ONCE = 8;
const IDLE_SETTLE_MS = 5_000;
const IDLE_WINDOW_MS = 15_000;
/** One request to a node; on a machine this loaded a node may answer slowly, so a few tries. */
const REQUEST_TIMEOUT_MS = 15_000;
const REQUEST_TRIES = 3;
const RUN_DEADLINE_MS = 15 * 60_000;
const MESSAGES = 'chainmesh_p2p_messages_sent_total';
const BYTES = 'chainmesh_p2p_bytes_sent_total';

const OUT_DIR = join(import.meta.dirname, '..', 'results');

interface Member {
  proc: NodeProcess;
  /** block hash → unix ms at which this node logged `block connected`. */
  connected: Map<string, number>;
}

interface SizeResult {
  n: number;
  loadAvg: number;
  startupMs: number;
  discoveryMs: number;
  /** Per round: ms from the origin's connect to the last node's. */
  rounds: number[];
  /** Every node's arrival after the origin, all rounds. */
  arrivals: number[];
  /** Block relay messages (BLOCK_RELAY_KINDS together) sent per node per block. */
  messagesPerNodeBlock: number;
  bytesPerNodeBlock: number;
  /** The same by kind. */
  byKind: Record<BlockRelayKind, { messagesPerNodeBlock: number; bytesPerNodeBlock: number }>;
  /** CPU ms per node per block: all nodes' CPU over the rounds, less their idle rate, ÷ (N × blocks). */
  cpuMsPerNodeBlock: number;
  /** CPU seconds a new process had used when discovery ended (loading, joining, first peers). */
  startupCpuSecPerNode: number;
  idle: IdleCost;
  maxFds: number;
  /** A bare `node -e setInterval` over the same idle window: the floor of a Node.js process. */
  bareNode?: IdleCost;
}

const root = tempDir('chainmesh-scale-');
const running = new Set<NodeProcess>();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** GET or (with a body) admin POST, retried on a timeout or a refused connection. */
async function request(url: string, body?: unknown): Promise<{ status: number; body: unknown }> {
  for (let attempt = 1; ; attempt++) {
    try {
      const res = await fetch(url, {
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
        ...(body !== undefined && {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_TOKEN}` },
          body: JSON.stringify(body),
        }),
      });
      return { status: res.status, body: jsonOrText(await res.text()) };
    } catch (err) {
      if (attempt >= REQUEST_TRIES)
        throw new Error(`${url}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
}

/**
 * Records each `block connected` line's timestamp. Only lines naming it are parsed: at debug
 * level 100 nodes write a lot, and a child blocks on a full stdout pipe (pipes are synchronous
 * in Node.js on Linux), so the reader must keep up.
 */
function onBlockConnected(node: NodeProcess, connected: Map<string, number>): void {
  for (const stream of [node.child.stdout, node.child.stderr]) {
    let buffered = '';
    stream?.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const text of lines) {
        if (!text.includes('"block connected"')) continue;
        try {
          const fields = JSON.parse(text) as { hash?: unknown; timestamp?: unknown };
          const at = Date.parse(String(fields.timestamp));
          if (typeof fields.hash === 'string' && Number.isFinite(at)) connected.set(fields.hash, at);
        } catch {
          // a foreign line
        }
      }
    });
  }
}

async function startMember(name: string, port: number, seeds: string[]): Promise<Member> {
  const dataDir = join(root, name);
  const connected = new Map<string, number>();
  const proc = await launchNode({
    name,
    port,
    dataDir,
    execArgv: CHILD_EXEC_ARGV,
    env: {
      ...loopbackNodeEnv(port, dataDir, seeds),
      LOG_LEVEL: 'debug', // `block connected` lines are the propagation clock
    },
    timeoutMs: 180_000,
    spawned: (p) => {
      running.add(p);
      onBlockConnected(p, connected);
    },
  });
  return { proc, connected };
}

async function infoOf(m: Member): Promise<{ peers: number; tipHash: string } | undefined> {
  const res = await request(`${m.proc.url}/info`).catch(() => undefined);
  return res?.status === 200 ? (res.body as { peers: number; tipHash: string }) : undefined;
}

/** Runs `work` on every item, at most `atOnce` at a time. */
async function forEachBounded<T>(items: readonly T[], atOnce: number, work: (item: T) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(atOnce, items.length) }, async () => {
      while (next < items.length) await work(items[next++] as T);
    }),
  );
}

/**
 * Until every node has at least `target` live peers. The bench's own requests must not be what
 * loads the machine (100 nodes polled every 250 ms were 400 requests a second): a node is polled
 * about once a second, a few at once, only until it first reaches the target; then one sweep over
 * all confirms none fell back (else polling goes on).
 */
async function untilDiscovered(members: Member[], target: number, since: number, n: number): Promise<void> {
  const pending = new Set(members);
  let reportedAt = performance.now();
  for (;;) {
    const roundStart = performance.now();
    await forEachBounded([...pending], DISCOVERY_POLLS_AT_ONCE, async (m) => {
      if (((await infoOf(m))?.peers ?? 0) >= target) pending.delete(m);
    });
    if (pending.size === 0) {
      const infos = await Promise.all(members.map(infoOf));
      members.forEach((m, i) => ((infos[i]?.peers ?? 0) < target ? pending.add(m) : undefined));
      if (pending.size === 0) return;
    }
    if (performance.now() - reportedAt > 10_000) {
      reportedAt = performance.now();
      console.log(
        `discovery N=${n} +${f1((reportedAt - since) / 1000)} s: ${pending.size} nodes below ${target} live peers (load ${f1(os.loadavg()[0] ?? 0)})`,
      );
    }
    await sleep(Math.max(0, DISCOVERY_POLL_MS - (performance.now() - roundStart)));
  }
}

/** CPU seconds (utime + stime) of each member's process now. */
const cpuOf = (members: readonly Member[]) =>
  members.map((m) => sampleProcess(m.proc.child.pid as number).cpuSec);

/** Grows the cluster to n (staggered like `chainmesh cluster`); start-up and discovery ms, start-up CPU. */
async function grow(
  members: Member[],
  n: number,
  basePort: number,
): Promise<{ startupMs: number; discoveryMs: number; startupCpuSecPerNode: number }> {
  const t0 = performance.now();
  const from = members.length;
  if (members.length === 0) members.push(await startMember('seed', basePort, []));
  const seed = `127.0.0.1:${basePort}`;
  let next = members.length;
  await withDeadline(
    `start-up to N=${n}`,
    startupDeadlineMs(n - from),
    Promise.all(
      Array.from({ length: STARTING_AT_ONCE }, async () => {
        while (next < n) {
          const i = next++;
          members[i] = await startMember(`node${i}`, basePort + i, [seed]);
        }
      }),
    ),
  );
  const healthyAt = performance.now();
  const target = Math.min(n - 1, RELAY_FANOUT);
  await withDeadline(
    `discovery N=${n}`,
    discoveryDeadlineMs(n),
    untilDiscovered(members, target, healthyAt, n),
  );
  const discoveryMs = performance.now() - healthyAt;
  const added = members.slice(Math.max(1, from));
  const startupCpu = cpuOf(added).reduce((a, b) => a + b, 0) / Math.max(1, added.length);
  return { startupMs: healthyAt - t0, discoveryMs, startupCpuSecPerNode: startupCpu };
}

/** Per kind of BLOCK_RELAY_KINDS, the sum over the members of a `{kind=...}` counter. */
async function blockCounters(members: Member[], name: string): Promise<Record<BlockRelayKind, number>> {
  const sums = Object.fromEntries(BLOCK_RELAY_KINDS.map((k) => [k, 0])) as Record<BlockRelayKind, number>;
  await forEachBounded(members, DISCOVERY_POLLS_AT_ONCE, async (m) => {
    const res = await request(`${m.proc.url}/metrics`);
    for (const [kind, value] of Object.entries(kindCounts(String(res.body), name)))
      sums[kind as BlockRelayKind] += value;
  });
  return sums;
}

type Propagation = Pick<
  SizeResult,
  'rounds' | 'arrivals' | 'messagesPerNodeBlock' | 'bytesPerNodeBlock' | 'byKind'
> & { cpuSec: number; wallSec: number };

async function propagation(members: Member[]): Promise<Propagation> {
  const n = members.length;
  const [m0, b0] = await Promise.all([blockCounters(members, MESSAGES), blockCounters(members, BYTES)]);
  const rounds: number[] = [];
  const arrivals: number[] = [];
  const cpu0 = cpuOf(members);
  const wall0 = performance.now();
  for (let r = 0; r < ROUNDS; r++) {
    const origin = members[Math.floor(Math.random() * n)] as Member;
    const res = await request(`${origin.proc.url}/admin/generate`, { count: 1 });
    if (res.status !== 200)
      throw new Error(`generate on ${origin.proc.name}: ${res.status} ${JSON.stringify(res.body)}`);
    const hash = String((res.body as { hashes: string[] }).hashes[0]);
    await withDeadline(
      `propagation N=${n} round ${r + 1}`,
      30_000,
      (async () => {
        while (!members.every((m) => m.connected.has(hash))) await sleep(20);
      })(),
    );
    const t0 = origin.connected.get(hash) as number;
    const times = members.filter((m) => m !== origin).map((m) => (m.connected.get(hash) as number) - t0);
    arrivals.push(...times);
    rounds.push(Math.max(0, ...times));
    await sleep(300 + Math.random() * 300); // blocks apart, as mined blocks are
  }
  const wallSec = (performance.now() - wall0) / 1000;
  const cpu1 = cpuOf(members);
  const cpuSec = cpu1.reduce((a, c, i) => a + c - (cpu0[i] as number), 0);
  const [m1, b1] = await Promise.all([blockCounters(members, MESSAGES), blockCounters(members, BYTES)]);
  const perNodeBlock = (x: number) => x / (n * ROUNDS);
  const byKind = Object.fromEntries(
    BLOCK_RELAY_KINDS.map((k) => [
      k,
      { messagesPerNodeBlock: perNodeBlock(m1[k] - m0[k]), bytesPerNodeBlock: perNodeBlock(b1[k] - b0[k]) },
    ]),
  ) as SizeResult['byKind'];
  const sum = (pick: (k: BlockRelayKind) => number) => BLOCK_RELAY_KINDS.reduce((a, k) => a + pick(k), 0);
  return {
    rounds,
    arrivals,
    messagesPerNodeBlock: sum((k) => byKind[k].messagesPerNodeBlock),
    bytesPerNodeBlock: sum((k) => byKind[k].bytesPerNodeBlock),
    byKind,
    cpuSec,
    wallSec,
  };
}

const f0 = (x: number) => x.toFixed(0);
const f1 = (x: number) => x.toFixed(1);
const f2 = (x: number) => x.toFixed(2);

function writeReport(
  results: SizeResult[],
  startedAt: Date,
  loadStart: number[],
  stopped?: string,
  runCommit?: string,
  finished?: { seconds: number; loadEnd: number[] },
): void {
  mkdirSync(OUT_DIR, { recursive: true });
  const cores = os.cpus().length;
  const ns = results.map((r) => r.n);
  const sorted = (xs: readonly number[]) => [...xs].sort((a, b) => a - b);
  const p50 = results.map((r) => percentile(sorted(r.rounds), 50));
  const p99 = results.map((r) => percentile(sorted(r.rounds), 99));
  const logFit = fit(
    ns.map((n) => Math.log(n)),
    p50,
  );
  const linFit = fit(ns, p50);
  const better = logFit.r2 >= linFit.r2 ? 'log N' : 'N';
  /** ms the machine's cores need for every node's share of one block, if they did nothing else. */
  const cpuBound = results.map((r) => (r.n * (r.cpuMsPerNodeBlock ?? Number.NaN)) / cores);
  const svg = (name: string, body: string) => writeFileSync(join(OUT_DIR, name), body);
  svg(
    'scale-propagation-cdf.svg',
    cdfPlot(
      results.map((r) => ({ name: `N=${r.n}`, values: r.arrivals })),
      {
        title: 'Block arrival after the origin node, per N',
        xLabel: 'ms after the origin connected the block',
        yLabel: '% of node arrivals',
      },
    ),
  );
  svg(
    'scale-propagation.svg',
    linePlot(
      [
        { name: 'p50 (last node)', points: ns.map((n, i) => [n, p50[i] as number]) },
        { name: 'p99 (last node)', points: ns.map((n, i) => [n, p99[i] as number]) },
        {
          name: `N × CPU ms per node per block ÷ ${cores} cores`,
          points: ns.map((n, i) => [n, cpuBound[i] as number]),
        },
      ],
      { title: 'Block on every node against N', xLabel: 'nodes (log scale)', yLabel: 'ms', xLog: true },
    ),
  );
  svg(
    'scale-messages.svg',
    linePlot(
      [
        { name: 'all block relay messages', points: results.map((r) => [r.n, r.messagesPerNodeBlock]) },
        ...BLOCK_RELAY_KINDS.map((k) => ({
          name: k,
          points: results.map((r): [number, number] => [
            r.n,
            r.byKind?.[k]?.messagesPerNodeBlock ?? Number.NaN,
          ]),
        })),
      ],
      {
        title: 'Block relay messages per node per block',
        xLabel: 'nodes',
        yLabel: 'messages sent per node per block',
      },
    ),
  );
  svg(
    'scale-memory.svg',
    linePlot(
      [
        { name: 'RSS', points: results.map((r) => [r.n, r.idle.rssMb]) },
        { name: 'PSS', points: results.map((r) => [r.n, r.idle.pssMb]) },
      ],
      { title: 'Idle memory per node', xLabel: 'nodes', yLabel: 'MB per node' },
    ),
  );
  let commit = runCommit ?? 'unknown';
  if (runCommit === undefined)
    try {
      commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    } catch {
      // not a git checkout
    }
  const cpuLines = results.map(
    (r, i) =>
      `- N = ${r.n}: ${f1(r.cpuMsPerNodeBlock ?? Number.NaN)} CPU ms per node per block × ${r.n} nodes ÷ ${cores} cores = ` +
      `${f0(cpuBound[i] as number)} ms, against a p50 of ${f0(p50[i] as number)} ms`,
  );
  const machineLines = results.map(
    (r) =>
      `- N = ${r.n}: idle, ${r.n} × ${f2(r.idle.cpuSecPerMin)} CPU s/min ÷ 60 = ${f2((r.n * r.idle.cpuSecPerMin) / 60)} of the ${cores} cores; ` +
      `${r.n} × ${f1(r.idle.pssMb)} MB PSS = ${f0(r.n * r.idle.pssMb)} MB of memory; ` +
      `start-up ${f2(r.startupCpuSecPerNode ?? Number.NaN)} CPU s per new process`,
  );
  const last = results.at(-1);
  const unreached = SIZES.filter((n) => !ns.includes(n));
  const extrapolated =
    last === undefined
      ? []
      : unreached.map(
          (n) =>
            `- N = ${n} (not reached), at N = ${last.n}'s idle cost per node: ${n} × ${f2(last.idle.cpuSecPerMin)} ÷ 60 = ` +
            `${f2((n * last.idle.cpuSecPerMin) / 60)} of the ${cores} cores before any start-up, discovery or block`,
        );
  const fitSection =
    ns.length < 3
      ? `No fit: this run reached ${ns.length} size${ns.length === 1 ? '' : 's'} (${ns.join(', ')}), and a line through fewer than three points says nothing about log N against N.`
      : [
          `Least squares over the ${ns.length} sizes of the p50 time to the last node:`,
          '',
          `- against ln N: ${f1(logFit.slope)} ms per unit of ln N (${f1(logFit.slope * Math.LN2)} ms per doubling), intercept ${f0(logFit.intercept)} ms, R² = ${logFit.r2.toFixed(3)}`,
          `- against N: ${f2(linFit.slope)} ms per node, intercept ${f0(linFit.intercept)} ms, R² = ${linFit.r2.toFixed(3)}`,
          '',
          `The better fit is **${better}**${
            better === 'log N'
              ? ': bounded fan-out, each doubling of the network adds about one relay hop.'
              : ': on this 2-core machine every node of the N validates and relays each block on the same cores, so the time to the last node grows with the CPU all N need, which a machine per node would not have (the CPU bound below).'
          } A few sizes make a weak fit either way; R² is stated so the reader can judge.`,
        ].join('\n');
  const missing = SIZES.filter((n) => !ns.includes(n));
  const stoppedNote =
    stopped !== undefined && missing.length > 0
      ? `\n**This run stopped before N = ${missing.join(', ')}**: ${stopped} (load average ${os
          .loadavg()
          .map(f1)
          .join(' / ')} when it stopped). The figures below are those of the sizes it reached.\n`
      : '';
  const rows = results.map(
    (r, i) =>
      `| ${r.n} | ${f1(r.loadAvg)} | ${f1(r.startupMs / 1000)} | ${f2(r.startupCpuSecPerNode ?? Number.NaN)} | ${f1(r.discoveryMs / 1000)} | ` +
      `${f0(p50[i] as number)} | ${f0(p99[i] as number)} | ${f0(percentile(sorted(r.arrivals), 50))} | ` +
      `${f2(r.messagesPerNodeBlock)} | ${f0(r.bytesPerNodeBlock)} | ${f1(r.cpuMsPerNodeBlock ?? Number.NaN)} |`,
  );
  const idleRows = results.map(
    (r) =>
      `| ${r.n} | ${f1(r.idle.rssMb)} | ${f1(r.idle.pssMb)} | ${f2(r.idle.cpuSecPerMin)} | ${f1(r.idle.threads)} | ${f1(r.idle.fds)} (max ${r.maxFds}) |` +
      (r.bareNode ? ` ${f1(r.bareNode.rssMb)} / ${f1(r.bareNode.pssMb)} |` : ' - |'),
  );
  const kindRows = results.map(
    (r) =>
      `| ${r.n} | ` +
      BLOCK_RELAY_KINDS.map((k) =>
        r.byKind ? `${f2(r.byKind[k].messagesPerNodeBlock)} / ${f0(r.byKind[k].bytesPerNodeBlock)}` : '-',
      ).join(' | ') +
      ' |',
  );
  const md = `# Scale: real processes on one machine

Generated by \`make scale\` (bench/scale/main.ts) on ${startedAt.toISOString().slice(0, 16).replace('T', ' ')} UTC,
commit \`${commit}\`, ${cores} cores, ${f1(os.totalmem() / 2 ** 30)} GiB; load average (1/5/15 min) at start
${loadStart.map(f1).join(' / ')}${
    finished
      ? `, at the end ${finished.loadEnd.map(f1).join(' / ')}; the whole run took ${f0(finished.seconds)} s`
      : ''
  }. Per N the table gives the 1-minute load as the N's propagation rounds began. The machine is
shared: the load average says how much else ran.

One cluster of regtest \`chainmesh node\` processes on loopback grows ${ns.join(' → ')}, started staggered as
\`chainmesh cluster\` starts them (${STARTING_AT_ONCE} loading at once, Node.js flags \`${CHILD_EXEC_ARGV.join(' ')}\`),
every node seeded by the first, every setting at its default (gossip every ${GOSSIP_INTERVAL_MS} ms, relay fan-out
${RELAY_FANOUT}, peers kept live: ${keepLiveFor(RELAY_FANOUT)}) but \`LOG_LEVEL=debug\` for the \`block connected\` lines.
${stoppedNote}
- **start-up**: until every new process answers /healthz (deadline 60 s + 5 s per new process);
  **start-up CPU**: CPU seconds a new process had used when discovery ended (loading, joining).
- **discovery**: from then until every node has at least min(N − 1, ${RELAY_FANOUT}) live peers
  (GET /info \`peers\`; deadline 60 s + 2 s per node; each node polled about once a second until it
  first has them, then one sweep over all confirms).
- **propagation**: ${ROUNDS} blocks per N, each generated on a random node; a round lasts from the origin's
  \`block connected\` log line to the last node's (the nodes' own ms timestamps, one clock); p50/p99 over the
  rounds. "arrival p50" is the median over every node of every round.
- **block relay messages/bytes per node per block**: \`${MESSAGES}\` / \`${BYTES}\` of kinds
  ${BLOCK_RELAY_KINDS.join(', ')} (every message that carries a block or part of one), deltas over the
  rounds ÷ (N × blocks).
- **CPU ms per node per block**: utime + stime of all N processes (/proc) over the rounds, less their idle
  rate over the same wall time, ÷ (N × blocks).
- **idle per node**: mean over the N nodes after ${IDLE_SETTLE_MS / 1000} s of quiet, over ${IDLE_WINDOW_MS / 1000} s:
  RSS and PSS (/proc/PID/smaps_rollup), CPU seconds per minute, threads, open fds; and the same for a bare
  \`node -e "setInterval(() => {}, 1000)"\` in the same window, the floor of any Node.js process.

| N | load 1 min | start-up s | start-up CPU s / node | discovery s | block on every node p50 ms | p99 ms | arrival p50 ms | block relay msgs / node / block | bytes / node / block | CPU ms / node / block |
| -: | -: | -: | -: | -: | -: | -: | -: | -: | -: | -: |
${rows.join('\n')}

Block relay messages / bytes per node per block, by kind:

| N | ${BLOCK_RELAY_KINDS.join(' | ')} |
| -: | ${BLOCK_RELAY_KINDS.map(() => '-:').join(' | ')} |
${kindRows.join('\n')}

Idle cost per node:

| N | RSS MB | PSS MB | CPU s / idle min | threads | fds | bare Node.js RSS / PSS MB |
| -: | -: | -: | -: | -: | -: | -: |
${idleRows.join('\n')}

RSS counts every page a process maps, the node binary's and its shared libraries' included, in every
process; PSS divides each shared page by the processes sharing it, so summed over N nodes it is what the
machine holds (N × PSS is the memory the cluster needs). A bare Node.js process is most of an idle
node's RSS: the difference between the two RSS columns is what chainmesh itself adds.

## What the cluster costs the machine

Each node at idle keeps ${keepLiveFor(RELAY_FANOUT)} peers live (the larger of relay fan-out + 4 and 24): each pair pings once when
quiet for 5 s (one side first, the other 1.5 s later if it has not been pinged), and each node gossips once per
${GOSSIP_INTERVAL_MS / 1000} s: a bounded number of HTTP requests per node whatever N,
so the idle CPU per node should stay flat with N and the cluster's grows like N.

${[...machineLines, ...extrapolated].join('\n')}

## How propagation grows with N

${fitSection}

The CPU bound: all N nodes validate and relay every block on the machine's ${cores} cores, so the last
node cannot have it before N × (CPU ms per node per block) ÷ ${cores} — the relay's hops run in
parallel only as far as the cores allow:

${cpuLines.join('\n')}

![Block arrival CDF per N](scale-propagation-cdf.svg)

![Block on every node against N](scale-propagation.svg)

![Messages per node per block against N](scale-messages.svg)

![Idle memory per node against N](scale-memory.svg)

The raw figures: [scale.json](scale.json).
`;
  writeFileSync(join(OUT_DIR, 'scale.md'), md);
  writeFileSync(
    join(OUT_DIR, 'scale.json'),
    JSON.stringify(
      {
        startedAt,
        commit,
        loadStart,
        ...(finished && { durationSec: finished.seconds, loadEnd: finished.loadEnd }),
        ...(stopped !== undefined && { stopped }),
        results,
        fits: { logN: logFit, n: linFit },
      },
      null,
      2,
    ) + '\n',
  );
}

const results: SizeResult[] = [];
const startedAt = new Date();
const loadStart = os.loadavg();

async function main(): Promise<void> {
  const basePort = await freePortBlock(MAX_N, PORT_RANGE);
  const members: Member[] = [];
  const bare = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  try {
    await growAndMeasure(members, basePort, bare.pid as number);
  } finally {
    bare.kill('SIGKILL');
  }
}

async function growAndMeasure(members: Member[], basePort: number, barePid: number): Promise<void> {
  for (const n of SIZES) {
    const { startupMs, discoveryMs, startupCpuSecPerNode } = await grow(members, n, basePort);
    console.log(`N=${n}: start-up ${f1(startupMs / 1000)} s, discovery ${f1(discoveryMs / 1000)} s`);
    const loadAvg = os.loadavg()[0] ?? 0;
    const { cpuSec, wallSec, ...prop } = await propagation(members);
    console.log(
      `N=${n}: propagation p50 ${f0(
        percentile(
          [...prop.rounds].sort((a, b) => a - b),
          50,
        ),
      )} ms, ` +
        `p99 ${f0(
          percentile(
            [...prop.rounds].sort((a, b) => a - b),
            99,
          ),
        )} ms, ${f2(prop.messagesPerNodeBlock)} msgs/node/block (load ${f1(loadAvg)})`,
    );
    await sleep(IDLE_SETTLE_MS);
    const [bareNode, ...costs] = await idleCost(
      [barePid, ...members.map((m) => m.proc.child.pid as number)],
      IDLE_WINDOW_MS,
    );
    const idle = meanCost(costs);
    // The rounds' CPU less what the nodes burn idle over the same wall time: the blocks' own cost.
    const idleCpuSec = (idle.cpuSecPerMin / 60) * n * wallSec;
    const cpuMsPerNodeBlock = (Math.max(0, cpuSec - idleCpuSec) * 1000) / (n * ROUNDS);
    console.log(
      `N=${n}: idle RSS ${f1(idle.rssMb)} MB, PSS ${f1(idle.pssMb)} MB, CPU ${f2(idle.cpuSecPerMin)} s/min, fds ${f1(idle.fds)}; ` +
        `${f1(cpuMsPerNodeBlock)} CPU ms per node per block, start-up ${f2(startupCpuSecPerNode)} CPU s per node`,
    );
    results.push({
      n,
      loadAvg,
      startupMs,
      discoveryMs,
      startupCpuSecPerNode,
      ...prop,
      cpuMsPerNodeBlock,
      idle,
      maxFds: Math.max(...costs.map((c) => c.fds)),
      ...(bareNode && { bareNode }),
    });
    writeReport(results, startedAt, loadStart); // a report even if a larger N fails
  }
}

killOnExit(running, root);

if (process.env.SCALE_RENDER === '1') {
  // Re-renders scale.md and its plots from scale.json (the figures of the last run), runs nothing.
  const saved = JSON.parse(readFileSync(join(OUT_DIR, 'scale.json'), 'utf8')) as {
    startedAt: string;
    loadStart: number[];
    stopped?: string;
    commit: string;
    results: SizeResult[];
    durationSec?: number;
    loadEnd?: number[];
  };
  writeReport(
    saved.results,
    new Date(saved.startedAt),
    saved.loadStart,
    saved.stopped,
    saved.commit,
    saved.durationSec !== undefined && saved.loadEnd !== undefined
      ? { seconds: saved.durationSec, loadEnd: saved.loadEnd }
      : undefined,
  );
  process.exit(0);
}

try {
  await withDeadline('the whole scale run', RUN_DEADLINE_MS, main());
  writeReport(results, startedAt, loadStart, undefined, undefined, {
    seconds: (Date.now() - startedAt.getTime()) / 1000,
    loadEnd: os.loadavg(),
  });
} catch (err) {
  const why = err instanceof Error ? err.message : String(err);
  console.error(why);
  if (results.length > 0) writeReport(results, startedAt, loadStart, why);
  process.exitCode = 1;
} finally {
  await stopAll(running);
  rmSync(root, { recursive: true, force: true });
}
