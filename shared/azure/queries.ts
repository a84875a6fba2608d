/**
 * Every KQL query the app sends to Resource Graph, one function per query.
 *
 * Values from events or settings reach a query only through kqlString() (one string literal) or kqlDatetime()
 * (formatted from a Date), so they cannot change a query's shape. test/emulators/resourceGraph interprets
 * exactly the subset built here; test/azure/queries.test.ts checks both.
 */

/** Columns the mapping reads from `resources`. */
export const RESOURCE_COLUMNS =
  'id, name, type, kind, location, resourceGroup, subscriptionId, tenantId, managedBy, sku, tags, provisioningState = tostring(properties.provisioningState)';
/** Columns the mapping reads from resource groups in `resourcecontainers`. */
export const RESOURCE_GROUP_COLUMNS =
  'id, name, type, location, resourceGroup, subscriptionId, tenantId, managedBy, tags, provisioningState = tostring(properties.provisioningState)';
/** Columns the mapping reads from subscriptions in `resourcecontainers` (`name` is the display name there). */
export const SUBSCRIPTION_COLUMNS = 'id, name, type, subscriptionId, tenantId, tags, state = tostring(properties.state)';
/** Every container column, for lookups that mix subscriptions and resource groups. */
const CONTAINER_COLUMNS =
  'id, name, type, location, resourceGroup, subscriptionId, tenantId, managedBy, tags, provisioningState = tostring(properties.provisioningState), state = tostring(properties.state)';

export const SUBSCRIPTION_TYPE = 'microsoft.resources/subscriptions';
export const RESOURCE_GROUP_TYPE = 'microsoft.resources/subscriptions/resourcegroups';

/** Resource Graph's limit for `in~` lists we send in one query (and the documented page size). */
export const MAX_IDS_PER_LOOKUP = 1000;

export interface ResourceTypeFilter {
  /** Only these types (any casing). Empty: all. */
  includeResourceTypes?: readonly string[];
  /** Never these types (any casing). */
  excludeResourceTypes?: readonly string[];
}

/**
 * One KQL string literal whose value is exactly `value`. Printable ASCII other than `\` and `'` is kept; every
 * other UTF-16 unit (quotes, backslashes, control characters, line separators, any non-ASCII) becomes `\uXXXX`
 * or a two-character escape, so the literal is pure printable ASCII and cannot end early or span lines.
 */
export function kqlString(value: string): string {
  if (typeof value !== 'string') throw new TypeError(`kqlString expects a string, got ${typeof value}`);
  let out = "'";
  for (let i = 0; i < value.length; i++) {
    const unit = value.charCodeAt(i);
    if (unit === 0x5c) out += '\\\\';
    else if (unit === 0x27) out += "\\'";
    else if (unit >= 0x20 && unit <= 0x7e) out += value[i];
    else out += `\\u${unit.toString(16).padStart(4, '0')}`;
  }
  return `${out}'`;
}

/** A KQL datetime literal from a Date (never from caller text). */
export function kqlDatetime(date: Date): string {
  if (!(date instanceof Date) || Number.isNaN(date.getTime())) {
    throw new TypeError(`kqlDatetime expects a valid Date, got ${String(date)}`);
  }
  return `datetime(${date.toISOString()})`;
}

function kqlStringList(values: readonly string[]): string {
  return `(${values.map(kqlString).join(', ')})`;
}

function typeFilterClauses(filter: ResourceTypeFilter, column: string): string[] {
  const clauses: string[] = [];
  const include = [...new Set((filter.includeResourceTypes ?? []).map((t) => t.toLowerCase()))];
  const exclude = [...new Set((filter.excludeResourceTypes ?? []).map((t) => t.toLowerCase()))];
  if (include.length > 0) clauses.push(`| where ${column} in~ ${kqlStringList(include)}`);
  if (exclude.length > 0) clauses.push(`| where ${column} !in~ ${kqlStringList(exclude)}`);
  return clauses;
}

const lines = (...parts: (string | string[])[]) => parts.flat().join('\n');

/** Columns a mapping reads beyond the default projections (e.g. `properties`), per level. */
export interface ExtraColumns {
  subscription?: readonly string[];
  resourceGroup?: readonly string[];
  resource?: readonly string[];
}

const COLUMN_NAME = /^[A-Za-z][A-Za-z0-9]*$/;

/** `columns` plus the extra ones not already projected; an extra that is not a plain column name is refused. */
function withExtra(columns: string, extra: readonly string[] = []): string {
  const present = new Set(columns.split(',').map((c) => c.split('=')[0]!.trim()));
  const added: string[] = [];
  for (const column of extra) {
    if (!COLUMN_NAME.test(column)) throw new RangeError(`not a Resource Graph column name: ${JSON.stringify(column)}`);
    if (!present.has(column) && !added.includes(column)) added.push(column);
  }
  return added.length > 0 ? `${columns}, ${added.join(', ')}` : columns;
}

function containersQuery(type: string, columns: string): string {
  return lines('resourcecontainers', `| where type =~ ${kqlString(type)}`, `| project ${columns}`, '| order by id asc');
}

