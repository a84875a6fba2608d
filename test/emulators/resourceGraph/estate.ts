/**
 * The emulator's mutable Azure estate: versioned rows for `resources` / `resourcecontainers`, and change records
 * for `resourcechanges` / `resourcecontainerchanges`, all stamped with an injectable clock.
 *
 * Visibility lag is modelled by keeping every version: a query at time t with lag L sees, per id, the newest
 * version written at or before t − L (so during the lag a stale read returns the OLD row, as Resource Graph does).
 */
import { randomUUID } from 'node:crypto';
import type { ArgRow, ChangeType } from '../../../shared/azure/types.js';
import type { Row, TableName } from './kql.js';

interface Version {
  at: number;
  /** null: deleted. */
  row: Row | null;
}

interface ChangeRecord {
  at: number;
  row: Row;
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
  return { ...rest, type, properties: props };
}

/** The projected view (what the app's queries return), for assertions. */
function toArgRow(stored: Row): ArgRow {
  const { properties, ...rest } = stored as Row & { properties?: Record<string, unknown> };
  const out: ArgRow = { ...(rest as ArgRow) };
  if (properties && typeof properties.provisioningState === 'string') out.provisioningState = properties.provisioningState;
  if (properties && typeof properties.state === 'string') out.state = properties.state;
  return out;
}

class VersionedTable {
  private readonly versions = new Map<string, Version[]>();
  /** Every key ever written, sorted: the scan order (and the paging order) of `order by id asc`. */
  private sortedKeys: string[] = [];
  private unsorted = false;

  write(k: string, row: Row | null, at: number, bulk = false): void {
    let list = this.versions.get(k);
    if (!list) {
      list = [];
      this.versions.set(k, list);
      if (bulk) {
        this.sortedKeys.push(k);
        this.unsorted = true;
      } else {
        this.ensureSorted();
        this.sortedKeys.splice(lowerBound(this.sortedKeys, k), 0, k);
      }
    }
    list.push({ at, row });
  }

  private ensureSorted(): void {
    if (this.unsorted) {
      this.sortedKeys.sort();
      this.unsorted = false;
    }
  }

  visible(k: string, cutoff: number): Row | null {
    const list = this.versions.get(k);
    if (!list) return null;
    for (let i = list.length - 1; i >= 0; i--) {
      if (list[i]!.at <= cutoff) return list[i]!.row;
    }
    return null;
  }

  current(k: string): Row | null {
    const list = this.versions.get(k);
    return list ? list[list.length - 1]!.row : null;
  }

  /** Keys after `afterKey` (exclusive) in sort order. */
  *keysFrom(afterKey?: string): Generator<string> {
    this.ensureSorted();
    let i = afterKey === undefined ? 0 : upperBound(this.sortedKeys, afterKey);
    while (i < this.sortedKeys.length) yield this.sortedKeys[i++]!;
  }

  /** Keys starting with `prefix`, in sort order. */
  *keysWithPrefix(prefix: string): Generator<string> {
    this.ensureSorted();
    for (let i = lowerBound(this.sortedKeys, prefix); i < this.sortedKeys.length; i++) {
      const k = this.sortedKeys[i]!;
      if (!k.startsWith(prefix)) return;
      yield k;
    }
  }

  *currentRows(): Generator<Row> {
    for (const k of this.keysFrom()) {
      const row = this.current(k);
      if (row) yield row;
    }
  }
}

