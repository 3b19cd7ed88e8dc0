import { describe, expect, it } from 'vitest';
import { cdfPlot, escapeXml, linePlot, niceTicks } from '../../bench/scale/plot.js';

describe('bench/scale/plot: dependency-free SVG plots', () => {
  it('escapes every piece of text taken from data', () => {
    expect(escapeXml(`<a href="x">&'`)).toBe('&lt;a href=&quot;x&quot;&gt;&amp;&apos;');
    const svg = linePlot([{ name: '<script>alert(1)</script>', points: [[1, 2]] }], {
      title: 'a & b',
      xLabel: 'N <nodes>',
      yLabel: 'ms',
    });
    expect(svg).not.toContain('<script>');
    expect(svg).toContain('&lt;script&gt;');
    expect(svg).toContain('a &amp; b');
    expect(svg).toContain('N &lt;nodes&gt;');
  });

  it('picks round ticks covering the range', () => {
    expect(niceTicks(0, 100)).toEqual([0, 20, 40, 60, 80, 100]);
    expect(niceTicks(0, 0.9)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(niceTicks(5, 5)).toEqual([5]);
  });

  it('draws one polyline per series, points inside the plot area, and log ticks at powers of ten', () => {
    const svg = linePlot(
      [
        {
          name: 'p50',
          points: [
            [10, 100],
            [100, 200],
            [1000, 300],
          ],
        },
        {
          name: 'p99',
          points: [
            [10, 150],
            [100, 400],
            [1000, 900],
          ],
        },
      ],
      { title: 't', xLabel: 'N', yLabel: 'ms', xLog: true },
    );
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trim().endsWith('</svg>')).toBe(true);
    expect(svg.match(/<polyline /g)).toHaveLength(2);
    for (const label of ['>10<', '>100<', '>1,000<']) expect(svg).toContain(label);
    const xs = [...svg.matchAll(/<circle cx="([\d.]+)" cy="([\d.]+)"/g)].map((m) => [
      Number(m[1]),
      Number(m[2]),
    ]);
    expect(xs).toHaveLength(6);
    for (const [x, y] of xs) {
      expect(x).toBeGreaterThanOrEqual(70);
      expect(x).toBeLessThanOrEqual(620);
      expect(y).toBeGreaterThanOrEqual(40);
      expect(y).toBeLessThanOrEqual(345);
    }
    expect(() =>
      linePlot([{ name: 'x', points: [[0, 1]] }], { title: 't', xLabel: 'x', yLabel: 'y', xLog: true }),
    ).toThrow(RangeError);
  });

  it('draws a CDF as steps from 0 to 100 % without markers', () => {
    const svg = cdfPlot([{ name: 'N=10', values: [3, 1, 2] }], { title: 'cdf', xLabel: 'ms', yLabel: '%' });
    expect(svg).toContain('N=10 (n=3)');
    expect(svg).not.toContain('<circle');
    const polyline = /<polyline [^>]*points="([^"]+)"/.exec(svg)?.[1] ?? '';
    expect(polyline.split(' ')).toHaveLength(6);
  });
});
