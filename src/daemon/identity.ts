import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

const NODE_ID_PATTERN = /^[0-9a-f]{32}$/;
const KEY_PATTERN = /^[0-9a-f]{64}$/;

/** Writes via temp file + rename so a crash never leaves a half-written file. */
export async function writeFileAtomic(path: string, content: string): Promise<void> {
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(tmp, content, { mode: 0o600 });
  await rename(tmp, path);
}

async function loadOrCreate(path: string, pattern: RegExp, create: () => string): Promise<string> {
  try {
    const value = (await readFile(path, 'utf8')).trim();
    if (pattern.test(value)) return value;
    throw new Error(`${path} is corrupt: delete it to create a new one`);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const value = create();
  await writeFileAtomic(path, value + '\n');
  return value;
}

/**
 * The node's persistent identity in DATA_DIR: its node id (so a restarted pod
 * with a new IP is recognised as the same peer) and the key that receives
 * mining rewards when no MINER_ADDRESS is set.
 */
export async function loadIdentity(dataDir: string): Promise<{ nodeId: string; minerKey: Uint8Array }> {
  await mkdir(dataDir, { recursive: true });
  const nodeId = await loadOrCreate(join(dataDir, 'node-id'), NODE_ID_PATTERN, () =>
    randomBytes(16).toString('hex'),
  );
  const keyHex = await loadOrCreate(join(dataDir, 'miner.key'), KEY_PATTERN, () =>
    randomBytes(32).toString('hex'),
  );
  return { nodeId, minerKey: Uint8Array.from(Buffer.from(keyHex, 'hex')) };
}
