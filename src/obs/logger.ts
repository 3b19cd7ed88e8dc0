import winston from 'winston';

export type LogFormat = 'json' | 'pretty';
export type LogLevel = 'error' | 'warn' | 'info' | 'debug';
export type Logger = winston.Logger;

/**
 * One logger per node. Every line carries the node id; block and transaction
 * hashes go in fields (`hash`, `txid`, `height`) so one block can be followed
 * across the logs of many nodes.
 */
export function createLogger(opts: {
  nodeId: string;
  level: LogLevel;
  format: LogFormat;
  silent?: boolean;
}): Logger {
  const format =
    opts.format === 'json'
      ? winston.format.combine(winston.format.timestamp(), winston.format.json())
      : winston.format.combine(
          winston.format.timestamp({ format: 'HH:mm:ss.SSS' }),
          winston.format.colorize(),
          winston.format.printf(({ timestamp, level, message, nodeId, ...fields }) => {
            const extra = Object.entries(fields)
              .map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
              .join(' ');
            return `${String(timestamp)} ${level} [${String(nodeId).slice(0, 8)}] ${String(message)}${extra ? ' ' + extra : ''}`;
          }),
        );
  return winston.createLogger({
    level: opts.level,
    defaultMeta: { nodeId: opts.nodeId },
    format,
    silent: opts.silent ?? false,
    transports: [new winston.transports.Console({ stderrLevels: ['error', 'warn', 'info', 'debug'] })],
  });
}
