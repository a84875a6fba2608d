/**
 * Where a run's writes go: Port (pipelined bulk upserts, bulk deletes) or, for a dry run, a plan.
 * Both count the same way, which is what lets a dry run's plan be compared with the real run that follows.
 */
import { PermanentError, type RetryableError } from '../../errors.js';
import type { Logger } from '../../log.js';
import type { PortApi, PortEntity } from '../../port/types.js';
import { emptyCounts, type BlueprintCounts, type RunCounts } from './counts.js';
import type { BlueprintFields } from './fingerprint.js';
import { objectResetFor } from './objectReset.js';
import { refKey, type UpsertChange } from './plan.js';
import { readStored } from './portState.js';

export type { UpsertChange };

/** The outcome of one entity's write, reported as it happens (the real-time path answers per message). */
export type WriteResult =
  | { operation: 'upsert' | 'delete'; blueprint: string; identifier: string; ok: true; created?: boolean }
  | { operation: 'upsert' | 'delete'; blueprint: string; identifier: string; ok: false; error: PermanentError | RetryableError };

export interface PlannedUpdate {
  identifier: string;
  /** `$title`, `properties.tags`, … */
  fields: string[];
}

export interface BlueprintPlan {
  create: string[];
  update: PlannedUpdate[];
  delete: string[];
}

export interface WriteFailure {
  blueprint: string;
  identifier: string;
  operation: 'upsert' | 'delete';
  message: string;
  traceId?: string;
  /**
   * Port refused this entity itself (validation, a missing relation target, too large): retrying the same write
   * will fail the same way. False for throttling, 5xx, timeouts and whole-request auth failures.
   */
  permanent: boolean;
}

export interface CatalogWriter {
  readonly dryRun: boolean;
  /** Queues an upsert; resolves once there is room in the pipeline (backpressure), not when it is written. */
  upsert(blueprint: string, entity: PortEntity, change: UpsertChange): Promise<void>;
  /** Waits for every queued upsert to finish. Call between dependency levels (subscriptions → groups → resources). */
  flush(): Promise<void>;
  delete(blueprint: string, identifiers: string[]): Promise<void>;
  unchanged(blueprint: string, count?: number): void;
  counts(): RunCounts;
  failures(): WriteFailure[];
  failureCount(): number;
  /** Failures a later run could fix (see WriteFailure.permanent); these hold the cursor. */
  retryableFailureCount(): number;
  plan(): Record<string, BlueprintPlan>;
  /** Calls `listener` with each entity's write outcome until the returned function is called. */
  subscribe(listener: (result: WriteResult) => void): () => void;
}

/**
 * Whether a write failure is the entity's own fault. 401 and 403 are PermanentErrors for the client (a retry of
 * the same call will not help) but say nothing about the entity: the whole account or blueprint is refused.
 */
export function isEntityRejection(error: PermanentError | RetryableError): boolean {
  return error instanceof PermanentError && error.status !== 401 && error.status !== 403;
}

const MAX_RECORDED_FAILURES = 50;

abstract class CountingWriter {
  protected readonly listeners = new Set<(result: WriteResult) => void>();
  protected readonly byBlueprint = new Map<string, BlueprintCounts>();

