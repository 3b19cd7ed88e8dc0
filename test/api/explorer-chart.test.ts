import { describe, expect, it } from 'vitest';
import { heightChart } from '../../src/api/explorer/chart.js';

/** The path's points in order, from its M/H/V commands. */
function pathPoints(svg: string): Array<[number, number]> {
  const d = /<path d="([^"]+)"/.exec(svg)?.[1] ?? '';
  const points: Array<[number, number]> = [];
  let x = 0;
  let y = 0;
  for (const [, cmd, args] of d.matchAll(/([MHV])([-0-9.,]+)/g)) {
    if (cmd === 'M') [x, y] = (args as string).split(',').map(Number) as [number, number];
    if (cmd === 'H') x = Number(args);
    if (cmd === 'V') y = Number(args);
    points.push([x, y]);
  }
  return points;
}

describe('height chart', () => {
  it('says it needs two blocks rather than drawing one point', () => {
    expect(heightChart([{ height: 0, time: 100 }]).text).toContain('needs at least two blocks');
  });

  it('draws a step line rising left to right, first and last height and time on the axes', () => {
    const svg = heightChart([
      { height: 1, time: 1000 },
      { height: 2, time: 1010 },
      { height: 3, time: 1040 },
    ]).text;
    const points = pathPoints(svg);
    expect(points[0]).toEqual([52, 156]); // lowest height at the left of the time axis
    expect(points.at(-1)).toEqual([548, 12]); // highest at the right end, top
    for (let i = 1; i < points.length; i++) {
      expect(points[i]![0]).toBeGreaterThanOrEqual(points[i - 1]![0]);
      expect(points[i]![1]).toBeLessThanOrEqual(points[i - 1]![1]);
    }
    expect(svg).toContain('>3</text>');
    expect(svg).toContain('>1</text>');
    expect(svg).toContain('1970-01-01 00:16:40 UTC');
    expect(svg).toContain('3 blocks');
  });

  it('blocks sharing one timestamp still draw (no division by zero)', () => {
    const svg = heightChart([
      { height: 5, time: 7 },
      { height: 6, time: 7 },
    ]).text;
    expect(svg).not.toContain('NaN');
    expect(svg).not.toContain('Infinity');
  });
});
