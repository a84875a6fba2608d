/**
 * Small in-memory fakes of the processor's DEPENDENCIES (Resource Graph, Port, the re-check queue), for fast
 * semantic tests. End-to-end behaviour is tested against the real emulators in e2e.test.ts.
 */
import { normalizeResourceId } from '../../shared/azure/resourceId.js';
import type { ArgRow, Observation, QueryScope, ResourceGraphApi } from '../../shared/azure/types.js';
import { PermanentError, RetryableError } from '../../shared/errors.js';
import type { DeleteResult, PortApi, PortEntity, PortRequestCounts, SearchOptions, StoredEntity, UpsertOutcome } from '../../shared/port/types.js';
import type { RecheckMessage, RecheckScheduler } from '../../shared/sync/events/recheck.js';
import type { PoisonQueue } from '../../shared/sync/events/poison.js';

export class FakeResourceGraph implements ResourceGraphApi {
  readonly rows = new Map<string, ArgRow>();
  readonly lookups: { ids: string[]; scope: QueryScope }[] = [];
  failNext: Error | undefined;
  readonly unreadable = new Set<string>();

  put(row: ArgRow): void {
    this.rows.set(normalizeResourceId(row.id), row);
  }
  remove(id: string): void {
    this.rows.delete(normalizeResourceId(id));
  }
  async resolveScope(): Promise<QueryScope> {
    return { subscriptionIds: [] };
  }
  async *listSubscriptions(): AsyncIterable<ArgRow[]> {}
  async *listResourceGroups(): AsyncIterable<ArgRow[]> {}
  async *listResources(): AsyncIterable<ArgRow[]> {}
  async *listChanges(): AsyncIterable<never[]> {}
  async lookupByIds(ids: string[], scope: QueryScope): Promise<Map<string, ArgRow>> {
    this.lookups.push({ ids: [...ids], scope });
    if (this.failNext) {
      const error = this.failNext;
      this.failNext = undefined;
      throw error;
    }
    // Like Resource Graph: a 403 only when none of the requested subscriptions is readable.
    if (scope.subscriptionIds.length > 0 && scope.subscriptionIds.every((s) => this.unreadable.has(s))) {
      throw new PermanentError('no access to the requested subscriptions', { source: 'resource-graph', status: 403, traceId: 'arg-403' });
    }
    const out = new Map<string, ArgRow>();
    for (const id of ids) {
      const row = this.rows.get(normalizeResourceId(id));
      if (row) out.set(normalizeResourceId(id), structuredClone(row));
    }
    return out;
  }
  /** Like Resource Graph with a readable witness: absent is proven unless the id's subscription is unreadable. */
  async observe(ids: string[], scope: QueryScope): Promise<Map<string, Observation>> {
    const out = new Map<string, Observation>();
    let rows: Map<string, ArgRow>;
    try {
      rows = await this.lookupByIds(ids, scope);
    } catch (error) {
      if (!(error instanceof PermanentError && error.status === 403)) throw error;
      for (const id of ids) out.set(normalizeResourceId(id), { state: 'unknown', cause: 'unreadable', reason: error.message });
      return out;
    }
    for (const id of ids) {
      const key = normalizeResourceId(id);
      const row = rows.get(key);
      const subscription = key.split('/')[2] ?? '';
      if (row) out.set(key, { state: 'present', row });
      else if (this.unreadable.has(subscription)) out.set(key, { state: 'unknown', cause: 'unreadable', reason: 'subscription not readable' });
      else out.set(key, { state: 'absent' });
    }
    return out;
  }
  queryCount(): number {
    return this.lookups.length;
  }
}

export class FakePort implements PortApi {
  readonly store = new Map<string, Map<string, PortEntity>>();
  readonly calls: { op: 'upsert' | 'delete' | 'search'; blueprint: string; count: number }[] = [];
  /** identifier → error to return for it (per-entity outcome). */
  readonly entityErrors = new Map<string, PermanentError | RetryableError>();

