/**
 * The dashboards are only worth something if their queries return data from a
 * real cluster. This starts real nodes on loopback and a real Prometheus
 * scraping them, drives the events every panel shows (blocks from peers, a
 * reorg, transactions accepted and refused, an invalid block, API errors, a
 * dead peer), and polls until every panel query of every dashboard returns data.
 * It also runs promtool over every Prometheus config in the repo and over the
 * node's own /metrics, and checks that every metric the README documents is scraped.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML, { parseAllDocuments } from 'yaml';
import { fromHex, getNetwork, privateKeyFromSeed, toHex } from '../../src/core/index.js';
import { addressOfKey, buildPayment } from '../../src/wallet/index.js';
import {
  ensurePrometheus,
  labelValues,
  prometheusVersion,
  promtool,
  query,
  startPrometheus,
  type PrometheusServer,
} from '../helpers/prometheus.js';
import {
  admin,
  cleanup,
  info,
  request,
  restartNode,
  startNode,
  stopAll,
  stopNode,
  tempDir,
  waitFor,
  type NodeProcess,
} from '../helpers/processes.js';
import { spendable, type UtxoView } from '../helpers/wallet.js';

const ROOT = join(import.meta.dirname, '..', '..');
const DASHBOARDS = join(ROOT, 'monitoring', 'grafana', 'dashboards');
const params = getNetwork('regtest');

interface Panel {
  title?: string;
  type?: string;
  targets?: Array<{ expr?: string; refId?: string }>;
  panels?: Panel[];
}
interface Dashboard {
  uid: string;
  title: string;
  panels: Panel[];
  templating: { list: Array<{ name: string; query: string | { query: string }; definition?: string }> };
}

function loadDashboards(): Dashboard[] {
  return readdirSync(DASHBOARDS)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => JSON.parse(readFileSync(join(DASHBOARDS, f), 'utf8')) as Dashboard);
}

function panelQueries(d: Dashboard): Array<{ where: string; expr: string }> {
  const out: Array<{ where: string; expr: string }> = [];
  const walk = (panels: Panel[]) => {
    for (const p of panels) {
      for (const t of p.targets ?? []) {
        if (t.expr) out.push({ where: `${d.uid} / ${p.title} / ${t.refId}`, expr: t.expr });
      }
      walk(p.panels ?? []);
    }
  };
  walk(d.panels);
  return out;
}

/** What Grafana substitutes before sending a query; windows fit a 1 s scrape interval. */
function substitute(expr: string, instance: string): string {
  return expr
    .replaceAll('$__rate_interval', '30s')
    .replaceAll('$__interval', '5s')
    .replaceAll('$__range', '10m')
    .replaceAll('$instance', instance);
}

/** Metric names in the first Markdown table of README.md whose rows name `chainmesh_…` metrics. */
function readmeMetrics(): string[] {
  const names = new Set<string>();
  for (const line of readFileSync(join(ROOT, 'README.md'), 'utf8').split('\n')) {
    const m = /^\|\s*`(chainmesh_[a-z0-9_]+)`/.exec(line);
    if (m) names.add(m[1]!);
  }
  return [...names];
}

