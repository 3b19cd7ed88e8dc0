/**
 * Real `chainmesh node` processes on loopback (regtest): discovery time and
 * messages per join for N = 5, 10, 20, 40, and block propagation p50/p99 for
 * N ≤ 20, before and after an advertisement flood of 10,000 fake addresses.
 * One cluster grows 5 → 10 → 20 → 40 (start-up of node processes dominates the
 * run time on two cores). CLUSTER_SIZES (e.g. `10,20`) and CLUSTER_BLOCKS (blocks
 * per propagation measurement) shorten a run on a shared machine; CLUSTER_MAIN
 * runs another build's nodes (e.g. a copy of dist/ built at an older commit).
 *
 * bench-timeout-s: 600
 *
 * Block on every node (issue 12's method, the one its naivecoin figures were
 * taken with): from the mining request (POST /admin/generate) until every
 * node's GET /info shows the block as its tip, each node polled every 2 ms
 * until it does. GET /info is served by the node's fast lane (no express) and
 * polled over one kept-alive node:http connection per node, so the polls cost
 * the nodes ~70-140 µs of CPU each rather than ~0.3-0.9 ms (express, a new
 * fetch per poll); the bench reports what they cost per block.
 * The same figure node-timed, in as many rounds again with no poll at all:
 * from the mining request until the last node's `block connected` line (see
 * nodeTimed): the polls from one process on 2 cores compete with the relay
 * they measure, most of all at N = 20.
 *
 * CPU per block: user + system time of every node process (all threads) from
 * /proc/PID/stat over the rounds, divided by blocks — on a shared machine the
 * figure that says what the protocol costs, when wall-clock time says as much
 * about the neighbours. Messages and bytes per node per block are the deltas
 * of chainmesh_p2p_messages_sent_total / bytes_sent_total for the block relay
 * kinds over the rounds, divided by nodes × blocks.
 *
 * Propagation is timed by the nodes themselves: every node logs
 * `block connected` (debug level) with a millisecond timestamp, all processes
 * share this machine's clock, and a round's time is the last node's connect
 * time minus the generating node's — no polling interval in the measurement.
 *
 * Messages per join: after the cluster has settled, the background rate of
 * chainmesh_p2p_messages_sent_total (summed over all nodes) is measured; then
 * one more node joins through the seed, and the bench counts what it sent until
 * every node lists it, and what the whole network sent in that window beyond
 * the background rate.
 */
import { readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import { join } from 'node:path';
import {
  admin,
  freePort,
  request,
  stopAll,
  tempDir,
  loopbackNodeEnv,
  type NodeProcess,
} from '../test/helpers/processes.js';
import {
  counterSum,
  killOnExit,
  launchNode,
  onLogLines,
  percentile,
  withDeadline,
} from './helpers-cluster.js';
import { report, round } from './lib.js';

const GOSSIP_INTERVAL_MS = 1000;
const JOIN_FANOUT = 8;
const RELAY_FANOUT = 8;
/** Sizes the cluster grows through, and blocks per propagation measurement (env: a shorter run). */
const CLUSTER_SIZES = (process.env.CLUSTER_SIZES ?? '5,10,20,40').split(',').map(Number);
const PROPAGATION_ROUNDS = Number(process.env.CLUSTER_BLOCKS ?? 20);
/** Another build's dist/cli/main.js to run the nodes of (a before/after comparison); default this tree's. */
const CLUSTER_MAIN = process.env.CLUSTER_MAIN;
if (CLUSTER_SIZES.some((n) => !Number.isInteger(n) || n < 2 || n > 64) || !(PROPAGATION_ROUNDS >= 1)) {
  console.error('CLUSTER_SIZES must be integers 2-64 (e.g. 10,20), CLUSTER_BLOCKS a positive integer');
  process.exit(2);
}
const TIP_POLL_MS = 2;
/** Windows of the idle-rate and poll-cost measurements (CPU times come in 10 ms ticks per process). */
const CPU_WINDOW_MS = 2000;
const FLOOD_ADDRESSES = 10_000;
const BYTES = 'chainmesh_p2p_bytes_sent_total';
const KNOWLEDGE_POLL_MS = 250;
const BACKGROUND_WINDOW_MS = 4000;
const MESSAGES = 'chainmesh_p2p_messages_sent_total';
/** The chainmesh_p2p_messages_sent_total kinds that carry a block (whole or compact) or its missing transactions. */
const BLOCK_RELAY_KINDS = ['block', 'cmpctblock', 'getblocktxn'] as const;

interface Member {
  proc: NodeProcess;
  nodeId: string;
  /** block hash → unix ms at which this node logged `block connected`. */
  connected: Map<string, number>;
  /** block hash → node id of the peer whose relay push delivered it (absent: mined here, or synced). */
  relayedBy: Map<string, string>;
}

const root = tempDir('chainmesh-bench-cluster-');
const running = new Set<NodeProcess>();

function env(port: number, dataDir: string, seeds: string[]): Record<string, string> {
  return {
    ...loopbackNodeEnv(port, dataDir, seeds),
    // debug: `block connected` lines are the propagation clock
    LOG_LEVEL: 'debug',
    GOSSIP_INTERVAL_MS: String(GOSSIP_INTERVAL_MS),
    JOIN_FANOUT: String(JOIN_FANOUT),
    RELAY_FANOUT: String(RELAY_FANOUT),
    PEER_TIMEOUT_MS: '2000',
    MAX_PEERS: '64',
  };
}

async function startMember(name: string, seeds: string[]): Promise<Member> {
  const port = await freePort();
  const dataDir = join(root, name);
  const connected = new Map<string, number>();
  const relayedBy = new Map<string, string>();
  const proc = await launchNode({
    name,
    port,
    dataDir,
    env: env(port, dataDir, seeds),
    ...(CLUSTER_MAIN !== undefined && { main: CLUSTER_MAIN }),
    timeoutMs: 60_000,
    spawned: (p) => {
      running.add(p);
      onLogLines(p, (line) => {
        if (line.message === 'block connected' && typeof line.fields.hash === 'string') {
          connected.set(line.fields.hash, line.at);
        } else if (
          line.message === 'block accepted' &&
          typeof line.fields.hash === 'string' &&
          typeof line.fields.peer === 'string'
        ) {
          relayedBy.set(line.fields.hash, line.fields.peer);
        }
      });
    },
  });
  const info = await request(`${proc.url}/info`);
  if (info.status !== 200) throw new Error(`${name} /info: ${info.status}`);
  return { proc, nodeId: String((info.body as { nodeId: string }).nodeId), connected, relayedBy };
}

async function knownIds(m: Member): Promise<Set<string>> {
  const res = await request(`${m.proc.url}/known_node_request`);
  if (res.status !== 200 || !Array.isArray(res.body)) return new Set();
  return new Set((res.body as Array<{ nodeId: string }>).map((p) => p.nodeId));
}

/** Polls every node's known-node list until `done` holds for all; returns ms since `since`. */
async function untilKnown(
  members: Member[],
  expected: (m: Member) => string[],
  since: number,
): Promise<number> {
  for (;;) {
    const lists = await Promise.all(members.map(knownIds));
    const allKnow = members.every((m, i) => expected(m).every((id) => lists[i]?.has(id)));
    if (allKnow) return performance.now() - since;
    await new Promise((r) => setTimeout(r, KNOWLEDGE_POLL_MS));
  }
}

async function networkMessages(members: Member[]): Promise<number> {
  const counts = await Promise.all(members.map((m) => counterSum(m.proc, MESSAGES)));
  return counts.reduce((a, b) => a + b, 0);
}

/**
 * Grows the cluster to n nodes (a seed first when empty, then the missing ones
 * at once, all seeded by the first node); discovery is timed from the moment
 * every new process answers /healthz (process start-up on a loaded 2-core
 * machine is reported separately, it is not the protocol's doing).
 */
async function growCluster(members: Member[], n: number): Promise<void> {
  if (members.length === 0) members.push(await startMember('seed', []));
  const seedAddr = `127.0.0.1:${(members[0] as Member).proc.port}`;
  const spawnedAt = performance.now();
  const added = n - members.length;
  const base = members.length;
  members.push(
    ...(await withDeadline(
      `start-up of ${added} nodes`,
      90_000,
      Promise.all(Array.from({ length: added }, (_, i) => startMember(`node${base + i}`, [seedAddr]))),
    )),
  );
  const healthyAt = performance.now();
  const everyone = (m: Member) => members.filter((o) => o !== m).map((o) => o.nodeId);
  const ms = await withDeadline(`discovery N=${n}`, 120_000, untilKnown(members, everyone, healthyAt));
  report(`discovery N=${n}: every node knows every other`, round(ms, 0), 'ms', {
    ...(n === 10 ? { max: 5000 } : {}),
    note: `from the ${added} new processes all answering /healthz (their start-up took ${round(healthyAt - spawnedAt, 0)} ms), polls every ${KNOWLEDGE_POLL_MS} ms; gossip every ${GOSSIP_INTERVAL_MS} ms`,
  });
}

interface Round {
  ms: number;
  /** Each other node's connect time after the origin's, ascending. */
  arrivals: number[];
  /** Relay hops to the farthest node reached by pushes only. */
  maxHops: number;
  /** Nodes that got the block other than by a relay push (sync after hearing of more work). */
  notPushed: number;
  /** Per pushed node: its connect time minus that of the peer that pushed to it. */
  hopMs: number[];
}

function describeRound(hash: string, origin: Member, members: Member[]): Round {
  const t0 = origin.connected.get(hash) as number;
  const byId = new Map(members.map((m) => [m.nodeId, m]));
  const hops = (m: Member, depth = 0): number | undefined => {
    if (m === origin) return 0;
    const from = byId.get(m.relayedBy.get(hash) ?? '');
    if (!from || depth > members.length) return undefined;
    const h = hops(from, depth + 1);
    return h === undefined ? undefined : h + 1;
  };
  const others = members.filter((m) => m !== origin);
  const hopCounts = others.map((m) => hops(m));
  const arrivals = others.map((m) => (m.connected.get(hash) as number) - t0).sort((a, b) => a - b);
  return {
    ms: Math.max(0, ...arrivals),
    arrivals,
    maxHops: Math.max(0, ...hopCounts.map((h) => h ?? 0)),
    notPushed: hopCounts.filter((h) => h === undefined).length,
    hopMs: others.flatMap((m) => {
      const from = byId.get(m.relayedBy.get(hash) ?? '')?.connected.get(hash);
      return from === undefined ? [] : [(m.connected.get(hash) as number) - from];
    }),
  };
}

/**
 * The tip polls: GET /info (served by the node's fast lane, without express)
 * over one kept-alive node:http connection per node, the body read as JSON.
 * A fetch per poll cost the bench process, and express the nodes, a core's
 * worth at N = 20: the polls competed with the relay they measure.
 */
const pollAgent = new http.Agent({ keepAlive: true, maxSockets: 1 });
let tipPolls = 0;

function tipOf(m: Member): Promise<string | undefined> {
  tipPolls++;
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port: m.proc.port, path: '/info', agent: pollAgent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const body = JSON.parse(Buffer.concat(chunks).toString()) as { tipHash?: string };
          resolve(body.tipHash);
        });
        res.on('error', reject);
      })
      .on('error', reject);
  });
}

