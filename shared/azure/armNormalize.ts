/**
 * Turns what ARM returns (a GET by id) and what Azure Resource Notifications carry (`data.resourceInfo`) into the row
 * the app's Resource Graph queries project (shared/azure/queries.ts), so every source maps through the one mapping
 * and gives the same entity. Pure.
 *
 * The differences normalised (each one proven in test/azure/armReader.test.ts and, under the example mapping that
 * reads `properties` and `zones`, test/azure/armExampleMapping.test.ts, on Microsoft's examples and the estate
 * fixtures):
 * - `type`: ARM writes the provider's casing (`Microsoft.Storage/storageAccounts`); Resource Graph lower-cases it.
 *   Resource groups are `Microsoft.Resources/resourceGroups` in ARM and
 *   `microsoft.resources/subscriptions/resourcegroups` in Resource Graph.
 * - `location`: some providers (App Service) answer a display name (`West Europe`); Resource Graph has `westeurope`.
 * - `resourceGroup` (lower-case in Resource Graph), `subscriptionId`: columns Resource Graph adds, derived from the id.
 * - `tenantId`: a Resource Graph column ARM resources do not carry; it comes from the subscription (ARM's
 *   GET /subscriptions/{id}), which the reader caches.
 * - `provisioningState`: inside `properties` in ARM; our queries flatten `tostring(properties.provisioningState)`.
 * - Subscriptions: ARM's `displayName` is Resource Graph's `name`, `state` is `properties.state` there.
 * - Columns a mapping reads beyond the default projections (`properties`, `zones`, `identity`, `plan`,
 *   `extendedLocation`; mapper.extraColumns): Resource Graph projects them only when asked (useExtraColumns), and ARM
 *   has them at the same place in its payload. The row carries exactly the ones asked for, null where the payload has
 *   none (as Resource Graph's column is), so both rows hold the same columns for the mapping.
 *   Dropping them made every ARM read under such a mapping map `properties.*` to its defaults, and the stale-read
 *   check then kept that entity over the correct Resource Graph row until the next full sync rewrote it.
 * - Notifications: `tags` was a JSON string in early payloads (@azure/eventgrid 5 made it an object); booleans in
 *   `properties` arrive as 1/0. The default mapping reads no boolean, so 1/0 cannot reach an entity; a custom mapping
 *   that reads `properties` must not be fed notification payloads (they are never used for rows alone, see below).
 * - Notifications carry no `kind`, `sku` or `managedBy`: a notification row is only ever an overlay of the fields it
 *   carries (NOTIFICATION_FIELDS) on a full row read from Resource Graph or ARM.
 */
import { parseResourceId } from './resourceId.js';
import type { ArgRow } from './types.js';

/** The row fields a Resource Notifications `CreatedOrUpdated` payload sets; everything else comes from a read. */
// Not `name` or `type`: the id decides them (a payload that disagrees with its id is not trusted for them).
export const NOTIFICATION_FIELDS = ['location', 'tags', 'provisioningState'] as const;

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** `West Europe` → `westeurope`: Resource Graph's form of a location. */
export function normalizeLocation(value: unknown): string | null {
  return typeof value === 'string' && value.trim() !== '' ? value.toLowerCase().replace(/\s+/g, '') : null;
}

/** Tags as an object of strings; a JSON string (early notification payloads) is parsed. */
export function normalizeTags(value: unknown): Record<string, string> | null {
  let tags = value;
  if (typeof tags === 'string') {
    try {
      tags = JSON.parse(tags);
    } catch {
      return null;
    }
  }
  if (!isObject(tags)) return null;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(tags)) out[k] = typeof v === 'string' ? v : JSON.stringify(v);
  return out;
}

const text = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);

/** Columns the row always has (computed above); an extra column is never one of them. */
const PROJECTED = new Set(['id', 'name', 'type', 'kind', 'location', 'resourceGroup', 'subscriptionId', 'tenantId', 'managedBy', 'sku', 'tags', 'provisioningState', 'state']);

/** The extra columns asked for, from the payload's top level (null where it has none, as Resource Graph's). */
function extraFields(payload: Record<string, unknown>, extraColumns: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const column of extraColumns) if (!PROJECTED.has(column)) out[column] = payload[column] ?? null;
  return out;
}