/** The exposition without prom-client's default process/Node.js families (named by prom-client, not by us). */
function ownMetricFamilies(text: string): string {
  const isDefault = (line: string) => /^(# (HELP|TYPE) )?(process|nodejs)_/.test(line);
  return (
    text
      .split('\n')
      .filter((l) => l !== '' && !isDefault(l))
      .join('\n') + '\n'
  );
}

/** The config with each kubernetes_sd_configs block validated and replaced by an equivalent file_sd_configs. */
function withoutKubernetesSd(text: string): unknown {
  const config = YAML.parse(text) as { scrape_configs?: Array<Record<string, unknown>> };
  for (const job of config.scrape_configs ?? []) {
    const sd = job.kubernetes_sd_configs as
      Array<{ role?: string; namespaces?: { names?: string[] } }> | undefined;
    if (!sd) continue;
    for (const entry of sd) {
      expect(['node', 'service', 'pod', 'endpoints', 'endpointslice', 'ingress']).toContain(entry.role);
      expect(entry.namespaces?.names?.length).toBeGreaterThan(0);
    }
    delete job.kubernetes_sd_configs;
    job.file_sd_configs = [{ files: ['targets/*.json'] }];
  }
  return config;
}

function prometheusConfigsInRepo(dir: string): Array<{ name: string; file: string }> {
  const configs = [
    {
      name: 'monitoring/prometheus/prometheus.yml',
      file: join(ROOT, 'monitoring', 'prometheus', 'prometheus.yml'),
    },
  ];
  for (const f of readdirSync(join(ROOT, 'k8s')).sort()) {
    for (const doc of parseAllDocuments(readFileSync(join(ROOT, 'k8s', f), 'utf8'))) {
      const obj = doc.toJS() as {
        kind?: string;
        metadata?: { name?: string };
        data?: Record<string, string>;
      } | null;
      if (obj?.kind !== 'ConfigMap') continue;
      for (const [key, value] of Object.entries(obj.data ?? {})) {
        if (!/^prometheus.*\.ya?ml$/.test(key)) continue;
        const file = join(dir, `${obj.metadata?.name}-${key}`);
        writeFileSync(file, value);
        configs.push({ name: `k8s/${f} ConfigMap ${obj.metadata?.name} ${key}`, file });
      }
    }
  }
  return configs;
}

describe('dashboards against a real Prometheus scraping real nodes', () => {
  const dir = tempDir('chainmesh-dash-');
  const nodes: NodeProcess[] = [];
  let prom: PrometheusServer | undefined;
  let seed: NodeProcess;
  let miner: NodeProcess;
  let victim: NodeProcess;
  /** The node every event is aimed at; the node dashboard is checked for it. */
  let focus: NodeProcess;
  const walletKey = privateKeyFromSeed(new TextEncoder().encode('dashboards test wallet'));
  const wallet = { privateKey: walletKey, address: addressOfKey(walletKey, params) };

  beforeAll(async () => {
    ensurePrometheus();
    seed = await startNode({ name: 'seed', dataDir: join(dir, 'seed') });
    const seeds = [`127.0.0.1:${seed.port}`];
    [miner, victim] = await Promise.all([
      startNode({ name: 'miner', dataDir: join(dir, 'miner'), seeds }),
      startNode({ name: 'victim', dataDir: join(dir, 'victim'), seeds }),
    ]);
    // `focus` starts alone, so it can mine a branch of its own that the cluster's heavier chain replaces.
    focus = await startNode({ name: 'focus', dataDir: join(dir, 'focus') });
    nodes.push(seed, miner, victim, focus);
    prom = await startPrometheus(nodes.map((n) => `127.0.0.1:${n.port}`));
  });

  afterAll(async () => {
    await prom?.stop();
    await stopAll(nodes);
    cleanup(dir);
  });

  it('promtool accepts every Prometheus config in the repo', () => {
    const configs = prometheusConfigsInRepo(dir);
    expect(configs.length).toBeGreaterThanOrEqual(2);
    for (const { name, file } of configs) {
      let r = promtool(['check', 'config', file]);
      if (r.code !== 0 && /field kubernetes_sd_configs not found/.test(r.output)) {
        // Debian builds Prometheus without Kubernetes service discovery. Check that
        // block's shape here, and everything else (relabelling, regexes) with promtool.
        console.log(
          `${name}: this promtool lacks kubernetes_sd_configs; checking the rest with file_sd_configs`,
        );
        const swapped = `${file}.file-sd.yml`;
        writeFileSync(swapped, YAML.stringify(withoutKubernetesSd(readFileSync(file, 'utf8'))));
        r = promtool(['check', 'config', swapped]);
      }
      expect(r.code, `${name}:\n${r.output}`).toBe(0);
    }
  });

  it("promtool accepts the node's own /metrics", async () => {
    const text = (await request(`${seed.url}/metrics`)).body as string;
    expect(text).toContain('chainmesh_chain_height');
    // The node's own metrics: lint-clean.
    const own = ownMetricFamilies(text);
    expect(own).toContain('# TYPE chainmesh_chain_height gauge');
    const r = promtool(['check', 'metrics'], own);
    expect(r.code, r.output).toBe(0);
    // The whole exposition parses (exit 1 = parse error); the only lint findings
    // allowed are prom-client's default Node.js gauges named `…_total` upstream.
    const all = promtool(['check', 'metrics'], text);
    expect(all.code, all.output).not.toBe(1);
    const findings = all.output.split('\n').filter((l) => l.trim() !== '');
    for (const line of findings) expect(line).toMatch(/^nodejs_active_\w+_total non-counter metrics/);
  });

  it('every panel query of every dashboard returns data', async () => {
    console.log(`using ${prometheusVersion()}`);
    // A branch of one block on `focus`, then a heavier chain in the cluster paying our wallet.
    await gen(focus, 1);
    await gen(miner, params.coinbaseMaturity + 12, wallet.address);
    const clusterHeight = (await info(miner)).height as number;
    await waitFor('cluster agrees on the tip', async () => {
      const tips = await Promise.all([seed, miner, victim].map((n) => info(n)));
      return tips.every((t) => t.tipHash === tips[0].tipHash && t.height === clusterHeight);
    });
    // `focus` joins through the seed and must reorg its own block away (depth 1).
    focus = await restartNode(focus, { SEED_HOSTS: `127.0.0.1:${seed.port}` });
    nodes[3] = focus;
    await waitFor(
      'focus syncs onto the cluster chain',
      async () => (await info(focus)).height >= clusterHeight,
      {
        timeoutMs: 60_000,
      },
    );

    const focusInstance = `127.0.0.1:${focus.port}`;
    const dashboards = loadDashboards();
    expect(dashboards.map((d) => d.uid).sort()).toEqual(['chainmesh-node', 'chainmesh-overview']);
    const queries = dashboards.flatMap((d) =>
      panelQueries(d).flatMap((q) => {
        const expr = substitute(q.expr, focusInstance);
        // `x or vector(0)` always returns data (0 rather than "No data" when every
        // node is down): prove that `x` itself does too.
        const fallback = / or vector\(0\)$/.exec(expr);
        return fallback
          ? [
              { ...q, expr },
              { where: `${q.where} (without its 0 fallback)`, expr: expr.slice(0, fallback.index) },
            ]
          : [{ ...q, expr }];
      }),
    );
    expect(queries.length).toBeGreaterThan(40);
    for (const { expr } of queries) expect(expr, 'a Grafana variable left unsubstituted').not.toMatch(/\$/);

    let empty: string[] = queries.map((q) => q.where);
    let round = 0;
    const deadline = Date.now() + 150_000;
    while (empty.length > 0 || round < 3) {
      round += 1;
      await driveActivity(round);
      const results = await Promise.all(
        queries.map(async (q) => ({ q, n: (await query(prom!.url, q.expr)).length })),
      );
      empty = results.filter((r) => r.n === 0).map((r) => `${r.q.where}: ${r.q.expr}`);
      if (empty.length === 0 && round >= 3) break;
      if (Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 1000));
    }
    expect(empty, `panel queries without data after ${round} rounds`).toEqual([]);

    // The data is of the events driven above, not only zeros.
    const f = `instance="${focusInstance}"`;
    for (const expr of [
      `max_over_time(chainmesh_chain_reorgs_total{${f}}[10m])`,
      `max_over_time(chainmesh_chain_reorg_depth_blocks_sum{${f}}[10m])`,
      `max_over_time(chainmesh_chain_block_arrival_delay_seconds_count{${f}}[10m])`,
      `max_over_time(chainmesh_chain_blocks_accepted_total{${f},source="peer"}[10m])`,
      `max_over_time(chainmesh_mempool_tx_accepted_total{${f},source="api"}[10m])`,
      `sum(max_over_time(chainmesh_mempool_tx_accepted_total{source="peer"}[10m]))`,
      `sum(max_over_time(chainmesh_mempool_tx_rejected_total{${f}}[10m]))`,
      `sum(max_over_time(chainmesh_chain_blocks_rejected_total{${f}}[10m]))`,
      `sum(max_over_time(chainmesh_p2p_request_failures_total[10m]))`,
      `sum(max_over_time(chainmesh_api_errors_total{${f}}[10m]))`,
      `max_over_time(chainmesh_sync_blocks_downloaded_total{${f}}[10m])`,
    ]) {
      await waitFor(`${expr} > 0`, async () => Number((await query(prom!.url, expr))[0]?.value[1] ?? 0) > 0, {
        timeoutMs: 30_000,
        intervalMs: 500,
      });
    }

    // Template variables resolve, and to the node the dashboard was checked with.
    for (const d of dashboards) {
      for (const v of d.templating.list) {
        const q = typeof v.query === 'string' ? v.query : v.query.query;
        const m = /^label_values\((\w+),\s*(\w+)\)$/.exec(q);
        expect(m, `${d.uid} variable ${v.name}: ${q}`).not.toBeNull();
        expect(await labelValues(prom!.url, m![2]!, m![1]!)).toContain(focusInstance);
      }
    }
  });

  it('every metric the README documents is exported and scraped', async () => {
    const documented = readmeMetrics();
    expect(documented.length, 'README.md has no metrics table').toBeGreaterThanOrEqual(20);
    const text = (await request(`${focus.url}/metrics`)).body as string;
    const missing: string[] = [];
    for (const name of documented) {
      if (!new RegExp(`^# TYPE ${name} `, 'm').test(text)) missing.push(`${name} (not in /metrics)`);
      const series = await query(prom!.url, `count({__name__=~"${name}(_bucket|_count|_sum)?"})`);
      if (series.length === 0) missing.push(`${name} (not in Prometheus)`);
    }
    expect(missing).toEqual([]);
  });

  /**
   * One round of the traffic the dashboards display: blocks from a peer, a
   * payment and a double spend, an invalid block, a bad request; in round 3
   * one node dies so its peers record request failures.
   */
  async function driveActivity(round: number): Promise<void> {
    await gen(miner, 1);
    const { utxos } = (await request(`${focus.url}/utxo/${wallet.address}`)).body as { utxos: UtxoView[] };
    const pay = (amount: bigint) =>
      buildPayment({
        params,
        privateKey: wallet.privateKey,
        coins: spendable(utxos),
        to: wallet.address,
        amount,
        feeRate: 4n,
      }).hex;
    const payment = await request(`${focus.url}/transactions`, { body: { tx: pay(10_000n) } });
    expect(payment.status, JSON.stringify(payment.body)).toBe(200);
    // The same coin again: refused as a double spend.
    const doubleSpend = await request(`${focus.url}/transactions`, { body: { tx: pay(20_000n) } });
    expect(doubleSpend.status).toBeGreaterThanOrEqual(400);
    // A real block with its merkle root damaged: refused by validation, counted by reason.
    const tip = (await request(`${focus.url}/block/${(await info(focus)).height}?format=hex`)).body as {
      hex: string;
    };
    const bytes = fromHex(tip.hex);
    bytes[40] = bytes[40]! ^ 0xff;
    const bad = await request(`${focus.url}/block`, { body: { block: toHex(bytes) } });
    expect(bad.status).toBeGreaterThanOrEqual(400);
    expect((await request(`${focus.url}/block/not-a-block`)).status).toBe(400);
    if (round === 3 && victim.exitCode === null) await stopNode(victim, 'SIGKILL');
  }

  async function gen(node: NodeProcess, count: number, address?: string): Promise<string[]> {
    const r = await admin(node, '/admin/generate', address ? { count, address } : { count });
    if (r.status !== 200) throw new Error(`${node.name} generate: ${r.status} ${JSON.stringify(r.body)}`);
    return (r.body as { hashes: string[] }).hashes;
  }
});