/** Polls each node's /info every TIP_POLL_MS until its tip is `hash`; ms from `t0` until the last one. */
async function untilEveryTip(members: Member[], hash: string, t0: number): Promise<number> {
  let waiting = members;
  let last = 0;
  while (waiting.length > 0) {
    const tips = await Promise.all(waiting.map(async (m) => (await tipOf(m)) === hash));
    if (tips.some(Boolean)) last = performance.now() - t0;
    waiting = waiting.filter((_, i) => !tips[i]);
    if (waiting.length > 0) await new Promise((r) => setTimeout(r, TIP_POLL_MS));
  }
  return last;
}

/** The cluster's CPU (ms) per ms of wall time while nothing but its background work (gossip, probes) runs. */
async function idleCpuRate(members: Member[]): Promise<number> {
  const cpu0 = clusterCpuMs(members);
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, CPU_WINDOW_MS));
  return (clusterCpuMs(members) - cpu0) / (performance.now() - t0);
}

/**
 * What the measurement itself costs the nodes: their CPU over a window of
 * polls without a block, minus the idle rate over the same time, per poll.
 */
async function pollCost(members: Member[], idleRate: number): Promise<number> {
  const polls0 = tipPolls;
  const cpu0 = clusterCpuMs(members);
  const t0 = performance.now();
  while (performance.now() < t0 + CPU_WINDOW_MS) {
    await Promise.all(members.map(tipOf));
    await new Promise((r) => setTimeout(r, TIP_POLL_MS));
  }
  const busy = clusterCpuMs(members) - cpu0 - idleRate * (performance.now() - t0);
  return Math.max(0, busy) / (tipPolls - polls0);
}

