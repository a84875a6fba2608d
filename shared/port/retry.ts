/**
 * When to retry a Port call and how long to wait. Pure functions, so the policy can be tested without a server.
 */

/** Statuses worth repeating: throttling, request timeout and server-side failures. */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

/** Socket-level failures where the request may not have reached Port, or its answer was lost. */
const RETRYABLE_NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'ESOCKETTIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'UND_ERR_SOCKET',
  'ERR_STREAM_PREMATURE_CLOSE',
]);

export function isRetryableNetworkError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && RETRYABLE_NETWORK_CODES.has(code)) return true;
  // got wraps timeouts as TimeoutError (code ETIMEDOUT) and hang-ups as RequestError with the socket's message.
  if (error.name === 'TimeoutError') return true;
  return /socket hang up|ECONNRESET|premature close/i.test(error.message);
}

/** Integers above this are epoch seconds; below it, seconds from now (Ocean's rule, since Port's docs and Terraform disagree). */
const EPOCH_THRESHOLD = 10_000;

type HeaderValue = string | string[] | undefined;
function first(value: HeaderValue): string | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  return v === undefined || v.trim() === '' ? undefined : v.trim();
}

/** `Retry-After`: delta seconds or an HTTP date. */
export function parseRetryAfterMs(value: HeaderValue, now: number): number | undefined {
  const v = first(value);
  if (v === undefined) return undefined;
  if (/^\d+(\.\d+)?$/.test(v)) return Math.round(Number(v) * 1000);
  const date = Date.parse(v);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

/** `x-ratelimit-reset`: epoch seconds, delta seconds, or an ISO date. Returns the wait in ms from `now`. */
export function parseRateLimitResetMs(value: HeaderValue, now: number): number | undefined {
  const v = first(value);
  if (v === undefined) return undefined;
  if (/^\d+(\.\d+)?$/.test(v)) {
    const n = Number(v);
    return n > EPOCH_THRESHOLD ? Math.max(0, Math.round(n * 1000 - now)) : Math.round(n * 1000);
  }
  const date = Date.parse(v);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

export interface BackoffPolicy {
  /** First backoff, doubled per attempt (Ocean uses 300 ms). */
  baseMs: number;
  /** No single wait is longer than this, whatever the server asks. */
  maxWaitMs: number;
  random: () => number;
}

/** Exponential backoff with ±10 % jitter; attempt counts from 1. */
export function backoffMs(attempt: number, policy: BackoffPolicy): number {
  const raw = policy.baseMs * 2 ** Math.max(0, attempt - 1);
  const jittered = raw * (0.9 + 0.2 * policy.random());
  return Math.min(policy.maxWaitMs, Math.round(jittered));
}

/**
 * How long to wait before the next attempt: what the server asked for (Retry-After, then x-ratelimit-reset),
 * else backoff. `serverAskedMs` is reported separately so errors can carry it.
 */
export function retryDelay(
  headers: Record<string, HeaderValue>,
  attempt: number,
  now: number,
  policy: BackoffPolicy,
  status?: number,
): { waitMs: number; serverAskedMs: number | undefined } {
  let asked = parseRetryAfterMs(headers['retry-after'], now);
  // x-ratelimit-reset is on every response; it only explains a wait when Port throttled us.
  if (asked === undefined && status === 429) asked = parseRateLimitResetMs(headers['x-ratelimit-reset'], now);
  if (asked !== undefined) return { waitMs: Math.min(policy.maxWaitMs, asked), serverAskedMs: asked };
  return { waitMs: backoffMs(attempt, policy), serverAskedMs: undefined };
}

/** A sleep that ends early, with the signal's reason, when the operation is aborted. */
export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(signal.reason);
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
