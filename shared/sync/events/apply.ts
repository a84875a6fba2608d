/**
 * The real-time use case: one queue message in, the catalog converged towards Azure's state out.
 *
 * An event only says "something changed at this id"; Resource Graph is the truth. Concurrent invocations in a
 * worker share one micro-batcher, so a window of events costs one Resource Graph lookup and a few bulk Port calls.
 *
 * Per message the outcome is one of: applied (upsert/delete), re-check scheduled, acknowledged without change
 * (failure/cancel/action types, noise, excluded types, foreign subscriptions, permanent per-entity failure), or moved
 * to the poison queue (malformed). A transient failure (Port or Resource Graph RetryableError, or anything unexpected)
 * makes handle() throw so the host retries the message with its visibility backoff.
 *
 * Resource Graph lags behind ARM, so:
 * - a write whose resource is not visible yet, and a delete whose resource is still visible, are re-checked later
 *   (re-check messages on the same queue, delayed), until EVENT_SETTLE_TIME after the event has passed; then we
 *   converge to what Resource Graph says (a still-missing write is logged and counted, and a resource entity for it
 *   is deleted; groups and subscriptions are left to reconciliation);
 * - a write applied from a possibly stale read, while the event is younger than the settle time, gets ONE confirming
 *   re-read at event time + settle time, coalesced per id in this worker.
 *
 * Two per-worker memories cut repeated work without changing outcomes:
 * - Event Grid delivers at least once: an event id this worker already applied is acknowledged without I/O
 *   (the queue message id is useless for this; the event's own id is the key);
 * - a re-check that reads exactly what this worker last wrote for that id skips the Port write. Live events always
 *   write, so an entity edited outside the sync is still corrected by the next event or by reconciliation.
 */
import { createHash } from 'node:crypto';
import type { ArgRow, ResourceGraphApi } from '../../azure/types.js';
import { toPortIdentifier } from '../../azure/resourceId.js';
import { PermanentError, RetryableError } from '../../errors.js';
import type { Logger } from '../../log.js';
import type { BlueprintIds } from '../../port/blueprints.js';
import type { PortApi, PortEntity } from '../../port/types.js';
import { MicroBatcher } from './batcher.js';
import { classifyEvent, targetFromId, type SyncTarget } from './classify.js';
import { EventCounters } from './counters.js';
import { parseQueueMessage, type ResourceEvent } from './message.js';
import { isLastAttempt } from './lastAttempt.js';
import type { PoisonQueue } from './poison.js';
import { nextRecheckDelayMs, type RecheckMessage, type RecheckScheduler } from './recheck.js';

export type RowMapper = (row: ArgRow, ids: BlueprintIds) => { blueprint: string; entity: PortEntity } | undefined;

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
  mapRow: RowMapper;
  blueprints: BlueprintIds;
  recheck: RecheckScheduler;
  poison: PoisonQueue;
  logger: Logger;
  counters?: EventCounters;
  clock?: Clock;
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

export type KeyOutcome =
  | { status: 'upserted'; blueprint: string; identifier: string; created: boolean }
  | { status: 'deleted'; blueprint: string; identifier: string; cascaded: number }
  | { status: 'recheckScheduled'; delayMs: number; reason: string }
  | { status: 'notVisibleAfterSettle' }
  /** A re-check read exactly what this worker last wrote: no Port write needed. */
  | { status: 'unchanged'; blueprint: string; identifier: string }
  /** A child Resource Graph does not list (subnet, container), or a parent refresh for a parent it does not show. */
  | { status: 'notTracked' }
  | { status: 'unmappable' }
  | { status: 'permanentFailure'; message: string; traceId?: string };

export type MessageOutcome =
  | KeyOutcome
  | { status: 'ignored'; reason: string }
  | { status: 'dropped'; reason: string }
  | { status: 'duplicate'; eventId: string }
  | { status: 'poisoned'; reason: string };

interface WorkItem {
  target: SyncTarget;
  hint: 'write' | 'delete';
  /** Event time of the event this item stands for (ms); settle time is measured from it. */
  eventAt: number;
  /** 0 for an Event Grid event; n for the n-th re-check. */
  attempt: number;
  /**
   * Only a refresh of a child's top-level parent: applied if Resource Graph shows the parent, otherwise nothing
   * (no re-checks, no delete) since the parent's own events cover its creation and deletion.
   */
  refresh?: boolean;
}