  subscribe(listener: (result: WriteResult) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  protected report(result: WriteResult): void {
    for (const listener of this.listeners) listener(result);
  }

  protected readonly recordedFailures: WriteFailure[] = [];
  protected failed = 0;
  protected retryableFailed = 0;

  protected bucket(blueprint: string): BlueprintCounts {
    let c = this.byBlueprint.get(blueprint);
    if (!c) {
      c = emptyCounts();
      this.byBlueprint.set(blueprint, c);
    }
    return c;
  }

  unchanged(blueprint: string, count = 1): void {
    this.bucket(blueprint).unchanged += count;
  }

  protected recordFailure(failure: WriteFailure): void {
    this.failed += 1;
    if (!failure.permanent) this.retryableFailed += 1;
    this.bucket(failure.blueprint).failed += 1;
    if (this.recordedFailures.length < MAX_RECORDED_FAILURES) this.recordedFailures.push(failure);
  }

  counts(): RunCounts {
    const total = emptyCounts();
    const byBlueprint: Record<string, BlueprintCounts> = {};
    for (const [bp, c] of this.byBlueprint) {
      byBlueprint[bp] = { ...c };
      total.created += c.created;
      total.updated += c.updated;
      total.unchanged += c.unchanged;
      total.deleted += c.deleted;
      total.failed += c.failed;
    }
    return { ...total, byBlueprint };
  }

  failures(): WriteFailure[] {
    return [...this.recordedFailures];
  }

  failureCount(): number {
    return this.failed;
  }

  retryableFailureCount(): number {
    return this.retryableFailed;
  }

  /** Records and logs one failed upsert or delete, with Port's trace id. */
  protected fail(
    logger: Logger,
    blueprint: string,
    identifier: string,
    operation: WriteFailure['operation'],
    error: PermanentError | RetryableError,
  ): void {
    const failure: WriteFailure = {
      blueprint,
      identifier,
      operation,
      message: error.message,
      ...(error.traceId ? { traceId: error.traceId } : {}),
      permanent: isEntityRejection(error),
    };
    this.recordFailure(failure);
    logger.error(`Port ${operation} failed`, { ...failure, ...error.toLogFields() });
  }
}

export interface PortWriterOptions {
  abortSignal?: AbortSignal;
  /** Entities handed to one upsertEntities call; the client splits them into bulk requests of ≤ 20. */
  batchSize?: number;
  /** upsertEntities calls allowed in flight while reading continues. */
  maxInFlight?: number;
  /** Comparable fields per blueprint; needed to clear removed keys of object-valued properties on updates. */
  fieldsOf?: (blueprint: string) => BlueprintFields | undefined;
}

interface Queued {
  entity: PortEntity;
  change: UpsertChange;
}

export class PortCatalogWriter extends CountingWriter implements CatalogWriter {
  readonly dryRun = false;
  private readonly buffers = new Map<string, Queued[]>();
  private readonly inFlight = new Set<Promise<void>>();
  private readonly batchSize: number;
  private readonly maxInFlight: number;
  private broken: { error: unknown } | undefined;

  constructor(
    private readonly port: PortApi,
    private readonly logger: Logger,
    private readonly options: PortWriterOptions = {},
  ) {
    super();
    this.batchSize = options.batchSize ?? 200;
    this.maxInFlight = options.maxInFlight ?? 4;
  }

  /** The change kind only matters to a plan; Port reports itself whether it created or updated. */
  async upsert(blueprint: string, entity: PortEntity, change: UpsertChange = { kind: 'create' }): Promise<void> {
    let buffer = this.buffers.get(blueprint);
    if (!buffer) {
      buffer = [];
      this.buffers.set(blueprint, buffer);
    }
    buffer.push({ entity, change });
    if (buffer.length >= this.batchSize) await this.dispatch(blueprint);
  }

  async flush(): Promise<void> {
    for (const blueprint of [...this.buffers.keys()]) await this.dispatch(blueprint);
    await Promise.all(this.inFlight);
    this.throwIfBroken();
  }

  private async dispatch(blueprint: string): Promise<void> {
    const batch = this.buffers.get(blueprint);
    if (!batch || batch.length === 0) return;
    this.buffers.set(blueprint, []);
    while (this.inFlight.size >= this.maxInFlight) await Promise.race(this.inFlight);
    this.throwIfBroken();
    // A rejected call is parked as `broken` and rethrown to the reader, never left as an unhandled rejection.
    const call: Promise<void> = this.send(blueprint, batch)
      .catch((error: unknown) => {
        this.broken ??= { error };
      })
      .finally(() => this.inFlight.delete(call));
    this.inFlight.add(call);
  }

  private throwIfBroken(): void {
    if (this.broken) throw this.broken.error;
  }

  private async send(blueprint: string, queued: Queued[]): Promise<void> {
    const batch = await this.clearRemovedObjectKeys(blueprint, queued);
    if (batch.length === 0) return;
    const outcomes = await this.port.upsertEntities(blueprint, batch, { abortSignal: this.options.abortSignal });
    const counts = this.bucket(blueprint);
    for (const outcome of outcomes) {
      if (outcome.ok) {
        if (outcome.created) counts.created += 1;
        else counts.updated += 1;
        this.report({ operation: 'upsert', blueprint, identifier: outcome.identifier, ok: true, created: outcome.created });
      } else {
        this.fail(this.logger, blueprint, outcome.identifier, 'upsert', outcome.error);
        this.report({ operation: 'upsert', blueprint, identifier: outcome.identifier, ok: false, error: outcome.error });
      }
    }
  }

