import { Command, InvalidArgumentError, Option } from 'commander';
import { formatAmount, formatCoins, getNetwork, isNetworkName, type NetworkName } from '../core/index.js';
import { defaultNodeUrl } from './http.js';
import {
  buildPayment,
  createWallet,
  DEFAULT_FEE_RATE,
  defaultWalletDir,
  demoWallets,
  listWalletNames,
  loadWallet,
  MAX_FEE_RATE,
  NodeClient,
  parseAddress,
  parseBaseUnits,
  parseCoins,
  pickWallet,
  saveWallet,
  WalletError,
  type WalletKey,
} from '../wallet/index.js';

/*
 * `chainmesh wallet …`: key files in the wallet directory, payments signed
 * here and submitted to a node. Output is for people by default and JSON with
 * --json; amounts are shown in CMC with exact decimals (--sats: base units).
 * Every failure is one line on stderr and a non-zero exit (main.ts).
 */

interface Common {
  node?: string;
  json?: boolean;
}

function nodeUrl(value: string): string {
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

function count(min: number, max: number) {
  return (value: string): number => {
    if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max)
      throw new InvalidArgumentError(`expected a whole number ${min}-${max}`);
    return Number(value);
  };
}

function feeRate(value: string): bigint {
  if (!/^\d{1,7}$/.test(value) || BigInt(value) > MAX_FEE_RATE)
    throw new InvalidArgumentError(`expected whole base units per byte, 0-${MAX_FEE_RATE}`);
  return BigInt(value);
}

function networkName(value: string): NetworkName {
  if (!isNetworkName(value)) throw new InvalidArgumentError('expected demo or regtest');
  return value;
}

/** The options every wallet command takes. */
function withCommon(cmd: Command): Command {
  return cmd
    .option(
      '--node <url>',
      'node URL (default: $CHAINMESH_NODE, else the seed on this host: http://127.0.0.1:$SEED_PORT, 3000)',
      nodeUrl,
    )
    .option('--json', 'machine-readable output (amounts as strings of base units)');
}

function client(o: Common): NodeClient {
  return new NodeClient(o.node ?? (process.env.CHAINMESH_NODE?.trim() || defaultNodeUrl(process.env)));
}

function print(o: Common, json: unknown, human: string): void {
  process.stdout.write(
    o.json ? `${JSON.stringify(json, null, 2)}\n` : human.endsWith('\n') ? human : `${human}\n`,
  );
}

/** The node must be on the wallet's network, or every answer would be about other coins. */
async function nodeFor(o: Common, wallet: WalletKey): Promise<NodeClient> {
  const node = client(o);
  const info = await node.info();
  if (info.networkName !== wallet.network) {
    throw new WalletError(
      'wrong-network',
      `wallet "${wallet.name}" is on the ${wallet.network} network but the node at ${node.url} is on ${info.networkName}: use --node with a ${wallet.network} node`,
    );
  }
  return node;
}

const dir = (): string => defaultWalletDir();

