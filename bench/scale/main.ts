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
import { execFileSync } from 'node:child_process';
import { CHILD_EXEC_ARGV } from '../../src/cli/cluster.js';
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
import { idleCost, meanCost, type IdleCost } from './proc.js';

const SIZES = (process.env.SCALE_SIZES ?? '10,25,50,100').split(',').map(Number);
const ROUNDS = Number(process.env.SCALE_BLOCKS ?? 8);
if (SIZES.some((n) => !Number.isInteger(n) || n < 2 || n > 200) || !(ROUNDS >= 1 && ROUNDS <= 100)) {
  console.error('SCALE_SIZES must be integers 2-200 (e.g. 10,25), SCALE_BLOCKS an integer 1-100');
  process.exit(2);
}
const MAX_N = Math.max(...SIZES);
const RELAY_FANOUT = 8;
const GOSSIP_INTERVAL_MS = 1000;
const STARTING_AT_ONCE = Math.max(2, 2 * os.availableParallelism());
const IDLE_SETTLE_MS = 5_000;
const IDLE_WINDOW_MS = 15_000;
/** One request to a node; on a machine this loaded a node may answer slowly, so a few tries. */
const REQUEST_TIMEOUT_MS = 15_000;
const REQUEST_TRIES = 3;
const RUN_DEADLINE_MS = 10 * 60_000;
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
  messagesPerNodeBlock: number;
  bytesPerNodeBlock: number;
  idle: IdleCost;
  maxFds: number;
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
      GOSSIP_INTERVAL_MS: String(GOSSIP_INTERVAL_MS),
      RELAY_FANOUT: String(RELAY_FANOUT),
      PEER_TIMEOUT_MS: '2000',
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

/** Grows the cluster to n (staggered like `chainmesh cluster`); returns start-up and discovery ms. */
async function grow(
  members: Member[],
  n: number,
  basePort: number,
): Promise<{ startupMs: number; discoveryMs: number }> {
  const t0 = performance.now();
  if (members.length === 0) members.push(await startMember('seed', basePort, []));
  const seed = `127.0.0.1:${basePort}`;
  let next = members.length;
  await withDeadline(
    `start-up to N=${n}`,
    400_000,
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
    120_000,
    (async () => {
      for (;;) {
        const infos = await Promise.all(members.map(infoOf));
        if (infos.every((i) => (i?.peers ?? 0) >= target)) return;
        await sleep(250);
      }
    })(),
  );
  return { startupMs: healthyAt - t0, discoveryMs: performance.now() - healthyAt };
}

async function blockCounter(members: Member[], name: string): Promise<number> {
  const counts = await Promise.all(
    members.map(async (m) => {
      const res = await request(`${m.proc.url}/metrics`);
      const line = String(res.body)
        .split('\n')
        .find((l) => l.startsWith(`${name}{kind="block"}`));
      return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
    }),
  );
  return counts.reduce((a, b) => a + b, 0);
}

async function propagation(
  members: Member[],
): Promise<Pick<SizeResult, 'rounds' | 'arrivals' | 'messagesPerNodeBlock' | 'bytesPerNodeBlock'>> {
  const n = members.length;
  const [m0, b0] = await Promise.all([blockCounter(members, MESSAGES), blockCounter(members, BYTES)]);
  const rounds: number[] = [];
  const arrivals: number[] = [];
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
  const [m1, b1] = await Promise.all([blockCounter(members, MESSAGES), blockCounter(members, BYTES)]);
  return {
    rounds,
    arrivals,
    messagesPerNodeBlock: (m1 - m0) / (n * ROUNDS),
    bytesPerNodeBlock: (b1 - b0) / (n * ROUNDS),
  };
}

