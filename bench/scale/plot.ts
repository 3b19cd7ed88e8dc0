/**
 * Dependency-free SVG plots for the scale reports (`make scale`, bench/results/scale.md).
 *
 * Shared module: the real-process scale bench (bench/scale/) draws its propagation CDFs and
 * per-N curves with it, and the simulator's report reuses it for its own plots, so keep its API
 * small and stable: `linePlot` (one or more x/y series, optional log-scaled x axis) and `cdfPlot`
 * (empirical CDFs of samples). Both return a complete standalone SVG document as a string; every
 * piece of text (title, labels, legend) is XML-escaped, so names taken from data are safe.
 */

/** One named series of points, drawn as a polyline with a marker on every point. */
export interface Series {
  name: string;
  points: ReadonlyArray<readonly [number, number]>;
}

export interface PlotOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  /** Log10 x axis (e.g. N = 10 … 10,000); every x must then be > 0. */
  xLog?: boolean;
  /** Force the y range to include 0 (default true: bars of growth read honestly from 0). */
  yFromZero?: boolean;
  width?: number;
  height?: number;
}

/** Escapes text for SVG element content and attribute values. */
export function escapeXml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

/** Colour-blind-safe palette (Okabe-Ito), cycled when there are more series. */
const PALETTE = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#000000', '#F0E442'];

const MARGIN = { left: 70, right: 20, top: 40, bottom: 55 };

/**
 * "Nice" tick values covering [min, max] (the first ≤ min, the last ≥ max): steps of 1, 2 or
 * 5 × 10^k, about `count` of them.
 */
export function niceTicks(min: number, max: number, count = 6): number[] {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return [];
  if (max === min) return [min];
  const rough = (max - min) / Math.max(1, count - 1);
  const power = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= rough) ?? 10 * power;
  const ticks: number[] = [];
  const first = Math.floor(min / step + 1e-9);
  const last = Math.ceil(max / step - 1e-9);
  for (let i = first; i <= last; i++) ticks.push(Number((i * step).toPrecision(12)));
  return ticks;
}

/** Powers of ten (and 2 × and 5 × when there are few decades) within [min, max], for a log axis. */
function logTicks(min: number, max: number): number[] {
  const ticks: number[] = [];
  const decades = Math.log10(max) - Math.log10(min);
  const multipliers = decades <= 2 ? [1, 2, 5] : [1];
  for (let e = Math.floor(Math.log10(min)); e <= Math.ceil(Math.log10(max)); e++) {
    for (const m of multipliers) {
      const v = m * 10 ** e;
      if (v >= min * (1 - 1e-9) && v <= max * (1 + 1e-9)) ticks.push(v);
    }
  }
  return ticks;
}

/** Short tick label: 1234 → "1,234", 0.25 → "0.25", 12000 → "12k". */
export function formatTick(v: number): string {
  if (Math.abs(v) >= 10_000) return `${Number((v / 1000).toPrecision(4))}k`;
  if (Number.isInteger(v)) return v.toLocaleString('en-US');
  return String(Number(v.toPrecision(3)));
}

/** Line plot of one or more series; x may be log-scaled. */
export function linePlot(series: readonly Series[], options: PlotOptions): string {
  const width = options.width ?? 640;
  const height = options.height ?? 400;
  const plotW = width - MARGIN.left - MARGIN.right;
  const plotH = height - MARGIN.top - MARGIN.bottom;
  const points = series.flatMap((s) => s.points).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
  if (options.xLog && points.some(([x]) => x <= 0)) throw new RangeError('linePlot: xLog needs every x > 0');

  let [xMin, xMax] = extent(
    points.map(([x]) => x),
    options.xLog ? 1 : 0,
    options.xLog ? 10 : 1,
  );
  let [yMin, yMax] = extent(
    points.map(([, y]) => y),
    0,
    1,
  );
  if (options.yFromZero ?? true) yMin = Math.min(0, yMin);
  const yTicks = niceTicks(yMin, yMax);
  yMin = Math.min(yMin, yTicks[0] ?? yMin);
  yMax = Math.max(yMax, yTicks.at(-1) ?? yMax);
  let xTicks: number[];
  if (options.xLog) {
    xTicks = logTicks(xMin, xMax);
  } else {
    xTicks = niceTicks(xMin, xMax);
    xMin = Math.min(xMin, xTicks[0] ?? xMin);
    xMax = Math.max(xMax, xTicks.at(-1) ?? xMax);
  }
  if (xMax === xMin) [xMin, xMax] = options.xLog ? [xMin / 2, xMax * 2] : [xMin - 1, xMax + 1];
  if (yMax === yMin) yMax = yMin + 1;

  const tx = options.xLog
    ? (x: number) =>
        MARGIN.left + ((Math.log10(x) - Math.log10(xMin)) / (Math.log10(xMax) - Math.log10(xMin))) * plotW
    : (x: number) => MARGIN.left + ((x - xMin) / (xMax - xMin)) * plotW;
  const ty = (y: number) => MARGIN.top + plotH - ((y - yMin) / (yMax - yMin)) * plotH;

  const parts: string[] = [];
  parts.push(...frame(width, height, options, plotW, plotH));
  for (const v of xTicks) parts.push(xTick(tx(v), plotH, formatTick(v)));
  for (const v of yTicks) parts.push(yTick(ty(v), plotW, formatTick(v)));
  series.forEach((s, i) => {
    const colour = PALETTE[i % PALETTE.length] ?? '#000';
    const drawn = s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
    const path = drawn.map(([x, y]) => `${tx(x).toFixed(1)},${ty(y).toFixed(1)}`).join(' ');
    if (drawn.length > 1) {
      parts.push(`<polyline fill="none" stroke="${colour}" stroke-width="2" points="${path}"/>`);
    }
    for (const [x, y] of drawn) {
      parts.push(`<circle cx="${tx(x).toFixed(1)}" cy="${ty(y).toFixed(1)}" r="3" fill="${colour}"/>`);
    }
  });
  parts.push(...legend(series, width));
  return wrap(width, height, options.title, parts);
}

