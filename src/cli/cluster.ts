import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { getNetwork, NETWORKS } from '../core/index.js';
import { nodeJson } from './http.js';
import { EXIT_CONFIG, EXIT_FAILURE } from './run-node.js';

export interface ClusterOptions {
  nodes: number;
  basePort: number;
  network: 'demo' | 'regtest';
  dataDir: string;
  mine: boolean;
  intensity: number;
  adminToken: string;
  /** Address every miner pays (MINER_ADDRESS); undefined: each node's own key. */
  minerAddress: string | undefined;
  /** Stop after this many seconds (for scripts); undefined runs until Ctrl-C. */
  durationSec: number | undefined;
}

interface Member {
  name: string;
  port: number;
  dataDir: string;
  child: ChildProcess;
  /** The node id the process started with (DATA_DIR/node-id), once it has written it. */
  nodeId: string | undefined;
  exitCode: number | null;
  /** Last line the node wrote to stderr: why it exited, if it did. */
  lastLine: string;
}

interface InfoRow {
  nodeId: string;
  network: string;
  height: number;
  tipHash: string;
  peers: number;
  knownPeers: number;
  mempool: number;
  syncing: boolean;
}

const MAIN_SCRIPT = fileURLToPath(new URL('./main.js', import.meta.url));

/** Processes loading at once during start-up: two per core (loading is CPU-bound). */
const STARTING_AT_ONCE = Math.max(2, 2 * availableParallelism());
/** A node that has not answered /healthz by then no longer holds up the next ones (the table says why). */
const START_TIMEOUT_MS = 30_000;
/**
 * The live table asks every node for GET /info each refresh: at least this long per node between
 * refreshes (4 s for 101 processes), so that the table's own requests stay a small share of what
 * 100 nodes on 2 cores can answer.
 */
const TABLE_POLL_MS_PER_NODE = 40;
/** Up to this many processes the live table has a row per node; above, it summarises. */
const FULL_TABLE_ROWS = 16;
/**
 * Node.js flags for the children, which run by the dozen on a few cores: a young generation of
 * at most 1 MB per semi-space (V8's default grows it to 16 MB: an idle node's RSS wandered
 * 72-86 MB, capped at 75-76 MB) and one GC helper thread instead of four (11 → 8 threads,
 * −2-4 MB), measured with bench/scale/idle.ts.
 */
export const CHILD_EXEC_ARGV = ['--max-semi-space-size=1', '--v8-pool-size=1'];

/**
 * `chainmesh cluster`: a seed and N nodes as child processes on loopback, each
 * with its own data dir and log file, and a live table of their state. The
 * same `chainmesh node` command as in a container, configured the same way.
 */
