/**
 * The state a run leaves behind (nextState.ts) and the full-or-window decision (mode.ts), rule by rule: the cursor
 * and lastFullSyncAt move only on success (lastFullSyncAt on a complete full sync only), a failed full sync backs
 * off while windows go on, subscription memory and the deletion skip reason are replaced by full syncs only.
 */
import { describe, expect, it } from 'vitest';
import type { SyncOutcome } from '../../shared/sync/reconcile/context.js';
import { decideMode, fullSyncRetryDelayMs } from '../../shared/sync/reconcile/mode.js';
import { nextSyncState, type NextStateInput } from '../../shared/sync/reconcile/nextState.js';
import { emptyCounts, type LastRun, type SyncState } from '../../shared/sync/reconcile/state.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const now = new Date('2026-03-02T12:00:00.000Z');
const ago = (ms: number) => new Date(now.getTime() - ms).toISOString();
const later = (ms: number) => new Date(now.getTime() + ms).toISOString();
const lastRun: LastRun = {
  runId: 'r',
  mode: 'window',
  windowEnd: now.toISOString(),
  startedAt: now.toISOString(),
  finishedAt: now.toISOString(),
  status: 'succeeded',
  counts: { ...emptyCounts(), byBlueprint: {} },
  argQueries: 1,
  portRequests: 2,
  durationMs: 3,
};
const ok: SyncOutcome = { incompleteReasons: [], rejectedReasons: [] };

function next(over: Partial<NextStateInput>): SyncState {
  return nextSyncState({
    identifier: 'azure-port-sync',
    scope: 'every readable subscription',
    previous: undefined,
    mode: 'full',
    advance: true,
    now,
    fullSyncIntervalMs: 24 * HOUR,
    outcome: ok,
    lastRun,
    ...over,
  });
}

const previous = (over: Partial<SyncState> = {}): SyncState => ({
  identifier: 'azure-port-sync',
  scope: 'every readable subscription',
  cursor: ago(15 * MINUTE),
  lastFullSyncAt: ago(2 * HOUR),
  ...over,
});

describe('nextSyncState: cursor and lastFullSyncAt', () => {
  it('a complete full sync moves both to now, and says nothing else', () => {
    expect(next({ previous: previous() })).toEqual({
      identifier: 'azure-port-sync',
      scope: 'every readable subscription',
      cursor: now.toISOString(),
      lastFullSyncAt: now.toISOString(),
      lastRun,
    });
  });

  it('a successful window moves the cursor only', () => {
    const s = next({ previous: previous(), mode: 'window' });
    expect(s.cursor).toBe(now.toISOString());
    expect(s.lastFullSyncAt).toBe(ago(2 * HOUR));
  });

  it('a run that cannot advance keeps both where they were', () => {
    for (const mode of ['full', 'window'] as const) {
      const s = next({ previous: previous(), mode, advance: false });
      expect(s.cursor, mode).toBe(ago(15 * MINUTE));
      expect(s.lastFullSyncAt, mode).toBe(ago(2 * HOUR));
    }
  });

  it('the first run failing leaves no cursor and no lastFullSyncAt at all', () => {
    const s = next({ advance: false });
    expect(s).not.toHaveProperty('cursor');
    expect(s).not.toHaveProperty('lastFullSyncAt');
  });

  it('a window after a state without lastFullSyncAt does not invent one', () => {
    const s = next({ previous: previous({ lastFullSyncAt: undefined }), mode: 'window' });
    expect(s).not.toHaveProperty('lastFullSyncAt');
  });

  it('a full sync whose listing shifted moves the cursor but does not count as a full sync', () => {
    const s = next({ previous: previous(), outcome: { ...ok, listingUnstable: true } });
    expect(s.cursor).toBe(now.toISOString());
    expect(s.lastFullSyncAt).toBe(ago(2 * HOUR));
    expect(s.fullSyncFailures).toBe(1);
  });

  it('carries the last run, the error and the mapping problem', () => {
    const s = next({ previous: previous({ lastError: 'old', mappingProblem: 'old' }), errorMessage: 'boom', mappingProblem: 'bad mapping' });
    expect(s).toMatchObject({ lastRun, lastError: 'boom', mappingProblem: 'bad mapping' });
    const clean = next({ previous: previous({ lastError: 'old', mappingProblem: 'old' }) });
    expect(clean).not.toHaveProperty('lastError');
    expect(clean).not.toHaveProperty('mappingProblem');
  });
});

