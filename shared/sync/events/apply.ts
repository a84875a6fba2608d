/**
 * The real-time use case: one queue message in, the catalog converged towards Azure's state out.
 *
 * An event only says "something changed at this id"; Resource Graph is the truth. Concurrent invocations in a
 * worker share one micro-batcher, so a window of events costs one convergence pass (one batched Resource Graph read,
 * one Port read, a few bulk writes) through the same core the reconciliation uses (applyBatch.ts).
 *
 * Per message the outcome is one of: applied (upsert/delete/unchanged), re-check scheduled, acknowledged without
 * change (failure/cancel/action types, noise, excluded types, foreign subscriptions, permanent per-entity failure),
 * or moved to the poison queue (malformed). A transient failure (Port or Resource Graph RetryableError, or anything
 * unexpected) makes handle() throw so the host retries the message with its visibility backoff.
 *
 * Event Grid delivers at least once: an event id this worker already applied is acknowledged without I/O (the queue
 * message id is useless for this; the event's own id is the key).
 */
import type { ResourceGraphApi } from '../../azure/types.js';
import { PermanentError, RetryableError } from '../../errors.js';
import type { Logger } from '../../log.js';
import type { BlueprintIds } from '../../port/blueprints.js';
import type { PortApi } from '../../port/types.js';
import { createDefaultMapping, type EntityMapping } from '../converge/mapping.js';
import { SwappableMapping } from '../converge/catalogMapping.js';
import { applyBatch, type KeyOutcome, type WorkItem } from './applyBatch.js';
import { MicroBatcher } from './batcher.js';
import { classifyEvent, targetFromId } from './classify.js';
import { EventCounters } from './counters.js';
import { parseQueueMessage, type ResourceEvent } from './message.js';
import { isLastAttempt } from './lastAttempt.js';
import type { PoisonQueue } from './poison.js';
import { FollowUps } from './followUps.js';
import { BoundedMap } from './boundedMap.js';
import type { RecheckScheduler } from './recheck.js';
import type { ArmReader } from '../../azure/armReader.js';
import { FreshObserver } from './freshObserve.js';
import { KnownStates } from './knownStates.js';
import { RecheckWatch, systemTimers, type Timers } from './watch.js';

export type { KeyOutcome } from './applyBatch.js';

export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

export interface EventProcessorOptions {
  flushWindowMs: number;
  settleTimeMs: number;
  /** Lower-case GUIDs; empty = any subscription. */
  subscriptionIds: readonly string[];
  includeResourceTypes: readonly string[];
  excludeResourceTypes: readonly string[];
  /** Distinct ids per Resource Graph lookup; flushes early when reached. Default 1000. */
  maxBatchIds?: number;
}

export interface EventProcessorDeps {
  port: PortApi;
  resourceGraph: ResourceGraphApi;
  blueprints: BlueprintIds;
  /** The mapping every path shares; the built-in one for `blueprints` when absent. */
  mapping?: EntityMapping;
  /** Asked before every batch for the mapping to use (a mapping kept in Port changes while the worker lives). */
  mappingSource?: () => Promise<EntityMapping>;
  recheck: RecheckScheduler;
  poison: PoisonQueue;
  logger: Logger;
  counters?: EventCounters;
  clock?: Clock;
  /** Direct ARM reads for sparse write events (absent: Resource Graph only). */
  arm?: ArmReader;
  /** Timers of the in-worker re-check schedule (the bench's virtual clock passes its own). */
  timers?: Timers;
}

export interface MessageMeta {
  /** The queue message id: for log lines only (never the event id). */
  messageId?: string;
  dequeueCount?: number;
  /**
   * host.json's maxDequeueCount. When set, a failure on the last allowed attempt is moved to the poison queue here
   * (stripped of personal data, with the reason) and the message completes, instead of the host copying the
   * original there (lastAttempt.ts).
   */
  maxDequeueCount?: number;
  /** Per-invocation logger (the invocation context); defaults to the processor's logger. */
  logger?: Logger;
}

export type MessageOutcome =
  | KeyOutcome
  | { status: 'ignored'; reason: string }
  | { status: 'dropped'; reason: string }
  | { status: 'duplicate'; eventId: string }
  | { status: 'poisoned'; reason: string };

/** How long this worker remembers an applied event id, and how many. */
const MEMORY_ENTRIES = 50_000;
const EVENT_MEMORY_MS = 60 * 60_000;

