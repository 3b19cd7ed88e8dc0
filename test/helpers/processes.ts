import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Real `chainmesh node` processes on loopback, started from the built package (make test builds first). */
export const MAIN = join(import.meta.dirname, '..', '..', 'dist', 'cli', 'main.js');
export const ADMIN_TOKEN = 'test-admin-token';

/**
 * TEST_PORTS=FROM-TO (e.g. 20000-21999) keeps the nodes of a run inside a
 * range of ports (engineers sharing one machine each have their own);
 * unset, a port comes from the kernel.
 */
function portRange(): { from: number; to: number } | undefined {
  const spec = process.env.TEST_PORTS;
  if (spec === undefined || spec === '') return undefined;
  const m = /^(\d+)-(\d+)$/.exec(spec);
  const from = Number(m?.[1]);
  const to = Number(m?.[2]) + 1;
  if (!m || !(from >= 1024 && to <= 65536 && to - from >= 16))
    throw new Error(`TEST_PORTS must be FROM-TO, at least 16 ports within 1024-65535 (got ${spec})`);
  return { from, to };
}

/** Ports this process has handed out from TEST_PORTS: two nodes started at once never draw the same one. */
const handedOut = new Set<number>();

export async function freePort(): Promise<number> {
  const range = portRange();
  if (!range) return kernelPort();
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = range.from + Math.floor(Math.random() * (range.to - range.from));
    if (handedOut.has(port)) continue;
    handedOut.add(port);
    if (await isFree(port)) return port;
  }
  throw new Error(`no free port found in TEST_PORTS=${process.env.TEST_PORTS}`);
}

function kernelPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * `count` consecutive free ports (for `chainmesh cluster --base-port`), taken
 * below the kernel's ephemeral range so ports handed out to other tests
 * cannot land inside the block; `range` (from inclusive, to exclusive) keeps a
 * bench inside the ports given to it.
 */
export async function freePortBlock(
  count: number,
  range: { from: number; to: number } = portRange() ?? { from: 20_000, to: 30_000 },
): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const base = range.from + Math.floor(Math.random() * (range.to - range.from - count));
    const ports = Array.from({ length: count }, (_, i) => base + i);
    if ((await Promise.all(ports.map(isFree))).every(Boolean)) return base;
  }
  throw new Error(`no block of ${count} free ports found`);
}

export function tempDir(prefix = 'chainmesh-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export interface NodeProcess {
  readonly name: string;
  readonly port: number;
  readonly url: string;
  readonly dataDir: string;
  readonly env: Record<string, string>;
  child: ChildProcess;
  output: string;
  exitCode: number | null;
}

export interface StartOptions {
  name: string;
  dataDir: string;
  port?: number;
  seeds?: string[];
  env?: Record<string, string>;
}

/** What every regtest node on loopback is started with, tests' and benches' alike; callers add their own. */
export function loopbackNodeEnv(
  port: number,
  dataDir: string,
  seeds: readonly string[] = [],
): Record<string, string> {
  return {
    PORT: String(port),
    BIND_HOST: '127.0.0.1',
    ADVERTISE_ADDR: `127.0.0.1:${port}`,
    SEED_HOSTS: seeds.join(','),
    DATA_DIR: dataDir,
    NETWORK: 'regtest',
    ADMIN_TOKEN,
    LOG_FORMAT: 'json',
  };
}

export async function startNode(opts: StartOptions): Promise<NodeProcess> {
  const port = opts.port ?? (await freePort());
  const env: Record<string, string> = {
    ...loopbackNodeEnv(port, opts.dataDir, opts.seeds),
    LOG_LEVEL: 'info',
    GOSSIP_INTERVAL_MS: '500',
    PEER_TIMEOUT_MS: '2000',
    ...opts.env,
  };
  const node = spawnNode(opts.name, port, opts.dataDir, env);
  await waitFor(
    `${opts.name} answers /healthz`,
    async () => (await tryJson(`${node.url}/healthz`)) !== undefined,
    {
      timeoutMs: 30_000,
      check: () => {
        if (node.exitCode !== null)
          throw new Error(`${opts.name} exited ${node.exitCode}:\n${node.output.slice(-2000)}`);
      },
    },
  );
  return node;
}