/** How many applied event ids / written entity hashes each worker remembers, and for how long. */
const MEMORY_ENTRIES = 50_000;
const EVENT_MEMORY_MS = 60 * 60_000;

/** A bounded insertion-ordered map: the oldest entries go first. */
class BoundedMap<K, V> {
  private readonly map = new Map<K, V>();
  constructor(private readonly max: number) {}
  get(key: K): V | undefined {
    return this.map.get(key);
  }
  set(key: K, value: V): void {
    this.map.delete(key);
    this.map.set(key, value);
    if (this.map.size > this.max) this.map.delete(this.map.keys().next().value as K);
  }
  delete(key: K): void {
    this.map.delete(key);
  }
  deleteWhere(predicate: (key: K) => boolean): void {
    for (const key of this.map.keys()) if (predicate(key)) this.map.delete(key);
  }
}

function entityHash(blueprint: string, entity: PortEntity): string {
  return createHash('sha1').update(blueprint).update('\0').update(JSON.stringify(entity)).digest('hex');
}

/** Beyond this many re-checks of one event we stop waiting, whatever the clocks say. */
const MAX_ATTEMPTS = 12;

const KIND_ORDER: SyncTarget['kind'][] = ['subscription', 'resourceGroup', 'resource'];

/** Re-check and confirm messages sent in parallel per batch: one queue round trip each. */
const QUEUE_SEND_CONCURRENCY = 32;

