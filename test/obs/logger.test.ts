import { describe, expect, it } from 'vitest';
import { createLogger, type LogFormat, type LogLevel } from '../../src/obs/logger.js';

function capture(level: LogLevel, format: LogFormat = 'json', silent = false) {
  const lines: string[] = [];
  const logger = createLogger({
    nodeId: 'abcdef0123456789',
    level,
    format,
    silent,
    destination: { write: (line: string) => lines.push(line) },
  });
  return { logger, lines };
}

describe('logger', () => {
  it('writes one JSON line per call: keys sorted at every depth, node id, level, message, ISO timestamp', () => {
    const { logger, lines } = capture('info');
    const before = Date.now();
    logger.info('block connected', {
      height: 3,
      hash: 'ff',
      amount: 10n,
      nested: { b: 1, a: [2, { d: 1, c: 2 }] },
    });
    expect(lines).toHaveLength(1);
    const line = lines[0] as string;
    expect(line.endsWith('}\n')).toBe(true);
    expect(line.indexOf('\n')).toBe(line.length - 1);
    const timestamp = (JSON.parse(line) as { timestamp: string }).timestamp;
    expect(timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(Date.parse(timestamp)).toBeGreaterThanOrEqual(before - 1);
    expect(line).toBe(
      `{"amount":"10","hash":"ff","height":3,"level":"info","message":"block connected",` +
        `"nested":{"a":[2,{"c":2,"d":1}],"b":1},"nodeId":"abcdef0123456789","timestamp":"${timestamp}"}\n`,
    );
  });

  it('drops undefined fields, writes null for non-finite numbers and "[Circular]" for a cycle, never throws', () => {
    const { logger, lines } = capture('debug');
    const cycle: Record<string, unknown> = { a: 1 };
    cycle.self = cycle;
    logger.debug('odd fields', {
      gone: undefined,
      nan: NaN,
      inf: Infinity,
      cycle,
      when: new Date(0),
      list: [undefined],
    });
    expect(JSON.parse(lines[0] as string)).toMatchObject({
      nan: null,
      inf: null,
      cycle: { a: 1, self: '[Circular]' },
      when: '1970-01-01T00:00:00.000Z',
      list: [null],
    });
    expect(lines[0]).not.toContain('gone');
  });

  it('a field cannot replace level, message or timestamp', () => {
    const { logger, lines } = capture('info');
    logger.warn('real', { level: 'fake', message: 'fake', timestamp: 'fake' });
    expect(JSON.parse(lines[0] as string)).toMatchObject({ level: 'warn', message: 'real' });
    expect(lines[0]).not.toContain('fake');
  });

  it('filters by level; silent writes nothing', () => {
    for (const [level, written] of [
      ['error', ['error']],
      ['warn', ['error', 'warn']],
      ['info', ['error', 'warn', 'info']],
      ['debug', ['error', 'warn', 'info', 'debug']],
    ] as const) {
      const { logger, lines } = capture(level);
      logger.error('e');
      logger.warn('w');
      logger.info('i');
      logger.debug('d');
      expect(lines.map((l) => (JSON.parse(l) as { level: string }).level)).toEqual(written);
      expect(logger.isDebugEnabled()).toBe(level === 'debug');
    }
    const { logger, lines } = capture('debug', 'json', true);
    logger.error('e');
    logger.debug('d');
    expect(lines).toEqual([]);
    expect(logger.isDebugEnabled()).toBe(false);
  });

  it('pretty: local time, coloured level, short node id, message, then key=value fields', () => {
    const { logger, lines } = capture('info', 'pretty');
    logger.info('peer joined', { peer: 'p1', height: 7, extra: { b: 1, a: 2 }, big: 5n });
    expect(lines[0]).toMatch(
      // eslint-disable-next-line no-control-regex
      /^\d\d:\d\d:\d\d\.\d{3} \x1b\[32minfo\x1b\[39m \[abcdef01\] peer joined peer=p1 height=7 extra=\{"b":1,"a":2\} big=5\n$/,
    );
  });
});
