import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatAmount, getNetwork } from '../core/index.js';
import {
  buildPayment,
  DEFAULT_FEE_RATE,
  demoWallet,
  NodeClient,
  parseCoins,
  WalletError,
  type DemoWalletName,
  type SpendableCoin,
} from '../wallet/index.js';

/*
 * `chainmesh demo`: moves coins between the public demo wallets through
 * different nodes of a running demo cluster (compose, or one it starts with
 * `--local`), waits until every node has the payments' blocks, and reports
 * what happened. One success line at the end, or what failed and exit 1.
 */

export interface DemoOptions {
  /** URL of the seed of a running cluster; with `local`, the cluster is started here first. */
  seedUrl: string;
  /** Nodes besides the seed the cluster must have. */
  nodes: number;
  /** Start `chainmesh cluster` on loopback (base port from seedUrl) and stop it at the end. */
  local: boolean;
  /** Confirmations every payment must have on every node. */
  confirmations: number;
  /** The whole run, cluster start included. */
  timeoutSec: number;
  /** Ports on the host for the report (compose's monitoring profile). */
  grafanaPort: number;
  prometheusPort: number;
}

interface Member {
  name: string;
  client: NodeClient;
}

interface PaymentPlan {
  from: DemoWalletName;
  to: DemoWalletName;
  amount: string;
}

interface PaymentDone extends PaymentPlan {
  via: string;
  txid: string;
  units: bigint;
  fee: bigint;
  submittedAt: number;
  blockHash?: string;
  height?: number;
  blockTime?: number;
  /** Node name -> unix ms when that node first had the block. */
  seen: Map<string, number | null>;
}

const MAIN_SCRIPT = fileURLToPath(new URL('./main.js', import.meta.url));
const DEMO_NAMES: readonly DemoWalletName[] = ['demo-alice', 'demo-bob', 'demo-carol'];
const FUNDING: readonly PaymentPlan[] = [
  { from: 'demo-alice', to: 'demo-bob', amount: '5' },
  { from: 'demo-alice', to: 'demo-carol', amount: '2.5' },
];
const ONWARD: PaymentPlan = { from: 'demo-bob', to: 'demo-carol', amount: '1.25' };

class DemoFailure extends Error {}

/** Generous: a loaded machine running six nodes can keep one from answering for seconds. */
const CLIENT_TIMEOUT_MS = 15_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const short = (hash: string) => `${hash.slice(0, 16)}…`;

