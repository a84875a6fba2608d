/**
 * One micro-batch of the real-time path: the events' ids go through the convergence core (the same one the
 * reconciliation uses), and each event gets its own outcome. What is specific to events is only *when* to look again:
 * Resource Graph lags ARM, so until EVENT_SETTLE_TIME after the event
 *  - a write whose resource is not visible yet, a delete whose resource is still visible, and an id whose scope
 *    could not be proven readable are re-checked later (messages on the same queue, delayed);
 *  - a write applied from a read that may be stale gets one confirming re-read at event time + settle time.
 * After the settle time whatever the core decides is final; what it cannot decide (never proven absent, never
 * visible) is logged and left to reconciliation. A write hint never deletes.
 */
import { PermanentError } from '../../errors.js';
import type { Logger } from '../../log.js';
import type { PortApi } from '../../port/types.js';
import type { ResourceGraphApi } from '../../azure/types.js';
import { converge, type ConvergeRequest, type TargetResult } from '../converge/converge.js';
import type { EntityMapping } from '../converge/mapping.js';
import { PortCatalogWriter } from '../converge/portWriter.js';
import { provisioningInFlight } from '../../azure/armNormalize.js';
import type { SyncTarget } from './classify.js';
import type { EventCounters } from './counters.js';
import type { FreshObserver } from './freshObserve.js';

export interface WorkItem {
  target: SyncTarget;
  hint: 'write' | 'delete';
  /** Event time of the event this item stands for (ms); settle time is measured from it. */
  eventAt: number;
  /** 0 for an Event Grid event; n for the n-th re-check. */
  attempt: number;
  /**
   * Only a refresh of a child's top-level parent (or of a group resources moved out of): applied if Resource Graph
   * shows it, otherwise nothing, since the parent's own events cover its creation and deletion.
   */
  refresh?: boolean;
  /** A group resources were moved out of: converge every entity Port holds under it. */
  children?: boolean;
}

export type KeyOutcome =
  | { status: 'upserted'; blueprint: string; identifier: string; created: boolean }
  | { status: 'deleted'; blueprint: string; identifier: string; cascaded: number }
  | { status: 'recheckScheduled'; delayMs: number; reason: string }
  | { status: 'notVisibleAfterSettle' }
  /** Port already holds exactly what Resource Graph shows. */
  | { status: 'unchanged'; blueprint: string; identifier: string }
  /** Absence could not be proven (scope not readable, inconclusive read) even after the settle time. */
  | { status: 'unproven'; reason: string }
  /** A child Resource Graph does not list (subnet, container), or a parent refresh for a parent it does not show. */
  | { status: 'notTracked' }
  | { status: 'unmappable' }
  | { status: 'permanentFailure'; message: string; traceId?: string };

/** What the batch needs to ask of the processor's scheduling of later reads. */
export interface RecheckPolicy {
  /** Schedules a re-check of an item not settled yet (lag, or an unproven scope); resolves to its outcome. */
  recheck(key: string, item: WorkItem, reason: string, now: number, kind?: 'lag' | 'unproven'): Promise<KeyOutcome | Error>;
  /** A present row that may be stale: look again soon (in-worker; the confirm stays the durable look). */
  watch(key: string, item: WorkItem, now: number): void;
  /** Schedules the confirming re-read of an item applied before its settle time; an Error when that failed. */
  confirm(key: string, item: WorkItem, now: number): Promise<Error | undefined>;
  settled(item: WorkItem, now: number): boolean;
}

export interface BatchDeps {
  port: PortApi;
  resourceGraph: ResourceGraphApi;
  mapping: EntityMapping;
  logger: Logger;
  counters: EventCounters;
  now: () => number;
  /** ARM reads and stale-read detection in front of Resource Graph (freshObserve.ts); plain Resource Graph without. */
  observer?: FreshObserver;
}