function lowerBound(sorted: string[], value: string): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
function upperBound(sorted: string[], value: string): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! <= value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export interface Lag {
  resourcesMs: number;
  changesMs: number;
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
  lag: Lag = { resourcesMs: 0, changesMs: 0 };

  constructor(private readonly clock: Clock) {}

  /** Loads rows as pre-existing state: visible at once, whatever the lag, with no change records. */
  seed(snapshot: Partial<EstateSnapshot>): void {
    for (const row of snapshot.subscriptions ?? []) {
      this.containers.write(key(requireId(row, 'subscription')), toStored(row, SUBSCRIPTION_TYPE), -Infinity, true);
    }
    for (const row of snapshot.resourceGroups ?? []) {
      this.containers.write(key(requireId(row, 'resource group')), toStored(row, RESOURCE_GROUP_TYPE), -Infinity, true);
    }
    for (const row of snapshot.resources ?? []) {
      const id = requireId(row, 'resource');
      this.resources.write(key(id), toStored(row, (row.type ?? typeFromId(id)).toLowerCase()), -Infinity, true);
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

  private write(table: 'resource' | 'container', row: ArgRow, type: string): void {
    const at = this.clock.now();
    const k = key(row.id);
    const target = table === 'resource' ? this.resources : this.containers;
    const previous = target.current(k);
    const stored = toStored(row, type);
    target.write(k, stored, at);
    this.recordChange(table, stored, previous, at);
  }

  private recordDelete(table: 'resource' | 'container', k: string, current: Row): void {
    const at = this.clock.now();
    (table === 'resource' ? this.resources : this.containers).write(k, null, at);
    this.recordChange(table, current, current, at, 'Delete');
  }

  /**
   * A change record shaped like Resource Graph's (Learn governance/resource-graph/changes/changes-resource-spec; the
   * values follow the preview resourceChanges spec's ChangeType / ChangeCategory / PropertyChangeType enums). Only
   * updates carry `changes`, keyed by property path.
   */
  private recordChange(table: 'resource' | 'container', row: Row, previous: Row | null, at: number, deleted?: 'Delete'): void {
    const name = table === 'resource' ? 'resourcechanges' : 'resourcecontainerchanges';
    const changeType: ChangeType = deleted ?? (previous ? 'Update' : 'Create');
    const changes = changeType === 'Update' ? propertyChanges(previous!, row) : undefined;
    const changeId = randomUUID();
    this.changes[name].push({
      at,
      row: {
        id: `${String(row.id)}/providers/Microsoft.Resources/changes/${changeId}`,
        name: changeId,
        type: 'microsoft.resources/changes',
        tenantId: row.tenantId ?? null,
        kind: '',
        location: '',
        resourceGroup: row.resourceGroup ?? '',
        subscriptionId: row.subscriptionId ?? null,
        managedBy: '',
        sku: null,
        plan: null,
        properties: {
          targetResourceId: row.id,
          targetResourceType: row.type,
          changeType,
          changeAttributes: {
            timestamp: new Date(at).toISOString(),
            correlationId: randomUUID(),
            changedBy: 'emulator@contoso.com',
            changedByType: 'User',
            clientType: 'Azure Resource Graph emulator',
            operation: `${String(row.type)}/${changeType === 'Delete' ? 'delete' : 'write'}`,
            changesCount: changes ? Object.keys(changes).length : 0,
            previousResourceSnapshotId: changeType === 'Create' ? null : randomUUID(),
            newResourceSnapshotId: changeType === 'Delete' ? null : randomUUID(),
          },
          ...(changes ? { changes } : {}),
        },
      },
    });
  }

  /** Visible raw rows of a table in `order by id` order, starting after `afterKey`. */
  *scan(table: TableName, afterKey?: string): Generator<Row> {
    const now = this.clock.now();
    if (table === 'resources' || table === 'resourcecontainers') {
      const source = table === 'resources' ? this.resources : this.containers;
      const cutoff = now - this.lag.resourcesMs;
      for (const k of source.keysFrom(afterKey)) {
        const row = source.visible(k, cutoff);
        if (row) yield row;
      }
      return;
    }
    const cutoff = now - this.lag.changesMs;
    for (const record of this.changes[table]) if (record.at <= cutoff) yield record.row;
  }

  /** Visible raw rows for specific ids (the `where id in~ (…)` fast path). */
  *lookup(table: 'resources' | 'resourcecontainers', ids: readonly string[]): Generator<Row> {
    const source = table === 'resources' ? this.resources : this.containers;
    const cutoff = this.clock.now() - this.lag.resourcesMs;
    const seen = new Set<string>();
    for (const id of ids) {
      const k = key(id);
      if (seen.has(k)) continue;
      seen.add(k);
      const row = source.visible(k, cutoff);
      if (row) yield row;
    }
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

/** Leaf property paths (`tags.env`, `properties.provisioningState`) whose values differ between two rows. */
function propertyChanges(before: Row, after: Row): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const walk = (path: string, a: unknown, b: unknown): void => {
    const isObject = (v: unknown) => v !== null && typeof v === 'object' && !Array.isArray(v);
    if (isObject(a) && isObject(b)) {
      const keys = new Set([...Object.keys(a as Row), ...Object.keys(b as Row)]);
      for (const key of keys) walk(path ? `${path}.${key}` : key, (a as Row)[key], (b as Row)[key]);
      return;
    }
    if (JSON.stringify(a) === JSON.stringify(b)) return;
    out[path] = {
      previousValue: a === undefined ? null : typeof a === 'string' ? a : JSON.stringify(a),
      newValue: b === undefined ? null : typeof b === 'string' ? b : JSON.stringify(b),
      changeCategory: 'User',
      propertyChangeType: a === undefined ? 'Insert' : b === undefined ? 'Remove' : 'Update',
    };
  };
  walk('', before, after);
  return out;
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