/** A counter's samples by `kind` label, summed over the members. */
async function countersByKind(members: Member[], name: string): Promise<Map<string, number>> {
  const byKind = new Map<string, number>();
  const texts = await Promise.all(
    members.map(async (m) => String((await request(`${m.proc.url}/metrics`)).body)),
  );
  for (const text of texts) {
    for (const line of text.split('\n')) {
      const kind = line.startsWith(`${name}{kind="`) ? /kind="([^"]+)"/.exec(line)?.[1] : undefined;
      if (kind !== undefined)
        byKind.set(kind, (byKind.get(kind) ?? 0) + Number(line.slice(line.lastIndexOf(' ') + 1)));
    }
  }
  return byKind;
}

function deltaByKind(after: Map<string, number>, before: Map<string, number>): Map<string, number> {
  return new Map([...after].map(([kind, v]) => [kind, v - (before.get(kind) ?? 0)]));
}

const sumOf = (counts: Map<string, number>, kinds?: readonly string[]): number =>
  [...counts].filter(([kind]) => kinds === undefined || kinds.includes(kind)).reduce((a, [, v]) => a + v, 0);

const CLOCK_TICKS_PER_S = 100;

/** User + system CPU of a process and all its threads (ms), from /proc/PID/stat (Linux). */
function processCpuMs(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised command name: utime and stime are the 12th and 13th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS_PER_S;
  } catch {
    return 0; // the process has exited
  }
}

function clusterCpuMs(members: Member[]): number {
  return members.reduce((a, m) => a + processCpuMs(m.proc.child.pid), 0);
}

function benchCpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

/**
 * 10,000 fake addresses through anonymous POST /new_node_advertisement, 64
 * per request spread over the nodes, each request claiming a fake address of
 * its own: half loopback ports nobody listens on, half unroutable private ones.
 */
async function flood(members: Member[]): Promise<void> {
  const network = String((await request(`${members[0]!.proc.url}/info`)).body.network);
  const fakeHost = (i: number) =>
    i % 2 === 0 ? `127.0.0.1:${1 + (i % 1000)}` : `10.250.${(i >> 8) & 255}.${i & 255}:3000`;
  const fakeId = (i: number) => (0xf0000000 + i).toString(16).padStart(32, '0');
  let sent = 0;
  let r = 0;
  const t0 = performance.now();
  while (sent < FLOOD_ADDRESSES) {
    const batch = [];
    for (let k = 0; k < 16 && sent < FLOOD_ADDRESSES; k++, r++) {
      const claim = sent++;
      const peers = Array.from({ length: Math.min(64, FLOOD_ADDRESSES - sent) }, () => {
        const i = sent++;
        return { hostname: fakeHost(i), nodeId: fakeId(i), lastSeen: Date.now() };
      });
      batch.push(
        request(`${members[r % members.length]!.proc.url}/new_node_advertisement`, {
          body: { hostname: fakeHost(claim), nodeId: fakeId(claim), network, peers },
        }),
      );
    }
    await Promise.all(batch);
  }
  const peers = await Promise.all(members.map((m) => request(`${m.proc.url}/peers`)));
  const fakesTried = peers
    .flatMap((p) => p.body as Array<{ nodeId: string; table: string }>)
    .filter((p) => p.table === 'tried' && p.nodeId.startsWith('000000000000000000000000f')).length;
  report(`flood N=${members.length}: fake addresses in tried tables`, fakesTried, 'entries', {
    max: 0,
    note: `${sent} fake addresses in ${r} anonymous advertisements, sent in ${round(performance.now() - t0, 0)} ms`,
  });
}

