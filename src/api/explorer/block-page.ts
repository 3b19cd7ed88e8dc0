import { blockSize, isCoinbase, toDisplayHex, txid as txidOf, type Block } from '../../core/index.js';
import { html, type Html } from './escape.js';
import { formatAge, formatBytes, formatCoins, formatDelay, formatDifficulty, formatTime } from './format.js';
import { layout, section, type PageContext } from './layout.js';
import type { ExplorerNode } from './port.js';
import { totalOut } from './tx-page.js';

/** Transactions listed on a block page; the rest are counted (a 1 MB block may hold thousands). */
const TXS_SHOWN = 500;

function txList(block: Block): Html {
  const rows = block.txs.slice(0, TXS_SHOWN).map((tx, i) => {
    const id = txidOf(tx);
    return html`<tr>
      <td class="num">${i}</td>
      <td>
        <a class="mono" href="/explorer/tx/${id}">${id}</a>${
          isCoinbase(tx) ? html` <span class="muted">coinbase</span>` : ''
        }
      </td>
      <td class="num">${tx.inputs.length}</td>
      <td class="num">${tx.outputs.length}</td>
      <td class="num">${formatCoins(totalOut(tx))}</td>
    </tr>`;
  });
  const more = block.txs.length - TXS_SHOWN;
  return html`<div class="scroll">
      <table id="block-txs">
        <thead>
          <tr>
            <th class="num">#</th>
            <th>Txid</th>
            <th class="num">Inputs</th>
            <th class="num">Outputs</th>
            <th class="num">Out</th>
          </tr>
        </thead>
        <tbody>
          ${rows}
        </tbody>
      </table>
    </div>
    ${more > 0 ? html`<p class="muted">and ${more} more transactions.</p>` : ''}`;
}

/** A block by hash (on the best chain or a side branch); undefined when this node does not have it. */
export async function blockPage(
  node: ExplorerNode,
  ctx: PageContext,
  hash: string,
  nowMs: number,
): Promise<Html | undefined> {
  const { chain, params } = node;
  const entry = chain.getEntry(hash);
  const block = entry ? await chain.getBlock(hash) : undefined;
  if (!entry || !block) return undefined;
  const { header } = entry;
  const onBestChain = chain.getHashAtHeight(entry.height) === hash;
  const next = onBestChain ? chain.getHashAtHeight(entry.height + 1) : undefined;
  const seen = node.blockFirstSeen(hash);
  const main = html`<main>
    <section class="wide">
      <h1>Block ${entry.height} <span class="mono">${hash}</span></h1>
      <dl class="facts">
        <dt>Status</dt>
        <dd class="${onBestChain ? 'ok' : 'warn'}">
          ${
            onBestChain
              ? `on the best chain, ${chain.height - entry.height + 1} confirmations`
              : `not on the best chain (${entry.status})`
          }
        </dd>
        <dt>Time</dt>
        <dd>
          ${formatTime(header.time)} (<span data-time="${header.time}">${formatAge(header.time, nowMs)}</span
          >)
        </dd>
        <dt>First seen by this node</dt>
        <dd>
          ${
            seen === undefined
              ? html`<span class="muted">not recorded</span>`
              : html`${formatTime(Math.floor(seen / 1000))}, ${formatDelay(seen - header.time * 1000)} after
                its timestamp`
          }
        </dd>
        <dt>Previous</dt>
        <dd>
          ${
            entry.prevHash
              ? html`<a class="mono" href="/explorer/block/${entry.prevHash}">${entry.prevHash}</a>`
              : 'none (genesis)'
          }
        </dd>
        <dt>Next</dt>
        <dd>
          ${next ? html`<a class="mono" href="/explorer/block/${next}">${next}</a>` : html`<span class="muted">none yet</span>`}
        </dd>
        <dt>Transactions</dt>
        <dd>${block.txs.length}</dd>
        <dt>Size</dt>
        <dd>${formatBytes(blockSize(block))}</dd>
        <dt>Difficulty</dt>
        <dd>
          ${formatDifficulty(header.bits, params.powLimitBits)} (bits
          ${header.bits.toString(16).padStart(8, '0')})
        </dd>
        <dt>Nonce</dt>
        <dd>${header.nonce}</dd>
        <dt>Merkle root</dt>
        <dd class="mono">${toDisplayHex(header.merkleRoot)}</dd>
        <dt>Version</dt>
        <dd>${header.version}</dd>
      </dl>
    </section>
    <div class="wide">${section('Transactions', txList(block))}</div>
  </main>`;
  return layout(ctx, `Block ${entry.height}`, main);
}
