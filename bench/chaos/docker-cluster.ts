import { execFile, spawn, spawnSync } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { tryJson, waitFor, type NodeProcess } from '../../test/helpers/processes.js';
import { ChaosCluster, followOutput, type ClusterEvents, type Member } from './cluster.js';
import type { NodeProxy } from './proxy.js';
import { PERTURBATION_KINDS } from './scenario.js';

const REPO = resolve(import.meta.dirname, '..', '..');
/** The chaos settings over the deployment's own compose file: regtest, harness-mined, fixed subnet. */
export const CHAOS_COMPOSE_FILE = join(import.meta.dirname, 'docker-compose.chaos.yml');
/** What the harness may do in Docker; disk-full needs a size-limited data dir, the hostile peer a host port the containers can reach. */
export const DOCKER_PERTURBATIONS: ReadonlySet<string> = new Set<string>(
  PERTURBATION_KINDS.filter((k) => k !== 'disk-full' && k !== 'hostile-peer'),
);
/** Starved containers get this share of one core each (docker update --cpus). */
const STARVED_CPUS = '0.2';
/** After its own pause, kill, restart or network change a container may be unhealthy for this long. */
const HEALTH_GRACE_MS = 90_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface DockerClusterOptions {
  /** Compose project: every container, network and volume of the run carries its label. */
  project: string;
  /** Environment of every compose command: CHAINMESH_IMAGE, SEED_PORT, CHAOS_SUBNET. */
  env: Record<string, string>;
  /** The project network's subnet (a node cut off is reconnected at its own address). */
  subnet: string;
}

interface DockerMember {
  container: string;
  /** The node's address on the project network ("ip:3000"): the one its peers know. */
  ip: string;
  pid: number;
  /** Until when an unhealthy status is the harness's own doing. */
  graceUntil: number;
  /** Health statuses seen unhealthy already reported (one violation per episode). */
  unhealthyReported: boolean;
}

/** `docker compose` (v2) when the plugin exists, else docker-compose 1.29: the same files serve both. */
function composeCommand(): string[] {
  const v2 = spawnSync('docker', ['compose', 'version'], { stdio: 'ignore' });
  return v2.status === 0 ? ['docker', 'compose'] : ['docker-compose'];
}

/**
 * The chaos cluster as compose containers (`make chaos-docker`): the seed and
 * `--scale node=N` replicas of docker-compose.yml, with the harness's
 * settings from docker-compose.chaos.yml. Every fault is a Docker operation
 * on a container of this run's own project: `docker kill` and `docker start`
 * (same container, same volume), `docker pause`/`unpause`, `docker network
 * disconnect`/`connect` for splits (a cut-off node goes to a network of its
 * own, where only the harness reaches it, and comes back at the same address),
 * `docker update --cpus` for CPU starvation. The harness reaches each node at
 * its container address; the run's load, schedule, invariants and report are
 * the local harness's (run.ts), unchanged.
 */
export class DockerCluster extends ChaosCluster {
  private readonly compose = composeCommand();
  private readonly dockerOf = new Map<Member, DockerMember>();
  private readonly followers = new Map<Member, ReturnType<typeof spawn>>();
  private readonly claimed = new Set<string>();
  private readonly cutNetwork: string;
  private readonly projectNetwork: string;
  private queue: Promise<unknown> = Promise.resolve();
  private sampleTimer: NodeJS.Timeout | undefined;
  private healthTimer: NodeJS.Timeout | undefined;
  private readonly t0 = Date.now();
  private nextMovedHost = 200;
  private prepared = false;
  private readonly onExit = () => this.forceDown();

  constructor(
    root: string,
    private readonly dockerEvents: ClusterEvents,
    private readonly opts: DockerClusterOptions,
  ) {
    super(root, [], dockerEvents);
    this.projectNetwork = `${opts.project}_default`;
    this.cutNetwork = `${opts.project}-cut`;
  }

  // ---- commands ----

