import { constants } from 'node:fs';
import { access, mkdir } from 'node:fs/promises';
import { StoreNetworkError } from '../chain/index.js';
import { ConfigError, type NodeConfig } from './config.js';

/**
 * Settings that are well-formed but cannot work on this machine (a DATA_DIR
 * that is a file or not writable, a PORT already taken, a BIND_HOST that is
 * not one of this machine's addresses) surface only when the node uses them.
 * These turn such failures into the same ConfigError as a malformed value, so
 * the operator gets one line naming the variable and exit code 2.
 */

const DATA_DIR_EXPECTED = 'a directory this process can create and write';

/** File-system errors that mean "this path cannot be our data directory". */
const PATH_ERRNOS: Record<string, string> = {
  EEXIST: 'a file that is not a directory is in the way',
  ENOTDIR: 'a part of the path is a file, not a directory',
  EISDIR: 'a file the node keeps there is a directory',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  ENAMETOOLONG: 'path too long',
  ELOOP: 'too many symbolic links',
};

function errnoOf(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}

function userHint(): string {
  const uid = process.getuid?.();
  return uid === undefined ? '' : `, running as uid ${uid}`;
}

/** Creates DATA_DIR if needed and checks that this process may write in it. */
export async function prepareDataDir(dataDir: string): Promise<void> {
  try {
    await mkdir(dataDir, { recursive: true });
    await access(dataDir, constants.W_OK | constants.X_OK);
  } catch (err) {
    throw dataDirError(err, dataDir) ?? err;
  }
}

/** A ConfigError for DATA_DIR if `err` is a file-system or store-lock failure of that directory. */
export function dataDirError(err: unknown, dataDir: string): ConfigError | undefined {
  if (err instanceof ConfigError) return err;
  const code = errnoOf(err);
  if (code && code in PATH_ERRNOS) {
    return new ConfigError('DATA_DIR', dataDir, DATA_DIR_EXPECTED, `${PATH_ERRNOS[code]}${userHint()}`);
  }
  // classic-level wraps the reason of a failed open in `cause`.
  const cause = typeof err === 'object' && err !== null ? (err as { cause?: unknown }).cause : undefined;
  if (errnoOf(cause) === 'LEVEL_LOCKED') {
    return new ConfigError(
      'DATA_DIR',
      dataDir,
      'a data directory no other running node uses',
      'its chain store is locked by another process',
    );
  }
  const message = cause instanceof Error ? cause.message : '';
  if (errnoOf(cause) === 'LEVEL_IO_ERROR' && /permission denied|read-only/i.test(message)) {
    return new ConfigError('DATA_DIR', dataDir, DATA_DIR_EXPECTED, `${message}${userHint()}`);
  }
  return undefined;
}

/** A chain store of another network in DATA_DIR is a NETWORK (or DATA_DIR) mistake, not a crash. */
export function networkMismatchError(err: unknown, config: NodeConfig): ConfigError | undefined {
  if (!(err instanceof StoreNetworkError)) return undefined;
  return new ConfigError(
    'NETWORK',
    config.network,
    `the network of the chain already in DATA_DIR=${JSON.stringify(config.dataDir)}, or an empty DATA_DIR`,
    err.message,
  );
}

/** A ConfigError for PORT or BIND_HOST if `err` is why the HTTP server could not listen. */
export function listenError(err: unknown, config: NodeConfig): ConfigError | undefined {
  const where = `${config.bindHost}:${config.port}`;
  switch (errnoOf(err)) {
    case 'EADDRINUSE':
      return new ConfigError(
        'PORT',
        String(config.port),
        `a port no other process listens on at BIND_HOST=${config.bindHost}`,
        `address already in use: ${where}`,
      );
    case 'EACCES':
      return new ConfigError(
        'PORT',
        String(config.port),
        'a port this process may bind (1024-65535 without privileges)',
        `permission denied: ${where}${userHint()}`,
      );
    case 'EADDRNOTAVAIL':
      return new ConfigError(
        'BIND_HOST',
        config.bindHost,
        "an address of this machine's interfaces, or 0.0.0.0 for all",
        `address not available: ${where}`,
      );
    case 'EAFNOSUPPORT':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new ConfigError(
        'BIND_HOST',
        config.bindHost,
        "an address of this machine's interfaces, or 0.0.0.0 for all",
        `cannot listen on ${where}`,
      );
    default:
      return undefined;
  }
}
