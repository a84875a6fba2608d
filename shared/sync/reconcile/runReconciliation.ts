/**
 * One reconciliation run, start to end:
 *   ensure blueprints → read state → honour a pending resync request → decide full or windowed → resolve scope →
 *   sync → (full only) guarded deletions → write state → one summary log line.
 *
 * Consistency model. Resource Graph is the source of truth and every write converges toward its CURRENT state:
 * full syncs and windowed syncs read the current rows (change rows only say "look at this id"), and the real-time
 * event path does the same. Any two of them can run at once, in any order; the later reader wins, and each is
 * idempotent. An event path that writes an older state after a reconciliation is corrected by the next window,
 * because that resource's change record falls inside [cursor − overlap, now). The cursor only advances when
 * nothing a retry could fix went wrong (new cursor = `now` captured at the run's start), so a failed, throttled or
 * killed run is repeated by the next one, and nothing is ever deleted after a read or write error. An entity Port
 * rejects outright does not hold the cursor (no retry would help, and holding it would turn every later run into
 * the same window, then into full syncs); it is counted as failed, recorded in the state, and retried by the
 * next full sync.
 */
import { randomUUID } from 'node:crypto';
import type { QueryScope } from '../../azure/types.js';
import { MappingConfigError } from '../../mapping/config/load.js';
import { missingMappingBlueprints } from '../../mapping/blueprintCheck.js';
import { defaultBlueprints } from '../../port/blueprints.js';
import type { BlueprintDefinition } from '../../port/types.js';
import { PlanCatalogWriter } from '../converge/planWriter.js';
import { PortCatalogWriter } from '../converge/portWriter.js';
import type { BlueprintPlan, CatalogWriter, WriteFailure } from '../converge/writer.js';
import type { ReconcileDeps, ReconcilePhase, SyncContext, SyncOutcome } from './context.js';
import { blueprintFields } from '../converge/fingerprint.js';
import { runFullSync } from './fullSync.js';
import { decideMode, type RequestedMode } from './mode.js';
import { nextSyncState } from './nextState.js';
import { describeScope, stateIdentifierFor } from './scope.js';
import { defaultEntityMapping, type EntityMapping } from '../converge/mapping.js';
import { entityMappingFromCatalog, extraColumnsOf } from '../converge/catalogMapping.js';
import { typeAllowed } from './context.js';
import { SyncStateStore, type RunCounts, type RunMode, type RunStatus, type SyncState } from './state.js';
import { runWindowedSync } from './windowedSync.js';

export interface ReconcileRequest {
  /** 'auto' (default): honour a pending resync request, else decide from the state. */
  mode?: RequestedMode;
  /** Use this run id (a resync request's id); a fresh UUID otherwise. */
  runId?: string;
  /** Compute the plan, write nothing (not even the state). */
  dryRun?: boolean;
  abortSignal?: AbortSignal;
  /** Who started the run, for the log: 'timer', 'http', 'cli'. */
  trigger?: string;
}

export interface RunSummary {
  runId: string;
  trigger: string;
  dryRun: boolean;
  mode: RunMode;
  modeReason: string;
  status: RunStatus;
  stateIdentifier: string;
  window: { start?: string; end: string };
  /** The cursor after the run (unchanged unless the run succeeded). */
  cursor?: string;
  counts: RunCounts;
  argQueries: number;
  portRequests: number;
  portWrites: number;
  durationMs: number;
  phasesMs: Record<string, number>;
  changes?: number;
  ignoredChanges?: number;
  notVisible?: number;
  deletionSkippedReason?: string;
  /** Problems a later run can fix; while there are any, the cursor and lastFullSyncAt stay where they were. */
  incompleteReasons: string[];
  /** Problems no retry fixes (entities Port rejected, unmappable rows): the run is partial, the cursor moves on. */
  rejectedReasons: string[];
  failures: WriteFailure[];
  error?: string;
  /** Dry run: what would be created, updated (with fields) and deleted, per blueprint. */
  plan?: Record<string, BlueprintPlan>;
}

