/**
 * Full reconciliation: make every blueprint the mapping writes equal to what Resource Graph shows for the scope.
 *
 * 1. Fingerprint what Port holds in scope (identifier → short hash; never whole entities).
 * 2. Stream subscriptions, then resource groups, then resources from Resource Graph page by page (and, per level,
 *    the rows of each mapping entry's own selector.graphQuery); map each row, compare with Port's fingerprint and
 *    queue only real changes for bulk upsert while the next page is read.
 *    Each level is flushed before the next starts, so relation targets exist before what points at them.
 * 3. Whatever Port holds in scope and Azure did not return is a deletion candidate; the deletion guard decides
 *    (deletionGuard.ts), and deletions run children first: resources, groups, subscriptions.
 *
 * Any Resource Graph error throws out of here before step 3, so a partial read never deletes anything; any failed
 * write or unmappable row, retryable or not, skips step 3 too.
 */
import type { ArgOperationOptions, ArgRow, QueryScope } from '../../azure/types.js';
import type { PortApi } from '../../port/types.js';
import { changedFields, fingerprint, withExplicitNulls, type BlueprintFields } from '../converge/fingerprint.js';
import { decideDeletions } from './deletionGuard.js';
import { loadPortSnapshot, type PortSnapshot } from './portSnapshot.js';
import { parseResourceId, subscriptionIdOf } from '../../azure/resourceId.js';
import { runProblems, typeAllowed, type ReconcilePhase, type SyncContext, type SyncOutcome } from './context.js';
import { prefetch, type Prefetched } from './prefetch.js';
import { PermanentError } from '../../errors.js';
import { applyLostSubscriptions, trackLostSubscriptions } from './lostSubscriptions.js';
import { converge } from '../converge/converge.js';
import { azureIdOfIdentifier } from '../converge/identifiers.js';
import type { EntityRef, RowMapping } from '../converge/mapping.js';

type Level = 'subscription' | 'resourceGroup' | 'resource';

/** Resource Graph pages (≤ 1000 rows each) read ahead per level. */
const PREFETCH_PAGES = 4;

const LEVELS: { level: Level; phase: ReconcilePhase }[] = [
  { level: 'subscription', phase: 'subscriptions' },
  { level: 'resourceGroup', phase: 'resourceGroups' },
  { level: 'resource', phase: 'resources' },
];

/** What the state remembers about subscriptions between full syncs. */
export interface SubscriptionMemory {
  lostSubscriptions?: Record<string, string>;
  knownSubscriptions?: string[];
}

export async function runFullSync(ctx: SyncContext, memory: SubscriptionMemory = {}): Promise<SyncOutcome> {
  const subscriptionsInScope = new Set(ctx.scope.subscriptionIds.map((s) => s.toLowerCase()));
  // Resource Graph pages start arriving while Port is read and while the previous level's writes drain; each
  // level's buffer is bounded, so memory is too.
  const streams: Record<Level, Prefetched<ArgRow[]>> = {
    subscription: prefetch(listLevel(ctx, 'subscription'), PREFETCH_PAGES),
    resourceGroup: prefetch(listLevel(ctx, 'resourceGroup'), PREFETCH_PAGES),
    resource: prefetch(listLevel(ctx, 'resource'), PREFETCH_PAGES),
  };
  try {
    return await syncLevels(ctx, subscriptionsInScope, streams, memory);
  } finally {
    await Promise.all(Object.values(streams).map((s) => s.close()));
  }
}