/**
 * Empirical CDFs: for each series of samples, the share of samples ≤ x, drawn as a step line.
 * The y axis runs 0-100 %.
 */
export function cdfPlot(
  samples: ReadonlyArray<{ name: string; values: readonly number[] }>,
  options: Omit<PlotOptions, 'yFromZero'>,
): string {
  const series: Series[] = samples.map(({ name, values }) => {
    const sorted = values
      .filter(Number.isFinite)
      .slice()
      .sort((a, b) => a - b);
    const points: Array<[number, number]> = [];
    sorted.forEach((v, i) => {
      points.push([v, (i / sorted.length) * 100]);
      points.push([v, ((i + 1) / sorted.length) * 100]);
    });
    return { name: `${name} (n=${sorted.length})`, points };
  });
  return linePlotSteps(series, { ...options, yFromZero: true });
}

/** A line plot without point markers (the CDF's steps would otherwise be all markers). */
function linePlotSteps(series: readonly Series[], options: PlotOptions): string {
  return linePlot(series, options).replace(/<circle [^>]*\/>/g, '');
}

function extent(values: readonly number[], fallbackMin: number, fallbackMax: number): [number, number] {
  if (values.length === 0) return [fallbackMin, fallbackMax];
  return [Math.min(...values), Math.max(...values)];
}

function frame(width: number, height: number, options: PlotOptions, plotW: number, plotH: number): string[] {
  return [
    `<rect x="0" y="0" width="${width}" height="${height}" fill="#fff"/>`,
    `<text x="${width / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${escapeXml(options.title)}</text>`,
    `<rect x="${MARGIN.left}" y="${MARGIN.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#333"/>`,
    `<text x="${MARGIN.left + plotW / 2}" y="${height - 12}" text-anchor="middle" font-size="13">${escapeXml(options.xLabel)}</text>`,
    `<text transform="translate(16,${MARGIN.top + plotH / 2}) rotate(-90)" text-anchor="middle" font-size="13">${escapeXml(options.yLabel)}</text>`,
  ];
}

function xTick(x: number, plotH: number, label: string): string {
  const bottom = MARGIN.top + plotH;
  return (
    `<line x1="${x.toFixed(1)}" y1="${MARGIN.top}" x2="${x.toFixed(1)}" y2="${bottom}" stroke="#ddd"/>` +
    `<line x1="${x.toFixed(1)}" y1="${bottom}" x2="${x.toFixed(1)}" y2="${bottom + 5}" stroke="#333"/>` +
    `<text x="${x.toFixed(1)}" y="${bottom + 19}" text-anchor="middle" font-size="11">${escapeXml(label)}</text>`
  );
}

function yTick(y: number, plotW: number, label: string): string {
  return (
    `<line x1="${MARGIN.left}" y1="${y.toFixed(1)}" x2="${MARGIN.left + plotW}" y2="${y.toFixed(1)}" stroke="#ddd"/>` +
    `<line x1="${MARGIN.left - 5}" y1="${y.toFixed(1)}" x2="${MARGIN.left}" y2="${y.toFixed(1)}" stroke="#333"/>` +
    `<text x="${MARGIN.left - 8}" y="${(y + 4).toFixed(1)}" text-anchor="end" font-size="11">${escapeXml(label)}</text>`
  );
}

function legend(series: readonly Series[], width: number): string[] {
  return series.map((s, i) => {
    const colour = PALETTE[i % PALETTE.length] ?? '#000';
    const y = MARGIN.top + 14 + i * 16;
    const x = width - MARGIN.right - 150;
    return (
      `<line x1="${x}" y1="${y - 4}" x2="${x + 18}" y2="${y - 4}" stroke="${colour}" stroke-width="2"/>` +
      `<text x="${x + 24}" y="${y}" font-size="11">${escapeXml(s.name)}</text>`
    );
  });
}

function wrap(width: number, height: number, title: string, parts: string[]): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" role="img">`,
    `<title>${escapeXml(title)}</title>`,
    ...parts,
    '</svg>',
    '',
  ].join('\n');
}