export function subscriptionsQuery(extra: ExtraColumns = {}): string {
  return containersQuery(SUBSCRIPTION_TYPE, withExtra(SUBSCRIPTION_COLUMNS, extra.subscription));
}

export function resourceGroupsQuery(extra: ExtraColumns = {}): string {
  return containersQuery(RESOURCE_GROUP_TYPE, withExtra(RESOURCE_GROUP_COLUMNS, extra.resourceGroup));
}

export function resourcesQuery(filter: ResourceTypeFilter = {}, extra: ExtraColumns = {}): string {
  return lines('resources', typeFilterClauses(filter, 'type'), `| project ${withExtra(RESOURCE_COLUMNS, extra.resource)}`, '| order by id asc');
}

/**
 * Current state of up to 1000 ids: resource ids against `resources` (with the same type filters as
 * resourcesQuery, so a lookup and a full listing agree on what exists), container ids against
 * `resourcecontainers`. Either list may be empty, not both.
 */
export function lookupByIdsQuery(
  ids: { resourceIds: readonly string[]; containerIds: readonly string[] },
  filter: ResourceTypeFilter = {},
  extra: ExtraColumns = {},
): string {
  const { resourceIds, containerIds } = ids;
  const total = resourceIds.length + containerIds.length;
  if (total === 0) throw new RangeError('lookupByIdsQuery needs at least one id');
  if (total > MAX_IDS_PER_LOOKUP) {
    throw new RangeError(`lookupByIdsQuery takes at most ${MAX_IDS_PER_LOOKUP} ids per query, got ${total}`);
  }
  const resourceLeg = (): string[] => [
    'resources',
    `| where id in~ ${kqlStringList(resourceIds)}`,
    ...typeFilterClauses(filter, 'type'),
    `| project ${withExtra(RESOURCE_COLUMNS, extra.resource)}`,
  ];
  const containerLeg = (): string[] => [
    'resourcecontainers',
    `| where id in~ ${kqlStringList(containerIds)}`,
    `| project ${withExtra(CONTAINER_COLUMNS, [...(extra.subscription ?? []), ...(extra.resourceGroup ?? [])])}`,
  ];
  if (containerIds.length === 0) return lines(resourceLeg(), '| order by id asc');
  if (resourceIds.length === 0) return lines(containerLeg(), '| order by id asc');
  return lines(resourceLeg(), `| union (${containerLeg().join(' ')})`, '| order by id asc');
}

export type ChangeTable = 'resourcechanges' | 'resourcecontainerchanges';

/**
 * The latest change per target id in [since, until). The group key is named `id` (the lower-cased target id)
 * because Resource Graph pages stably only on an `id` column.
 */
export function changesQuery(
  table: ChangeTable,
  window: { since: Date; until: Date },
  filter: ResourceTypeFilter = {},
): string {
  if (!(window.until.getTime() > window.since.getTime())) {
    throw new RangeError(
      `change window must end after it starts, got [${window.since.toISOString()}, ${window.until.toISOString()})`,
    );
  }
  return lines(
    table,
    '| extend changeTime = todatetime(properties.changeAttributes.timestamp), targetResourceId = tostring(properties.targetResourceId), targetResourceType = tostring(properties.targetResourceType), changeType = tostring(properties.changeType)',
    `| where changeTime >= ${kqlDatetime(window.since)} and changeTime < ${kqlDatetime(window.until)}`,
    table === 'resourcechanges' ? typeFilterClauses(filter, 'targetResourceType') : [],
    // arg_max picks any row among equal timestamps; lastDeleteTime lets the reader break such ties toward Delete.
    "| summarize arg_max(changeTime, targetResourceId, changeType), lastDeleteTime = maxif(changeTime, changeType =~ 'Delete') by id = tolower(targetResourceId)",
    '| order by id asc',
  );
}

/** Every query with sample arguments, for documentation (README) and drift tests against the emulator. */
export function describeQueries(
  sample: { filter?: ResourceTypeFilter; since?: Date; until?: Date; ids?: { resourceIds: string[]; containerIds: string[] } } = {},
): Record<string, string> {
  const filter = sample.filter ?? { includeResourceTypes: ['Microsoft.Compute/virtualMachines'], excludeResourceTypes: ['microsoft.network/networkwatchers'] };
  const since = sample.since ?? new Date('2026-01-01T00:00:00.000Z');
  const until = sample.until ?? new Date('2026-01-01T00:15:00.000Z');
  const ids = sample.ids ?? {
    resourceIds: ['/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/sa'],
    containerIds: ['/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg'],
  };
  return {
    subscriptions: subscriptionsQuery(),
    resourceGroups: resourceGroupsQuery(),
    resources: resourcesQuery(filter),
    lookupByIds: lookupByIdsQuery(ids, filter),
    resourceChanges: changesQuery('resourcechanges', { since, until }, filter),
    resourceContainerChanges: changesQuery('resourcecontainerchanges', { since, until }, filter),
  };
}