describe('nextSyncState: a failed full sync backs off', () => {
  it('the first failure: one failure, retried 30 minutes later', () => {
    const s = next({ previous: previous(), advance: false });
    expect(s.fullSyncFailures).toBe(1);
    expect(s.fullSyncRetryAt).toBe(later(30 * MINUTE));
  });

  it('each further failure doubles the wait, never beyond FULL_SYNC_INTERVAL', () => {
    const s = next({ previous: previous({ fullSyncFailures: 2, fullSyncRetryAt: ago(MINUTE) }), advance: false });
    expect(s.fullSyncFailures).toBe(3);
    expect(s.fullSyncRetryAt).toBe(later(120 * MINUTE));
    const capped = next({ previous: previous({ fullSyncFailures: 9 }), advance: false, fullSyncIntervalMs: 6 * HOUR });
    expect(capped.fullSyncRetryAt).toBe(later(6 * HOUR));
  });

  it('windows meanwhile keep the failure count and the retry time as they are', () => {
    const s = next({ previous: previous({ fullSyncFailures: 2, fullSyncRetryAt: later(MINUTE) }), mode: 'window' });
    expect(s.fullSyncFailures).toBe(2);
    expect(s.fullSyncRetryAt).toBe(later(MINUTE));
    const failedWindow = next({ previous: previous({ fullSyncFailures: 2, fullSyncRetryAt: later(MINUTE) }), mode: 'window', advance: false });
    expect(failedWindow).toMatchObject({ fullSyncFailures: 2, fullSyncRetryAt: later(MINUTE) });
    const none = next({ previous: previous(), mode: 'window' });
    expect(none).not.toHaveProperty('fullSyncFailures');
    expect(none).not.toHaveProperty('fullSyncRetryAt');
  });

  it('a complete full sync clears the backoff', () => {
    const s = next({ previous: previous({ fullSyncFailures: 4, fullSyncRetryAt: ago(MINUTE) }) });
    expect(s).not.toHaveProperty('fullSyncFailures');
    expect(s).not.toHaveProperty('fullSyncRetryAt');
  });
});

describe('nextSyncState: what full syncs learnt', () => {
  it('a full sync replaces lost and known subscriptions; an empty answer clears them', () => {
    const before = previous({ lostSubscriptions: { a: ago(HOUR) }, knownSubscriptions: ['a', 'b'] });
    expect(next({ previous: before, outcome: { ...ok, lostSubscriptions: { c: ago(MINUTE) }, knownSubscriptions: ['c'] } })).toMatchObject({
      lostSubscriptions: { c: ago(MINUTE) },
      knownSubscriptions: ['c'],
    });
    const cleared = next({ previous: before, outcome: { ...ok, lostSubscriptions: {}, knownSubscriptions: [] } });
    expect(cleared).not.toHaveProperty('lostSubscriptions');
    expect(cleared).not.toHaveProperty('knownSubscriptions');
  });

  it('a window keeps them', () => {
    const before = previous({ lostSubscriptions: { a: ago(HOUR) }, knownSubscriptions: ['a', 'b'] });
    expect(next({ previous: before, mode: 'window' })).toMatchObject({ lostSubscriptions: { a: ago(HOUR) }, knownSubscriptions: ['a', 'b'] });
  });

  it('the deletion skip reason: a full sync sets or clears it, a window keeps it', () => {
    const before = previous({ deletionSkippedReason: 'old reason' });
    expect(next({ previous: before, outcome: { ...ok, deletionSkippedReason: 'new reason' } }).deletionSkippedReason).toBe('new reason');
    expect(next({ previous: before })).not.toHaveProperty('deletionSkippedReason');
    expect(next({ previous: before, mode: 'window', outcome: { ...ok, deletionSkippedReason: 'ignored' } }).deletionSkippedReason).toBe('old reason');
    expect(next({ previous: previous(), mode: 'window' })).not.toHaveProperty('deletionSkippedReason');
  });
});