export function spawnNode(
  name: string,
  port: number,
  dataDir: string,
  env: Record<string, string>,
): NodeProcess {
  const child = spawn(process.execPath, [MAIN, 'node'], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const node: NodeProcess = {
    name,
    port,
    url: `http://127.0.0.1:${port}`,
    dataDir,
    env,
    child,
    output: '',
    exitCode: null,
  };
  const append = (chunk: Buffer) => {
    node.output = (node.output + chunk.toString()).slice(-200_000);
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  child.on('exit', (code, signal) => {
    node.exitCode = code ?? (signal ? 128 : 1);
  });
  return node;
}

/** Stops the node (SIGTERM) if it runs, then starts it again on the same port and data dir. */
export async function restartNode(node: NodeProcess, env: Record<string, string> = {}): Promise<NodeProcess> {
  await stopNode(node);
  return startNode({
    name: node.name,
    dataDir: node.dataDir,
    port: node.port,
    env: { ...node.env, ...env },
    seeds: (env.SEED_HOSTS ?? node.env.SEED_HOSTS ?? '').split(',').filter(Boolean),
  });
}

/** SIGTERM and wait; returns the exit code and how long the stop took. */
export async function stopNode(
  node: NodeProcess,
  signal: NodeJS.Signals = 'SIGTERM',
): Promise<{ code: number; ms: number }> {
  const started = Date.now();
  if (node.exitCode === null) {
    const exited = new Promise<void>((resolve) => node.child.once('exit', () => resolve()));
    node.child.kill(signal);
    await exited;
  }
  return { code: node.exitCode ?? -1, ms: Date.now() - started };
}

export async function stopAll(nodes: Iterable<NodeProcess>): Promise<void> {
  await Promise.all([...nodes].map((n) => stopNode(n, 'SIGKILL')));
}

export function cleanup(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

export async function tryJson<T = unknown>(url: string, init?: RequestInit): Promise<T | undefined> {
  try {
    const res = await fetch(url, { ...init, signal: AbortSignal.timeout(3000) });
    if (!res.ok) return undefined;
    return (await res.json()) as T;
  } catch {
    return undefined;
  }
}

export async function request(
  url: string,
  opts: { method?: string; body?: unknown; rawBody?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; body: any }> {
  const res = await fetch(url, {
    method: opts.method ?? (opts.body !== undefined || opts.rawBody !== undefined ? 'POST' : 'GET'),
    headers: { 'content-type': 'application/json', ...opts.headers },
    body: opts.rawBody ?? (opts.body !== undefined ? JSON.stringify(opts.body) : undefined),
    signal: AbortSignal.timeout(60_000),
  });
  return { status: res.status, body: jsonOrText(await res.text()) };
}

/** A response body parsed as JSON, or the text itself when it is not JSON (metrics, error pages). */
export function jsonOrText(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

export function admin(node: NodeProcess, path: string, body: unknown) {
  return request(`${node.url}${path}`, { body, headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
}

export async function info(node: NodeProcess): Promise<any> {
  const res = await request(`${node.url}/info`);
  if (res.status !== 200) throw new Error(`${node.name} /info: ${res.status}`);
  return res.body;
}

/** Sum of a node's /metrics samples named `name` whose labels include `labels`. */
export async function metricSum(
  node: NodeProcess,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const text = (await request(`${node.url}/metrics`)).body as string;
  let sum = 0;
  for (const line of text.split('\n')) {
    const m = /^(\w+)(\{[^}]*\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    if (Object.entries(labels).every(([k, v]) => (m[2] ?? '').includes(`${k}="${v}"`))) sum += Number(m[3]);
  }
  return sum;
}

/** Polls a condition; fails with the last observation after the timeout. */
export async function waitFor(
  what: string,
  condition: () => Promise<boolean> | boolean,
  opts: {
    timeoutMs?: number;
    intervalMs?: number;
    check?: () => void;
    describe?: () => Promise<string>;
  } = {},
): Promise<number> {
  const started = Date.now();
  const deadline = started + (opts.timeoutMs ?? 60_000);
  for (;;) {
    opts.check?.();
    if (await condition()) return Date.now() - started;
    if (Date.now() > deadline) {
      const detail = opts.describe ? `: ${await opts.describe()}` : '';
      throw new Error(`timed out waiting for ${what}${detail}`);
    }
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 100));
  }
}