  private run(cmd: string[], timeoutMs = 300_000): Promise<string> {
    return new Promise((resolvePromise, reject) => {
      execFile(
        cmd[0] as string,
        cmd.slice(1),
        { cwd: REPO, env: { ...process.env, ...this.opts.env }, timeout: timeoutMs, maxBuffer: 16 << 20 },
        (err, stdout, stderr) => {
          if (err) reject(new Error(`${cmd.join(' ')}: ${(stderr || err.message).trim().slice(-800)}`));
          else resolvePromise(stdout);
        },
      );
    });
  }

  /** For the synchronous faults (pause, partition): a Docker CLI call of a fraction of a second. */
  private runSync(cmd: string[]): string {
    const r = spawnSync(cmd[0] as string, cmd.slice(1), {
      cwd: REPO,
      env: { ...process.env, ...this.opts.env },
      timeout: 120_000,
      encoding: 'utf8',
    });
    if (r.status !== 0)
      throw new Error(`${cmd.join(' ')}: ${(r.stderr || String(r.error)).trim().slice(-800)}`);
    return r.stdout;
  }

  private composeArgs(...args: string[]): string[] {
    return [
      ...this.compose,
      '-p',
      this.opts.project,
      '-f',
      join(REPO, 'docker-compose.yml'),
      '-f',
      CHAOS_COMPOSE_FILE,
      ...args,
    ];
  }

  /** Serialises scaling: concurrent addMember calls share one `up --scale`. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.queue.then(fn, fn);
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** The image every container of the run uses, built from this tree. */
  async build(): Promise<void> {
    await this.run(this.composeArgs('build', 'seed'), 1_800_000);
  }

  private async prepare(): Promise<void> {
    if (this.prepared) return;
    this.prepared = true;
    process.once('exit', this.onExit);
    await this.run([
      'docker',
      'network',
      'create',
      '--label',
      `com.docker.compose.project=${this.opts.project}`,
      this.cutNetwork,
    ]);
  }

  private async containersOf(service: 'seed' | 'node'): Promise<string[]> {
    const out = await this.run([
      'docker',
      'ps',
      '-a',
      '-q',
      '--no-trunc',
      '--filter',
      `label=com.docker.compose.project=${this.opts.project}`,
      '--filter',
      `label=com.docker.compose.service=${service}`,
    ]);
    return out.split('\n').filter(Boolean);
  }

  private async inspect(container: string): Promise<{ ips: Record<string, string>; pid: number }> {
    const out = await this.run([
      'docker',
      'inspect',
      '-f',
      '{{json .NetworkSettings.Networks}} {{.State.Pid}}',
      container,
    ]);
    const space = out.trimEnd().lastIndexOf(' ');
    const networks = JSON.parse(out.slice(0, space)) as Record<string, { IPAddress: string }>;
    const ips: Record<string, string> = {};
    for (const [name, n] of Object.entries(networks)) ips[name] = n.IPAddress;
    return { ips, pid: Number(out.slice(space + 1)) };
  }

  // ---- members ----

  override get seedAddress(): string {
    return this.seed.addresses[0] as string;
  }

  override async addMember(name: string, witness = false): Promise<Member> {
    await this.prepare();
    const isSeed = this.members.length === 0;
    if (!isSeed) this.wantedNodes++;
    const container = await this.serial(() => (isSeed ? this.seedContainer() : this.nodeContainer()));
    await mkdir(join(this.root, 'logs'), { recursive: true });
    const member: Member = {
      name,
      realPort: 3000,
      // No proxy in Docker: nothing here reaches it (splits are `docker network disconnect`).
      proxy: undefined as unknown as NodeProxy,
      addresses: [],
      dataDir: '/data',
      proc: undefined,
      state: 'down',
      group: undefined,
      witness,
      expectingExit: false,
      restarts: 0,
      peakRssBytes: 0,
      peakFds: 0,
      samples: [],
      heap: [],
      log: createWriteStream(join(this.root, 'logs', `${name}.log`), { flags: 'a' }),
    };
    this.dockerOf.set(member, { container, ip: '', pid: 0, graceUntil: 0, unhealthyReported: false });
    this.members.push(member);
    await this.attach(member, true);
    return member;
  }

