#!/usr/bin/env node
import { randomBytes } from 'node:crypto';
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { addressToScript, getNetwork, ValidationError } from '../core/index.js';
import { VERSION } from '../daemon/index.js';
import { runCluster } from './cluster.js';
import { runDemo } from './demo.js';
import { DEFAULT_SEED_PORT, defaultNodeUrl, seedPort } from './http.js';
import { EXIT_CONFIG, runNode } from './run-node.js';
import { collectStatus, renderStatus } from './status.js';
import { registerWalletCommands } from './wallet.js';
import { DEMO_MINER_WALLET, demoWallet } from '../wallet/index.js';

function int(min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || n < min || n > max)
      throw new InvalidArgumentError(`expected an integer ${min}-${max}`);
    return n;
  };
}

/** The rule `chainmesh node` applies to ADMIN_TOKEN, checked before any process starts. */
function adminToken(value: string): string {
  if (value.length < 8 || /\s/.test(value))
    throw new InvalidArgumentError('expected at least 8 characters without spaces');
  return value;
}

function url(value: string): string {
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    throw new InvalidArgumentError('expected an http:// or https:// URL, e.g. http://127.0.0.1:3000');
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
    throw new InvalidArgumentError('expected an http:// or https:// URL, e.g. http://127.0.0.1:3000');
  return value.replace(/\/+$/, '');
}

/** Checked once the network is known (the option order is free): a usage error like the others. */
function minerAddress(value: string, networkName: 'demo' | 'regtest'): string {
  try {
    addressToScript(value, getNetwork(networkName));
    return value;
  } catch (err) {
    if (!(err instanceof ValidationError)) throw err;
    process.stderr.write(
      `error: option '--miner-address <address>' argument '${value}' is invalid. expected a Base58Check address of the ${networkName} network (${err.message})\n`,
    );
    process.exit(EXIT_CONFIG);
  }
}

function network(value: string): 'demo' | 'regtest' {
  if (value !== 'demo' && value !== 'regtest') throw new InvalidArgumentError('expected demo or regtest');
  return value;
}

/** A default read from the environment (SEED_PORT): a malformed value is a usage error, exit 2, one line. */
function fromEnv<T>(read: () => T): T {
  try {
    return read();
  } catch (err) {
    process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(EXIT_CONFIG);
  }
}

const program = new Command('chainmesh')
  .version(VERSION)
  .description('A blockchain node built to run as a cluster')
  // A bad argument is a usage error: exit 2, like a bad environment variable for `chainmesh node`.
  // Subcommands inherit this, so it has to come before them.
  .exitOverride((err: CommanderError) => process.exit(err.exitCode === 0 ? 0 : EXIT_CONFIG));

program
  .command('node')
  .description('run a node configured by environment variables (see README)')
  .action(() => runNode(process.env));

program
  .command('cluster')
  .description('run a seed and N nodes as local processes on loopback, with a live table')
  .option('-n, --nodes <n>', 'nodes besides the seed', int(1, 200), 5)
  .option(
    '-p, --base-port <port>',
    `seed port; nodes use the following ports (default: $SEED_PORT, else ${DEFAULT_SEED_PORT})`,
    int(1, 65000),
  )
  .option('--network <name>', 'demo or regtest', network, 'demo')
  .option('-d, --data-dir <dir>', 'where node data and logs go', '.cluster')
  .option('--no-mine', 'do not mine (use POST /admin/generate on regtest)')
  .option('--intensity <percent>', 'mining intensity per node, percent of one core', int(1, 100), 10)
  .option(
    '--admin-token <token>',
    'admin token for every node, at least 8 characters without spaces (default: random)',
    adminToken,
  )
  .option(
    '--miner-address <address>',
    `address every miner pays (default on demo: the public demo wallet ${DEMO_MINER_WALLET}; on regtest: each node's own key)`,
  )
  .option('--duration <seconds>', 'stop after this many seconds', int(1, 86_400))
  .action(
    (o: {
      nodes: number;
      basePort?: number;
      network: 'demo' | 'regtest';
      dataDir: string;
      mine: boolean;
      intensity: number;
      adminToken?: string;
      minerAddress?: string;
      duration?: number;
    }) =>
      runCluster({
        nodes: o.nodes,
        basePort: o.basePort ?? fromEnv(() => seedPort(process.env)),
        network: o.network,
        dataDir: o.dataDir,
        mine: o.mine,
        intensity: o.intensity,
        adminToken: o.adminToken ?? randomBytes(12).toString('hex'),
        minerAddress:
          o.minerAddress !== undefined
            ? minerAddress(o.minerAddress, o.network)
            : o.network === 'demo'
              ? demoWallet(DEMO_MINER_WALLET).address
              : undefined,
        durationSec: o.duration,
      }),
  );

program
  .command('status')
  .description('show a node and every node it knows: height, tip, peers, mempool, disagreements')
  .option(
    '-u, --url <url>',
    `node URL (default: the seed on this host, http://127.0.0.1:$SEED_PORT, SEED_PORT defaulting to ${DEFAULT_SEED_PORT})`,
    url,
  )
  .option('--json', 'machine-readable output')
  .action(async (o: { url?: string; json?: boolean }) => {
    const status = await collectStatus(o.url ?? fromEnv(() => defaultNodeUrl(process.env)));
    process.stdout.write(o.json ? `${JSON.stringify(status, null, 2)}\n` : renderStatus(status));
  });

registerWalletCommands(program);

program
  .command('demo')
  .description(
    'move coins between the public demo wallets through different nodes of a demo cluster and report (make demo)',
  )
  .option('--local', 'start a local cluster (chainmesh cluster) first and stop it at the end')
  .option('--seed <url>', 'seed of a running demo cluster (default: the seed on this host)', url)
  .option(
    '-p, --base-port <port>',
    'with --local: the seed port; nodes use the following ports',
    int(1, 65000),
    4100,
  )
  .option('-n, --nodes <n>', 'nodes besides the seed', int(1, 200), 5)
  .option('--confirmations <n>', 'confirmations every payment must reach on every node', int(1, 20), 2)
  .option('--timeout <seconds>', 'give up after this long, cluster start included', int(30, 3600), 300)
  .action(
    async (o: {
      local?: boolean;
      seed?: string;
      basePort: number;
      nodes: number;
      confirmations: number;
      timeout: number;
    }) => {
      const code = await runDemo({
        local: o.local === true,
        seedUrl: o.local
          ? `http://127.0.0.1:${o.basePort}`
          : (o.seed ?? fromEnv(() => defaultNodeUrl(process.env))),
        nodes: o.nodes,
        confirmations: o.confirmations,
        timeoutSec: o.timeout,
        grafanaPort: Number(process.env.GRAFANA_PORT ?? 3001),
        prometheusPort: Number(process.env.PROMETHEUS_PORT ?? 9090),
      });
      process.exit(code);
    },
  );

program.parseAsync(process.argv).catch((err: unknown) => {
  process.stderr.write(`chainmesh: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
