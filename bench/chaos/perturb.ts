import { spawn, type ChildProcess } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { ATTACK_KINDS, HostilePeer } from '../../test/helpers/hostile-peer.js';
import { canMountSmallDisk, fillDisk, freeDisk } from '../../test/helpers/small-disk.js';
import type { ChaosCluster, Member } from './cluster.js';
import { DockerCluster } from './docker-cluster.js';
import type { Rng } from './rng.js';
import type { ScheduledPerturbation } from './schedule.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What the hostile peer sent, by kind, and how the peer books coped. */
export interface HostileStats {
  attacks: Record<string, { sent: number; refused: number; accepted: number }>;
  /** Fake addresses still in some node's peer book 30 s after a flood (the mesh issue's bound). */
  fakePeersAfter30s: number[];
}

/** Invalid blocks: the node must refuse them (4xx) or drop the connection (0). */
const MUST_REFUSE = new Set([
  'bad-pow',
  'bad-merkle-root',
  'inflation',
  'double-spend',
  'oversized-body',
  'garbage-json',
  'wrong-network',
]);

export interface Applied {
  kind: string;
  target: string;
  startedAt: number;
  /** When the fault was lifted: convergence is timed from here. */
  healedAt: number;
  detail: string;
}

/**
 * Applies one scheduled perturbation and returns once it is lifted (the node
 * restarted, the pause ended, the partition healed). Targets drawn as numbers
 * pick among the members live at that moment, so a schedule never names a
 * node that is not there.
 */
export async function applyPerturbation(
  cluster: ChaosCluster,
  p: ScheduledPerturbation,
  rng: Rng,
  hooks: {
    addNode: () => Promise<Member>;
    violation: (kind: string, detail: string) => void;
    hostile: HostileStats;
  },
): Promise<Applied | undefined> {
  const startedAt = Date.now();
  const nonSeed = cluster.live().filter((m) => m !== cluster.seed);
  /** Targets of the faults that end a process: never a witness. */
  const restartable = nonSeed.filter((m) => !m.witness);
  const pickTarget = (candidates: Member[]): Member | undefined => {
    if (typeof p.target === 'string') return cluster.byName(p.target);
    return candidates[Math.floor(p.target * candidates.length)];
  };
  const done = (target: string, detail: string): Applied => ({
    kind: p.kind,
    target,
    startedAt,
    healedAt: Date.now(),
    detail,
  });
  const ms = p.duration * 1000;

  switch (p.kind) {
    case 'kill': {
      const m = pickTarget(restartable);
      if (!m) return undefined;
      await cluster.kill(m);
      await cluster.restart(m);
      return done(m.name, 'SIGKILL, restart on the same data dir');
    }
    case 'kill-while-writing': {
      const m = pickTarget(restartable);
      if (!m) return undefined;
      // A burst of blocks being mined and written, and the kill lands in the middle of it.
      void cluster.generate(m, 5);
      await sleep(rng.int(5, 80));
      await cluster.kill(m);
      await cluster.restart(m);
      return done(m.name, 'SIGKILL during a 5-block generate, restart on the same data dir');
    }
    case 'pause': {
      const m = pickTarget(nonSeed);
      if (!m) return undefined;
      cluster.pause(m);
      await sleep(ms);
      cluster.resume(m);
      return done(m.name, `SIGSTOP for ${p.duration} s, then SIGCONT`);
    }
    case 'partition': {
      const live = cluster.live();
      if (live.length < 2) return undefined;
      const order = rng.sample(live, live.length);
      const cut = rng.int(1, live.length - 1);
      const groupA = order.slice(0, cut);
      cluster.partition(groupA);
      await sleep(ms);
      cluster.heal();
      return done(
        `${groupA.map((m) => m.name).join(',')} | ${order
          .slice(cut)
          .map((m) => m.name)
          .join(',')}`,
        `partition for ${p.duration} s`,
      );
    }
    case 'seed-outage': {
      const seed = cluster.seed;
      await cluster.kill(seed);
      await sleep(ms);
      await cluster.restart(seed);
      return done(seed.name, `seed down for ${p.duration} s`);
    }
    case 'new-address': {
      const m = pickTarget(restartable);
      if (!m) return undefined;
      await cluster.kill(m, 'SIGTERM');
      const old = m.addresses.at(-1);
      await cluster.moveAddress(m);
      await cluster.restart(m);
      return done(m.name, `restarted at ${m.addresses.at(-1)} (was ${old})`);
    }
    case 'join-empty': {
      const m = pickTarget(restartable);
      if (!m) return undefined;
      await cluster.kill(m, 'SIGTERM');
      await cluster.wipeDataDir(m);
      await cluster.restart(m);
      return done(m.name, 'data dir wiped, joined again from nothing');
    }
    case 'join': {
      const m = await hooks.addNode();
      return done(m.name, 'a new node joined with an empty data dir');
    }
    case 'leave': {
      // Keep at least the seed and two nodes, so there is still a network to check.
      if (nonSeed.length <= 2) return undefined;
      const m = pickTarget(restartable);
      if (!m) return undefined;
      await cluster.kill(m, 'SIGTERM');
      m.state = 'gone';
      return done(m.name, 'left the network for good');
    }
    case 'disk-full': {
      if (!canMountSmallDisk()) return undefined;
      const m = pickTarget(restartable);
      if (!m?.proc) return undefined;
      await cluster.kill(m, 'SIGTERM');
      const disk = await cluster.moveToSmallDisk(m, 32);
      await cluster.restart(m);
      fillDisk(disk);
      // Blocks keep coming from the other nodes; the first one it cannot store must make it not ready.
      const reported = await waitUntil(async () => (await readiness(m))?.checks?.store === false, 60_000);
      if (!reported)
        hooks.violation(
          'disk-full-not-reported',
          `${m.name}: /readyz did not report the full disk within 60 s`,
        );
      await sleep(ms);
      freeDisk(disk);
      return done(
        m.name,
        `data dir on a full 32 MB tmpfs for ${p.duration} s${reported ? ', reported not ready' : ''}`,
      );
    }
    case 'hostile-peer': {
      const peer = new HostilePeer(cluster.reservePort());
      await peer.start();
      const end = Date.now() + ms;
      try {
        while (Date.now() < end) {
          for (const kind of ATTACK_KINDS) {
            const target = rng.pick(cluster.live());
            if (!target?.proc) continue;
            const result = await peer.attack(target.proc.url, kind);
            const row = (hooks.hostile.attacks[kind] ??= { sent: 0, refused: 0, accepted: 0 });
            for (const status of result.statuses) {
              row.sent++;
              if (status === 0 || status >= 400) row.refused++;
              else row.accepted++;
              if (MUST_REFUSE.has(kind) && status >= 200 && status < 300)
                hooks.violation('hostile-accepted', `${target.name} answered ${status} to a ${kind} request`);
            }
          }
        }
        // Dead and fake peers must leave the peer books soon after failing to answer.
        await sleep(30_000);
        let lingering = 0;
        for (const m of cluster.live()) lingering += await countFake(m, peer.fakeAddresses);
        hooks.hostile.fakePeersAfter30s.push(lingering);
      } finally {
        await peer.stop();
      }
      return done(
        'network',
        `hostile peer for ${p.duration} s (${ATTACK_KINDS.length} attack kinds), then 30 s for peer books`,
      );
    }
    case 'cpu-hog': {
      // Containers: their CPU quota is cut (docker update --cpus) rather than the host loaded.
      if (cluster instanceof DockerCluster) return done('cluster', await cluster.starveCpu(ms));
      const hogs = startCpuHog(2 * availableParallelism(), ms);
      try {
        await sleep(ms);
      } finally {
        await stopCpuHog(hogs);
      }
      return done('machine', `${hogs.length} busy processes for ${p.duration} s`);
    }
  }
}

