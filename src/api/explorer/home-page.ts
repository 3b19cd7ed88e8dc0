import { ByteReader, HEADER_BYTES } from '../../core/index.js';
import type { PeerView } from '../../p2p/index.js';
import { heightChart, type HeightPoint } from './chart.js';
import { DISAGREES, type ClusterRow } from './cluster.js';
import { html, type Html } from './escape.js';
import {
  formatAge,
  formatBytes,
  formatCoins,
  formatDelay,
  formatDifficulty,
  formatFeeRate,
  formatTime,
  shortHash,
} from './format.js';
import { layout, section, type PageContext } from './layout.js';
import { rateAbove, type MempoolSummary, type PoolTx } from './mempool-summary.js';
import type { ExplorerNode } from './port.js';

/** Blocks in the recent-blocks table and in the height chart. */
export const RECENT_BLOCKS = 15;
export const CHART_BLOCKS = 120;
const PROJECTED_SHOWN = 10;

interface RecentBlock {
  readonly height: number;
  readonly hash: string;
  readonly time: number;
  readonly txCount: number;
  readonly bytes: number;
  readonly firstSeen: number | undefined;
}

export interface HomeData {
  readonly nowMs: number;
  readonly mempool: MempoolSummary;
  readonly cluster: readonly ClusterRow[];
  readonly sizes: BlockSizes;
}

/** Transactions and bytes of a block: what the recent-blocks table needs of its body. */
interface BlockSize {
  readonly txCount: number;
  readonly bytes: number;
}

/** Sizes of recently shown blocks (immutable per hash), so a page view reads no block from the store twice. */
export class BlockSizes {
  private readonly known = new Map<string, BlockSize>();

  constructor(private readonly max = 4 * RECENT_BLOCKS) {}

  async of(node: ExplorerNode, hash: string): Promise<BlockSize | undefined> {
    const cached = this.known.get(hash);
    if (cached) return cached;
    const raw = await node.chain.getRawBlock(hash);
    if (!raw) return undefined;
    // The transaction count is the varint after the header: no need to decode the whole block.
    const size = { txCount: new ByteReader(raw.subarray(HEADER_BYTES)).varint(), bytes: raw.length };
    this.known.set(hash, size);
    if (this.known.size > this.max) this.known.delete(this.known.keys().next().value as string);
    return size;
  }
}

async function recentBlocks(node: ExplorerNode, sizes: BlockSizes): Promise<RecentBlock[]> {
  const { chain } = node;
  const blocks: RecentBlock[] = [];
  for (let height = chain.height; height >= 0 && height > chain.height - RECENT_BLOCKS; height--) {
    const hash = chain.getHashAtHeight(height);
    const entry = hash ? chain.getEntry(hash) : undefined;
    const size = hash ? await sizes.of(node, hash) : undefined;
    if (!hash || !entry || !size) continue;
    blocks.push({ height, hash, time: entry.header.time, ...size, firstSeen: node.blockFirstSeen(hash) });
  }
  return blocks;
}

/** The last CHART_BLOCKS blocks; genesis only while it is alone (its time is a fixed date, not when the network began). */
function chartPoints(node: ExplorerNode): HeightPoint[] {
  const { chain } = node;
  const points: HeightPoint[] = [];
  for (
    let height = Math.max(chain.height > 1 ? 1 : 0, chain.height - CHART_BLOCKS + 1);
    height <= chain.height;
    height++
  ) {
    const hash = chain.getHashAtHeight(height);
    const entry = hash ? chain.getEntry(hash) : undefined;
    if (entry) points.push({ height, time: entry.header.time });
  }
  return points;
}

/** When this node first saw a block, and how long after the block's own timestamp that was. */
export function seenCells(time: number, firstSeen: number | undefined): Html {
  if (firstSeen === undefined)
    return html`<td class="muted">not recorded</td>
      <td></td>`;
  return html`<td>${formatTime(Math.floor(firstSeen / 1000))}</td>
    <td class="num">${formatDelay(firstSeen - time * 1000)}</td>`;
}

