import { loadavg } from 'node:os';
import { blockSubsidy } from '../../src/core/index.js';
import { freePortBlock } from '../../test/helpers/processes.js';
import { ChaosCluster, type ClusterEvents, type Member, type NodeInfoView } from './cluster.js';
import { DEEP_CONFIRMATIONS, PaymentLoad, txState } from './load.js';
import { makeWallets, params, sinkAddress } from './payments.js';
import type { PortRange } from './ports.js';
import { applyPerturbation, type Applied, type HostileStats } from './perturb.js';
import { buildReport, type RunReport } from './report.js';
import { Rng } from './rng.js';
import type { Scenario } from './scenario.js';
import { buildSchedule } from './schedule.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Longest a heal may take to converge before it is a violation (the goal is p99 <= 10 s). */
const CONVERGENCE_DEADLINE_MS = 120_000;
const SPARE_PORTS = 40;

export interface RunOptions {
  scenario: Scenario;
  seed: number;
  intensity: number;
  root: string;
  log: (line: string) => void;
  /** Where the nodes run, when not as local processes (make chaos-docker: DockerCluster). */
  cluster?: (root: string, events: ClusterEvents) => ChaosCluster;
  /** Where the run's block of ports is taken (from inclusive, to exclusive); freePortBlock's default otherwise. */
  ports?: PortRange;
  /** How the command line named the scenario (`--scenario REF`, and `--docker`), for the report's replay line. */
  scenarioArgs?: string;
}

export interface Violation {
  at: number;
  kind: string;
  detail: string;
}

export interface Convergence {
  kind: string;
  target: string;
  ms: number | null;
}

/** Sum of the subsidies of blocks 1..height (the genesis coinbase is unspendable), cached. */
class Issuance {
  private readonly sums: bigint[] = [0n];
  at(height: number): bigint {
    for (let h = this.sums.length; h <= height; h++) {
      this.sums.push((this.sums[h - 1] as bigint) + blockSubsidy(h, params));
    }
    return this.sums[height] as bigint;
  }
}

/**
 * One scenario from start to report: the cluster, a funding phase, then the
 * load, the miner cadence, the seeded schedule of perturbations and the
 * continuous invariant checks, then a drain (faults lifted, mempools mined)
 * and the final checks.
 */
