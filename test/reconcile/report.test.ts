/**
 * The human-readable output of a run (shared/sync/reconcile/report.ts): the summary paragraph and a dry run's drift
 * report, line by line.
 */
import { describe, expect, it } from 'vitest';
import { renderPlan, renderSummary } from '../../shared/sync/reconcile/report.js';
import type { RunSummary } from '../../shared/sync/reconcile/runReconciliation.js';

function summary(over: Partial<RunSummary> = {}): RunSummary {
  return {
    runId: 'run-1',
    trigger: 'cli',
    dryRun: false,
    mode: 'window',
    modeReason: 'cursor within MAX_CHANGE_WINDOW',
    status: 'succeeded',
    stateIdentifier: 'azure-port-sync',
    window: { start: '2026-03-02T07:30:00.000Z', end: '2026-03-02T08:00:00.000Z' },
    counts: { created: 1, updated: 2, unchanged: 3, deleted: 4, failed: 0, byBlueprint: {} },
    argQueries: 5,
    portRequests: 6,
    portWrites: 2,
    durationMs: 789,
    phasesMs: {},
    incompleteReasons: [],
    rejectedReasons: [],
    failures: [],
    ...over,
  };
}

describe('renderSummary', () => {
  it('a windowed run: mode and reason, window, counts, traffic', () => {
    expect(renderSummary(summary()).split('\n')).toEqual([
      'run run-1: window (cursor within MAX_CHANGE_WINDOW) → succeeded',
      'window: 2026-03-02T07:30:00.000Z → 2026-03-02T08:00:00.000Z',
      'created 1, updated 2, unchanged 3, deleted 4, failed 0',
      'Resource Graph queries 5, Port requests 6, 789 ms',
    ]);
  });

  it('a full run shows "(full)" as the window start; change counts when the run had a window', () => {
    const full = renderSummary(summary({ mode: 'full', modeReason: 'full sync requested', window: { end: '2026-03-02T08:00:00.000Z' } }));
    expect(full.split('\n')[1]).toBe('window: (full) → 2026-03-02T08:00:00.000Z');
    expect(full).not.toMatch(/changes in window/);
    expect(renderSummary(summary({ changes: 7, ignoredChanges: 2, notVisible: 1 }))).toContain('changes in window 7, ignored 2, not yet visible 1');
    expect(renderSummary(summary({ changes: 7 }))).toContain('changes in window 7, ignored 0, not yet visible 0');
  });

  it('the deletion skip, the reasons a run was incomplete or partial, and up to ten failures', () => {
    const failures = Array.from({ length: 12 }, (_, i) => ({
      blueprint: 'azureResource',
      identifier: `/subscriptions/s/r${i}`,
      operation: 'upsert' as const,
      message: 'tags must be flat',
      permanent: true,
      ...(i === 0 ? { traceId: 't-1' } : {}),
    }));
    const lines = renderSummary(
      summary({
        status: 'partial',
        deletionSkippedReason: 'deletion would remove 9 of 10',
        incompleteReasons: ['2 Port write(s) failed', 'x'],
        rejectedReasons: ['1 row could not be mapped'],
        failures,
      }),
    ).split('\n');
    expect(lines.slice(4)).toEqual([
      'deletion skipped: deletion would remove 9 of 10',
      'incomplete (the next run repeats it): 2 Port write(s) failed; x',
      'rejected (the cursor moved on): 1 row could not be mapped',
      '  failed upsert azureResource /subscriptions/s/r0: tags must be flat (trace id t-1)',
      ...Array.from({ length: 9 }, (_, i) => `  failed upsert azureResource /subscriptions/s/r${i + 1}: tags must be flat`),
    ]);
  });

  it('a failed run shows its error instead of the reasons', () => {
    const text = renderSummary(summary({ status: 'failed', error: 'RetryableError: 503', incompleteReasons: ['hidden'] }));
    expect(text).toContain('error: RetryableError: 503');
    expect(text).not.toContain('hidden');
  });
});

describe('renderPlan', () => {
  it('no changes: Port matches Azure, or says which subscriptions were not compared', () => {
    expect(renderPlan(summary({ dryRun: true, status: 'planned', plan: {} }))).toBe(
      'dry run (window: cursor within MAX_CHANGE_WINDOW); nothing was written\nno changes: Port matches Azure',
    );
    expect(renderPlan(summary({ dryRun: true }), { unreadableSubscriptionIds: ['a', 'b'] }).split('\n')[1]).toBe(
      'no changes in the readable subscriptions; 2 configured subscription(s) could not be read and were not compared: a, b',
    );
  });

  it('per blueprint (sorted): counts, then what would be created, updated (with fields) and deleted', () => {
    const text = renderPlan(
      summary({
        dryRun: true,
        mode: 'full',
        modeReason: 'full sync requested',
        plan: {
          zeta: { create: [], update: [], delete: ['z1'] },
          alpha: { create: ['a1'], update: [{ identifier: 'a2', fields: ['$title', 'properties.tags'] }, { identifier: 'a3', fields: [] }], delete: [] },
        },
        deletionSkippedReason: 'too many',
      }),
    );
    expect(text.split('\n')).toEqual([
      'dry run (full: full sync requested); nothing was written',
      'alpha: create 1, update 2, delete 0',
      '  create a1',
      '  update a2 ($title, properties.tags)',
      '  update a3 (fields unknown)',
      'zeta: create 0, update 0, delete 1',
      '  delete z1',
      'deletion would be skipped: too many',
    ]);
  });

  it('lists 50 identifiers per section, then says how many more', () => {
    const ids = Array.from({ length: 53 }, (_, i) => `id${i}`);
    const lines = renderPlan(summary({ dryRun: true, plan: { bp: { create: ids, update: [], delete: ids.slice(0, 50) } } })).split('\n');
    expect(lines.filter((l) => l.startsWith('  create '))).toHaveLength(50);
    expect(lines).toContain('  … and 3 more to create');
    expect(lines.filter((l) => l.startsWith('  delete '))).toHaveLength(50);
    expect(lines.some((l) => l.includes('more to delete'))).toBe(false);
  });
});
