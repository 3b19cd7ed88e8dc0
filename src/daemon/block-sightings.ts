import { open, readFile, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import type { Logger } from '../obs/index.js';

/** Blocks remembered; at 75 bytes each the file stays under 1 MB. The oldest sightings go first. */
export const MAX_SIGHTINGS = 10_000;
/** A dirty record is written at most this often (and at a graceful stop). */
const SAVE_INTERVAL_MS = 30_000;
const FILE_NAME = 'first-seen.json';

const fileSchema = z.object({
  version: z.literal(1),
  // [block hash, unix ms], oldest first.
  seen: z.array(z.tuple([z.string().regex(/^[0-9a-f]{64}$/), z.number().int().nonnegative()])),
});

/**
 * When this node first saw each block: the moment it connected it to its
 * chain (mined here, relayed, synced or posted), so the explorer can show how
 * long after its own timestamp a block reached this node. The first sighting
 * wins (a block connected again after a reorg keeps its time). Bounded to
 * MAX_SIGHTINGS in memory and on disk; saved to `$DATA_DIR/first-seen.json`
 * (temp file, fsync, rename) every SAVE_INTERVAL_MS when changed and at a
 * graceful stop, and loaded at start, so a restart keeps what was saved; a
 * crash loses at most the last interval, and a block connected before the
 * node ever saw it through this record (an older data dir) has no time.
 */
export class BlockSightings {
  private readonly seen = new Map<string, number>();
  private readonly file: string;
  private dirty = false;
  private timer: NodeJS.Timeout | undefined;
  private saving: Promise<void> = Promise.resolve();

  constructor(
    dataDir: string,
    private readonly logger: Logger,
    private readonly max = MAX_SIGHTINGS,
  ) {
    this.file = join(dataDir, FILE_NAME);
  }

  get size(): number {
    return this.seen.size;
  }

  get(hash: string): number | undefined {
    return this.seen.get(hash);
  }

  record(hash: string, atMs: number): void {
    if (this.seen.has(hash)) return;
    this.seen.set(hash, atMs);
    // A Map iterates in insertion order: the first key is the oldest sighting.
    while (this.seen.size > this.max) this.seen.delete(this.seen.keys().next().value as string);
    this.dirty = true;
    if (!this.timer) {
      this.timer = setInterval(() => void this.flush(), SAVE_INTERVAL_MS);
      this.timer.unref();
    }
  }

  /** Reads the saved record; an unreadable or corrupt file is logged and ignored (the record starts empty). */
  async load(): Promise<void> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
        this.logger.warn('first-seen record unreadable, starting empty', {
          file: this.file,
          error: String(err),
        });
      }
      return;
    }
    try {
      const { seen } = fileSchema.parse(JSON.parse(text));
      for (const [hash, at] of seen.slice(-this.max)) this.seen.set(hash, at);
    } catch (err) {
      this.logger.warn('first-seen record corrupt, ignored', {
        file: this.file,
        error: err instanceof Error ? err.message : String(err),
      });
    }
  }

  /** Writes the record if it changed since the last write. */
  flush(): Promise<void> {
    this.saving = this.saving.then(() => this.writeIfDirty());
    return this.saving;
  }

  /** Final write; the periodic one stops. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.flush();
  }

  private async writeIfDirty(): Promise<void> {
    if (!this.dirty) return;
    this.dirty = false;
    const body = JSON.stringify({ version: 1, seen: [...this.seen] });
    const tmp = `${this.file}.${process.pid}.tmp`;
    try {
      const fh = await open(tmp, 'w');
      try {
        await fh.writeFile(body);
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tmp, this.file);
    } catch (err) {
      this.dirty = true;
      this.logger.warn('first-seen record not saved', { file: this.file, error: String(err) });
      await unlink(tmp).catch(() => undefined);
    }
  }
}
