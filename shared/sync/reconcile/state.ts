/**
 * Sync state lives in Port, as one entity of the state blueprint per scope: the change cursor, when the last full
 * sync finished, the last run's summary, and a pending manual resync request. It is read at the start of a run and
 * written once at the end, so Port users see sync health next to the catalog.
 */
import type { PortApi, PortOperationOptions, StoredEntity } from '../../port/types.js';

export type RunMode = 'full' | 'window';
export type RunStatus = 'succeeded' | 'partial' | 'failed' | 'planned';

import { emptyCounts, type BlueprintCounts, type RunCounts } from '../converge/counts.js';

export { emptyCounts, type BlueprintCounts, type RunCounts };

export interface LastRun {
  runId: string;
  mode: RunMode;
  windowStart?: string;
  windowEnd: string;
  startedAt: string;
  finishedAt: string;
  status: RunStatus;
  counts: RunCounts;
  argQueries: number;
  portRequests: number;
  durationMs: number;
}

export interface ResyncRequest {
  mode: RunMode;
  runId: string;
  requestedAt: string;
}

export interface SyncState {
  identifier: string;
  scope: string;
  /** High-water mark: every change before it has been applied. ISO-8601. */
  cursor?: string;
  lastFullSyncAt?: string;
  /** Full syncs failed in a row since the last complete one; windows run meanwhile. */
  fullSyncFailures?: number;
  /** A due full sync is not tried again before this instant (ISO-8601). */
  fullSyncRetryAt?: string;
  /** Subscriptions with entities in Port that Resource Graph no longer shows → when that was first seen (ISO-8601). */
  lostSubscriptions?: Record<string, string>;
  /** Subscriptions full syncs have synced (lower-case): with a dynamic scope, the ones this deployment answers for. */
  knownSubscriptions?: string[];
  lastRun?: LastRun;
  deletionSkippedReason?: string;
  lastError?: string;
  /** Why the stored mapping was not used (the last good one was): an invalid config in Port, or Port unreadable. */
  mappingProblem?: string;
  pendingRequest?: ResyncRequest;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);

function parseCounts(v: unknown): RunCounts {
  const o = (v && typeof v === 'object' ? v : {}) as Record<string, unknown>;
  const byBlueprint: Record<string, BlueprintCounts> = {};
  if (o.byBlueprint && typeof o.byBlueprint === 'object') {
    for (const [bp, c] of Object.entries(o.byBlueprint as Record<string, Record<string, unknown>>)) {
      byBlueprint[bp] = {
        created: num(c?.created),
        updated: num(c?.updated),
        unchanged: num(c?.unchanged),
        deleted: num(c?.deleted),
        failed: num(c?.failed),
      };
    }
  }
  return {
    created: num(o.created),
    updated: num(o.updated),
    unchanged: num(o.unchanged),
    deleted: num(o.deleted),
    failed: num(o.failed),
    byBlueprint,
  };
}

function isMode(v: unknown): v is RunMode {
  return v === 'full' || v === 'window';
}

