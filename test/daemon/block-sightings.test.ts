import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BlockSightings } from '../../src/daemon/block-sightings.js';
import { createLogger } from '../../src/obs/logger.js';
import { cleanup, tempDir } from '../helpers/processes.js';

const logger = createLogger({ nodeId: 'test', level: 'error', format: 'json', silent: true });
const hash = (n: number) => n.toString(16).padStart(64, '0');

describe('first-seen record of blocks', () => {
  const dirs: string[] = [];
  const dir = () => {
    const d = tempDir('chainmesh-sightings-');
    dirs.push(d);
    return d;
  };
  afterEach(() => dirs.splice(0).forEach(cleanup));

  it('keeps the first sighting of a block', async () => {
    const s = new BlockSightings(dir(), logger);
    s.record(hash(1), 1000);
    s.record(hash(1), 5000);
    expect(s.get(hash(1))).toBe(1000);
    expect(s.get(hash(2))).toBeUndefined();
    await s.close();
  });

  it('is bounded: the oldest sightings are forgotten first', async () => {
    const s = new BlockSightings(dir(), logger, 3);
    for (let i = 1; i <= 5; i++) s.record(hash(i), i);
    expect(s.size).toBe(3);
    expect([1, 2, 3, 4, 5].map((i) => s.get(hash(i)))).toEqual([undefined, undefined, 3, 4, 5]);
    await s.close();
  });

  it('survives a restart through its file, within the bound', async () => {
    const d = dir();
    const first = new BlockSightings(d, logger, 3);
    for (let i = 1; i <= 4; i++) first.record(hash(i), i * 10);
    await first.close();
    const again = new BlockSightings(d, logger, 2);
    await again.load();
    expect([2, 3, 4].map((i) => again.get(hash(i)))).toEqual([undefined, 30, 40]);
    await again.close();
  });

  it('a corrupt or foreign file is ignored, the record starts empty and is rewritten', async () => {
    const d = dir();
    const file = join(d, 'first-seen.json');
    for (const body of ['{not json', JSON.stringify({ version: 1, seen: [['<script>', 1]] }), '[]']) {
      writeFileSync(file, body);
      const s = new BlockSightings(d, logger);
      await s.load();
      expect(s.size).toBe(0);
      s.record(hash(9), 9);
      await s.close();
      expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({ version: 1, seen: [[hash(9), 9]] });
    }
  });
});