function newer(a: WorkItem, b: WorkItem): WorkItem {
  // The latest event decides the hint; ties keep the delete, which Resource Graph then confirms or overrides.
  const winner = b.eventAt > a.eventAt || (b.eventAt === a.eventAt && b.hint === 'delete') ? b : a;
  const merged: WorkItem = { ...winner, attempt: Math.max(a.attempt, b.attempt) };
  // Any event about the id itself makes it more than a parent refresh.
  if (a.refresh && b.refresh) merged.refresh = true;
  else delete merged.refresh;
  // A move out of the group asks for its children whatever else happened to it.
  if (a.children || b.children) merged.children = true;
  else delete merged.children;
  return merged;
}

function errorFields(error: unknown): Record<string, unknown> {
  if (error instanceof PermanentError || error instanceof RetryableError) return error.toLogFields();
  if (error instanceof Error) return { error: error.name, message: error.message };
  return { error: String(error) };
}

export class EventProcessor {
  readonly counters: EventCounters;
  private readonly clock: Clock;
  private readonly batcher: MicroBatcher<string, WorkItem, KeyOutcome>;
  private readonly followUps: FollowUps;
  /** Event ids applied by this worker → when that was (ms). */
  private readonly appliedEvents = new BoundedMap<string, number>(MEMORY_ENTRIES);
  private readonly mapping: SwappableMapping;
  private readonly known: KnownStates;
  private readonly observer: FreshObserver;
  readonly watch: RecheckWatch;

  constructor(
    private readonly deps: EventProcessorDeps,
    private readonly options: EventProcessorOptions,
  ) {
    if (!(options.settleTimeMs > 0)) throw new Error(`EventProcessor: settleTimeMs must be positive, got ${options.settleTimeMs}`);
    this.counters = deps.counters ?? new EventCounters();
    this.clock = deps.clock ?? systemClock;
    this.mapping = new SwappableMapping(deps.mapping ?? createDefaultMapping(deps.blueprints, options));
    this.known = new KnownStates(Math.max(4 * options.settleTimeMs, 10 * 60_000));
    this.watch = new RecheckWatch(
      async (items) => void (await Promise.allSettled([...items].map(([key, item]) => this.batcher.submit(key, item)))),
      () => this.clock.now(),
      deps.timers ?? systemTimers,
      this.counters,
      deps.logger,
    );
    this.followUps = new FollowUps(deps.recheck, options.settleTimeMs, this.counters, deps.logger, this.watch);
    this.observer = new FreshObserver(deps.resourceGraph, deps.arm, this.known, this.mapping, this.counters, (item, now) =>
      this.followUps.settled(item, now),
    );
    this.batcher = new MicroBatcher<string, WorkItem, KeyOutcome>({
      flushWindowMs: options.flushWindowMs,
      maxKeys: Math.min(1000, options.maxBatchIds ?? 1000),
      merge: (a, b) => {
        this.counters.increment('coalesced');
        return newer(a, b);
      },
      process: (batch) => this.processBatch(batch),
    });
  }

