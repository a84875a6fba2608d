import { describe, expect, it } from 'vitest';
import { argTimeMs, lowerBound, portRequestsNeeded, portTimeMs, ratioToBound, validateLimits, type Limits } from './bound.js';
import { DEFAULT_CONFIG } from './config.js';
import { fullSyncWork, windowedWork } from './work.js';

const limits: Limits = DEFAULT_CONFIG.limits;

describe('lower bound of a perfect client', () => {
  it('S1 at 100k: Port latency at concurrency 8 dominates the ARG quota', () => {
    const sizes = { subscriptions: 200, resourceGroups: 2000, resources: 100_000 };
    const b = lowerBound(fullSyncWork(sizes, [0, 0, 0], [200, 2000, 100_000], 1000), limits);
    // ARG: 1 + 2 + 100 pages = 103 queries → 7 quota windows → 6 × 5 s + 300 ms.
    expect(b.argQueries).toBe(103);
    expect(b.argMs).toBe(30_300);
    // Port: token + 3 empty searches + 10 + 100 + 5000 bulk calls + state read/write = 5116 → 640 rounds × 50 ms.
    expect(b.portRequests).toBe(5116);
    expect(b.portMs).toBe(32_000);
    // Port work cannot start before the first page: 300 ms + 32 s.
    expect(b.boundMs).toBe(32_300);
    expect(b.limitedBy).toBe('port-latency');
  });

  it('S2 at 100k: reading everything back is chained per blueprint, the ARG quota dominates', () => {
    const sizes = { subscriptions: 200, resourceGroups: 2000, resources: 100_000 };
    const b = lowerBound(fullSyncWork(sizes, [200, 2000, 100_000], [0, 0, 0], 1000), limits);
    expect(b.portRequests).toBe(1 + 1 + 2 + 100 + 2);
    // 100 search pages of one blueprint follow `next` one after another: 5 s.
    expect(b.portMs).toBe(5_000);
    // No writes of the last page: bound = ARG alone.
    expect(b.boundMs).toBe(30_300);
    expect(b.limitedBy).toBe('arg-quota');
  });

  it('windowed work counts one search for all deleted groups and deletes in calls of 100', () => {
    const work = windowedWork({
      updates: new Array(400).fill({ id: 'x' }),
      creates: new Array(300).fill({ id: 'x' }),
      deletes: new Array(290).fill('x'),
      groupDeletes: new Array(10).fill('g'),
      cascadedResourceDeletes: 500,
    });
    const needed = portRequestsNeeded(work.port, limits.port);
    // token + 1 search + 35 bulk upserts + 1 group delete + 8 resource deletes + 2 state = 48
    expect(needed.total).toBe(48);
  });

  it('the rate limit binds once requests exceed one period', () => {
    const port = { ...limits.port, rateLimit: 100, periodMs: 60_000, latencyMs: 0 };
    expect(portTimeMs(250, 0, port)).toEqual({ ms: 120_000, by: 'port-rate' });
    expect(portTimeMs(100, 0, port)).toEqual({ ms: 0, by: 'port-rate' });
  });

  it('ARG latency binds when the quota is generous', () => {
    expect(argTimeMs(30, { ...limits.arg, quota: 1000 })).toEqual({ ms: 3_000, by: 'arg-latency' });
  });

  it('names the bad limit', () => {
    expect(() => validateLimits({ ...limits, arg: { ...limits.arg, quota: 0 } })).toThrow(/arg\.quota must be a positive number, got 0/);
    expect(() => validateLimits({ ...limits, port: { ...limits.port, latencyMs: -1 } })).toThrow(/port\.latencyMs must be zero or more/);
  });

  it('has no ratio without a bound', () => {
    expect(ratioToBound(120, 0)).toBeNull();
    expect(ratioToBound(150, 100)).toBe(1.5);
  });
});
