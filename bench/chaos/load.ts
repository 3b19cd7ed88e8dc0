import type { ChaosCluster, Member } from './cluster.js';
import {
  OTHER_NETWORK_ID,
  badSignature,
  outpoint,
  overspend,
  payment,
  type BuiltTx,
  type Coin,
  type Wallet,
} from './payments.js';
import type { Rng } from './rng.js';

const FEE_PER_INPUT = 2_000n;
const COIN = 100_000_000n;
/** Depth at which a payment counts as settled: it must survive every later perturbation. */
export const DEEP_CONFIRMATIONS = 6;

export type InvalidKind = 'bad-signature' | 'overspend' | 'wrong-network';
export type PaymentStatus = 'pending' | 'confirmed' | 'deep' | 'conflicted' | 'lost';

export interface Payment {
  readonly txid: string;
  readonly hex: string;
  readonly inputs: string[];
  readonly submittedAt: number;
  status: PaymentStatus;
  /** The other half of a deliberate double spend. */
  conflictWith?: string;
  /** When it was first seen DEEP_CONFIRMATIONS deep. */
  deepAt?: number;
  lastBroadcast: number;
}

export interface UtxoReply {
  height: number;
  utxos: Array<{
    txid: string;
    vout: number;
    value: string;
    height: number;
    mature: boolean;
    spentInMempool: boolean;
  }>;
}

export interface LoadStats {
  submitted: number;
  refusedAtSubmit: Record<string, number>;
  unreachable: number;
  conflictPairs: number;
  invalidTried: Record<InvalidKind, number>;
  invalidRefused: Record<InvalidKind, number>;
  rebroadcasts: number;
}

interface Violations {
  violation(kind: string, detail: string): void;
}

/**
 * A steady load of payments between many wallets, with a share of invalid
 * ones (each must be refused) and of conflicting pairs (one output spent
 * twice, sent to two nodes: at most one may ever be confirmed). Like a real
 * wallet it rebroadcasts what is not confirmed yet, so a node killed with a
 * payment only in its mempool does not lose it.
 */
export class PaymentLoad {
  readonly payments = new Map<string, Payment>();
  /** Outputs the harness has spent in a submitted transaction: never spent again by a valid payment. */
  private readonly reserved = new Set<string>();
  /** Transactions of deliberate double spends: their outputs are not spent, so no payment depends on a loser. */
  private readonly conflictTxids = new Set<string>();
  readonly stats: LoadStats = {
    submitted: 0,
    refusedAtSubmit: {},
    unreachable: 0,
    conflictPairs: 0,
    invalidTried: { 'bad-signature': 0, overspend: 0, 'wrong-network': 0 },
    invalidRefused: { 'bad-signature': 0, overspend: 0, 'wrong-network': 0 },
    rebroadcasts: 0,
  };
  private trackCursor = 0;

  constructor(
    private readonly cluster: ChaosCluster,
    private readonly wallets: readonly Wallet[],
    private readonly rng: Rng,
    private readonly opts: { invalidShare: number; conflictShare: number },
    private readonly checks: Violations,
  ) {}

  /** One step of the load: a valid payment, an invalid one or a conflicting pair. */
  async step(): Promise<void> {
    const live = this.cluster.live();
    if (live.length === 0) return;
    const roll = this.rng.next();
    if (roll < this.opts.invalidShare) await this.invalid(live);
    else if (roll < this.opts.invalidShare + this.opts.conflictShare && live.length >= 2)
      await this.conflict(live);
    else await this.valid(live);
  }

  private async coinsOf(wallet: Wallet, node: Member, need: bigint): Promise<Coin[] | undefined> {
    let reply: UtxoReply | undefined;
    try {
      const res = await fetch(`${node.proc?.url}/utxo/${wallet.address}`, {
        signal: AbortSignal.timeout(5000),
      });
      if (!res.ok) return undefined;
      reply = (await res.json()) as UtxoReply;
    } catch {
      return undefined;
    }
    const usable = reply.utxos
      .filter(
        (u) =>
          u.mature && !u.spentInMempool && !this.reserved.has(outpoint(u)) && !this.conflictTxids.has(u.txid),
      )
      .map((u) => ({ txid: u.txid, vout: u.vout, value: BigInt(u.value) }))
      .sort((a, b) => (b.value > a.value ? 1 : b.value < a.value ? -1 : 0));
    const chosen: Coin[] = [];
    let total = 0n;
    for (const c of usable) {
      if (total >= need) break;
      chosen.push(c);
      total += c.value;
    }
    return total >= need && chosen.length > 0 ? chosen : undefined;
  }

