/**
 * One Port HTTP call with everything around it: token, pacing, concurrency limit, retries, error mapping and
 * request counting. PortClient builds the API operations on top of it.
 */
import http from 'node:http';
import type { LookupFunction } from 'node:net';
import https from 'node:https';
import got, { type Response } from 'got';
import pLimit, { type LimitFunction } from 'p-limit';
import { PermanentError, RetryableError } from '../errors.js';
import type { Logger } from '../log.js';
import type { PortRequestCounts, PortRequestKind } from './types.js';
import { TokenCache } from './auth.js';
import { RateLimitPacer } from './pacing.js';
import { attemptsFor, describeUnreachable } from '../network.js';
import { isRetryableNetworkError, isRetryableStatus, retryDelay, type BackoffPolicy } from './retry.js';

/** Retries against an unreachable host are logged as warnings at most this often (debug in between). */
const UNREACHABLE_WARN_INTERVAL_MS = 10_000;

export interface PortHttpOptions {
  apiUrl: string;
  clientId: string;
  clientSecret: string;
  maxConcurrency: number;
  requestTimeoutMs: number;
  /** Attempts per call, the first included. */
  retryMaxAttempts: number;
  /** Give up once this much time has gone into one call's retries. */
  maxRetryTimeMs: number;
  backoff: BackoffPolicy;
  userAgent: string;
  logger: Logger;
  now: () => number;
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Test hook: how host names resolve (tests make ENOTFOUND without asking a DNS server). */
  lookup?: LookupFunction;
}

export interface PortRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Path under the API URL with identifiers already encoded, e.g. `/v1/blueprints/a%2Fb`. */
  path: string;
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  kind: PortRequestKind;
  /** Statuses the caller handles itself instead of getting a PermanentError (e.g. 404 on a lookup, 413 to split). */
  acceptStatuses?: readonly number[];
  abortSignal?: AbortSignal;
}

export interface PortResponse<T = unknown> {
  status: number;
  body: T;
  traceId: string | undefined;
}

type Headers = Record<string, string | string[] | undefined>;

interface PortErrorBody {
  error?: unknown;
  message?: unknown;
}

const TOKEN_PATH = '/v1/auth/access_token';

export class PortHttp {
  private readonly tokens: TokenCache;
  private readonly pacer: RateLimitPacer;
  private readonly limit: LimitFunction;
  // Private too: pooled sockets keep a reference to the request in flight on them, Authorization header included.
  readonly #agents: { http: http.Agent; https: https.Agent };
  private readonly counts: Record<PortRequestKind, number> = { token: 0, search: 0, bulkUpsert: 0, delete: 0, other: 0 };
  private readonly baseUrl: string;
  private readonly host: string;
  private lastUnreachableWarnAt = Number.NEGATIVE_INFINITY;
  private readonly options: Omit<PortHttpOptions, 'clientSecret'>;
  // An ES private field: util.inspect and console.log do not show it, so printing a client shows no secret.
  readonly #credentials: { clientId: string; clientSecret: string };

  constructor({ clientSecret, ...options }: PortHttpOptions) {
    this.options = options;
    this.#credentials = { clientId: options.clientId, clientSecret };
    this.baseUrl = options.apiUrl.replace(/\/+$/, '');
    this.host = new URL(this.baseUrl).host;
    this.pacer = new RateLimitPacer(options.now, 50, (waitMs) => {
      const log = waitMs >= 5_000 ? options.logger.info : options.logger.debug;
      log('Port rate limit nearly used up; holding new requests until the window resets', { waitMs });
    });
    this.limit = pLimit(options.maxConcurrency);
    const agentOptions = { keepAlive: true, maxSockets: options.maxConcurrency + 2, ...(options.lookup ? { lookup: options.lookup } : {}) };
    this.#agents = { http: new http.Agent(agentOptions), https: new https.Agent(agentOptions) };
    this.tokens = new TokenCache((signal) => this.fetchToken(signal), options.now);
  }