export function registerWalletCommands(program: Command): void {
  const wallet = program
    .command('wallet')
    .description(
      'keys in files (~/.chainmesh/wallets or $CHAINMESH_WALLET_DIR), payments signed locally; 1 CMC = 10^8 base units',
    );

  withCommon(
    wallet
      .command('new')
      .description('create a key file for a new wallet and print its address')
      .option('--name <name>', 'wallet name', 'default')
      .addOption(
        new Option(
          '--network <name>',
          "demo or regtest (default: the --node's network, else demo)",
        ).argParser(networkName),
      ),
  ).action(async (o: Common & { name: string; network?: NetworkName }) => {
    const network = o.network ?? (o.node ? (await client(o).info()).networkName : 'demo');
    const w = await createWallet(dir(), o.name, network);
    print(o, { name: w.name, network: w.network, address: w.address, file: w.file }, w.address);
  });

  withCommon(wallet.command('list').description('list the wallets: name, network, address')).action(
    async (o: Common) => {
      const wallets: WalletKey[] = [];
      for (const name of await listWalletNames(dir())) wallets.push(await loadWallet(dir(), name));
      const rows = wallets.map((w) => ({ name: w.name, network: w.network, address: w.address }));
      const width = Math.max(4, ...rows.map((r) => r.name.length));
      const human =
        rows.length === 0
          ? `no wallets in ${dir()}: create one with "chainmesh wallet new"`
          : rows.map((r) => `${r.name.padEnd(width)}  ${r.network.padEnd(7)}  ${r.address}`).join('\n');
      print(o, { dir: dir(), wallets: rows }, human);
    },
  );

  withCommon(
    wallet
      .command('address')
      .description("print a wallet's address")
      .option('--name <name>', 'wallet (default: the only one)'),
  ).action(async (o: Common & { name?: string }) => {
    const w = await pickWallet(dir(), o.name);
    print(o, { name: w.name, network: w.network, address: w.address }, w.address);
  });

  withCommon(
    wallet
      .command('balance')
      .description('confirmed, unconfirmed and immature balance of a wallet')
      .option('--name <name>', 'wallet (default: the only one)')
      .option('--sats', 'amounts in base units instead of CMC'),
  ).action(async (o: Common & { name?: string; sats?: boolean }) => {
    const w = await pickWallet(dir(), o.name);
    const b = await (await nodeFor(o, w)).balance(w.address);
    const show = (v: bigint, signed = false) =>
      `${signed && v > 0n ? '+' : ''}${o.sats ? `${v} base units` : formatAmount(v)}`;
    const lines = [
      `wallet ${w.name}  ${w.address}  (height ${b.height})`,
      `confirmed    ${show(b.confirmed)}`,
      `unconfirmed  ${show(b.unconfirmed, true)}`,
    ];
    if (b.immature > 0n)
      lines.push(
        `immature     ${show(b.immature)}  (mined; spendable after ${w.params.coinbaseMaturity} confirmations)`,
      );
    print(
      o,
      {
        name: w.name,
        address: w.address,
        height: b.height,
        confirmed: b.confirmed.toString(),
        unconfirmed: b.unconfirmed.toString(),
        immature: b.immature.toString(),
        spendable: b.spendable.toString(),
        unit: 'base units (1 CMC = 100000000)',
      },
      lines.join('\n'),
    );
  });

  withCommon(
    wallet
      .command('history')
      .description("a wallet's transactions, newest first: height, confirmations, amount in or out")
      .option('--name <name>', 'wallet (default: the only one)')
      .option('--limit <n>', 'transactions to show (1-50)', count(1, 50), 20)
      .option('--offset <n>', 'newest transactions to skip (0-10000)', count(0, 10_000), 0)
      .option('--sats', 'amounts in base units instead of CMC'),
  ).action(async (o: Common & { name?: string; limit: number; offset: number; sats?: boolean }) => {
    const w = await pickWallet(dir(), o.name);
    const h = await (await nodeFor(o, w)).history(w.address, o.limit, o.offset);
    const amount = (v: bigint) => `${v > 0n ? '+' : ''}${o.sats ? v.toString() : formatCoins(v)}`;
    const rows = h.txs.map((t) => [
      t.height === null ? 'pending' : String(t.height),
      String(t.confirmations),
      amount(t.net),
      t.time === null ? '' : new Date(t.time * 1000).toISOString().replace('.000Z', 'Z'),
      t.txid,
    ]);
    const header = ['HEIGHT', 'CONF', o.sats ? 'AMOUNT (base units)' : 'AMOUNT (CMC)', 'TIME', 'TXID'];
    const widths = header.map((title, i) =>
      Math.max(title.length, ...rows.map((r) => (r[i] as string).length)),
    );
    const line = (cells: string[]) =>
      cells
        .map((c, i) => (i === 2 ? c.padStart(widths[i] as number) : c.padEnd(widths[i] as number)))
        .join('  ')
        .trimEnd();
    const human =
      rows.length === 0
        ? `no transactions for ${w.name} (${w.address})`
        : [
            line(header),
            ...rows.map(line),
            ...(h.more ? [`… more with --offset ${o.offset + o.limit}`] : []),
          ].join('\n');
    print(
      o,
      {
        name: w.name,
        address: w.address,
        height: h.height,
        more: h.more,
        txs: h.txs.map((t) => ({
          ...t,
          received: t.received.toString(),
          sent: t.sent.toString(),
          net: t.net.toString(),
        })),
      },
      human,
    );
  });

  withCommon(
    wallet
      .command('send')
      .description('pay an address: select coins, sign here, submit to the node, print the txid')
      .requiredOption('--to <address>', 'recipient address')
      .requiredOption(
        '--amount <coins>',
        'amount in CMC, up to 8 decimals, e.g. 1.5 (with --sats: base units)',
      )
      .option('--name <name>', 'wallet to pay from (default: the only one)')
      .option('--sats', '--amount is in base units')
      .option(
        '--fee-rate <units>',
        `fee in base units per byte of the transaction (default: ${DEFAULT_FEE_RATE}; nodes relay from 1)`,
        feeRate,
      )
      .option('--wait <n>', 'then wait for n confirmations, showing progress (1-100)', count(1, 100))
      .option('--timeout <seconds>', 'with --wait: give up after this long', count(1, 86_400), 600),
  ).action(
    async (
      o: Common & {
        to: string;
        amount: string;
        name?: string;
        sats?: boolean;
        feeRate?: bigint;
        wait?: number;
        timeout: number;
      },
    ) => {
      // Everything local is checked before the node is asked anything.
      const amount = o.sats ? parseBaseUnits(o.amount, '--amount') : parseCoins(o.amount, '--amount');
      const w = await pickWallet(dir(), o.name);
      parseAddress(o.to, w.params);
      const node = await nodeFor(o, w);
      const coins = await node.spendableCoins(w.address);
      const payment = buildPayment({
        params: w.params,
        privateKey: w.privateKey,
        coins,
        to: o.to,
        amount,
        feeRate: o.feeRate ?? DEFAULT_FEE_RATE,
      });
      const txid = await node.submit(payment.hex);
      const result = {
        txid,
        from: w.address,
        to: o.to.trim(),
        amount: payment.amount.toString(),
        fee: payment.fee.toString(),
        change: payment.change.toString(),
        node: node.url,
      };
      if (!o.json) {
        process.stderr.write(
          `sent ${formatAmount(payment.amount)} to ${result.to} (fee ${formatAmount(payment.fee)}) through ${node.url}\n`,
        );
        process.stdout.write(`${txid}\n`);
      }
      if (o.wait === undefined) {
        if (o.json) print(o, result, '');
        return;
      }
      const confirmations = await waitForConfirmations(node, txid, o.wait, o.timeout, !o.json);
      if (o.json) print(o, { ...result, confirmations }, '');
    },
  );

  withCommon(
    wallet
      .command('import-demo')
      .description(
        'write the demo network wallets (PUBLIC keys, demo network only, never for value) to the wallet directory',
      ),
  ).action(async (o: Common) => {
    const rows: Array<{ name: string; address: string; status: string }> = [];
    for (const demo of demoWallets()) {
      let status = 'imported';
      try {
        await saveWallet(dir(), demo.name, 'demo', demo.privateKey);
      } catch (err) {
        if (!(err instanceof WalletError && err.code === 'wallet-exists')) throw err;
        const existing = await loadWallet(dir(), demo.name);
        if (existing.address !== demo.address) {
          throw new WalletError(
            'wallet-exists',
            `a wallet named "${demo.name}" already exists in ${dir()} with another key: move it away to import the demo wallet`,
          );
        }
        status = 'already there';
      }
      rows.push({ name: demo.name, address: demo.address, status });
    }
    print(
      o,
      { dir: dir(), wallets: rows },
      [
        ...rows.map((r) => `${r.name.padEnd(10)}  ${r.address}  ${r.status}`),
        `demo wallets: public keys for the ${getNetwork('demo').name} network only, never for value`,
      ].join('\n'),
    );
  });
}

/** Polls the node until the transaction has `wanted` confirmations; progress on stderr. */
async function waitForConfirmations(
  node: NodeClient,
  txid: string,
  wanted: number,
  timeoutSec: number,
  progress: boolean,
): Promise<number> {
  const deadline = Date.now() + timeoutSec * 1000;
  let shown = -1;
  for (;;) {
    const status = await node.txStatus(txid);
    const confirmations = status?.confirmations ?? 0;
    if (progress && confirmations !== shown) {
      const where =
        status?.status === 'confirmed' ? ` (block ${status.height})` : status ? ' (in the mempool)' : '';
      process.stderr.write(`${confirmations}/${wanted} confirmations${where}\n`);
      shown = confirmations;
    }
    if (confirmations >= wanted) return confirmations;
    if (status === undefined) {
      throw new WalletError(
        'node-rejected',
        `transaction ${txid} is neither in the mempool nor in the chain of the node at ${node.url} any more (replaced by a conflicting spend, or evicted)`,
      );
    }
    if (Date.now() > deadline) {
      throw new WalletError(
        'timeout',
        `transaction ${txid} has ${confirmations} of ${wanted} confirmations after ${timeoutSec} s (it stays submitted; check with "chainmesh wallet history")`,
      );
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
}
