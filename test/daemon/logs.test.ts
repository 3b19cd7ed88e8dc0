import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { BlockLog } from '../../src/daemon/block-log.js';
import type { Logger } from '../../src/obs/logger.js';
import {
  admin,
  cleanup,
  info,
  request,
  restartNode,
  startNode,
  stopAll,
  tempDir,
  waitFor,
  type NodeProcess,
} from '../helpers/processes.js';

type Line = Record<string, unknown> & { level: string; message: string };

function lines(node: NodeProcess): Line[] {
  return node.output
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Line);
}

/** Blocks accounted for in the log: one line each, or inside an info summary. */
function accounted(all: Line[]): { perBlockInfo: Line[]; summarised: number; debug: Line[] } {
  const perBlockInfo = all.filter((l) => l.message === 'block connected' && l.level === 'info');
  const debug = all.filter((l) => l.message === 'block connected' && l.level === 'debug');
  const summarised = all
    .filter((l) => l.message === 'blocks connected')
    .reduce((sum, l) => sum + Number(l.count), 0);
  return { perBlockInfo, summarised, debug };
}

/** Most per-block info lines a node may write for blocks connected within `ms`: 5 per started second. */
function infoBudget(ms: number): number {
  return 5 * (Math.ceil(ms / 1000) + 1);
}

/** Issue 3: one block can be followed across nodes at LOG_LEVEL=info, and a catch-up does not flood the log. */
describe('node logs', () => {
  const dir = tempDir();
  const nodes: NodeProcess[] = [];
  let miner: NodeProcess;
  const BULK = 300;

  beforeAll(async () => {
    miner = await startNode({ name: 'miner', dataDir: join(dir, 'miner') });
    nodes.push(miner);
  });

  afterAll(async () => {
    await stopAll(nodes);
    cleanup(dir);
  });

  it('a new tip is logged at info with hash, height and txs; every line carries the node id', async () => {
    const { hashes } = (await admin(miner, '/admin/generate', { count: 1 })).body as { hashes: string[] };
    const hash = hashes[0];
    await waitFor('the block connected line', () =>
      lines(miner).some((l) => l.message === 'block connected' && l.hash === hash),
    );
    const line = lines(miner).find((l) => l.message === 'block connected' && l.hash === hash);
    expect(line).toMatchObject({ level: 'info', height: 1, txs: 1 });
    const { nodeId } = await info(miner);
    for (const l of lines(miner)) expect(l.nodeId).toBe(nodeId);
  });

  it(`${BULK} blocks at once: a few per-block info lines, the rest in per-second summaries`, async () => {
    const started = Date.now();
    expect((await admin(miner, '/admin/generate', { count: BULK })).status).toBe(200);
    const ms = Date.now() - started;
    const bulk = () => {
      const all = lines(miner).filter((l) => (Number(l.height ?? l.toHeight) || 0) >= 2);
      return accounted(all);
    };
    await waitFor('every block in a line or a summary', () => {
      const { perBlockInfo, summarised } = bulk();
      return perBlockInfo.length + summarised === BULK;
    });
    const { perBlockInfo, summarised, debug } = bulk();
    expect(debug).toHaveLength(0); // LOG_LEVEL=info
    expect(summarised).toBeGreaterThan(0);
    expect(perBlockInfo.length).toBeLessThanOrEqual(infoBudget(ms));
    const last = lines(miner)
      .filter((l) => l.message === 'blocks connected')
      .at(-1);
    expect(last).toMatchObject({ level: 'info', toHeight: BULK + 1, tip: (await info(miner)).tipHash });
  });

  /** A new node at LOG_LEVEL=debug that joins the miner and has downloaded its chain. */
  async function syncedDebugFollower(name: string): Promise<NodeProcess> {
    const follower = await startNode({
      name,
      dataDir: join(dir, name),
      seeds: [`127.0.0.1:${miner.port}`],
      env: { LOG_LEVEL: 'debug' },
    });
    nodes.push(follower);
    await waitFor('the follower synced', async () => (await info(follower)).height === BULK + 1);
    return follower;
  }

  it('at LOG_LEVEL=debug a syncing node logs every block once as `block connected` (what the benchmarks time)', async () => {
    const follower = await syncedDebugFollower('debug-follower');
    const height = BULK + 1;
    await waitFor('every block logged', () => {
      const connected = lines(follower).filter((l) => l.message === 'block connected');
      return connected.length >= height;
    });
    const connected = lines(follower).filter((l) => l.message === 'block connected');
    expect(new Set(connected.map((l) => l.height)).size).toBe(height);
    expect(connected).toHaveLength(height);
    for (const l of connected) expect(l).toMatchObject({ hash: expect.stringMatching(/^[0-9a-f]{64}$/) });
  });

  it('a catch-up: a few `block accepted` lines at info, the rest counted by source in the summaries; each block once at debug', async () => {
    const started = Date.now();
    const follower = await syncedDebugFollower('accepting-follower');
    const height = BULK + 1;
    const ms = Date.now() - started;
    const accepted = (level: string) =>
      lines(follower).filter((l) => l.message === 'block accepted' && l.level === level);
    const summarised = () =>
      lines(follower)
        .filter((l) => l.message === 'blocks connected' && l.level === 'info')
        .reduce((sum, l) => sum + Number((l.accepted as { sync?: number } | undefined)?.sync ?? 0), 0);
    await waitFor(
      'every accepted block in a line or a summary',
      () => accepted('info').length + summarised() === height,
    );
    const perBlockInfo = accepted('info');
    expect(perBlockInfo.length).toBeLessThanOrEqual(infoBudget(ms));
    expect(perBlockInfo.length).toBeLessThan(height / 2);
    const perBlock = [...perBlockInfo, ...accepted('debug')];
    expect(perBlock).toHaveLength(height);
    expect(new Set(perBlock.map((l) => l.height)).size).toBe(height);
    for (const l of perBlock) {
      expect(l).toMatchObject({
        hash: expect.stringMatching(/^[0-9a-f]{64}$/),
        status: 'connected',
        source: 'sync',
        peer: expect.any(String),
      });
    }
    // The metric still counts every block, whichever level its line went to.
    const metrics = (await request(`${follower.url}/metrics`)).body as string;
    expect(metrics).toMatch(
      new RegExp(`^chainmesh_chain_blocks_accepted_total\\{source="sync"\\} ${height}$`, 'm'),
    );
  });

  it('a node that catches up on another branch logs the reorg at warn, and its catch-up within the info budget', async () => {
    let joiner = await startNode({ name: 'joiner', dataDir: join(dir, 'joiner') });
    nodes.push(joiner);
    await admin(joiner, '/admin/generate', { count: 2 });
    const own = await info(joiner);
    expect(own.height).toBe(2);

    const started = Date.now();
    joiner = await restartNode(joiner, { SEED_HOSTS: `127.0.0.1:${miner.port}` });
    nodes.push(joiner);
    const target = await info(miner);
    await waitFor('the joiner on the miner tip', async () => (await info(joiner)).tipHash === target.tipHash);
    const ms = Date.now() - started;

    await waitFor('the reorg line', () => lines(joiner).some((l) => l.message === 'reorg'));
    const reorg = lines(joiner).find((l) => l.message === 'reorg');
    expect(reorg).toMatchObject({ level: 'warn', depth: 2, oldTip: own.tipHash, oldHeight: 2 });
    const newTip = await request(`${miner.url}/block/${String(reorg?.newTip)}`);
    expect(newTip.status).toBe(200);
    expect(newTip.body.height).toBe(reorg?.newHeight);

    await waitFor('every block in a line or a summary', () => {
      const { perBlockInfo, summarised } = accounted(lines(joiner));
      return perBlockInfo.length + summarised === target.height;
    });
    const { perBlockInfo } = accounted(lines(joiner));
    expect(perBlockInfo.length).toBeLessThanOrEqual(infoBudget(ms));
    expect(perBlockInfo.length).toBeLessThan(target.height);
  });
});

