/**
 * Retry waits (shared/port/retry.ts) and queue-body decoding (shared/sync/events/decode.ts), boundary by boundary.
 * test/port/policy.test.ts and test/events/message.test.ts cover the main cases; these pin the edges a small change
 * would move: which statuses and socket errors retry, the epoch/delta threshold, header forms, the abortable sleep,
 * each decode reason and the size and depth limits.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  abortableSleep,
  backoffMs,
  isRetryableNetworkError,
  isRetryableStatus,
  parseRateLimitResetMs,
  parseRetryAfterMs,
  retryDelay,
} from '../../shared/port/retry.js';
import { MAX_MESSAGE_BYTES, decodeBody, sizeOf, utf8Bytes } from '../../shared/sync/events/decode.js';

const now = Date.parse('2026-11-24T10:00:00Z');
const policy = { baseMs: 300, maxWaitMs: 60_000, random: () => 0.5 };
const netError = (code: string, message = 'x') => Object.assign(new Error(message), { code });

describe('isRetryableStatus', () => {
  it('408, 429 and every status from 500 up; nothing else', () => {
    expect(isRetryableStatus(408)).toBe(true);
    expect(isRetryableStatus(429)).toBe(true);
    expect(isRetryableStatus(500)).toBe(true);
    expect(isRetryableStatus(599)).toBe(true);
    for (const s of [200, 304, 400, 407, 409, 428, 430, 499]) expect(isRetryableStatus(s), String(s)).toBe(false);
  });
});

describe('isRetryableNetworkError', () => {
  it('every socket-level code that may have lost the request or its answer', () => {
    for (const code of [
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
    ]) {
      expect(isRetryableNetworkError(netError(code)), code).toBe(true);
    }
  });

  it('not other codes, not a non-string code, not a non-Error', () => {
    expect(isRetryableNetworkError(netError('EACCES'))).toBe(false);
    expect(isRetryableNetworkError(netError(''))).toBe(false);
    expect(isRetryableNetworkError(Object.assign(new Error('x'), { code: 104 }))).toBe(false);
    expect(isRetryableNetworkError({ code: 'ECONNRESET', name: 'TimeoutError', message: 'socket hang up' })).toBe(false);
    expect(isRetryableNetworkError('ECONNRESET')).toBe(false);
    expect(isRetryableNetworkError(undefined)).toBe(false);
  });

  it('a TimeoutError by name, or a message naming a hang-up, a reset or a premature close (any casing)', () => {
    expect(isRetryableNetworkError(Object.assign(new Error('took too long'), { name: 'TimeoutError' }))).toBe(true);
    expect(isRetryableNetworkError(Object.assign(new Error('took too long'), { name: 'AbortError' }))).toBe(false);
    expect(isRetryableNetworkError(new Error('Socket Hang Up'))).toBe(true);
    expect(isRetryableNetworkError(new Error('read econnreset'))).toBe(true);
    expect(isRetryableNetworkError(new Error('Premature close'))).toBe(true);
    expect(isRetryableNetworkError(new Error('socket closed'))).toBe(false);
  });
});

describe('parseRetryAfterMs', () => {
  it('delta seconds, fractional ones rounded to ms, surrounding blanks ignored', () => {
    expect(parseRetryAfterMs('0', now)).toBe(0);
    expect(parseRetryAfterMs('1.5', now)).toBe(1_500);
    expect(parseRetryAfterMs('0.0004', now)).toBe(0);
    expect(parseRetryAfterMs('  2  ', now)).toBe(2_000);
  });

  it('the first of repeated headers', () => {
    expect(parseRetryAfterMs(['4', '9'], now)).toBe(4_000);
    expect(parseRetryAfterMs([], now)).toBeUndefined();
  });

  it('an HTTP date: the time until it, never negative', () => {
    expect(parseRetryAfterMs(new Date(now + 5_000).toUTCString(), now)).toBe(5_000);
    expect(parseRetryAfterMs(new Date(now - 5_000).toUTCString(), now)).toBe(0);
  });

  it('blank or malformed values are not a wait; the number must be the whole value', () => {
    for (const v of ['', '   ', '3s', 'soon', 'v2', 'x3']) expect(parseRetryAfterMs(v, now), JSON.stringify(v)).toBeUndefined();
    expect(parseRetryAfterMs('1.25', now)).toBe(1_250);
    expect(parseRetryAfterMs('12.5', now)).toBe(12_500);
  });
});

describe('parseRateLimitResetMs', () => {
  it('above 10,000 an epoch in seconds, at or below it a delta in seconds', () => {
    expect(parseRateLimitResetMs('10000', now)).toBe(10_000_000);
    expect(parseRateLimitResetMs('10001', now)).toBe(0);
    expect(parseRateLimitResetMs(String(now / 1000 + 7.25), now)).toBe(7_250);
    expect(parseRateLimitResetMs('1.5', now)).toBe(1_500);
    expect(parseRateLimitResetMs(' 3 ', now)).toBe(3_000);
  });

  it('an ISO date: the time until it, never negative; the first of repeated headers; junk is no wait', () => {
    expect(parseRateLimitResetMs(new Date(now + 2_000).toISOString(), now)).toBe(2_000);
    expect(parseRateLimitResetMs(new Date(now - 2_000).toISOString(), now)).toBe(0);
    expect(parseRateLimitResetMs(['5', '50'], now)).toBe(5_000);
    for (const v of [undefined, '', ' ', 'later', '5s', 'v5', 'x3']) expect(parseRateLimitResetMs(v, now), JSON.stringify(v)).toBeUndefined();
    expect(parseRateLimitResetMs('2.25', now)).toBe(2_250);
  });
});

describe('backoffMs and retryDelay', () => {
  it('doubles from the base per attempt, attempt 0 or below counts as 1, jitter within ±10 %, capped', () => {
    expect(backoffMs(0, policy)).toBe(300);
    expect(backoffMs(-3, policy)).toBe(300);
    expect(backoffMs(4, policy)).toBe(2_400);
    expect(backoffMs(2, { ...policy, random: () => 0 })).toBe(540);
    expect(backoffMs(2, { ...policy, random: () => 1 })).toBe(660);
    expect(backoffMs(2, { ...policy, random: () => 0.25 })).toBe(570);
    expect(backoffMs(9, { ...policy, maxWaitMs: 70_000 })).toBe(70_000);
    expect(backoffMs(8, { ...policy, maxWaitMs: 1e9 })).toBe(38_400);
  });

  it('the server\'s ask wins and is reported; it is capped by maxWaitMs; a zero ask is honoured', () => {
    expect(retryDelay({ 'retry-after': '0' }, 3, now, policy, 503)).toEqual({ waitMs: 0, serverAskedMs: 0 });
    expect(retryDelay({ 'retry-after': '120' }, 1, now, policy, 503)).toEqual({ waitMs: 60_000, serverAskedMs: 120_000 });
    expect(retryDelay({ 'x-ratelimit-reset': '0' }, 2, now, policy, 429)).toEqual({ waitMs: 0, serverAskedMs: 0 });
  });

  it('Retry-After wins over x-ratelimit-reset, also on a 429', () => {
    expect(retryDelay({ 'retry-after': '2', 'x-ratelimit-reset': '9' }, 1, now, policy, 429)).toEqual({ waitMs: 2_000, serverAskedMs: 2_000 });
    expect(retryDelay({ 'retry-after': '0', 'x-ratelimit-reset': '9' }, 1, now, policy, 429)).toEqual({ waitMs: 0, serverAskedMs: 0 });
  });

  it('without an ask: backoff, and no serverAskedMs', () => {
    expect(retryDelay({}, 2, now, policy, 429)).toEqual({ waitMs: 600, serverAskedMs: undefined });
    expect(retryDelay({ 'retry-after': 'soon' }, 1, now, policy)).toEqual({ waitMs: 300, serverAskedMs: undefined });
    expect(retryDelay({ 'x-ratelimit-reset': '9' }, 1, now, policy)).toEqual({ waitMs: 300, serverAskedMs: undefined });
  });
});

describe('abortableSleep', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('zero or less resolves without waiting for a timer', async () => {
    vi.useFakeTimers();
    let done = 0;
    void abortableSleep(0).then(() => (done += 1));
    void abortableSleep(-1).then(() => (done += 1));
    for (let i = 0; i < 5; i++) await Promise.resolve();
    expect(done).toBe(2);
    expect(vi.getTimerCount()).toBe(0);
    void abortableSleep(1).then(() => (done += 1));
    for (let i = 0; i < 5; i++) await Promise.resolve();
    expect(done).toBe(2);
    await vi.advanceTimersByTimeAsync(1);
    expect(done).toBe(3);
  });

  it('an abort clears the timer and the sleep\'s end releases the abort listener', async () => {
    vi.useFakeTimers();
    const controller = new AbortController();
    const sleeping = abortableSleep(60_000, controller.signal);
    expect(vi.getTimerCount()).toBe(1);
    controller.abort(new Error('stop'));
    await expect(sleeping).rejects.toThrow('stop');
    expect(vi.getTimerCount()).toBe(0);
    const other = new AbortController();
    const removed = vi.spyOn(other.signal, 'removeEventListener');
    const added = vi.spyOn(other.signal, 'addEventListener');
    const short = abortableSleep(10, other.signal);
    await vi.advanceTimersByTimeAsync(10);
    await short;
    expect(added).toHaveBeenCalledWith('abort', expect.any(Function), { once: true });
    expect(removed).toHaveBeenCalledWith('abort', added.mock.calls[0]![1]);
  });

  it('waits about the time asked', async () => {
    const t0 = Date.now();
    await abortableSleep(40);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(35);
  });

  it('resolves at once for zero or less, without a timer', async () => {
    const t0 = Date.now();
    await abortableSleep(0);
    await abortableSleep(-5);
    expect(Date.now() - t0).toBeLessThan(30);
  });

  it('rejects with the signal\'s reason, at once when already aborted, early when aborted while waiting', async () => {
    const reason = new Error('stopping');
    await expect(abortableSleep(10_000, AbortSignal.abort(reason))).rejects.toBe(reason);
    await expect(abortableSleep(0, AbortSignal.abort(reason))).rejects.toBe(reason);
    const controller = new AbortController();
    const t0 = Date.now();
    const sleeping = abortableSleep(10_000, controller.signal);
    setTimeout(() => controller.abort(reason), 20);
    await expect(sleeping).rejects.toBe(reason);
    expect(Date.now() - t0).toBeLessThan(5_000);
  });

  it('a signal that is never aborted lets the sleep end normally, and is released', async () => {
    const controller = new AbortController();
    await abortableSleep(10, controller.signal);
    // Aborting afterwards must not reject anything (the listener is gone).
    controller.abort(new Error('late'));
  });
});

describe('decodeBody', () => {
  const event = { id: 'e1', eventType: 'Microsoft.Resources.ResourceWriteSuccess' };
  const json = JSON.stringify(event);
  const b64 = (t: string) => Buffer.from(t, 'utf8').toString('base64');

  it('an object is taken as it is; null and undefined are empty', () => {
    expect(decodeBody(event)).toEqual({ ok: true, value: event });
    expect(decodeBody([event])).toEqual({ ok: true, value: [event] });
    expect(decodeBody(null)).toEqual({ ok: false, reason: 'message is empty (null)' });
    expect(decodeBody(undefined)).toEqual({ ok: false, reason: 'message is empty (null)' });
  });

  it('JSON text of a scalar or null is that value (the classifier names the problem)', () => {
    expect(decodeBody('5')).toEqual({ ok: true, value: 5 });
    expect(decodeBody('null')).toEqual({ ok: true, value: null });
    expect(decodeBody('true')).toEqual({ ok: true, value: true });
  });

  it('base64 must be base64 from end to end', () => {
    expect(decodeBody('abcd!!!!')).toEqual({ ok: false, reason: 'message is not JSON' });
    expect(decodeBody(`!!!!${b64(json)}`)).toEqual({ ok: false, reason: 'message is not JSON' });
  });

  it('scalars are named', () => {
    expect(decodeBody(5)).toEqual({ ok: false, reason: 'message is a number, expected one JSON event object' });
    expect(decodeBody(false)).toEqual({ ok: false, reason: 'message is a boolean, expected one JSON event object' });
    expect(decodeBody(5n)).toEqual({ ok: false, reason: 'message is a bigint, expected one JSON event object' });
  });

  it('JSON text, JSON text of JSON text (twice at most), base64 JSON, a Buffer, a Uint8Array', () => {
    expect(decodeBody(json)).toEqual({ ok: true, value: event });
    expect(decodeBody(`  ${json}\n`)).toEqual({ ok: true, value: event });
    expect(decodeBody(JSON.stringify(json))).toEqual({ ok: true, value: event });
    expect(decodeBody(JSON.stringify(JSON.stringify(json)))).toEqual({ ok: true, value: event });
    expect(decodeBody(JSON.stringify(JSON.stringify(JSON.stringify(json))))).toEqual({ ok: false, reason: 'message is encoded more than twice' });
    expect(decodeBody(b64(json))).toEqual({ ok: true, value: event });
    expect(decodeBody(b64(json).replace(/(.{8})/g, '$1\r\n'))).toEqual({ ok: true, value: event });
    expect(decodeBody(Buffer.from(json))).toEqual({ ok: true, value: event });
    expect(decodeBody(new Uint8Array(Buffer.from(json)))).toEqual({ ok: true, value: event });
    expect(decodeBody(JSON.stringify(b64(json)))).toEqual({ ok: true, value: event });
  });

  it('says why a text is not an event', () => {
    expect(decodeBody('')).toEqual({ ok: false, reason: 'message is empty' });
    expect(decodeBody(' \n ')).toEqual({ ok: false, reason: 'message is empty' });
    expect(decodeBody(JSON.stringify(''))).toEqual({ ok: false, reason: 'message is empty' });
    expect(decodeBody(b64('not json'))).toEqual({ ok: false, reason: 'message is base64 but does not decode to JSON' });
    expect(decodeBody('eyJpZCI6')).toEqual({ ok: false, reason: 'message is base64 but does not decode to JSON' });
    expect(decodeBody('abcde')).toEqual({ ok: false, reason: 'message looks like base64 but is not valid base64' });
    expect(decodeBody('abc=d\n')).toEqual({ ok: false, reason: 'message looks like base64 but is not valid base64' });
    expect(decodeBody('this is not json {')).toEqual({ ok: false, reason: 'message is not JSON' });
    expect(decodeBody('ab cd')).toEqual({ ok: false, reason: 'message is base64 but does not decode to JSON' });
    expect(decodeBody('ab-c')).toEqual({ ok: false, reason: 'message is not JSON' });
  });

  it('refuses text over the 64 KiB queue limit, counted in UTF-8 bytes', () => {
    expect(MAX_MESSAGE_BYTES).toBe(65_536);
    const at = JSON.stringify({ a: 'x'.repeat(MAX_MESSAGE_BYTES - 8) });
    expect(utf8Bytes(at)).toBe(MAX_MESSAGE_BYTES);
    expect(decodeBody(at)).toEqual({ ok: true, value: { a: 'x'.repeat(MAX_MESSAGE_BYTES - 8) } });
    const over = JSON.stringify({ a: 'é'.repeat(MAX_MESSAGE_BYTES / 2) });
    expect(over.length).toBeLessThan(MAX_MESSAGE_BYTES + 10);
    expect(decodeBody(over)).toEqual({ ok: false, reason: `message is ${utf8Bytes(over)} bytes, over the 65536-byte queue message limit` });
  });

  it('sizeOf: UTF-8 bytes of the JSON; infinite for what JSON cannot write', () => {
    expect(sizeOf({ a: 'é' })).toBe(10);
    expect(sizeOf(undefined)).toBe(0);
    const cyclic: Record<string, unknown> = {};
    cyclic['self'] = cyclic;
    expect(sizeOf(cyclic)).toBe(Number.POSITIVE_INFINITY);
    expect(utf8Bytes('😀')).toBe(4);
  });
});