function request(key: string, item: WorkItem, settled: boolean): ConvergeRequest {
  const container = item.target.kind === 'resourceGroup' || item.target.kind === 'subscription';
  // Per-child delete events are not guaranteed, and a move out of a group names none of the moved ids: what Port
  // holds under the group is re-read too, child by child, each deleted only on its own proof.
  const includeChildren = item.children === true || (item.hint === 'delete' && container);
  if (item.refresh) return { id: key, hint: 'refresh', ...(includeChildren ? { includeChildren } : {}) };
  return {
    id: key,
    hint: item.hint,
    ...(item.hint === 'delete' && !settled ? { holdIfPresent: true } : {}),
    ...(includeChildren ? { includeChildren } : {}),
  };
}

function failureOutcome(result: TargetResult): KeyOutcome | Error | undefined {
  if (result.failures.length === 0) return undefined;
  const retryable = result.failures.find((f) => !(f.error instanceof PermanentError) || f.error.status === 401 || f.error.status === 403);
  if (retryable) return retryable.error;
  const first = result.failures[0]!.error as PermanentError;
  return { status: 'permanentFailure', message: first.message, ...(first.traceId ? { traceId: first.traceId } : {}) };
}

export async function applyBatch(deps: BatchDeps, policy: RecheckPolicy, batch: Map<string, WorkItem>): Promise<Map<string, KeyOutcome | Error>> {
  const { logger, counters } = deps;
  const started = deps.now();
  const outcomes = new Map<string, KeyOutcome | Error>();
  const subscriptionIds = [...new Set([...batch.values()].map((i) => i.target.subscriptionId.toLowerCase()))].sort();
  const settledAtStart = new Map([...batch].map(([key, item]) => [key, policy.settled(item, started)]));
  const writer = new PortCatalogWriter(deps.port, logger, { fieldsOf: fieldsLookup(deps.mapping), writeOptions: () => deps.mapping.portOptions });

  counters.increment('argLookups');
  const observed = deps.observer?.forBatch(batch, started);
  const result = await converge(
    { graph: observed?.graph ?? deps.resourceGraph, port: deps.port, mapping: deps.mapping, writer, scope: { subscriptionIds } },
    [...batch].map(([key, item]) => request(key, item, settledAtStart.get(key)!)),
  );
  const now = deps.now();
  const upsertOf = new Map(result.plan.upserts.map((u) => [u.target, u]));
  const deleteOf = new Map(result.plan.deletes.map((d) => [d.target, d]));
  const followUps: Promise<void>[] = [];
  const later = (key: string, item: WorkItem, reason: string, kind: 'lag' | 'unproven' = 'lag') =>
    followUps.push(policy.recheck(key, item, reason, now, kind).then((o) => void outcomes.set(key, o)));

  for (const [key, item] of batch) {
    const settled = settledAtStart.get(key)!;
    const r = result.results.get(key);
    if (!r) {
      outcomes.set(key, new Error(`the convergence core returned no result for ${key}`));
      continue;
    }
    const failed = failureOutcome(r);
    if (failed) {
      if (!(failed instanceof Error)) {
        counters.increment('permanentFailure');
        const first = r.failures[0]!;
        const operation = upsertOf.has(key) ? 'upsert' : 'delete';
        logger.error(`Port rejected the ${operation}; the event is acknowledged, reconciliation will retry`, {
          resourceId: key,
          identifier: first.identifier,
          ...first.error.toLogFields(),
        });
      }
      outcomes.set(key, failed);
      continue;
    }
    const upsert = upsertOf.get(key);
    const v = r.verdict;
    switch (v.status) {
      case 'present': {
        const ref = upsert?.ref;
        if (item.hint === 'delete' && !item.refresh && settled) {
          counters.increment('presentAfterDelete');
          logger.info('resource still present after the settle time of its delete event; keeping Azure state', { resourceId: key });
        }
        const dropped = deleteOf.get(key);
        if (v.writes > 0 && ref) {
          counters.increment('upserted');
          outcomes.set(key, { status: 'upserted', blueprint: ref.blueprint, identifier: ref.identifier, created: upsert.change.kind === 'create' });
        } else if (v.writes > 0 && dropped) {
          // The row is there, but the mapping no longer selects it (a selector turned false): its entity went.
          counters.increment('deleted');
          outcomes.set(key, { status: 'deleted', blueprint: dropped.ref.blueprint, identifier: dropped.ref.identifier, cascaded: 0 });
        } else {
          counters.increment('unchangedSkipped');
          const mapped = deps.mapping.refsOfId(key)[0];
          outcomes.set(key, { status: 'unchanged', blueprint: mapped?.blueprint ?? '', identifier: mapped?.identifier ?? key });
        }
        if (!settled) {
          const source = observed?.sourceOf(key);
          const inFlight = provisioningInFlight(observed?.rowOf(key));
          // Read from ARM after the event: the state is the current one, no confirm needed (a later change has its
          // own event). From Resource Graph: confirmed at the settle deadline, and looked at again soon when the read
          // may be stale (an update that changed nothing yet, an operation still running).
          if (source === 'arm' || source === 'known') counters.increment('armFresh');
          else followUps.push(policy.confirm(key, item, now).then((error) => void (error && outcomes.set(key, error))));
          const suspect = inFlight || (source === 'graph' && item.hint === 'write' && !item.refresh && v.writes === 0);
          if (suspect) policy.watch(key, item, now);
        }
        break;
      }
      case 'deleted':
      case 'alreadyAbsent':
      case 'protected': {
        const ref = deps.mapping.refsOfId(key)[0];
        const children = result.expanded.get(key) ?? [];
        const cascaded = children.filter((c) => result.results.get(c)?.verdict.status === 'deleted').length;
        if (v.status === 'deleted') counters.increment('deleted');
        if (cascaded > 0) counters.increment('cascadeDeleted', cascaded);
        outcomes.set(key, { status: 'deleted', blueprint: ref?.blueprint ?? '', identifier: ref?.identifier ?? key, cascaded });
        break;
      }
      case 'held':
        counters.increment('presentAfterDelete');
        later(key, item, 'deleted, but Resource Graph still shows it');
        break;
      case 'notVisible':
        if (item.target.child) outcomes.set(key, { status: 'notTracked' });
        else if (!settled) later(key, item, 'written, but Resource Graph does not show it yet');
        else {
          counters.increment('notVisibleAfterSettle');
          logger.warn('written resource still not visible in Resource Graph after the settle time; left to reconciliation', {
            resourceId: key,
            attempt: item.attempt,
          });
          outcomes.set(key, { status: 'notVisibleAfterSettle' });
        }
        break;
      case 'unknown':
        if (v.cause === 'notTracked') outcomes.set(key, { status: 'notTracked' });
        else if (!settled) later(key, item, `could not be proven either way: ${v.reason}`, 'unproven');
        else {
          counters.increment('unproven');
          logger.warn('Resource Graph could not prove the state of an id after the settle time; nothing was deleted, reconciliation will look again', {
            resourceId: key,
            reason: v.reason,
          });
          outcomes.set(key, { status: 'unproven', reason: v.reason });
        }
        break;
      case 'unmappable':
        counters.increment('unmappable');
        logger.warn('Resource Graph row could not be mapped', { resourceId: key, reason: v.reason });
        outcomes.set(key, { status: 'unmappable' });
        break;
      case 'notTracked':
        outcomes.set(key, { status: 'notTracked' });
        break;
    }
  }
  await Promise.all(followUps);
  counters.increment('portUpsertCalls', Math.ceil(result.plan.upserts.length / 20));
  if (result.plan.deletes.length > 0) counters.increment('portDeleteCalls', Math.ceil(result.plan.deletes.length / 100));
  logger.info('event batch applied', {
    ids: batch.size,
    upserts: result.plan.upserts.length,
    deletes: result.plan.deletes.length,
    durationMs: deps.now() - started,
    counters: counters.snapshot(),
  });
  return outcomes;
}

function fieldsLookup(mapping: EntityMapping) {
  const byBlueprint = new Map(mapping.blueprints.map((b) => [b.fields.blueprint, b.fields]));
  return (blueprint: string) => byBlueprint.get(blueprint);
}

