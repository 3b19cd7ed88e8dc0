import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/obs/logger.js';
import { BanList, misbehaviourPoints } from '../../src/p2p/ban.js';
import { PeerBook, pick, type PeerBookTuning } from '../../src/p2p/peer-book.js';

const logger = createLogger({ nodeId: 'test', level: 'error', format: 'json', silent: true });
const id = (n: number) => n.toString(16).padStart(32, '0');
const SELF = { nodeId: id(999), hostname: '10.0.0.1:3000' };

let dir: string;
let clock: number;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'chainmesh-book-'));
  clock = 1_700_000_000_000;
});
afterEach(() => rm(dir, { recursive: true, force: true }));

function book(
  opts: { maxPeers?: number; tuning?: Partial<PeerBookTuning>; dataDir?: string } = {},
): PeerBook {
  let seed = 1;
  return new PeerBook({
    self: SELF,
    maxPeers: opts.maxPeers ?? 64,
    dataDir: opts.dataDir,
    now: () => clock,
    random: () => ((seed = (seed * 16807) % 2147483647) - 1) / 2147483646,
    logger,
    tuning: { saveDebounceMs: 10, ...opts.tuning },
  });
}

describe('peer book', () => {
  it('never stores the node itself, by node id or by address', () => {
    const b = book();
    expect(b.markContact({ nodeId: SELF.nodeId, hostname: '10.0.0.9:3000' })).toBe(false);
    expect(b.learn({ nodeId: id(1), hostname: SELF.hostname, lastSeen: clock })).toBe(false);
    expect(b.learn({ nodeId: SELF.nodeId, hostname: '10.0.0.7:3000', lastSeen: clock })).toBe(false);
    expect(b.size).toBe(0);
  });

  it('never stores an address no one could dial', () => {
    const b = book();
    for (const hostname of ['nohost', 'a:0', 'a:70000', 'a b:1', 'http://x:1', ':1']) {
      expect(b.learn({ nodeId: id(1), hostname, lastSeen: clock })).toBe(false);
      expect(b.markContact({ nodeId: id(1), hostname })).toBe(false);
    }
    expect(b.learn({ nodeId: id(1), hostname: '[fd00::1]:3000', lastSeen: clock })).toBe(true);
  });

  it('moves a node id that reappears at a new address, and gives an address to its new owner', () => {
    const b = book();
    b.markContact({ nodeId: id(1), hostname: '10.0.0.2:3000' });
    clock += 1000;
    b.markContact({ nodeId: id(1), hostname: '10.0.0.3:3000' });
    expect(b.entries()).toHaveLength(1);
    expect(b.get(id(1))?.hostname).toBe('10.0.0.3:3000');
    expect(b.getByHost('10.0.0.2:3000')).toBeUndefined();

    // A pod rescheduled onto an IP another node used to have: the new owner wins.
    clock += 1000;
    b.markContact({ nodeId: id(2), hostname: '10.0.0.3:3000' });
    expect(b.get(id(1))).toBeUndefined();
    expect(b.getByHost('10.0.0.3:3000')?.nodeId).toBe(id(2));
  });

  it('believes hearsay only when it is newer than what it knows', () => {
    const b = book();
    b.learn({ nodeId: id(1), hostname: '10.0.0.2:3000', lastSeen: clock - 10_000 });
    expect(b.learn({ nodeId: id(1), hostname: '10.0.0.9:3000', lastSeen: clock - 20_000 })).toBe(false);
    expect(b.get(id(1))?.hostname).toBe('10.0.0.2:3000');
    expect(b.learn({ nodeId: id(1), hostname: '10.0.0.9:3000', lastSeen: clock - 5000 })).toBe(true);
    expect(b.get(id(1))?.hostname).toBe('10.0.0.9:3000');
  });

  it('never lets hearsay move or evict a peer it reached itself; a handshake does', () => {
    const b = book();
    b.markContact({ nodeId: id(1), hostname: '10.0.0.2:3000' });
    b.markContact({ nodeId: id(2), hostname: '10.0.0.3:3000' });
    expect(b.learn({ nodeId: id(1), hostname: '10.0.0.9:3000', lastSeen: clock + 5000 })).toBe(false);
    expect(b.learn({ nodeId: id(3), hostname: '10.0.0.3:3000', lastSeen: clock + 5000 })).toBe(false);
    expect(b.get(id(1))?.hostname).toBe('10.0.0.2:3000');
    expect(b.get(id(2))?.hostname).toBe('10.0.0.3:3000');
    b.markContact({ nodeId: id(1), hostname: '10.0.0.9:3000' });
    expect(b.get(id(1))?.hostname).toBe('10.0.0.9:3000');
  });

  it('backs a failing peer off exponentially, then drops it, and stale hearsay does not resurrect it', () => {
    const b = book({ tuning: { failuresBeforeBackoff: 2, failuresBeforeDrop: 4, backoffBaseMs: 1000 } });
    b.markContact({ nodeId: id(1), hostname: '10.0.0.2:3000' });
    const seenAt = clock;
    b.recordFailure(id(1));
    expect(b.state(b.get(id(1))!)).toBe('live');
    b.recordFailure(id(1));
    const e = b.get(id(1))!;
    expect(b.state(e)).toBe('backoff');
    expect(e.retryAt).toBe(clock + 1000);
    expect(b.contactable()).toHaveLength(0);
    clock += 1000;
    expect(b.contactable()).toHaveLength(1);
    b.recordFailure(id(1));
    expect(b.get(id(1))!.retryAt).toBe(clock + 2000);
    b.recordFailure(id(1));
    expect(b.get(id(1))).toBeUndefined();
    // Someone else still lists it with its old contact time: ignored.
    expect(b.learn({ nodeId: id(1), hostname: '10.0.0.2:3000', lastSeen: seenAt })).toBe(false);
    // ...but a contact after the drop brings it back.
    clock += 1;
    expect(b.learn({ nodeId: id(1), hostname: '10.0.0.2:3000', lastSeen: clock })).toBe(true);
  });

  it('drops a backed-off peer not heard from for too long', () => {
    const b = book({ tuning: { failuresBeforeBackoff: 1, dropAfterMs: 60_000 } });
    b.markContact({ nodeId: id(1), hostname: '10.0.1.1:3000' });
    b.markContact({ nodeId: id(2), hostname: '10.0.1.2:3000' });
    b.recordFailure(id(1));
    clock += 60_001;
    b.pruneStale();
    expect(b.get(id(1))).toBeUndefined();
    expect(b.get(id(2))).toBeDefined(); // live peers stay, however old
  });

  it('a successful contact clears failures', () => {
    const b = book({ tuning: { failuresBeforeBackoff: 2 } });
    b.markContact({ nodeId: id(1), hostname: '10.0.0.2:3000' });
    b.recordFailure(id(1));
    b.recordFailure(id(1));
    b.markContact({ nodeId: id(1), hostname: '10.0.0.2:3000' });
    expect(b.get(id(1))).toMatchObject({ failures: 0, retryAt: 0 });
  });

  it('is capped, evicting the stalest peer', () => {
    const b = book({ maxPeers: 3 });
    for (let i = 1; i <= 3; i++)
      b.learn({ nodeId: id(i), hostname: `10.0.1.${i}:3000`, lastSeen: clock - 1000 * i });
    expect(b.learn({ nodeId: id(9), hostname: '10.0.0.9:3000', lastSeen: clock - 10_000 })).toBe(false);
    expect(b.learn({ nodeId: id(4), hostname: '10.0.0.4:3000', lastSeen: clock })).toBe(true);
    expect(b.size).toBe(3);
    expect(b.get(id(3))).toBeUndefined();
    expect(b.get(id(4))).toBeDefined();
  });

  it('takes hearsay from the future as now, and never refreshes a peer it reached with hearsay', () => {
    const b = book();
    b.learn({ nodeId: id(1), hostname: '10.0.0.2:3000', lastSeen: clock + 60_000 });
    expect(b.get(id(1))?.lastSeen).toBe(clock);
    b.markContact({ nodeId: id(2), hostname: '10.0.0.3:3000' });
    const reached = clock;
    clock += 10_000;
    expect(b.learn({ nodeId: id(2), hostname: '10.0.0.3:3000', lastSeen: clock })).toBe(false);
    expect(b.get(id(2))?.lastSeen).toBe(reached);
  });

  it('when full, hearsay displaces only hearsay, never a peer it reached', () => {
    const b = book({ maxPeers: 3 });
    b.markContact({ nodeId: id(1), hostname: '10.0.1.1:3000' });
    clock += 1;
    b.markContact({ nodeId: id(2), hostname: '10.0.1.2:3000' });
    clock += 1000;
    b.learn({ nodeId: id(3), hostname: '10.0.1.3:3000', lastSeen: clock - 10 });
    // Fresher hearsay replaces older hearsay, however stale the reached peers are.
    clock += 600_000;
    expect(b.learn({ nodeId: id(4), hostname: '10.0.1.4:3000', lastSeen: clock })).toBe(true);
    expect(b.get(id(3))).toBeUndefined();
    // A book of reached peers refuses hearsay...
    b.markContact({ nodeId: id(5), hostname: '10.0.1.5:3000' });
    expect(b.get(id(4))).toBeUndefined();
    expect(b.learn({ nodeId: id(6), hostname: '10.0.1.6:3000', lastSeen: clock + 60_000 })).toBe(false);
    expect(
      b
        .entries()
        .map((e) => e.nodeId)
        .sort(),
    ).toEqual([id(1), id(2), id(5)]);
    // ...but a handshake with a new peer makes room by dropping the stalest reached one.
    clock += 1;
    b.markContact({ nodeId: id(7), hostname: '10.0.1.7:3000' });
    expect(
      b
        .entries()
        .map((e) => e.nodeId)
        .sort(),
    ).toEqual([id(2), id(5), id(7)]);
  });

  it('samples distinct live peers, at most n', () => {
    const b = book();
    for (let i = 1; i <= 20; i++) b.markContact({ nodeId: id(i), hostname: `10.0.1.${i}:3000` });
    b.recordFailure(id(5));
    b.learn({ nodeId: id(30), hostname: '10.0.1.30:3000', lastSeen: clock - 60_000 });
    clock += 1;
    b.learn({ nodeId: id(31), hostname: '10.0.1.31:3000', lastSeen: clock - 1000 });
    const s = b.sample(8, (n) => n === id(1));
    expect(s).toHaveLength(8);
    expect(new Set(s.map((p) => p.nodeId)).size).toBe(8);
    // Never the excluded one, a failing one, or stale hearsay; fresh hearsay and the newest entries first.
    expect(s.some((p) => [id(1), id(5), id(30)].includes(p.nodeId))).toBe(false);
    expect(s[0]?.nodeId).toBe(id(31));
    expect(b.sample(100)).toHaveLength(20);
    expect(pick([1, 2, 3], 10, Math.random).sort()).toEqual([1, 2, 3]);
  });

  it('persists atomically (debounced) and reloads', async () => {
    const b = book({ dataDir: dir });
    b.markContact({ nodeId: id(1), hostname: '10.0.0.2:3000' });
    b.learn({ nodeId: id(2), hostname: '10.0.0.3:3000', lastSeen: clock - 10 });
    await b.flush();
    const saved = JSON.parse(await readFile(join(dir, 'peers.json'), 'utf8')) as { peers: unknown[] };
    expect(saved.peers).toHaveLength(2);
    expect((await readdir(dir)).filter((f) => f.endsWith('.tmp'))).toEqual([]);

    const again = book({ dataDir: dir });
    expect(await again.load()).toBe(2);
    expect(again.get(id(1))?.hostname).toBe('10.0.0.2:3000');
    expect(again.get(id(2))?.lastSeen).toBe(clock - 10);
  });

  it('ignores a corrupt or invalid peers.json without crashing', async () => {
    for (const junk of ['{not json', '{"version":1,"peers":[{"hostname":5}]}', '[]', '']) {
      await writeFile(join(dir, 'peers.json'), junk);
      const b = book({ dataDir: dir });
      expect(await b.load()).toBe(0);
      expect(b.size).toBe(0);
    }
    // A file listing the node itself does not make it its own peer.
    await writeFile(
      join(dir, 'peers.json'),
      JSON.stringify({
        version: 1,
        peers: [
          { ...SELF, lastSeen: clock },
          { nodeId: id(1), hostname: 'a:1', lastSeen: 1 },
        ],
      }),
    );
    const b = book({ dataDir: dir });
    expect(await b.load()).toBe(1);
  });
});

