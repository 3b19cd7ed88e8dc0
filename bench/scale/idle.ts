/**
 * Idle cost of a `chainmesh node` (regtest, loopback): starts a seed and IDLE_NODES - 1 nodes
 * seeded by it, lets them settle, then reports each one's RSS, PSS, threads, fds and CPU
 * seconds per idle minute (bench/scale/proc.ts), and the same for a bare Node.js process
 * (`setInterval(() => {}, 1000)`): the floor a Node 20 process cannot go below.
 *
 * IDLE_MAIN=/path/to/other/dist/cli/main.js runs another build (run two at once for an A/B).
 *
 * The nodes run with the Node.js flags `chainmesh cluster` gives its children; IDLE_PLAIN=1 runs
 * them without (as `chainmesh node` runs alone or in a container).
 *
 *   npx tsx bench/scale/idle.ts            (IDLE_NODES=5 IDLE_WINDOW_S=60 IDLE_SETTLE_S=20)
 */
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import {
  freePortBlock,
  loopbackNodeEnv,
  stopAll,
  stopNode,
  tempDir,
  type NodeProcess,
} from '../../test/helpers/processes.js';
import { CHILD_EXEC_ARGV } from '../../src/cli/cluster.js';
import { launchNode } from '../helpers-cluster.js';
import { loadProfiles, monotonicUs, summarize } from '../helpers-profile.js';
import { idleCost, meanCost, type IdleCost } from './proc.js';

const NODES = Number(process.env.IDLE_NODES ?? 5);
const WINDOW_MS = Number(process.env.IDLE_WINDOW_S ?? 60) * 1000;
const SETTLE_MS = Number(process.env.IDLE_SETTLE_S ?? 20) * 1000;
/** Ports of the scale benches (bench/scale/main.ts): below the kernel's ephemeral range. */
const PORT_RANGE = { from: 14_000, to: 20_000 };

const fmt = (c: IdleCost) =>
  `RSS ${c.rssMb.toFixed(1)} MB  PSS ${c.pssMb.toFixed(1)} MB  threads ${c.threads.toFixed(1)}  fds ${c.fds.toFixed(1)}  ` +
  `CPU ${c.cpuSecPerMin.toFixed(3)} s/min`;

const PROFILE_DIR = process.env.IDLE_PROFILE_DIR;
let windowUs: [number, number] | undefined;
const root = tempDir('chainmesh-idle-');
const running = new Set<NodeProcess>();
const bare = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
const nodes: NodeProcess[] = [];
try {
  const base = await freePortBlock(NODES, PORT_RANGE);
  for (let i = 0; i < NODES; i++) {
    const port = base + i;
    const dataDir = join(root, `n${i}`);
    const seeds = i === 0 ? [] : [`127.0.0.1:${nodes[0]!.port}`];
    nodes.push(
      await launchNode({
        name: `n${i}`,
        port,
        dataDir,
        env: loopbackNodeEnv(port, dataDir, seeds),
        // IDLE_MAIN: another build's dist/cli/main.js (an A/B of idle cost under the same load)
        ...(process.env.IDLE_MAIN && { main: process.env.IDLE_MAIN }),
        execArgv: [
          ...(process.env.IDLE_PLAIN === '1' ? [] : CHILD_EXEC_ARGV),
          // IDLE_PROFILE_DIR: node n1 writes a V8 CPU profile there when it stops (bench/helpers-profile.ts reads it)
          ...(i === 1 && process.env.IDLE_PROFILE_DIR
            ? ['--cpu-prof', `--cpu-prof-dir=${process.env.IDLE_PROFILE_DIR}`]
            : []),
        ],
        timeoutMs: 180_000,
        spawned: (p) => running.add(p),
      }),
    );
  }
  await new Promise((r) => setTimeout(r, SETTLE_MS));
  const pids = [...nodes.map((n) => n.child.pid as number), bare.pid as number];
  const windowStart = monotonicUs();
  const costs = await idleCost(pids, WINDOW_MS);
  windowUs = [windowStart, monotonicUs()];
  console.log(
    `load average ${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}; ${NODES} nodes, window ${WINDOW_MS / 1000} s`,
  );
  costs.slice(0, -1).forEach((c, i) => console.log(`node n${i}: ${fmt(c)}`));
  console.log(`mean node: ${fmt(meanCost(costs.slice(0, -1)))}`);
  console.log(`bare node -e setInterval: ${fmt(costs.at(-1) as IdleCost)}`);
} finally {
  bare.kill('SIGKILL');
  // A profile is written on a graceful exit only (SIGTERM); stopAll kills.
  if (PROFILE_DIR && nodes[1]) await stopNode(nodes[1]);
  await stopAll(running);
  rmSync(root, { recursive: true, force: true });
}
if (PROFILE_DIR && windowUs) {
  const summary = summarize(loadProfiles(PROFILE_DIR), windowUs[0], windowUs[1], 25, [
    'tick',
    'ping',
    'gossipOnce',
    'updateGauges',
    'emit',
  ]);
  console.log(`node n1 CPU profile over the window: ${summary.busyMs.toFixed(0)} ms busy`);
  for (const list of [summary.entries, summary.modules, summary.functions])
    for (const item of list)
      console.log(
        `  ${item.percent.toFixed(1).padStart(5)}%  ${item.name}${item.via ? `  (${item.via})` : ''}`,
      );
}