export async function runDemo(opts: DemoOptions): Promise<number> {
  const started = Date.now();
  const deadline = started + opts.timeoutSec * 1000;
  const say = (line: string) =>
    process.stdout.write(`[${seconds(Date.now() - started).padStart(7)}] ${line}\n`);
  let cluster: { child: ChildProcess; dir: string; exited: Promise<number | null> } | undefined;
  let step = 'start';
  let ok = false;
  try {
    if (opts.local) {
      step = 'start the local cluster';
      cluster = await startLocalCluster(opts);
      say(
        `started chainmesh cluster: seed + ${opts.nodes} nodes on ${opts.seedUrl} (logs in ${cluster.dir})`,
      );
    }
    /** Polls `check` until it returns a value, failing the step at the deadline. */
    const until = async <T>(what: string, check: () => Promise<T | undefined>, everyMs = 500): Promise<T> => {
      step = what;
      let last = '';
      for (;;) {
        if (cluster && (await Promise.race([cluster.exited, sleep(0).then(() => 'running')])) !== 'running') {
          throw new DemoFailure(`the local cluster exited while waiting ${what} (see ${cluster.dir})`);
        }
        try {
          const value = await check();
          if (value !== undefined) return value;
        } catch (err) {
          last = err instanceof Error ? err.message : String(err);
        }
        if (Date.now() > deadline) {
          throw new DemoFailure(
            `timed out after ${opts.timeoutSec} s waiting ${what}${last ? ` (last error: ${last})` : ''}`,
          );
        }
        await sleep(everyMs);
      }
    };

    const seed = new NodeClient(opts.seedUrl, CLIENT_TIMEOUT_MS);
    const members = await until(`for the seed and ${opts.nodes} nodes to answer`, async () => {
      const info = await seed.info();
      if (info.networkName !== 'demo')
        throw new DemoFailure(`${opts.seedUrl} is on ${info.networkName}, not demo`);
      const known = await knownNodes(opts.seedUrl);
      if (known.length < opts.nodes) return undefined;
      const found: Member[] = [{ name: 'seed', client: seed }];
      const sorted = [...known].sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
      for (const [i, host] of sorted.entries()) {
        const client = new NodeClient(`http://${host}`, CLIENT_TIMEOUT_MS);
        if ((await client.info()).networkName !== 'demo') return undefined;
        found.push({ name: `node-${i + 1}`, client });
      }
      return found;
    });
    say(`${members.length} nodes answer: ${members.map((m) => `${m.name} ${m.client.url}`).join(', ')}`);

    const tip = await until(
      'for every node to agree on the tip',
      async () => {
        const infos = await Promise.all(members.map((m) => m.client.info()));
        return infos.every((i) => i.tipHash === infos[0]?.tipHash) ? infos[0] : undefined;
      },
      250,
    );
    say(`every node is at height ${tip.height}, tip ${short(tip.tipHash)}`);

    const params = getNetwork('demo');
    const wallets = Object.fromEntries(DEMO_NAMES.map((n) => [n, demoWallet(n)])) as Record<
      DemoWalletName,
      ReturnType<typeof demoWallet>
    >;
    const needed = FUNDING.reduce((sum, p) => sum + parseCoins(p.amount), 0n);
    await until(
      `for ${DEMO_NAMES[0]} to have ${formatAmount(needed)} of mature coins (coinbases need ${params.coinbaseMaturity} confirmations)`,
      async () => {
        const coins = await seed.spendableCoins(wallets['demo-alice'].address);
        // Each funding payment spends its own coin, so the payments never conflict.
        return coins.length >= FUNDING.length && coins.every((c) => c.value > needed) ? true : undefined;
      },
    );

    const balances = async () => {
      const out = new Map<DemoWalletName, bigint>();
      for (const name of DEMO_NAMES) {
        const b = await seed.balance(wallets[name].address);
        out.set(name, b.confirmed + b.immature + b.unconfirmed);
      }
      return out;
    };
    const before = await balances();
    say(`balances before: ${DEMO_NAMES.map((n) => `${n} ${formatAmount(before.get(n) ?? 0n)}`).join(', ')}`);

    const used = new Set<string>();
    /** Retries a node that does not answer (a loaded machine), fails at once on anything else. */
    const retrying = async <T>(fn: () => Promise<T>): Promise<T> => {
      for (;;) {
        try {
          return await fn();
        } catch (err) {
          if (!(err instanceof WalletError && err.code === 'node-unreachable') || Date.now() > deadline)
            throw err;
          await sleep(1000);
        }
      }
    };
    const pay = async (plan: PaymentPlan, via: Member): Promise<PaymentDone> => {
      step = `pay ${plan.amount} CMC from ${plan.from} to ${plan.to} through ${via.name}`;
      const coins = (await retrying(() => via.client.spendableCoins(wallets[plan.from].address))).filter(
        (c: SpendableCoin) => !used.has(`${c.txid}:${c.vout}`),
      );
      const payment = buildPayment({
        params,
        privateKey: wallets[plan.from].privateKey,
        coins,
        to: wallets[plan.to].address,
        amount: parseCoins(plan.amount),
        feeRate: DEFAULT_FEE_RATE,
      });
      for (const c of payment.inputs) used.add(`${c.txid}:${c.vout}`);
      // Submitting twice is harmless: the node answers txn-already-known for a transaction it has.
      const txid = await retrying(async () => {
        try {
          return await via.client.submit(payment.hex);
        } catch (err) {
          if (err instanceof WalletError && /txn-already-known/.test(err.message)) return payment.txid;
          throw err;
        }
      });
      say(
        `${plan.from} -> ${plan.to} ${formatAmount(payment.amount)} (fee ${formatAmount(payment.fee)}) through ${via.name}: ${txid}`,
      );
      return {
        ...plan,
        via: via.name,
        txid,
        units: payment.amount,
        fee: payment.fee,
        submittedAt: Date.now(),
        seen: new Map(),
      };
    };
    /** Waits until the payment's block is on every node with `confirmations`, noting when each node had it. */
    const confirm = async (p: PaymentDone, confirmations: number) => {
      await until(
        `for ${p.txid.slice(0, 16)}… to have ${confirmations} confirmation(s) on every node`,
        async () => {
          const statuses = await Promise.all(members.map((m) => m.client.txStatus(p.txid)));
          if (!statuses.every((s) => s?.status === 'confirmed' && s.confirmations >= confirmations))
            return undefined;
          const hashes = new Set(statuses.map((s) => s?.blockHash));
          if (hashes.size !== 1) return undefined;
          p.blockHash = statuses[0]?.blockHash;
          p.height = statuses[0]?.height;
          const blocks = await Promise.all(
            members.map((m) => fetchJson(`${m.client.url}/block/${p.blockHash}`)),
          );
          for (const [i, block] of blocks.entries()) {
            if (typeof block.time === 'number') p.blockTime = block.time;
            p.seen.set(
              (members[i] as Member).name,
              typeof block.firstSeen === 'number' ? block.firstSeen : null,
            );
          }
          return true;
        },
      );
    };

    const through = (i: number) => members[Math.min(i, members.length - 1)] as Member;
    const payments: PaymentDone[] = [];
    for (const [i, plan] of FUNDING.entries()) payments.push(await pay(plan, through(i + 1)));
    for (const p of payments) await confirm(p, 1);
    say(`both payments are in block ${payments.map((p) => p.height).join(' and ')} on every node`);
    payments.push(await pay(ONWARD, through(3)));
    for (const p of payments) await confirm(p, opts.confirmations);
    say(`every payment has ${opts.confirmations} confirmations on every node`);

    const after = await balances();
    const expected = new Map(before);
    for (const p of payments) {
      expected.set(p.from, (expected.get(p.from) ?? 0n) - p.units - p.fee);
      expected.set(p.to, (expected.get(p.to) ?? 0n) + p.units);
    }
    step = 'check the balances';
    // demo-alice is also paid by every block mined meanwhile: only bob and carol are exact.
    for (const name of ['demo-bob', 'demo-carol'] as const) {
      if (after.get(name) !== expected.get(name)) {
        throw new DemoFailure(
          `${name} has ${formatAmount(after.get(name) ?? 0n)}, expected ${formatAmount(expected.get(name) ?? 0n)}`,
        );
      }
    }

    const infos = await Promise.all(members.map((m) => m.client.info()));
    const lines = ['', 'nodes (height, tip):'];
    for (const [i, m] of members.entries()) {
      lines.push(
        `  ${m.name.padEnd(7)} ${m.client.url.padEnd(24)} ${String(infos[i]?.height).padStart(6)}  ${infos[i]?.tipHash}`,
      );
    }
    lines.push('', 'payments (through which node; when each node had the block, after its timestamp):');
    for (const p of payments) {
      lines.push(
        `  ${p.from} -> ${p.to} ${formatAmount(p.units)} through ${p.via}: tx ${short(p.txid)} in block ${p.height} ${short(p.blockHash ?? '')}`,
      );
      const seen = [...p.seen].map(([name, at]) =>
        at === null || p.blockTime === undefined
          ? `${name} ?`
          : `${name} +${seconds(at - p.blockTime * 1000)}`,
      );
      lines.push(`    seen: ${seen.join(', ')}`);
    }
    lines.push('', 'balances (before -> after):');
    for (const n of DEMO_NAMES) {
      const note = n === 'demo-alice' ? '  (also paid by every block mined meanwhile)' : '';
      lines.push(
        `  ${n.padEnd(10)} ${formatAmount(before.get(n) ?? 0n).padStart(22)} -> ${formatAmount(after.get(n) ?? 0n)}${note}`,
      );
    }
    lines.push('', 'where to look:');
    for (const m of members) lines.push(`  explorer of ${m.name.padEnd(7)} ${m.client.url}/`);
    if (opts.local) {
      lines.push('  Grafana and Prometheus come with compose: make up-monitoring (see README, Monitoring)');
    } else {
      lines.push(
        `  Grafana    http://localhost:${opts.grafanaPort} (admin/admin), with the monitoring profile: make up-monitoring`,
      );
      lines.push(`  Prometheus http://localhost:${opts.prometheusPort}, with the monitoring profile`);
      lines.push(
        '  (inside compose, node addresses are container addresses; the seed is published on the host)',
      );
    }
    process.stdout.write(`${lines.join('\n')}\n\n`);
    process.stdout.write(
      `demo OK: ${payments.length} payments through ${new Set(payments.map((p) => p.via)).size} nodes, ` +
        `${opts.confirmations} confirmations on all ${members.length} nodes, in ${seconds(Date.now() - started)}\n`,
    );
    ok = true;
    return 0;
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    process.stdout.write(`demo FAILED at "${step}": ${why}\n`);
    return 1;
  } finally {
    if (cluster) await stopLocalCluster(cluster, ok);
  }
}