  private async seedContainer(): Promise<string> {
    await this.run(this.composeArgs('up', '-d', '--no-deps', 'seed'));
    const [seed] = await this.containersOf('seed');
    if (!seed) throw new Error('compose up started no seed container');
    this.claimed.add(seed);
    return seed;
  }

  /** A replica for a new member: `up --scale` to every node wanted so far (concurrent joins share one call). */
  private async nodeContainer(): Promise<string> {
    // A node that left stays gone: its container is removed (the volume goes with `down -v`
    // at the end), so that `up --scale` does not start it again.
    for (const m of this.members) {
      const d = this.dockerOf.get(m);
      if (m.state === 'gone' && d && this.claimed.has(d.container)) {
        this.volumes.push(...(await this.volumesOf(d.container)));
        await this.run(['docker', 'rm', '-f', d.container]);
        this.claimed.delete(d.container);
        this.wantedNodes--;
      }
    }
    let free = (await this.containersOf('node')).filter((c) => !this.claimed.has(c));
    if (free.length === 0) {
      await this.run(
        this.composeArgs(
          'up',
          '-d',
          '--no-deps',
          '--no-recreate',
          '--scale',
          `node=${this.wantedNodes}`,
          'node',
        ),
      );
      free = (await this.containersOf('node')).filter((c) => !this.claimed.has(c));
    }
    const picked = free.sort()[0];
    if (!picked) throw new Error(`compose up --scale node=${this.wantedNodes} started no new replica`);
    this.claimed.add(picked);
    return picked;
  }

  private async volumesOf(container: string): Promise<string[]> {
    const out = await this.run([
      'docker',
      'inspect',
      '-f',
      '{{range .Mounts}}{{if eq .Type "volume"}}{{.Name}} {{end}}{{end}}',
      container,
    ]);
    return out.split(/\s+/).filter(Boolean);
  }

