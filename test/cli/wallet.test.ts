import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeAddress, getNetwork } from '../../src/core/index.js';
import { demoWallets } from '../../src/wallet/index.js';
import {
  MAIN,
  admin,
  cleanup,
  freePort,
  request,
  startNode,
  stopAll,
  tempDir,
  waitFor,
  type NodeProcess,
} from '../helpers/processes.js';

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

const root = tempDir('chainmesh-wallet-cli-');
const walletDir = join(root, 'wallets');
let node: NodeProcess;

/** Runs `chainmesh …` asynchronously (a server in this process must be able to answer it). */
function cli(
  args: string[],
  env: Record<string, string> = {},
): Promise<Run> & { child: ReturnType<typeof spawn> } {
  const child = spawn(process.execPath, [MAIN, ...args], {
    env: { PATH: process.env.PATH ?? '', HOME: root, CHAINMESH_WALLET_DIR: walletDir, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<Run>((resolve) =>
    child.on('close', (status) => resolve({ status, stdout, stderr })),
  );
  return Object.assign(done, { child });
}

const withNode = (...args: string[]) => cli([...args, '--node', node.url]);

async function mempoolCount(): Promise<number> {
  return ((await request(`${node.url}/mempool`)).body as { count: number }).count;
}

beforeAll(async () => {
  node = await startNode({ name: 'wallet-cli', dataDir: join(root, 'node') });
});
afterAll(async () => {
  await stopAll([node]);
  cleanup(root);
});

describe('chainmesh wallet (real node over HTTP)', () => {
  it('--help works on every subcommand', async () => {
    for (const sub of [
      [],
      ['new'],
      ['list'],
      ['address'],
      ['balance'],
      ['history'],
      ['send'],
      ['import-demo'],
    ]) {
      const run = await cli(['wallet', ...sub, '--help']);
      expect(run.status, `${sub.join(' ')}: ${run.stderr}`).toBe(0);
      expect(run.stdout).toMatch(/^Usage: chainmesh wallet/);
      expect(run.stdout).toMatch(sub.length === 0 ? /send/ : /--node <url>[\s\S]*--json/);
    }
  });

  let payer = '';
  let payee = '';

  it('creates key files and prints only the address; refuses to overwrite; picks or asks for a wallet', async () => {
    const created = await withNode('wallet', 'new', '--name', 'payer');
    expect(created.status, created.stderr).toBe(0);
    payer = created.stdout.trim();
    expect(created.stdout).toMatch(/^[mn][1-9A-HJ-NP-Za-km-z]{33}\n$/);
    expect(statSync(walletDir).mode & 0o777).toBe(0o700);
    expect(statSync(join(walletDir, 'payer.json')).mode & 0o777).toBe(0o600);
    expect((await cli(['wallet', 'address'])).stdout.trim()).toBe(payer);

    const again = await withNode('wallet', 'new', '--name', 'payer');
    expect(again.status).toBe(1);
    expect(again.stderr).toMatch(/^chainmesh: a wallet named "payer" already exists/);

    payee = (await cli(['wallet', 'new', '--name', 'payee', '--network', 'regtest', '--json'])).stdout;
    payee = (JSON.parse(payee) as { address: string }).address;
    const ambiguous = await withNode('wallet', 'balance');
    expect(ambiguous.status).toBe(1);
    expect(ambiguous.stderr).toMatch(/2 wallets in .*: choose one with --name \(payee, payer\)\n$/);
    const list = await cli(['wallet', 'list']);
    expect(list.stdout).toBe(`payee  regtest  ${payee}\npayer  regtest  ${payer}\n`);
  });

  it('shows balances in CMC or base units, sends with --wait until confirmed, and lists the history', async () => {
    expect((await admin(node, '/admin/generate', { count: 12, address: payer })).status).toBe(200);
    // Heights 1-12, tip 12: the coinbases of heights 1-3 have 10 confirmations.
    const balance = await withNode('wallet', 'balance', '--name', 'payer');
    expect(balance.status, balance.stderr).toBe(0);
    expect(balance.stdout).toMatch(/confirmed {4}150 CMC\n/);
    expect(balance.stdout).toMatch(/unconfirmed {2}0 CMC\n/);
    expect(balance.stdout).toMatch(/immature {5}450 CMC/);
    const sats = await withNode('wallet', 'balance', '--name', 'payer', '--sats', '--json');
    expect(JSON.parse(sats.stdout)).toMatchObject({ confirmed: '15000000000', immature: '45000000000' });

    const send = withNode(
      'wallet',
      'send',
      '--name',
      'payer',
      '--to',
      payee,
      '--amount',
      '1.5',
      '--wait',
      '2',
    );
    await waitFor('the payment in the mempool', async () => (await mempoolCount()) === 1, {
      timeoutMs: 60_000,
    });
    const pending = await withNode('wallet', 'balance', '--name', 'payee');
    expect(pending.stdout).toMatch(/unconfirmed {2}\+1.5 CMC/);
    expect((await admin(node, '/admin/generate', { count: 2 })).status).toBe(200);
    const sent = await send;
    expect(sent.status, sent.stderr).toBe(0);
    const txid = sent.stdout.trim();
    expect(txid).toMatch(/^[0-9a-f]{64}$/);
    expect(sent.stderr).toMatch(/^sent 1.5 CMC to m|^sent 1.5 CMC to n/);
    expect(sent.stderr).toMatch(
      /0\/2 confirmations \(in the mempool\)\n(1\/2 confirmations \(block 13\)\n)?2\/2 confirmations \(block 13\)/,
    );

    const received = JSON.parse((await withNode('wallet', 'balance', '--name', 'payee', '--json')).stdout);
    expect(received).toMatchObject({ confirmed: '150000000', unconfirmed: '0' });
    const history = await withNode('wallet', 'history', '--name', 'payer');
    expect(history.status, history.stderr).toBe(0);
    expect(history.stdout.split('\n')[0]).toMatch(/^HEIGHT\s+CONF\s+AMOUNT \(CMC\)\s+TIME\s+TXID$/);
    expect(history.stdout.split('\n')[1]).toMatch(
      new RegExp(`^13\\s+2\\s+-1\\.50000\\d+\\s+\\S+Z\\s+${txid}$`),
    );
    const payeeHistory = JSON.parse(
      (await withNode('wallet', 'history', '--name', 'payee', '--json')).stdout,
    );
    expect(payeeHistory.txs).toEqual([
      expect.objectContaining({
        txid,
        height: 13,
        confirmations: 2,
        received: '150000000',
        net: '150000000',
      }),
    ]);
  });

  it('refuses bad input with one line and a non-zero exit, submitting nothing', async () => {
    const demoAddress = encodeAddress(new Uint8Array(20), getNetwork('demo'));
    const garbage: Server = createServer((_req, res) => res.end('hello, I am not a node'));
    const garbagePort = await freePort();
    await new Promise<void>((resolve) => garbage.listen(garbagePort, '127.0.0.1', resolve));
    const closedPort = await freePort();
    const send = (...args: string[]) => ['wallet', 'send', '--name', 'payer', '--node', node.url, ...args];
    const cases: Array<[string[], number, RegExp]> = [
      [
        send('--to', payee, '--amount', '100000'),
        1,
        /insufficient funds: spendable 248.49999548 CMC in 5 coin\(s\), needed 100000.00001568 CMC/,
      ],
      [send('--to', payee, '--amount', '30000000'), 1, /more than all the coins there will ever be/],
      [send('--to', payee, '--amount', '1.123456789'), 1, /has 9 decimals: at most 8/],
      [send('--to', payee, '--amount=-1'), 1, /must not be negative/],
      [send('--to', payee, '--amount', 'lots'), 1, /is not a number of coins/],
      [
        send('--to', payee, '--amount', '0.000001'),
        1,
        /0.000001 CMC is dust: the smallest payment is 0.00000546 CMC/,
      ],
      [
        send('--to', 'mxyz', '--amount', '1'),
        1,
        /"mxyz" is not a regtest address: it has 4 characters.*starting with "m" or "n"/,
      ],
      [
        send('--to', `${payee.slice(0, -1)}${payee.endsWith('a') ? 'b' : 'a'}`, '--amount', '1'),
        1,
        /checksum does not match/,
      ],
      [send('--to', demoAddress, '--amount', '1'), 1, /is not a regtest address: it is a demo address/],
      [
        send('--to', payee, '--amount', '1', '--fee-rate', 'x'),
        2,
        /--fee-rate.*expected whole base units per byte/,
      ],
      [send('--to', payee, '--amount', '1', '--key', 'ab'.repeat(32)), 2, /unknown option '--key'/],
      [
        [
          'wallet',
          'send',
          '--name',
          'payer',
          '--to',
          payee,
          '--amount',
          '1',
          '--node',
          `http://127.0.0.1:${closedPort}`,
        ],
        1,
        new RegExp(`cannot reach the node at http://127.0.0.1:${closedPort}: connection refused`),
      ],
      [
        [
          'wallet',
          'send',
          '--name',
          'payer',
          '--to',
          payee,
          '--amount',
          '1',
          '--node',
          `http://127.0.0.1:${garbagePort}`,
        ],
        1,
        new RegExp(
          `the node at http://127.0.0.1:${garbagePort} answered GET /info with 200 and no JSON .*"hello, I am not a node"`,
        ),
      ],
      [
        ['wallet', 'balance', '--name', 'nobody', '--node', node.url],
        1,
        /no wallet named "nobody" .*\(wallets: payee, payer\)/,
      ],
      [['wallet', 'history', '--name', 'payer', '--limit', '51'], 2, /expected a whole number 1-50/],
      [['wallet', 'new', '--name', '../evil'], 1, /wallet name "..\/evil" is not allowed/],
      [
        ['wallet', 'balance', '--name', 'payer', '--node', 'ftp://x'],
        2,
        /expected an http:\/\/ or https:\/\/ URL/,
      ],
    ];
    try {
      for (const [args, status, message] of cases) {
        const run = await cli(args);
        expect(run.status, `${args.join(' ')}\n${run.stderr}`).toBe(status);
        expect(run.stderr, args.join(' ')).toMatch(message);
        expect(run.stderr.trimEnd().split('\n'), args.join(' ')).toHaveLength(1);
        expect(run.stdout, args.join(' ')).toBe('');
      }
    } finally {
      garbage.close();
    }
    expect(await mempoolCount()).toBe(0);
    expect(readdirSync(walletDir).sort()).toEqual(['payee.json', 'payer.json']);
  });

  it('refuses a node of another network than the wallet', async () => {
    const demoDir = join(root, 'demo-wallets');
    const created = await cli(['wallet', 'new', '--network', 'demo'], { CHAINMESH_WALLET_DIR: demoDir });
    expect(created.stdout).toMatch(/^C/);
    const run = await cli(['wallet', 'balance', '--node', node.url], { CHAINMESH_WALLET_DIR: demoDir });
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/wallet "default" is on the demo network but the node at .* is on regtest/);
  });

  it('import-demo writes the public demo wallets, once', async () => {
    const demoDir = join(root, 'imported');
    const first = await cli(['wallet', 'import-demo'], { CHAINMESH_WALLET_DIR: demoDir });
    expect(first.status, first.stderr).toBe(0);
    for (const w of demoWallets())
      expect(first.stdout).toMatch(new RegExp(`${w.name}\\s+${w.address}\\s+imported`));
    expect(first.stdout).toMatch(/public keys for the demo network only, never for value/);
    const second = await cli(['wallet', 'import-demo'], { CHAINMESH_WALLET_DIR: demoDir });
    expect(second.stdout).toMatch(/demo-bob\s+\S+\s+already there/);
    const list = await cli(['wallet', 'list', '--json'], { CHAINMESH_WALLET_DIR: demoDir });
    expect((JSON.parse(list.stdout) as { wallets: unknown[] }).wallets).toEqual(
      demoWallets().map((w) => ({ name: w.name, network: 'demo', address: w.address })),
    );
  });
});
