/**
 * The in-worker re-check schedule (shared/sync/events/watch.ts) on a virtual clock: what RecheckWatch itself decides
 * (which ids share a tick, when the next look is, how far apart ticks are under quota pressure) and, through the
 * EventProcessor against the Resource Graph emulator over HTTP, what that costs in Resource Graph queries and the
 * one durable message per id at the settle deadline that FollowUps (followUps.ts) keeps beside it.
 *
 * The clock and the timers are the ManualClock / ManualTimers of fakes.ts: time moves only when a test moves it,
 * so every interval below is exact.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ResourceGraphReader } from '../../shared/azure/resourceGraph.js';
import { normalizeResourceId } from '../../shared/azure/resourceId.js';
import { createLogger, memorySink } from '../../shared/log.js';
import { DEFAULT_BLUEPRINT_IDS as BP } from '../../shared/port/blueprints.js';
import { EventProcessor } from '../../shared/sync/events/apply.js';
import type { WorkItem } from '../../shared/sync/events/applyBatch.js';
import { targetFromId } from '../../shared/sync/events/classify.js';
import { EventCounters } from '../../shared/sync/events/counters.js';
import { fastRecheckDelayMs, RecheckWatch } from '../../shared/sync/events/watch.js';
import { startResourceGraphEmulator, type ResourceGraphEmulator } from '../emulators/resourceGraph/server.js';
import { CapturingPoison, CapturingScheduler, FakePort, ManualClock, ManualTimers } from './fakes.js';
import { deleteEvent, writeEvent } from './samples.js';

const SUB = '0b1f6471-1bf0-4dda-aec3-cb9272f09590';
const TENANT = '11111111-2222-3333-4444-555555555555';
const RG = `/subscriptions/${SUB}/resourceGroups/Rg-Watch`;
const SETTLE = 90_000;
const T0 = Date.parse('2026-06-01T12:00:00Z');
const accountId = (n: number | string) => `${RG}/providers/Microsoft.Storage/storageAccounts/acct${n}`;

const item = (id: string, eventAt: number, attempt = 0, hint: 'write' | 'delete' = 'write'): WorkItem => {
  const target = targetFromId(id);
  if (!target.ok) throw new Error(target.reason);
  return { target: target.target, hint, eventAt, attempt };
};

const settleMicrotasks = () => new Promise<void>((resolve) => setImmediate(resolve));

/** A RecheckWatch whose batch is recorded (and may hold the virtual clock, as the quota pacer does). */
function unitWatch() {
  const clock = new ManualClock(T0);
  const timers = new ManualTimers(clock);
  const counters = new EventCounters();
  const ticks: { at: number; keys: string[] }[] = [];
  const state = { holdMs: 0, onRun: undefined as ((items: Map<string, WorkItem>) => void) | undefined };
  const watch = new RecheckWatch(
    async (items) => {
      ticks.push({ at: clock.now(), keys: [...items.keys()].sort() });
      await settleMicrotasks();
      // The batch was held this long (Resource Graph's quota pacer waiting for the next window, or throttling).
      clock.advance(state.holdMs);
      state.onRun?.(items);
    },
    () => clock.now(),
    timers,
    counters,
    createLogger(memorySink(), 'error'),
  );
  /** Moves the clock to the next timer and runs that tick to its end; the tick's start time, or undefined. */
  const next = async (): Promise<number | undefined> => {
    const at = timers.nextAt();
    if (at === undefined) return undefined;
    clock.t = Math.max(clock.t, at);
    timers.fireDue();
    do await settleMicrotasks();
    while (watch.busy);
    return at;
  };
  return { clock, timers, counters, ticks, state, watch, next };
}

