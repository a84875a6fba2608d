/**
 * The in-worker re-check schedule: ids whose state Resource Graph does not show yet (or shows stale) are looked at
 * again after short, growing intervals, and every id due in the same window shares one look: a tick hands all of
 * them to the micro-batcher, so one Resource Graph query (≤ 1000 ids) serves them all, together with whatever events
 * arrive meanwhile. Ticks are at least `gapMs` apart; a tick whose batch took long (the Resource Graph quota pacer
 * held it, or Port throttled) doubles the gap, a quick one halves it back: backing off under quota pressure.
 *
 * Why in the worker and not as queue messages: a queue message's visibility delay has a 1-second grain, each
 * message is read in its own invocation, and the host polls an idle queue every 2 s, so per-id messages cost a
 * queue round trip per id per look; here one timer serves every id. What a restart loses is only speed: each id
 * also has one durable message on the queue at its settle deadline (followUps.ts), which gives the final verdict
 * whether or not this schedule got there first.
 */
import type { Logger } from '../../log.js';
import type { WorkItem } from './applyBatch.js';
import type { EventCounters } from './counters.js';

/** The timer functions the schedule uses; the bench's virtual clock passes its own. */
export interface Timers {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemTimers: Timers = {
  setTimeout(callback, ms) {
    const handle = setTimeout(callback, ms);
    handle.unref?.();
    return handle;
  },
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

const MIN_GAP_MS = 1_000;
const MAX_GAP_MS = 15_000;
/** A tick also takes ids due this soon after it: one look instead of two a moment apart. */
const GATHER_MS = 1_000;
/** A tick slower than this was held back (quota pacing, throttling). */
const SLOW_TICK_MS = 3_000;

/**
 * The next look at an id not settled yet: 1 s, 1.5 s, 2.25 s, then every 3 s while the change is under 30 s old
 * (where Microsoft says 95 % of changes become visible), then a quarter of its age (at most 15 s). Undefined when the
 * durable message at the settle deadline comes first.
 */
export function fastRecheckDelayMs(item: WorkItem, now: number, settleTimeMs: number): number | undefined {
  const age = now - item.eventAt;
  const step = age < 30_000 ? Math.min(3_000, 1_000 * 1.5 ** Math.min(item.attempt, 10)) : Math.min(15_000, Math.max(3_000, age / 4));
  return now + step >= item.eventAt + settleTimeMs - 500 ? undefined : step;
}

export class RecheckWatch {
  private readonly due = new Map<string, { item: WorkItem; at: number }>();
  private timer: unknown;
  private timerAt = Number.POSITIVE_INFINITY;
  private lastTickAt = Number.NEGATIVE_INFINITY;
  private gapMs = MIN_GAP_MS;
  private running = false;

  constructor(
    private readonly run: (items: Map<string, WorkItem>) => Promise<void>,
    private readonly now: () => number,
    private readonly timers: Timers,
    private readonly counters: EventCounters,
    private readonly logger: Logger,
  ) {}

  get size(): number {
    return this.due.size;
  }

  /** A tick is running its batch now. */
  get busy(): boolean {
    return this.running;
  }

  /** Looks at `key` again at `at` (the earliest wins when it is already watched). */
  add(key: string, item: WorkItem, at: number): void {
    const existing = this.due.get(key);
    if (existing && existing.at <= at) {
      if (item.eventAt > existing.item.eventAt) existing.item = { ...item, attempt: Math.max(item.attempt, existing.item.attempt) };
      return;
    }
    this.due.set(key, { item, at });
    this.counters.increment('watchScheduled');
    this.arm();
  }

  /** Stops the timer (tests, shutdown); what is due stays covered by the durable messages. */
  stop(): void {
    if (this.timer !== undefined) this.timers.clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Number.POSITIVE_INFINITY;
  }

  private arm(): void {
    if (this.running || this.due.size === 0) return;
    let earliest = Number.POSITIVE_INFINITY;
    for (const d of this.due.values()) earliest = Math.min(earliest, d.at);
    const at = Math.max(earliest, this.lastTickAt + this.gapMs);
    if (this.timer !== undefined && this.timerAt <= at) return;
    this.stop();
    this.timerAt = at;
    this.timer = this.timers.setTimeout(() => void this.tick(), Math.max(0, at - this.now()));
  }

  private async tick(): Promise<void> {
    this.timer = undefined;
    this.timerAt = Number.POSITIVE_INFINITY;
    const started = this.now();
    const batch = new Map<string, WorkItem>();
    for (const [key, d] of this.due) {
      if (d.at <= started + GATHER_MS) {
        batch.set(key, d.item);
        this.due.delete(key);
      }
    }
    this.lastTickAt = started;
    if (batch.size > 0) {
      this.running = true;
      this.counters.increment('watchTicks');
      try {
        await this.run(batch);
      } catch (error) {
        // The durable message at each id's settle deadline still comes; this only loses speed.
        this.logger.warn('in-worker re-check failed; the settle-time re-check will look again', { ids: batch.size, error: String(error) });
      } finally {
        this.running = false;
      }
      const took = this.now() - started;
      this.gapMs = took > SLOW_TICK_MS ? Math.min(MAX_GAP_MS, this.gapMs * 2) : Math.max(MIN_GAP_MS, this.gapMs / 2);
    }
    this.arm();
  }
}
