import { addressToScript, type NetworkParams } from '../../core/index.js';
import type { ExplorerChain, ExplorerMempool } from './port.js';

/** Longest search term looked at; anything longer is refused before any lookup. */
export const MAX_SEARCH_CHARS = 128;

/** Where a search leads: a page to redirect to, or why nothing matched (with the HTTP status to answer). */
export type SearchResult =
  { readonly found: string } | { readonly status: 400 | 404; readonly message: string };

const HEIGHT = /^\d{1,10}$/;
const HASH = /^[0-9a-fA-F]{64}$/;
const BASE58 = /^[1-9A-HJ-NP-Za-km-z]{25,40}$/;

/**
 * A search box term, whatever people paste: a height, a block hash, a txid
 * (the same 64 hex characters: a block is tried first) or an address of this
 * network. Malformed terms get 400 and a message saying what is accepted;
 * well-formed terms that match nothing get 404 and say what was looked for.
 */
export async function resolveSearch(
  raw: unknown,
  chain: ExplorerChain,
  mempool: ExplorerMempool,
  params: NetworkParams,
): Promise<SearchResult> {
  if (typeof raw !== 'string' || raw.trim() === '') {
    return { status: 400, message: 'Type a block height, a block hash, a transaction id or an address.' };
  }
  if (raw.length > MAX_SEARCH_CHARS) {
    return {
      status: 400,
      message: `A search term has at most ${MAX_SEARCH_CHARS} characters; this one has ${raw.length}.`,
    };
  }
  const term = raw.trim();
  if (HEIGHT.test(term)) {
    const height = Number(term);
    if (height <= chain.height) return { found: `/explorer/block/${height}` };
    return {
      status: 404,
      message: `No block at height ${height} yet: this node's tip is at height ${chain.height}.`,
    };
  }
  if (HASH.test(term)) {
    const hash = term.toLowerCase();
    if (chain.getEntry(hash)) return { found: `/explorer/block/${hash}` };
    if (mempool.get(hash) || (await chain.findTx(hash))) return { found: `/explorer/tx/${hash}` };
    return {
      status: 404,
      message: `No block or transaction ${hash} on this node (its chain or its mempool).`,
    };
  }
  if (BASE58.test(term)) {
    try {
      addressToScript(term, params);
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      return { status: 400, message: `${term} is not an address of the ${params.name} network: ${why}.` };
    }
    return { found: `/explorer/address/${term}` };
  }
  return {
    status: 400,
    message:
      'Not a block height (digits), a block hash or transaction id (64 hex characters) or an address (Base58Check); nothing was looked up.',
  };
}