function tipSection(node: ExplorerNode, nowMs: number): Html {
  const tip = node.chain.tip;
  const { header } = tip;
  return section(
    html`Tip <span id="live" class="live">updates when a block arrives</span>`,
    html`<div class="stats">
        <div class="stat"><b id="tip-height">${tip.height}</b><span>height</span></div>
        <div class="stat">
          <b data-time="${header.time}">${formatAge(header.time, nowMs)}</b><span>age (block time)</span>
        </div>
        <div class="stat">
          <b>${formatDifficulty(header.bits, node.params.powLimitBits)}</b><span>difficulty</span>
        </div>
      </div>
      <dl class="facts">
        <dt>Hash</dt>
        <dd><a class="mono" id="tip-hash" href="/explorer/block/${tip.hash}">${tip.hash}</a></dd>
        <dt>Time</dt>
        <dd>${formatTime(header.time)}</dd>
        <dt>Chain work</dt>
        <dd class="mono">${tip.chainWork.toString(16)}</dd>
      </dl>`,
    'tip',
  );
}

function blocksSection(blocks: readonly RecentBlock[], nowMs: number): Html {
  const rows = blocks.map(
    (b) =>
      html`<tr>
        <td class="num"><a href="/explorer/block/${b.height}">${b.height}</a></td>
        <td><a class="mono" href="/explorer/block/${b.hash}">${shortHash(b.hash)}</a></td>
        <td><span data-time="${b.time}">${formatAge(b.time, nowMs)}</span></td>
        <td class="num">${b.txCount}</td>
        <td class="num">${formatBytes(b.bytes)}</td>
        ${seenCells(b.time, b.firstSeen)}
      </tr>`,
  );
  return section(
    'Recent blocks',
    html`<div class="scroll">
      <table id="recent-blocks">
        <thead>
          <tr>
            <th class="num">Height</th>
            <th>Hash</th>
            <th>Mined</th>
            <th class="num">Txs</th>
            <th class="num">Size</th>
            <th>First seen here</th>
            <th class="num">After its timestamp</th>
          </tr>
        </thead>
        <tbody>
          ${rows}
        </tbody>
      </table>
    </div>`,
    'blocks',
  );
}

function txRows(txs: readonly PoolTx[]): Html[] {
  return txs.map(
    (t) =>
      html`<tr>
        <td><a class="mono" href="/explorer/tx/${t.txid}">${shortHash(t.txid)}</a></td>
        <td class="num">${formatFeeRate(t.fee, t.size)}</td>
        <td class="num">${formatCoins(t.fee)}</td>
        <td class="num">${formatBytes(t.size)}</td>
      </tr>`,
  );
}

function mempoolSection(m: MempoolSummary): Html {
  const p = m.projected;
  const lowest = p.txs.reduce<PoolTx | undefined>((a, t) => (a && !rateAbove(a, t) ? a : t), undefined);
  const highest = p.txs.reduce<PoolTx | undefined>((a, t) => (a && rateAbove(a, t) ? a : t), undefined);
  const txTable = (txs: readonly PoolTx[]) =>
    html`<div class="scroll">
      <table>
        <thead>
          <tr>
            <th>Txid</th>
            <th class="num">Fee rate</th>
            <th class="num">Fee</th>
            <th class="num">Size</th>
          </tr>
        </thead>
        <tbody>
          ${txRows(txs)}
        </tbody>
      </table>
    </div>`;
  return section(
    'Mempool',
    html`<div class="stats">
        <div class="stat"><b id="mempool-count">${m.count}</b><span>transactions</span></div>
        <div class="stat"><b>${formatBytes(m.bytes)}</b><span>size</span></div>
      </div>
      <h3>Highest fee rates</h3>
      ${m.top.length === 0 ? html`<p class="muted">The mempool is empty.</p>` : txTable(m.top)}
      <h3>Projected next block (height ${p.height}, as the miner would build it now)</h3>
      <p id="projected">
        ${p.txs.length} ${p.txs.length === 1 ? 'transaction' : 'transactions'}, ${formatBytes(p.bytes)}, fees ${formatCoins(p.fees)}, reward
        ${formatCoins(p.reward)}${
          lowest && highest
            ? html`, fee rates ${formatFeeRate(lowest.fee, lowest.size)} to
              ${formatFeeRate(highest.fee, highest.size)}`
            : ''
        }.
      </p>
      ${p.txs.length > 0 ? txTable(p.txs.slice(0, PROJECTED_SHOWN)) : ''}
      ${p.txs.length > PROJECTED_SHOWN ? html`<p class="muted">and ${p.txs.length - PROJECTED_SHOWN} more.</p>` : ''}`,
    'mempool',
  );
}

