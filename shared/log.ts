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
const FORBIDDEN_KEYS =
  /^(authorization|claims|httprequest|clientsecret|client_secret|accesstoken|access_token|refresh_?token|id_?token|token|password|secret|cookie|set-cookie|x-api-key|api_?key|x-functions-key|accountkey|sharedaccesskey|sig|port_client_secret)$/i;
const REDACTED = '<redacted>';

/** Secrets that turn up inside text (error messages, URLs, headers copied into a message). */
const SECRET_IN_TEXT: [RegExp, string][] = [
  [/\bBearer\s+[A-Za-z0-9._~+/=-]+/gi, `Bearer ${REDACTED}`],
  [/\beyJ[A-Za-z0-9_-]+\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/g, REDACTED],
  [/([?&]sig=)[^&\s"']+/gi, `$1${REDACTED}`],
  [/((?:AccountKey|SharedAccessKey|SharedAccessSignature)=)[^;\s"']+/gi, `$1${REDACTED}`],
];

/** Below this depth values are replaced by a marker: the log line stays bounded and nothing deeper can leak. */
const MAX_DEPTH = 32;
const MAX_ARRAY_ITEMS = 50;

export function redactText(text: string): string {
  let out = text;
  for (const [pattern, replacement] of SECRET_IN_TEXT) out = out.replace(pattern, replacement);
  return out;
}

/**
 * A copy of `value` that JSON can write and that holds no secret or event PII: forbidden keys are redacted at any
 * depth, through arrays, Maps, Sets and Error causes; tokens inside strings are masked; cycles become
 * `[circular]`; anything nested deeper than 32 levels becomes `[nested too deep]` (never logged as is).
 */
export function sanitizeFields(value: unknown): unknown {
  return sanitize(value, 0, new Set());
}

function sanitizeEntries(keys: Iterable<unknown>, read: (key: unknown) => unknown, depth: number, ancestors: Set<object>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of keys) {
    const name = String(key);
    if (FORBIDDEN_KEYS.test(name)) {
      out[name] = REDACTED;
      continue;
    }
    try {
      out[name] = sanitize(read(key), depth + 1, ancestors);
    } catch {
      // A getter that throws: say so rather than fail the log call.
      out[name] = '[unreadable]';
    }
  }
  return out;
}

function sanitize(value: unknown, depth: number, ancestors: Set<object>): unknown {
  if (typeof value === 'string') return redactText(value);
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'function' || typeof value === 'symbol') return `[${typeof value}]`;
  if (value === null || typeof value !== 'object') return value;
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? 'Invalid Date' : value.toISOString();
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) return `[${value.byteLength} bytes]`;
  if (depth >= MAX_DEPTH) return '[nested too deep]';
  if (ancestors.has(value)) return '[circular]';
  ancestors.add(value);
  try {
    if (value instanceof Error) {
      return {
        name: value.name,
        message: redactText(value.message),
        ...(value.cause !== undefined ? { cause: sanitize(value.cause, depth + 1, ancestors) } : {}),
      };
    }
    if (Array.isArray(value)) return value.slice(0, MAX_ARRAY_ITEMS).map((item) => sanitize(item, depth + 1, ancestors));
    if (value instanceof Set) return [...value].slice(0, MAX_ARRAY_ITEMS).map((item) => sanitize(item, depth + 1, ancestors));
    if (value instanceof Map) return sanitizeEntries(value.keys(), (key) => value.get(key), depth, ancestors);
    const record = value as Record<string, unknown>;
    return sanitizeEntries(Object.keys(record), (key) => record[key as string], depth, ancestors);
  } catch {
    // A revoked proxy or an object whose keys cannot be listed.
    return '[unreadable]';
  } finally {
    ancestors.delete(value);
  }
}

export type LogSink = (level: LogLevel, message: string, fields: Record<string, unknown>) => void;

export function createLogger(sink: LogSink, minLevel: LogLevel = 'info', base: Record<string, unknown> = {}): Logger {
  const emit = (level: LogLevel) => (message: string, fields: Record<string, unknown> = {}) => {
    if (LEVEL_ORDER[level] < LEVEL_ORDER[minLevel]) return;
    sink(level, redactText(message), sanitizeFields({ ...base, ...fields }) as Record<string, unknown>);
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
