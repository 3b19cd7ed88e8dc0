import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './processes.js';

/**
 * A real Prometheus (Debian's `prometheus` package, with `promtool`) for tests.
 * Installed on demand when this runs as root (CI); otherwise the test fails
 * with the command to run — it never silently skips.
 */
export function ensurePrometheus(): void {
  if (onPath('prometheus') && onPath('promtool')) return;
  if (process.getuid?.() !== 0) {
    throw new Error('prometheus/promtool are not installed: run `sudo apt-get install -y prometheus`');
  }
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = () =>
    spawnSync('apt-get', ['install', '-y', '-qq', 'prometheus'], { env, encoding: 'utf8' });
  let result = install();
  if (result.status !== 0) {
    spawnSync('apt-get', ['update', '-qq'], { env, encoding: 'utf8' });
    result = install();
  }
  if (result.status !== 0 || !onPath('prometheus') || !onPath('promtool')) {
    throw new Error(`apt-get install -y prometheus failed:\n${result.stdout}\n${result.stderr}`);
  }
}

function onPath(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
}

/** Runs promtool; returns its exit code and combined output. */
export function promtool(args: string[], input?: string): { code: number; output: string } {
  const r = spawnSync('promtool', args, { input, encoding: 'utf8' });
  return { code: r.status ?? -1, output: `${r.stdout}${r.stderr}` };
}

export interface PrometheusServer {
  readonly url: string;
  readonly child: ChildProcess;
  output: string;
  stop(): Promise<void>;
}

/** Starts Prometheus on a free loopback port scraping `targets` (host:port) every second. */
export async function startPrometheus(targets: string[]): Promise<PrometheusServer> {
  const dir = mkdtempSync(join(tmpdir(), 'chainmesh-prom-'));
  const config = join(dir, 'prometheus.yml');
  writeFileSync(
    config,
    [
      'global:',
      '  scrape_interval: 1s',
      '  evaluation_interval: 1s',
      'scrape_configs:',
      '  - job_name: chainmesh',
      '    static_configs:',
      `      - targets: [${targets.map((t) => `'${t}'`).join(', ')}]`,
      '',
    ].join('\n'),
  );
  const check = promtool(['check', 'config', config]);
  if (check.code !== 0) throw new Error(`test prometheus config invalid:\n${check.output}`);
  const port = await freePort();
  const child = spawn(
    'prometheus',
    [
      `--config.file=${config}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const server: PrometheusServer = {
    url: `http://127.0.0.1:${port}`,
    child,
    output: '',
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        child.kill('SIGKILL');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  const append = (chunk: Buffer) => {
    server.output = (server.output + chunk.toString()).slice(-20_000);
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`prometheus exited ${child.exitCode}:\n${server.output}`);
    const ready = await fetch(`${server.url}/-/ready`).then(
      (r) => r.ok,
      () => false,
    );
    if (ready) return server;
    if (Date.now() > deadline) {
      await server.stop();
      throw new Error(`prometheus not ready after 30 s:\n${server.output}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

export interface Sample {
  metric: Record<string, string>;
  value: [number, string];
}

/** Instant query through the HTTP API; throws on a query Prometheus refuses (syntax, types). */
export async function query(url: string, expr: string): Promise<Sample[]> {
  const res = await fetch(`${url}/api/v1/query?${new URLSearchParams({ query: expr })}`, {
    signal: AbortSignal.timeout(10_000),
  });
  const body = (await res.json()) as {
    status: string;
    error?: string;
    data?: { resultType: string; result: Sample[] | [number, string] };
  };
  if (body.status !== 'success' || !body.data)
    throw new Error(`query failed: ${expr}: ${body.error ?? res.status}`);
  if (body.data.resultType === 'scalar') return [{ metric: {}, value: body.data.result as [number, string] }];
  return body.data.result as Sample[];
}

/** Values of a label across series matching `match`, as Grafana's label_values() asks for them. */
export async function labelValues(url: string, label: string, match: string): Promise<string[]> {
  const res = await fetch(`${url}/api/v1/label/${label}/values?${new URLSearchParams({ 'match[]': match })}`);
  const body = (await res.json()) as { status: string; data?: string[] };
  return body.status === 'success' ? (body.data ?? []) : [];
}

/** `promtool` version line, for test logs. */
export function prometheusVersion(): string {
  return execFileSync('prometheus', ['--version'], { encoding: 'utf8' }).split('\n')[0] ?? '';
}
