import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/obs/logger.js';
import { createMetrics } from '../../src/obs/metrics.js';
import { BanList } from '../../src/p2p/ban.js';
import { PeerBook } from '../../src/p2p/peer-book.js';
import { PeerClient } from '../../src/p2p/peer-client.js';
import { Prober } from '../../src/p2p/prober.js';
import type { AdvertisementReply } from '../../src/p2p/wire.js';

const logger = createLogger({ nodeId: 'test', level: 'error', format: 'json', silent: true });
const id = (n: number) => n.toString(16).padStart(32, '0');
const SELF = { nodeId: id(999), hostname: '10.0.0.1:3000' };
const now = () => 1_700_000_000_000;

/** A prober over a book of untried addresses; its handshakes stay pending until the test settles them. */
function setup() {
  let seed = 1;
  const random = () => ((seed = (seed * 16807) % 2147483647) - 1) / 2147483646;
  const book = new PeerBook({ self: SELF, maxPeers: 64, now, random, logger });
  const metrics = createMetrics({ collectDefault: false });
  const handshakes: Array<{ host: string; settle: () => void }> = [];
  const prober = new Prober({
    book,
    bans: new BanList({ now }),
    maxPeers: 64,
    // No tried peer in these books: nothing is pinged, the client sends no request.
    client: new PeerClient({ self: { ...SELF, network: 'test' }, timeoutMs: 1000, metrics }),
    metrics,
    logger,
    random,
    handshake: (host) =>
      new Promise<AdvertisementReply | undefined>((resolve) =>
        handshakes.push({ host, settle: () => resolve(undefined) }),
      ),
    chainWork: () => 0n,
    onPeerChain: () => {},
    onPeerCompact: () => {},
    tuning: { keepLive: 32, maxFeelersInFlight: 4 },
  });
  return { book, prober, handshakes };
}

describe('prober feelers', () => {
  it('fills every free slot with addresses a tried peer or the seed vouched for, each host once', async () => {
    const { book, prober, handshakes } = setup();
    for (let i = 1; i <= 10; i++)
      book.learn({ nodeId: id(i), hostname: `10.0.1.${i}:3000`, lastSeen: now() }, 'seed');
    expect(prober.tick()).toBe(true);
    expect(handshakes).toHaveLength(4);
    expect(new Set(handshakes.map((h) => h.host)).size).toBe(4);
    // Every slot busy: nothing more starts, and none of the four is felt twice.
    expect(prober.tick()).toBe(true);
    expect(handshakes).toHaveLength(4);
    handshakes[0]!.settle();
    handshakes[1]!.settle();
    await new Promise((resolve) => setImmediate(resolve));
    prober.tick();
    expect(handshakes).toHaveLength(6);
    const inFlight = handshakes.slice(2).map((h) => h.host);
    expect(new Set(inFlight).size).toBe(4);
  });

  it('starts one feeler per tick for addresses only an anonymous advertiser named', () => {
    const { book, prober, handshakes } = setup();
    for (let i = 1; i <= 10; i++)
      book.learn({ nodeId: id(i), hostname: `10.0.${i}.1:3000`, lastSeen: now() }, `peer:${id(500)}`);
    expect(prober.tick()).toBe(true);
    expect(handshakes).toHaveLength(1);
    expect(prober.tick()).toBe(true);
    expect(handshakes).toHaveLength(2);
    expect(new Set(handshakes.map((h) => h.host)).size).toBe(2);
  });
});
