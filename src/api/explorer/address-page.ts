import { addressToScript, p2pkhHash, toDisplayHex } from '../../core/index.js';
import { html, type Html } from './escape.js';
import { formatCoins, shortHash } from './format.js';
import { layout, section, type PageContext } from './layout.js';
import type { ExplorerNode } from './port.js';

/** Unspent outputs listed on an address page; the rest are counted and summed. */
const COINS_SHOWN = 200;
/** Confirmed transactions listed on an address page, newest first (the rest: GET /address/:address/history). */
const HISTORY_SHOWN = 50;

/**
 * An address: its confirmed balance (spendable and immature coinbase), what
 * the mempool is about to add or spend, its latest confirmed transactions
 * (from the address index) and its unspent outputs. `address` is already
 * checked to be one of this network.
 */
export async function addressPage(node: ExplorerNode, ctx: PageContext, address: string): Promise<Html> {
  const { chain, mempool, params } = node;
  const script = addressToScript(address, params);
  // One row more than shown says whether there are more.
  const history = await chain.getAddressTxs(p2pkhHash(script) as Uint8Array, HISTORY_SHOWN + 1, 0);
  const historyRows = history.slice(0, HISTORY_SHOWN).map((row) => {
    const txid = toDisplayHex(row.txid);
    const net = row.received - row.sent;
    return html`<tr>
      <td><a class="mono" href="/explorer/tx/${txid}">${shortHash(txid)}</a></td>
      <td class="num"><a href="/explorer/block/${row.height}">${row.height}</a></td>
      <td class="num">${chain.height - row.height + 1}</td>
      <td class="num ${net >= 0n ? 'ok' : 'warn'}">${net >= 0n ? '+' : '-'}${formatCoins(net >= 0n ? net : -net)}</td>
    </tr>`;
  });
  const coins = chain.getCoinsByScript(script).sort((a, b) => b.coin.height - a.coin.height);
  const immature = (height: number, coinbase: boolean) =>
    coinbase && chain.height + 1 - height < params.coinbaseMaturity;
  let spendable = 0n;
  let locked = 0n;
  for (const { coin } of coins) {
    if (immature(coin.height, coin.coinbase)) locked += coin.value;
    else spendable += coin.value;
  }
  const pending = mempool.pendingForScript(script);
  const incoming = pending.incoming.reduce((n, c) => n + c.value, 0n);
  const outgoing = pending.outgoing.reduce((n, c) => n + c.value, 0n);
  const rows = coins.slice(0, COINS_SHOWN).map(
    ({ txid, vout, coin }) =>
      html`<tr>
        <td><a class="mono" href="/explorer/tx/${txid}">${shortHash(txid)}</a>:${vout}</td>
        <td class="num">${formatCoins(coin.value)}</td>
        <td class="num"><a href="/explorer/block/${coin.height}">${coin.height}</a></td>
        <td>${coin.coinbase ? (immature(coin.height, true) ? 'coinbase, immature' : 'coinbase') : ''}</td>
      </tr>`,
  );
  const pendingRows = [
    ...pending.incoming.map(
      (c) =>
        html`<tr>
          <td><a class="mono" href="/explorer/tx/${c.txid}">${shortHash(c.txid)}</a>:${c.vout}</td>
          <td class="num ok">+${formatCoins(c.value)}</td>
        </tr>`,
    ),
    ...pending.outgoing.map(
      (c) =>
        html`<tr>
          <td><a class="mono" href="/explorer/tx/${c.txid}">${shortHash(c.txid)}</a></td>
          <td class="num warn">-${formatCoins(c.value)}</td>
        </tr>`,
    ),
  ];
  const main = html`<main>
    <section class="wide">
      <h1>Address <span class="mono">${address}</span></h1>
      <div class="stats">
        <div class="stat"><b id="balance">${formatCoins(spendable)}</b><span>confirmed, spendable</span></div>
        <div class="stat"><b>${formatCoins(locked)}</b><span>immature coinbase</span></div>
        <div class="stat">
          <b>${formatCoins(spendable + locked - outgoing + incoming)}</b
          ><span>once the mempool confirms</span>
        </div>
      </div>
    </section>
    ${section(
      `Unconfirmed (${pendingRows.length})`,
      pendingRows.length === 0
        ? html`<p class="muted">Nothing for this address in the mempool.</p>`
        : html`<table>
            <thead>
              <tr>
                <th>Transaction</th>
                <th class="num">Change</th>
              </tr>
            </thead>
            <tbody>
              ${pendingRows}
            </tbody>
          </table>`,
    )}
    ${section(
      'Transactions',
      historyRows.length === 0
        ? html`<p class="muted">No confirmed transaction on this node's chain.</p>`
        : html`<div class="scroll">
              <table id="history">
                <thead>
                  <tr>
                    <th>Transaction</th>
                    <th class="num">Height</th>
                    <th class="num">Confirmations</th>
                    <th class="num">In / out</th>
                  </tr>
                </thead>
                <tbody>
                  ${historyRows}
                </tbody>
              </table>
            </div>
            ${
              history.length > HISTORY_SHOWN
                ? html`<p class="muted">
                    The latest ${HISTORY_SHOWN}; all of them: <a href="/address/${address}/history">/address/${address}/history</a>.
                  </p>`
                : ''
            }`,
    )}
    ${section(
      `Unspent outputs (${coins.length})`,
      coins.length === 0
        ? html`<p class="muted">No unspent outputs: this address holds nothing on this node's chain.</p>`
        : html`<div class="scroll">
              <table id="utxos">
                <thead>
                  <tr>
                    <th>Output</th>
                    <th class="num">Value</th>
                    <th class="num">Height</th>
                    <th></th>
                  </tr>
                </thead>
                <tbody>
                  ${rows}
                </tbody>
              </table>
            </div>
            ${
              coins.length > COINS_SHOWN
                ? html`<p class="muted">and ${coins.length - COINS_SHOWN} more.</p>`
                : ''
            }`,
    )}
  </main>`;
  return layout(ctx, `Address ${address}`, main);
}