describe('ban score', () => {
  it('bans at the threshold for a while, then forgives', () => {
    let now = 0;
    const bans = new BanList({ now: () => now, banMs: 1000 });
    expect(misbehaviourPoints('tx', 'bad-txns-script-verify-failed')).toBe(10);
    expect(misbehaviourPoints('tx', 'txn-mempool-conflict')).toBe(0);
    expect(misbehaviourPoints('block', 'bad-blk-pow')).toBe(100);
    // A peer on another tip: its transactions may spend what we lack or be final only at its height...
    for (const code of [
      'bad-txns-nonfinal',
      'bad-txns-inputs-missingorspent',
      'bad-txns-premature-spend-of-coinbase',
      'mempool-full',
      'txn-already-known',
    ])
      expect(misbehaviourPoints('tx', code)).toBe(0);
    // ...but a block is judged against its own parent, the same everywhere.
    expect(misbehaviourPoints('block', 'bad-txns-inputs-missingorspent')).toBe(100);
    expect(misbehaviourPoints('block', 'bad-txns-nonfinal')).toBe(100);
    expect(misbehaviourPoints('block', 'bad-blk-time-too-new')).toBe(0);
    for (let i = 0; i < 9; i++) expect(bans.misbehaving('a', 10)).toBe(false);
    expect(bans.isBanned('a')).toBe(false);
    expect(bans.score('a')).toBe(90);
    expect(bans.misbehaving('a', 10)).toBe(true);
    expect(bans.isBanned('a')).toBe(true);
    expect(bans.isBanned('b')).toBe(false);
    now += 1000;
    expect(bans.isBanned('a')).toBe(false);
    expect(bans.score('a')).toBe(0);
  });

  it('does not grow without bound with made-up ids', () => {
    const bans = new BanList({ now: () => 0, maxTracked: 100 });
    for (let i = 0; i < 1000; i++) bans.misbehaving(`id${i}`, 1);
    expect(bans.score('id0')).toBe(0);
    expect(bans.score('id999')).toBe(1);
  });
});