/** Busy loops beside the cluster: starved nodes must fall behind and catch up, not be declared dead. */
function startCpuHog(count: number, ms: number): ChildProcess[] {
  // Each loop ends by itself a little after the fault, even if the harness dies before it can kill it.
  const program = `const end = Date.now() + ${ms + 5000}; while (Date.now() < end) {}`;
  return Array.from({ length: count }, () => spawn(process.execPath, ['-e', program], { stdio: 'ignore' }));
}

async function stopCpuHog(hogs: ChildProcess[]): Promise<void> {
  await Promise.all(
    hogs.map(
      (h) =>
        new Promise<void>((resolve) => {
          if (h.exitCode !== null || h.signalCode !== null) return resolve();
          h.once('exit', () => resolve());
          h.kill('SIGKILL');
        }),
    ),
  );
}

async function readiness(m: Member): Promise<{ checks?: { store?: boolean } } | undefined> {
  try {
    const res = await fetch(`${m.proc?.url}/readyz`, { signal: AbortSignal.timeout(3000) });
    return (await res.json()) as { checks?: { store?: boolean } };
  } catch {
    return undefined;
  }
}

async function waitUntil(condition: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await condition()) return true;
    await sleep(500);
  }
  return false;
}

async function countFake(m: Member, fakes: readonly string[]): Promise<number> {
  try {
    const res = await fetch(`${m.proc?.url}/known_node_request`, { signal: AbortSignal.timeout(3000) });
    const peers = (await res.json()) as Array<{ hostname: string }>;
    const set = new Set(fakes);
    return peers.filter((p) => set.has(p.hostname)).length;
  } catch {
    return 0;
  }
}
