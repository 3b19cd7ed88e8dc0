import { isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import { z } from 'zod';
import { addressToScript, getNetwork, ValidationError } from '../core/index.js';
import type { LogFormat, LogLevel } from '../obs/index.js';

/** The whole node configuration: read from the environment once, validated once, passed down typed. */
export interface NodeConfig {
  readonly network: 'demo' | 'regtest';
  readonly port: number;
  readonly bindHost: string;
  /** host:port other nodes use to reach this one. */
  readonly advertiseAddr: string;
  readonly seedHosts: readonly string[];
  readonly dataDir: string;
  readonly minerEnabled: boolean;
  readonly minerAddress: string | undefined;
  readonly miningIntensity: number;
  readonly minerThreads: number;
  readonly adminToken: string | undefined;
  readonly maxPeers: number;
  readonly logLevel: LogLevel;
  readonly logFormat: LogFormat;
  readonly gossipIntervalMs: number;
  readonly relayFanout: number;
  /** Relay blocks compact (BIP152) to peers that take them, and take them from peers. */
  readonly compactBlocks: boolean;
  readonly joinFanout: number;
  readonly peerTimeoutMs: number;
  /** Deadline for receiving a whole request (headers and body); a slower one is answered 408 and closed. */
  readonly httpRequestTimeoutMs: number;
  readonly mempoolMaxBytes: number;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    readonly variable: string,
    readonly value: string,
    readonly expected: string,
    /** What went wrong, when the value is well-formed but unusable here (e.g. the port is taken). */
    readonly detail?: string,
  ) {
    super(
      `config error: ${variable}=${JSON.stringify(value)}: expected ${expected}${detail ? ` (${detail})` : ''}`,
    );
  }
}

type Env = Readonly<Record<string, string | undefined>>;

const hostPort = z
  .string()
  .regex(/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/)
  .refine((s) => {
    const port = Number(s.slice(s.lastIndexOf(':') + 1));
    return port >= 1 && port <= 65535;
  });

function read<T>(env: Env, name: string, schema: z.ZodType<T>, expected: string, fallback: T): T {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const parsed = schema.safeParse(raw.trim());
  if (!parsed.success) throw new ConfigError(name, raw, expected);
  return parsed.data;
}

function integer(min: number, max: number) {
  return z.string().regex(/^\d+$/).transform(Number).pipe(z.number().int().min(min).max(max));
}

const boolean = z
  .string()
  .toLowerCase()
  .pipe(z.enum(['true', 'false', '1', '0', 'yes', 'no', 'on', 'off']))
  .transform((v) => ['true', '1', 'yes', 'on'].includes(v));

/** First non-internal IPv4 address: a container's own address on its network. */
export function firstExternalAddress(): string {
  for (const list of Object.values(networkInterfaces())) {
    for (const info of list ?? []) {
      if (!info.internal && info.family === 'IPv4') return info.address;
    }
  }
  return '127.0.0.1';
}

function formatHost(host: string): string {
  return isIP(host) === 6 ? `[${host}]` : host;
}

export function loadConfig(env: Env, opts: { isTTY?: boolean } = {}): NodeConfig {
  const port = read(env, 'PORT', integer(1, 65535), 'a TCP port 1-65535', 3000);
  const seedHosts = read(
    env,
    'SEED_HOSTS',
    z
      .string()
      .transform((s) =>
        s
          .split(',')
          .map((h) => h.trim())
          .filter(Boolean),
      )
      .pipe(z.array(hostPort)),
    'comma-separated host:port list, e.g. seed:3000',
    [],
  );
  const podIp = read(
    env,
    'POD_IP',
    z.string().refine((s) => isIP(s) !== 0),
    'an IPv4 or IPv6 address',
    undefined as string | undefined,
  );
  const advertiseAddr = read(
    env,
    'ADVERTISE_ADDR',
    hostPort,
    'host:port that other nodes can reach, e.g. 10.0.0.5:3000',
    `${formatHost(podIp ?? firstExternalAddress())}:${port}`,
  );
  const network = read(env, 'NETWORK', z.enum(['demo', 'regtest']), 'demo or regtest', 'demo');
  const params = getNetwork(network);
  const minerAddress = read(
    env,
    'MINER_ADDRESS',
    z.string().refine((s) => {
      try {
        addressToScript(s, params);
        return true;
      } catch (err) {
        if (err instanceof ValidationError) return false;
        throw err;
      }
    }),
    `a Base58Check address of the ${network} network`,
    undefined as string | undefined,
  );
  return {
    network,
    port,
    bindHost: read(
      env,
      'BIND_HOST',
      z.string().refine((s) => isIP(s) !== 0 || s === 'localhost'),
      'an IP address to listen on, e.g. 0.0.0.0',
      '0.0.0.0',
    ),
    advertiseAddr,
    seedHosts,
    dataDir: read(env, 'DATA_DIR', z.string().min(1), 'a directory path', '/data'),
    minerEnabled: read(env, 'MINER_ENABLED', boolean, 'true or false', false),
    minerAddress,
    miningIntensity: read(env, 'MINING_INTENSITY', integer(1, 100), 'percent of one core, 1-100', 10),
    minerThreads: read(env, 'MINER_THREADS', integer(1, 64), 'a number of worker threads, 1-64', 1),
    adminToken: read(
      env,
      'ADMIN_TOKEN',
      z.string().min(8).regex(/^\S+$/),
      'at least 8 characters without spaces',
      undefined as string | undefined,
    ),
    maxPeers: read(env, 'MAX_PEERS', integer(1, 10_000), 'an integer 1-10000', 64),
    logLevel: read(
      env,
      'LOG_LEVEL',
      z.enum(['error', 'warn', 'info', 'debug']),
      'error, warn, info or debug',
      'info',
    ),
    logFormat: read(
      env,
      'LOG_FORMAT',
      z.enum(['json', 'pretty']),
      'json or pretty',
      opts.isTTY ? 'pretty' : 'json',
    ),
    gossipIntervalMs: read(
      env,
      'GOSSIP_INTERVAL_MS',
      integer(100, 600_000),
      'milliseconds, 100-600000',
      3000,
    ),
    relayFanout: read(env, 'RELAY_FANOUT', integer(1, 1000), 'an integer 1-1000', 8),
    compactBlocks: read(env, 'COMPACT_BLOCKS', boolean, 'true or false (1/0, yes/no, on/off)', true),
    joinFanout: read(env, 'JOIN_FANOUT', integer(1, 1000), 'an integer 1-1000', 8),
    peerTimeoutMs: read(env, 'PEER_TIMEOUT_MS', integer(100, 120_000), 'milliseconds, 100-120000', 3000),
    httpRequestTimeoutMs: read(
      env,
      'HTTP_REQUEST_TIMEOUT_MS',
      integer(1000, 600_000),
      'milliseconds, 1000-600000',
      30_000,
    ),
    mempoolMaxBytes: read(
      env,
      'MEMPOOL_MAX_BYTES',
      integer(100_000, 4_000_000_000),
      'bytes, 100000-4000000000',
      32 * 1024 * 1024,
    ),
  };
}
