// The daemon's logger: one JSON object per line (machine-readable), or a human text format.
// Fields such as requestId, canary, phase and pid ride along through child loggers.

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error';
export type LogFormat = 'json' | 'text';
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
  /** Where lines go; defaults to stderr. */
  write?: (line: string) => void;
  now?: () => Date;
}

export function createLogger(opts: LoggerOptions, bound: LogFields = {}): Logger {
  const threshold = LEVEL_RANK[opts.level];
  const write = opts.write ?? ((line: string) => process.stderr.write(line));
  const now = opts.now ?? (() => new Date());
  const emit = (level: LogLevel, msg: string, fields?: LogFields) => {
    if (LEVEL_RANK[level] < threshold) return;
    const record = { time: now().toISOString(), level, msg, ...bound, ...fields };
    write(opts.format === 'json' ? `${safeStringify(record)}\n` : formatText(record));
  };
  return {
    trace: (m, f) => emit('trace', m, f),
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (fields) => createLogger(opts, { ...bound, ...fields }),
    enabled: (level) => LEVEL_RANK[level] >= threshold,
  };
}

/** A logger that drops everything (tests, library defaults). */
export const silentLogger: Logger = createLogger({
  level: 'error',
  format: 'json',
  write: () => {},
});

function safeStringify(record: Record<string, unknown>): string {
  return JSON.stringify(record, (_key, value: unknown) =>
    value instanceof Error ? { name: value.name, message: value.message } : value,
  );
}

// logfmt-like: time level msg key=value …, values quoted when they hold spaces or quotes.
function formatText(record: Record<string, unknown>): string {
  const { time, level, msg, ...rest } = record;
  const parts = [String(time), String(level).toUpperCase().padEnd(5), String(msg)];
  for (const [key, value] of Object.entries(rest)) {
    if (value === undefined) continue;
    const text =
      typeof value === 'string'
        ? value
        : value instanceof Error
          ? value.message
          : JSON.stringify(value);
    parts.push(`${key}=${/[\s"=]/.test(text) || text === '' ? JSON.stringify(text) : text}`);
  }
  return `${parts.join(' ')}\n`;
}