/**
 * The Resource Graph row for an ARM GET payload, or an Error naming what is wrong. `tenantId` is the subscription's
 * tenant (resources and groups do not carry it). `extraColumns`: the columns beyond the default projection the
 * mapping reads at the id's level (what the Resource Graph reader was told with useExtraColumns).
 */
export function armPayloadToRow(payload: unknown, tenantId: string | null, extraColumns: readonly string[] = []): ArgRow | Error {
  if (!isObject(payload) || typeof payload.id !== 'string') return new Error('the ARM payload has no id');
  let parsed;
  try {
    parsed = parseResourceId(payload.id);
  } catch (error) {
    return error as Error;
  }
  const properties = isObject(payload.properties) ? payload.properties : {};
  const subscriptionId = parsed.subscriptionId;
  const common = { id: payload.id, subscriptionId, tenantId: text(payload.tenantId) ?? tenantId, tags: normalizeTags(payload.tags) };
  switch (parsed.kind) {
    case 'subscription':
      return {
        ...common,
        name: text(payload.displayName) ?? text(payload.name) ?? subscriptionId,
        type: 'microsoft.resources/subscriptions',
        state: text(payload.state) ?? text(properties.state),
      };
    case 'resourceGroup':
      return {
        ...common,
        name: text(payload.name) ?? parsed.name ?? null,
        type: 'microsoft.resources/subscriptions/resourcegroups',
        location: normalizeLocation(payload.location),
        resourceGroup: (text(payload.name) ?? parsed.name ?? '').toLowerCase(),
        managedBy: text(payload.managedBy),
        provisioningState: text(properties.provisioningState),
        ...extraFields(payload, extraColumns),
      };
    case 'resource':
    case 'childResource':
      return {
        ...common,
        // ARM leaves `tags` out of an untagged resource; Resource Graph shows `{}`. One spelling, or a full sync
        // would rewrite what an ARM read wrote.
        tags: common.tags ?? {},
        name: text(payload.name) ?? parsed.name ?? null,
        type: (text(payload.type) ?? parsed.type ?? '').toLowerCase(),
        kind: text(payload.kind),
        location: normalizeLocation(payload.location),
        resourceGroup: parsed.resourceGroup?.toLowerCase() ?? null,
        managedBy: text(payload.managedBy),
        sku: isObject(payload.sku) ? payload.sku : null,
        provisioningState: text(properties.provisioningState),
        ...extraFields(payload, extraColumns),
      };
    default:
      return new Error(`${payload.id} is not a subscription, resource group or resource`);
  }
}

/**
 * The fields of a notification's `resourceInfo` in Resource Graph's form (NOTIFICATION_FIELDS plus the id), or an
 * Error. Never a row on its own: see overlayNotification.
 */
export function notificationFields(resourceInfo: unknown): (Pick<ArgRow, 'id'> & Partial<ArgRow>) | Error {
  if (!isObject(resourceInfo) || typeof resourceInfo.id !== 'string') return new Error('data.resourceInfo.id is missing');
  const properties = isObject(resourceInfo.properties) ? resourceInfo.properties : {};
  // A field the payload does not carry says nothing about it: left undefined, so it is not laid over the row.
  const location = normalizeLocation(resourceInfo.location);
  const tags = resourceInfo.tags === undefined ? null : normalizeTags(resourceInfo.tags);
  const provisioningState = text(properties.provisioningState);
  return {
    id: resourceInfo.id,
    name: text(resourceInfo.name),
    type: text(resourceInfo.type)?.toLowerCase() ?? null,
    ...(location !== null ? { location } : {}),
    ...(tags !== null ? { tags } : {}),
    ...(provisioningState !== null ? { provisioningState } : {}),
  };
}

/** A full row (Resource Graph or ARM) with the notification's fields laid over it; the id keeps the row's casing. */
export function overlayNotification(row: ArgRow, fields: Partial<ArgRow>): ArgRow {
  const out: ArgRow = { ...row };
  for (const f of NOTIFICATION_FIELDS) if (fields[f] !== undefined) (out as Record<string, unknown>)[f] = fields[f];
  return out;
}

/** provisioningState values of an operation still running: the row is about to change again. */
const IN_FLIGHT = new Set(['creating', 'updating', 'deleting', 'accepted', 'provisioning', 'migrating', 'inprogress', 'running', 'scaling']);

export function provisioningInFlight(row: ArgRow | undefined): boolean {
  const state = row?.provisioningState;
  return typeof state === 'string' && IN_FLIGHT.has(state.toLowerCase());
}