  requestCounts(): PortRequestCounts {
    const c = this.counts;
    return { ...c, total: c.token + c.search + c.bulkUpsert + c.delete + c.other };
  }

  get pacing(): { pauses: number; pausedMs: number } {
    return { pauses: this.pacer.pauses, pausedMs: this.pacer.pausedMs };
  }

  /** Sends an authenticated request within the concurrency limit. */
  request<T>(req: PortRequest): Promise<PortResponse<T>> {
    return this.limit(() => this.withRetries<T>(req, true));
  }

  close(): void {
    this.#agents.http.destroy();
    this.#agents.https.destroy();
  }

  private async fetchToken(signal?: AbortSignal) {
    // Token fetches bypass the concurrency limit: they run on behalf of requests that already hold a slot.
    let res: PortResponse<{ accessToken?: unknown; expiresIn?: unknown; tokenType?: unknown }>;
    try {
      res = await this.withRetries(
        {
          method: 'POST',
          path: TOKEN_PATH,
          body: this.#credentials,
          kind: 'token',
          ...(signal ? { abortSignal: signal } : {}),
        },
        false,
      );
    } catch (error) {
      if (error instanceof PermanentError && (error.status === 401 || error.status === 403)) {
        // The one failure every new user meets: say which settings to fix, not just "401".
        throw new PermanentError(
          `Port refused the API credentials (${error.status}${error.code ? ` ${error.code}` : ''}): check PORT_CLIENT_ID and PORT_CLIENT_SECRET (Port → Credentials) and that PORT_API_URL ${this.baseUrl} is your organisation's region`,
          { source: 'port', status: error.status, code: error.code, traceId: error.traceId, operation: error.operation },
        );
      }
      throw error;
    }
    const { accessToken, expiresIn, tokenType } = res.body ?? {};
    if (typeof accessToken !== 'string' || typeof expiresIn !== 'number') {
      throw new PermanentError('Port token response has no accessToken/expiresIn', {
        source: 'port',
        status: res.status,
        traceId: res.traceId,
        operation: `POST ${TOKEN_PATH}`,
      });
    }
    return { accessToken, expiresIn, ...(typeof tokenType === 'string' ? { tokenType } : {}) };
  }

  private async withRetries<T>(req: PortRequest, authenticated: boolean): Promise<PortResponse<T>> {
    const { logger, now } = this.options;
    const operation = `${req.method} ${req.path}`;
    const started = now();
    let attempt = 0;
    let refreshedAfter401 = false;
    for (;;) {
      req.abortSignal?.throwIfAborted();
      attempt++;
      const authorization = authenticated ? await this.tokens.authorization(req.abortSignal) : undefined;
      await this.pacer.acquire(req.abortSignal);
      let response: Response<string> | undefined;
      try {
        response = await this.send(req, authorization);
      } catch (error) {
        this.pacer.release();
        if (req.abortSignal?.aborted) throw req.abortSignal.reason;
        const cause = withoutRequest(error);
        const unreachable = describeUnreachable(cause, this.host);
        const reason = unreachable ?? cause.message;
        if (!isRetryableNetworkError(error)) {
          throw new RetryableError(`Port ${operation} failed: ${reason}`, { source: 'port', operation, cause });
        }
        const { waitMs } = retryDelay({}, attempt, now(), this.options.backoff);
        const maxAttempts = attemptsFor(cause, this.options.retryMaxAttempts);
        if (!this.canRetry(attempt, started, waitMs, maxAttempts)) {
          throw new RetryableError(`Port ${operation} failed after ${attempt} attempt(s): ${reason}`, {
            source: 'port',
            operation,
            cause,
          });
        }
        // An unreachable host is worth a visible line (the CLI shows warnings), so nobody waits in silence.
        const visible = unreachable !== undefined && now() - this.lastUnreachableWarnAt >= UNREACHABLE_WARN_INTERVAL_MS;
        if (visible) this.lastUnreachableWarnAt = now();
        (visible ? logger.warn : logger.debug)(`Port request failed (${reason}); retrying`, {
          operation,
          attempt,
          maxAttempts,
          waitMs,
        });
        await this.options.sleep(waitMs, req.abortSignal);
        continue;
      }
      const headers = response.headers as Headers;
      this.pacer.release(headers);
      const status = response.statusCode;
      const traceId = headerValue(headers['x-trace-id']);
      const body = parseBody(response.body);

      if ((status >= 200 && status < 300) || req.acceptStatuses?.includes(status)) {
        return { status, body: body as T, traceId };
      }
      if (status === 401 && authenticated && authorization && !refreshedAfter401) {
        // Port can reject a token before our cache thinks it expired (revoked, or reissued elsewhere).
        refreshedAfter401 = true;
        this.tokens.invalidate(authorization);
        attempt--;
        logger.debug('Port rejected the access token; refreshing once', { operation, traceId });
        continue;
      }
      const { code, message } = describeError(body, status);
      if (isRetryableStatus(status)) {
        const { waitMs, serverAskedMs } = retryDelay(headers, attempt, now(), this.options.backoff, status);
        if (!this.canRetry(attempt, started, waitMs)) {
          throw new RetryableError(`Port ${operation} returned ${status} after ${attempt} attempt(s): ${message}`, {
            source: 'port',
            status,
            code,
            traceId,
            operation,
            ...(serverAskedMs !== undefined ? { retryAfterMs: serverAskedMs } : {}),
          });
        }
        logger.debug('Port request throttled or failed; retrying', { operation, status, attempt, waitMs, traceId });
        await this.options.sleep(waitMs, req.abortSignal);
        continue;
      }
      throw new PermanentError(`Port ${operation} returned ${status}: ${message}`, {
        source: 'port',
        status,
        code,
        traceId,
        operation,
      });
    }
  }