describe('decideMode', () => {
  const reconcile = { fullSyncIntervalMs: 24 * HOUR, maxChangeWindowMs: 6 * 24 * HOUR };

  it('full when requested, on the first run, without a cursor, or with a cursor that is not a time', () => {
    expect(decideMode(previous(), now, reconcile, 'full')).toEqual({ mode: 'full', reason: 'full sync requested' });
    expect(decideMode(undefined, now, reconcile)).toEqual({ mode: 'full', reason: 'no sync state yet (first run)' });
    expect(decideMode(previous({ cursor: undefined }), now, reconcile)).toEqual({ mode: 'full', reason: 'no change cursor (no complete run yet)' });
    expect(decideMode(previous({ cursor: '' }), now, reconcile).mode).toBe('full');
    expect(decideMode(previous({ cursor: 'yesterday' }), now, reconcile).reason).toBe('no change cursor (no complete run yet)');
  });

  it('full without a recorded full sync, unless a failed one is backing off', () => {
    expect(decideMode(previous({ lastFullSyncAt: undefined }), now, reconcile)).toEqual({ mode: 'full', reason: 'no completed full sync recorded' });
    expect(decideMode(previous({ lastFullSyncAt: 'not a time' }), now, reconcile).reason).toBe('no completed full sync recorded');
    const backingOff = decideMode(previous({ lastFullSyncAt: undefined, fullSyncFailures: 2, fullSyncRetryAt: later(MINUTE) }), now, reconcile);
    expect(backingOff).toEqual({ mode: 'window', reason: `full sync due, but the last 2 attempt(s) failed; next attempt at ${later(MINUTE)}` });
    // The retry time has come: full again.
    expect(decideMode(previous({ lastFullSyncAt: undefined, fullSyncRetryAt: now.toISOString() }), now, reconcile).mode).toBe('full');
  });

  it('full when the cursor is older than MAX_CHANGE_WINDOW (exactly MAX_CHANGE_WINDOW is still a window)', () => {
    const edge = decideMode(previous({ cursor: ago(6 * 24 * HOUR) }), now, reconcile);
    expect(edge.mode).toBe('window');
    const old = decideMode(previous({ cursor: ago(6 * 24 * HOUR + 1) }), now, reconcile, 'window');
    expect(old).toEqual({ mode: 'full', reason: `cursor ${ago(6 * 24 * HOUR + 1)} is older than MAX_CHANGE_WINDOW` });
    // Even while a failed full sync backs off: a window could not cover the gap.
    const backingOff = previous({ cursor: ago(6 * 24 * HOUR + 1), fullSyncRetryAt: later(HOUR) });
    expect(decideMode(backingOff, now, reconcile).mode).toBe('full');
  });

  it('full once FULL_SYNC_INTERVAL has passed since the last full sync (at exactly the interval, too)', () => {
    expect(decideMode(previous({ lastFullSyncAt: ago(24 * HOUR - 1) }), now, reconcile)).toEqual({ mode: 'window', reason: 'cursor within MAX_CHANGE_WINDOW' });
    expect(decideMode(previous({ lastFullSyncAt: ago(24 * HOUR) }), now, reconcile)).toEqual({
      mode: 'full',
      reason: `last full sync at ${ago(24 * HOUR)} is older than FULL_SYNC_INTERVAL`,
    });
  });

  it('a due full sync waits out its backoff with windows; the failure count defaults to 1 in the reason', () => {
    const s = previous({ lastFullSyncAt: ago(25 * HOUR), fullSyncRetryAt: later(1) });
    expect(decideMode(s, now, reconcile)).toEqual({ mode: 'window', reason: `full sync due, but the last 1 attempt(s) failed; next attempt at ${later(1)}` });
    expect(decideMode({ ...s, fullSyncRetryAt: now.toISOString() }, now, reconcile).mode).toBe('full');
    expect(decideMode({ ...s, fullSyncRetryAt: 'garbage' }, now, reconcile).mode).toBe('full');
  });

  it('a requested window is a window when it is safe, and says so', () => {
    expect(decideMode(previous(), now, reconcile, 'window')).toEqual({ mode: 'window', reason: 'window requested' });
    expect(decideMode(previous(), now, reconcile, 'auto')).toEqual({ mode: 'window', reason: 'cursor within MAX_CHANGE_WINDOW' });
    expect(decideMode(undefined, now, reconcile, 'window').mode).toBe('full');
  });
});

describe('fullSyncRetryDelayMs', () => {
  it('30 minutes, doubling per failure, capped at FULL_SYNC_INTERVAL', () => {
    const day = 24 * HOUR;
    expect([0, 1, 2, 3, 4, 5, 6, 7].map((f) => fullSyncRetryDelayMs(f, day) / MINUTE)).toEqual([30, 30, 60, 120, 240, 480, 960, 1440]);
    expect(fullSyncRetryDelayMs(1_000_000, day)).toBe(day);
  });

  it('an interval shorter than 30 minutes is the wait itself', () => {
    expect(fullSyncRetryDelayMs(1, 10 * MINUTE)).toBe(10 * MINUTE);
    expect(fullSyncRetryDelayMs(5, 10 * MINUTE)).toBe(10 * MINUTE);
  });

  it('the exponent stops at 20 failures (no overflow to Infinity)', () => {
    const huge = Number.MAX_SAFE_INTEGER;
    expect(fullSyncRetryDelayMs(21, huge)).toBe(30 * MINUTE * 2 ** 19);
    expect(fullSyncRetryDelayMs(500, huge)).toBe(30 * MINUTE * 2 ** 19);
  });
});
