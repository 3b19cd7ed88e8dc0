/** The explorer's stylesheet, served as a file (the Content-Security-Policy forbids inline styles). */
export const STYLESHEET = `
:root { --fg: #1d2430; --muted: #5b6675; --line: #dde2e8; --bg: #f6f7f9; --card: #fff; --accent: #1f6feb;
  --ok: #1a7f37; --warn: #9a6700; --bad: #cf222e; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); }
a { color: var(--accent); text-decoration: none; }
a:hover { text-decoration: underline; }
code, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12.5px; }
.top { display: flex; flex-wrap: wrap; gap: 12px 20px; align-items: center; padding: 10px 20px; background: #0d1117; color: #e6edf3; }
.top a.brand { color: #fff; font-weight: 600; font-size: 16px; }
.top .net { font-weight: 400; color: #8b949e; margin-left: 4px; }
.top .whoami { color: #8b949e; font-size: 12.5px; }
.top code { color: #c9d1d9; }
.search { display: flex; gap: 6px; margin-left: auto; flex: 1 1 340px; max-width: 560px; }
.search input { flex: 1; padding: 6px 10px; border: 1px solid #30363d; border-radius: 6px; background: #161b22; color: #e6edf3; }
.search button { padding: 6px 14px; border: 0; border-radius: 6px; background: var(--accent); color: #fff; cursor: pointer; }
main { max-width: 1200px; margin: 0 auto; padding: 16px 20px 8px; display: grid; gap: 16px; grid-template-columns: repeat(auto-fit, minmax(520px, 1fr)); }
main > .wide, main > .message { grid-column: 1 / -1; }
section { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 12px 16px; min-width: 0; }
h1 { font-size: 18px; margin: 0 0 8px; word-break: break-all; }
h2 { font-size: 15px; margin: 0 0 8px; }
h3 { font-size: 13px; margin: 12px 0 6px; color: var(--muted); }
table { width: 100%; border-collapse: collapse; }
th, td { text-align: left; padding: 4px 8px 4px 0; border-bottom: 1px solid var(--line); vertical-align: top; }
th { color: var(--muted); font-weight: 500; font-size: 12.5px; }
td.num, th.num { text-align: right; }
.scroll { overflow-x: auto; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; margin: 0; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; word-break: break-all; }
.stats { display: flex; flex-wrap: wrap; gap: 10px 28px; margin-bottom: 8px; }
.stat b { display: block; font-size: 20px; font-weight: 600; }
.stat span { color: var(--muted); font-size: 12.5px; }
.muted { color: var(--muted); }
.ok { color: var(--ok); }
.warn { color: var(--warn); }
.bad { color: var(--bad); font-weight: 600; }
tr.flag td { background: #fff5f5; }
.live { font-size: 12px; color: var(--muted); }
.live.on::before { content: "● "; color: var(--ok); }
.live.off::before { content: "● "; color: var(--bad); }
svg.chart { width: 100%; height: auto; display: block; }
svg.chart text { font-size: 11px; fill: #5b6675; }
.message p { font-size: 15px; }
pre.data { white-space: pre-wrap; word-break: break-all; margin: 0; }
footer { max-width: 1200px; margin: 0 auto; padding: 8px 20px 24px; color: var(--muted); font-size: 12.5px; }
`;
