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
  if (lastFull === undefined) return { mode: 'full', reason: 'no completed full sync recorded' };
  if (now.getTime() - lastFull >= reconcile.fullSyncIntervalMs) {
    return { mode: 'full', reason: `last full sync at ${state.lastFullSyncAt} is older than FULL_SYNC_INTERVAL` };
  }
  if (now.getTime() - cursor > reconcile.maxChangeWindowMs) {
    return { mode: 'full', reason: `cursor ${state.cursor} is older than MAX_CHANGE_WINDOW` };
  }
  return { mode: 'window', reason: requested === 'window' ? 'window requested' : 'cursor within MAX_CHANGE_WINDOW' };
}

function parseTime(value: string | undefined): number | undefined {
  if (!value) return undefined;
  const t = Date.parse(value);
  return Number.isNaN(t) ? undefined : t;
}