export function stateFromEntity(entity: StoredEntity, scope: string): SyncState {
  const p = entity.properties ?? {};
  const state: SyncState = { identifier: entity.identifier, scope: str(p.scope) ?? scope };
  const cursor = str(p.cursor);
  if (cursor) state.cursor = cursor;
  const lastFull = str(p.lastFullSyncAt);
  if (lastFull) state.lastFullSyncAt = lastFull;
  const failures = num(p.fullSyncFailures);
  if (failures > 0) state.fullSyncFailures = failures;
  const retryAt = str(p.fullSyncRetryAt);
  if (retryAt) state.fullSyncRetryAt = retryAt;
  if (Array.isArray(p.knownSubscriptions)) {
    const known = p.knownSubscriptions.filter((v): v is string => typeof v === 'string' && v !== '');
    if (known.length > 0) state.knownSubscriptions = known;
  }
  if (p.lostSubscriptions && typeof p.lostSubscriptions === 'object' && !Array.isArray(p.lostSubscriptions)) {
    const lost = Object.entries(p.lostSubscriptions as Record<string, unknown>).filter(([, v]) => typeof v === 'string' && !Number.isNaN(Date.parse(v)));
    if (lost.length > 0) state.lostSubscriptions = Object.fromEntries(lost) as Record<string, string>;
  }
  const runId = str(p.lastRunId);
  const mode = p.lastRunMode;
  if (runId && isMode(mode)) {
    const windowStart = str(p.lastRunWindowStart);
    state.lastRun = {
      runId,
      mode,
      ...(windowStart ? { windowStart } : {}),
      windowEnd: str(p.lastRunWindowEnd) ?? '',
      startedAt: str(p.lastRunStartedAt) ?? '',
      finishedAt: str(p.lastRunFinishedAt) ?? '',
      status: (str(p.lastRunStatus) as RunStatus | undefined) ?? 'failed',
      counts: parseCounts(p.lastRunCounts),
      argQueries: num(p.lastRunArgQueries),
      portRequests: num(p.lastRunPortRequests),
      durationMs: num(p.lastRunDurationMs),
    };
  }
  const skipped = str(p.deletionSkippedReason);
  if (skipped) state.deletionSkippedReason = skipped;
  const lastError = str(p.lastError);
  if (lastError) state.lastError = lastError;
  const mappingProblem = str(p.mappingProblem);
  if (mappingProblem) state.mappingProblem = mappingProblem;
  const requestedMode = p.requestedMode;
  const requestedRunId = str(p.requestedRunId);
  if (isMode(requestedMode) && requestedRunId) {
    state.pendingRequest = { mode: requestedMode, runId: requestedRunId, requestedAt: str(p.requestedAt) ?? '' };
  }
  return state;
}

/** Every state property is always sent (cleared ones as null), so merge and replace upserts give the same result. */
export function stateToProperties(state: SyncState): Record<string, unknown> {
  const run = state.lastRun;
  return {
    scope: state.scope,
    cursor: state.cursor ?? null,
    lastFullSyncAt: state.lastFullSyncAt ?? null,
    fullSyncFailures: state.fullSyncFailures ?? null,
    fullSyncRetryAt: state.fullSyncRetryAt ?? null,
    lostSubscriptions: state.lostSubscriptions ?? null,
    knownSubscriptions: state.knownSubscriptions ?? null,
    lastRunId: run?.runId ?? null,
    lastRunMode: run?.mode ?? null,
    lastRunWindowStart: run?.windowStart ?? null,
    lastRunWindowEnd: run?.windowEnd || null,
    lastRunStartedAt: run?.startedAt || null,
    lastRunFinishedAt: run?.finishedAt || null,
    lastRunStatus: run?.status ?? null,
    lastRunCounts: run?.counts ?? null,
    lastRunArgQueries: run?.argQueries ?? null,
    lastRunPortRequests: run?.portRequests ?? null,
    lastRunDurationMs: run?.durationMs ?? null,
    deletionSkippedReason: state.deletionSkippedReason ?? null,
    lastError: state.lastError ?? null,
    mappingProblem: state.mappingProblem ?? null,
    requestedMode: state.pendingRequest?.mode ?? null,
    requestedRunId: state.pendingRequest?.runId ?? null,
    requestedAt: state.pendingRequest?.requestedAt ?? null,
  };
}

export class SyncStateStore {
  constructor(
    private readonly port: PortApi,
    private readonly blueprint: string,
    readonly identifier: string,
    private readonly scope: string,
  ) {}

  async read(options: PortOperationOptions = {}): Promise<SyncState | undefined> {
    const entity = await this.port.getEntity(this.blueprint, this.identifier, options);
    return entity ? stateFromEntity(entity, this.scope) : undefined;
  }

  async write(state: SyncState, options: PortOperationOptions = {}): Promise<void> {
    const [outcome] = await this.port.upsertEntities(
      this.blueprint,
      [
        {
          identifier: this.identifier,
          title: `Azure sync state (${this.scope})`,
          properties: stateToProperties(state),
          relations: {},
        },
      ],
      { ...options, createMissingRelatedEntities: false },
    );
    if (!outcome) throw new Error(`Port returned no result for the sync state entity "${this.identifier}"`);
    if (!outcome.ok) throw outcome.error;
  }

  /**
   * Records a manual resync request on the state entity (creating it when absent) without touching the cursor,
   * so a run started in the background, or the next timer tick if this instance is recycled, can honour it.
   */
  async recordRequest(request: ResyncRequest, options: PortOperationOptions = {}): Promise<void> {
    const current = (await this.read(options)) ?? { identifier: this.identifier, scope: this.scope };
    await this.write({ ...current, pendingRequest: request }, options);
  }
}
