/**
 * The default mapping from Resource Graph rows to Port entities (blueprints in shared/port/blueprints.ts).
 * Pure functions: identifiers and relation targets both come from toPortIdentifier, so a resource's relation
 * always names exactly the identifier its group and subscription got. Missing fields are omitted; nothing here
 * throws on odd rows.
 */
import {
  parseResourceId,
  resourceGroupIdOf,
  toPortIdentifier,
  type ParsedResourceId,
} from '../azure/resourceId.js';
import type { ArgRow } from '../azure/types.js';
import type { BlueprintIds } from '../port/blueprints.js';
import type { PortEntity } from '../port/types.js';

const PORTAL = 'https://portal.azure.com';

/** Non-empty strings only: Resource Graph's `tostring()` turns missing values into ''. */
function text(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value : undefined;
}

function plainObject(value: unknown): Record<string, unknown> | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

/** Tags keep their keys; values are strings in Azure, anything else is stringified so the object stays flat. */
function tags(value: unknown): Record<string, string> | undefined {
  const source = plainObject(value);
  if (!source) return undefined;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(source)) out[k] = typeof v === 'string' ? v : JSON.stringify(v);
  return out;
}

/** Azure portal deep link. Ids may hold spaces and unicode; encode them so the value is a valid URL. */
export function portalUrl(id: string, tenantId?: string | null): string {
  const path = encodeURI(id).replace(/#/g, '%23').replace(/\?/g, '%3F');
  const tenant = text(tenantId);
  return tenant ? `${PORTAL}/#@${encodeURIComponent(tenant)}/resource${path}` : `${PORTAL}/#/resource${path}`;
}

function compact(properties: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(properties)) if (v !== undefined) out[k] = v;
  return out;
}

function parse(row: ArgRow): ParsedResourceId | undefined {
  if (typeof row?.id !== 'string') return undefined;
  try {
    return parseResourceId(row.id);
  } catch {
    return undefined;
  }
}

const subscriptionIdentifier = (subscriptionId: string) => toPortIdentifier(`/subscriptions/${subscriptionId}`);

export function mapSubscription(row: ArgRow, _ids?: BlueprintIds): PortEntity {
  const parsed = parse(row);
  const subscriptionId = text(row.subscriptionId) ?? parsed?.subscriptionId;
  return {
    identifier: toPortIdentifier(row.id),
    title: text(row.displayName) ?? text(row.name) ?? subscriptionId ?? row.id,
    properties: compact({
      subscriptionId,
      tenantId: text(row.tenantId),
      state: text(row.state) ?? text(plainObject(row.properties)?.state),
      tags: tags(row.tags),
      url: portalUrl(row.id, row.tenantId),
    }),
    relations: {},
  };
}

/** What groups and resources share: the parsed id, the subscription from the id itself (so relation targets follow the id), identifier and title. */
function containedIn(row: ArgRow): { parsed: ParsedResourceId | undefined; subscriptionId: string | undefined; identifier: string; title: string } {
  const parsed = parse(row);
  return {
    parsed,
    subscriptionId: parsed?.subscriptionId ?? text(row.subscriptionId),
    identifier: toPortIdentifier(row.id),
    title: text(row.name) ?? parsed?.name ?? row.id,
  };
}

export function mapResourceGroup(row: ArgRow, _ids?: BlueprintIds): PortEntity {
  const { subscriptionId, identifier, title } = containedIn(row);
  return {
    identifier,
    title,
    properties: compact({
      location: text(row.location),
      provisioningState: text(row.provisioningState),
      managedBy: text(row.managedBy),
      tags: tags(row.tags),
      url: portalUrl(row.id, row.tenantId),
    }),
    relations: { subscription: subscriptionId ? subscriptionIdentifier(subscriptionId) : null },
  };
}

export function mapResource(row: ArgRow, _ids?: BlueprintIds): PortEntity {
  const { parsed, subscriptionId, identifier, title } = containedIn(row);
  const groupId = parsed ? resourceGroupIdOf(row.id) : undefined;
  return {
    identifier,
    title,
    properties: compact({
      resourceId: row.id,
      type: text(row.type)?.toLowerCase() ?? parsed?.type,
      kind: text(row.kind),
      location: text(row.location),
      sku: plainObject(row.sku),
      provisioningState: text(row.provisioningState),
      managedBy: text(row.managedBy),
      tags: tags(row.tags),
      url: portalUrl(row.id, row.tenantId),
    }),
    relations: {
      resourceGroup: groupId ? toPortIdentifier(groupId) : null,
      subscription: subscriptionId ? subscriptionIdentifier(subscriptionId) : null,
    },
  };
}

/**
 * Dispatches on the kind of `row.id`: subscriptions, resource groups, and resources (child resources such as SQL
 * databases included, since Resource Graph lists them as resources). Role assignments, locks, deployments and
 * other non-resources, and rows without a valid id, map to undefined.
 */
export function mapRow(row: ArgRow, ids: BlueprintIds): { blueprint: string; entity: PortEntity } | undefined {
  const parsed = parse(row);
  if (!parsed) return undefined;
  switch (parsed.kind) {
    case 'subscription':
      return { blueprint: ids.subscription, entity: mapSubscription(row, ids) };
    case 'resourceGroup':
      return { blueprint: ids.resourceGroup, entity: mapResourceGroup(row, ids) };
    case 'resource':
    case 'childResource':
      return { blueprint: ids.resource, entity: mapResource(row, ids) };
    case 'nonResource':
      return undefined;
  }
}
