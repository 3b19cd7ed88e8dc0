import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  admin,
  cleanup,
  freePort,
  info,
  request,
  startNode,
  stopAll,
  stopNode,
  tempDir,
  waitFor,
  type NodeProcess,
} from '../helpers/processes.js';

/** Issue 12: the peer book trusts nothing it has not reached; dead peers leave, returning ones come back. */

interface PeerRow {
  hostname: string;
  nodeId: string;
  state: string;
  table: 'tried' | 'untried';
  source: string;
  lastSuccess: number | null;
}

const peersOf = async (n: NodeProcess) => (await request(`${n.url}/peers`)).body as PeerRow[];
const knownOf = async (n: NodeProcess) =>
  (await request(`${n.url}/known_node_request`)).body as Array<{ hostname: string; nodeId: string }>;
const hostOf = (n: NodeProcess) => `127.0.0.1:${n.port}`;

/** Sum of a metric's samples whose labels include `labels`. */
async function metric(n: NodeProcess, name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = (await request(`${n.url}/metrics`)).body as string;
  let sum = 0;
  for (const line of text.split('\n')) {
    const m = /^(\w+)(\{[^}]*\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    if (Object.entries(labels).every(([k, v]) => (m[2] ?? '').includes(`${k}="${v}"`))) sum += Number(m[3]);
  }
  return sum;
}

async function startCluster(dir: string, count: number): Promise<NodeProcess[]> {
  const seed = await startNode({ name: 'seed', dataDir: join(dir, 'seed') });
  const others = await Promise.all(
    Array.from({ length: count - 1 }, (_, i) =>
      startNode({ name: `node-${i + 1}`, dataDir: join(dir, `node-${i + 1}`), seeds: [hostOf(seed)] }),
    ),
  );
  const nodes = [seed, ...others];
  await waitFor(
    'every node shares every other',
    async () => {
      const lists = await Promise.all(nodes.map(knownOf));
      return lists.every((l, i) => nodes.every((o, j) => i === j || l.some((p) => p.hostname === hostOf(o))));
    },
    { timeoutMs: 60_000 },
  );
  return nodes;
}

async function blockReachesEveryone(nodes: NodeProcess[], miner: NodeProcess): Promise<number> {
  const res = await admin(miner, '/admin/generate', { count: 1 });
  expect(res.status).toBe(200);
  const tip = (res.body.hashes as string[])[0];
  return waitFor(
    'the block on every node',
    async () => (await Promise.all(nodes.map(info))).every((i) => i.tipHash === tip),
    { timeoutMs: 30_000, intervalMs: 20 },
  );
}

describe('an advertisement flood of 10,000 fake addresses', () => {
  const dir = tempDir();
  let nodes: NodeProcess[] = [];

  beforeAll(async () => {
    nodes = await startCluster(dir, 5);
  });

  afterAll(async () => {
    await stopAll(nodes);
    cleanup(dir);
  });

  it('puts no fake address in any tried table or shared list, bounds the probes, and relay still reaches every node', async () => {
    const real = new Set(nodes.map(hostOf));
    const before = await blockReachesEveryone(nodes, nodes[1]!);
    const network = (await info(nodes[0]!)).network as string;
    const probesBefore = await Promise.all(nodes.map((n) => metric(n, 'chainmesh_p2p_probes_total')));
    const started = Date.now();
    // 10,000 fake addresses in 160 anonymous advertisements of 63 peers each (32 per node), each
    // advertisement claiming a fake address of its own too. Half are loopback ports nobody listens on
    // (refused at once), half unroutable private addresses (a probe there waits for its timeout).
    let fake = 0;
    const fakeHost = (i: number) =>
      i % 2 === 0 ? `127.0.0.1:${1 + (i % 1000)}` : `10.250.${(i >> 8) & 255}.${i & 255}:3000`;
    const fakeId = (i: number) => (0xf0000000 + i).toString(16).padStart(32, '0');
    const requests: Array<Promise<unknown>> = [];
    for (let r = 0; r < 160; r++) {
      const target = nodes[r % nodes.length]!;
      const claim = fake++;
      const peers = Array.from({ length: 63 }, () => {
        const i = fake++;
        return { hostname: fakeHost(i), nodeId: fakeId(i), lastSeen: Date.now() };
      });
      requests.push(
        request(`${target.url}/new_node_advertisement`, {
          body: { hostname: fakeHost(claim), nodeId: fakeId(claim), network, peers },
        }).then((res) => expect(res.status).toBe(200)),
      );
      if (requests.length >= 16) await Promise.all(requests.splice(0));
    }
    await Promise.all(requests);
    expect(fake).toBe(10_240);

    // Relay is not slowed into the seconds (the bench measures it exactly).
    const after = await blockReachesEveryone(nodes, nodes[2]!);
    expect(after).toBeLessThan(Math.max(5_000, before * 5));

    for (const n of nodes) {
      const peers = await peersOf(n);
      const tried = peers.filter((p) => p.table === 'tried');
      expect(tried.every((p) => real.has(p.hostname))).toBe(true);
      expect(tried.length).toBe(nodes.length - 1);
      const untried = peers.filter((p) => p.table === 'untried');
      // One caller (every request comes from 127.0.0.1) fills at most its own per-source share.
      expect(untried.length).toBeLessThanOrEqual(32);
      expect((await knownOf(n)).every((p) => real.has(p.hostname))).toBe(true);
      expect(await metric(n, 'chainmesh_p2p_peers_untried')).toBe(untried.length);
    }
    // Probes run on the prober's clock and the dial-back budget, not at the flood's pace.
    const seconds = (Date.now() - started) / 1000;
    const probesAfter = await Promise.all(nodes.map((n) => metric(n, 'chainmesh_p2p_probes_total')));
    for (const [i, n] of probesAfter.entries()) {
      const probes = n - probesBefore[i]!;
      // pings of 4 peers every 3 s + feelers ≤ 10/s + dial-backs ≤ 20/s after a burst of 20
      expect(probes).toBeLessThanOrEqual(Math.ceil(seconds * (10 + 20 + 2)) + 20);
      expect(probes).toBeLessThan(fake / nodes.length / 4);
    }
  });
});

describe('liveness', () => {
  const dir = tempDir();
  let nodes: NodeProcess[] = [];

  beforeAll(async () => {
    nodes = await startCluster(dir, 4);
  });

  afterAll(async () => {
    await stopAll(nodes);
    cleanup(dir);
  });

  const liveEverywhere = async (who: NodeProcess, others: NodeProcess[]) => {
    const all = await Promise.all(others.map(peersOf));
    return all.every((peers) => peers.some((p) => p.hostname === hostOf(who) && p.state === 'live'));
  };

  it('a killed peer leaves the live set within 10 s and the shared lists within 30 s, and returns when restarted', async () => {
    const victim = nodes[3]!;
    const others = nodes.slice(0, 3);
    const id = (await info(victim)).nodeId as string;
    await stopNode(victim, 'SIGKILL');
    const killedAt = Date.now();
    await waitFor(
      'out of every live set',
      async () =>
        (await Promise.all(others.map(peersOf))).every((peers) =>
          peers.every((p) => p.nodeId !== id || p.state !== 'live'),
        ),
      { timeoutMs: 10_000, intervalMs: 100 },
    );
    expect(Date.now() - killedAt).toBeLessThan(10_000);
    await waitFor(
      'out of every shared list',
      async () => (await Promise.all(others.map(knownOf))).every((l) => l.every((p) => p.nodeId !== id)),
      { timeoutMs: 30_000 - (Date.now() - killedAt), intervalMs: 100 },
    );
    // Still tried (history kept), not shared.
    for (const n of others) expect((await peersOf(n)).find((p) => p.nodeId === id)?.table).toBe('tried');

    nodes[3] = await startNode({
      name: victim.name,
      dataDir: victim.dataDir,
      port: victim.port,
      env: victim.env,
    });
    await waitFor('live again everywhere', () => liveEverywhere(nodes[3]!, others), { timeoutMs: 20_000 });
    await waitFor(
      'shared again everywhere',
      async () => (await Promise.all(others.map(knownOf))).every((l) => l.some((p) => p.nodeId === id)),
      { timeoutMs: 20_000 },
    );
  });

  it('a node paused (SIGSTOP) until it leaves the live sets is re-admitted promptly when it answers again', async () => {
    const paused = nodes[2]!;
    const others = nodes.filter((n) => n !== paused);
    paused.child.kill('SIGSTOP');
    try {
      await waitFor(
        'out of the live sets while paused',
        async () =>
          (await Promise.all(others.map(peersOf))).every((peers) =>
            peers.every((p) => p.hostname !== hostOf(paused) || p.state !== 'live'),
          ),
        { timeoutMs: 12_000, intervalMs: 100 },
      );
    } finally {
      paused.child.kill('SIGCONT');
    }
    const ms = await waitFor('live again everywhere', () => liveEverywhere(paused, others), {
      timeoutMs: 20_000,
      intervalMs: 50,
    });
    // Retries of a peer live a minute ago are capped at 5 s; slack for a loaded machine.
    expect(ms).toBeLessThan(10_000);
  });

  it('a node restarted on a new port with the same node id replaces its old address', async () => {
    const mover = nodes[1]!;
    const others = nodes.filter((n) => n !== mover);
    const id = (await info(mover)).nodeId as string;
    const oldHost = hostOf(mover);
    await stopNode(mover);
    const port = await freePort();
    nodes[1] = await startNode({
      name: mover.name,
      dataDir: mover.dataDir,
      port,
      seeds: [hostOf(nodes[0]!)],
      env: { ...mover.env, PORT: String(port), ADVERTISE_ADDR: `127.0.0.1:${port}` },
    });
    expect((await info(nodes[1])).nodeId).toBe(id);
    await waitFor(
      'the new address everywhere, the old one nowhere',
      async () =>
        (await Promise.all(others.map(peersOf))).every((peers) => {
          const mine = peers.filter((p) => p.nodeId === id);
          return (
            mine.length === 1 &&
            mine[0]!.hostname === `127.0.0.1:${port}` &&
            mine[0]!.state === 'live' &&
            !peers.some((p) => p.hostname === oldHost)
          );
        }),
      { timeoutMs: 30_000 },
    );
    for (const n of others) {
      const known = await knownOf(n);
      expect(known.filter((p) => p.nodeId === id).map((p) => p.hostname)).toEqual([`127.0.0.1:${port}`]);
    }
  });
});