describe('RecheckWatch: which ids share a look', () => {
  it('every id due within the same second goes to one tick; an id due later waits for a tick of its own', async () => {
    const u = unitWatch();
    u.watch.add(accountId('a'), item(accountId('a'), T0), T0 + 1_000);
    u.watch.add(accountId('b'), item(accountId('b'), T0), T0 + 1_000);
    u.watch.add(accountId('c'), item(accountId('c'), T0), T0 + 1_900);
    u.watch.add(accountId('d'), item(accountId('d'), T0), T0 + 2_500);
    expect(u.timers.nextAt()).toBe(T0 + 1_000);
    expect(await u.next()).toBe(T0 + 1_000);
    expect(u.ticks).toEqual([{ at: T0 + 1_000, keys: [accountId('a'), accountId('b'), accountId('c')] }]);
    expect(u.watch.size).toBe(1);
    expect(await u.next()).toBe(T0 + 2_500);
    expect(u.ticks[1]).toEqual({ at: T0 + 2_500, keys: [accountId('d')] });
    expect(await u.next()).toBeUndefined();
    expect(u.counters.get('watchTicks')).toBe(2);
  });

  it('an id already watched keeps its earliest look, and carries the newest event it was told about', async () => {
    const u = unitWatch();
    const id = accountId('a');
    const seen: WorkItem[] = [];
    u.state.onRun = (items) => seen.push(...items.values());
    u.watch.add(id, item(id, T0, 1), T0 + 1_000);
    u.watch.add(id, item(id, T0 + 400, 0), T0 + 3_000);
    expect(u.watch.size).toBe(1);
    expect(await u.next()).toBe(T0 + 1_000);
    expect(seen).toEqual([expect.objectContaining({ eventAt: T0 + 400, attempt: 1 })]);
    expect(await u.next()).toBeUndefined();
  });

  it('ids whose writes arrived at different moments of the same second share one Resource Graph query', async () => {
    const t = await processorOn(arg);
    const ids = [0, 300, 700].map((offset) => ({ id: accountId(`burst${offset}`), offset }));
    for (const { id } of ids) arg.upsertResource(account(id, { v: '2' })); // written in ARM, not visible yet (lag)
    for (const { id, offset } of ids) {
      t.clock.t = T0 + offset;
      expect(await t.processor.handle(writeEvent({ resourceId: id, eventTime: new Date(t.clock.now()) }))).toMatchObject({
        status: 'recheckScheduled',
        delayMs: 1_000,
      });
    }
    const before = arg.queryCount();
    expect(await t.tick()).toBe(T0 + 1_000);
    expect(arg.queryCount() - before).toBe(1);
    const query = arg.requests().at(-1)!.query.toLowerCase();
    for (const { id } of ids) expect(query).toContain(id.split('/').pop()!.toLowerCase());
    expect(t.processor.counters.get('watchTicks')).toBe(1);
  });
});

