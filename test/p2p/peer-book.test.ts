import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/obs/logger.js';
import { BanList, misbehaviourPoints } from '../../src/p2p/ban.js';
import type { Clock, ClockTimer } from '../../src/p2p/clock.js';
import { addressGroup, PeerBook, pick, pingsFirst, type PeerBookTuning } from '../../src/p2p/peer-book.js';

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

const SRC = 'peer:' + id(500);

describe('peer book', () => {
  it('never stores the node itself, by node id or by address', () => {
    const b = book();
    expect(b.markContact({ nodeId: SELF.nodeId, hostname: '10.0.0.9:3000' })).toBe(false);
    expect(b.learn({ nodeId: id(1), hostname: SELF.hostname, lastSeen: clock }, SRC)).toBe(false);
    expect(b.learn({ nodeId: SELF.nodeId, hostname: '10.0.0.7:3000', lastSeen: clock }, SRC)).toBe(false);
    expect(b.entries()).toHaveLength(0);
  });

  it('never stores an address no one could dial', () => {
    const b = book();
    for (const hostname of ['nohost', 'a:0', 'a:70000', 'a b:1', 'http://x:1', ':1']) {
      expect(b.learn({ nodeId: id(1), hostname, lastSeen: clock }, SRC)).toBe(false);
      expect(b.markContact({ nodeId: id(1), hostname })).toBe(false);
    }
    expect(b.learn({ nodeId: id(1), hostname: '[fd00::1]:3000', lastSeen: clock }, SRC)).toBe(true);
  });

  it('hearsay goes to the untried table: never live, never shared, until a handshake promotes it', () => {
    const b = book();
    expect(b.learn({ nodeId: id(1), hostname: '10.0.0.2:3000', lastSeen: clock }, SRC)).toBe(true);
    const e = b.get(id(1))!;
    expect(b.state(e)).toBe('untried');
    expect(e).toMatchObject({ tried: false, source: SRC, lastSuccess: 0 });
    expect(b.live()).toEqual([]);
    expect(b.shared()).toEqual([]);
    expect(b.sample(10)).toEqual([]);
    expect(b.size).toBe(0);
    expect(b.untriedCount).toBe(1);
    expect(b.probeable().map((p) => p.nodeId)).toEqual([id(1)]);
    b.markContact({ nodeId: id(1), hostname: '10.0.0.2:3000' });
    expect(b.state(b.get(id(1))!)).toBe('live');
    expect(b.get(id(1))).toMatchObject({ tried: true, source: SRC, lastSuccess: clock });
    expect(b.sample(10).map((p) => p.nodeId)).toEqual([id(1)]);
    expect(b.size).toBe(1);
    expect(b.untriedCount).toBe(0);
  });

  it('moves a node id that reappears at a new address, keeping its history, and gives an address to its new owner', () => {
    const b = book();
    b.markContact({ nodeId: id(1), hostname: '10.0.0.2:3000' });
    const since = clock;
    clock += 1000;
    b.markContact({ nodeId: id(1), hostname: '10.0.0.3:3000' });
    expect(b.entries()).toHaveLength(1);
    expect(b.get(id(1))).toMatchObject({ hostname: '10.0.0.3:3000', addedAt: since, tried: true });
    expect(b.getByHost('10.0.0.2:3000')).toBeUndefined();

    // A pod rescheduled onto an IP another node used to have: the new owner wins.
    clock += 1000;
    b.markContact({ nodeId: id(2), hostname: '10.0.0.3:3000' });
    expect(b.get(id(1))).toBeUndefined();
    expect(b.getByHost('10.0.0.3:3000')?.nodeId).toBe(id(2));
  });

  it('believes hearsay about an untried address only when it is newer than what it knows', () => {
    const b = book();
    b.learn({ nodeId: id(1), hostname: '10.0.0.2:3000', lastSeen: clock - 10_000 }, SRC);
    expect(b.learn({ nodeId: id(1), hostname: '10.0.0.9:3000', lastSeen: clock - 20_000 }, SRC)).toBe(false);
    expect(b.get(id(1))?.hostname).toBe('10.0.0.2:3000');
    expect(b.learn({ nodeId: id(1), hostname: '10.0.0.9:3000', lastSeen: clock - 5000 }, SRC)).toBe(true);
    expect(b.get(id(1))?.hostname).toBe('10.0.0.9:3000');
  });

  it('never lets hearsay move, refresh or evict a tried peer; a handshake does', () => {
    const b = book();
    b.markContact({ nodeId: id(1), hostname: '10.0.0.2:3000' });
    b.markContact({ nodeId: id(2), hostname: '10.0.0.3:3000' });
    const reached = clock;
    clock += 10_000;
    expect(b.learn({ nodeId: id(1), hostname: '10.0.0.9:3000', lastSeen: clock + 5000 }, SRC)).toBe(false);
    expect(b.learn({ nodeId: id(3), hostname: '10.0.0.3:3000', lastSeen: clock + 5000 }, SRC)).toBe(false);
    expect(b.learn({ nodeId: id(2), hostname: '10.0.0.3:3000', lastSeen: clock }, SRC)).toBe(false);
    expect(b.get(id(1))?.hostname).toBe('10.0.0.2:3000');
    expect(b.get(id(2))).toMatchObject({ hostname: '10.0.0.3:3000', lastSeen: reached });
    b.markContact({ nodeId: id(1), hostname: '10.0.0.9:3000' });
    expect(b.get(id(1))?.hostname).toBe('10.0.0.9:3000');
  });

  it('takes hearsay from the future as now', () => {
    const b = book();
    b.learn({ nodeId: id(1), hostname: '10.0.0.2:3000', lastSeen: clock + 60_000 }, SRC);
    expect(b.get(id(1))?.lastSeen).toBe(clock);
  });

  it('keeps at most `keep` tried peers live: a stable set, not the same on every node, backoff peers still retried', () => {
    const hosts = (n: number) => `10.0.${Math.floor(n / 200)}.${(n % 200) + 2}:3000`;
    const b = book({ tuning: { failuresBeforeBackoff: 3 } });
    for (let i = 1; i <= 40; i++) b.markContact({ nodeId: id(i), hostname: hosts(i) });
    const kept = b.keptLive(12).map((e) => e.nodeId);
    expect(kept).toHaveLength(12);
    expect(new Set(kept).size).toBe(12);
    // Quiet for the ping interval: only the kept ones are due, not all 40.
    clock += 3_001;
    expect(new Set(b.duePing(3_000, b.keptLive(12)).map((e) => e.nodeId))).toEqual(new Set(kept));
    expect(b.duePing(3_000, b.keptLive(Infinity))).toHaveLength(40);
    // Answers do not churn the set.
    for (const nodeId of kept) b.markAlive(nodeId);
    expect(b.keptLive(12).map((e) => e.nodeId)).toEqual(kept);
    // A kept peer in backoff gives its place to the next one, and is still retried on its schedule.
    const failing = kept[0]!;
    for (let f = 0; f < 3; f++) b.recordFailure(failing, 'refused');
    const keptAfter = b.keptLive(12).map((e) => e.nodeId);
    expect(keptAfter).not.toContain(failing);
    expect(keptAfter).toHaveLength(12);
    clock += 60_000;
    expect(b.duePing(3_000, b.keptLive(12)).map((e) => e.nodeId)).toContain(failing);
    // Another node ranks the same peers differently (no peer is in every node's set).
    const other = new PeerBook({
      self: { nodeId: id(998), hostname: '10.0.0.250:3000' },
      maxPeers: 64,
      now: () => clock,
      random: Math.random,
      logger,
    });
    for (let i = 1; i <= 40; i++) other.markContact({ nodeId: id(i), hostname: hosts(i) });
    expect(other.keptLive(12).map((e) => e.nodeId)).not.toEqual(b.keptLive(12).map((e) => e.nodeId));
    // Fewer tried peers than `keep`: all of them.
    expect(book().keptLive(12)).toEqual([]);
  });

  it('a tried peer leaves the live set after the live window and the shared list after the share window', () => {
    const b = book({ tuning: { liveWindowMs: 10_000, shareWindowMs: 30_000 } });
    b.markContact({ nodeId: id(1), hostname: '10.0.0.2:3000' });
    clock += 10_000;
    expect(b.state(b.get(id(1))!)).toBe('live');
    clock += 1;
    expect(b.state(b.get(id(1))!)).toBe('stale');
    expect(b.live()).toEqual([]);
    expect(b.shared()).toHaveLength(1);
    expect(b.duePing(3000, b.keptLive(Infinity)).map((p) => p.nodeId)).toEqual([id(1)]);
    clock += 20_000;
    expect(b.shared()).toEqual([]);
    // Still tried: it comes back, history intact, the moment it answers.
    b.markAlive(id(1));
    expect(b.state(b.get(id(1))!)).toBe('live');
    expect(b.shared()).toHaveLength(1);
  });

  it("a tried peer's ping keeps it live and shared, and ours not due, only while our own last request to it succeeded", () => {
    const b = book({ tuning: { liveWindowMs: 10_000, shareWindowMs: 30_000, failuresBeforeBackoff: 3 } });
    b.markContact({ nodeId: id(1), hostname: '10.0.0.2:3000' });
    clock += 8_000;
    b.markHeard(id(1));
    clock += 8_000; // 16 s since our last success, 8 s since its ping
    expect(b.state(b.get(id(1))!)).toBe('live');
    expect(b.duePing(5_000, b.keptLive(Infinity)).map((p) => p.nodeId)).toEqual([id(1)]);
    b.markHeard(id(1));
    expect(b.duePing(5_000, b.keptLive(Infinity))).toEqual([]);
    clock += 25_000;
    b.markHeard(id(1));
    expect(b.shared().map((p) => p.nodeId)).toEqual([id(1)]);
    // A request of ours fails (here a timeout, which alone backs nothing off): its pings count for
    // nothing until one of ours succeeds again, so a peer we cannot reach leaves by the clock.
    b.recordFailure(id(1), 'timeout');
    b.markHeard(id(1));
    clock += 10_001;
    b.markHeard(id(1));
    expect(b.state(b.get(id(1))!)).toBe('stale');
    expect(b.duePing(5_000, b.keptLive(Infinity)).map((p) => p.nodeId)).toEqual([id(1)]);
    b.markAlive(id(1));
    clock += 10_000;
    b.markHeard(id(1));
    clock += 5_000;
    expect(b.state(b.get(id(1))!)).toBe('live');
    // Hearsay is not a handshake: an untried address is never made live by what it sends.
    b.learn({ nodeId: id(2), hostname: '10.0.0.3:3000', lastSeen: clock }, SRC);
    b.markHeard(id(2));
    expect(b.state(b.get(id(2))!)).toBe('untried');
    // Nor is a peer in backoff.
    b.markContact({ nodeId: id(3), hostname: '10.0.0.4:3000' });
    for (let i = 0; i < 3; i++) b.recordFailure(id(3), 'network');
    b.markHeard(id(3));
    expect(b.state(b.get(id(3))!)).toBe('backoff');
  });

  it('of each pair of peers exactly one pings first, the same as both sides see it; the other waits yieldMs longer', () => {
    let first = 0;
    for (let i = 0; i < 1000; i++) {
      const [a, b] = [id(i), id(5000 + ((i * 7919) % 4000))];
      expect(pingsFirst(a, b)).toBe(!pingsFirst(b, a));
      if (pingsFirst(a, b)) first++;
    }
    expect(first).toBeGreaterThan(400);
    expect(first).toBeLessThan(600);
    const b = book();
    const peers = Array.from({ length: 20 }, (_, i) => id(i + 1));
    peers.forEach((p, i) => b.markContact({ nodeId: p, hostname: `10.0.0.${i + 2}:3000` }));
    clock += 5_001;
    const due = b.duePing(5_000, b.keptLive(Infinity), 1_500).map((e) => e.nodeId);
    expect(due.sort()).toEqual(peers.filter((p) => pingsFirst(SELF.nodeId, p)).sort());
    clock += 1_500;
    expect(b.duePing(5_000, b.keptLive(Infinity), 1_500)).toHaveLength(20);
  });

  it('one timeout leaves a slow peer live; repeated failures back it off with a low cap while it was recently live', () => {
    const b = book({
      tuning: {
        failuresBeforeBackoff: 3,
        backoffBaseMs: 1000,
        recentBackoffMaxMs: 4000,
        backoffMaxMs: 20_000,
      },
    });
    b.markContact({ nodeId: id(1), hostname: '10.0.0.2:3000' });
    b.recordFailure(id(1));
    expect(b.state(b.get(id(1))!)).toBe('live');
    expect(b.shared()).toHaveLength(1);
    b.recordFailure(id(1));
    b.recordFailure(id(1));
    const e = b.get(id(1))!;
    expect(b.state(e)).toBe('backoff');
    expect(b.shared()).toEqual([]);
    expect(e.retryAt).toBe(clock + 1000);
    for (let i = 0; i < 4; i++) b.recordFailure(id(1));
    expect(e.retryAt).toBe(clock + 4000); // capped: a paused node is re-admitted promptly
    clock += 120_000;
    b.recordFailure(id(1));
    expect(e.retryAt).toBe(clock + 20_000); // long gone: the full backoff
    b.markAlive(id(1));
    expect(b.get(id(1))).toMatchObject({ failures: 0, retryAt: 0 });
  });

  it('timeouts of a peer that answered within the live window do not back it off: it leaves by the clock', () => {
    const b = book({ tuning: { failuresBeforeBackoff: 3, liveWindowMs: 10_000, backoffBaseMs: 1000 } });
    b.markContact({ nodeId: id(1), hostname: '10.0.0.2:3000' });
    for (let i = 0; i < 5; i++) {
      clock += 1000;
      b.recordFailure(id(1), 'timeout');
    }
    expect(b.get(id(1))).toMatchObject({ failures: 0, retryAt: clock + 500 });
    expect(b.state(b.get(id(1))!)).toBe('live');
    clock += 5001;
    expect(b.state(b.get(id(1))!)).toBe('stale');
    for (let i = 0; i < 3; i++) b.recordFailure(id(1), 'timeout');
    expect(b.state(b.get(id(1))!)).toBe('backoff');
    // Refused connections count at once.
    b.markContact({ nodeId: id(2), hostname: '10.0.0.3:3000' });
    for (let i = 0; i < 3; i++) b.recordFailure(id(2), 'network');
    expect(b.state(b.get(id(2))!)).toBe('backoff');
  });

  it('drops a failing tried peer only when silent for dropAfterMs; stale hearsay does not resurrect it', () => {
    const b = book({ tuning: { failuresBeforeBackoff: 2, failuresBeforeDrop: 4, dropAfterMs: 60_000 } });
    b.markContact({ nodeId: id(1), hostname: '10.0.1.1:3000' });
    b.markContact({ nodeId: id(2), hostname: '10.0.1.2:3000' });
    const seenAt = clock;
    for (let i = 0; i < 6; i++) b.recordFailure(id(1));
    expect(b.get(id(1))).toBeDefined(); // a restarted pod keeps its history for a while
    clock += 60_001;
    b.recordFailure(id(1));
    expect(b.get(id(1))).toBeUndefined();
    expect(b.learn({ nodeId: id(1), hostname: '10.0.1.1:3000', lastSeen: seenAt }, SRC)).toBe(false);
    // ...but news of a contact after the drop brings it back, untried.
    clock += 1;
    expect(b.learn({ nodeId: id(1), hostname: '10.0.1.1:3000', lastSeen: clock }, SRC)).toBe(true);
    expect(b.get(id(1))?.tried).toBe(false);
    // pruneStale drops backed-off tried peers silent too long; live ones stay, however old.
    b.markContact({ nodeId: id(3), hostname: '10.0.1.3:3000' });
    b.recordFailure(id(3));
    b.recordFailure(id(3));
    clock += 60_001;
    b.markAlive(id(2));
    b.pruneStale();
    expect(b.get(id(3))).toBeUndefined();
    expect(b.get(id(2))).toBeDefined();
  });

  it('forgets an untried address after its failed probes', () => {
    const b = book({ tuning: { untriedMaxFailures: 2, backoffBaseMs: 1000 } });
    b.learn({ nodeId: id(1), hostname: '10.0.0.2:3000', lastSeen: clock }, SRC);
    b.recordFailure(id(1));
    expect(b.probeable()).toEqual([]);
    clock += 1000;
    expect(b.probeable()).toHaveLength(1);
    b.recordFailure(id(1));
    expect(b.get(id(1))).toBeUndefined();
  });

  it('caps the untried table per source: a flood churns only its own slots', () => {
    const b = book({ tuning: { maxUntried: 100, maxUntriedPerSource: 8, maxUntriedPerGroup: 1000 } });
    for (let i = 0; i < 4; i++)
      b.learn({ nodeId: id(100 + i), hostname: `10.1.${i}.1:3000`, lastSeen: clock }, SRC);
    for (let i = 0; i < 5000; i++) {
      clock += 1;
      b.learn(
        { nodeId: id(10_000 + i), hostname: `127.0.0.1:${1000 + (i % 30000)}`, lastSeen: clock },
        'ip:9.9.9.9',
      );
    }
    expect(b.untried().filter((e) => e.source === 'ip:9.9.9.9')).toHaveLength(8);
    expect(b.untried().filter((e) => e.source === SRC)).toHaveLength(4);
  });

  it('a full source, group or table gives up its oldest untried entry (promoted and re-addressed ones keep their age)', () => {
    const b = book({ tuning: { maxUntried: 6, maxUntriedPerSource: 3, maxUntriedPerGroup: 2 } });
    const learn = (n: number, host: string, source: string) => {
      clock += 1;
      b.learn({ nodeId: id(n), hostname: host, lastSeen: clock }, source);
    };
    const untried = () => b.untried().map((e) => parseInt(e.nodeId, 16));
    learn(1, '10.0.1.1:1', 'peer:a');
    learn(2, '10.0.2.1:1', 'peer:a');
    learn(3, '10.0.3.1:1', 'peer:a');
    learn(4, '10.0.4.1:1', 'peer:a'); // source full: 1 goes
    expect(untried()).toEqual([2, 3, 4]);
    b.markContact({ nodeId: id(2), hostname: '10.0.2.1:1' }); // 2 is tried now: 3 is the source's oldest
    learn(5, '10.0.5.1:1', 'peer:a');
    learn(6, '10.0.6.1:1', 'peer:a'); // source full again: 3 goes
    expect(untried()).toEqual([4, 5, 6]);
    learn(7, '10.0.9.1:1', 'peer:b');
    learn(8, '10.0.9.2:1', 'peer:b');
    learn(9, '10.0.9.3:1', 'peer:b'); // group 10.0.9 full: 7 goes
    expect(untried()).toEqual([4, 5, 6, 8, 9]);
    // 4 moves into group 10.0.9 keeping its age: the group's oldest now, and the next there evicts it.
    clock += 1;
    b.learn({ nodeId: id(4), hostname: '10.0.9.4:1', lastSeen: clock }, 'peer:a');
    learn(10, '10.0.9.5:1', 'peer:c');
    expect(untried()).toEqual([5, 6, 8, 9, 10]);
    learn(11, '10.0.11.1:1', 'peer:c');
    learn(12, '10.0.12.1:1', 'peer:d'); // table full: the oldest of all, 5, goes
    expect(untried()).toEqual([6, 8, 9, 10, 11, 12]);
  });

  it('caps the untried table per /24 (loopback exempt) and in all', () => {
    const b = book({ tuning: { maxUntried: 20, maxUntriedPerSource: 1000, maxUntriedPerGroup: 4 } });
    for (let i = 0; i < 50; i++) {
      clock += 1;
      b.learn({ nodeId: id(1000 + i), hostname: `10.9.9.${i}:3000`, lastSeen: clock }, `peer:${id(i)}`);
    }
    expect(b.untriedCount).toBe(4);
    for (let i = 0; i < 10; i++)
      b.learn({ nodeId: id(2000 + i), hostname: `127.0.0.1:${4000 + i}`, lastSeen: clock }, SRC);
    expect(b.untriedCount).toBe(14); // loopback: no subnet cap
    for (let i = 0; i < 50; i++) {
      clock += 1;
      b.learn({ nodeId: id(3000 + i), hostname: `10.${i}.0.1:3000`, lastSeen: clock }, SRC);
    }
    expect(b.untriedCount).toBe(20);
    expect(addressGroup('10.1.2.3:80')).toBe('10.1.2');
    expect(addressGroup('127.0.0.5:80')).toBeUndefined();
    expect(addressGroup('[::1]:80')).toBeUndefined();
    expect(addressGroup('[2001:db8:1:2::5]:80')).toBe('2001:db8:1');
    expect(addressGroup('node-3:3000')).toBe('node-3');
  });

  it('a full tried table evicts a failing peer first, then the youngest good one, never the long-lived', () => {
    const b = book({ maxPeers: 3 });
    for (let i = 1; i <= 3; i++) {
      clock += 1000;
      b.markContact({ nodeId: id(i), hostname: `10.0.1.${i}:3000` });
    }
    b.recordFailure(id(1));
    clock += 1;
    b.markContact({ nodeId: id(4), hostname: '10.0.1.4:3000' });
    expect(b.get(id(1))).toBeUndefined();
    clock += 1;
    b.markContact({ nodeId: id(5), hostname: '10.0.1.5:3000' });
    expect(
      b
        .tried()
        .map((e) => e.nodeId)
        .sort(),
    ).toEqual([id(2), id(3), id(5)]);
    // Hearsay never displaces a tried peer.
    b.learn({ nodeId: id(6), hostname: '10.0.1.6:3000', lastSeen: clock }, SRC);
    expect(b.size).toBe(3);
  });

  it('samples distinct shared peers, at most n, newest first', () => {
    const b = book();
    for (let i = 1; i <= 20; i++) {
      clock += 1;
      b.markContact({ nodeId: id(i), hostname: `10.0.1.${i}:3000` });
    }
    for (let i = 0; i < 3; i++) b.recordFailure(id(5));
    b.learn({ nodeId: id(31), hostname: '10.0.2.31:3000', lastSeen: clock }, SRC);
    const s = b.sample(8, (n) => n === id(1));
    expect(s).toHaveLength(8);
    expect(new Set(s.map((p) => p.nodeId)).size).toBe(8);
    // Never the excluded one, a failing one, or an untried address; the newest tried first.
    expect(s.some((p) => [id(1), id(5), id(31)].includes(p.nodeId))).toBe(false);
    expect(s[0]?.nodeId).toBe(id(20));
    expect(b.sample(100)).toHaveLength(19);
    expect(pick([1, 2, 3], 10, Math.random).sort()).toEqual([1, 2, 3]);
  });

  it('persists tried peers atomically (debounced) and reloads them not live until they answer', async () => {
    const b = book({ dataDir: dir });
    b.markContact({ nodeId: id(1), hostname: '10.0.0.2:3000' });
    b.learn({ nodeId: id(2), hostname: '10.0.0.3:3000', lastSeen: clock - 10 }, SRC);
    await b.flush();
    const saved = JSON.parse(await readFile(join(dir, 'peers.json'), 'utf8')) as { peers: unknown[] };
    expect(saved.peers).toHaveLength(1); // untried addresses are not kept across restarts
    expect((await readdir(dir)).filter((f) => f.endsWith('.tmp'))).toEqual([]);

    const again = book({ dataDir: dir });
    expect(await again.load()).toBe(1);
    expect(again.get(id(1))).toMatchObject({ hostname: '10.0.0.2:3000', tried: true, lastSuccess: 0 });
    expect(again.state(again.get(id(1))!)).toBe('stale');
    expect(again.duePing(3000, again.keptLive(Infinity))).toHaveLength(1);
    expect(again.get(id(2))).toBeUndefined();
  });

  it('saves a new tried peer at once, a refreshed lastSeen only within lastSeenSaveMs', async () => {
    // Timers on a hand-driven clock: a save happens only when the test fires its timer.
    const timers: Array<{ at: number; run: () => void; done: boolean } & ClockTimer> = [];
    const timerClock: Clock = {
      now: () => clock,
      setTimeout: (run, ms) => {
        const timer = { at: clock + ms, run, done: false, unref: () => timer };
        timers.push(timer);
        return timer;
      },
      clearTimeout: (timer) => {
        if (timer) (timer as (typeof timers)[number]).done = true;
      },
      setInterval: () => {
        throw new Error('the book uses no intervals');
      },
      clearInterval: () => undefined,
    };
    const advance = (ms: number) => {
      clock += ms;
      for (const t of timers.filter((t) => !t.done && t.at <= clock)) {
        t.done = true;
        t.run();
      }
    };
    const b = new PeerBook({
      self: SELF,
      maxPeers: 64,
      dataDir: dir,
      now: () => clock,
      random: () => 0.5,
      logger,
      clock: timerClock,
      tuning: { saveDebounceMs: 500, lastSeenSaveMs: 60_000 },
    });
    const saved = async () =>
      (
        JSON.parse(await readFile(join(dir, 'peers.json'), 'utf8')) as {
          peers: Array<{ nodeId: string; lastSeen: number }>;
        }
      ).peers;
    b.markContact({ nodeId: id(1), hostname: '10.0.0.2:3000' });
    advance(500);
    await b.flush(); // waits for the save the timer started
    const first = clock;
    expect(await saved()).toMatchObject([{ nodeId: id(1), lastSeen: first - 500 }]);
    // Answered pings: only lastSeen changes; no save within the short debounce.
    for (let i = 0; i < 10; i++) {
      advance(3_000);
      b.markContact({ nodeId: id(1), hostname: '10.0.0.2:3000' });
    }
    advance(500);
    // One save pending, due lastSeenSaveMs after the first refresh; none started meanwhile.
    expect(timers.filter((t) => !t.done).map((t) => t.at)).toEqual([first + 3_000 + 60_000]);
    expect(await saved()).toMatchObject([{ nodeId: id(1), lastSeen: first - 500 }]);
    // A new tried peer is a real change: saved within the short debounce, with the refreshed lastSeen.
    b.markContact({ nodeId: id(2), hostname: '10.0.0.3:3000' });
    advance(500);
    await b.flush();
    expect(await saved()).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ nodeId: id(1), lastSeen: first + 30_000 }),
        expect.objectContaining({ nodeId: id(2) }),
      ]),
    );
    // A refresh alone is saved within lastSeenSaveMs, and close() saves what is pending.
    b.markContact({ nodeId: id(1), hostname: '10.0.0.2:3000' });
    const refreshed = clock;
    advance(60_000);
    await b.flush();
    expect((await saved()).find((p) => p.nodeId === id(1))?.lastSeen).toBe(refreshed);
    advance(1_000);
    b.markContact({ nodeId: id(2), hostname: '10.0.0.3:3000' });
    await b.close();
    expect((await saved()).find((p) => p.nodeId === id(2))?.lastSeen).toBe(clock);
  });

  it('reads a peers.json of the earlier format as untried addresses', async () => {
    await writeFile(
      join(dir, 'peers.json'),
      JSON.stringify({ version: 1, peers: [{ nodeId: id(1), hostname: '10.0.0.2:3000', lastSeen: clock }] }),
    );
    const b = book({ dataDir: dir });
    expect(await b.load()).toBe(1);
    expect(b.get(id(1))?.tried).toBe(false);
  });

  it('ignores a corrupt or invalid peers.json without crashing', async () => {
    for (const junk of ['{not json', '{"version":1,"peers":[{"hostname":5}]}', '[]', '']) {
      await writeFile(join(dir, 'peers.json'), junk);
      const b = book({ dataDir: dir });
      expect(await b.load()).toBe(0);
      expect(b.entries()).toHaveLength(0);
    }
    // A file listing the node itself does not make it its own peer.
    await writeFile(
      join(dir, 'peers.json'),
      JSON.stringify({
        version: 1,
        peers: [
          { ...SELF, lastSeen: clock, tried: true },
          { nodeId: id(1), hostname: 'a:1', lastSeen: 1, tried: true },
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
    // Faults only full validation finds: half a ban (a peer may have forwarded it early in good faith).
    expect(misbehaviourPoints('block', 'bad-txns-inputs-missingorspent')).toBe(50);
    expect(misbehaviourPoints('block', 'bad-txns-nonfinal')).toBe(50);
    expect(misbehaviourPoints('block', 'bad-blk-merkle')).toBe(100);
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

describe('peer book saves on a disk that refuses writes', () => {
  it('logs one line when saving starts failing, a summary while it goes on, one when it works again', async () => {
    const lines: Array<{ level: string; message: string; failedSaves?: number }> = [];
    const capture = createLogger({
      nodeId: 'test',
      level: 'debug',
      format: 'json',
      destination: {
        write(chunk: string) {
          lines.push(JSON.parse(chunk) as (typeof lines)[number]);
        },
      },
    });
    // A data dir that does not exist yet: every save fails (ENOENT) until it is created.
    const missing = join(dir, 'not-yet');
    let seed = 1;
    const b = new PeerBook({
      self: SELF,
      maxPeers: 64,
      dataDir: missing,
      now: () => clock,
      random: () => ((seed = (seed * 16807) % 2147483647) - 1) / 2147483646,
      logger: capture,
      tuning: { saveDebounceMs: 10 },
    });
    const saves = (msg: RegExp) => lines.filter((l) => msg.test(l.message));
    for (let i = 0; i < 20; i++) {
      b.markContact({ nodeId: id(i + 1), hostname: `10.0.1.${i + 1}:3000` });
      await b.flush();
      clock += 1000;
    }
    expect(saves(/^peer book not saved/)).toHaveLength(1);
    expect(saves(/^peer book still not saved/)).toHaveLength(0);
    clock += 5 * 60_000;
    b.markContact({ nodeId: id(100), hostname: '10.0.2.1:3000' });
    await b.flush();
    expect(saves(/^peer book still not saved/)).toMatchObject([{ failedSaves: 21 }]);
    await mkdir(missing);
    b.markContact({ nodeId: id(101), hostname: '10.0.2.2:3000' });
    await b.flush();
    expect(saves(/^peer book saved again/)).toMatchObject([{ level: 'info', failedSaves: 21 }]);
    expect(JSON.parse(await readFile(join(missing, 'peers.json'), 'utf8')).peers).toHaveLength(22);
    expect(lines.filter((l) => l.level === 'warn')).toHaveLength(2);
  });
});
