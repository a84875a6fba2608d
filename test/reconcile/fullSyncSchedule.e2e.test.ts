/**
 * Issue #13, survivor (a), through runReconciliation against both emulators: with FULL_SYNC_INTERVAL=1h and a run
 * every 15 minutes after a first full sync, the runs are window, window, window, full, window, window, and
 * lastFullSyncAt moves only with the full one (the pure derivation is test/kernel/fullSyncSchedule.test.ts).
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { RunMode } from '../../shared/sync/reconcile/state.js';
import { MINUTE, T0, seedSmallEstate, startHarness, type Harness } from './harness.js';

describe('FULL_SYNC_INTERVAL=1h through runReconciliation (both emulators)', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it('six 15-minute ticks after a first full sync run window, window, window, full, window, window', async () => {
    h = await startHarness({ FULL_SYNC_INTERVAL: '1h' });
    seedSmallEstate(h.arg);
    expect(await h.run()).toMatchObject({ mode: 'full', status: 'succeeded' });
    const modes: RunMode[] = [];
    const lastFull: unknown[] = [];
    for (let tick = 1; tick <= 6; tick++) {
      h.arg.setNow(new Date(T0.getTime() + tick * 15 * MINUTE));
      const summary = await h.run();
      expect(summary.status).toBe('succeeded');
      modes.push(summary.mode);
      lastFull.push(h.stateEntity()?.properties?.['lastFullSyncAt']);
    }
    expect(modes).toEqual(['window', 'window', 'window', 'full', 'window', 'window']);
    const at = (tick: number) => new Date(T0.getTime() + tick * 15 * MINUTE).toISOString();
    expect(lastFull).toEqual([at(0), at(0), at(0), at(4), at(4), at(4)]);
    expect(h.catalog()).toEqual(h.expected());
  });
});