/** Least squares y = a + b·x; slope b and R². */
export function fit(
  xs: readonly number[],
  ys: readonly number[],
): { slope: number; intercept: number; r2: number } {
  const n = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = (xs[i] as number) - mx;
    const dy = (ys[i] as number) - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  const slope = sxx === 0 ? 0 : sxy / sxx;
  return { slope, intercept: my - slope * mx, r2: syy === 0 || sxx === 0 ? 1 : (sxy * sxy) / (sxx * syy) };
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
): void {
  mkdirSync(OUT_DIR, { recursive: true });
  const ns = results.map((r) => r.n);
  const p50 = results.map((r) =>
    percentile(
      [...r.rounds].sort((a, b) => a - b),
      50,
    ),
  );
  const p99 = results.map((r) =>
    percentile(
      [...r.rounds].sort((a, b) => a - b),
      99,
    ),
  );
  const logFit = fit(
    ns.map((n) => Math.log(n)),
    p50,
  );
  const linFit = fit(ns, p50);
  const better = logFit.r2 >= linFit.r2 ? 'log N' : 'N';
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
      ],
      { title: 'Block on every node against N', xLabel: 'nodes (log scale)', yLabel: 'ms', xLog: true },
    ),
  );
  svg(
    'scale-messages.svg',
    linePlot([{ name: 'block messages', points: results.map((r) => [r.n, r.messagesPerNodeBlock]) }], {
      title: 'Block relay messages per node per block',
      xLabel: 'nodes',
      yLabel: 'messages sent per node per block',
    }),
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
              : ': on this shared 2-core machine the CPU all N processes need to validate and relay a block grows with N, which a machine per node would not have; see the arrival CDF.'
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
      `| ${r.n} | ${f1(r.loadAvg)} | ${f1(r.startupMs / 1000)} | ${f1(r.discoveryMs / 1000)} | ${f0(p50[i] as number)} | ${f0(p99[i] as number)} | ` +
      `${f0(
        percentile(
          [...r.arrivals].sort((a, b) => a - b),
          50,
        ),
      )} | ${f2(r.messagesPerNodeBlock)} | ${f0(r.bytesPerNodeBlock)} | ` +
      `${f1(r.idle.rssMb)} | ${f1(r.idle.pssMb)} | ${f2(r.idle.cpuSecPerMin)} | ${f1(r.idle.threads)} | ${f1(r.idle.fds)} (max ${r.maxFds}) |`,
  );
  const md = `# Scale: real processes on one machine

Generated by \`make scale\` (bench/scale/main.ts) on ${startedAt.toISOString().slice(0, 16).replace('T', ' ')} UTC,
commit \`${commit}\`, ${os.cpus().length} cores, ${f1(os.totalmem() / 2 ** 30)} GiB; load average (1/5/15 min) at start
${loadStart.map(f1).join(' / ')}, and per N in the table (1 min, as the N's propagation rounds began). The machine is
shared: the load average says how much else ran.

One cluster of regtest \`chainmesh node\` processes on loopback grows ${ns.join(' → ')}, started staggered as
\`chainmesh cluster\` starts them (${STARTING_AT_ONCE} loading at once, Node.js flags \`${CHILD_EXEC_ARGV.join(' ')}\`),
every node seeded by the first; gossip every ${GOSSIP_INTERVAL_MS} ms, relay fan-out ${RELAY_FANOUT}.
${stoppedNote}
- **discovery**: from every new process answering /healthz until every node has at least
  min(N − 1, ${RELAY_FANOUT}) live peers (GET /info \`peers\`).
- **propagation**: ${ROUNDS} blocks per N, each generated on a random node; a round lasts from the origin's
  \`block connected\` log line to the last node's (the nodes' own ms timestamps, one clock); p50/p99 over the
  rounds. "arrival p50" is the median over every node of every round.
- **messages/bytes per node per block**: \`${MESSAGES}\` / \`${BYTES}\` \`{kind="block"}\` deltas over the
  rounds ÷ (N × blocks).
- **idle per node**: mean over the N nodes after ${IDLE_SETTLE_MS / 1000} s of quiet, over ${IDLE_WINDOW_MS / 1000} s:
  RSS and PSS (/proc/PID/smaps_rollup; PSS counts the shared pages of the node binary once per machine),
  CPU seconds per minute, threads, open fds.

| N | load 1 min | start-up s | discovery s | block on every node p50 ms | p99 ms | arrival p50 ms | block msgs / node / block | bytes / node / block | RSS MB | PSS MB | CPU s / idle min | threads | fds |
| -: | -: | -: | -: | -: | -: | -: | -: | -: | -: | -: | -: | -: | -: |
${rows.join('\n')}

## How propagation grows with N

${fitSection}

![Block arrival CDF per N](scale-propagation-cdf.svg)

![Block on every node against N](scale-propagation.svg)

![Messages per node per block against N](scale-messages.svg)

![Idle memory per node against N](scale-memory.svg)

The raw figures: [scale.json](scale.json).
`;
  writeFileSync(join(OUT_DIR, 'scale.md'), md);
  writeFileSync(
    join(OUT_DIR, 'scale.json'),
    JSON.stringify({ startedAt, commit, loadStart, results, fits: { logN: logFit, n: linFit } }, null, 2) +
      '\n',
  );
}

const results: SizeResult[] = [];
const startedAt = new Date();
const loadStart = os.loadavg();

async function main(): Promise<void> {
  const basePort = await freePortBlock(MAX_N);
  const members: Member[] = [];
  for (const n of SIZES) {
    const { startupMs, discoveryMs } = await grow(members, n, basePort);
    console.log(`N=${n}: start-up ${f1(startupMs / 1000)} s, discovery ${f1(discoveryMs / 1000)} s`);
    const loadAvg = os.loadavg()[0] ?? 0;
    const prop = await propagation(members);
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
    const costs = await idleCost(
      members.map((m) => m.proc.child.pid as number),
      IDLE_WINDOW_MS,
    );
    const idle = meanCost(costs);
    console.log(
      `N=${n}: idle RSS ${f1(idle.rssMb)} MB, PSS ${f1(idle.pssMb)} MB, CPU ${f2(idle.cpuSecPerMin)} s/min, fds ${f1(idle.fds)}`,
    );
    results.push({
      n,
      loadAvg,
      startupMs,
      discoveryMs,
      ...prop,
      idle,
      maxFds: Math.max(...costs.map((c) => c.fds)),
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
  };
  writeReport(saved.results, new Date(saved.startedAt), saved.loadStart, saved.stopped, saved.commit);
  process.exit(0);
}

try {
  await withDeadline('the whole scale run', RUN_DEADLINE_MS, main());
} catch (err) {
  const why = err instanceof Error ? err.message : String(err);
  console.error(why);
  if (results.length > 0) writeReport(results, startedAt, loadStart, why);
  process.exitCode = 1;
} finally {
  await stopAll(running);
  rmSync(root, { recursive: true, force: true });
}
