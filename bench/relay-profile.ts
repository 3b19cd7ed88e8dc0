/**
 * Where one relay hop's time and CPU go: a small cluster of real `chainmesh
 * node` processes on loopback (RELAY_NODES, default 5, ports from
 * RELAY_BASE_PORT, default 10000), node 0 mines RELAY_BLOCKS blocks one at a
 * time (each once every node has the previous one, no tip polls: the nodes'
 * `block connected` log lines say when), and the bench reports per block:
 * the CPU of the maker and of each receiver (user + system, all threads, from
 * /proc/PID/stat, net of each process's idle rate measured before), and the
 * hop time from the maker's connect to each receiver's. With
 * RELAY_PROFILE=1 every node runs under `node --cpu-prof` and the bench
 * prints the maker's and the receivers' self time by function and module over
 * the rounds (bench/helpers-profile.ts).
 *
 * RELAY_MAIN runs another build's nodes (a before/after on the same load).
 * `npx tsx bench/relay-profile.ts` (no rows for `make bench`: a diagnostic).
 */
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import {
  admin,
  request,
  stopAll,
  stopNode,
  tempDir,
  loopbackNodeEnv,
  type NodeProcess,
} from '../test/helpers/processes.js';
import { killOnExit, launchNode, onLogLines, percentile, withDeadline } from './helpers-cluster.js';
import { loadProfiles, monotonicUs, summarize } from './helpers-profile.js';

const NODES = Number(process.env.RELAY_NODES ?? 5);
const BLOCKS = Number(process.env.RELAY_BLOCKS ?? 20);
const BASE_PORT = Number(process.env.RELAY_BASE_PORT ?? 10_000);
const PROFILE = process.env.RELAY_PROFILE === '1';
/** Another build's dist/cli/main.js to run the nodes of (a before/after on the same load). */
const RELAY_MAIN = process.env.RELAY_MAIN;
const LOG_LEVEL = process.env.RELAY_LOG_LEVEL ?? 'debug';
const IDLE_WINDOW_MS = 3000;
/** Functions whose inclusive time the profile summary reports (RELAY_PROFILE_ENTRIES, comma-separated). */
const ENTRIES = (
  process.env.RELAY_PROFILE_ENTRIES ??
  'log,decodeFrom,rebuild,relaysEarly,relayBlock,acceptBlock,connectTip,write,emit,send,exchange,parserOnIncoming,parserOnIncomingClient,processTimers,generate'
).split(',');

interface Member {
  proc: NodeProcess;
  connected: Map<string, number>;
  profileDir: string;
}

const root = tempDir('chainmesh-relay-profile-');
const running = new Set<NodeProcess>();
killOnExit(running, root);

function sysMs(pid: number | undefined): number {
  if (pid === undefined) return 0;
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[12]) * 1000) / 100;
}

