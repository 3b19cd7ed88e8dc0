import { describe, expect, it } from 'vitest';
import { createLogger, createMetrics } from '../../src/obs/index.js';
import { BanList } from '../../src/p2p/ban.js';
import { BlockPayload, CompactBlocks } from '../../src/p2p/compact.js';
import { PeerBook } from '../../src/p2p/peer-book.js';
import { Relay } from '../../src/p2p/relay.js';
import type { PeerTransport } from '../../src/p2p/transport.js';
import { shortId } from '../../src/p2p/wire.js';

const logger = createLogger({ nodeId: 'test', level: 'error', format: 'json', silent: true });
// Distinct in their first 8 hex digits: the short ids a relayed-to header names.
const id = (n: number) => n.toString(16).padStart(8, '0').padEnd(32, '0');
const SELF = { nodeId: id(999), hostname: '10.0.0.1:3000' };
const now = () => 1_700_000_000_000;

/** A relay over `live` live peers whose transport records where whole blocks go (none take compact ones). */
function relayOver(live: number, fanout: number) {
  let seed = 7;
  const random = () => ((seed = (seed * 16807) % 2147483647) - 1) / 2147483646;
  const book = new PeerBook({ self: SELF, maxPeers: 256, now, random, logger });
  for (let i = 1; i <= live; i++)
    book.markContact({ nodeId: id(i), hostname: `10.0.${i >> 8}.${i & 255}:3000` });
  const sentTo: string[] = [];
  const client = {
    sendBlock: async (host: string) => void sentTo.push(host),
  } as unknown as PeerTransport;
  const metrics = createMetrics({ collectDefault: false });
  const compact = new CompactBlocks({
    enabled: false,
    chain: { getRawBlock: async () => undefined },
    mempool: { transactionsByKey: () => new Map() },
    client,
    metrics,
    logger,
  });
  const relay = new Relay({
    selfNodeId: SELF.nodeId,
    book,
    bans: new BanList({ now }),
    client,
    compact,
    fanout,
    random,
    logger,
  });
  return { relay, sentTo };
}

const payload = new BlockPayload('ab'.repeat(32), new Uint8Array(80));

describe('block relay', () => {
  it('a block made here goes to the whole fan-out given, forwarded with no names to the configured fan-out', () => {
    const { relay, sentTo } = relayOver(40, 8);
    expect(relay.relayBlock(payload, undefined, 32)).toBe(32);
    expect(relay.relayBlock(payload, id(1))).toBe(8);
    expect(sentTo.slice(32)).not.toContain('10.0.0.1:3000'); // never back to the sender
  });

  it('forwarding, sends each peer not named about FORWARD_COPIES (4) copies across the named peers that forward too', () => {
    // 32 live peers, 24 of them named (the sender among them): the 24 forward at once, so this node
    // sends to 4 × 8 / 24 → 2 of the 8 left, not to all 8 (the fan-out).
    const named = Array.from({ length: 24 }, (_, i) => shortId(id(i + 1)));
    const crowded = relayOverNamed(32, named);
    expect(crowded.sent).toBe(2);
    expect(crowded.targets.every((h) => !named.includes(shortId(h)))).toBe(true);
    // Few named among many: the fan-out caps it (as a plain forward).
    expect(relayOverNamed(32, named.slice(0, 3)).sent).toBe(8);
    // Everyone named: nothing to send. Named peers that are none of ours: the fan-out.
    expect(relayOverNamed(24, named).sent).toBe(0);
    expect(relayOverNamed(32, ['ffffffff']).sent).toBe(8);
    // Always at least one while some live peer was not named.
    expect(relayOverNamed(25, named).sent).toBe(1);
  });
});

function relayOverNamed(live: number, named: string[]) {
  const { relay, sentTo } = relayOver(live, 8);
  const sent = relay.relayBlock(payload, id(1), undefined, named);
  // back from hostname to node id: 10.0.x.y:3000 is id(x * 256 + y)
  const targets = sentTo.map((h) => {
    const [, , x, y] = h.split(':')[0]!.split('.').map(Number);
    return id(x! * 256 + y!);
  });
  return { sent, targets };
}
