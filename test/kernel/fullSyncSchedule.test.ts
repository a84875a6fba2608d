/**
 * Issue #13, survivor (a): periodic full syncs must keep coming. A windowed run moves the cursor but never
 * lastFullSyncAt (nextState.ts), so with FULL_SYNC_INTERVAL=1h a full sync comes due every hour. The sequence is
 * derived from decideMode and nextSyncState themselves (pure); test/reconcile/fullSyncSchedule.e2e.test.ts checks
 * the same sequence through runReconciliation against the emulators, so both the rule and its wiring are pinned.
 */
import { describe, expect, it } from 'vitest';
import { decideMode } from '../../shared/sync/reconcile/mode.js';
import { nextSyncState } from '../../shared/sync/reconcile/nextState.js';
import { emptyCounts, type LastRun, type RunMode, type SyncState } from '../../shared/sync/reconcile/state.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const T0 = new Date('2026-03-02T08:00:00.000Z');
const reconcile = { fullSyncIntervalMs: HOUR, maxChangeWindowMs: 7 * 24 * HOUR };

function lastRun(mode: RunMode, at: Date): LastRun {
  const iso = at.toISOString();
  return { runId: `r-${iso}`, mode, windowEnd: iso, startedAt: iso, finishedAt: iso, status: 'succeeded', counts: { ...emptyCounts(), byBlueprint: {} }, argQueries: 0, portRequests: 0, durationMs: 0 };
}

/** Runs `ticks` successful runs every `stepMs` after a first full sync at T0; returns each run's mode and the states. */
function schedule(ticks: number, stepMs: number): { modes: RunMode[]; states: SyncState[] } {
  let state: SyncState | undefined;
  const modes: RunMode[] = [];
  const states: SyncState[] = [];
  for (let i = 0; i <= ticks; i++) {
    const now = new Date(T0.getTime() + i * stepMs);
    const { mode } = decideMode(state, now, reconcile);
    state = nextSyncState({
      identifier: 'azure-port-sync',
      scope: 'every readable subscription',
      previous: state,
      mode,
      advance: true,
      now,
      fullSyncIntervalMs: reconcile.fullSyncIntervalMs,
      outcome: { incompleteReasons: [], rejectedReasons: [] },
      lastRun: lastRun(mode, now),
    });
    modes.push(mode);
    states.push(state);
  }
  return { modes, states };
}

describe('FULL_SYNC_INTERVAL=1h, a tick every 15 minutes (decideMode + nextSyncState)', () => {
  it('the first run is full, then window, window, window, full, window, window', () => {
    const { modes } = schedule(6, 15 * MINUTE);
    expect(modes).toEqual(['full', 'window', 'window', 'window', 'full', 'window', 'window']);
  });

  it('a windowed run moves the cursor but leaves lastFullSyncAt where the last full sync put it', () => {
    const { states } = schedule(6, 15 * MINUTE);
    const at = (i: number) => new Date(T0.getTime() + i * 15 * MINUTE).toISOString();
    expect(states.map((s) => s.cursor)).toEqual([0, 1, 2, 3, 4, 5, 6].map(at));
    expect(states.map((s) => s.lastFullSyncAt)).toEqual([at(0), at(0), at(0), at(0), at(4), at(4), at(4)]);
  });

  it('over a day, one full sync per hour and windows in between', () => {
    const { modes } = schedule(96, 15 * MINUTE);
    expect(modes.filter((m) => m === 'full')).toHaveLength(25);
    modes.forEach((mode, i) => expect(mode, `tick ${i}`).toBe(i % 4 === 0 ? 'full' : 'window'));
  });
});
