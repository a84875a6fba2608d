/**
 * When the real-time path looks at an id again: the re-check of an item Resource Graph could not settle yet, and the
 * one confirming re-read of an item applied from a read that may be stale. Both travel as delayed messages on the
 * events queue (recheck.ts), so they survive restarts and scale-in. Confirms are coalesced per id in this worker.
 */
import type { Logger } from '../../log.js';
import type { KeyOutcome, RecheckPolicy, WorkItem } from './applyBatch.js';
import type { EventCounters } from './counters.js';
import { nextRecheckDelayMs, type RecheckMessage, type RecheckScheduler } from './recheck.js';

/** Beyond this many re-checks of one event we stop waiting, whatever the clocks say. */
const MAX_ATTEMPTS = 12;

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

  constructor(
    private readonly scheduler: RecheckScheduler,
    private readonly settleTimeMs: number,
    private readonly counters: EventCounters,
    private readonly logger: Logger,
  ) {}

  settled(item: WorkItem, now: number): boolean {
    return now - item.eventAt >= this.settleTimeMs || item.attempt >= MAX_ATTEMPTS;
  }

  /** Forgets confirms already due (call once per batch). */
  expire(now: number): void {
    for (const [id, at] of this.confirmDue) if (at < now) this.confirmDue.delete(id);
  }

  /** A re-check arriving before a confirm this worker scheduled may be that confirm: let a new one be scheduled. */
  received(key: string, item: WorkItem): void {
    const due = this.confirmDue.get(key);
    if (due !== undefined && due <= item.eventAt + this.settleTimeMs) this.confirmDue.delete(key);
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

  async recheck(key: string, item: WorkItem, reason: string, now: number): Promise<KeyOutcome | Error> {
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
}