  private pickPair(): [Wallet, Wallet] {
    const from = this.rng.pick(this.wallets);
    let to = this.rng.pick(this.wallets);
    if (to === from) to = this.wallets[(from.index + 1) % this.wallets.length] as Wallet;
    return [from, to];
  }

  private amount(): bigint {
    // 0.001 to 0.5 coin: wallets keep many coins of mixed sizes.
    return (COIN * BigInt(this.rng.int(1, 500))) / 1000n;
  }

  private async submit(
    node: Member,
    hex: string,
    headers: Record<string, string> = {},
  ): Promise<{ ok: boolean; code: string }> {
    try {
      const res = await fetch(`${node.proc?.url}/transactions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ tx: hex }),
        signal: AbortSignal.timeout(10_000),
      });
      const body = (await res.json().catch(() => ({}))) as { error?: string; code?: string };
      return { ok: res.ok, code: res.ok ? 'ok' : String(body.error ?? body.code ?? res.status) };
    } catch {
      return { ok: false, code: 'unreachable' };
    }
  }

  /** Tracks a payment a node accepted (its inputs reserved, counted as submitted) until it confirms. */
  record(built: BuiltTx, conflictWith?: string): Payment {
    for (const input of built.inputs) this.reserved.add(input);
    const p: Payment = {
      txid: built.txid,
      hex: built.hex,
      inputs: built.inputs,
      submittedAt: Date.now(),
      status: 'pending',
      lastBroadcast: Date.now(),
      ...(conflictWith ? { conflictWith } : {}),
    };
    this.payments.set(built.txid, p);
    this.stats.submitted++;
    return p;
  }

  private refused(code: string): void {
    if (code === 'unreachable') this.stats.unreachable++;
    else this.stats.refusedAtSubmit[code] = (this.stats.refusedAtSubmit[code] ?? 0) + 1;
  }

  private async valid(live: Member[]): Promise<void> {
    const node = this.rng.pick(live);
    const [from, to] = this.pickPair();
    const amount = this.amount();
    const coins = await this.coinsOf(from, node, amount + 2n * FEE_PER_INPUT);
    if (!coins) return;
    const built = payment(from, coins, to.address, amount);
    // Reserved before sending: a timeout may still have reached the node.
    for (const input of built.inputs) this.reserved.add(input);
    const result = await this.submit(node, built.hex);
    if (result.ok) this.record(built);
    else this.refused(result.code);
  }

  private async conflict(live: Member[]): Promise<void> {
    const [nodeA, nodeB] = this.rng.sample(live, 2) as [Member, Member];
    const [from, to] = this.pickPair();
    const other = this.rng.pick(this.wallets.filter((w) => w !== from && w !== to));
    const coins = await this.coinsOf(from, nodeA, COIN / 100n);
    const first = coins?.[0];
    if (!first) return;
    const txA = payment(from, [first], to.address, first.value / 2n);
    const txB = payment(from, [first], other.address, first.value / 3n);
    this.reserved.add(outpoint(first));
    this.conflictTxids.add(txA.txid);
    this.conflictTxids.add(txB.txid);
    this.stats.conflictPairs++;
    const [a, b] = await Promise.all([this.submit(nodeA, txA.hex), this.submit(nodeB, txB.hex)]);
    if (a.ok) this.record(txA, txB.txid);
    if (b.ok) this.record(txB, txA.txid);
  }

  private async invalid(live: Member[]): Promise<void> {
    const node = this.rng.pick(live);
    const kind = this.rng.pick<InvalidKind>(['bad-signature', 'overspend', 'wrong-network']);
    const [from, to] = this.pickPair();
    const coins = await this.coinsOf(from, node, COIN / 100n);
    if (!coins) return;
    const one = coins.slice(0, 1);
    const built =
      kind === 'bad-signature'
        ? badSignature(from, one, to.address, 1000n, FEE_PER_INPUT)
        : kind === 'overspend'
          ? overspend(from, one, to.address)
          : payment(from, one, to.address, 1000n);
    this.stats.invalidTried[kind]++;
    const headers: Record<string, string> =
      kind === 'wrong-network' ? { 'x-chainmesh-network': OTHER_NETWORK_ID } : {};
    const result = await this.submit(node, built.hex, headers);
    if (result.code === 'unreachable') return;
    if (result.ok) {
      this.checks.violation('invalid-accepted', `${node.name} accepted a ${kind} transaction ${built.txid}`);
      // It spends a real coin now: track it like any payment so the books stay right.
      this.record(built);
    } else {
      this.stats.invalidRefused[kind]++;
    }
  }

  /**
   * Looks up a bounded number of unsettled payments on a random live node; marks the deep ones,
   * and the confirmed ones that are not confirmed there any more pending again. Deep means
   * DEEP_CONFIRMATIONS deep on every live node, as the no-lost-payment invariant reads it: during
   * a partition one side can bury a payment 6 deep and still lose the reorg at the heal, and a
   * payment marked deep is never looked at (nor rebroadcast) again.
   */
  async track(maxLookups = 40): Promise<void> {
    const live = this.cluster.live();
    if (live.length === 0) return;
    const open = [...this.payments.values()].filter(
      (p) => p.status === 'pending' || p.status === 'confirmed',
    );
    if (open.length === 0) return;
    const node = this.rng.pick(live);
    for (let i = 0; i < Math.min(maxLookups, open.length); i++) {
      const p = open[(this.trackCursor + i) % open.length] as Payment;
      const state = await txState(node, p.txid);
      if (state === 'unreachable') continue;
      if (state?.status === 'confirmed') {
        const deep =
          state.confirmations >= DEEP_CONFIRMATIONS &&
          (await this.deepOnAll(
            live.filter((m) => m !== node),
            p.txid,
          ));
        p.status = deep ? 'deep' : 'confirmed';
        if (deep) p.deepAt = Date.now();
      } else if (p.status === 'confirmed') {
        // Its block lost a reorg (or this node has not seen it yet): unconfirmed again, so
        // rebroadcast it as a wallet does. Nodes do not relay what a reorg put back in their pool.
        p.status = 'pending';
      }
    }
    this.trackCursor += maxLookups;
  }

  /** Whether txid is DEEP_CONFIRMATIONS deep on each of the nodes (an unreachable one counts as not). */
  private async deepOnAll(nodes: readonly Member[], txid: string): Promise<boolean> {
    for (const m of nodes) {
      const state = await txState(m, txid);
      if (
        state === 'unreachable' ||
        state?.status !== 'confirmed' ||
        state.confirmations < DEEP_CONFIRMATIONS
      )
        return false;
    }
    return true;
  }

  /** Sends unconfirmed payments again (oldest first), as a wallet does. */
  async rebroadcast(olderThanMs = 10_000): Promise<void> {
    const live = this.cluster.live();
    if (live.length === 0) return;
    const now = Date.now();
    const due = [...this.payments.values()].filter(
      (p) => p.status === 'pending' && now - p.lastBroadcast > olderThanMs,
    );
    if (due.length === 0) return;
    const node = this.rng.pick(live);
    for (const p of due) {
      p.lastBroadcast = now;
      this.stats.rebroadcasts++;
      await this.submit(node, p.hex);
    }
  }

  /** Payments not yet deep, except losers of a double spend whose twin is already confirmed. */
  unsettled(): Payment[] {
    return [...this.payments.values()].filter((p) => {
      if (p.status === 'deep' || p.status === 'lost' || p.status === 'conflicted') return false;
      const twin = p.conflictWith ? this.payments.get(p.conflictWith) : undefined;
      return !(p.status === 'pending' && (twin?.status === 'confirmed' || twin?.status === 'deep'));
    });
  }
}

export async function txState(
  node: Member,
  txid: string,
): Promise<
  { status: 'confirmed' | 'mempool'; confirmations: number; blockHash?: string } | undefined | 'unreachable'
> {
  try {
    const res = await fetch(`${node.proc?.url}/transactions/${txid}`, { signal: AbortSignal.timeout(5000) });
    if (res.status === 404) return undefined;
    if (!res.ok) return 'unreachable';
    return (await res.json()) as {
      status: 'confirmed' | 'mempool';
      confirmations: number;
      blockHash?: string;
    };
  } catch {
    return 'unreachable';
  }
}
