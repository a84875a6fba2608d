/**
 * Named counters for the real-time path. Each worker keeps its own; they are logged with every batch summary so
 * Application Insights queries can sum them, and tests read them directly.
 */
export type EventCounterName =
  | 'received'
  | 'recheckReceived'
  | 'upserted'
  | 'deleted'
  | 'cascadeDeleted'
  | 'ignoredFailureOrCancel'
  | 'ignoredAction'
  | 'ignoredNoise'
  | 'ignoredExcludedType'
  | 'droppedForeignSubscription'
  | 'childRefreshedParent'
  | 'poisoned'
  | 'coalesced'
  | 'duplicateEvent'
  | 'unchangedSkipped'
  | 'recheckScheduled'
  | 'confirmScheduled'
  | 'confirmCoalesced'
  | 'notVisibleAfterSettle'
  | 'unproven'
  | 'presentAfterDelete'
  | 'unmappable'
  | 'permanentFailure'
  | 'retryableFailure'
  | 'argLookups'
  | 'portUpsertCalls'
  | 'portDeleteCalls'
  // Freshness (issue #14): in-worker re-checks, ARM direct reads, stale reads, Resource Notifications.
  | 'watchScheduled'
  | 'watchTicks'
  | 'backstopScheduled'
  | 'backstopCoalesced'
  | 'armReads'
  | 'armFresh'
  | 'armNotFoundWhileListed'
  | 'staleReadReplaced'
  | 'suspectRead'
  | 'notificationReceived'
  | 'notificationOverlaid'
  | 'lateEvent';

export class EventCounters {
  private readonly values = new Map<EventCounterName, number>();

  increment(name: EventCounterName, by = 1): void {
    this.values.set(name, (this.values.get(name) ?? 0) + by);
  }

  get(name: EventCounterName): number {
    return this.values.get(name) ?? 0;
  }

  snapshot(): Partial<Record<EventCounterName, number>> {
    return Object.fromEntries(this.values);
  }

  reset(): void {
    this.values.clear();
  }
}