/**
 * The same block-on-every-node figure without a single poll: from the mining
 * request (the bench's wall clock just before it) until the last node's
 * `block connected` line (its wall clock when the block became its tip, the
 * instant GET /info starts showing it; ms resolution). The nodes share this
 * machine's clock, and nothing but the protocol uses the cores meanwhile: the
 * polls of the method above cost the nodes and the bench about as much CPU as
 * the relay itself at N = 20. Same rounds otherwise: a random maker, one
 * block at a time; also the CPU per block of these rounds, net of the idle rate.
 */
async function nodeTimed(members: Member[], label: string, idleRate: number): Promise<void> {
  const n = members.length;
  const times: number[] = [];
  const cpuBefore = clusterCpuMs(members);
  const start = performance.now();
  for (let r = 0; r < PROPAGATION_ROUNDS; r++) {
    const origin = members[Math.floor(Math.random() * n)] as Member;
    const t0 = Date.now();
    const res = await admin(origin.proc, '/admin/generate', { count: 1 });
    if (res.status !== 200) throw new Error(`generate on ${origin.proc.name}: ${res.status}`);
    const hash = String((res.body as { hashes: string[] }).hashes[0]);
    await withDeadline(
      `node-timed N=${n} round ${r + 1}`,
      10_000,
      (async () => {
        while (!members.every((m) => m.connected.has(hash))) await new Promise((r2) => setTimeout(r2, 10));
      })(),
    );
    times.push(Math.max(...members.map((m) => m.connected.get(hash) as number)) - t0);
    await new Promise((r2) => setTimeout(r2, 150 + Math.random() * 150));
  }
  const cpuMs = clusterCpuMs(members) - cpuBefore - idleRate * (performance.now() - start);
  times.sort((a, b) => a - b);
  const aims: Record<number, number> = { 10: 20, 20: 35 };
  const note = `${times.length} more blocks, no tip polls: from POST /admin/generate (bench clock) until the last node's 'block connected' line (its clock when the block became its tip; ms resolution)`;
  report(`block on every node N=${n}${label}, node-timed p50`, percentile(times, 50), 'ms', {
    ...(aims[n] !== undefined ? { max: aims[n] } : {}),
    note,
  });
  report(`block on every node N=${n}${label}, node-timed p99`, percentile(times, 99), 'ms', {
    note: `max of ${times.length}; aim ≤ 2 × p50`,
  });
  report(
    `block relay N=${n}${label}: CPU per block without polls, all node processes`,
    round(cpuMs / times.length, 1),
    'ms',
    { note: `the node-timed rounds' CPU (/proc/PID/stat, all threads), net of the idle rate` },
  );
}

