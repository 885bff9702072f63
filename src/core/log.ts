// The daemon's logger: one JSON object per line (machine-readable), or a human text format.
// Fields such as requestId, canary, phase and pid ride along through child loggers. Errors keep
// their stack; circular values, BigInts and throwing getters never break a line.

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error';
type LogFormat = 'json' | 'text';
export type LogFields = Record<string, unknown>;

const LEVEL_RANK: Record<LogLevel, number> = {
  trace: 10,
  debug: 20,
  info: 30,
  warn: 40,
  error: 50,
};

export interface Logger {
  trace(msg: string, fields?: LogFields): void;
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
  enabled(level: LogLevel): boolean;
}

export interface LoggerOptions {
  level: LogLevel;
  format: LogFormat;
  /** Text for journald (stderr is the journal: JOURNAL_STREAM is set): no timestamp, which the
   * journal adds, and each line prefixed with its syslog priority (<3> error … <7> debug), so
   * `journalctl -p warning` filters. */
  journal?: boolean;
  /** Where lines go; defaults to stderr. */
  write?: (line: string) => void;
  now?: () => Date;
}

/**
 * @example
 * const log = createLogger({ level: 'info', format: 'json' });
 * log.child({ requestId }).warn('launch refused', { status: 429 });
 */
export function createLogger(opts: LoggerOptions, bound: LogFields = {}): Logger {
  const sink: Sink = {
    threshold: LEVEL_RANK[opts.level],
    write: opts.write ?? toStderr,
    now: opts.now ?? (() => new Date()),
    render:
      opts.format === 'json'
        ? (record) => `${toJsonLine(record)}\n`
        : opts.journal
          ? journalText
          : (record) => formatText(record),
  };
  return new BoundLogger(sink, bound);
}

// Lines go out through console.error: synchronous like process.stderr.write (nothing is lost at
// exit, a full pipe stalls rather than drops) but without its cost: the first touch of
// process.stderr builds Node's stream stack, 4–8 ms of the daemon's start (bench/README.md,
// "Session 15"); console.error writes the string as it is (no %-formatting of a lone argument).
const toStderr = (line: string) => {
  console.error(line.endsWith('\n') ? line.slice(0, -1) : line);
};

// What every logger of one tree shares; a child is one small object (loggers are made per
// request, and most of their lines are below the level).
interface Sink {
  threshold: number;
  write: (line: string) => void;
  now: () => Date;
  render: (record: Record<string, unknown>) => string;
}

class BoundLogger implements Logger {
  constructor(
    private readonly sink: Sink,
    private readonly bound: LogFields,
  ) {}
  private emit(level: LogLevel, msg: string, fields?: LogFields) {
    if (LEVEL_RANK[level] < this.sink.threshold) return;
    const record = { time: this.sink.now().toISOString(), level, msg, ...this.bound, ...fields };
    this.sink.write(this.sink.render(record));
  }
  trace(msg: string, fields?: LogFields) {
    this.emit('trace', msg, fields);
  }
  debug(msg: string, fields?: LogFields) {
    this.emit('debug', msg, fields);
  }
  info(msg: string, fields?: LogFields) {
    this.emit('info', msg, fields);
  }
  warn(msg: string, fields?: LogFields) {
    this.emit('warn', msg, fields);
  }
  error(msg: string, fields?: LogFields) {
    this.emit('error', msg, fields);
  }
  child(fields: LogFields): Logger {
    return new BoundLogger(this.sink, { ...this.bound, ...fields });
  }
  enabled(level: LogLevel) {
    return LEVEL_RANK[level] >= this.sink.threshold;
  }
}

/** A JSON line that cannot throw: errors with name, message and stack, BigInt as text,
 * repeated (circular) objects as "[Circular]". */
function toJsonLine(record: Record<string, unknown>): string {
  // Most lines hold only text and numbers: JSON.stringify without a replacer takes its native
  // fast path, ~4× quicker than calling the replacer for each value (bench/README.md, "Session 15").
  if (flat(record)) return JSON.stringify(record);
  const seen = new WeakSet<object>();
  try {
    return JSON.stringify(record, (_key, value: unknown) => {
      if (typeof value === 'bigint') return value.toString();
      if (value instanceof Error) return describeError(value);
      if (typeof value === 'object' && value !== null) {
        if (seen.has(value)) return '[Circular]';
        seen.add(value);
      }
      return value;
    });
  } catch (err) {
    // A getter that throws, or a toJSON that does: keep the line, say what was lost.
    return JSON.stringify({
      time: record.time,
      level: record.level,
      msg: String(record.msg),
      logError: `fields could not be serialized: ${String(err)}`,
    });
  }
}

// Only strings, numbers, booleans, null and undefined: nothing the replacer would change.
function flat(record: Record<string, unknown>): boolean {
  for (const key in record) {
    const value = record[key];
    if (typeof value === 'object' ? value !== null : typeof value === 'bigint') return false;
  }
  return true;
}

function describeError(err: Error): Record<string, unknown> {
  const cause = err.cause instanceof Error ? { cause: describeError(err.cause) } : {};
  return { name: err.name, message: err.message, stack: err.stack, ...cause };
}

const PRIORITY: Record<string, number> = { error: 3, warn: 4, info: 6, debug: 7, trace: 7 };

// The text format without its time, each line with its syslog priority, for journald.
function journalText(record: Record<string, unknown>): string {
  const prefix = `<${PRIORITY[String(record.level)] ?? 6}>`;
  return formatText(record, false).replace(/^(?=.)/gm, prefix);
}

// logfmt-like: time level msg key=value …, values quoted when they hold spaces or quotes.
// An error's stack follows on indented lines, as a human reads it.
function formatText(record: Record<string, unknown>, withTime = true): string {
  const { time, level, msg, ...rest } = record;
  const parts = [
    ...(withTime ? [String(time)] : []),
    String(level).toUpperCase().padEnd(5),
    String(msg),
  ];
  const stacks: string[] = [];
  for (const [key, value] of Object.entries(rest)) {
    if (value === undefined) continue;
    let text: string;
    if (typeof value === 'string') text = value;
    else if (value instanceof Error) {
      text = value.message;
      if (value.stack) stacks.push(value.stack.replace(/^/gm, '    '));
    } else text = toJsonLine({ v: value }).slice(5, -1);
    parts.push(`${key}=${/[\s"=]/.test(text) || text === '' ? JSON.stringify(text) : text}`);
  }
  return `${[parts.join(' '), ...stacks].join('\n')}\n`;
}
