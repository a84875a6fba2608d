/**
 * Proactive pacing from Port's `x-ratelimit-*` headers: once the requests left in the window would be used up by
 * what is already in flight, new requests wait for the window to reset instead of running into 429s.
 */
import { abortableSleep, parseRateLimitResetMs } from './retry.js';

type HeaderValue = string | string[] | undefined;

export class RateLimitPacer {
  /** Requests we may still start in the current window; Infinity until Port tells us otherwise. */
  private budget = Number.POSITIVE_INFINITY;
  private resetAt = 0;
  private inFlight = 0;
  /** Total time callers spent waiting here, for logs and tests. */
  pausedMs = 0;
  pauses = 0;

  constructor(
    private readonly now: () => number = Date.now,
    /** Slack added to the reset time, since Port reports it in whole seconds. */
    private readonly resetSlackMs = 50,
    /** Told about each pause, so a long one shows up in the logs instead of looking like a hang. */
    private readonly onPause: (waitMs: number) => void = () => {},
  ) {}

  /** Waits while the window is exhausted, then claims one request from the budget. */
  async acquire(signal?: AbortSignal): Promise<void> {
    for (;;) {
      const now = this.now();
      if (this.budget > 0 || now >= this.resetAt) break;
      const waitMs = this.resetAt - now + this.resetSlackMs;
      this.pauses++;
      this.pausedMs += waitMs;
      this.onPause(waitMs);
      await abortableSleep(waitMs, signal);
      if (this.now() >= this.resetAt) {
        // A fresh window: we no longer know how much is left until the next response says so.
        this.budget = Number.POSITIVE_INFINITY;
      }
    }
    this.budget--;
    this.inFlight++;
  }

  /** Call once per acquire, with the response headers when there was a response. */
  release(headers?: Record<string, HeaderValue>): void {
    this.inFlight = Math.max(0, this.inFlight - 1);
    if (headers) this.observe(headers);
  }

  private observe(headers: Record<string, HeaderValue>): void {
    const remainingRaw = headers['x-ratelimit-remaining'];
    const remaining = Number(Array.isArray(remainingRaw) ? remainingRaw[0] : remainingRaw);
    if (remainingRaw === undefined || !Number.isFinite(remaining)) return;
    const now = this.now();
    const resetInMs = parseRateLimitResetMs(headers['x-ratelimit-reset'], now);
    const resetAt = resetInMs === undefined ? now + 1000 : now + resetInMs;
    // Requests still in flight may not have been counted by Port yet, so assume they will be.
    const available = remaining - this.inFlight;
    if (Math.abs(resetAt - this.resetAt) < 1000) {
      // The same window: responses arrive out of order, and the lowest count is the freshest.
      this.budget = Math.min(this.budget, available);
    } else {
      // Another window (a newer one, or a server that moved its reset): believe the latest response.
      this.resetAt = resetAt;
      this.budget = available;
    }
  }
}