async function propagation(members: Member[], label = ''): Promise<void> {
  const n = members.length;
  const rounds: Round[] = [];
  const polled: number[] = [];
  const [messagesBefore, bytesBefore] = await Promise.all([
    countersByKind(members, MESSAGES),
    countersByKind(members, BYTES),
  ]);
  const idleRate = await idleCpuRate(members);
  const pollMs = await pollCost(members, idleRate);
  const pollsBefore = tipPolls;
  const cpuBefore = clusterCpuMs(members);
  const roundsStart = performance.now();
  const benchCpuBefore = benchCpuMs();
  for (let r = 0; r < PROPAGATION_ROUNDS; r++) {
    const origin = members[Math.floor(Math.random() * n)] as Member;
    const t0 = performance.now();
    const res = await admin(origin.proc, '/admin/generate', { count: 1 });
    if (res.status !== 200)
      throw new Error(
        `generate on ${origin.proc.name}: ${res.status} ${JSON.stringify(res.body)}\n${origin.proc.output
          .split('\n')
          .filter((line) => line.includes('"level":"error"'))
          .join('\n')}`,
      );
    const hash = String((res.body as { hashes: string[] }).hashes[0]);
    polled.push(await withDeadline(`tips N=${n} round ${r + 1}`, 10_000, untilEveryTip(members, hash, t0)));
    await withDeadline(
      `propagation N=${n} round ${r + 1}`,
      10_000,
      (async () => {
        while (!members.every((m) => m.connected.has(hash))) await new Promise((r2) => setTimeout(r2, 10));
      })(),
    );
    // the 'block accepted' line follows 'block connected': give it a moment
    await new Promise((r2) => setTimeout(r2, 150 + Math.random() * 150));
    rounds.push(describeRound(hash, origin, members));
  }
  const cpuMs = clusterCpuMs(members) - cpuBefore;
  const backgroundMs = idleRate * (performance.now() - roundsStart);
  const benchMs = benchCpuMs() - benchCpuBefore;
  const polls = tipPolls - pollsBefore;
  const [messagesAfter, bytesAfter] = await Promise.all([
    countersByKind(members, MESSAGES),
    countersByKind(members, BYTES),
  ]);
  const messages = deltaByKind(messagesAfter, messagesBefore);
  const bytes = deltaByKind(bytesAfter, bytesBefore);
  const perNodeBlock = n * rounds.length;
  polled.sort((a, b) => a - b);
  const aims: Record<number, number> = { 10: 20, 20: 35 };
  report(`block on every node N=${n}${label} p50`, round(percentile(polled, 50), 1), 'ms', {
    ...(aims[n] !== undefined ? { max: aims[n] } : {}),
    note: `${rounds.length} blocks, each generated on a random node; from POST /admin/generate until every node's GET /info (fast lane, one kept-alive connection per node) shows it, each polled every ${TIP_POLL_MS} ms`,
  });
  report(`block on every node N=${n}${label} p99`, round(percentile(polled, 99), 1), 'ms', {
    note: `max of ${polled.length}; aim ≤ 2 × p50`,
  });
  const pollsMs = polls * pollMs;
  report(
    `block relay N=${n}${label}: CPU per block, all node processes`,
    round((cpuMs - backgroundMs - pollsMs) / rounds.length, 1),
    'ms',
    {
      note: `user + system CPU of the ${n} node processes (all threads, /proc/PID/stat) over the ${rounds.length} rounds, divided by blocks, net of their background (${round(backgroundMs / rounds.length, 1)} ms per block at the idle rate of ${round(idleRate * 1000, 0)} ms/s for the cluster, measured over ${CPU_WINDOW_MS} ms before) and of the tip polls (${round(pollsMs / rounds.length, 1)} ms per block: ${round(polls / rounds.length, 0)} polls at ${round(pollMs * 1000, 0)} µs each, measured over ${CPU_WINDOW_MS} ms of polls); gross ${round(cpuMs / rounds.length, 1)} ms; the bench process used ${round(benchMs / rounds.length, 1)} ms per block`,
    },
  );
  const relayKinds = [...BLOCK_RELAY_KINDS];
  const breakdown = [...messages]
    .filter(([, v]) => v > 0)
    .map(([kind, v]) => `${kind} ${round(v / perNodeBlock, 2)}`)
    .join(', ');
  report(
    `block relay N=${n}${label}: messages per node per block`,
    round(sumOf(messages, relayKinds) / perNodeBlock, 2),
    'msgs',
    {
      note: `requests of kinds ${relayKinds.join('/')} sent, all nodes, over ${rounds.length} blocks; every kind in that window (background gossip included): ${breakdown}`,
    },
  );
  report(
    `block relay N=${n}${label}: bytes per node per block`,
    round(sumOf(bytes, relayKinds) / perNodeBlock, 0),
    'bytes',
    {
      note: `request bodies of kinds ${relayKinds.join('/')} (JSON with the block as hex)`,
    },
  );
  const times = rounds.map((r) => r.ms).sort((a, b) => a - b);
  const note = `${rounds.length} blocks, each generated on a random node; from its 'block connected' log line to the last node's (ms timestamps)`;
  report(`block propagation N=${n}${label} p50`, percentile(times, 50), 'ms', { max: 1000, note });
  const worst = rounds.reduce((a, b) => (b.ms > a.ms ? b : a));
  report(`block propagation N=${n}${label} p99`, percentile(times, 99), 'ms', {
    max: 1000,
    note: `max of ${times.length}; slowest round: ${worst.maxHops} push hops, ${worst.notPushed} node(s) not reached by a push, arrivals ${worst.arrivals.join(',')} ms`,
  });
  const hopMs = rounds.flatMap((r) => r.hopMs).sort((a, b) => a - b);
  report(`block propagation N=${n}${label}: one relay hop p50`, percentile(hopMs, 50), 'ms', {
    note: `p90 ${percentile(hopMs, 90)} ms, p99 ${percentile(hopMs, 99)} ms over ${hopMs.length} hops: pusher's 'block connected' to the receiver's (POST /block, decode, connect, store)`,
  });
  const allHops = rounds.map((r) => r.maxHops).sort((a, b) => a - b);
  const notPushed = rounds.reduce((a, r) => a + r.notPushed, 0);
  report(
    `block propagation N=${n}${label}: nodes not reached by relay pushes`,
    notPushed,
    'of ' + (n - 1) * rounds.length,
    {
      note: `they caught up by sync; push depth p50 ${percentile(allHops, 50)} hops, max ${percentile(allHops, 100)} (relay fan-out ${RELAY_FANOUT}; the maker pushes to every live peer)`,
    },
  );
  await nodeTimed(members, label, idleRate);
}