function peersSection(peers: readonly PeerView[], nowMs: number): Html {
  const rows = peers.map(
    (p) =>
      html`<tr>
        <td><code>${p.nodeId.slice(0, 12)}</code></td>
        <td><code>${p.hostname}</code></td>
        <td class="${p.state === 'live' ? 'ok' : p.state === 'banned' ? 'bad' : 'warn'}">${p.state}</td>
        <td class="num">${p.height ?? '—'}</td>
        <td>${formatAge(Math.floor(p.lastSeen / 1000), nowMs)}</td>
      </tr>`,
  );
  return section(
    html`Peers <span class="muted">(${peers.length} known)</span>`,
    peers.length === 0
      ? html`<p class="muted">No peers known yet.</p>`
      : html`<div class="scroll">
          <table id="peers-table">
            <thead>
              <tr>
                <th>Node id</th>
                <th>Address</th>
                <th>State</th>
                <th class="num">Height</th>
                <th>Last seen</th>
              </tr>
            </thead>
            <tbody>
              ${rows}
            </tbody>
          </table>
        </div>`,
    'peers',
  );
}

function clusterSection(rows: readonly ClusterRow[]): Html {
  const reachable = rows.filter((r) => r.verdict !== 'unreachable');
  const agreeing = rows.filter((r) => r.verdict === 'same-tip').length;
  const disagreeing = rows.filter((r) => DISAGREES.has(r.verdict)).length;
  const summary =
    disagreeing > 0
      ? html`<p class="bad">
          ${disagreeing} of ${reachable.length} reachable nodes disagree with this node.
        </p>`
      : html`<p class="${agreeing === reachable.length ? 'ok' : 'warn'}">
          ${agreeing} of ${reachable.length} reachable nodes share this node's
          tip${reachable.length < rows.length ? html`; ${rows.length - reachable.length} not reachable` : ''}.
        </p>`;
  const body = rows.map((r) => {
    const flagged = DISAGREES.has(r.verdict);
    const cls = r.verdict === 'same-tip' ? 'ok' : flagged ? 'bad' : 'warn';
    return html`<tr class="${flagged ? 'flag' : ''}">
      <td><code>${r.hostname}</code>${r.self ? html` <span class="muted">(this node)</span>` : ''}</td>
      <td><code>${r.nodeId.slice(0, 12)}</code></td>
      <td class="num">${r.height ?? '—'}</td>
      <td>${r.tipHash ? html`<span class="mono">${shortHash(r.tipHash)}</span>` : '—'}</td>
      <td class="${cls}">${r.detail}</td>
    </tr>`;
  });
  return section(
    'Cluster',
    html`${summary}
      <div class="scroll">
        <table id="cluster-table">
          <thead>
            <tr>
              <th>Node</th>
              <th>Node id</th>
              <th class="num">Height</th>
              <th>Tip</th>
              <th>Compared with this node</th>
            </tr>
          </thead>
          <tbody>
            ${body}
          </tbody>
        </table>
      </div>
      <p class="muted">
        Every node in this node's peer book, asked for its <code>/info</code> by this node.
      </p>`,
    'cluster',
  );
}

/** The home page: tip, chart, recent blocks with when this node saw them, mempool, peers, cluster. */
export async function homePage(node: ExplorerNode, ctx: PageContext, data: HomeData): Promise<Html> {
  const { nowMs } = data;
  const blocks = await recentBlocks(node, data.sizes);
  const peers = node.p2p.peers().sort((a, b) => a.hostname.localeCompare(b.hostname));
  const main = html`<main data-live data-tip="${node.chain.tip.hash}">
    ${tipSection(node, nowMs)} ${section('Height over time', heightChart(chartPoints(node)), 'chart')}
    <div class="wide">${blocksSection(blocks, nowMs)}</div>
    ${mempoolSection(data.mempool)} ${peersSection(peers, nowMs)}
    <div class="wide">${clusterSection(data.cluster)}</div>
  </main>`;
  return layout(ctx, 'Explorer', main);
}
