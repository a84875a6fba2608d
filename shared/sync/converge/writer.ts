/**
 * Where a run's writes go: Port (pipelined bulk upserts, bulk deletes) or, for a dry run, a plan.
 * Both count the same way, which is what lets a dry run's plan be compared with the real run that follows.
 */
import { PermanentError, type RetryableError } from '../../errors.js';
import type { Logger } from '../../log.js';
import type { PortApi, PortEntity } from '../../port/types.js';
import { emptyCounts, type BlueprintCounts, type RunCounts } from './counts.js';
import type { UpsertChange } from './plan.js';

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

export abstract class CountingWriter {
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