/** Messages per ms the members send among themselves over BACKGROUND_WINDOW_MS, with nothing else happening. */
async function backgroundRate(members: Member[]): Promise<number> {
  const start = await networkMessages(members);
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, BACKGROUND_WINDOW_MS));
  return ((await networkMessages(members)) - start) / (performance.now() - t0);
}

/** One more node joins through the seed; it stays in the cluster afterwards. */
async function joinCost(members: Member[]): Promise<void> {
  const n = members.length;
  const seed = members[0] as Member;
  const bgBefore = await backgroundRate(members);

  const before = await networkMessages(members);
  const t0 = performance.now();
  const joiner = await startMember(`joiner${n}`, [`127.0.0.1:${seed.proc.port}`]);
  const knownMs = await withDeadline(
    `join N=${n}`,
    40_000,
    untilKnown(members, () => [joiner.nodeId], t0),
  );
  const elapsed = performance.now() - t0;
  const [after, joinerSent] = await Promise.all([
    networkMessages(members),
    counterSum(joiner.proc, MESSAGES),
  ]);
  // A cluster that just grew still settles (probes of hearsay, back-offs): the background before the join
  // is higher than after it, so the mean of both windows stands for the background during it.
  const bgAfter = await backgroundRate(members);
  const bgRate = (bgBefore + bgAfter) / 2;
  const excess = after - before - bgRate * elapsed;
  // How far the background's drift alone can move the estimate: during the join it lay somewhere between the
  // two rates (the counts' own noise comes on top).
  const uncertainty = (Math.abs(bgAfter - bgBefore) / 2) * elapsed;
  report(`join N=${n}+1: messages sent by the joiner`, joinerSent, 'msgs', {
    note: `until all ${n} know it (${round(knownMs, 0)} ms from spawn); join fan-out ${JOIN_FANOUT}, gossip 1 per ${GOSSIP_INTERVAL_MS} ms; all-to-all would be ≥ ${n}`,
  });
  report(`join N=${n}+1: network-wide messages beyond background`, round(excess, 0), 'msgs', {
    note: `± ${round(uncertainty, 0)}: ${after - before} sent by the ${n} others in ${round(elapsed / 1000, 1)} s minus background ${round(bgRate * 1000, 1)}/s (${round(bgBefore * 1000, 1)}/s before the join, ${round(bgAfter * 1000, 1)}/s after); all-to-all would be ~${n * n}`,
  });
  members.push(joiner);
}

async function main(): Promise<void> {
  report('machine load average (1 min) at start', round(os.loadavg()[0] ?? 0, 1), '', {
    note: `${os.cpus().length} cores shared with whatever else runs`,
  });
  const members: Member[] = [];
  for (const n of CLUSTER_SIZES) {
    await growCluster(members, n);
    if (n <= 20) {
      await propagation(members);
      // The flood stays: a later, larger N is measured with these nodes' books already flooded.
      await flood(members);
      await propagation(members, ' after a 10,000-address flood');
    }
    await joinCost(members);
  }
}

killOnExit(running, root);

try {
  await main();
} catch (err) {
  console.error(err instanceof Error ? err.message : String(err));
  process.exitCode = 1;
} finally {
  await stopAll(running);
  rmSync(root, { recursive: true, force: true });
}