async function syncLevels(
  ctx: SyncContext,
  subscriptionsInScope: ReadonlySet<string>,
  streams: Record<Level, Prefetched<ArgRow[]>>,
  memory: SubscriptionMemory,
): Promise<SyncOutcome> {
  let portEntitiesRead = 0;
  const snapshotOf = (fields: BlueprintFields) =>
    loadSnapshotOrEmpty(ctx.port, fields, subscriptionsInScope, {
      abortSignal: ctx.abortSignal,
      detailed: ctx.detailed,
      onPage: (n) => {
        portEntitiesRead += n;
        ctx.progress('port-read', 0, portEntitiesRead);
      },
    });
  const unstableBefore = ctx.graph.unstableListingCount?.() ?? 0;
  const blueprints = ctx.mapping.blueprints;
  const snapshotList = await Promise.all(blueprints.map((b) => snapshotOf(b.fields)));
  const snapshots = new Map(snapshotList.map((snapshot) => [snapshot.blueprint, snapshot]));
  const fieldsOf = new Map(blueprints.map((b) => [b.fields.blueprint, b.fields]));
  const seen = new Map(blueprints.map((b) => [b.fields.blueprint, new Set<string>()]));
  const subscriptionsWithRows = new Set<string>();
  const unmapped = { count: 0 };

  const writeMapped = async (row: ArgRow, mapped: RowMapping, source?: string): Promise<void> => {
    // A row we cannot map leaves its entities unseen, so they would look deleted: runProblems holds deletions back.
    if (mapped.error !== undefined) {
      unmapped.count += 1;
      ctx.logger.warn('reconcile could not map a Resource Graph row', { id: row.id, reason: mapped.error, ...(source ? { source } : {}) });
      return;
    }
    for (const { blueprint, entity } of mapped.entities) {
      const fields = fieldsOf.get(blueprint);
      const seenHere = seen.get(blueprint);
      if (!fields || !seenHere || seenHere.has(entity.identifier)) continue;
      seenHere.add(entity.identifier);
      const after = fingerprint(entity, fields, ctx.detailed);
      const before = snapshots.get(blueprint)?.fingerprints.get(entity.identifier);
      if (before === after) {
        ctx.writer.unchanged(blueprint);
        continue;
      }
      await ctx.writer.upsert(
        blueprint,
        withExplicitNulls(entity, fields),
        before === undefined
          ? { kind: 'create' }
          : { kind: 'update', ...(ctx.detailed ? { fields: changedFields(before, after, fields) } : {}) },
      );
    }
  };

  for (const { level, phase } of LEVELS) {
    let pages = 0;
    let rows = 0;
    for await (const page of streams[level]) {
      ctx.abortSignal?.throwIfAborted();
      pages += 1;
      for (const row of page) {
        rows += 1;
        const subscription = (row.subscriptionId ?? subscriptionOfRow(row.id) ?? '').toLowerCase();
        if (subscription) subscriptionsWithRows.add(subscription);
        if (level === 'resource' && !typeAllowed(row.type, ctx.azure)) continue;
        await writeMapped(row, ctx.mapping.mapRow(row));
      }
      ctx.progress(phase, pages, rows);
    }
    // Entries with their own KQL (selector.graphQuery) at this level: the full sync pages each query, so their
    // entities are seen like any other and never look stale because the app's own listing does not carry them.
    for (const source of (ctx.mapping.graphQueries ?? []).filter((g) => g.level === level)) {
      for await (const page of listGraphQuery(ctx, source.query)) {
        ctx.abortSignal?.throwIfAborted();
        pages += 1;
        const usable = page.filter((row) => typeof row.id === 'string' && (level !== 'resource' || typeAllowed(typeOfId(row.id), ctx.azure)));
        const mapped = ctx.mapping.mapGraphQueryRows!(source.entry, usable);
        for (let k = 0; k < usable.length; k++) await writeMapped(usable[k]!, mapped[k]!, `resources[${source.entry}].selector.graphQuery`);
        rows += page.length;
        ctx.progress(phase, pages, rows);
      }
    }
    await ctx.writer.flush();
  }

  const listingUnstable = (ctx.graph.unstableListingCount?.() ?? 0) > unstableBefore;
  const beforeDeletion = runProblems(ctx.writer, unmapped.count);

  const silentSubscriptions: string[] = [];
  const subscriptionsInPort = new Set<string>();
  for (const snapshot of snapshots.values()) for (const s of snapshot.countBySubscription.keys()) subscriptionsInPort.add(s);
  for (const s of subscriptionsInPort) if (!subscriptionsWithRows.has(s)) silentSubscriptions.push(s);

  // A subscription we lost access to drops out of the resolved scope, so its entities are never candidates; the
  // state still says so. Explicit lists report it (unreadableSubscriptionIds); with "every readable subscription"
  // it shows as Port entities under a subscription outside the scope.
  const unreadable = new Set<string>((ctx.scope.unreadableSubscriptionIds ?? []).map((s) => s.toLowerCase()));
  const allReadable = ctx.azure.subscriptionIds.length === 0 && ctx.azure.managementGroupIds.length === 0;
  if (allReadable) for (const snapshot of snapshots.values()) for (const s of snapshot.outOfScopeSubscriptions) unreadable.add(s);

  const decision = decideDeletions({
    // Deleting needs a run with no read or write error at all, whether or not a retry could fix it.
    incompleteReasons: [...beforeDeletion.incompleteReasons, ...beforeDeletion.rejectedReasons],
    threshold: ctx.reconcile.deleteThreshold,
    silentSubscriptions,
    unreadableSubscriptions: [...unreadable],
    // Dependents first: resource-level blueprints, then groups, then subscriptions.
    blueprints: [...blueprints].reverse().map(({ fields }) => {
      const snapshot = snapshots.get(fields.blueprint)!;
      const seenHere = seen.get(fields.blueprint)!;
      const candidates: string[] = [];
      for (const identifier of snapshot.fingerprints.keys()) if (!seenHere.has(identifier)) candidates.push(identifier);
      return { blueprint: snapshot.blueprint, candidates, inScope: snapshot.fingerprints.size };
    }),
  });
  if (decision.skippedReason) ctx.logger.warn('reconcile deletion skipped', { reason: decision.skippedReason });

  ctx.abortSignal?.throwIfAborted();
  const proof = await deleteWithProof(ctx, decision.deletions);

  const responsible = [...new Set([...ctx.azure.subscriptionIds, ...(memory.knownSubscriptions ?? []), ...subscriptionsInScope].map((s) => s.toLowerCase()))];
  const lifecycle = trackLostSubscriptions({
    previous: memory.lostSubscriptions,
    responsible,
    visible: subscriptionsWithRows,
    now: ctx.runStartedAt,
    retentionMs: ctx.reconcile.lostSubscriptionRetentionMs,
  });
  const complete = beforeDeletion.incompleteReasons.length === 0 && proof.inconclusive === 0;
  await applyLostSubscriptions(ctx, complete ? lifecycle : { lost: lifecycle.lost, expired: [] });
  // Expired subscriptions are removed only by a complete run; until then they stay recorded as lost.
  const expired = new Set(complete ? lifecycle.expired : []);
  const lostSubscriptions = Object.fromEntries(Object.entries(lifecycle.lost).filter(([s]) => !expired.has(s)));
  const problems = runProblems(ctx.writer, unmapped.count);
  if (proof.inconclusive > 0) {
    problems.incompleteReasons.push(`${proof.inconclusive} stale candidate(s) could not be proven absent (an inconclusive Resource Graph read)`);
  }
  if (listingUnstable) {
    // A row skipped by the paging was neither written nor (thanks to the proof) deleted, and no change record will
    // name it: the full sync must run again. Windows keep going meanwhile (backoff, nextState.ts).
    problems.rejectedReasons.push('the Resource Graph listing changed while it was paged, so rows may have been skipped; the full sync is repeated');
  }
  return {
    ...problems,
    ...(decision.skippedReason ? { deletionSkippedReason: decision.skippedReason } : {}),
    ...(listingUnstable ? { listingUnstable: true } : {}),
    lostSubscriptions,
    knownSubscriptions: responsible.filter((s) => !expired.has(s)).sort(),
  };
}