describe('RecheckWatch: when the next look is', () => {
  it('1 s, 1.5 s, 2.25 s, then every 3 s while the change is under 30 s old, then a quarter of its age (at most 15 s), none past the settle deadline', () => {
    const at = (attempt: number, ageMs: number) => fastRecheckDelayMs(item(accountId('a'), T0, attempt), T0 + ageMs, SETTLE);
    expect([0, 1, 2, 3, 4, 9].map((attempt) => at(attempt, 0))).toEqual([1_000, 1_500, 2_250, 3_000, 3_000, 3_000]);
    expect(at(12, 29_999)).toBe(3_000);
    expect(at(12, 30_000)).toBe(7_500);
    expect(at(12, 40_000)).toBe(10_000);
    expect(at(12, 60_000)).toBe(15_000);
    expect(at(12, 74_000)).toBe(15_000);
    // A look that would land within half a second of the settle deadline is left to the durable message.
    expect(at(12, 74_500)).toBeUndefined();
    expect(at(2, 87_500)).toBeUndefined();
    expect(at(0, SETTLE)).toBeUndefined();
  });

  it('a write Resource Graph never shows: looked at on exactly that schedule, one query per look, one durable message at the settle deadline', async () => {
    const t = await processorOn(arg);
    const id = accountId('lagging');
    arg.upsertResource(account(id, { v: '1' }));
    const eventTime = new Date(T0);
    expect(await t.processor.handle(writeEvent({ resourceId: id, eventTime }))).toMatchObject({ status: 'recheckScheduled', delayMs: 1_000 });
    const looks: number[] = [];
    const queries: number[] = [];
    for (;;) {
      const before = arg.queryCount();
      const at = await t.tick();
      if (at === undefined) break;
      looks.push(at - T0);
      queries.push(arg.queryCount() - before);
    }
    const expected: number[] = [];
    for (let attempt = 0, age = 0; ; attempt++) {
      const step = fastRecheckDelayMs(item(id, T0, attempt), T0 + age, SETTLE);
      if (step === undefined) break;
      age += step;
      expected.push(age);
    }
    // As README documents it: +1, +1.5, +2.25, then +3 s steps up to 30 s, then a quarter of the age, capped at 15 s.
    expect(looks.slice(0, 5)).toEqual([1_000, 2_500, 4_750, 7_750, 10_750]);
    expect(looks.filter((l) => l < 30_000)).toEqual([1_000, 2_500, 4_750, 7_750, 10_750, 13_750, 16_750, 19_750, 22_750, 25_750, 28_750]);
    expect(looks.at(-1)).toBeLessThan(SETTLE - 500);
    expect(looks).toEqual(expected);
    const firstOld = looks.findIndex((l) => l >= 30_000);
    expect(firstOld).toBeGreaterThan(0);
    for (let i = firstOld + 1; i < looks.length; i++) {
      expect(looks[i]! - looks[i - 1]!).toBeCloseTo(Math.min(15_000, looks[i - 1]! / 4), 6);
    }
    expect(queries).toEqual(looks.map(() => 1));
    // However many looks, the queue holds one message for the id: the confirming re-read at event time + settle.
    expect(t.recheck.scheduled).toEqual([
      { delayMs: SETTLE, message: { azurePortSyncRecheck: 1, resourceId: normalizeResourceId(id), hint: 'write', firstSeenAt: eventTime.toISOString(), attempt: 1 } },
    ]);
    expect(t.processor.counters.get('confirmCoalesced')).toBe(looks.length);
    t.clock.t = T0 + SETTLE;
    expect(await t.processor.handle(t.recheck.take()[0]!.message)).toEqual({ status: 'notVisibleAfterSettle' });
  });

  it('a delete Resource Graph still lists: looked at in the worker, one durable message at the settle deadline, a duplicate delivery adds none', async () => {
    const t = await processorOn(arg);
    const id = accountId('going');
    arg.deleteResource(id); // deleted in ARM, still listed by Resource Graph for the whole test (lag)
    const eventTime = new Date(T0);
    expect(await t.processor.handle(deleteEvent({ resourceId: id, eventTime }))).toMatchObject({ status: 'recheckScheduled', delayMs: 1_000 });
    t.clock.t = T0 + 200;
    expect(await t.processor.handle(deleteEvent({ resourceId: id, eventTime, id: 'second-delivery' }))).toMatchObject({ status: 'recheckScheduled' });
    let looks = 0;
    while ((await t.tick()) !== undefined) looks++;
    expect(looks).toBeGreaterThan(10);
    expect(t.recheck.scheduled).toEqual([
      { delayMs: SETTLE, message: { azurePortSyncRecheck: 1, resourceId: normalizeResourceId(id), hint: 'delete', firstSeenAt: eventTime.toISOString(), attempt: 1 } },
    ]);
    expect(t.processor.counters.get('backstopScheduled')).toBe(1);
    expect(t.processor.counters.get('backstopCoalesced')).toBe(looks + 1);
  });
});

