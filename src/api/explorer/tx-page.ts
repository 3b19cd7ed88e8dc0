import {
  isCoinbase,
  scriptToAddress,
  toDisplayHex,
  toHex,
  txid as txidOf,
  txSize,
  type NetworkParams,
  type Transaction,
} from '../../core/index.js';
import { html, type Html } from './escape.js';
import { formatBytes, formatCoins, formatFeeRate, nullData, printable, shortHash } from './format.js';
import { layout, section, type PageContext } from './layout.js';
import type { ExplorerNode } from './port.js';

/** Where an output's coins go: an address (linked), OP_RETURN data shown as text and hex, or the raw script. */
export function outputDestination(script: Uint8Array, params: NetworkParams): Html {
  const address = scriptToAddress(script, params);
  if (address) return html`<a class="mono" href="/explorer/address/${address}">${address}</a>`;
  const data = nullData(script);
  if (data) {
    return html`<span class="muted">OP_RETURN data</span> <code class="data-text">${printable(data)}</code>
      <div class="mono muted">${toHex(data)}</div>`;
  }
  return html`<span class="muted">script</span> <code>${toHex(script)}</code>`;
}

export function totalOut(tx: Transaction): bigint {
  return tx.outputs.reduce((sum, o) => sum + o.value, 0n);
}

function inputsTable(tx: Transaction): Html {
  if (isCoinbase(tx)) {
    const scriptSig = tx.inputs[0]?.scriptSig ?? new Uint8Array(0);
    return html`<p>
        Coinbase (new coins). Its script: <code class="data-text">${printable(scriptSig)}</code>
      </p>
      <div class="mono muted">${toHex(scriptSig)}</div>`;
  }
  const rows = tx.inputs.map((input, i) => {
    const prev = toDisplayHex(input.prevTxid);
    return html`<tr>
      <td class="num">${i}</td>
      <td><a class="mono" href="/explorer/tx/${prev}">${shortHash(prev)}</a>:${input.prevVout}</td>
      <td class="mono">${shortHash(toHex(input.scriptSig))}</td>
    </tr>`;
  });
  return html`<div class="scroll">
    <table>
      <thead>
        <tr>
          <th class="num">#</th>
          <th>Spends</th>
          <th>Script</th>
        </tr>
      </thead>
      <tbody>
        ${rows}
      </tbody>
    </table>
  </div>`;
}

function outputsTable(tx: Transaction, params: NetworkParams): Html {
  const rows = tx.outputs.map(
    (o, vout) =>
      html`<tr>
        <td class="num">${vout}</td>
        <td class="num">${formatCoins(o.value)}</td>
        <td>${outputDestination(o.scriptPubKey, params)}</td>
      </tr>`,
  );
  return html`<div class="scroll">
    <table id="outputs">
      <thead>
        <tr>
          <th class="num">#</th>
          <th class="num">Value</th>
          <th>To</th>
        </tr>
      </thead>
      <tbody>
        ${rows}
      </tbody>
    </table>
  </div>`;
}

/** A transaction from the mempool or the chain; undefined when this node has neither. */
export async function txPage(node: ExplorerNode, ctx: PageContext, txid: string): Promise<Html | undefined> {
  const { chain, mempool, params } = node;
  const pending = mempool.get(txid);
  let tx: Transaction;
  let status: Html;
  if (pending) {
    tx = pending;
    let fee: bigint | undefined;
    for (const e of mempool.entries()) {
      if (e.txid === txid) {
        fee = e.fee;
        break;
      }
    }
    status = html`<dt>Status</dt>
      <dd class="warn">in the mempool, unconfirmed</dd>
      ${
        fee === undefined
          ? ''
          : html`<dt>Fee</dt>
              <dd>${formatCoins(fee)} (${formatFeeRate(fee, txSize(tx))})</dd>`
      }`;
  } else {
    const found = await chain.findTx(txid);
    if (!found) return undefined;
    tx = found.tx;
    status = html`<dt>Status</dt>
      <dd class="ok">confirmed, ${chain.height - found.height + 1} confirmations</dd>
      <dt>Block</dt>
      <dd>
        <a href="/explorer/block/${found.blockHash}">${found.height}</a>
        <span class="mono">${found.blockHash}</span>
      </dd>`;
  }
  const main = html`<main>
    <section class="wide">
      <h1>Transaction <span class="mono">${txidOf(tx)}</span></h1>
      <dl class="facts">
        ${status}
        <dt>Size</dt>
        <dd>${formatBytes(txSize(tx))}</dd>
        <dt>Total out</dt>
        <dd>${formatCoins(totalOut(tx))}</dd>
        <dt>Version / lock time</dt>
        <dd>${tx.version} / ${tx.locktime}</dd>
      </dl>
    </section>
    ${section(`Inputs (${tx.inputs.length})`, inputsTable(tx))}
    ${section(`Outputs (${tx.outputs.length})`, outputsTable(tx, params))}
  </main>`;
  return layout(ctx, `Transaction ${shortHash(txid)}`, main);
}