/** The throttle itself, on a fake clock: exact counts instead of bounds. */
describe('BlockLog', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  function setup() {
    vi.useFakeTimers();
    const written: Array<{ level: string; message: string; fields: Record<string, unknown> }> = [];
    const at = (level: string) => (message: string, fields: Record<string, unknown>) =>
      written.push({ level, message, fields });
    const logger = { info: at('info'), debug: at('debug') } as unknown as Logger;
    let syncing = true;
    const log = new BlockLog(logger, { syncing: () => syncing, now: () => Date.now() });
    let height = 0;
    const connect = (n: number) => {
      for (let i = 0; i < n; i++) {
        height++;
        log.connected({ hash: height.toString(16).padStart(64, '0'), height, txs: 2 });
      }
    };
    return { written, log, connect, stopSyncing: () => (syncing = false) };
  }

  it('one info line per block at a normal pace', () => {
    const { written, connect } = setup();
    for (let i = 0; i < 20; i++) {
      connect(1);
      vi.advanceTimersByTime(300);
    }
    expect(written.filter((w) => w.level === 'info' && w.message === 'block connected')).toHaveLength(20);
    expect(written).toHaveLength(20);
  });

  it('a burst: 5 info lines, then each block at debug and one summary per second, back to normal after a quiet second', () => {
    const { written, log, connect, stopSyncing } = setup();
    connect(1000); // within one tick of the clock
    expect(written.filter((w) => w.level === 'info')).toHaveLength(5);
    expect(written.filter((w) => w.level === 'debug' && w.message === 'block connected')).toHaveLength(995);
    vi.advanceTimersByTime(1000);
    expect(written.at(-1)).toEqual({
      level: 'info',
      message: 'blocks connected',
      fields: {
        count: 995,
        txs: 1990,
        fromHeight: 6,
        toHeight: 1000,
        tip: (1000).toString(16).padStart(64, '0'),
        syncing: true,
      },
    });
    connect(10);
    expect(written.filter((w) => w.level === 'info')).toHaveLength(6); // still summarising
    stopSyncing();
    vi.advanceTimersByTime(1000);
    expect(written.at(-1)).toMatchObject({
      message: 'blocks connected',
      fields: { count: 10, syncing: false },
    });
    vi.advanceTimersByTime(1000); // a second without blocks
    expect(log.summarising).toBe(false);
    connect(1);
    expect(written.at(-1)).toMatchObject({
      level: 'info',
      message: 'block connected',
      fields: { height: 1011 },
    });
  });

  it('`block accepted` shares the limiter: info at a normal pace, debug and counted by source in the summary during a burst', () => {
    const { written, log, connect } = setup();
    const accept = (source: 'peer' | 'api' | 'sync') =>
      log.accepted({ hash: 'ab'.repeat(32), height: 1, status: 'connected', source, peer: 'p1' });
    connect(1);
    accept('peer');
    expect(written.at(-1)).toEqual({
      level: 'info',
      message: 'block accepted',
      fields: { hash: 'ab'.repeat(32), height: 1, status: 'connected', source: 'peer', peer: 'p1' },
    });
    connect(10); // the 6th block within the second starts a burst
    for (let i = 0; i < 7; i++) accept('sync');
    accept('api');
    const accepted = (level: string) =>
      written.filter((w) => w.level === level && w.message === 'block accepted');
    expect(accepted('info')).toHaveLength(1);
    expect(accepted('debug')).toHaveLength(8);
    vi.advanceTimersByTime(1000);
    expect(written.at(-1)).toMatchObject({
      level: 'info',
      message: 'blocks connected',
      fields: { count: 6, toHeight: 11, accepted: { sync: 7, api: 1 } },
    });
    vi.advanceTimersByTime(1000); // a second without blocks
    accept('peer');
    expect(accepted('info')).toHaveLength(2);
  });

  it('with a target height, a catch-up summary gives its pace and the time left to reach the best peer', () => {
    vi.useFakeTimers();
    const written: Array<{ message: string; fields: Record<string, unknown> }> = [];
    const logger = {
      info: (message: string, fields: Record<string, unknown>) => written.push({ message, fields }),
      debug: () => undefined,
    } as unknown as Logger;
    let target: number | undefined = 5_000;
    const log = new BlockLog(logger, {
      syncing: () => true,
      targetHeight: () => target,
      now: () => Date.now(),
    });
    for (let height = 1; height <= 505; height++) log.connected({ hash: 'ab'.repeat(32), height, txs: 1 });
    vi.advanceTimersByTime(1000);
    // 500 blocks summarised in one second: 4,495 left at 500 blocks/s.
    expect(written.at(-1)?.fields).toMatchObject({
      count: 500,
      toHeight: 505,
      blocksPerSecond: 500,
      targetHeight: 5_000,
      etaSeconds: 9,
    });
    target = undefined; // no peer ahead any more: the pace, no ETA
    for (let height = 506; height <= 605; height++) log.connected({ hash: 'ab'.repeat(32), height, txs: 1 });
    vi.advanceTimersByTime(1000);
    expect(written.at(-1)?.fields).toMatchObject({ count: 100, blocksPerSecond: 100 });
    expect(written.at(-1)?.fields).not.toHaveProperty('etaSeconds');
    log.close();
  });

  it('with summaryEveryMs, a long burst gets one summary every few seconds, and the rest when it goes quiet', () => {
    vi.useFakeTimers();
    const written: Array<{ message: string; fields: Record<string, unknown> }> = [];
    const logger = {
      info: (message: string, fields: Record<string, unknown>) => written.push({ message, fields }),
      debug: () => undefined,
    } as unknown as Logger;
    const log = new BlockLog(logger, { summaryEveryMs: 5000, now: () => Date.now() });
    let height = 0;
    // 12 s of 10 blocks every 100 ms: far above 5 per second.
    for (let step = 0; step < 120; step++) {
      for (let i = 0; i < 10; i++) log.connected({ hash: 'ab'.repeat(32), height: ++height, txs: 1 });
      vi.advanceTimersByTime(100);
    }
    const summaries = () => written.filter((w) => w.message === 'blocks connected');
    expect(summaries()).toHaveLength(2); // at 5 s and 10 s
    vi.advanceTimersByTime(2000); // a quiet second ends the burst with what is pending
    expect(summaries()).toHaveLength(3);
    expect(summaries().reduce((n, w) => n + Number(w.fields.count), 0)).toBe(1200 - 5);
    expect(summaries().at(-1)?.fields).toMatchObject({ toHeight: 1200 });
    expect(log.summarising).toBe(false);
  });

  it('close() logs what is pending', () => {
    const { written, log, connect } = setup();
    connect(8);
    log.close();
    expect(written.at(-1)).toMatchObject({ message: 'blocks connected', fields: { count: 3, toHeight: 8 } });
    expect(log.summarising).toBe(false);
  });
});
