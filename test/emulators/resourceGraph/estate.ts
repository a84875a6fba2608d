/**
 * The emulator's mutable Azure estate: versioned rows for `resources` / `resourcecontainers`, and change records
 * for `resourcechanges` / `resourcecontainerchanges`, all stamped with an injectable clock.
 *
 * Visibility lag is modelled by keeping every version (versionedTable.ts): a query at time t sees, per id, the
 * newest version visible by then (so during the lag a stale read returns the OLD row, as Resource Graph does). A
 * change record stamped T is queryable from T + its ingestion delay. Lags per table: lag.ts.
 */
import type { ArgRow, ChangeType } from '../../../shared/azure/types.js';
import { changeRecord, MOVE_OPERATION } from './changeRecords.js';
import type { Row, TableName } from './kql.js';
import { LagModel } from './lag.js';
import { VersionedTable } from './versionedTable.js';

interface ChangeRecord {
  at: number;
  row: Row;
  /** Stamped ingestion delay (ms); undefined: the change tables' query-time fallback lag. */
  delay?: number;
}

export interface Clock {
  now(): number;
}

const SUBSCRIPTION_TYPE = 'microsoft.resources/subscriptions';
const RESOURCE_GROUP_TYPE = 'microsoft.resources/subscriptions/resourcegroups';

/** The emulator's row key: the normalised id (also the order of `order by id asc` paging). */
export const key = (id: string) => id.toLowerCase().replace(/\/{2,}/g, '/').replace(/\/+$/, '');

function requireId(row: { id?: unknown }, what: string): string {
  if (typeof row.id !== 'string' || !row.id.startsWith('/subscriptions/')) {
    throw new Error(`${what} needs an id starting with /subscriptions/, got ${JSON.stringify(row.id)}`);
  }
  return row.id;
}

function segmentsOf(id: string): string[] {
  return id.split('/').filter(Boolean);
}

/** Stored rows look like Resource Graph's raw rows: mapped state lives under `properties`. */
function toStored(row: ArgRow, type: string): Row {
  const { provisioningState, state, properties, ...rest } = row as ArgRow & { properties?: Record<string, unknown> };
  const props: Record<string, unknown> = { ...(properties ?? {}) };
  if (provisioningState !== undefined && provisioningState !== null) props.provisioningState = provisioningState;
  if (state !== undefined && state !== null) props.state = state;
  // Resource Graph shows an untagged resource as `tags: {}` (Microsoft's ResourcesBasicQuery example), never null.
  const tags = rest.tags ?? (type === SUBSCRIPTION_TYPE || type === RESOURCE_GROUP_TYPE ? rest.tags : {});
  return { ...rest, ...(tags === undefined ? {} : { tags }), type, properties: props };
}

/** The projected view (what the app's queries return), for assertions. */
function toArgRow(stored: Row): ArgRow {
  const { properties, ...rest } = stored as Row & { properties?: Record<string, unknown> };
  const out: ArgRow = { ...(rest as ArgRow) };
  if (properties && typeof properties.provisioningState === 'string') out.provisioningState = properties.provisioningState;
  if (properties && typeof properties.state === 'string') out.state = properties.state;
  return out;
}

export interface EstateSnapshot {
  subscriptions: ArgRow[];
  resourceGroups: ArgRow[];
  resources: ArgRow[];
}

export class Estate {
  private readonly resources = new VersionedTable();
  private readonly containers = new VersionedTable();
  private readonly changes: Record<'resourcechanges' | 'resourcecontainerchanges', ChangeRecord[]> = {
    resourcechanges: [],
    resourcecontainerchanges: [],
  };
  readonly lag = new LagModel();
  /** Every resource type ever written (lower case), for ARM's providers API (arm.ts). */
  private readonly types = new Set<string>();

  constructor(private readonly clock: Clock) {}

  /** Loads rows as pre-existing state: visible at once, whatever the lag, with no change records. */
  seed(snapshot: Partial<EstateSnapshot>): void {
    const bulk = { bulk: true };
    for (const row of snapshot.subscriptions ?? []) {
      this.containers.write(key(requireId(row, 'subscription')), toStored(row, SUBSCRIPTION_TYPE), -Infinity, bulk);
    }
    for (const row of snapshot.resourceGroups ?? []) {
      this.containers.write(key(requireId(row, 'resource group')), toStored(row, RESOURCE_GROUP_TYPE), -Infinity, bulk);
    }
    for (const row of snapshot.resources ?? []) {
      const id = requireId(row, 'resource');
      const type = (row.type ?? typeFromId(id)).toLowerCase();
      this.types.add(type);
      this.resources.write(key(id), toStored(row, type), -Infinity, bulk);
    }
  }