  entities(blueprint: string): Map<string, PortEntity> {
    let m = this.store.get(blueprint);
    if (!m) this.store.set(blueprint, (m = new Map()));
    return m;
  }
  async upsertEntities(blueprint: string, entities: PortEntity[]): Promise<UpsertOutcome[]> {
    for (let i = 0; i < entities.length; i += 20) this.calls.push({ op: 'upsert', blueprint, count: Math.min(20, entities.length - i) });
    return entities.map((e) => {
      const error = this.entityErrors.get(e.identifier);
      if (error) return { ok: false, identifier: e.identifier, error };
      const created = !this.entities(blueprint).has(e.identifier);
      this.entities(blueprint).set(e.identifier, structuredClone(e));
      return { ok: true, identifier: e.identifier, created };
    });
  }
  async deleteEntities(blueprint: string, identifiers: string[]): Promise<DeleteResult> {
    this.calls.push({ op: 'delete', blueprint, count: identifiers.length });
    const failed: DeleteResult['failed'] = [];
    const deleted: string[] = [];
    for (const id of identifiers) {
      const error = this.entityErrors.get(id);
      if (error) failed.push({ identifier: id, error });
      else {
        this.entities(blueprint).delete(id);
        deleted.push(id);
      }
    }
    return { deleted, failed };
  }
  async *searchEntities(blueprint: string, options: SearchOptions = {}): AsyncIterable<StoredEntity[]> {
    this.calls.push({ op: 'search', blueprint, count: 0 });
    const rule = options.query?.rules[0];
    const operator = rule && 'operator' in rule ? rule.operator : undefined;
    const value = rule && 'operator' in rule ? rule.value : undefined;
    const matches = (k: string) =>
      operator === 'beginsWith' ? k.startsWith(String(value)) : operator === 'in' ? (value as string[]).includes(k) : true;
    yield [...this.entities(blueprint).entries()]
      .filter(([k]) => matches(k))
      .map(([identifier, e]) => ({ ...structuredClone(e), identifier }));
  }
  async getEntity(blueprint: string, identifier: string): Promise<StoredEntity | undefined> {
    const e = this.entities(blueprint).get(identifier);
    return e ? { ...e, blueprint } : undefined;
  }
  async ensureBlueprints() {
    return { created: [], updated: [], unchanged: [] };
  }
  requestCounts(): PortRequestCounts {
    const bulkUpsert = this.calls.filter((c) => c.op === 'upsert').length;
    const del = this.calls.filter((c) => c.op === 'delete').length;
    const search = this.calls.filter((c) => c.op === 'search').length;
    return { token: 0, search, bulkUpsert, delete: del, other: 0, total: bulkUpsert + del + search };
  }
}

export class CapturingScheduler implements RecheckScheduler {
  readonly scheduled: { message: RecheckMessage; delayMs: number }[] = [];
  failWith: Error | undefined;
  async schedule(message: RecheckMessage, delayMs: number): Promise<void> {
    if (this.failWith) throw this.failWith;
    this.scheduled.push({ message, delayMs });
  }
  take(): { message: RecheckMessage; delayMs: number }[] {
    return this.scheduled.splice(0);
  }
}

export class CapturingPoison implements PoisonQueue {
  readonly moved: { body: unknown; reason: string }[] = [];
  async moveToPoison(body: unknown, reason: string): Promise<void> {
    this.moved.push({ body, reason });
  }
}

export class ManualClock {
  constructor(public t = Date.parse('2026-06-01T12:00:00Z')) {}
  now(): number {
    return this.t;
  }
  advance(ms: number): void {
    this.t += ms;
  }
}

/** Timers of the in-worker re-check schedule that fire only when told, on the ManualClock. */
export class ManualTimers {
  private readonly entries = new Map<number, { at: number; callback: () => void }>();
  private next = 1;
  constructor(private readonly clock: ManualClock) {}
  setTimeout(callback: () => void, ms: number): unknown {
    const id = this.next++;
    this.entries.set(id, { at: this.clock.now() + ms, callback });
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.entries.delete(handle as number);
  }
  /** When the earliest timer is due (undefined: none). */
  nextAt(): number | undefined {
    const ats = [...this.entries.values()].map((e) => e.at);
    return ats.length > 0 ? Math.min(...ats) : undefined;
  }
  /** Fires every timer due by the clock. */
  fireDue(): number {
    let fired = 0;
    for (const [id, e] of [...this.entries]) {
      if (e.at > this.clock.now()) continue;
      this.entries.delete(id);
      e.callback();
      fired++;
    }
    return fired;
  }
}
