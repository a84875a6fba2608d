/**
 * Caches Port's access token. Port keeps one active token per credential pair and hands the same one to every
 * caller until it expires, so the cache refreshes a little early and shares a single in-flight fetch.
 */

export interface AccessToken {
  /** The value for the Authorization header, e.g. `Bearer eyJ…`. */
  header: string;
  expiresAt: number;
}

export type FetchToken = (signal?: AbortSignal) => Promise<{ accessToken: string; expiresIn: number; tokenType?: string }>;

/** Refresh this long before expiry: 60 s, or 10 % of the lifetime for short-lived tokens. */
export function refreshMarginMs(lifetimeMs: number): number {
  return Math.min(60_000, lifetimeMs * 0.1);
}

export class TokenCache {
  // ES private fields: util.inspect and console.log do not show them, so printing a client shows no token.
  #current: AccessToken | undefined;
  #inFlight: Promise<AccessToken> | undefined;

  constructor(
    private readonly fetchToken: FetchToken,
    private readonly now: () => number = Date.now,
  ) {}

  /** A valid Authorization header value, fetching a token when there is none or it is about to expire. */
  async authorization(signal?: AbortSignal): Promise<string> {
    const token = this.#current;
    if (token && this.now() < token.expiresAt) return token.header;
    return (await this.refresh(signal)).header;
  }

  /**
   * Port rejected `rejectedHeader` (401). Drop it unless another caller already replaced it, so fifty requests
   * failing with the same stale token cause one refresh, not fifty.
   */
  invalidate(rejectedHeader: string): void {
    if (this.#current?.header === rejectedHeader) this.#current = undefined;
  }

  private refresh(signal?: AbortSignal): Promise<AccessToken> {
    // The shared fetch must not die with the first caller's abort signal: the others still want the token.
    this.#inFlight ??= this.fetchToken(undefined)
      .then(({ accessToken, expiresIn, tokenType }) => {
        const lifetimeMs = Math.max(0, expiresIn * 1000);
        const token: AccessToken = {
          header: `${tokenType && tokenType.trim() ? tokenType.trim() : 'Bearer'} ${accessToken}`,
          expiresAt: this.now() + lifetimeMs - refreshMarginMs(lifetimeMs),
        };
        this.#current = token;
        return token;
      })
      .finally(() => {
        this.#inFlight = undefined;
      });
    if (!signal) return this.#inFlight;
    return raceAbort(this.#inFlight, signal);
  }
}

function raceAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}