  upsertSubscription(row: ArgRow): void {
    const id = requireId(row, 'subscription');
    const segs = segmentsOf(id);
    if (segs.length !== 2) throw new Error(`not a subscription id: ${id}`);
    const full: ArgRow = { subscriptionId: segs[1]!, name: segs[1]!, state: 'Enabled', ...row };
    this.write('container', full, SUBSCRIPTION_TYPE);
  }

  upsertResourceGroup(row: ArgRow): void {
    const id = requireId(row, 'resource group');
    const segs = segmentsOf(id);
    if (segs.length !== 4 || segs[2]!.toLowerCase() !== 'resourcegroups') throw new Error(`not a resource group id: ${id}`);
    const full: ArgRow = {
      subscriptionId: segs[1]!,
      name: segs[3]!,
      resourceGroup: segs[3]!.toLowerCase(),
      provisioningState: 'Succeeded',
      ...row,
    };
    this.write('container', full, RESOURCE_GROUP_TYPE);
  }

  upsertResource(row: ArgRow): void {
    const id = requireId(row, 'resource');
    const segs = segmentsOf(id);
    if (!segs.some((s) => s.toLowerCase() === 'providers')) throw new Error(`not a resource id: ${id}`);
    const rgIndex = segs.findIndex((s) => s.toLowerCase() === 'resourcegroups');
    const full: ArgRow = {
      subscriptionId: segs[1]!,
      name: segs[segs.length - 1]!,
      ...(rgIndex === 2 ? { resourceGroup: segs[3]!.toLowerCase() } : {}),
      provisioningState: 'Succeeded',
      ...row,
    };
    this.write('resource', full, (row.type ?? typeFromId(id)).toLowerCase());
  }

  deleteResource(id: string): boolean {
    const k = key(id);
    const current = this.resources.current(k);
    if (!current) return false;
    this.recordDelete('resource', k, current);
    return true;
  }

  /** Deletes the group and, first, every resource in it (ARM deletes children before the group). */
  deleteResourceGroup(id: string): boolean {
    const k = key(id);
    const current = this.containers.current(k);
    if (!current) return false;
    const prefix = `${k}/`;
    for (const rk of [...this.resources.keysWithPrefix(prefix)]) {
      const row = this.resources.current(rk);
      if (row) this.recordDelete('resource', rk, row);
    }
    this.recordDelete('container', k, current);
    return true;
  }

  /**
   * ARM's move (POST …/resourceGroups/{source}/moveResources {resources, targetResourceGroup}): each named
   * top-level resource, with its child resources, gets a new id under the target group (which may be in another
   * subscription); the old id is deleted. Change records: a Delete for the old id and a Create for the new one (see
   * test/emulators/README.md, "Moves"). Throws, moving nothing, on anything ARM would refuse.
   */
  moveResources(sourceGroupId: string, resourceIds: readonly string[], targetGroupId: string): { from: string; to: string }[] {
    const source = key(sourceGroupId);
    const target = key(targetGroupId);
    const targetRow = this.containers.current(target);
    if (this.containers.current(source)?.type !== RESOURCE_GROUP_TYPE) throw new Error(`moveResources: source resource group ${sourceGroupId} does not exist`);
    if (targetRow?.type !== RESOURCE_GROUP_TYPE) throw new Error(`moveResources: target resource group ${targetGroupId} does not exist`);
    if (source === target) throw new Error('moveResources: source and target resource group are the same');
    if (resourceIds.length === 0) throw new Error('moveResources: name at least one resource');
    const targetSegs = segmentsOf(String(targetRow.id));
    const moves: { fromKey: string; row: Row; to: Row }[] = [];
    for (const id of resourceIds) {
      const k = key(id);
      const rest = k.startsWith(`${source}/providers/`) ? segmentsOf(k.slice(source.length)) : [];
      if (rest.length !== 4) throw new Error(`moveResources: ${id} is not a top-level resource of ${sourceGroupId} (child resources move with their parent)`);
      if (!this.resources.current(k)) throw new Error(`moveResources: ${id} does not exist`);
      for (const rk of [k, ...this.resources.keysWithPrefix(`${k}/`)]) {
        const row = this.resources.current(rk);
        if (!row) continue;
        const originalId = String(row.id);
        const tail = originalId.slice(originalId.toLowerCase().indexOf('/providers/'));
        const to: Row = { ...row, id: `/${targetSegs.join('/')}${tail}`, subscriptionId: targetSegs[1]!, resourceGroup: targetSegs[3]!.toLowerCase() };
        if (this.resources.current(key(String(to.id)))) throw new Error(`moveResources: ${String(to.id)} already exists`);
        moves.push({ fromKey: rk, row, to });
      }
    }
    for (const m of moves) {
      this.recordDelete('resource', m.fromKey, m.row, MOVE_OPERATION);
      this.writeStored('resource', m.to, MOVE_OPERATION);
    }
    return moves.map((m) => ({ from: String(m.row.id), to: String(m.to.id) }));
  }

