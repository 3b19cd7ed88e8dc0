/** How often an open page asks the node for its tip (a few dozen bytes of JSON). */
export const POLL_INTERVAL_MS = 500;

/**
 * The explorer's only script, served by the node as a file (no build step, no
 * CDN). It never builds markup from data: a new tip makes it fetch the same
 * server-rendered (escaped) page and swap the live region in as parsed nodes.
 * It keeps ages ("12 s ago") current and polls `/explorer/tip`; while the tab
 * is hidden it does not poll.
 */
export const CLIENT_SCRIPT = `'use strict';
(() => {
  const POLL_MS = ${POLL_INTERVAL_MS};
  const units = [[86400, 'd'], [3600, 'h'], [60, 'min']];
  function age(sec) {
    const ms = Date.now() - sec * 1000;
    const abs = Math.abs(ms);
    let text;
    if (abs < 1000) return 'just now';
    if (abs < 60000) text = Math.floor(abs / 1000) + ' s';
    else for (const [size, unit] of units) if (abs >= size * 1000) { text = Math.floor(abs / size / 1000) + ' ' + unit; break; }
    return ms < 0 ? 'in ' + text : text + ' ago';
  }
  function tickAges() {
    for (const el of document.querySelectorAll('[data-time]')) {
      const sec = Number(el.getAttribute('data-time'));
      if (Number.isFinite(sec)) el.textContent = age(sec);
    }
  }
  function setLive(state, text) {
    const el = document.getElementById('live');
    if (!el) return;
    el.className = 'live ' + state;
    el.textContent = text;
  }
  let busy = false;
  async function refresh() {
    const res = await fetch(location.pathname + location.search, { cache: 'no-store' });
    if (!res.ok) throw new Error('page answered ' + res.status);
    const doc = new DOMParser().parseFromString(await res.text(), 'text/html');
    const fresh = doc.querySelector('main[data-live]');
    const current = document.querySelector('main[data-live]');
    if (fresh && current) current.replaceWith(document.adoptNode(fresh));
    tickAges();
  }
  async function poll() {
    const current = document.querySelector('main[data-live]');
    if (!current || busy || document.hidden) return;
    busy = true;
    try {
      const res = await fetch('/explorer/tip', { cache: 'no-store' });
      if (!res.ok) throw new Error('tip answered ' + res.status);
      const tip = await res.json();
      if (tip.hash !== current.getAttribute('data-tip')) await refresh();
      setLive('on', 'live · height ' + tip.height);
    } catch (err) {
      setLive('off', 'node not answering; retrying');
    } finally {
      busy = false;
    }
  }
  document.addEventListener('DOMContentLoaded', () => {
    tickAges();
    setInterval(tickAges, 1000);
    if (document.querySelector('main[data-live]')) {
      setInterval(poll, POLL_MS);
      void poll();
    }
  });
})();
`;