function cpuMs(pid: number | undefined, thread?: number): number {
  if (pid === undefined) return 0;
  const stat = readFileSync(
    thread === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${thread}/stat`,
    'utf8',
  );
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1000) / 100;
}

async function start(i: number, seeds: string[]): Promise<Member> {
  const port = BASE_PORT + i;
  const dataDir = join(root, `n${i}`);
  const profileDir = join(root, `prof${i}`);
  mkdirSync(profileDir, { recursive: true });
  const connected = new Map<string, number>();
  const proc = await launchNode({
    name: `n${i}`,
    port,
    dataDir,
    env: {
      ...loopbackNodeEnv(port, dataDir, seeds),
      LOG_LEVEL,
      GOSSIP_INTERVAL_MS: '1000',
      PEER_TIMEOUT_MS: '2000',
      MAX_PEERS: '64',
    },
    ...(RELAY_MAIN !== undefined && { main: RELAY_MAIN }),
    execArgv: PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, '--cpu-prof-interval=200'] : [],
    timeoutMs: 60_000,
    spawned: (p) => {
      running.add(p);
      onLogLines(p, (line) => {
        if (line.message === 'block connected' && typeof line.fields.hash === 'string')
          connected.set(line.fields.hash, line.at);
      });
    },
  });
  return { proc, connected, profileDir };
}

async function main(): Promise<void> {
  console.log(
    `load average ${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}; ${NODES} nodes, ${BLOCKS} blocks`,
  );
  const seed = await start(0, []);
  const others = await Promise.all(
    Array.from({ length: NODES - 1 }, (_, i) => start(i + 1, [`127.0.0.1:${BASE_PORT}`])),
  );
  const members = [seed, ...others];
  await withDeadline(
    'every node sees every other live',
    60_000,
    (async () => {
      for (;;) {
        const peers = await Promise.all(
          members.map(async (m) => (await request(`${m.proc.url}/info`)).body.peers as number),
        );
        if (peers.every((p) => p >= NODES - 1)) return;
        await new Promise((r) => setTimeout(r, 200));
      }
    })(),
  );
  // One block first: worker threads, caches and lazy paths are warm before the measured ones.
  await admin(seed.proc, '/admin/generate', { count: 1 });
  await new Promise((r) => setTimeout(r, 1000));
  const pids = members.map((m) => m.proc.child.pid);
  const idle0 = pids.map((p) => cpuMs(p));
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, IDLE_WINDOW_MS));
  const idleRate = pids.map((p, i) => (cpuMs(p) - (idle0[i] as number)) / (performance.now() - t0));
  const cpu0 = pids.map((p) => cpuMs(p));
  const main0 = pids.map((p) => cpuMs(p, p));
  const sys0 = pids.map((p) => sysMs(p));
  const r0 = performance.now();
  const fromUs = monotonicUs();
  const hops: number[] = [];
  const last: number[] = [];
  for (let b = 0; b < BLOCKS; b++) {
    const res = await admin(seed.proc, '/admin/generate', { count: 1 });
    const hash = String((res.body as { hashes: string[] }).hashes[0]);
    await withDeadline(
      `block ${b}`,
      10_000,
      (async () => {
        while (!members.every((m) => m.connected.has(hash))) await new Promise((r) => setTimeout(r, 5));
      })(),
    );
    const made = seed.connected.get(hash) as number;
    const arrivals = others.map((m) => (m.connected.get(hash) as number) - made);
    hops.push(...arrivals);
    last.push(Math.max(...arrivals));
    // Let the nodes settle (responses, logs) before the next block.
    await new Promise((r) => setTimeout(r, 100));
  }
  const toUs = monotonicUs();
  const wall = performance.now() - r0;
  const cpu = pids.map((p, i) => (cpuMs(p) - (cpu0[i] as number) - (idleRate[i] as number) * wall) / BLOCKS);
  const mainGross = pids.map((p, i) => (cpuMs(p, p) - (main0[i] as number)) / BLOCKS);
  const allGross = pids.map((p, i) => (cpuMs(p) - (cpu0[i] as number)) / BLOCKS);
  const sysGross = pids.map((p, i) => (sysMs(p) - (sys0[i] as number)) / BLOCKS);
  console.log(`gross system CPU per block: ${sysGross.map((m) => m.toFixed(2)).join(' ')} ms`);
  console.log(
    `gross CPU per block, main thread / all threads: ${mainGross.map((m, i) => `${m.toFixed(2)}/${(allGross[i] as number).toFixed(2)}`).join(' ')} ms`,
  );
  hops.sort((a, b) => a - b);
  last.sort((a, b) => a - b);
  console.log(`idle CPU per node ${idleRate.map((r) => (r * 1000).toFixed(0)).join(' ')} ms/s`);
  console.log(
    `CPU per block: maker ${cpu[0]?.toFixed(2)} ms, receivers ${cpu
      .slice(1)
      .map((c) => c.toFixed(2))
      .join(' ')} ms (net of idle; 10 ms ticks over ${BLOCKS} blocks)`,
  );
  console.log(
    `hop (maker connect -> receiver connect) p50 ${percentile(hops, 50)} p90 ${percentile(hops, 90)} max ${percentile(hops, 100)} ms; last receiver p50 ${percentile(last, 50)} ms`,
  );
  console.log(
    `load average ${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
  );
  // A profile is written at a graceful exit only (SIGTERM), not at SIGKILL.
  if (PROFILE) await Promise.all(members.map((m) => stopNode(m.proc, 'SIGTERM')));
  return PROFILE ? reportProfiles(members, fromUs, toUs) : undefined;
}

function reportProfiles(members: Member[], fromUs: number, toUs: number): void {
  for (const [label, set] of [
    ['maker', members.slice(0, 1)],
    ['receivers', members.slice(1)],
  ] as const) {
    const profiles = set.flatMap((m) => loadProfiles(m.profileDir));
    const s = summarize(profiles, fromUs, toUs, 40, ENTRIES);
    console.log(
      `\n== ${label}: ${(s.busyMs / BLOCKS / set.length).toFixed(2)} ms busy per block per node (main thread + profiled threads)`,
    );
    for (const m of s.modules.slice(0, 15)) console.log(`  ${m.percent.toFixed(1).padStart(5)}%  ${m.name}`);
    console.log('  -- inclusive, innermost of the entries on the stack:');
    for (const e of s.entries) console.log(`  ${e.percent.toFixed(1).padStart(5)}%  ${e.name}`);
    console.log('  --');
    for (const f of s.functions)
      console.log(`  ${f.percent.toFixed(1).padStart(5)}%  ${f.name}${f.via ? `  <- ${f.via}` : ''}`);
  }
}

try {
  await main();
} catch (err) {
  console.error(err instanceof Error ? err.stack : String(err));
  process.exitCode = 1;
} finally {
  await stopAll(running);
  rmSync(root, { recursive: true, force: true });
}