  private write(table: 'resource' | 'container', row: ArgRow, type: string): void {
    this.writeStored(table, toStored(row, type));
  }

  private writeStored(table: 'resource' | 'container', stored: Row, operation?: string): void {
    const at = this.clock.now();
    const k = key(String(stored.id));
    const target = table === 'resource' ? this.resources : this.containers;
    if (table === 'resource') this.types.add(String(stored.type));
    const previous = target.current(k);
    target.write(k, stored, at, this.stamp(table));
    this.recordChange(table, stored, previous, at, previous ? 'Update' : 'Create', operation);
  }

  private recordDelete(table: 'resource' | 'container', k: string, current: Row, operation?: string): void {
    const at = this.clock.now();
    (table === 'resource' ? this.resources : this.containers).write(k, null, at, this.stamp(table));
    this.recordChange(table, current, current, at, 'Delete', operation);
  }

  private stamp(table: 'resource' | 'container'): { delay?: number } {
    const delay = this.lag.draw(table === 'resource' ? 'resources' : 'resourcecontainers');
    return delay === undefined ? {} : { delay };
  }

  private recordChange(table: 'resource' | 'container', row: Row, previous: Row | null, at: number, changeType: ChangeType, operation?: string): void {
    const name = table === 'resource' ? 'resourcechanges' : 'resourcecontainerchanges';
    const delay = this.lag.draw(name);
    this.changes[name].push({ at, row: changeRecord(row, previous, at, changeType, operation), ...(delay === undefined ? {} : { delay }) });
  }

  /** Visible raw rows of a table in `order by id` order, starting after `afterKey`. */
  *scan(table: TableName, afterKey?: string): Generator<Row> {
    const now = this.clock.now();
    const fallback = this.lag.fallback(table);
    if (table === 'resources' || table === 'resourcecontainers') {
      const source = table === 'resources' ? this.resources : this.containers;
      for (const k of source.keysFrom(afterKey)) {
        const row = source.visible(k, now, fallback);
        if (row) yield row;
      }
      return;
    }
    for (const record of this.changes[table]) if (record.at + (record.delay ?? fallback) <= now) yield record.row;
  }

  /** Visible raw rows for specific ids (the `where id in~ (…)` fast path). */
  *lookup(table: 'resources' | 'resourcecontainers', ids: readonly string[]): Generator<Row> {
    const source = table === 'resources' ? this.resources : this.containers;
    const now = this.clock.now();
    const fallback = this.lag.fallback(table);
    const seen = new Set<string>();
    for (const id of ids) {
      const k = key(id);
      if (seen.has(k)) continue;
      seen.add(k);
      const row = source.visible(k, now, fallback);
      if (row) yield row;
    }
  }

  resourceTypes(): string[] {
    return [...this.types];
  }

  /** When Resource Graph starts showing the id's current state (created, updated or deleted), on the emulator's clock. */
  visibleAt(id: string): number | undefined {
    const k = key(id);
    return this.resources.currentVisibleAt(k, this.lag.fallback('resources')) ?? this.containers.currentVisibleAt(k, this.lag.fallback('resourcecontainers'));
  }

  /** The current raw row of an id (no lag): what ARM itself shows (arm.ts). */
  currentRow(id: string): Row | null {
    const k = key(id);
    return this.resources.current(k) ?? this.containers.current(k);
  }

  /** The true current state (no lag), as the app's queries would project it. */
  snapshot(): EstateSnapshot {
    const subscriptions: ArgRow[] = [];
    const resourceGroups: ArgRow[] = [];
    for (const row of this.containers.currentRows()) {
      (row.type === SUBSCRIPTION_TYPE ? subscriptions : resourceGroups).push(toArgRow(row));
    }
    const resources = [...this.resources.currentRows()].map(toArgRow);
    return { subscriptions, resourceGroups, resources };
  }

  changeCount(): number {
    return this.changes.resourcechanges.length + this.changes.resourcecontainerchanges.length;
  }
}

/** `microsoft.storage/storageaccounts` from `/…/providers/Microsoft.Storage/storageAccounts/x` (last provider block). */
export function typeFromId(id: string): string {
  const segs = segmentsOf(id);
  const p = segs.map((s) => s.toLowerCase()).lastIndexOf('providers');
  if (p < 0) throw new Error(`cannot infer a resource type from ${id}`);
  const rest = segs.slice(p + 1);
  const types = [rest[0]!];
  for (let i = 1; i < rest.length; i += 2) types.push(rest[i]!);
  return types.join('/').toLowerCase();
}
