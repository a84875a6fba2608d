import type { Settings } from '../../settings.js';
import type { RunMode, SyncState } from './state.js';

export type RequestedMode = RunMode | 'auto';

export interface ModeDecision {
  mode: RunMode;
  reason: string;
}

/**
 * Full when we cannot trust a change window: no state yet, no cursor, the last full sync is older than
 * FULL_SYNC_INTERVAL, or the cursor is older than MAX_CHANGE_WINDOW (change history would not cover the gap).
 * A requested full run is always full; a requested window still becomes full when a window is unsafe.
 */
export function decideMode(
  state: SyncState | undefined,
  now: Date,
  reconcile: Pick<Settings['reconcile'], 'fullSyncIntervalMs' | 'maxChangeWindowMs'>,
  requested: RequestedMode = 'auto',
): ModeDecision {
  if (requested === 'full') return { mode: 'full', reason: 'full sync requested' };
  if (!state) return { mode: 'full', reason: 'no sync state yet (first run)' };
  const cursor = parseTime(state.cursor);
  if (cursor === undefined) return { mode: 'full', reason: 'no change cursor (no complete run yet)' };
  const lastFull = parseTime(state.lastFullSyncAt);
  const retryAt = parseTime(state.fullSyncRetryAt);
  const backingOff = retryAt !== undefined && now.getTime() < retryAt;
  if (lastFull === undefined && !backingOff) return { mode: 'full', reason: 'no completed full sync recorded' };
  if (now.getTime() - cursor > reconcile.maxChangeWindowMs) {
    return { mode: 'full', reason: `cursor ${state.cursor} is older than MAX_CHANGE_WINDOW` };
  }
  if (lastFull === undefined || now.getTime() - lastFull >= reconcile.fullSyncIntervalMs) {
    // A full sync that keeps failing must not stop the windows: wait out its backoff with windowed runs.
    if (backingOff) {
      return {
        mode: 'window',
        reason: `full sync due, but the last ${state.fullSyncFailures ?? 1} attempt(s) failed; next attempt at ${state.fullSyncRetryAt}`,
      };
    }
    return { mode: 'full', reason: `last full sync at ${state.lastFullSyncAt} is older than FULL_SYNC_INTERVAL` };
  }
  return { mode: 'window', reason: requested === 'window' ? 'window requested' : 'cursor within MAX_CHANGE_WINDOW' };
}

/** When to try a failed full sync again: 30 minutes, doubling per failure, never later than FULL_SYNC_INTERVAL. */
export function fullSyncRetryDelayMs(failures: number, fullSyncIntervalMs: number): number {
  const base = Math.min(30 * 60_000, fullSyncIntervalMs);
  return Math.min(fullSyncIntervalMs, base * 2 ** Math.max(0, Math.min(failures, 20) - 1));
}

function parseTime(value: string | undefined): number | undefined {
  if (!value) return undefined;
  const t = Date.parse(value);
  return Number.isNaN(t) ? undefined : t;
}
