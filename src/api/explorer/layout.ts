import { html, type Content, type Html } from './escape.js';

/** Where the explorer's own files are served from (no CDN: the node serves everything the page loads). */
export const ASSET_PATHS = {
  script: '/explorer/app.js',
  style: '/explorer/style.css',
  icon: '/explorer/icon.svg',
} as const;

/** A chain of three blocks; served so browsers do not ask for a missing /favicon.ico. */
export const ICON_SVG =
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="6" fill="#0d1117"/>' +
  '<g fill="#1f6feb"><rect x="3" y="12" width="7" height="8" rx="1"/><rect x="12.5" y="12" width="7" height="8" rx="1"/>' +
  '<rect x="22" y="12" width="7" height="8" rx="1"/></g></svg>';

/**
 * Scripts and styles come only from this node's own files, never inline: a
 * value that escaped escaping still could not run. No frames, no forms
 * posting elsewhere, no plugins.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

export interface PageContext {
  readonly networkName: string;
  readonly nodeId: string;
  readonly advertiseAddr: string;
  readonly height: number;
}

/** The search box every page carries: a height, a block hash, a txid or an address. */
export function searchForm(value = ''): Html {
  return html`<form class="search" action="/explorer/search" method="get" role="search">
    <input
      type="search"
      name="q"
      value="${value}"
      maxlength="128"
      required
      placeholder="Height, block hash, txid or address"
      aria-label="Search"
      autocomplete="off"
    />
    <button type="submit">Search</button>
  </form>`;
}

/** The whole document: header with the node and the search box, then the page's main content. */
export function layout(ctx: PageContext, title: string, main: Html, search = ''): Html {
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>${title} · chainmesh ${ctx.networkName}</title>
        <link rel="icon" type="image/svg+xml" href="${ASSET_PATHS.icon}" />
        <link rel="stylesheet" href="${ASSET_PATHS.style}" />
        <script src="${ASSET_PATHS.script}" defer></script>
      </head>
      <body>
        <header class="top">
          <a class="brand" href="/">chainmesh <span class="net">${ctx.networkName}</span></a>
          <span class="whoami"
            >node <code>${ctx.nodeId.slice(0, 12)}</code> at <code>${ctx.advertiseAddr}</code></span
          >
          ${searchForm(search)}
        </header>
        ${main}
        <footer>
          Served by this node; read-only. JSON: <a href="/info">/info</a> · <a href="/peers">/peers</a> ·
          <a href="/mempool">/mempool</a> · <a href="/metrics">/metrics</a>
        </footer>
      </body>
    </html> `;
}

/** A titled section of a page. */
export function section(title: Content, body: Content, id?: string): Html {
  return html`<section${id ? html` id="${id}"` : ''}><h2>${title}</h2>${body}</section>`;
}

/** A page that only says what went wrong (unknown hash, malformed search), with the search box to try again. */
export function messagePage(ctx: PageContext, title: string, message: string, search = ''): Html {
  return layout(
    ctx,
    title,
    html`<main>
      <section class="message">
        <h1>${title}</h1>
        <p>${message}</p>
      </section>
    </main>`,
    search,
  );
}
