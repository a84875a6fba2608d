/**
 * The full sync's deletion guard (deletionGuard.ts) and the lost-subscription lifecycle's pure part
 * (lostSubscriptions.ts trackLostSubscriptions), boundary by boundary.
 */
import { describe, expect, it } from 'vitest';
import { decideDeletions, type DeletionGuardInput } from '../../shared/sync/reconcile/deletionGuard.js';
import { trackLostSubscriptions } from '../../shared/sync/reconcile/lostSubscriptions.js';

const ids = (sub: string, n: number, kind = 'r') => Array.from({ length: n }, (_, i) => `/subscriptions/${sub}/resourcegroups/g/providers/p/t/${kind}${i}`);
const guard = (over: Partial<DeletionGuardInput>) =>
  decideDeletions({ incompleteReasons: [], threshold: 0.5, silentSubscriptions: [], blueprints: [], ...over });

describe('decideDeletions', () => {
  it('a complete run under the threshold deletes every candidate, in the given order, and holds nothing back', () => {
    const d = guard({
      blueprints: [
        { blueprint: 'res', candidates: ids('a', 2), inScope: 10 },
        { blueprint: 'rg', candidates: ['/subscriptions/a/resourcegroups/g'], inScope: 4 },
        { blueprint: 'sub', candidates: [], inScope: 1 },
      ],
    });
    expect(d).toEqual({
      deletions: [
        { blueprint: 'res', identifiers: ids('a', 2) },
        { blueprint: 'rg', identifiers: ['/subscriptions/a/resourcegroups/g'] },
      ],
      skippedReason: undefined,
    });
  });

  it('the threshold is a share of the blueprint in scope: exactly the threshold deletes, above it nothing is deleted', () => {
    expect(guard({ blueprints: [{ blueprint: 'res', candidates: ids('a', 5), inScope: 10 }] }).deletions).toHaveLength(1);
    const d = guard({
      blueprints: [
        { blueprint: 'res', candidates: ids('a', 1), inScope: 10 },
        { blueprint: 'rg', candidates: ids('a', 6, 'g'), inScope: 10 },
      ],
    });
    expect(d.deletions).toEqual([]);
    expect(d.skippedReason).toBe('deletion would remove 6 of 10 rg entities (0.60 > DELETE_THRESHOLD 0.5); no entity was deleted');
  });

  it('names every blueprint over the threshold', () => {
    const d = guard({
      blueprints: [
        { blueprint: 'res', candidates: ids('a', 3), inScope: 4 },
        { blueprint: 'rg', candidates: ids('a', 2, 'g'), inScope: 2 },
      ],
    });
    expect(d.skippedReason).toBe(
      'deletion would remove 3 of 4 res entities (0.75 > DELETE_THRESHOLD 0.5), 2 of 2 rg entities (1.00 > DELETE_THRESHOLD 0.5); no entity was deleted',
    );
  });

  it('a blueprint with nothing in scope, or no candidate, never trips the threshold', () => {
    const d = guard({ blueprints: [{ blueprint: 'res', candidates: ids('a', 3), inScope: 0 }, { blueprint: 'rg', candidates: [], inScope: 0 }] });
    expect(d.deletions).toEqual([{ blueprint: 'res', identifiers: ids('a', 3) }]);
    expect(d.skippedReason).toBeUndefined();
  });

  it('any read or write error, retryable or not, deletes nothing and lists them', () => {
    const d = guard({ incompleteReasons: ['2 Port write(s) failed', '1 row could not be mapped'], blueprints: [{ blueprint: 'res', candidates: ids('a', 1), inScope: 10 }] });
    expect(d).toEqual({
      deletions: [],
      skippedReason: 'run had read or write errors (2 Port write(s) failed; 1 row could not be mapped); no entity was deleted',
    });
  });

  it('a silent subscription keeps its entities (any casing), the rest are deleted, and the reason says so', () => {
    const d = guard({
      silentSubscriptions: ['BBB', 'aaa2', 'bbb'],
      blueprints: [{ blueprint: 'res', candidates: [...ids('a', 1), ...ids('bbb', 2), ...ids('BBB', 1)], inScope: 10 }],
    });
    expect(d.deletions).toEqual([{ blueprint: 'res', identifiers: ids('a', 1) }]);
    expect(d.skippedReason).toBe(
      'Resource Graph returned nothing for subscription(s) aaa2, bbb (lost permission or not visible); their entities were kept',
    );
  });

  it('the silent subscription\'s kept entities do not count toward the threshold', () => {
    const d = guard({ silentSubscriptions: ['b'], blueprints: [{ blueprint: 'res', candidates: [...ids('a', 1), ...ids('b', 9)], inScope: 10 }] });
    expect(d.deletions).toEqual([{ blueprint: 'res', identifiers: ids('a', 1) }]);
  });

  it('a candidate that is not under a subscription is deleted like any other (no subscription to be silent)', () => {
    const d = guard({ silentSubscriptions: ['b'], blueprints: [{ blueprint: 'res', candidates: ['odd-identifier'], inScope: 10 }] });
    expect(d.deletions).toEqual([{ blueprint: 'res', identifiers: ['odd-identifier'] }]);
  });

  it('unreadable subscriptions are reported, deduplicated and sorted, alongside the other reasons', () => {
    const d = guard({
      unreadableSubscriptions: ['Z', 'y', 'z'],
      silentSubscriptions: ['s'],
      incompleteReasons: ['boom'],
      blueprints: [{ blueprint: 'res', candidates: ids('a', 1), inScope: 10 }],
    });
    expect(d.skippedReason).toBe(
      [
        'Resource Graph returned nothing for subscription(s) s (lost permission or not visible); their entities were kept',
        'subscription(s) y, z are not readable by the identity (lost permission?); their entities were kept',
        'run had read or write errors (boom); no entity was deleted',
      ].join('. '),
    );
    const onlyUnreadable = guard({ unreadableSubscriptions: ['q'], blueprints: [{ blueprint: 'res', candidates: ids('a', 1), inScope: 10 }] });
    expect(onlyUnreadable.deletions).toHaveLength(1);
    expect(onlyUnreadable.skippedReason).toBe('subscription(s) q are not readable by the identity (lost permission?); their entities were kept');
    const both = guard({ silentSubscriptions: ['s'], unreadableSubscriptions: ['q'], blueprints: [{ blueprint: 'res', candidates: ids('a', 1), inScope: 10 }] });
    expect(both.deletions).toEqual([{ blueprint: 'res', identifiers: ids('a', 1) }]);
    expect(both.skippedReason).toBe(
      'Resource Graph returned nothing for subscription(s) s (lost permission or not visible); their entities were kept. subscription(s) q are not readable by the identity (lost permission?); their entities were kept',
    );
    const overThreshold = guard({ silentSubscriptions: ['s'], blueprints: [{ blueprint: 'res', candidates: ids('a', 9), inScope: 10 }] });
    expect(overThreshold.skippedReason).toBe(
      'Resource Graph returned nothing for subscription(s) s (lost permission or not visible); their entities were kept. deletion would remove 9 of 10 res entities (0.90 > DELETE_THRESHOLD 0.5); no entity was deleted',
    );
  });
});