function newer(a: WorkItem, b: WorkItem): WorkItem {
  // The latest event decides the hint; ties keep the delete, which Resource Graph then confirms or overrides.
  const winner = b.eventAt > a.eventAt || (b.eventAt === a.eventAt && b.hint === 'delete') ? b : a;
  const merged: WorkItem = { ...winner, attempt: Math.max(a.attempt, b.attempt) };
  // Any event about the id itself makes it more than a parent refresh.
  if (a.refresh && b.refresh) merged.refresh = true;
  else delete merged.refresh;
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
  /** Confirming re-reads already scheduled in this worker: normalised id → due time (ms). */
  private readonly confirmDue = new Map<string, number>();
  /** Event ids applied by this worker → when that was (ms). */
  private readonly appliedEvents = new BoundedMap<string, number>(MEMORY_ENTRIES);
  /** Normalised id → hash of the entity this worker last wrote for it. */
  private readonly lastWritten = new BoundedMap<string, string>(MEMORY_ENTRIES);

  constructor(
    private readonly deps: EventProcessorDeps,
    private readonly options: EventProcessorOptions,
  ) {
    if (!(options.settleTimeMs > 0)) throw new Error(`EventProcessor: settleTimeMs must be positive, got ${options.settleTimeMs}`);
    this.counters = deps.counters ?? new EventCounters();
    this.clock = deps.clock ?? systemClock;
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
      };
      fields = { ...base, operation: `recheck:${item.hint}`, attempt: item.attempt, resourceId: item.target.id };
      // This may be the confirming re-read itself: let a new confirm be scheduled if it arrived early.
      const due = this.confirmDue.get(item.target.id);
      if (due !== undefined && due <= item.eventAt + this.options.settleTimeMs) this.confirmDue.delete(item.target.id);
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
      // A future event time (clock skew) would postpone settling; nothing can have happened after now.
      const eventAt = Math.min(event.eventTime.getTime(), this.clock.now());
      item = { target: classification.target, hint: classification.hint, eventAt, attempt: 0 };
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

  private blueprintOf(kind: SyncTarget['kind']): string {
    return this.deps.blueprints[kind];
  }

  private async processBatch(batch: Map<string, WorkItem>): Promise<Map<string, KeyOutcome | Error>> {
    const started = this.clock.now();
    const log = this.deps.logger;
    const outcomes = new Map<string, KeyOutcome | Error>();
    const ids = [...batch.keys()];
    const subscriptionIds = [...new Set([...batch.values()].map((i) => i.target.subscriptionId))].sort();

    for (const [id, at] of this.confirmDue) if (at < started) this.confirmDue.delete(id);
    const rows = await this.lookup(batch, ids, subscriptionIds, outcomes);
    const now = this.clock.now();

    const upserts: { key: string; item: WorkItem; row: ArgRow }[] = [];
    const deletes: { key: string; item: WorkItem }[] = [];
    const rechecks: { key: string; item: WorkItem; reason: string }[] = [];

    for (const [key, item] of batch) {
      if (outcomes.has(key)) continue;
      const row = rows.get(key);
      const settled = now - item.eventAt >= this.options.settleTimeMs || item.attempt >= MAX_ATTEMPTS;
      if (row) {
        if (item.hint === 'delete') {
          this.counters.increment('presentAfterDelete');
          if (!settled) {
            rechecks.push({ key, item, reason: 'deleted, but Resource Graph still shows it' });
            continue;
          }
          log.info('resource still present after the settle time of its delete event; keeping Azure state', { resourceId: key });
        }
        upserts.push({ key, item, row });
      } else if (item.hint === 'delete') {
        deletes.push({ key, item });
      } else if (item.target.child || item.refresh) {
        outcomes.set(key, { status: 'notTracked' });
      } else if (!settled) {
        rechecks.push({ key, item, reason: 'written, but Resource Graph does not show it yet' });
      } else {
        this.counters.increment('notVisibleAfterSettle');
        log.warn('written resource still not visible in Resource Graph after the settle time; following Resource Graph', {
          resourceId: key,
          attempt: item.attempt,
        });
        // Past the lag bound Resource Graph is the truth: a resource we may have upserted from a read inside a
        // create-then-delete window must go. Groups and subscriptions are left to reconciliation (no cascades on a
        // write hint).
        if (item.target.kind === 'resource') deletes.push({ key, item });
        else outcomes.set(key, { status: 'notVisibleAfterSettle' });
      }
    }

    await this.applyUpserts(upserts, now, outcomes);
    await this.applyDeletes(deletes, outcomes);
    await this.scheduleRechecks(rechecks, now, outcomes);

    log.info('event batch applied', {
      ids: ids.length,
      upserts: upserts.length,
      deletes: deletes.length,
      rechecks: rechecks.length,
      durationMs: this.clock.now() - started,
      counters: this.counters.snapshot(),
    });
    return outcomes;
  }

  /**
   * One Resource Graph lookup for the batch. A transient failure fails the whole batch (every invocation throws and
   * the host retries). A permanent one (e.g. 403: no access to a subscription) is narrowed down per subscription,
   * so only the events of the unreadable subscription are acknowledged as permanent failures.
   */
  private async lookup(
    batch: Map<string, WorkItem>,
    ids: string[],
    subscriptionIds: string[],
    outcomes: Map<string, KeyOutcome | Error>,
  ): Promise<Map<string, ArgRow>> {
    this.counters.increment('argLookups');
    try {
      return await this.deps.resourceGraph.lookupByIds(ids, { subscriptionIds });
    } catch (error) {
      if (!(error instanceof PermanentError)) throw error;
      if (subscriptionIds.length === 1) {
        for (const id of ids) this.recordPermanent(id, 'resource-graph', id, 'lookup', error, outcomes);
        return new Map();
      }
    }
    const rows = new Map<string, ArgRow>();
    for (const subscriptionId of subscriptionIds) {
      const subset = ids.filter((id) => batch.get(id)!.target.subscriptionId === subscriptionId);
      this.counters.increment('argLookups');
      try {
        for (const [k, v] of await this.deps.resourceGraph.lookupByIds(subset, { subscriptionIds: [subscriptionId] })) rows.set(k, v);
      } catch (error) {
        if (!(error instanceof PermanentError)) throw error;
        for (const id of subset) this.recordPermanent(id, 'resource-graph', id, 'lookup', error, outcomes);
      }
    }
    return rows;
  }

  private async applyUpserts(
    upserts: { key: string; item: WorkItem; row: ArgRow }[],
    now: number,
    outcomes: Map<string, KeyOutcome | Error>,
  ): Promise<void> {
    const byBlueprint = new Map<string, { key: string; item: WorkItem; entity: PortEntity; hash: string }[]>();
    for (const u of upserts) {
      let mapped: ReturnType<RowMapper>;
      try {
        mapped = this.deps.mapRow(u.row, this.deps.blueprints);
      } catch (error) {
        mapped = undefined;
        this.deps.logger.warn('Resource Graph row could not be mapped', { resourceId: u.key, ...errorFields(error) });
      }
      if (!mapped) {
        this.counters.increment('unmappable');
        outcomes.set(u.key, { status: 'unmappable' });
        continue;
      }
      const hash = entityHash(mapped.blueprint, mapped.entity);
      if (u.item.attempt > 0 && this.lastWritten.get(u.key) === hash) {
        this.counters.increment('unchangedSkipped');
        outcomes.set(u.key, { status: 'unchanged', blueprint: mapped.blueprint, identifier: mapped.entity.identifier });
        continue;
      }
      const list = byBlueprint.get(mapped.blueprint) ?? [];
      list.push({ key: u.key, item: u.item, entity: mapped.entity, hash });
      byBlueprint.set(mapped.blueprint, list);
    }
    // Relation targets first, so a resource never points at a group Port has not seen yet.
    const order = KIND_ORDER.map((k) => this.blueprintOf(k));
    const blueprints = [...byBlueprint.keys()].sort((a, b) => (order.indexOf(a) + 1 || 99) - (order.indexOf(b) + 1 || 99));
    const confirms: { key: string; item: WorkItem }[] = [];
    for (const blueprint of blueprints) {
      const list = byBlueprint.get(blueprint)!;
      this.counters.increment('portUpsertCalls', Math.ceil(list.length / 20));
      let results: Awaited<ReturnType<PortApi['upsertEntities']>>;
      try {
        results = await this.deps.port.upsertEntities(
          blueprint,
          list.map((l) => l.entity),
        );
      } catch (error) {
        for (const l of list) outcomes.set(l.key, error instanceof Error ? error : new Error(String(error)));
        continue;
      }
      for (let i = 0; i < list.length; i++) {
        const l = list[i]!;
        const result = results[i];
        if (!result?.ok) this.lastWritten.delete(l.key);
        if (!result) {
          outcomes.set(l.key, new Error(`Port returned no result for ${l.entity.identifier}`));
        } else if (result.ok) {
          this.counters.increment('upserted');
          this.lastWritten.set(l.key, l.hash);
          outcomes.set(l.key, { status: 'upserted', blueprint, identifier: result.identifier, created: result.created });
        } else if (result.error instanceof PermanentError) {
          this.recordPermanent(l.key, blueprint, result.identifier, 'upsert', result.error, outcomes);
          continue;
        } else {
          outcomes.set(l.key, result.error);
          continue;
        }
        if (result?.ok && now - l.item.eventAt < this.options.settleTimeMs && l.item.attempt < MAX_ATTEMPTS) {
          confirms.push({ key: l.key, item: l.item });
        }
      }
    }
    await forEachConcurrent(confirms, QUEUE_SEND_CONCURRENCY, (c) => this.scheduleConfirm(c.key, c.item, now, outcomes));
  }

  private recordPermanent(
    key: string,
    blueprint: string,
    identifier: string,
    operation: string,
    error: PermanentError,
    outcomes: Map<string, KeyOutcome | Error>,
  ): void {
    this.counters.increment('permanentFailure');
    const service = operation === 'lookup' ? 'Resource Graph' : 'Port';
    this.deps.logger.error(`${service} rejected the ${operation}; the event is acknowledged, reconciliation will retry`, {
      resourceId: key,
      blueprint,
      identifier,
      ...error.toLogFields(),
    });
    outcomes.set(key, {
      status: 'permanentFailure',
      message: error.message,
      ...(error.traceId ? { traceId: error.traceId } : {}),
    });
  }

  private async scheduleConfirm(key: string, item: WorkItem, now: number, outcomes: Map<string, KeyOutcome | Error>): Promise<void> {
    const due = item.eventAt + this.options.settleTimeMs;
    const existing = this.confirmDue.get(key);
    if (existing !== undefined && existing >= due) {
      this.counters.increment('confirmCoalesced');
      return;
    }
    const message: RecheckMessage = {
      azurePortSyncRecheck: 1,
      resourceId: key,
      hint: 'write',
      firstSeenAt: new Date(item.eventAt).toISOString(),
      attempt: item.attempt + 1,
    };
    try {
      await this.deps.recheck.schedule(message, due - now);
      this.confirmDue.set(key, due);
      this.counters.increment('confirmScheduled');
    } catch (error) {
      // Without the confirm a stale read could stick: retry the whole message instead.
      outcomes.set(key, error instanceof Error ? error : new Error(String(error)));
    }
  }

  private async applyDeletes(deletes: { key: string; item: WorkItem }[], outcomes: Map<string, KeyOutcome | Error>): Promise<void> {
    const cascaded = new Map<string, number>();
    // Children first: the group's own delete must not fail on dependents, and per-child events are not guaranteed.
    for (const d of deletes.filter((x) => x.item.target.kind === 'resourceGroup')) {
      try {
        cascaded.set(d.key, await this.cascadeResourceGroup(d.key));
      } catch (error) {
        outcomes.set(d.key, error instanceof Error ? error : new Error(String(error)));
      }
    }
    for (const kind of ['resource', 'resourceGroup', 'subscription'] as const) {
      const list = deletes.filter((d) => d.item.target.kind === kind && !outcomes.has(d.key));
      if (list.length === 0) continue;
      const blueprint = this.blueprintOf(kind);
      const identifiers = list.map((d) => toPortIdentifier(d.key));
      this.counters.increment('portDeleteCalls', Math.ceil(identifiers.length / 100));
      let result: Awaited<ReturnType<PortApi['deleteEntities']>>;
      try {
        result = await this.deps.port.deleteEntities(blueprint, identifiers, { deleteDependents: false });
      } catch (error) {
        for (const d of list) outcomes.set(d.key, error instanceof Error ? error : new Error(String(error)));
        continue;
      }
      const failed = new Map(result.failed.map((f) => [f.identifier, f.error]));
      list.forEach((d, i) => {
        const identifier = identifiers[i]!;
        const error = failed.get(identifier);
        this.lastWritten.delete(d.key);
        if (!error) {
          this.counters.increment('deleted');
          outcomes.set(d.key, { status: 'deleted', blueprint, identifier, cascaded: cascaded.get(d.key) ?? 0 });
        } else if (error instanceof PermanentError) {
          this.recordPermanent(d.key, blueprint, identifier, 'delete', error, outcomes);
        } else {
          outcomes.set(d.key, error);
        }
      });
    }
  }

  /** Deletes every resource entity under the group (identifier prefix); returns how many. Throws on any failure. */
  private async cascadeResourceGroup(groupId: string): Promise<number> {
    const blueprint = this.blueprintOf('resource');
    const prefix = `${toPortIdentifier(groupId)}/`;
    const groupPrefix = `${groupId}/`;
    this.lastWritten.deleteWhere((id) => id.startsWith(groupPrefix));
    const children: string[] = [];
    for await (const page of this.deps.port.searchEntities(blueprint, {
      query: { combinator: 'and', rules: [{ property: '$identifier', operator: 'beginsWith', value: prefix }] },
      include: ['$identifier'],
    })) {
      // Port's beginsWith may ignore case; our identifiers are lower-case, so re-check exactly.
      for (const entity of page) if (entity.identifier.startsWith(prefix)) children.push(entity.identifier);
    }
    if (children.length === 0) return 0;
    this.counters.increment('portDeleteCalls', Math.ceil(children.length / 100));
    const result = await this.deps.port.deleteEntities(blueprint, children, { deleteDependents: false });
    if (result.failed.length > 0) {
      const first = result.failed[0]!;
      const permanent = result.failed.every((f) => f.error instanceof PermanentError);
      if (permanent) {
        // Retrying cannot help; log and delete what we can. Reconciliation reports what is left.
        this.counters.increment('permanentFailure', result.failed.length);
        this.deps.logger.error('Port refused to delete some resources of a deleted resource group', {
          resourceId: groupId,
          failed: result.failed.length,
          ...first.error.toLogFields(),
        });
      } else {
        throw first.error;
      }
    }
    this.counters.increment('cascadeDeleted', result.deleted.length);
    return result.deleted.length;
  }

  private async scheduleRechecks(
    rechecks: { key: string; item: WorkItem; reason: string }[],
    now: number,
    outcomes: Map<string, KeyOutcome | Error>,
  ): Promise<void> {
    await forEachConcurrent(rechecks, QUEUE_SEND_CONCURRENCY, async ({ key, item, reason }) => {
      const delayMs = nextRecheckDelayMs(item.attempt + 1, item.eventAt, now, this.options.settleTimeMs);
      const message: RecheckMessage = {
        azurePortSyncRecheck: 1,
        resourceId: key,
        hint: item.hint,
        firstSeenAt: new Date(item.eventAt).toISOString(),
        attempt: item.attempt + 1,
      };
      try {
        await this.deps.recheck.schedule(message, delayMs);
        this.counters.increment('recheckScheduled');
        this.deps.logger.info(`re-check scheduled: ${reason}`, { resourceId: key, attempt: message.attempt, delayMs });
        outcomes.set(key, { status: 'recheckScheduled', delayMs, reason });
      } catch (error) {
        outcomes.set(key, error instanceof Error ? error : new Error(String(error)));
      }
    });
  }
}

/** Runs fn over items with at most `limit` in flight (fn must not throw; failures are recorded as outcomes). */
async function forEachConcurrent<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
