/**
 * A small structured logger. Functions adapt InvocationContext to it; the CLI writes JSON lines or text.
 * Fields that could carry secrets or personal data are dropped here, whatever the caller passes.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

const LEVEL_ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** Keys never logged, at any depth: credentials and event PII (claims, authorization, httpRequest). */
const FORBIDDEN_KEYS = /^(authorization|claims|httprequest|clientsecret|client_secret|accesstoken|access_token|token|password|secret|cookie|set-cookie|x-api-key|port_client_secret)$/i;

export function sanitizeFields(value: unknown, depth = 0): unknown {
  if (depth > 6 || value === null || typeof value !== 'object') return value;
  if (value instanceof Error) return { name: value.name, message: value.message };
  if (Array.isArray(value)) return value.slice(0, 50).map((v) => sanitizeFields(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] = FORBIDDEN_KEYS.test(k) ? '<redacted>' : sanitizeFields(v, depth + 1);
  }
  return out;
}

export type LogSink = (level: LogLevel, message: string, fields: Record<string, unknown>) => void;

export function createLogger(sink: LogSink, minLevel: LogLevel = 'info', base: Record<string, unknown> = {}): Logger {
  const emit = (level: LogLevel) => (message: string, fields: Record<string, unknown> = {}) => {
    if (LEVEL_ORDER[level] < LEVEL_ORDER[minLevel]) return;
    sink(level, message, sanitizeFields({ ...base, ...fields }) as Record<string, unknown>);
  };
  return { debug: emit('debug'), info: emit('info'), warn: emit('warn'), error: emit('error') };
}

/** JSON lines on stderr/stdout: what the CLI uses with --json and what tests capture. */
export function jsonLineSink(write: (line: string) => void = (l) => process.stderr.write(l + '\n')): LogSink {
  return (level, message, fields) => write(JSON.stringify({ time: new Date().toISOString(), level, message, ...fields }));
}

/** Collects log records in memory (tests, bench). */
export function memorySink(): LogSink & { records: { level: LogLevel; message: string; fields: Record<string, unknown> }[] } {
  const records: { level: LogLevel; message: string; fields: Record<string, unknown> }[] = [];
  const sink = ((level: LogLevel, message: string, fields: Record<string, unknown>) => {
    records.push({ level, message, fields });
  }) as LogSink & { records: typeof records };
  sink.records = records;
  return sink;
}

export const silentLogger: Logger = createLogger(() => {}, 'error');

/** What a host invocation offers for logging (the Functions InvocationContext has this shape). */
export interface InvocationLog {
  invocationId: string;
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/**
 * A Logger over a host invocation, so each line carries the invocation id in Application Insights. Fields go
 * through the same sanitising as every other logger (no claims, tokens or authorization).
 */
export function invocationLogger(context: InvocationLog, minLevel: LogLevel = 'info'): Logger {
  return createLogger(
    (level, message, fields) => {
      const line = Object.keys(fields).length > 0 ? `${message} ${JSON.stringify(fields)}` : message;
      if (level === 'error') context.error(line);
      else if (level === 'warn') context.warn(line);
      else if (level === 'debug') context.debug(line);
      else context.info(line);
    },
    minLevel,
    { invocationId: context.invocationId },
  );
}