async function probeGraphQueries(
  graph: ReconcileDeps['graph'],
  queries: readonly { entry: number; query: string }[],
  scope: QueryScope,
  origin: string,
  options: { abortSignal?: AbortSignal },
): Promise<void> {
  if (queries.length === 0) return;
  if (!graph.probeUserQuery) throw new Error('the mapping has selector.graphQuery entries, but this Resource Graph client cannot run them');
  const problems: { path: string; message: string }[] = [];
  for (const { entry, query } of queries) {
    for (const message of await graph.probeUserQuery(query, scope, options)) problems.push({ path: `resources[${entry}].selector.graphQuery`, message });
  }
  if (problems.length > 0) throw new MappingConfigError(origin, problems);
}

/** How far Port's clock may be ahead of ours: entities updated this close to the run's start are not deleted. */
const CLOCK_SKEW_MARGIN_MS = 30_000;

/** Runs one reconciliation. Never throws for a failed run (the summary says so) except when aborted. */
export async function runReconciliation(deps: ReconcileDeps, request: ReconcileRequest = {}): Promise<RunSummary> {
  const { port, graph, logger, settings } = deps;
  const startedWall = Date.now();
  const now = deps.now?.() ?? new Date();
  const dryRun = request.dryRun === true;
  const trigger = request.trigger ?? 'manual';
  const abortSignal = request.abortSignal;
  const signalOption = abortSignal ? { abortSignal } : {};
  const ids = settings.port.blueprints;
  const stateIdentifier = stateIdentifierFor(settings.azure);
  const store = new SyncStateStore(port, ids.state, stateIdentifier, describeScope(settings.azure));
  const argQueriesAtStart = graph.queryCount();
  const portAtStart = port.requestCounts();
  const phasesMs: Record<string, number> = {};
  const timed = async <T>(phase: string, fn: () => Promise<T>): Promise<T> => {
    const t0 = Date.now();
    try {
      return await fn();
    } finally {
      phasesMs[phase] = (phasesMs[phase] ?? 0) + Date.now() - t0;
    }
  };

  const definitions = defaultBlueprints(ids);
  const fields = fieldsFor(definitions, ids);
  const fieldsByBlueprint = new Map(Object.values(fields).map((f) => [f.blueprint, f]));
  const writer: CatalogWriter = dryRun
    ? new PlanCatalogWriter()
    : new PortCatalogWriter(port, logger, {
        ...(abortSignal ? { abortSignal } : {}),
        fieldsOf: (bp) => fieldsByBlueprint.get(bp),
        // The mapping's deleteDependentEntities, enableMergeEntity and createMissingRelatedEntities, once loaded.
        writeOptions: () => mapping.portOptions,
      });
  let runId = request.runId ?? randomUUID();
  let state: SyncState | undefined;
  let mode: RunMode = request.mode === 'window' ? 'window' : 'full';
  let modeReason = 'not decided (the run failed before reading the state)';
  let windowStart: Date | undefined;
  let outcome: SyncOutcome = { incompleteReasons: [], rejectedReasons: [] };
  let honouredRequestId: string | undefined;
  let stateRead = false;
  let failure: unknown;

  let mapping: EntityMapping = defaultEntityMapping({ ids, fields, typeAllowed: (type) => typeAllowed(type, settings.azure) });
  let reconcileSettings = settings.reconcile;
  try {
    // A mapping that does not load stops the run here, before anything is read or written.
    const loaded = deps.mapping ? await timed('loadMapping', () => deps.mapping!.mapping({ fresh: true })) : undefined;
    if (loaded) {
      mapping = entityMappingFromCatalog(loaded.mapper, ids, definitions);
      // Rows carry only what the mapping reads: the default mapping adds nothing to the default projections.
      graph.useExtraColumns?.(extraColumnsOf(loaded.mapper));
      for (const b of mapping.blueprints) fieldsByBlueprint.set(b.fields.blueprint, b.fields);
      const threshold = loaded.mapper.settings.entityDeletionThreshold;
      // A mapping's entityDeletionThreshold replaces DELETE_THRESHOLD, as in Port's own integrations.
      if (threshold !== undefined) reconcileSettings = { ...settings.reconcile, deleteThreshold: threshold };
    }
    if (!dryRun) await timed('ensureBlueprints', () => port.ensureBlueprints(definitions, signalOption));
    // Any other blueprint the mapping writes must exist already: name what is missing before anything is synced.
    if (loaded) {
      const missing = await timed('checkBlueprints', () => missingMappingBlueprints(port, loaded.mapper.entries, ids, signalOption));
      if (missing.length > 0) throw new MappingConfigError(loaded.origin, missing);
    }
    state = await timed('readState', () => store.read(signalOption));
    stateRead = true;

    let requested: RequestedMode = request.mode ?? 'auto';
    const pending = state?.pendingRequest;
    if (pending && (requested === 'auto' || pending.runId === request.runId)) {
      // A resync request the HTTP trigger recorded; honour it here even if the instance that took it was recycled.
      if (requested === 'auto') requested = pending.mode;
      runId = request.runId ?? pending.runId;
      honouredRequestId = pending.runId;
    }
    const decision = decideMode(state, now, settings.reconcile, requested);
    mode = decision.mode;
    modeReason = decision.reason;

    const scope = await timed('resolveScope', () => graph.resolveScope(signalOption));
    // Each graphQuery is tried as a zero-row probe through Resource Graph before anything is synced: its answer is
    // the authority on the user's KQL, and a query it refuses stops the run naming the entry.
    if (loaded) await timed('probeGraphQueries', () => probeGraphQueries(graph, loaded.mapper.graphQueries(), scope, loaded.origin, signalOption));
    const ctx: SyncContext = {
      port,
      graph,
      logger,
      ids,
      fields,
      mapping,
      protectUpdatedSince: now.getTime() - CLOCK_SKEW_MARGIN_MS,
      runStartedAt: now,
      scope,
      writer,
      azure: settings.azure,
      reconcile: reconcileSettings,
      abortSignal,
      detailed: dryRun,
      progress: (phase: ReconcilePhase, pages: number, items: number, total?: number) =>
        deps.onProgress?.({ phase, pages, items, ...(total !== undefined ? { total } : {}) }),
    };
    logger.info('reconcile run started', {
      runId,
      trigger,
      mode,
      modeReason,
      dryRun,
      stateIdentifier,
      subscriptions: scope.subscriptionIds.length,
    });

    if (mode === 'full') {
      outcome = await timed('sync', () =>
        runFullSync(ctx, {
          ...(state?.lostSubscriptions ? { lostSubscriptions: state.lostSubscriptions } : {}),
          ...(state?.knownSubscriptions ? { knownSubscriptions: state.knownSubscriptions } : {}),
        }),
      );
    } else {
      windowStart = new Date(Date.parse(state!.cursor!) - settings.reconcile.overlapMs);
      outcome = await timed('sync', () => runWindowedSync(ctx, { since: windowStart!, until: now }));
    }
  } catch (error) {
    failure = error;
  }

  if (failure !== undefined && abortSignal?.aborted) {
    // The host is stopping us: leave the state exactly as it was and let the next run redo the window.
    logger.warn('reconcile run aborted; state left unchanged', { runId, mode, error: errorFields(failure) });
    throw failure;
  }

  const problems = [...outcome.incompleteReasons, ...outcome.rejectedReasons];
  const status: RunStatus = failure !== undefined ? 'failed' : dryRun ? 'planned' : problems.length > 0 ? 'partial' : 'succeeded';
  const advance = failure === undefined && !dryRun && outcome.incompleteReasons.length === 0;
  const counts = writer.counts();
  const finishedAt = new Date(now.getTime() + (Date.now() - startedWall));
  const errorMessage = failure !== undefined ? describeError(failure) : problems.join('; ') || undefined;

  let cursor = state?.cursor;
  // Without the state as it was, a write could only lose the cursor: leave it for the next run.
  if (!dryRun && stateRead) {
    const nextState = nextSyncState({
      identifier: stateIdentifier,
      scope: describeScope(settings.azure),
      previous: state,
      mode,
      advance,
      now,
      fullSyncIntervalMs: settings.reconcile.fullSyncIntervalMs,
      outcome,
      lastRun: {
        runId,
        mode,
        ...(windowStart ? { windowStart: windowStart.toISOString() } : {}),
        windowEnd: now.toISOString(),
        startedAt: now.toISOString(),
        finishedAt: finishedAt.toISOString(),
        status,
        counts,
        argQueries: graph.queryCount() - argQueriesAtStart,
        portRequests: port.requestCounts().total - portAtStart.total,
        durationMs: Date.now() - startedWall,
      },
      ...(errorMessage ? { errorMessage } : {}),
      ...(deps.mapping?.status().problem ? { mappingProblem: deps.mapping.status().problem } : {}),
    });
    try {
      await timed('writeState', async () => {
        // A resync may have been requested while we ran: keep it unless it is the one this run honoured.
        const latest = await store.read(signalOption);
        const pending = latest?.pendingRequest;
        if (pending && pending.runId !== honouredRequestId) nextState.pendingRequest = pending;
        await store.write(nextState, signalOption);
      });
      cursor = nextState.cursor;
    } catch (error) {
      if (abortSignal?.aborted) throw error;
      logger.error('reconcile could not write the sync state', { runId, stateIdentifier, error: errorFields(error) });
      failure ??= error;
    }
  }

  const portAtEnd = port.requestCounts();
  const summary: RunSummary = {
    runId,
    trigger,
    dryRun,
    mode,
    modeReason,
    status: failure !== undefined ? 'failed' : status,
    stateIdentifier,
    window: { ...(windowStart ? { start: windowStart.toISOString() } : {}), end: now.toISOString() },
    ...(cursor ? { cursor } : {}),
    counts,
    argQueries: graph.queryCount() - argQueriesAtStart,
    portRequests: portAtEnd.total - portAtStart.total,
    portWrites: portAtEnd.bulkUpsert - portAtStart.bulkUpsert + (portAtEnd.delete - portAtStart.delete),
    durationMs: Date.now() - startedWall,
    phasesMs,
    ...(outcome.changes !== undefined ? { changes: outcome.changes } : {}),
    ...(outcome.ignoredChanges !== undefined ? { ignoredChanges: outcome.ignoredChanges } : {}),
    ...(outcome.notVisible !== undefined ? { notVisible: outcome.notVisible } : {}),
    ...(outcome.deletionSkippedReason ? { deletionSkippedReason: outcome.deletionSkippedReason } : {}),
    incompleteReasons: outcome.incompleteReasons,
    rejectedReasons: outcome.rejectedReasons,
    failures: writer.failures(),
    ...(failure !== undefined ? { error: describeError(failure) } : {}),
    ...(dryRun ? { plan: writer.plan() } : {}),
  };

  const { plan: _plan, failures: _failures, ...logged } = summary;
  if (failure !== undefined) logger.error('reconcile run failed', { runId, mode, error: errorFields(failure) });
  logger[summary.status === 'succeeded' || summary.status === 'planned' ? 'info' : 'warn']('reconcile run finished', logged);
  return summary;
}

function fieldsFor(definitions: BlueprintDefinition[], ids: ReconcileDeps['settings']['port']['blueprints']): SyncContext['fields'] {
  const byId = new Map(definitions.map((d) => [d.identifier, d]));
  const get = (id: string) => {
    const d = byId.get(id);
    if (!d) throw new Error(`no default blueprint definition for "${id}"`);
    return blueprintFields(d);
  };
  return { subscription: get(ids.subscription), resourceGroup: get(ids.resourceGroup), resource: get(ids.resource) };
}

function describeError(error: unknown): string {
  if (error instanceof Error) {
    const traceId = (error as { traceId?: unknown }).traceId;
    return typeof traceId === 'string' ? `${error.name}: ${error.message} (trace id ${traceId})` : `${error.name}: ${error.message}`;
  }
  return String(error);
}

function errorFields(error: unknown): Record<string, unknown> {
  const withFields = error as { toLogFields?: () => Record<string, unknown> };
  if (error && typeof withFields.toLogFields === 'function') return withFields.toLogFields();
  if (error instanceof Error) return { error: error.name, message: error.message };
  return { error: String(error) };
}
