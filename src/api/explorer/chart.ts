import { html, type Html } from './escape.js';
import { formatDuration, formatTime } from './format.js';

export interface HeightPoint {
  readonly height: number;
  /** The block's own timestamp, unix seconds. */
  readonly time: number;
}

const WIDTH = 560;
const HEIGHT = 190;
const PAD = { left: 52, right: 12, top: 12, bottom: 34 };

/**
 * Height over time as an inline SVG drawn here (no chart library): one point
 * per block at its own timestamp, a step line through them, the axes labelled
 * with the first and last height and time. Block times may go backwards a
 * little (only the median time past must rise); the line follows them as they are.
 */
export function heightChart(points: readonly HeightPoint[]): Html {
  if (points.length < 2) return html`<p class="muted">The chart needs at least two blocks.</p>`;
  const times = points.map((p) => p.time);
  const t0 = Math.min(...times);
  const t1 = Math.max(...times);
  const h0 = (points[0] as HeightPoint).height;
  const h1 = (points[points.length - 1] as HeightPoint).height;
  const plotW = WIDTH - PAD.left - PAD.right;
  const plotH = HEIGHT - PAD.top - PAD.bottom;
  const x = (t: number) => PAD.left + (t1 === t0 ? plotW : ((t - t0) / (t1 - t0)) * plotW);
  const y = (h: number) => PAD.top + (h1 === h0 ? 0 : (1 - (h - h0) / (h1 - h0)) * plotH);
  let path = '';
  points.forEach((p, i) => {
    const px = x(p.time).toFixed(1);
    const py = y(p.height).toFixed(1);
    // A step: the height holds until the next block arrives.
    path += i === 0 ? `M${px},${py}` : `H${px}V${py}`;
  });
  const last = points[points.length - 1] as HeightPoint;
  const bottom = PAD.top + plotH;
  return html`<svg
    class="chart"
    viewBox="0 0 ${WIDTH} ${HEIGHT}"
    role="img"
    aria-label="Chain height from ${h0} to ${h1} over ${formatDuration((t1 - t0) * 1000)}"
  >
    <line x1="${PAD.left}" y1="${bottom}" x2="${WIDTH - PAD.right}" y2="${bottom}" stroke="#c4cbd4" />
    <line x1="${PAD.left}" y1="${PAD.top}" x2="${PAD.left}" y2="${bottom}" stroke="#c4cbd4" />
    <text x="${PAD.left - 6}" y="${PAD.top + 4}" text-anchor="end">${h1}</text>
    <text x="${PAD.left - 6}" y="${bottom}" text-anchor="end">${h0}</text>
    <text x="${PAD.left}" y="${HEIGHT - 16}">${formatTime(t0)}</text>
    <text x="${WIDTH - PAD.right}" y="${HEIGHT - 16}" text-anchor="end">${formatTime(t1)}</text>
    <text x="${PAD.left + plotW / 2}" y="${HEIGHT - 2}" text-anchor="middle">
      block time (UTC) · ${points.length} blocks
    </text>
    <path d="${path}" fill="none" stroke="#1f6feb" stroke-width="1.5" />
    <circle cx="${x(last.time).toFixed(1)}" cy="${y(last.height).toFixed(1)}" r="3" fill="#1f6feb" />
  </svg>`;
}