describe('RecheckWatch: backing off under quota pressure', () => {
  it('ticks whose batch was held (quota pacer) spread out to 15 s apart, and come back to 1 s once batches are quick again', async () => {
    const u = unitWatch();
    const ids = [accountId('a'), accountId('b')];
    // Every look finds the ids not settled yet: each is due again a second after its look, as FollowUps asks.
    u.state.onRun = (items) => {
      for (const [key, value] of items) u.watch.add(key, value, u.clock.now() + 1_000);
    };
    for (const id of ids) u.watch.add(id, item(id, T0), T0 + 1_000);
    const starts: number[] = [];
    u.state.holdMs = 4_000;
    for (let i = 0; i < 6; i++) starts.push((await u.next())!);
    u.state.holdMs = 0;
    for (let i = 0; i < 6; i++) starts.push((await u.next())!);
    const gaps = starts.slice(1).map((s, i) => s - starts[i]!);
    // Held 4 s each: the gap between tick starts doubles from the minimum (2, 4, 8 s) to the 15 s cap, so the
    // ids due every second are looked at (all together) ever more rarely.
    expect(gaps.slice(0, 5)).toEqual([5_000, 5_000, 8_000, 15_000, 15_000]);
    // Quick again: the gap halves back (7.5 s, 3.75 s, 1.875 s) to the 1 s minimum.
    expect(gaps.slice(5)).toEqual([15_000, 7_500, 3_750, 1_875, 1_000, 1_000]);
    expect(u.ticks.every((tick) => tick.keys.length === ids.length)).toBe(true);
  });

  it('without pressure the same ids are looked at every second', async () => {
    const u = unitWatch();
    u.state.onRun = (items) => {
      for (const [key, value] of items) u.watch.add(key, value, u.clock.now() + 1_000);
    };
    u.watch.add(accountId('a'), item(accountId('a'), T0), T0 + 1_000);
    const starts: number[] = [];
    for (let i = 0; i < 5; i++) starts.push((await u.next())!);
    expect(starts.map((s) => s - T0)).toEqual([1_000, 2_000, 3_000, 4_000, 5_000]);
  });

  it('a tick that fails is logged and the schedule goes on (the durable message still gives the verdict)', async () => {
    const clock = new ManualClock(T0);
    const timers = new ManualTimers(clock);
    const sink = memorySink();
    let calls = 0;
    const watch = new RecheckWatch(
      async () => {
        calls++;
        throw new Error('Resource Graph unavailable');
      },
      () => clock.now(),
      timers,
      new EventCounters(),
      createLogger(sink, 'warn'),
    );
    watch.add(accountId('a'), item(accountId('a'), T0), T0 + 1_000);
    clock.t = T0 + 1_000;
    timers.fireDue();
    await settleMicrotasks();
    expect(watch.busy).toBe(false);
    expect(calls).toBe(1);
    expect(sink.records.some((r) => r.level === 'warn' && /in-worker re-check failed/.test(r.message))).toBe(true);
    watch.add(accountId('b'), item(accountId('b'), T0), T0 + 2_000);
    expect(timers.nextAt()).toBe(T0 + 2_000);
  });
});

// ---- the EventProcessor against the Resource Graph emulator, on the virtual clock ----

let arg: ResourceGraphEmulator;

const account = (id: string, tags: Record<string, string>) => ({
  id,
  name: id.split('/').pop()!,
  type: 'microsoft.storage/storageaccounts',
  kind: 'StorageV2',
  location: 'westeurope',
  resourceGroup: 'rg-watch',
  subscriptionId: SUB,
  tenantId: TENANT,
  sku: { name: 'Standard_LRS' },
  tags,
});

beforeEach(async () => {
  // The emulator's own clock stands still: a write made with a lag is never visible during a test.
  arg = await startResourceGraphEmulator({
    manualClock: true,
    startTime: new Date(T0),
    quota: { limit: 10_000, windowMs: 5_000 },
    lag: { tables: { resources: 10 * 60_000 } },
    estate: {
      subscriptions: [{ id: `/subscriptions/${SUB}`, name: 'sub', subscriptionId: SUB, tenantId: TENANT }],
      resourceGroups: [{ id: RG, name: 'Rg-Watch', location: 'westeurope', resourceGroup: 'rg-watch', subscriptionId: SUB, tenantId: TENANT }],
      resources: [account(accountId('witness'), {}), account(accountId('going'), { v: '1' })],
    },
  });
});
afterEach(() => arg.close());

async function processorOn(emulator: ResourceGraphEmulator) {
  const clock = new ManualClock(T0);
  const timers = new ManualTimers(clock);
  const recheck = new CapturingScheduler();
  const processor = new EventProcessor(
    {
      port: new FakePort(),
      resourceGraph: new ResourceGraphReader({ endpoint: emulator.url, credential: emulator.credential, subscriptionIds: [SUB] }),
      blueprints: BP,
      recheck,
      poison: new CapturingPoison(),
      logger: createLogger(memorySink(), 'error'),
      clock,
      timers,
    },
    { flushWindowMs: 1, settleTimeMs: SETTLE, subscriptionIds: [SUB], includeResourceTypes: [], excludeResourceTypes: [] },
  );
  /** Moves the virtual clock to the next in-worker look and runs it to its end; its time, or undefined. */
  const tick = async (): Promise<number | undefined> => {
    const at = timers.nextAt();
    if (at === undefined) return undefined;
    clock.t = Math.max(clock.t, at);
    timers.fireDue();
    do {
      await processor.drain();
      await settleMicrotasks();
    } while (processor.watch.busy);
    return at;
  };
  return { clock, timers, recheck, processor, tick };
}
