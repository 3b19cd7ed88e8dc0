import { spawn } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { cp, mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import {
  ADMIN_TOKEN,
  MAIN,
  loopbackNodeEnv,
  tryJson,
  waitFor,
  type NodeProcess,
} from '../../test/helpers/processes.js';
import { mountSmallDisk, unmountSmallDisk } from '../../test/helpers/small-disk.js';
import { NodeProxy } from './proxy.js';

/** Lines no node may ever write: a crash the process survived by luck is still a defect. */
const FATAL_LINE = /uncaught exception|unhandled promise rejection|unhandledRejection|uncaughtException/i;

export type MemberState = 'running' | 'paused' | 'down' | 'gone';

export interface Member {
  readonly name: string;
  realPort: number;
  proxy: NodeProxy;
  /** Every proxy address this node has advertised (a restart with a new address adds one). */
  readonly addresses: string[];
  dataDir: string;
  proc: NodeProcess | undefined;
  state: MemberState;
  /** Side of the current partition, if any. */
  group: 'a' | 'b' | undefined;
  /** Set just before the harness kills or stops the process, so its exit is not a crash. */
  expectingExit: boolean;
  restarts: number;
  /** Never killed, restarted, wiped or removed by the random schedule (see `witnesses`). */
  witness: boolean;
  peakRssBytes: number;
  peakFds: number;
  /**
   * [seconds since start, RSS MB, fds, process life] every sample, for the soak's "flat RSS"
   * reading; the life is the restart count, so a restart's drop in RSS is not read as a trend.
   */
  readonly samples: Array<[number, number, number, number]>;
  /**
   * [seconds since start, V8 heap used MB, major GCs so far, process life] from the node's
   * /metrics (nodejs_heap_size_used_bytes, nodejs_gc_duration_seconds_count{kind="major"}), read
   * with the RSS: the heap after a full GC separates growth of live objects from GC timing.
   */
  readonly heap: Array<[number, number, number, number]>;
  log: WriteStream;
}

export interface ClusterEvents {
  violation(kind: string, detail: string): void;
  note(message: string): void;
}

export interface NodeInfoView {
  height: number;
  tipHash: string;
  utxoValue: string;
  utxoCount: number;
  peers: number;
  knownPeers: number;
  mempool: number;
}

/**
 * The cluster under test: a seed and N `chainmesh node` processes on
 * loopback, each behind its own forwarding proxy (which the nodes advertise
 * and dial), so the harness can partition them without root tooling. It owns
 * every process it starts and knows which exits it caused.
 */
export class ChaosCluster {
  readonly members: Member[] = [];
  private spare: number[] = [];
  private readonly startedAt = Date.now();
  private sampler: NodeJS.Timeout | undefined;
  /** Size-limited filesystems mounted for disk-full faults, unmounted at the end. */
  private readonly disks: string[] = [];

  constructor(
    readonly root: string,
    private readonly ports: number[],
    private readonly events: ClusterEvents,
  ) {
    this.spare = [...ports];
  }

  get seed(): Member {
    return this.members[0] as Member;
  }

  get seedAddress(): string {
    return this.seed.addresses[0] as string;
  }

  /** Members whose process runs and is not stopped: the ones that must agree. */
  live(): Member[] {
    return this.members.filter((m) => m.state === 'running');
  }

  byName(name: string): Member | undefined {
    return this.members.find((m) => m.name === name);
  }

  /** A port from the run's reserved block, for a helper such as the hostile peer. */
  reservePort(): number {
    return this.takePort();
  }

  private takePort(): number {
    const port = this.spare.shift();
    if (port === undefined) throw new Error('the chaos harness ran out of reserved ports');
    return port;
  }

  /** Whether a request from `senderAddr` may reach `target` under the current partition. */
  private allowed(target: Member, senderAddr: string | undefined): boolean {
    if (target.group === undefined || senderAddr === undefined) return true;
    const sender = this.members.find((m) => m.addresses.includes(senderAddr));
    return sender === undefined || sender.group === undefined || sender.group === target.group;
  }

  async addMember(name: string, witness = false): Promise<Member> {
    const dataDir = join(this.root, 'data', `${name}-${this.members.length}`);
    await mkdir(dataDir, { recursive: true });
    await mkdir(join(this.root, 'logs'), { recursive: true });
    const member: Member = {
      name,
      realPort: this.takePort(),
      proxy: undefined as unknown as NodeProxy,
      addresses: [],
      dataDir,
      proc: undefined,
      state: 'down',
      group: undefined,
      expectingExit: false,
      restarts: 0,
      witness,
      peakRssBytes: 0,
      peakFds: 0,
      samples: [],
      heap: [],
      log: createWriteStream(join(this.root, 'logs', `${name}.log`), { flags: 'a' }),
    };
    member.proxy = new NodeProxy(this.takePort(), member.realPort, (s) => this.allowed(member, s));
    await member.proxy.start();
    member.addresses.push(member.proxy.address);
    this.members.push(member);
    await this.start(member);
    return member;
  }

  /** Starts (or restarts) the member's process on its data dir; waits until it answers. */
  async start(member: Member): Promise<void> {
    const isSeed = member === this.seed;
    const env: Record<string, string> = {
      ...loopbackNodeEnv(member.realPort, member.dataDir, isSeed ? [] : [this.seedAddress]),
      ADVERTISE_ADDR: member.proxy.address,
      LOG_LEVEL: 'info',
      GOSSIP_INTERVAL_MS: '1000',
      PEER_TIMEOUT_MS: '3000',
      // CHAOS_NODE_OPTIONS reaches every node (README "Chaos and soak": heap snapshots of a soak).
      ...(process.env.CHAOS_NODE_OPTIONS ? { NODE_OPTIONS: process.env.CHAOS_NODE_OPTIONS } : {}),
    };
    const child = spawn(process.execPath, [MAIN, 'node'], {
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const proc: NodeProcess = {
      name: member.name,
      port: member.realPort,
      url: `http://127.0.0.1:${member.realPort}`,
      dataDir: member.dataDir,
      env,
      child,
      output: '',
      exitCode: null,
    };
    followOutput(member, proc, this.events);
    child.on('exit', (code, signal) => {
      proc.exitCode = code ?? (signal ? 128 : 1);
      if (member.proc === proc && !member.expectingExit) {
        member.state = 'down';
        this.events.violation(
          'crash',
          `${member.name} exited (${signal ?? `code ${code}`}) without the harness asking: ${proc.output.slice(-600)}`,
        );
      }
    });
    await waitFor(
      `${member.name} answers /healthz`,
      async () => (await tryJson(`${proc.url}/healthz`)) !== undefined,
      {
        timeoutMs: 90_000,
        intervalMs: 200,
        check: () => {
          if (proc.exitCode !== null)
            throw new Error(`${member.name} exited ${proc.exitCode}: ${proc.output.slice(-1000)}`);
        },
      },
    );
    member.state = 'running';
  }

  /** SIGKILL and wait for the exit; the harness asked for it, so it is no crash. */
  async kill(member: Member, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const proc = member.proc;
    if (!proc || proc.exitCode !== null) {
      member.state = 'down';
      return;
    }
    member.expectingExit = true;
    const exited = new Promise<void>((resolve) => proc.child.once('exit', () => resolve()));
    if (member.state === 'paused') proc.child.kill('SIGCONT');
    proc.child.kill(signal);
    await exited;
    member.state = 'down';
  }

  async restart(member: Member): Promise<void> {
    member.restarts++;
    await this.start(member);
  }

  pause(member: Member): void {
    member.proc?.child.kill('SIGSTOP');
    member.state = 'paused';
  }

  resume(member: Member): void {
    member.proc?.child.kill('SIGCONT');
    member.state = 'running';
  }

  /** The pod-IP change: the node comes back behind a new proxy address; the old one stops answering. */
  async moveAddress(member: Member): Promise<void> {
    await member.proxy.stop();
    member.proxy = new NodeProxy(this.takePort(), member.realPort, (s) => this.allowed(member, s));
    await member.proxy.start();
    member.addresses.push(member.proxy.address);
  }

  async wipeDataDir(member: Member): Promise<void> {
    await rm(member.dataDir, { recursive: true, force: true });
    await mkdir(member.dataDir, { recursive: true });
  }

  /**
   * Moves a stopped member's data dir onto a small tmpfs of its own (once), so
   * that filling it gives the node a real ENOSPC. Returns the mount point.
   */
  async moveToSmallDisk(member: Member, sizeMb: number): Promise<string> {
    const disk = join(this.root, 'disks', member.name);
    if (!this.disks.includes(disk)) {
      mountSmallDisk(disk, sizeMb);
      this.disks.push(disk);
      const target = join(disk, 'data');
      await cp(member.dataDir, target, { recursive: true });
      member.dataDir = target;
    }
    return disk;
  }

  /** Splits the live members into two groups that cannot reach each other through their proxies. */
  partition(groupA: readonly Member[]): void {
    for (const m of this.members) m.group = groupA.includes(m) ? 'a' : 'b';
    for (const m of this.members) m.proxy.dropConnections();
  }

  heal(): void {
    for (const m of this.members) m.group = undefined;
  }

  /** Seconds since the cluster started: the time base of the RSS samples. */
  elapsedSeconds(): number {
    return Math.round((Date.now() - this.startedAt) / 1000);
  }

  /** RSS and open fds of every process, from /proc, every `intervalMs`. */
  startSampling(intervalMs: number): void {
    this.sampler = setInterval(() => void this.sample(), intervalMs);
  }

  private async sample(): Promise<void> {
    const at = this.elapsedSeconds();
    const heapReads: Promise<void>[] = [];
    for (const m of this.members) {
      const pid = m.proc?.child.pid;
      if (pid === undefined || m.proc?.exitCode !== null || m.state === 'gone') continue;
      try {
        const status = await readFile(`/proc/${pid}/status`, 'utf8');
        const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
        const fds = (await readdir(`/proc/${pid}/fd`)).length;
        m.peakRssBytes = Math.max(m.peakRssBytes, rssKb * 1024);
        m.peakFds = Math.max(m.peakFds, fds);
        m.samples.push([at, Math.round(rssKb / 1024), fds, m.restarts]);
      } catch {
        // the process exited between the check and the read
      }
      if (m.state === 'running') {
        const { url } = m.proc;
        const life = m.restarts;
        heapReads.push(
          heapReading(url).then((h) => {
            if (h) m.heap.push([at, h.usedMb, h.majorGcs, life]);
          }),
        );
      }
    }
    await Promise.all(heapReads);
  }

  async info(member: Member): Promise<NodeInfoView | undefined> {
    if (!member.proc || member.state !== 'running') return undefined;
    return tryJson<NodeInfoView>(`${member.proc.url}/info`);
  }

  /** Hash of the member's best-chain block at `height`, or undefined (no answer, no such block). */
  async hashAt(member: Member, height: number): Promise<string | undefined> {
    if (!member.proc || member.state !== 'running') return undefined;
    return (await tryJson<{ hash: string }>(`${member.proc.url}/block/${height}`))?.hash;
  }

  async generate(member: Member, count: number, address?: string): Promise<string[] | undefined> {
    if (!member.proc) return undefined;
    try {
      const res = await fetch(`${member.proc.url}/admin/generate`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_TOKEN}` },
        body: JSON.stringify(address ? { count, address } : { count }),
        signal: AbortSignal.timeout(30_000),
      });
      if (!res.ok) return undefined;
      return ((await res.json()) as { hashes: string[] }).hashes;
    } catch {
      return undefined;
    }
  }

  async stopAll(): Promise<void> {
    clearInterval(this.sampler);
    await Promise.all(
      this.members.map(async (m) => {
        if (m.state === 'paused') this.resume(m);
        await this.kill(m, 'SIGTERM');
        await m.proxy.stop();
        await new Promise<void>((resolve) => m.log.end(() => resolve()));
      }),
    );
    for (const disk of this.disks) unmountSmallDisk(disk);
  }
}

/**
 * Makes `proc` the member's current process: its output goes to the member's
 * log and the last 20,000 characters stay in `proc.output`; a fatal line
 * (uncaught exception, unhandled rejection) is a violation.
 */
export function followOutput(member: Member, proc: NodeProcess, events: ClusterEvents): void {
  member.proc = proc;
  member.expectingExit = false;
  for (const stream of [proc.child.stdout, proc.child.stderr]) {
    let partial = '';
    stream?.on('data', (chunk: Buffer) => {
      const text = chunk.toString();
      member.log.write(text);
      proc.output = (proc.output + text).slice(-20_000);
      partial += text;
      let nl: number;
      while ((nl = partial.indexOf('\n')) >= 0) {
        const line = partial.slice(0, nl);
        partial = partial.slice(nl + 1);
        if (FATAL_LINE.test(line))
          events.violation('fatal-log-line', `${member.name}: ${line.slice(0, 300)}`);
      }
    });
  }
}

/** The V8 heap in use and the count of major (mark-compact) GCs from a node's /metrics, or undefined. */
async function heapReading(url: string): Promise<{ usedMb: number; majorGcs: number } | undefined> {
  try {
    const res = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(5000) });
    if (!res.ok) return undefined;
    const text = await res.text();
    const used = /^nodejs_heap_size_used_bytes (\S+)$/m.exec(text)?.[1];
    const major = /^nodejs_gc_duration_seconds_count\{kind="major"\} (\S+)$/m.exec(text)?.[1];
    if (used === undefined) return undefined;
    return { usedMb: Math.round(Number(used) / 1024 / 102.4) / 10, majorGcs: Number(major ?? 0) };
  } catch {
    return undefined;
  }
}