/** Candidates per convergence pass (one proof read of ≤ 1000 rows per query, Port reads of 200). */
const PROOF_BATCH = 1000;

/**
 * Not seen in the listing is not proof of absence (paging over a changing estate skips rows; a resource may have
 * been re-created after the listing passed it). Every candidate is re-read by id through the convergence core and
 * deleted only if that read proves it absent and Port does not show it as updated since the run started; one that
 * is present after all is written like any other row.
 */
async function deleteWithProof(
  ctx: SyncContext,
  deletions: { blueprint: string; identifiers: string[] }[],
): Promise<{ present: number; unproven: number; inconclusive: number; protected: number; undecodable: number }> {
  const tally = { present: 0, unproven: 0, inconclusive: 0, protected: 0, undecodable: 0 };
  const levelOf = new Map(ctx.mapping.blueprints.map((b) => [b.fields.blueprint, b.level]));
  // The candidate travels with its id: if the resource is there but the mapping no longer maps it into this
  // blueprint (an entry removed, its kind changed), the core deletes it once the row is read and mapped.
  const staleLists: Map<string, EntityRef[]>[] = [];
  const idLists = deletions.map(({ blueprint, identifiers }) => {
    const ids: string[] = [];
    const staleOf = new Map<string, EntityRef[]>();
    for (const identifier of identifiers) {
      const id = azureIdOfIdentifier(identifier);
      if (!id) {
        tally.undecodable += 1;
        continue;
      }
      if (!staleOf.has(id)) ids.push(id);
      staleOf.set(id, [...(staleOf.get(id) ?? []), { blueprint, identifier, level: levelOf.get(blueprint) ?? 'resource' }]);
    }
    staleLists.push(staleOf);
    return ids;
  });
  const total = idLists.reduce((n, ids) => n + ids.length, 0);
  let done = 0;
  if (total > 0) ctx.progress('delete', 0, 0, total);
  for (const [k, ids] of idLists.entries()) {
    const staleOf = staleLists[k]!;
    for (let i = 0; i < ids.length; i += PROOF_BATCH) {
      ctx.abortSignal?.throwIfAborted();
      const result = await converge(
        { graph: ctx.graph, port: ctx.port, mapping: ctx.mapping, writer: ctx.writer, scope: ctx.scope },
        ids.slice(i, i + PROOF_BATCH).map((id) => ({ id, hint: 'delete' as const, stale: staleOf.get(id)! })),
        { ...(ctx.abortSignal ? { abortSignal: ctx.abortSignal } : {}), detailed: ctx.detailed, protectUpdatedSince: ctx.protectUpdatedSince },
      );
      for (const { verdict } of result.results.values()) {
        if (verdict.status === 'present') tally.present += 1;
        else if (verdict.status === 'protected') tally.protected += 1;
        else if (verdict.status === 'unknown' && verdict.cause === 'inconclusive') tally.inconclusive += 1;
        else if (verdict.status === 'unknown') tally.unproven += 1;
      }
      done += Math.min(PROOF_BATCH, ids.length - i);
      ctx.progress('delete', 0, done, total);
    }
  }
  if (tally.present + tally.unproven + tally.inconclusive + tally.protected + tally.undecodable > 0) {
    ctx.logger.warn('reconcile kept stale candidates it could not prove absent', {
      presentWhenReadById: tally.present,
      notProvenAbsent: tally.unproven + tally.inconclusive,
      updatedDuringRun: tally.protected,
      notAnAzureIdentifier: tally.undecodable,
      hint: 'present ones were skipped by paging or re-created during the run; the others are looked at again by the next full sync',
    });
  }
  return tally;
}