export async function runScenario(opts: RunOptions): Promise<RunReport> {
  const { scenario, seed, log } = opts;
  const startedAt = Date.now();
  const violations: Violation[] = [];
  const violation = (kind: string, detail: string) => {
    violations.push({ at: Math.round((Date.now() - startedAt) / 1000), kind, detail });
    log(`VIOLATION ${kind}: ${detail}`);
  };
  const schedule = buildSchedule(scenario, seed, opts.intensity);
  log(
    `scenario ${scenario.name}, seed ${seed}: ${scenario.nodes} nodes + seed, ${scenario.duration} s, ${schedule.length} perturbations`,
  );
  for (const p of schedule) log(`  at ${p.at} s: ${p.kind} (${p.duration} s)`);

  const nodeCount = scenario.nodes + 1;
  const base = await freePortBlock(2 * nodeCount + SPARE_PORTS, opts.ports);
  const ports = Array.from({ length: 2 * nodeCount + SPARE_PORTS }, (_, i) => base + i);
  const events: ClusterEvents = { violation, note: log };
  const cluster = opts.cluster ? opts.cluster(opts.root, events) : new ChaosCluster(opts.root, ports, events);
  const killAll = () => {
    for (const m of cluster.members) m.proc?.child.kill('SIGKILL');
  };
  process.once('exit', killAll);

  const applied: Applied[] = [];
  const hostile: HostileStats = { attacks: {}, fakePeersAfter30s: [] };
  const convergences: Convergence[] = [];
  const issuance = new Issuance();
  const loadRng = new Rng(seed, 2);
  const mineRng = new Rng(seed, 3);
  const perturbRng = new Rng(seed, 4);
  const wallets = makeWallets(seed, scenario.load.wallets);
  const sink = sinkAddress();
  let nextName = scenario.nodes + 1;
  const heightAssertions = scenario.parsedAssertions.filter((a) => a.kind === 'height-within');
  const heightReachedAt = new Map<number, number>();
  // The machine's 1-minute load average every 5 s: convergence times on a shared machine mean little without it.
  const loadAverages: number[] = [];
  const loadSampler = setInterval(() => loadAverages.push(loadavg()[0] ?? 0), 5000);
  loadAverages.push(loadavg()[0] ?? 0);

  try {
    await cluster.addMember('seed');
    await Promise.all(
      Array.from({ length: scenario.nodes }, (_, i) =>
        cluster.addMember(`node-${i + 1}`, i < scenario.perturbations.witnesses),
      ),
    );
    cluster.startSampling(5000);
    log(`cluster up: ${cluster.members.map((m) => `${m.name}@${m.addresses.at(-1)}`).join(' ')}`);

    // Funding: one coinbase per wallet, then enough blocks for them to mature.
    for (const w of wallets) {
      if (!(await cluster.generate(cluster.seed, 1, w.address)))
        throw new Error('funding: generate failed on the seed');
    }
    await cluster.generate(cluster.seed, params.coinbaseMaturity + 1, sink);
    const setup = await waitConverged(cluster, CONVERGENCE_DEADLINE_MS);
    if (setup === null) throw new Error('the cluster did not converge after funding');
    log(`funded ${wallets.length} wallets; converged in ${setup} ms`);

    const load = new PaymentLoad(cluster, wallets, loadRng, scenario.load, { violation });
    const loadStart = Date.now();
    const loadEnd = loadStart + scenario.duration * 1000;
    let running = true;

    const loops: Promise<void>[] = [];
    // Payments at a steady rate; each step is awaited so a slow node slows the load instead of piling it up.
    if (scenario.load.paymentsPerSecond > 0) {
      loops.push(
        (async () => {
          const gap = 1000 / scenario.load.paymentsPerSecond;
          while (running) {
            const t = Date.now();
            await load.step().catch((err: unknown) => log(`load step failed: ${String(err)}`));
            await sleep(Math.max(0, gap - (Date.now() - t)));
          }
        })(),
      );
    }
    // Blocks at a steady cadence from a random live node: on both sides of a partition.
    loops.push(
      (async () => {
        while (running) {
          const live = cluster.live();
          if (live.length > 0) await cluster.generate(mineRng.pick(live), 1, sink);
          await sleep(scenario.mining.blockInterval * 1000);
        }
      })(),
    );
    // Settlement tracking and rebroadcasts.
    loops.push(
      (async () => {
        while (running) {
          await load.track();
          await load.rebroadcast();
          await sleep(3000);
        }
      })(),
    );
    // Money conservation and height assertions on every live node, continuously.
    loops.push(
      (async () => {
        while (running) {
          await checkMoney(cluster, issuance, violation);
          if (heightAssertions.length > 0) {
            const heights = await Promise.all(
              cluster.live().map(async (m) => (await cluster.info(m))?.height ?? -1),
            );
            const min = Math.min(...heights);
            for (const a of heightAssertions) {
              if (min >= a.height && !heightReachedAt.has(a.height))
                heightReachedAt.set(a.height, Date.now() - loadStart);
            }
          }
          await sleep(2000);
        }
      })(),
    );

    // The schedule, one perturbation at a time, each followed by its convergence.
    for (const p of schedule) {
      const due = loadStart + p.at * 1000;
      if (due > Date.now()) await sleep(due - Date.now());
      if (Date.now() > loadEnd) break;
      const deepBefore = [...load.payments.values()].filter((x) => x.status === 'deep').map((x) => x.txid);
      let result: Applied | undefined;
      try {
        result = await applyPerturbation(cluster, p, perturbRng, {
          addNode: () => cluster.addMember(`node-${nextName++}`),
          violation,
          hostile,
        });
      } catch (err) {
        violation('perturbation-failed', `${p.kind}: ${err instanceof Error ? err.message : String(err)}`);
        continue;
      }
      if (!result) {
        log(`  skipped ${p.kind}: no suitable target`);
        continue;
      }
      applied.push(result);
      const ms = await waitConverged(cluster, CONVERGENCE_DEADLINE_MS, result.healedAt);
      convergences.push({ kind: result.kind, target: result.target, ms });
      log(
        `  ${result.kind} ${result.target}: ${result.detail}; converged ${ms === null ? 'NEVER' : `in ${ms} ms`}`,
      );
      if (ms === null)
        violation('no-convergence', `after ${result.kind} on ${result.target}: ${await tips(cluster)}`);
      else await checkDeepStillThere(cluster, load, deepBefore, violation);
    }
    if (Date.now() < loadEnd) await sleep(loadEnd - Date.now());

    // Drain: no more faults or load; keep mining until every payment is confirmed (bounded).
    running = false;
    // The RSS trend is read over the load, not the drain (a different workload: mining until all is deep).
    const loadEndSec = cluster.elapsedSeconds();
    await Promise.all(loops);
    log(`load stopped: ${load.stats.submitted} payments accepted, draining`);
    // One miner only while draining: blocks from two nodes at once would leave equal-work tips to settle.
    const drainEnd = Date.now() + 90_000;
    let extra = 0;
    while (Date.now() < drainEnd) {
      await load.rebroadcast(0);
      const miner = cluster.live()[0];
      if (miner) await cluster.generate(miner, 1, sink);
      await waitConverged(cluster, 5_000);
      await load.track(500);
      // Six more blocks once everything is in, so the last payments are deep too.
      if (load.unsettled().filter((p) => p.status === 'pending').length === 0 && ++extra > DEEP_CONFIRMATIONS)
        break;
    }
    const final = await waitConverged(cluster, CONVERGENCE_DEADLINE_MS);
    if (final === null) violation('no-convergence', `at the end: ${await tips(cluster)}`);
    await checkMoney(cluster, issuance, violation);
    await finalPaymentCheck(cluster, load, violation);
    const finalInfo = await cluster.info(cluster.live()[0] as Member);

    return buildReport({
      scenario,
      seed,
      intensity: opts.intensity,
      startedAt,
      schedule,
      applied,
      convergences,
      load,
      violations,
      members: cluster.members,
      heightReachedAt,
      loadEndSec,
      hostile,
      finalHeight: finalInfo?.height ?? null,
      scenarioArgs: opts.scenarioArgs,
      loadAverages,
    });
  } finally {
    clearInterval(loadSampler);
    await cluster.stopAll();
    process.off('exit', killAll);
  }
}

