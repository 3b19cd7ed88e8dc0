/**
 * Real `chainmesh node` processes for the benches: thin additions to
 * test/helpers/processes.ts (which starts, polls and stops them) — a parser of
 * each node's JSON log lines, so that block arrival is timed by the node itself
 * rather than by how fast the bench happens to poll, and Prometheus counter sums.
 */
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { MAIN, request, tryJson, waitFor, type NodeProcess } from '../test/helpers/processes.js';

export interface LogLine {
  message: string;
  /** Unix ms, from the log line's ISO timestamp (same clock for every process on this machine). */
  at: number;
  fields: Record<string, unknown>;
}

/** Calls `onLine` for every JSON log line the node writes (stdout and stderr). */
export function onLogLines(node: NodeProcess, onLine: (line: LogLine) => void): void {
  for (const stream of [node.child.stdout, node.child.stderr]) {
    let buffered = '';
    stream?.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const text = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        if (!text.startsWith('{')) continue;
        try {
          const fields = JSON.parse(text) as Record<string, unknown>;
          const at = Date.parse(String(fields.timestamp));
          if (typeof fields.message === 'string' && Number.isFinite(at)) {
            onLine({ message: fields.message, at, fields });
          }
        } catch {
          // a partial or foreign line: not ours to time
        }
      }
    });
  }
}

/**
 * Spawns a node (with extra Node.js flags such as --cpu-prof, which
 * NODE_OPTIONS refuses) and waits for /healthz; `spawned` runs first so that
 * log listeners see the first line.
 */
export async function launchNode(opts: {
  name: string;
  port: number;
  dataDir: string;
  env: Record<string, string>;
  execArgv?: string[];
  /** The CLI to run; default this tree's dist/cli/main.js (the A/B harness runs other builds). */
  main?: string;
  spawned?: (node: NodeProcess) => void;
  timeoutMs: number;
}): Promise<NodeProcess> {
  const child = spawn(process.execPath, [...(opts.execArgv ?? []), opts.main ?? MAIN, 'node'], {
    env: { PATH: process.env.PATH ?? '', ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const node: NodeProcess = {
    name: opts.name,
    port: opts.port,
    url: `http://127.0.0.1:${opts.port}`,
    dataDir: opts.dataDir,
    env: opts.env,
    child,
    output: '',
    exitCode: null,
  };
  const keepTail = (chunk: Buffer) => {
    node.output = (node.output + chunk.toString()).slice(-20_000);
  };
  child.stdout.on('data', keepTail);
  child.stderr.on('data', keepTail);
  child.on('exit', (code, signal) => {
    node.exitCode = code ?? (signal ? 128 : 1);
  });
  opts.spawned?.(node);
  await waitFor(
    `${opts.name} answers /healthz`,
    async () => (await tryJson(`${node.url}/healthz`)) !== undefined,
    {
      timeoutMs: opts.timeoutMs,
      intervalMs: 100,
      check: () => {
        if (node.exitCode !== null)
          throw new Error(`${opts.name} exited ${node.exitCode}:\n${node.output.slice(-2000)}`);
      },
    },
  );
  return node;
}

/** Sum of every sample of a counter (all label sets) in a node's /metrics. */
export async function counterSum(node: NodeProcess, name: string): Promise<number> {
  const res = await request(`${node.url}/metrics`);
  if (res.status !== 200 || typeof res.body !== 'string')
    throw new Error(`${node.name} /metrics: ${res.status}`);
  let sum = 0;
  for (const line of res.body.split('\n')) {
    if (line.startsWith(name + '{') || line.startsWith(name + ' ')) {
      sum += Number(line.slice(line.lastIndexOf(' ') + 1));
    }
  }
  return sum;
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i] as number;
}

/** Rejects after `ms` with a message naming the phase: every phase of a bench is bounded. */
export async function withDeadline<T>(phase: string, ms: number, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${phase}: over its ${ms / 1000} s deadline`)), ms);
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * A bench's node processes die with it: SIGKILL at exit, and on Ctrl-C or
 * SIGTERM also the removal of its data dirs under `root`.
 */
export function killOnExit(running: ReadonlySet<NodeProcess>, root: string): void {
  const killAll = () => {
    for (const p of running) if (p.exitCode === null) p.child.kill('SIGKILL');
  };
  process.on('exit', killAll);
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.on(sig, () => {
      killAll();
      rmSync(root, { recursive: true, force: true });
      process.exit(1);
    });
  }
}
