/**
 * The writer that writes: pipelined bulk upserts (a few calls in flight while the caller keeps reading) and bulk
 * deletes, with per-entity outcomes reported to subscribers.
 */
import type { Logger } from '../../log.js';
import type { PortApi, PortEntity } from '../../port/types.js';
import type { BlueprintFields } from './fingerprint.js';
import { objectResetFor } from './objectReset.js';
import { refKey, type UpsertChange } from './plan.js';
import { readStored } from './portState.js';
import { CountingWriter, type BlueprintPlan, type CatalogWriter } from './writer.js';

export interface PortWriterOptions {
  abortSignal?: AbortSignal;
  /** Entities handed to one upsertEntities call; the client splits them into bulk requests of ≤ 20. */
  batchSize?: number;
  /** upsertEntities calls allowed in flight while reading continues. */
  maxInFlight?: number;
  /** Comparable fields per blueprint; needed to clear removed keys of object-valued properties on updates. */
  fieldsOf?: (blueprint: string) => BlueprintFields | undefined;
  /** The mapping's Port options (read at each call, so a mapping that changes takes effect); Port's defaults without. */
  writeOptions?: () => PortWriteOptions | undefined;
}

/** A port-app-config's top-level Port options, as the writer applies them. */
export interface PortWriteOptions {
  /** enableMergeEntity: `merge` on upserts. false: a full replace with the mapped fields (explicit nulls included). */
  merge: boolean;
  /** createMissingRelatedEntities: `create_missing_related_entities` on upserts. */
  createMissingRelatedEntities: boolean;
  /** deleteDependentEntities: `delete_dependents` on deletes (Port also deletes what relates to a deleted entity). */
  deleteDependents: boolean;
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
    const options = this.options.writeOptions?.();
    const replace = options?.merge === false;
    // Partial writes (only the fields to change) are always merged; full entities follow enableMergeEntity.
    const partial = queued.filter((q) => q.change.kind === 'update' && q.change.partial === true);
    const full = partial.length === 0 ? queued : queued.filter((q) => !(q.change.kind === 'update' && q.change.partial === true));
    if (partial.length > 0) await this.sendMode(blueprint, partial, true, options);
    if (full.length > 0) await this.sendMode(blueprint, full, !replace, options);
  }

  private async sendMode(blueprint: string, queued: Queued[], merge: boolean, options: PortWriteOptions | undefined): Promise<void> {
    // A replace writes every object-valued property whole, so only merges need removed object keys cleared first.
    const batch = merge ? await this.clearRemovedObjectKeys(blueprint, queued, options) : queued.map((q) => q.entity);
    if (batch.length === 0) return;
    const outcomes = await this.port.upsertEntities(blueprint, batch, {
      abortSignal: this.options.abortSignal,
      ...(merge ? {} : { merge: false }),
      ...(options ? { createMissingRelatedEntities: options.createMissingRelatedEntities } : {}),
    });
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
  private async clearRemovedObjectKeys(blueprint: string, queued: Queued[], options: PortWriteOptions | undefined): Promise<PortEntity[]> {
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
    const outcomes = await this.port.upsertEntities(blueprint, resets, {
      abortSignal: this.options.abortSignal,
      ...(options ? { createMissingRelatedEntities: options.createMissingRelatedEntities } : {}),
    });
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
      // Port's delete_dependents, from the mapping's deleteDependentEntities (false without a mapping's word).
      deleteDependents: this.options.writeOptions?.()?.deleteDependents ?? false,
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
