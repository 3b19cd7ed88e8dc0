export type LogFormat = 'json' | 'pretty';
export type LogLevel = 'error' | 'warn' | 'info' | 'debug';
/** Any object: its own enumerable keys become the line's fields (interfaces such as a block's summary included). */
export type LogFields = object;

export interface Logger {
  error(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  debug(message: string, fields?: LogFields): void;
  /** Lets a caller skip building fields for lines that would be dropped. */
  isDebugEnabled(): boolean;
}

/** Where lines go: stderr, or (tests) any stream. Each call gets one whole line. */
export interface LogDestination {
  write(line: string): unknown;
}

const RANK: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3 };
/** ANSI colours of the pretty format's level (those winston's npm levels used). */
const COLOURED: Record<LogLevel, string> = {
  error: '\x1b[31merror\x1b[39m',
  warn: '\x1b[33mwarn\x1b[39m',
  info: '\x1b[32minfo\x1b[39m',
  debug: '\x1b[34mdebug\x1b[39m',
};

/**
 * One logger per node. Every line carries the node id; block and transaction
 * hashes go in fields (`hash`, `txid`, `height`) so one block can be followed
 * across the logs of many nodes.
 *
 * Our own rather than winston: a relayed block costs a receiver a few log
 * lines, and winston's stream pipeline, format chain and stable stringify
 * were a fifth of its CPU per block. The JSON lines keep winston's shape
 * (keys sorted, ISO `timestamp`, bigint as a string) so log readers need no
 * change; a line is written synchronously, whole, to stderr.
 */
export function createLogger(opts: {
  nodeId: string;
  level: LogLevel;
  format: LogFormat;
  silent?: boolean;
  destination?: LogDestination;
}): Logger {
  const max = opts.silent === true ? -1 : RANK[opts.level];
  const out = opts.destination ?? process.stderr;
  const render = opts.format === 'json' ? jsonLine : prettyLine;
  const at =
    (level: LogLevel) =>
    (message: string, fields?: LogFields): void => {
      if (RANK[level] > max) return;
      out.write(render(opts.nodeId, level, message, fields) + '\n');
    };
  return {
    error: at('error'),
    warn: at('warn'),
    info: at('info'),
    debug: at('debug'),
    isDebugEnabled: () => max >= RANK.debug,
  };
}

/** Keys every line sets itself; a field of the same name does not replace them (nodeId it may, as in winston). */
const OWN_KEYS = new Set(['level', 'message', 'timestamp']);

function jsonLine(nodeId: string, level: LogLevel, message: string, fields: LogFields | undefined): string {
  const record: Record<string, unknown> = { nodeId };
  if (fields !== undefined)
    for (const key of Object.keys(fields))
      if (!OWN_KEYS.has(key)) record[key] = (fields as Record<string, unknown>)[key];
  record.level = level;
  record.message = message;
  record.timestamp = new Date().toISOString();
  return stableJson(record, new Set()) ?? '{}';
}

/**
 * JSON with object keys sorted at every depth, bigint as a quoted decimal,
 * a repeated ancestor as "[Circular]": the output of winston's json format
 * (safe-stable-stringify with logform's bigint replacer). `undefined` when
 * the value has no JSON form (dropped from objects, null in arrays).
 */
function stableJson(value: unknown, ancestors: Set<object>): string | undefined {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'number':
      return Number.isFinite(value) ? String(value) : 'null';
    case 'boolean':
      return value ? 'true' : 'false';
    case 'bigint':
      return `"${value.toString()}"`;
    case 'object':
      break;
    default:
      return undefined;
  }
  if (value === null) return 'null';
  const toJSON = (value as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === 'function') return stableJson((toJSON as () => unknown).call(value), ancestors);
  if (ancestors.has(value)) return '"[Circular]"';
  ancestors.add(value);
  let text: string;
  if (Array.isArray(value)) {
    text = `[${value.map((v: unknown) => stableJson(v, ancestors) ?? 'null').join(',')}]`;
  } else {
    const obj = value as Record<string, unknown>;
    const parts: string[] = [];
    for (const key of Object.keys(obj).sort()) {
      const v = stableJson(obj[key], ancestors);
      if (v !== undefined) parts.push(`${JSON.stringify(key)}:${v}`);
    }
    text = `{${parts.join(',')}}`;
  }
  ancestors.delete(value);
  return text;
}

function prettyLine(nodeId: string, level: LogLevel, message: string, fields: LogFields | undefined): string {
  let id = nodeId;
  let extra = '';
  if (fields !== undefined) {
    for (const key of Object.keys(fields)) {
      const v = (fields as Record<string, unknown>)[key];
      if (key === 'nodeId') id = String(v);
      else if (!OWN_KEYS.has(key))
        extra += ` ${key}=${typeof v === 'object' && v !== null ? inlineJson(v) : String(v)}`;
    }
  }
  return `${clock(new Date())} ${COLOURED[level]} [${id.slice(0, 8)}] ${message}${extra}`;
}

/** An object field of a pretty line as it was (insertion order); one JSON cannot hold (bigint, a cycle) still prints. */
function inlineJson(v: object): string {
  try {
    return JSON.stringify(v);
  } catch {
    return stableJson(v, new Set()) ?? '';
  }
}

/** HH:mm:ss.SSS local time, as the pretty format always had. */
function clock(d: Date): string {
  const two = (n: number) => (n < 10 ? `0${n}` : String(n));
  const ms = d.getMilliseconds();
  return `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}.${ms < 10 ? `00${ms}` : ms < 100 ? `0${ms}` : ms}`;
}