async function knownNodes(seedUrl: string): Promise<string[]> {
  const list = (await fetchJson(`${seedUrl}/known_node_request`)) as unknown;
  if (!Array.isArray(list)) throw new Error(`${seedUrl}/known_node_request did not answer a list`);
  return list
    .map((p) => (p as { hostname?: unknown }).hostname)
    .filter((h): h is string => typeof h === 'string' && /^[\w.:[\]-]{3,260}$/.test(h));
}

async function fetchJson(url: string): Promise<Record<string, unknown>> {
  const res = await fetch(url, { signal: AbortSignal.timeout(CLIENT_TIMEOUT_MS) });
  if (!res.ok) throw new Error(`${url} answered ${res.status}`);
  return (await res.json()) as Record<string, unknown>;
}

async function startLocalCluster(
  opts: DemoOptions,
): Promise<{ child: ChildProcess; dir: string; exited: Promise<number | null> }> {
  const dir = await mkdtemp(join(tmpdir(), 'chainmesh-demo-'));
  const basePort = new URL(opts.seedUrl).port || '80';
  const log = createWriteStream(join(dir, 'cluster.log'));
  const child = spawn(
    process.execPath,
    [
      MAIN_SCRIPT,
      'cluster',
      '--nodes',
      String(opts.nodes),
      '--network',
      'demo',
      '--base-port',
      basePort,
      '--data-dir',
      dir,
      '--duration',
      String(opts.timeoutSec + 30),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, dir, exited };
}

/** Stops the cluster (SIGINT: it stops its nodes), then SIGKILL if it lingers; keeps the logs of a failed run. */
async function stopLocalCluster(
  cluster: { child: ChildProcess; dir: string; exited: Promise<number | null> },
  ok: boolean,
): Promise<void> {
  if (cluster.child.exitCode === null) {
    cluster.child.kill('SIGINT');
    const stopped = await Promise.race([cluster.exited.then(() => true), sleep(20_000).then(() => false)]);
    if (!stopped) cluster.child.kill('SIGKILL');
  }
  if (ok) await rm(cluster.dir, { recursive: true, force: true });
  else process.stdout.write(`cluster logs kept in ${cluster.dir}\n`);
}
