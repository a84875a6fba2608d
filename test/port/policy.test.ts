/**
 * Retry, pacing and token-cache policy as pure units, with a fake clock.
 */
import { describe, expect, it } from 'vitest';
import { refreshMarginMs, TokenCache } from '../../shared/port/auth.js';
import { RateLimitPacer } from '../../shared/port/pacing.js';
import {
  backoffMs,
  isRetryableNetworkError,
  isRetryableStatus,
  parseRateLimitResetMs,
  parseRetryAfterMs,
  retryDelay,
} from '../../shared/port/retry.js';

const now = Date.parse('2026-11-24T10:00:00Z');
const policy = { baseMs: 300, maxWaitMs: 60_000, random: () => 0.5 };

describe('retry policy', () => {
  it('retries throttling, timeouts and server errors only', () => {
    expect([408, 429, 500, 502, 503, 504].every(isRetryableStatus)).toBe(true);
    expect([400, 401, 403, 404, 409, 413, 422].some(isRetryableStatus)).toBe(false);
  });

  it('recognises network failures', () => {
    expect(isRetryableNetworkError(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }))).toBe(true);
    expect(isRetryableNetworkError(new Error('socket hang up'))).toBe(true);
    expect(isRetryableNetworkError(Object.assign(new Error('x'), { name: 'TimeoutError' }))).toBe(true);
    expect(isRetryableNetworkError(new TypeError('cannot read properties of undefined'))).toBe(false);
  });

  it('parses Retry-After as seconds or an HTTP date', () => {
    expect(parseRetryAfterMs('3', now)).toBe(3_000);
    expect(parseRetryAfterMs(new Date(now + 5_000).toUTCString(), now)).toBe(5_000);
    expect(parseRetryAfterMs('soon', now)).toBeUndefined();
    expect(parseRetryAfterMs(undefined, now)).toBeUndefined();
  });

  it('parses x-ratelimit-reset as epoch seconds above 10,000, else delta seconds', () => {
    expect(parseRateLimitResetMs(String(now / 1000 + 7), now)).toBe(7_000);
    expect(parseRateLimitResetMs('120', now)).toBe(120_000);
    expect(parseRateLimitResetMs(String(now / 1000 - 5), now)).toBe(0);
    expect(parseRateLimitResetMs('2026-11-24T10:00:02Z', now)).toBe(2_000);
  });

  it('prefers Retry-After, then x-ratelimit-reset on a 429, then capped jittered backoff', () => {
    expect(retryDelay({ 'retry-after': '2', 'x-ratelimit-reset': '9' }, 1, now, policy, 429)).toEqual({ waitMs: 2_000, serverAskedMs: 2_000 });
    expect(retryDelay({ 'x-ratelimit-reset': '9' }, 1, now, policy, 429)).toEqual({ waitMs: 9_000, serverAskedMs: 9_000 });
    // On a 503, the window reset says nothing about when the server recovers.
    expect(retryDelay({ 'x-ratelimit-reset': '9' }, 1, now, policy, 503).serverAskedMs).toBeUndefined();
    expect(retryDelay({ 'retry-after': '600' }, 1, now, policy, 429).waitMs).toBe(60_000);
    expect([1, 2, 3].map((a) => backoffMs(a, policy))).toEqual([300, 600, 1_200]);
    expect(backoffMs(1, { ...policy, random: () => 0 })).toBe(270);
    expect(backoffMs(1, { ...policy, random: () => 1 })).toBe(330);
    expect(backoffMs(20, policy)).toBe(60_000);
  });
});

describe('RateLimitPacer', () => {
  it('lets requests through until the window is used up, then waits for the reset', async () => {
    let clock = now;
    const pacer = new RateLimitPacer(() => clock, 0);
    await pacer.acquire();
    pacer.release({ 'x-ratelimit-remaining': '2', 'x-ratelimit-reset': String(now / 1000 + 1) });
    await pacer.acquire();
    await pacer.acquire();
    let third = false;
    const pending = pacer.acquire().then(() => (third = true));
    await new Promise((r) => setTimeout(r, 20));
    expect(third).toBe(false);
    clock = now + 1_000;
    await pending;
    expect(third).toBe(true);
    expect(pacer.pauses).toBe(1);
  });

  it('counts requests in flight against what is left', async () => {
    const pacer = new RateLimitPacer(() => now, 0);
    for (let i = 0; i < 4; i++) await pacer.acquire();
    // Three still in flight when Port says three are left: nothing more may start.
    pacer.release({ 'x-ratelimit-remaining': '3', 'x-ratelimit-reset': '1' });
    const controller = new AbortController();
    const blocked = pacer.acquire(controller.signal);
    controller.abort(new Error('aborted'));
    await expect(blocked).rejects.toThrow('aborted');
  });

  it('ignores responses without rate-limit headers', async () => {
    const pacer = new RateLimitPacer(() => now, 0);
    await pacer.acquire();
    pacer.release({});
    await pacer.acquire();
    expect(pacer.pauses).toBe(0);
  });
});

describe('TokenCache', () => {
  it('refreshes 60 s early, or 10 % early for short-lived tokens', () => {
    expect(refreshMarginMs(10_800_000)).toBe(60_000);
    expect(refreshMarginMs(10_000)).toBe(1_000);
  });

  it('shares one fetch, reuses the token until the margin, and ignores stale invalidations', async () => {
    let clock = now;
    let fetches = 0;
    const cache = new TokenCache(async () => {
      fetches++;
      await new Promise((r) => setTimeout(r, 5));
      return { accessToken: `t${fetches}`, expiresIn: 100, tokenType: 'Bearer' };
    }, () => clock);
    const headers = await Promise.all(Array.from({ length: 20 }, () => cache.authorization()));
    expect(new Set(headers)).toEqual(new Set(['Bearer t1']));
    clock += 89_000;
    expect(await cache.authorization()).toBe('Bearer t1');
    clock += 2_000;
    expect(await cache.authorization()).toBe('Bearer t2');
    cache.invalidate('Bearer t1');
    expect(await cache.authorization()).toBe('Bearer t2');
    cache.invalidate('Bearer t2');
    expect(await cache.authorization()).toBe('Bearer t3');
    expect(fetches).toBe(3);
  });
});