describe('trackLostSubscriptions', () => {
  const now = new Date('2026-03-10T00:00:00.000Z');
  const DAY = 24 * 3_600_000;
  const ago = (ms: number) => new Date(now.getTime() - ms).toISOString();

  it('a responsible subscription Resource Graph does not show is lost since now, or since it was first missed', () => {
    const d = trackLostSubscriptions({
      previous: { b: ago(DAY) },
      responsible: ['b', 'A', 'c', 'a'],
      visible: new Set(['c']),
      now,
      retentionMs: 7 * DAY,
    });
    expect(d).toEqual({ lost: { a: now.toISOString(), b: ago(DAY) }, expired: [] });
    expect(Object.keys(d.lost)).toEqual(['a', 'b']);
  });

  it('expires exactly at the retention, not a millisecond before', () => {
    const input = { responsible: ['a', 'b'], visible: new Set<string>(), now, retentionMs: 7 * DAY };
    expect(trackLostSubscriptions({ ...input, previous: { a: ago(7 * DAY), b: ago(7 * DAY - 1) } }).expired).toEqual(['a']);
    expect(trackLostSubscriptions({ ...input, responsible: ['b', 'a'], previous: { a: ago(8 * DAY), b: ago(8 * DAY) } }).expired).toEqual(['a', 'b']);
  });

  it('a recorded time that is not a time starts the clock again', () => {
    expect(trackLostSubscriptions({ previous: { a: 'garbage' }, responsible: ['a'], visible: new Set(), now, retentionMs: 0 })).toEqual({
      lost: { a: now.toISOString() },
      expired: ['a'],
    });
  });

  it('a visible subscription is not lost, whatever was recorded; subscriptions no one is responsible for are ignored', () => {
    expect(trackLostSubscriptions({ previous: { a: ago(30 * DAY), x: ago(30 * DAY) }, responsible: ['a'], visible: new Set(['a']), now, retentionMs: DAY })).toEqual({
      lost: {},
      expired: [],
    });
  });
});