  private canRetry(attempt: number, started: number, waitMs: number, maxAttempts = this.options.retryMaxAttempts): boolean {
    if (attempt >= maxAttempts) return false;
    return this.options.now() - started + waitMs <= this.options.maxRetryTimeMs;
  }

  private send(req: PortRequest, authorization: string | undefined): Promise<Response<string>> {
    this.counts[req.kind]++;
    const url = new URL(this.baseUrl + req.path);
    for (const [k, v] of Object.entries(req.query ?? {})) {
      if (v !== undefined) url.searchParams.set(k, String(v));
    }
    const headers: Record<string, string> = { 'user-agent': this.options.userAgent, accept: 'application/json' };
    if (authorization) headers.authorization = authorization;
    return got(url, {
      method: req.method,
      headers,
      ...(req.body !== undefined ? { json: req.body } : {}),
      throwHttpErrors: false,
      retry: { limit: 0 },
      followRedirect: false,
      timeout: { request: this.options.requestTimeoutMs },
      agent: this.#agents,
      responseType: 'text',
      ...(req.abortSignal ? { signal: req.abortSignal } : {}),
    });
  }
}

/**
 * got's errors hold the request options: the Authorization header and, for the token request, the client secret.
 * Anything that prints an error with its cause (util.inspect, console.error, an unhandled rejection) would show
 * them, so errors leaving this module carry only the name, message and code.
 */
function withoutRequest(error: unknown): Error {
  if (!(error instanceof Error)) return new Error(String(error));
  const safe = new Error(error.message) as Error & { code?: string };
  safe.name = error.name;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') safe.code = code;
  return safe;
}

function headerValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

function parseBody(text: string): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** Port's `error` code and `message`, trimmed; never the request, which could hold secrets. */
function describeError(body: unknown, status: number): { code: string | undefined; message: string } {
  const b = (body && typeof body === 'object' ? body : {}) as PortErrorBody;
  const code = typeof b.error === 'string' ? b.error : undefined;
  const text = typeof b.message === 'string' ? b.message : typeof body === 'string' ? body.slice(0, 200) : '';
  const message = [code, text].filter(Boolean).join(': ') || `HTTP ${status}`;
  return { code, message };
}
