/**
 * An unreachable Port host fails fast and says which host and why (#11 §5): a name that does not resolve gets one
 * more try, not the full back-off. DNS failures are made by the agent's lookup hook, so no DNS server is asked.
 */
import type { LookupFunction } from 'node:net';
import { describe, expect, it } from 'vitest';
import { RetryableError } from '../../shared/errors.js';
import { createLogger, memorySink } from '../../shared/log.js';
import { attemptsFor, describeUnreachable, networkErrorCode } from '../../shared/network.js';
import { PortHttp } from '../../shared/port/http.js';

const failingLookup =
  (code: string): LookupFunction =>
  (hostname, _options, callback) =>
    callback(Object.assign(new Error(`getaddrinfo ${code} ${hostname}`), { code }), '', 4);

function client(apiUrl: string, lookup: LookupFunction | undefined, sleeps: number[]) {
  const logs = memorySink();
  const http = new PortHttp({
    apiUrl,
    clientId: 'id',
    clientSecret: 'secret',
    maxConcurrency: 2,
    requestTimeoutMs: 2_000,
    retryMaxAttempts: 8,
    maxRetryTimeMs: 60_000,
    backoff: { baseMs: 300, maxWaitMs: 60_000, random: () => 0.5 },
    userAgent: 'test',
    logger: createLogger(logs, 'debug'),
    now: Date.now,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    ...(lookup ? { lookup } : {}),
  });
  return { http, logs };
}

describe('an unreachable Port host', () => {
  it('a misspelt host (ENOTFOUND) fails after 2 attempts, naming the host', async () => {
    const sleeps: number[] = [];
    const { http, logs } = client('https://api.prot.io', failingLookup('ENOTFOUND'), sleeps);
    const error = await http.request({ method: 'GET', path: '/v1/blueprints', kind: 'other' }).catch((e: unknown) => e);
    http.close();
    expect(error).toBeInstanceOf(RetryableError);
    expect((error as Error).message).toBe(
      'Port POST /v1/auth/access_token failed after 2 attempt(s): cannot resolve host api.prot.io (ENOTFOUND): check the URL for typos',
    );
    expect(sleeps).toEqual([300]);
    // The retry is visible (a warning), not silent.
    expect(logs.records.filter((r) => r.level === 'warn').map((r) => r.message)).toEqual([
      'Port request failed (cannot resolve host api.prot.io (ENOTFOUND): check the URL for typos); retrying',
    ]);
  });

  it('a temporary DNS failure (EAI_AGAIN) keeps the full retry budget', async () => {
    const sleeps: number[] = [];
    const { http } = client('https://api.port.io', failingLookup('EAI_AGAIN'), sleeps);
    const error = (await http.request({ method: 'GET', path: '/v1/blueprints', kind: 'other' }).catch((e: unknown) => e)) as Error;
    http.close();
    expect(error.message).toMatch(/failed after 8 attempt\(s\): DNS lookup of api\.port\.io failed temporarily \(EAI_AGAIN\)/);
    expect(sleeps).toHaveLength(7);
  });
});

describe('network error helpers', () => {
  it('find the code on the error or its cause, and describe it with the host', () => {
    const nested = new Error('outer', { cause: Object.assign(new Error('inner'), { code: 'ECONNREFUSED' }) });
    expect(networkErrorCode(nested)).toBe('ECONNREFUSED');
    expect(describeUnreachable(nested, 'h:1')).toBe('h:1 refused the connection (ECONNREFUSED): nothing is listening there');
    expect(describeUnreachable(Object.assign(new Error('t'), { name: 'TimeoutError' }), 'h')).toBe('no answer from h in time (timeout)');
    expect(describeUnreachable(new Error('HTTP 500'), 'h')).toBeUndefined();
    expect(attemptsFor(Object.assign(new Error('x'), { code: 'ENOTFOUND' }), 8)).toBe(2);
    expect(attemptsFor(Object.assign(new Error('x'), { code: 'ECONNRESET' }), 8)).toBe(8);
  });
});