/**
 * Time until the live nodes agree, or null after the deadline. They agree when they report the
 * same tip, or when each one's best chain holds the same block at the best height seen when the
 * wait began: the fork the fault made is settled. The second reading matters while the miner
 * cadence goes on: on a starved machine a block every 2 s from a random node can outrun relay,
 * so the nodes are seldom on one tip at the instant of a poll (two equal-height tips, or one node
 * a block ahead) although none is left on the fault's branch.
 */
async function waitConverged(
  cluster: ChaosCluster,
  deadlineMs: number,
  from = Date.now(),
): Promise<number | null> {
  const end = Date.now() + deadlineMs;
  let target: number | undefined;
  while (Date.now() < end) {
    const live = cluster.live();
    const infos = await Promise.all(live.map((m) => cluster.info(m)));
    const answered = infos.filter((i): i is NodeInfoView => i !== undefined);
    if (answered.length > 0 && answered.length === live.length) {
      if (answered.every((i) => i.tipHash === answered[0]?.tipHash)) return Date.now() - from;
      const heights = answered.map((i) => i.height);
      target ??= Math.max(...heights);
      if (Math.min(...heights) >= target) {
        const hashes = await Promise.all(live.map((m) => cluster.hashAt(m, target as number)));
        if (hashes[0] !== undefined && hashes.every((h) => h === hashes[0])) return Date.now() - from;
      }
    }
    await sleep(200);
  }
  return null;
}