  /**
   * Points the member at its (running) container: its address, a follower of
   * its log (whose end, unasked for, is a crash), and waits until it answers.
   * `fromStart`: the whole log, else only what comes after now.
   */
  private async attach(member: Member, fromStart: boolean): Promise<void> {
    const d = this.dockerOf.get(member) as DockerMember;
    const { ips, pid } = await this.inspect(d.container);
    const ip = ips[this.projectNetwork] ?? ips[this.cutNetwork];
    if (!ip) throw new Error(`${member.name}: container ${d.container.slice(0, 12)} has no address`);
    d.pid = pid;
    if (ips[this.projectNetwork]) {
      d.ip = ip;
      const address = `${ip}:3000`;
      if (member.addresses.at(-1) !== address) member.addresses.push(address);
    }
    d.graceUntil = Date.now() + HEALTH_GRACE_MS;
    this.followers.get(member)?.kill();
    const follower = spawn('docker', ['logs', '-f', ...(fromStart ? [] : ['--since', '1s']), d.container], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.followers.set(member, follower);
    const proc: NodeProcess = {
      name: member.name,
      port: 3000,
      url: `http://${ip}:3000`,
      dataDir: '/data',
      env: {},
      child: follower,
      output: '',
      exitCode: null,
    };
    followOutput(member, proc, this.dockerEvents);
    // `docker logs -f` ends when the container stops: unless the harness stopped it, a crash.
    follower.on('exit', (code) => {
      proc.exitCode = code ?? 1;
      if (member.proc !== proc || member.expectingExit || this.stopping) return;
      void this.isRunning(d.container).then((running) => {
        if (running || member.proc !== proc || member.expectingExit || this.stopping) return;
        member.state = 'down';
        this.dockerEvents.violation(
          'crash',
          `${member.name} (container ${d.container.slice(0, 12)}) stopped without the harness asking: ${proc.output.slice(-600)}`,
        );
      });
    });
    await waitFor(
      `${member.name} answers /healthz at ${proc.url}`,
      async () => (await tryJson(`${proc.url}/healthz`)) !== undefined,
      { timeoutMs: 180_000, intervalMs: 500 },
    );
    member.state = 'running';
  }

  private async isRunning(container: string): Promise<boolean> {
    try {
      return (await this.run(['docker', 'inspect', '-f', '{{.State.Running}}', container])).trim() === 'true';
    } catch {
      return false;
    }
  }

  // ---- faults ----

  /** `docker kill` (SIGKILL) or `docker stop` (SIGTERM, then SIGKILL after 10 s); waits until it is down. */
  override async kill(member: Member, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const d = this.dockerOf.get(member);
    if (!d || member.state === 'down' || member.state === 'gone') {
      member.state = member.state === 'gone' ? 'gone' : 'down';
      return;
    }
    member.expectingExit = true;
    if (member.state === 'paused') await this.run(['docker', 'unpause', d.container]);
    if (signal === 'SIGKILL') await this.run(['docker', 'kill', d.container]);
    else await this.run(['docker', 'stop', '-t', '10', d.container]);
    await waitFor(`${member.name} stopped`, async () => !(await this.isRunning(d.container)), {
      timeoutMs: 60_000,
      intervalMs: 300,
    });
    this.followers.get(member)?.kill();
    member.state = 'down';
  }

  /** `docker start`: the same container on the same volume. */
  override async restart(member: Member): Promise<void> {
    const d = this.dockerOf.get(member) as DockerMember;
    member.restarts++;
    await this.run(['docker', 'start', d.container]);
    await this.attach(member, false);
  }

  override pause(member: Member): void {
    const d = this.dockerOf.get(member) as DockerMember;
    this.runSync(['docker', 'pause', d.container]);
    member.state = 'paused';
  }

  override resume(member: Member): void {
    const d = this.dockerOf.get(member) as DockerMember;
    this.runSync(['docker', 'unpause', d.container]);
    d.graceUntil = Date.now() + HEALTH_GRACE_MS;
    member.state = 'running';
  }

  /**
   * The pod-IP change on a stopped container: off the project network and
   * back at an address no member had (from .200 of the run's subnet up).
   */
  override async moveAddress(member: Member): Promise<void> {
    const d = this.dockerOf.get(member) as DockerMember;
    const prefix = this.opts.subnet.split('.').slice(0, 3).join('.');
    const ip = `${prefix}.${this.nextMovedHost++}`;
    await this.run(['docker', 'network', 'disconnect', this.projectNetwork, d.container]);
    await this.run(['docker', 'network', 'connect', '--ip', ip, this.projectNetwork, d.container]);
  }

  /** Empties the stopped container's volume from a throw-away container of the same image. */
  override async wipeDataDir(member: Member): Promise<void> {
    const d = this.dockerOf.get(member) as DockerMember;
    await this.run([
      'docker',
      'run',
      '--rm',
      '--network',
      'none',
      '--volumes-from',
      d.container,
      '--entrypoint',
      'node',
      this.opts.env.CHAINMESH_IMAGE as string,
      '-e',
      "const fs=require('fs');for(const e of fs.readdirSync('/data'))fs.rmSync('/data/'+e,{recursive:true,force:true})",
    ]);
  }

  override moveToSmallDisk(): Promise<string> {
    return Promise.reject(new Error('disk-full is not available on the Docker backend'));
  }

  /**
   * A split: every member outside `groupA` leaves the project network for the
   * run's cut network, where the harness still reaches it (load, mining) and
   * no other node can (its peers know it only by its project address, and
   * Docker isolates one bridge network from another). A cut side of several
   * nodes is thus several islands of one, each mining its own branch.
   */
  override partition(groupA: readonly Member[]): void {
    for (const m of this.members) {
      const d = this.dockerOf.get(m);
      if (!d || m.state === 'gone' || m.state === 'down') continue;
      m.group = groupA.includes(m) ? 'a' : 'b';
      if (m.group === 'a') continue;
      this.runSync(['docker', 'network', 'connect', this.cutNetwork, d.container]);
      this.runSync(['docker', 'network', 'disconnect', this.projectNetwork, d.container]);
      const ip = this.runSync([
        'docker',
        'inspect',
        '-f',
        `{{(index .NetworkSettings.Networks "${this.cutNetwork}").IPAddress}}`,
        d.container,
      ]).trim();
      if (m.proc) m.proc = { ...m.proc, url: `http://${ip}:3000` };
    }
  }

  /** Every cut-off member back on the project network at its own address. */
  override heal(): void {
    for (const m of this.members) {
      const d = this.dockerOf.get(m);
      if (m.group === 'b' && d) {
        const ip = d.ip;
        this.runSync(['docker', 'network', 'connect', '--ip', ip, this.projectNetwork, d.container]);
        this.runSync(['docker', 'network', 'disconnect', this.cutNetwork, d.container]);
        if (m.proc) m.proc = { ...m.proc, url: `http://${ip}:3000` };
        d.graceUntil = Date.now() + HEALTH_GRACE_MS;
      }
      m.group = undefined;
    }
  }

  /**
   * CPU starvation the Docker way: every running container capped at a fifth
   * of a core for `ms`, then uncapped. At its end every node must still list
   * every other running node as a peer (starved peers are not declared dead).
   */
  async starveCpu(ms: number): Promise<string> {
    const running = this.members.filter((m) => m.state === 'running');
    const containers = running.map((m) => (this.dockerOf.get(m) as DockerMember).container);
    await this.run(['docker', 'update', '--cpus', STARVED_CPUS, ...containers]);
    try {
      await sleep(ms);
      await this.checkPeerBooks(running);
    } finally {
      // 0 removes the cap (NanoCpus unset).
      await this.run(['docker', 'update', '--cpus', '0', ...containers]);
      for (const m of running) (this.dockerOf.get(m) as DockerMember).graceUntil = 0;
    }
    return `${containers.length} containers at --cpus ${STARVED_CPUS} for ${Math.round(ms / 1000)} s`;
  }

  private async checkPeerBooks(members: Member[]): Promise<void> {
    const addresses = new Map(members.map((m) => [m, `${(this.dockerOf.get(m) as DockerMember).ip}:3000`]));
    for (const m of members) {
      if (m.state !== 'running') continue;
      const list = await tryJson<Array<{ hostname: string }>>(`${m.proc?.url}/known_node_request`);
      if (!list) {
        this.dockerEvents.violation(
          'peer-book',
          `${m.name} did not answer /known_node_request while starved`,
        );
        continue;
      }
      const known = new Set(list.map((p) => p.hostname));
      const missing = members.filter(
        (o) => o !== m && o.state === 'running' && !known.has(addresses.get(o) as string),
      );
      if (missing.length > 0)
        this.dockerEvents.violation(
          'starved-peer-dropped',
          `${m.name} no longer lists ${missing.map((o) => o.name).join(', ')} after CPU starvation`,
        );
    }
  }

  // ---- watching ----

  /** RSS and fds of each container's node process (its host pid), and container health, every `intervalMs`. */
  override startSampling(intervalMs: number): void {
    this.sampleTimer = setInterval(() => void this.sampleProcesses(), intervalMs);
    this.healthTimer = setInterval(() => void this.watchHealth(), intervalMs);
  }

  private async sampleProcesses(): Promise<void> {
    const at = Math.round((Date.now() - this.t0) / 1000);
    for (const m of this.members) {
      const d = this.dockerOf.get(m);
      if (!d || m.state !== 'running' || d.pid <= 0) continue;
      try {
        const status = await readFile(`/proc/${d.pid}/status`, 'utf8');
        const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
        const fds = (await readdir(`/proc/${d.pid}/fd`)).length;
        m.peakRssBytes = Math.max(m.peakRssBytes, rssKb * 1024);
        m.peakFds = Math.max(m.peakFds, fds);
        m.samples.push([at, Math.round(rssKb / 1024), fds, m.restarts]);
      } catch {
        // the container stopped between the check and the read
      }
    }
  }

  /** A running container the harness left alone must never be unhealthy: that is a flap. */
  private async watchHealth(): Promise<void> {
    for (const m of this.members) {
      const d = this.dockerOf.get(m);
      if (!d || m.state !== 'running' || Date.now() < d.graceUntil) continue;
      let status = '';
      try {
        status = (
          await this.run(['docker', 'inspect', '-f', '{{.State.Health.Status}}', d.container])
        ).trim();
      } catch {
        continue;
      }
      if (status === 'unhealthy' && !d.unhealthyReported) {
        d.unhealthyReported = true;
        this.dockerEvents.violation('unhealthy', `${m.name}: Docker reports the container unhealthy`);
      } else if (status === 'healthy') d.unhealthyReported = false;
    }
  }

  override async stopAll(): Promise<void> {
    this.stopping = true;
    clearInterval(this.sampleTimer);
    clearInterval(this.healthTimer);
    for (const f of this.followers.values()) f.kill();
    for (const m of this.members) m.log.end();
    this.forceDown();
    process.off('exit', this.onExit);
  }

  /** Everything of the run's project goes: containers (paused ones first unpaused), the cut network, volumes. */
  private forceDown(): void {
    const env = { ...process.env, ...this.opts.env };
    const quiet = { cwd: REPO, env, stdio: 'ignore' as const, timeout: 180_000 };
    const paused = spawnSync(
      'docker',
      [
        'ps',
        '-q',
        '--filter',
        `label=com.docker.compose.project=${this.opts.project}`,
        '--filter',
        'status=paused',
      ],
      { ...quiet, stdio: 'pipe', encoding: 'utf8' },
    );
    const ids = (paused.stdout ?? '').split('\n').filter(Boolean);
    if (ids.length > 0) spawnSync('docker', ['unpause', ...ids], quiet);
    for (const m of this.members) {
      const d = this.dockerOf.get(m);
      if (d && m.group === 'b')
        spawnSync('docker', ['network', 'disconnect', '-f', this.cutNetwork, d.container], quiet);
    }
    const [cmd, ...args] = this.composeArgs('down', '-v', '--remove-orphans', '-t', '5');
    spawnSync(cmd as string, args, quiet);
    spawnSync('docker', ['network', 'rm', this.cutNetwork], quiet);
    if (this.volumes.length > 0) spawnSync('docker', ['volume', 'rm', ...this.volumes], quiet);
  }

  private stopping = false;
  private wantedNodes = 0;
  private readonly volumes: string[] = [];
}

/** A /24 of 172.31.0.0/16 that no Docker network on this engine uses. */
function freeSubnet(): string {
  const ids = spawnSync('docker', ['network', 'ls', '-q'], { encoding: 'utf8' })
    .stdout.split('\n')
    .filter(Boolean);
  const used = spawnSync(
    'docker',
    ['network', 'inspect', '-f', '{{range .IPAM.Config}}{{.Subnet}} {{end}}', ...ids],
    { encoding: 'utf8' },
  ).stdout;
  for (let third = 200; third < 255; third++) {
    const subnet = `172.31.${third}.0/24`;
    if (!used.includes(`172.31.${third}.`)) return subnet;
  }
  throw new Error('no free 172.31.x.0/24 subnet for the chaos network');
}

/**
 * Everything a Docker run needs before its first scenario: an engine, the
 * image built from this tree (its own tag, so the deployment's is left
 * alone), a free host port for the seed and a free subnet. Returns the
 * factory runScenario uses in place of the local cluster.
 */
export async function prepareDocker(opts: {
  project: string;
  seedPort: number;
  log: (line: string) => void;
}): Promise<(root: string, events: ClusterEvents) => ChaosCluster> {
  if (spawnSync('docker', ['info'], { stdio: 'ignore' }).status !== 0)
    throw new Error('no Docker engine answers `docker info`');
  const base = {
    CHAINMESH_IMAGE: process.env.CHAINMESH_IMAGE ?? 'chainmesh:chaos',
    SEED_PORT: String(opts.seedPort),
  };
  const builder = new DockerCluster(
    '',
    { violation: () => undefined, note: () => undefined },
    {
      project: opts.project,
      env: base,
      subnet: '',
    },
  );
  opts.log(`building ${base.CHAINMESH_IMAGE} from this tree (compose project ${opts.project})`);
  await builder.build();
  return (root, events) => {
    const subnet = freeSubnet();
    return new DockerCluster(root, events, {
      project: opts.project,
      env: { ...base, CHAOS_SUBNET: subnet },
      subnet,
    });
  };
}