export async function runCluster(opts: ClusterOptions): Promise<void> {
  const root = resolve(opts.dataDir);
  // Before anything starts: a port of the block taken by another process would otherwise answer for one of ours.
  for (let i = 0; i <= opts.nodes; i++) {
    const port = opts.basePort + i;
    if (await portIsFree(port)) continue;
    const name = i === 0 ? 'seed' : `node-${i}`;
    process.stderr.write(
      `chainmesh cluster: port ${port} (${name}) is in use by another process${await whoAnswers(port)}; ` +
        `nothing started: stop it or choose other ports (--base-port, SEED_PORT, or BASE_PORT with make cluster)\n`,
    );
    process.exit(EXIT_CONFIG);
  }
  try {
    await mkdir(root, { recursive: true });
  } catch (err) {
    process.stderr.write(
      `chainmesh cluster: --data-dir ${JSON.stringify(opts.dataDir)}: expected a directory this user can create and write ` +
        `(${err instanceof Error ? err.message : String(err)})\n`,
    );
    process.exit(EXIT_CONFIG);
  }
  const seedAddr = `127.0.0.1:${opts.basePort}`;
  const members: Member[] = [];
  let stopped = false;
  /** Set when a node refuses its configuration (a port in use): the cluster cannot be what was asked. */
  let failed: Member | undefined;
  let wake: (() => void) | undefined;
  const spawnMember = (i: number): Member => {
    const name = i === 0 ? 'seed' : `node-${i}`;
    const port = opts.basePort + i;
    const dir = join(root, name);
    // Each node checks its own DATA_DIR and says which one is wrong.
    const log = createWriteStream(join(root, `${name}.log`), { flags: 'a' });
    const child = spawn(process.execPath, [...CHILD_EXEC_ARGV, MAIN_SCRIPT, 'node'], {
      env: {
        ...process.env,
        PORT: String(port),
        BIND_HOST: '127.0.0.1',
        ADVERTISE_ADDR: `127.0.0.1:${port}`,
        SEED_HOSTS: i === 0 ? '' : seedAddr,
        DATA_DIR: dir,
        NETWORK: opts.network,
        MINER_ENABLED: String(opts.mine),
        MINING_INTENSITY: String(opts.intensity),
        ...(opts.minerAddress !== undefined && { MINER_ADDRESS: opts.minerAddress }),
        ADMIN_TOKEN: opts.adminToken,
        LOG_FORMAT: 'json',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.pipe(log);
    child.stderr?.pipe(log);
    const member: Member = {
      name,
      port,
      dataDir: dir,
      child,
      nodeId: undefined,
      exitCode: null,
      lastLine: '',
    };
    child.stderr?.on('data', (chunk: Buffer) => {
      const lines = chunk
        .toString()
        .split('\n')
        .filter((l) => l.trim() !== '');
      member.lastLine = lines.at(-1) ?? member.lastLine;
    });
    child.on('exit', (code) => {
      member.exitCode = code ?? 1;
      if (stopped) return;
      process.stderr.write(
        `chainmesh cluster: ${name} exited with code ${member.exitCode}${member.lastLine ? `: ${member.lastLine}` : ''}\n`,
      );
      if (member.exitCode === EXIT_CONFIG) {
        failed ??= member;
        wake?.();
      }
    });
    members.push(member);
    return member;
  };

  // Staggered start-up: a node spends about a second of CPU loading before it answers, so at most
  // STARTING_AT_ONCE processes load at a time (the seed first, alone); 100 starting together on
  // two cores would each take a minute and time out their first requests to each other.
  const launching = (async () => {
    const launchOne = async (i: number) => {
      if (stopped || failed) return;
      const member = spawnMember(i);
      const deadline = Date.now() + START_TIMEOUT_MS;
      while (!stopped && member.exitCode === null && Date.now() < deadline) {
        if (await answersHealth(member.port)) return;
        await new Promise((r) => setTimeout(r, 200));
      }
    };
    await launchOne(0);
    let next = 1;
    await Promise.all(
      Array.from({ length: Math.min(STARTING_AT_ONCE, opts.nodes) }, async () => {
        while (next <= opts.nodes) await launchOne(next++);
      }),
    );
  })();

  const interactive = process.stdout.isTTY === true;
  process.stdout.write(
    `chainmesh cluster: ${opts.nodes + 1} processes on 127.0.0.1:${opts.basePort}-${opts.basePort + opts.nodes}, ` +
      `network ${opts.network}, data and logs in ${root}\n` +
      `admin token: ${opts.adminToken}   stop with Ctrl-C\n`,
  );

  const stopAll = async () => {
    if (stopped) return;
    stopped = true;
    wake?.();
    for (const m of members) if (m.exitCode === null) m.child.kill('SIGTERM');
    await Promise.all(
      members.map(
        (m) =>
          new Promise<void>((done) => (m.exitCode !== null ? done() : m.child.once('exit', () => done()))),
      ),
    );
    process.stdout.write('all nodes stopped\n');
  };
  process.on('SIGINT', () => void stopAll().then(() => process.exit(0)));
  process.on('SIGTERM', () => void stopAll().then(() => process.exit(0)));

  const genesisHash = getNetwork(opts.network).genesisHash;
  const started = Date.now();
  let states: MemberState[] = [];
  while (!stopped && !failed) {
    states = await Promise.all(members.map((m) => observe(m, genesisHash)));
    const total = opts.nodes + 1;
    const table =
      total <= FULL_TABLE_ROWS ? renderTable(members, states, total) : renderSummary(members, states, total);
    process.stdout.write(interactive ? `\x1b[H\x1b[J${table}` : `${table}\n`);
    if (opts.durationSec !== undefined && Date.now() - started >= opts.durationSec * 1000) break;
    await new Promise<void>((r) => {
      const timer = setTimeout(r, Math.max(interactive ? 1000 : 2000, total * TABLE_POLL_MS_PER_NODE));
      wake = () => {
        clearTimeout(timer);
        r();
      };
    });
    wake = undefined;
  }
  // Ctrl-C or SIGTERM: the signal's handler stops the nodes and exits 0.
  if (stopped) return;
  await stopAll();
  await launching;
  if (failed) {
    process.stderr.write(
      `chainmesh cluster: stopped: ${failed.name} could not start with its configuration\n`,
    );
    process.exit(EXIT_CONFIG);
  }
  // A timed run is for scripts: it succeeds only if every node was up, as itself, at the end.
  const down = members.filter((_, i) => states[i]?.kind !== 'up');
  const neverStarted = opts.nodes + 1 - states.length;
  if (down.length > 0 || neverStarted > 0) {
    const shown = down.slice(0, 10).map((m) => `${m.name} ${describeState(states[members.indexOf(m)])}`);
    if (down.length > shown.length) shown.push(`${down.length - shown.length} more`);
    if (neverStarted > 0) shown.push(`${neverStarted} not started yet`);
    process.stderr.write(
      `chainmesh cluster: after ${opts.durationSec} s, not every node was up: ${shown.join('; ')}\n`,
    );
    process.exit(EXIT_FAILURE);
  }
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((done) => {
    const server = createServer();
    server.once('error', () => done(false));
    server.listen(port, '127.0.0.1', () => server.close(() => done(true)));
  });
}

/** What answers on a taken port, if it is a chainmesh node: its id and network. */
async function whoAnswers(port: number): Promise<string> {
  try {
    const info = await nodeJson<Partial<InfoRow>>(`http://127.0.0.1:${port}/info`, { timeoutMs: 1000 });
    if (typeof info.nodeId !== 'string' || typeof info.network !== 'string') return '';
    const network = Object.values(NETWORKS).find((p) => p.genesisHash === info.network)?.name ?? 'unknown';
    return ` (chainmesh node ${info.nodeId.slice(0, 8)} of network ${network} answers there: a cluster still running?)`;
  } catch {
    return '';
  }
}

/**
 * A member is up only when the node answering on its port is the process it
 * started: the node id that process wrote to its data dir, on the network asked.
 */
type MemberState =
  | { kind: 'up'; info: InfoRow }
  | { kind: 'starting' }
  | { kind: 'exited'; code: number }
  | { kind: 'not-ours'; why: string };

async function observe(member: Member, genesisHash: string): Promise<MemberState> {
  if (member.exitCode !== null) return { kind: 'exited', code: member.exitCode };
  member.nodeId ??= await readFile(join(member.dataDir, 'node-id'), 'utf8').then(
    (text) => text.trim() || undefined,
    () => undefined,
  );
  let info: InfoRow;
  try {
    // A busy machine (100 nodes on 2 cores) answers in seconds: late is still up.
    info = await nodeJson<InfoRow>(`http://127.0.0.1:${member.port}/info`, { timeoutMs: 3000 });
  } catch {
    return { kind: 'starting' };
  }
  if (info.network !== genesisHash) return { kind: 'not-ours', why: 'another network answers' };
  if (member.nodeId === undefined) return { kind: 'starting' };
  if (info.nodeId !== member.nodeId)
    return { kind: 'not-ours', why: `node ${String(info.nodeId).slice(0, 8)} answers` };
  return { kind: 'up', info };
}

function describeState(state: MemberState | undefined): string {
  switch (state?.kind) {
    case 'up':
      return 'ok';
    case 'exited':
      return `exited ${state.code}`;
    case 'not-ours':
      return `NOT OURS: ${state.why}`;
    default:
      return 'starting';
  }
}

async function answersHealth(port: number): Promise<boolean> {
  try {
    await nodeJson(`http://127.0.0.1:${port}/healthz`, { timeoutMs: 1000 });
    return true;
  } catch {
    return false;
  }
}

function notStartedLine(total: number, started: number): string[] {
  return started < total
    ? [`${total - started} of ${total} processes not started yet (staggered start-up)`]
    : [];
}

function renderTable(members: Member[], states: MemberState[], total: number): string {
  const header = ['node', 'port', 'height', 'tip', 'peers', 'known', 'mempool', 'state'];
  const rows = states.map((s) => (s.kind === 'up' ? s.info : undefined));
  const lines = members.map((m, i) => {
    const row = rows[i];
    if (!row) return [m.name, String(m.port), '-', '-', '-', '-', '-', describeState(states[i])];
    return [
      m.name,
      String(m.port),
      String(row.height),
      row.tipHash.slice(0, 16),
      String(row.peers),
      String(row.knownPeers),
      String(row.mempool),
      row.syncing ? 'syncing' : 'ok',
    ];
  });
  const tips = new Set(rows.filter((r): r is InfoRow => r !== undefined).map((r) => r.tipHash));
  const widths = header.map((h, c) => Math.max(h.length, ...lines.map((l) => (l[c] ?? '').length)));
  const format = (cells: string[]) => cells.map((cell, c) => cell.padEnd(widths[c] ?? 0)).join('  ');
  return [
    format(header),
    ...lines.map(format),
    ...notStartedLine(total, members.length),
    `${new Date().toISOString()}  distinct tips: ${tips.size}`,
    '',
  ].join('\n');
}

/** The live table for many nodes: counts by state, ranges of the figures, and the nodes not ok. */
function renderSummary(members: Member[], states: MemberState[], total: number): string {
  const up = states.flatMap((s) => (s.kind === 'up' ? [s.info] : []));
  const counts = new Map<string, number>();
  for (const s of states) {
    const key = s.kind === 'up' ? (s.info.syncing ? 'syncing' : 'ok') : s.kind;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  const range = (pick: (r: InfoRow) => number) => {
    const values = up.map(pick).sort((a, b) => a - b);
    if (values.length === 0) return '-';
    return `${values[0]}/${values[Math.floor(values.length / 2)]}/${values.at(-1)}`;
  };
  const tips = new Map<string, number>();
  for (const r of up) tips.set(r.tipHash, (tips.get(r.tipHash) ?? 0) + 1);
  const commonest = [...tips].sort((a, b) => b[1] - a[1])[0];
  const problems = members.flatMap((m, i) => {
    const s = states[i];
    return s?.kind === 'up' ? [] : [`${m.name} (${m.port}) ${describeState(s)}`];
  });
  return [
    `${members.length} of ${total} processes started: ` +
      [...counts].map(([state, n]) => `${n} ${state}`).join(', '),
    `min/median/max  height ${range((r) => r.height)}  peers ${range((r) => r.peers)}  ` +
      `known ${range((r) => r.knownPeers)}  mempool ${range((r) => r.mempool)}`,
    `distinct tips: ${tips.size}` +
      (commonest ? `  (${commonest[1]} nodes on ${commonest[0].slice(0, 16)})` : ''),
    ...(problems.length > 0
      ? [
          `not up: ${problems.slice(0, 10).join('; ')}${problems.length > 10 ? `; ${problems.length - 10} more` : ''}`,
        ]
      : []),
    ...notStartedLine(total, members.length),
    `${new Date().toISOString()}  per-node rows: GET /info on each port; logs in the data dir`,
    '',
  ].join('\n');
}
