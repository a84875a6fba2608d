/**
 * When the real-time path looks at an id again: the re-check of an item Resource Graph could not settle yet, and the
 * one confirming re-read of an item applied from a read that may be stale.
 *
 * Lag (a write not visible yet, a delete still listed, a read that may be stale): short, growing, batched looks in
 * the worker (watch.ts), plus ONE durable message on the events queue at the settle deadline (recheck.ts), which
 * gives the final verdict and survives restarts and scale-in. Coalesced per id and hint in this worker: the confirm
 * of a write is that same message. An id whose scope could not be proven readable keeps the +15/+45/+90 s ladder of
 * queue messages (that is not lag, and looking sooner would not help).
 */
import type { Logger } from '../../log.js';
import type { KeyOutcome, RecheckPolicy, WorkItem } from './applyBatch.js';
import type { EventCounters } from './counters.js';
import { nextRecheckDelayMs, type RecheckMessage, type RecheckScheduler } from './recheck.js';
import { fastRecheckDelayMs, type RecheckWatch } from './watch.js';

/** Beyond this many re-checks of one event we stop waiting, whatever the clocks say (fast looks included). */
const MAX_ATTEMPTS = 60;

function messageFor(key: string, item: WorkItem, hint: 'write' | 'delete'): RecheckMessage {
  return {
    azurePortSyncRecheck: 1,
    resourceId: key,
    hint,
    firstSeenAt: new Date(item.eventAt).toISOString(),
    attempt: item.attempt + 1,
    ...(item.children ? { children: true as const } : {}),
  };
}

const asError = (error: unknown): Error => (error instanceof Error ? error : new Error(String(error)));

export class FollowUps implements RecheckPolicy {
  /** Confirming re-reads already scheduled in this worker: normalised id → due time (ms). */
  private readonly confirmDue = new Map<string, number>();
  /** Durable settle-deadline re-checks of delete hints: normalised id → due time (ms). */
  private readonly deleteDue = new Map<string, number>();

  constructor(
    private readonly scheduler: RecheckScheduler,
    private readonly settleTimeMs: number,
    private readonly counters: EventCounters,
    private readonly logger: Logger,
    private readonly fast?: RecheckWatch,
  ) {}

  settled(item: WorkItem, now: number): boolean {
    return now - item.eventAt >= this.settleTimeMs || item.attempt >= MAX_ATTEMPTS;
  }

  /** Forgets confirms already due (call once per batch). */
  expire(now: number): void {
    for (const [id, at] of this.confirmDue) if (at < now) this.confirmDue.delete(id);
    for (const [id, at] of this.deleteDue) if (at < now) this.deleteDue.delete(id);
  }

  /** A re-check arriving before a confirm this worker scheduled may be that confirm: let a new one be scheduled. */
  received(key: string, item: WorkItem): void {
    const due = this.confirmDue.get(key);
    if (due !== undefined && due <= item.eventAt + this.settleTimeMs) this.confirmDue.delete(key);
    const deleteDue = this.deleteDue.get(key);
    if (deleteDue !== undefined && deleteDue <= item.eventAt + this.settleTimeMs) this.deleteDue.delete(key);
  }

  /** A read that may be stale (an update not showing yet, an operation still running): look again soon, in-worker. */
  watch(key: string, item: WorkItem, now: number): void {
    const delay = this.fast ? fastRecheckDelayMs(item, now, this.settleTimeMs) : undefined;
    if (delay === undefined) return;
    this.counters.increment('suspectRead');
    this.fast!.add(key, { ...item, attempt: item.attempt + 1 }, now + delay);
  }

  async confirm(key: string, item: WorkItem, now: number): Promise<Error | undefined> {
    const due = item.eventAt + this.settleTimeMs;
    const existing = this.confirmDue.get(key);
    if (existing !== undefined && existing >= due) {
      this.counters.increment('confirmCoalesced');
      return undefined;
    }
    try {
      await this.scheduler.schedule(messageFor(key, item, 'write'), due - now);
      this.confirmDue.set(key, due);
      this.counters.increment('confirmScheduled');
      return undefined;
    } catch (error) {
      // Without the confirm a stale read could stick: retry the whole message instead.
      return asError(error);
    }
  }

  async recheck(key: string, item: WorkItem, reason: string, now: number, kind: 'lag' | 'unproven' = 'lag'): Promise<KeyOutcome | Error> {
    if (kind === 'lag' && this.fast) return this.recheckFast(key, item, reason, now);
    const delayMs = nextRecheckDelayMs(item.attempt + 1, item.eventAt, now, this.settleTimeMs);
    const message = messageFor(key, item, item.hint);
    try {
      await this.scheduler.schedule(message, delayMs);
      this.counters.increment('recheckScheduled');
      this.logger.info(`re-check scheduled: ${reason}`, { resourceId: key, attempt: message.attempt, delayMs });
      return { status: 'recheckScheduled', delayMs, reason };
    } catch (error) {
      return asError(error);
    }
  }

  private async recheckFast(key: string, item: WorkItem, reason: string, now: number): Promise<KeyOutcome | Error> {
    const fastMs = fastRecheckDelayMs(item, now, this.settleTimeMs);
    if (fastMs !== undefined) this.fast!.add(key, { ...item, attempt: item.attempt + 1 }, now + fastMs);
    const due = item.eventAt + this.settleTimeMs;
    // The durable look at the settle deadline: for a write it is the confirm itself.
    if (item.hint === 'write') {
      const error = await this.confirm(key, item, now);
      if (error) return error;
    } else {
      const existing = this.deleteDue.get(key);
      if (existing !== undefined && existing >= due) this.counters.increment('backstopCoalesced');
      else {
        try {
          await this.scheduler.schedule(messageFor(key, item, 'delete'), Math.max(0, due - now));
          this.deleteDue.set(key, due);
          this.counters.increment('backstopScheduled');
        } catch (error) {
          return asError(error);
        }
      }
    }
    this.counters.increment('recheckScheduled');
    const delayMs = fastMs ?? Math.max(0, due - now);
    this.logger.debug(`re-check scheduled: ${reason}`, { resourceId: key, attempt: item.attempt + 1, delayMs });
    return { status: 'recheckScheduled', delayMs, reason };
  }
}
