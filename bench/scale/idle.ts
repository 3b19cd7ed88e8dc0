/**
 * Idle cost of a `chainmesh node` (regtest, loopback): starts a seed and IDLE_NODES - 1 nodes
 * seeded by it, lets them settle, then reports each one's RSS, PSS, threads, fds and CPU
 * seconds per idle minute (bench/scale/proc.ts), and the same for a bare Node.js process
 * (`setInterval(() => {}, 1000)`): the floor a Node 20 process cannot go below.
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
  freePort,
  loopbackNodeEnv,
  stopAll,
  tempDir,
  type NodeProcess,
} from '../../test/helpers/processes.js';
import { CHILD_EXEC_ARGV } from '../../src/cli/cluster.js';
import { launchNode } from '../helpers-cluster.js';
import { idleCost, meanCost, type IdleCost } from './proc.js';

const NODES = Number(process.env.IDLE_NODES ?? 5);
const WINDOW_MS = Number(process.env.IDLE_WINDOW_S ?? 60) * 1000;
const SETTLE_MS = Number(process.env.IDLE_SETTLE_S ?? 20) * 1000;

const fmt = (c: IdleCost) =>
  `RSS ${c.rssMb.toFixed(1)} MB  PSS ${c.pssMb.toFixed(1)} MB  threads ${c.threads.toFixed(1)}  fds ${c.fds.toFixed(1)}  ` +
  `CPU ${c.cpuSecPerMin.toFixed(3)} s/min`;

const root = tempDir('chainmesh-idle-');
const running = new Set<NodeProcess>();
const bare = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
try {
  const nodes: NodeProcess[] = [];
  for (let i = 0; i < NODES; i++) {
    const port = await freePort();
    const dataDir = join(root, `n${i}`);
    const seeds = i === 0 ? [] : [`127.0.0.1:${nodes[0]!.port}`];
    nodes.push(
      await launchNode({
        name: `n${i}`,
        port,
        dataDir,
        env: loopbackNodeEnv(port, dataDir, seeds),
        execArgv: process.env.IDLE_PLAIN === '1' ? [] : CHILD_EXEC_ARGV,
        timeoutMs: 60_000,
        spawned: (p) => running.add(p),
      }),
    );
  }
  await new Promise((r) => setTimeout(r, SETTLE_MS));
  const pids = [...nodes.map((n) => n.child.pid as number), bare.pid as number];
  const costs = await idleCost(pids, WINDOW_MS);
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
  await stopAll(running);
  rmSync(root, { recursive: true, force: true });
}
