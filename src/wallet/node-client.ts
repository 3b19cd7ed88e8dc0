import { z } from 'zod';
import type { SpendableCoin } from './coin-selection.js';
import { WalletError } from './errors.js';
import { describeFetchFailure } from './fetch-failure.js';

const units = z.string().regex(/^-?\d{1,20}$/, 'a string of base units');
const txid = z.string().regex(/^[0-9a-f]{64}$/);

const infoSchema = z.object({
  networkName: z.enum(['demo', 'regtest']),
  height: z.number().int().nonnegative(),
  tipHash: txid,
  nodeId: z.string(),
});
export type NodeInfo = z.infer<typeof infoSchema>;

const utxoSchema = z.object({
  height: z.number().int().nonnegative(),
  utxos: z.array(
    z.object({
      txid,
      vout: z.number().int().nonnegative(),
      value: units,
      mature: z.boolean(),
      spentInMempool: z.boolean(),
    }),
  ),
});

const balanceSchema = z.object({
  height: z.number().int().nonnegative(),
  confirmed: units,
  immature: units,
  unconfirmed: units,
  spendable: units,
});
export interface Balance {
  readonly height: number;
  readonly confirmed: bigint;
  readonly immature: bigint;
  /** Net effect of the mempool: incoming − outgoing, may be negative. */
  readonly unconfirmed: bigint;
  readonly spendable: bigint;
}

const historySchema = z.object({
  height: z.number().int().nonnegative(),
  more: z.boolean(),
  txs: z.array(
    z.object({
      txid,
      status: z.enum(['confirmed', 'unconfirmed']),
      height: z.number().int().nonnegative().nullable(),
      confirmations: z.number().int().nonnegative(),
      time: z.number().int().nullable(),
      received: units,
      sent: units,
      net: units,
    }),
  ),
});
export interface HistoryEntry {
  readonly txid: string;
  readonly status: 'confirmed' | 'unconfirmed';
  readonly height: number | null;
  readonly confirmations: number;
  readonly time: number | null;
  readonly received: bigint;
  readonly sent: bigint;
  readonly net: bigint;
}

const txStatusSchema = z.object({
  txid,
  status: z.enum(['mempool', 'confirmed']),
  confirmations: z.number().int().nonnegative(),
  height: z.number().int().nonnegative().optional(),
  blockHash: txid.optional(),
});
export type TxStatus = z.infer<typeof txStatusSchema>;

const errorSchema = z.object({ error: z.string(), message: z.string().optional() });

/**
 * A node's HTTP API as the wallet uses it. Every failure says which node and
 * what went wrong: unreachable (and why: refused, unknown host, timeout), an
 * answer that is not what a chainmesh node sends, or a refusal with the node's code.
 */
export class NodeClient {
  readonly url: string;

  constructor(
    url: string,
    private readonly timeoutMs = 10_000,
  ) {
    this.url = url.replace(/\/+$/, '');
  }

  private async call<T>(path: string, schema: z.ZodType<T>, body?: unknown): Promise<T> {
    const target = `${this.url}${path}`;
    const what = `${body === undefined ? 'GET' : 'POST'} ${path.split('?')[0]}`;
    let res: Response;
    try {
      res = await fetch(target, {
        method: body === undefined ? 'GET' : 'POST',
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      throw new WalletError(
        'node-unreachable',
        `cannot reach the node at ${this.url}: ${describeFetchFailure(err, this.timeoutMs).reason}`,
      );
    }
    let text: string;
    try {
      text = await res.text();
    } catch (err) {
      throw new WalletError(
        'node-unreachable',
        `the node at ${this.url} broke off its answer to ${what}: ${describeFetchFailure(err, this.timeoutMs).reason}`,
      );
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new WalletError(
        'node-bad-answer',
        `the node at ${this.url} answered ${what} with ${res.status} and no JSON (is it a chainmesh node?): ${printable(text)}`,
      );
    }
    if (!res.ok) {
      const refusal = errorSchema.safeParse(json);
      if (refusal.success) {
        const message = refusal.data.message ? `: ${refusal.data.message}` : '';
        throw new WalletError(
          'node-rejected',
          `the node at ${this.url} refused ${what}: ${refusal.data.error}${message}`,
        );
      }
      throw new WalletError(
        'node-bad-answer',
        `the node at ${this.url} answered ${what} with ${res.status}: ${printable(text)}`,
      );
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new WalletError(
        'node-bad-answer',
        `the node at ${this.url} answered ${what} with JSON that is not a chainmesh answer (${issue?.path.join('.') || 'body'}: ${issue?.message ?? 'invalid'})`,
      );
    }
    return parsed.data;
  }

  info(): Promise<NodeInfo> {
    return this.call('/info', infoSchema);
  }

  /** Coins a payment can spend now: mature and not already spent by a pending transaction. */
  async spendableCoins(address: string): Promise<SpendableCoin[]> {
    const { utxos } = await this.call(`/utxo/${encodeURIComponent(address)}`, utxoSchema);
    return utxos
      .filter((u) => u.mature && !u.spentInMempool)
      .map((u) => ({ txid: u.txid, vout: u.vout, value: BigInt(u.value) }));
  }

  async balance(address: string): Promise<Balance> {
    const b = await this.call(`/address/${encodeURIComponent(address)}/balance`, balanceSchema);
    return {
      height: b.height,
      confirmed: BigInt(b.confirmed),
      immature: BigInt(b.immature),
      unconfirmed: BigInt(b.unconfirmed),
      spendable: BigInt(b.spendable),
    };
  }

  async history(
    address: string,
    limit: number,
    offset = 0,
  ): Promise<{ height: number; more: boolean; txs: HistoryEntry[] }> {
    const h = await this.call(
      `/address/${encodeURIComponent(address)}/history?limit=${limit}&offset=${offset}`,
      historySchema,
    );
    return {
      height: h.height,
      more: h.more,
      txs: h.txs.map((t) => ({
        ...t,
        received: BigInt(t.received),
        sent: BigInt(t.sent),
        net: BigInt(t.net),
      })),
    };
  }

  /** Submits a signed transaction; its txid once the node's mempool accepted it. */
  async submit(hex: string): Promise<string> {
    const answer = await this.call('/transactions', z.object({ txid }), { tx: hex });
    return answer.txid;
  }

  /** Where a transaction is: the mempool, a block (with confirmations), or nowhere this node knows (undefined). */
  async txStatus(id: string): Promise<TxStatus | undefined> {
    try {
      return await this.call(`/transactions/${id}`, txStatusSchema);
    } catch (err) {
      if (err instanceof WalletError && err.code === 'node-rejected' && / not-found/.test(err.message))
        return undefined;
      throw err;
    }
  }
}

function printable(text: string): string {
  const oneLine = text.replace(/\s+/g, ' ').trim();
  return JSON.stringify(oneLine.length > 80 ? `${oneLine.slice(0, 80)}…` : oneLine);
}
