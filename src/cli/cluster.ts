import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EXIT_CONFIG } from './run-node.js';

export interface ClusterOptions {
  nodes: number;
  basePort: number;
  network: 'demo' | 'regtest';
  dataDir: string;
  mine: boolean;
  intensity: number;
  adminToken: string;
  /** Stop after this many seconds (for scripts); undefined runs until Ctrl-C. */
  durationSec: number | undefined;
}

interface Member {
  name: string;
  port: number;
  child: ChildProcess;
  exitCode: number | null;
  /** Last line the node wrote to stderr: why it exited, if it did. */
  lastLine: string;
}

interface InfoRow {
  height: number;
  tipHash: string;
  peers: number;
  knownPeers: number;
  mempool: number;
  syncing: boolean;
}

const MAIN_SCRIPT = fileURLToPath(new URL('./main.js', import.meta.url));

/**
 * `chainmesh cluster`: a seed and N nodes as child processes on loopback, each
 * with its own data dir and log file, and a live table of their state. The
 * same `chainmesh node` command as in a container, configured the same way.
 */
export async function runCluster(opts: ClusterOptions): Promise<void> {
  const root = resolve(opts.dataDir);
  try {
    await mkdir(root, { recursive: true });
  } catch (err) {
    process.stderr.write(
      `chainmesh cluster: --data-dir ${JSON.stringify(opts.dataDir)}: expected a directory this user can create and write ` +
        `(${err instanceof Error ? err.message : String(err)})\n`,
    );
    process.exit(EXIT_CONFIG);
  }
  const seedAddr = `127.0.0.1:${opts.basePort}`;
  const members: Member[] = [];
  let stopped = false;
  /** Set when a node refuses its configuration (a port in use): the cluster cannot be what was asked. */
  let failed: Member | undefined;
  let wake: (() => void) | undefined;
  for (let i = 0; i <= opts.nodes; i++) {
    const name = i === 0 ? 'seed' : `node-${i}`;
    const port = opts.basePort + i;
    const dir = join(root, name);
    // Each node checks its own DATA_DIR and says which one is wrong.
    const log = createWriteStream(join(root, `${name}.log`), { flags: 'a' });
    const child = spawn(process.execPath, [MAIN_SCRIPT, 'node'], {
      env: {
        ...process.env,
        PORT: String(port),
        BIND_HOST: '127.0.0.1',
        ADVERTISE_ADDR: `127.0.0.1:${port}`,
        SEED_HOSTS: i === 0 ? '' : seedAddr,
        DATA_DIR: dir,
        NETWORK: opts.network,
        MINER_ENABLED: String(opts.mine),
        MINING_INTENSITY: String(opts.intensity),
        ADMIN_TOKEN: opts.adminToken,
        LOG_FORMAT: 'json',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.pipe(log);
    child.stderr?.pipe(log);
    const member: Member = { name, port, child, exitCode: null, lastLine: '' };
    child.stderr?.on('data', (chunk: Buffer) => {
      const lines = chunk
        .toString()
        .split('\n')
        .filter((l) => l.trim() !== '');
      member.lastLine = lines.at(-1) ?? member.lastLine;
    });
    child.on('exit', (code) => {
      member.exitCode = code ?? 1;
      if (stopped) return;
      process.stderr.write(
        `chainmesh cluster: ${name} exited with code ${member.exitCode}${member.lastLine ? `: ${member.lastLine}` : ''}\n`,
      );
      if (member.exitCode === EXIT_CONFIG) {
        failed ??= member;
        wake?.();
      }
    });
    members.push(member);
  }

  const interactive = process.stdout.isTTY === true;
  process.stdout.write(
    `chainmesh cluster: ${opts.nodes + 1} processes on 127.0.0.1:${opts.basePort}-${opts.basePort + opts.nodes}, ` +
      `network ${opts.network}, data and logs in ${root}\n` +
      `admin token: ${opts.adminToken}   stop with Ctrl-C\n`,
  );

  const stopAll = async () => {
    if (stopped) return;
    stopped = true;
    for (const m of members) if (m.exitCode === null) m.child.kill('SIGTERM');
    await Promise.all(
      members.map(
        (m) =>
          new Promise<void>((done) => (m.exitCode !== null ? done() : m.child.once('exit', () => done()))),
      ),
    );
    process.stdout.write('all nodes stopped\n');
  };
  process.on('SIGINT', () => void stopAll().then(() => process.exit(0)));
  process.on('SIGTERM', () => void stopAll().then(() => process.exit(0)));

  const started = Date.now();
  while (!stopped && !failed) {
    const rows = await Promise.all(members.map((m) => fetchInfo(m)));
    const table = renderTable(members, rows);
    process.stdout.write(interactive ? `\x1b[H\x1b[J${table}` : `${table}\n`);
    if (opts.durationSec !== undefined && Date.now() - started >= opts.durationSec * 1000) break;
    await new Promise<void>((r) => {
      const timer = setTimeout(r, interactive ? 1000 : 2000);
      wake = () => {
        clearTimeout(timer);
        r();
      };
    });
    wake = undefined;
  }
  await stopAll();
  if (failed) {
    process.stderr.write(
      `chainmesh cluster: stopped: ${failed.name} could not start with its configuration\n`,
    );
    process.exit(EXIT_CONFIG);
  }
}

async function fetchInfo(member: Member): Promise<InfoRow | undefined> {
  if (member.exitCode !== null) return undefined;
  try {
    const res = await fetch(`http://127.0.0.1:${member.port}/info`, { signal: AbortSignal.timeout(800) });
    return res.ok ? ((await res.json()) as InfoRow) : undefined;
  } catch {
    return undefined;
  }
}

function renderTable(members: Member[], rows: Array<InfoRow | undefined>): string {
  const header = ['node', 'port', 'height', 'tip', 'peers', 'known', 'mempool', 'state'];
  const lines = members.map((m, i) => {
    const row = rows[i];
    if (!row)
      return [
        m.name,
        String(m.port),
        '-',
        '-',
        '-',
        '-',
        '-',
        m.exitCode !== null ? `exited ${m.exitCode}` : 'starting',
      ];
    return [
      m.name,
      String(m.port),
      String(row.height),
      row.tipHash.slice(0, 16),
      String(row.peers),
      String(row.knownPeers),
      String(row.mempool),
      row.syncing ? 'syncing' : 'ok',
    ];
  });
  const tips = new Set(rows.filter((r): r is InfoRow => r !== undefined).map((r) => r.tipHash));
  const widths = header.map((h, c) => Math.max(h.length, ...lines.map((l) => (l[c] ?? '').length)));
  const format = (cells: string[]) => cells.map((cell, c) => cell.padEnd(widths[c] ?? 0)).join('  ');
  return [
    format(header),
    ...lines.map(format),
    `${new Date().toISOString()}  distinct tips: ${tips.size}`,
    '',
  ].join('\n');
}