async function tips(cluster: ChaosCluster): Promise<string> {
  const rows = await Promise.all(
    cluster.live().map(async (m) => {
      const i = await cluster.info(m);
      return `${m.name}=${i ? `${i.height}/${i.tipHash.slice(0, 12)} peers ${i.peers}` : 'no answer'}`;
    }),
  );
  return rows.join(' ');
}

/** Every node's UTXO total must equal the subsidies of its chain: the miners claim every fee, nothing is burnt. */
async function checkMoney(
  cluster: ChaosCluster,
  issuance: Issuance,
  violation: (kind: string, detail: string) => void,
): Promise<void> {
  for (const m of cluster.live()) {
    const i = await cluster.info(m);
    if (!i) continue;
    const expected = issuance.at(i.height);
    if (BigInt(i.utxoValue) !== expected) {
      violation('money', `${m.name} at height ${i.height}: UTXO total ${i.utxoValue}, subsidies ${expected}`);
    }
  }
}

/** Payments settled before a perturbation must still be in the (converged) chain after it. */
async function checkDeepStillThere(
  cluster: ChaosCluster,
  load: PaymentLoad,
  txids: readonly string[],
  violation: (kind: string, detail: string) => void,
): Promise<void> {
  const node = cluster.live()[0];
  if (!node) return;
  for (const txid of txids) {
    const state = await txState(node, txid);
    if (state === 'unreachable') return;
    if (state?.status !== 'confirmed') {
      violation(
        'lost-deep-payment',
        `${txid} was ${DEEP_CONFIRMATIONS}+ deep and is not in ${node.name}'s chain`,
      );
      const p = load.payments.get(txid);
      if (p) p.status = 'lost';
    }
  }
}

/**
 * Every accepted payment, on every live node: confirmed, or the loser of its
 * own double spend (and then its twin is confirmed). Both halves confirmed is
 * a confirmed double spend.
 */
async function finalPaymentCheck(
  cluster: ChaosCluster,
  load: PaymentLoad,
  violation: (kind: string, detail: string) => void,
): Promise<void> {
  const live = cluster.live();
  const confirmedOn = new Map<string, number>();
  for (const node of live) {
    for (const p of load.payments.values()) {
      const state = await txState(node, p.txid);
      if (state !== 'unreachable' && state?.status === 'confirmed') {
        confirmedOn.set(p.txid, (confirmedOn.get(p.txid) ?? 0) + 1);
      }
    }
  }
  for (const p of load.payments.values()) {
    const n = confirmedOn.get(p.txid) ?? 0;
    if (n === live.length) {
      p.status = p.status === 'lost' ? 'lost' : 'deep';
      continue;
    }
    const twin = p.conflictWith ? load.payments.get(p.conflictWith) : undefined;
    const twinConfirmed =
      p.conflictWith !== undefined && (confirmedOn.get(p.conflictWith) ?? 0) === live.length;
    if (n === 0 && twinConfirmed) {
      p.status = 'conflicted';
      continue;
    }
    // A twin refused at submission is not in our books: look it up directly.
    if (n === 0 && p.conflictWith && !twin) {
      const state = live[0] ? await txState(live[0], p.conflictWith) : undefined;
      if (state !== 'unreachable' && state?.status === 'confirmed') {
        p.status = 'conflicted';
        continue;
      }
    }
    p.status = 'lost';
    violation('lost-payment', `${p.txid} confirmed on ${n} of ${live.length} nodes`);
  }
  for (const p of load.payments.values()) {
    if (p.conflictWith && p.status === 'deep' && load.payments.get(p.conflictWith)?.status === 'deep') {
      violation('double-spend', `${p.txid} and ${p.conflictWith} spend one output and are both confirmed`);
    }
  }
}