  /** Processes one queue message. Resolves when it may be deleted from the queue; throws when it must be retried. */
  async handle(message: unknown, meta: MessageMeta = {}): Promise<MessageOutcome> {
    const log = meta.logger ?? this.deps.logger;
    const base = {
      messageId: meta.messageId,
      ...(meta.dequeueCount !== undefined ? { dequeueCount: meta.dequeueCount } : {}),
    };
    const parsed = await parseQueueMessage(message);
    if (parsed.kind === 'malformed') return this.poison(message, parsed.reason, meta, log);

    let item: WorkItem;
    let parent: WorkItem | undefined;
    let eventId: string | undefined;
    let fields: Record<string, unknown>;
    if (parsed.kind === 'recheck') {
      this.counters.increment('recheckReceived');
      const target = targetFromId(parsed.recheck.resourceId);
      if (!target.ok) return this.poison(message, target.reason, meta, log);
      item = {
        target: target.target,
        hint: parsed.recheck.hint,
        eventAt: Date.parse(parsed.recheck.firstSeenAt),
        attempt: parsed.recheck.attempt,
        ...(parsed.recheck.children ? { refresh: true, children: true } : {}),
      };
      fields = { ...base, operation: `recheck:${item.hint}`, attempt: item.attempt, resourceId: item.target.id };
      this.followUps.received(item.target.id, item);
    } else {
      this.counters.increment('received');
      const event = parsed.event;
      fields = { ...base, ...this.eventFields(event) };
      const appliedAt = this.appliedEvents.get(event.id);
      if (appliedAt !== undefined && this.clock.now() - appliedAt < EVENT_MEMORY_MS) {
        this.counters.increment('duplicateEvent');
        log.debug('duplicate delivery of an applied event acknowledged', fields);
        return { status: 'duplicate', eventId: event.id };
      }
      eventId = event.id;
      const classification = classifyEvent(event, this.options);
      switch (classification.action) {
        case 'malformed':
          return this.poison(message, classification.reason, meta, log);
        case 'ignore':
          this.counters.increment(classification.counter);
          log.debug('event acknowledged without change', { ...fields, reason: classification.reason });
          return { status: 'ignored', reason: classification.reason };
        case 'drop':
          this.counters.increment('droppedForeignSubscription');
          log.warn('event dropped: foreign subscription', { ...fields, reason: classification.reason });
          return { status: 'dropped', reason: classification.reason };
        case 'sync':
          break;
      }
      // A future event time (clock skew) would postpone settling; nothing can have happened after now. A
      // notification says when the resource changed: that orders it against every other event for the id.
      const eventAt = Math.min((event.notification?.resourceEventTime ?? event.eventTime).getTime(), this.clock.now());
      this.noteEvent(classification.target.id, eventAt, event);
      item = {
        target: classification.target,
        hint: classification.hint,
        eventAt,
        attempt: 0,
        ...(classification.children ? { refresh: true, children: true } : {}),
      };
      if (classification.parent) {
        this.counters.increment('childRefreshedParent');
        parent = { target: classification.parent, hint: 'write', eventAt, attempt: 0, refresh: true };
      }
      fields = { ...fields, resourceId: item.target.id };
    }

    try {
      const [outcome, parentOutcome] = await Promise.all([
        this.batcher.submit(item.target.id, item),
        parent ? this.batcher.submit(parent.target.id, parent) : undefined,
      ]);
      const result = outcome.status === 'notTracked' && parentOutcome ? parentOutcome : outcome;
      if (eventId !== undefined) this.appliedEvents.set(eventId, this.clock.now());
      const quiet = result.status === 'notTracked' || result.status === 'recheckScheduled';
      log[quiet ? 'debug' : 'info']('event processed', { ...fields, outcome: result.status });
      return result;
    } catch (error) {
      this.counters.increment('retryableFailure');
      if (meta.maxDequeueCount !== undefined && isLastAttempt(meta.dequeueCount, meta.maxDequeueCount)) {
        const why = error instanceof Error ? error.message : String(error);
        const reason = `processing failed on the last allowed attempt (${meta.dequeueCount} of ${meta.maxDequeueCount}): ${why.slice(0, 500)}`;
        return this.poison(message, reason, meta, log, 'message');
      }
      log.warn('event processing failed; the host will retry the message', { ...fields, ...errorFields(error) });
      throw error;
    }
  }

  /** Processes whatever is pending now and waits for it (shutdown, tests). */
  async drain(): Promise<void> {
    await this.batcher.drain();
  }

  /** What the event tells about the id's state, for stale-read detection (knownStates.ts). */
  private noteEvent(id: string, eventAt: number, event: ResourceEvent): void {
    if (event.notification) this.counters.increment('notificationReceived');
    if (!this.known.noteEvent(id, eventAt)) this.counters.increment('lateEvent');
    else if (event.notification?.fields) this.known.noteNotification(id, event.notification.fields, eventAt);
  }

  private eventFields(event: ResourceEvent): Record<string, unknown> {
    return {
      eventId: event.id,
      eventType: event.eventType,
      ...(event.operationName ? { operationName: event.operationName } : {}),
      resourceUri: event.resourceUri.toLowerCase(),
    };
  }

  private async poison(message: unknown, reason: string, meta: MessageMeta, log: Logger, what = 'malformed message'): Promise<MessageOutcome> {
    // If the move fails this throws: the host retries, and after maxDequeueCount poisons the message itself.
    await this.deps.poison.moveToPoison(message, reason, meta.messageId ? { messageId: meta.messageId } : {});
    this.counters.increment('poisoned');
    log.error(`${what} moved to the poison queue: ${reason}`, {
      messageId: meta.messageId,
      dequeueCount: meta.dequeueCount,
      reason,
    });
    return { status: 'poisoned', reason };
  }

  private async processBatch(batch: Map<string, WorkItem>): Promise<Map<string, KeyOutcome | Error>> {
    // A mapping that cannot be loaded at all fails the batch (the host retries); a bad update keeps the last good one.
    if (this.deps.mappingSource) this.mapping.use(await this.deps.mappingSource());
    this.followUps.expire(this.clock.now());
    return applyBatch(
      {
        port: this.deps.port,
        resourceGraph: this.deps.resourceGraph,
        mapping: this.mapping,
        logger: this.deps.logger,
        counters: this.counters,
        now: () => this.clock.now(),
        observer: this.observer,
      },
      this.followUps,
      batch,
    );
  }
}