  /**
   * Updates whose stored object-valued property has keys the new value lacks are cleared first (see objectReset.ts).
   * Returns the entities to write; one whose clearing write failed is reported failed and not written.
   */
  private async clearRemovedObjectKeys(blueprint: string, queued: Queued[]): Promise<PortEntity[]> {
    const fields = this.options.fieldsOf?.(blueprint);
    if (!fields || fields.objectProperties.length === 0) return queued.map((q) => q.entity);
    const unknownStored = queued.filter((q) => q.change.kind === 'update' && !q.change.stored).map((q) => q.entity.identifier);
    const fetched =
      unknownStored.length > 0
        ? await readStored(this.port, unknownStored.map((identifier) => ({ blueprint, level: 'resource' as const, identifier })), () => fields, {
            ...(this.options.abortSignal ? { abortSignal: this.options.abortSignal } : {}),
          })
        : new Map();
    const resets: PortEntity[] = [];
    for (const q of queued) {
      if (q.change.kind !== 'update') continue;
      const stored = q.change.stored ?? fetched.get(refKey({ blueprint, identifier: q.entity.identifier }));
      const reset = objectResetFor(q.entity, stored?.objects, fields.objectProperties);
      if (reset) resets.push(reset);
    }
    if (resets.length === 0) return queued.map((q) => q.entity);
    const outcomes = await this.port.upsertEntities(blueprint, resets, { abortSignal: this.options.abortSignal });
    const failed = new Set<string>();
    for (const outcome of outcomes) {
      if (outcome.ok) continue;
      failed.add(outcome.identifier);
      this.fail(this.logger, blueprint, outcome.identifier, 'upsert', outcome.error);
      this.report({ operation: 'upsert', blueprint, identifier: outcome.identifier, ok: false, error: outcome.error });
    }
    return queued.filter((q) => !failed.has(q.entity.identifier)).map((q) => q.entity);
  }

  async delete(blueprint: string, identifiers: string[]): Promise<void> {
    if (identifiers.length === 0) return;
    const result = await this.port.deleteEntities(blueprint, identifiers, {
      deleteDependents: false,
      abortSignal: this.options.abortSignal,
    });
    this.bucket(blueprint).deleted += result.deleted.length;
    for (const identifier of result.deleted) this.report({ operation: 'delete', blueprint, identifier, ok: true });
    for (const { identifier, error } of result.failed) {
      this.fail(this.logger, blueprint, identifier, 'delete', error);
      this.report({ operation: 'delete', blueprint, identifier, ok: false, error });
    }
  }

  plan(): Record<string, BlueprintPlan> {
    return {};
  }
}

/** Records what a run would do; writes nothing. */
export class PlanCatalogWriter extends CountingWriter implements CatalogWriter {
  readonly dryRun = true;
  private readonly plans = new Map<string, BlueprintPlan>();

  private planFor(blueprint: string): BlueprintPlan {
    let p = this.plans.get(blueprint);
    if (!p) {
      p = { create: [], update: [], delete: [] };
      this.plans.set(blueprint, p);
    }
    return p;
  }

  async upsert(blueprint: string, entity: PortEntity, change: UpsertChange): Promise<void> {
    if (change.kind === 'create') {
      this.planFor(blueprint).create.push(entity.identifier);
      this.bucket(blueprint).created += 1;
    } else {
      this.planFor(blueprint).update.push({ identifier: entity.identifier, fields: change.fields ?? [] });
      this.bucket(blueprint).updated += 1;
    }
  }

  async flush(): Promise<void> {}

  async delete(blueprint: string, identifiers: string[]): Promise<void> {
    this.planFor(blueprint).delete.push(...identifiers);
    this.bucket(blueprint).deleted += identifiers.length;
  }

  plan(): Record<string, BlueprintPlan> {
    return Object.fromEntries(this.plans);
  }
}