/** The subscription an ARM id (not a Port identifier) lives in; undefined for a row whose id is not one. */
function subscriptionOfRow(id: unknown): string | undefined {
  try {
    return typeof id === 'string' ? subscriptionIdOf(id) : undefined;
  } catch {
    return undefined;
  }
}

function listGraphQuery(ctx: SyncContext, query: string): AsyncIterable<ArgRow[]> {
  if (!ctx.graph.listUserQuery || !ctx.mapping.mapGraphQueryRows) {
    throw new Error('the mapping has selector.graphQuery entries, but this Resource Graph client cannot run them');
  }
  return ctx.graph.listUserQuery(query, ctx.scope, ctx.abortSignal ? { abortSignal: ctx.abortSignal } : {});
}

/** The lower-case type an ARM id spells (a graphQuery row need not carry `type`). */
function typeOfId(id: string): string | undefined {
  try {
    const parsed = parseResourceId(id);
    return parsed.kind === 'resource' || parsed.kind === 'childResource' ? parsed.type : undefined;
  } catch {
    return undefined;
  }
}

function listLevel(ctx: SyncContext, level: Level): AsyncIterable<ArgRow[]> {
  const options: ArgOperationOptions = ctx.abortSignal ? { abortSignal: ctx.abortSignal } : {};
  const scope: QueryScope = ctx.scope;
  if (level === 'subscription') return ctx.graph.listSubscriptions(scope, options);
  if (level === 'resourceGroup') return ctx.graph.listResourceGroups(scope, options);
  return ctx.graph.listResources(scope, options);
}

/** A blueprint that does not exist yet (dry run before any real run) holds no entities. */
async function loadSnapshotOrEmpty(
  port: PortApi,
  fields: BlueprintFields,
  subscriptionsInScope: ReadonlySet<string>,
  options: Parameters<typeof loadPortSnapshot>[3],
): Promise<PortSnapshot> {
  try {
    return await loadPortSnapshot(port, fields, subscriptionsInScope, options);
  } catch (error) {
    if (error instanceof PermanentError && error.status === 404) {
      return { blueprint: fields.blueprint, fingerprints: new Map(), countBySubscription: new Map(), outOfScopeSubscriptions: new Set() };
    }
    throw error;
  }
}
