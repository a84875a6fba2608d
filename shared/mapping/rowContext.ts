/**
 * What the mapping's jq sees besides the Resource Graph row, and what an Azure id alone spells.
 *
 * Helper fields (added to every row, overwriting a column of the same name; Resource Graph has none of these):
 * - `portIdentifier`: the row's Port identifier (toPortIdentifier of `id`).
 * - `portResourceGroupIdentifier`: the Port identifier of the row's resource group (a resource group's own for a
 *   resource group row), null for subscriptions and subscription-level resources.
 * - `portSubscriptionIdentifier`: the Port identifier of the row's subscription.
 * - `azurePortalUrl`: the Azure portal link (uses `tenantId` when the row has it).
 * The first three come from the id alone, so a mapping never re-implements identity and relations always name
 * exactly the identifier the target entity got.
 */
import { parseResourceId, toPortIdentifier, type ParsedResourceId } from '../azure/resourceId.js';
import { SUBSCRIPTION_TYPE, RESOURCE_GROUP_TYPE } from '../azure/queries.js';
import type { ArgRow } from '../azure/types.js';
import { portalUrl } from './index.js';
import type { MappingLevel } from './types.js';

export const HELPER_FIELDS = ['portIdentifier', 'portResourceGroupIdentifier', 'portSubscriptionIdentifier', 'azurePortalUrl'] as const;

export interface RowIdentity {
  id: string;
  /** As the id spells them. */
  subscriptionId: string;
  resourceGroup: string | undefined;
  name: string | undefined;
  level: MappingLevel;
  /** Lower-case type: microsoft.resources/subscriptions, …/resourcegroups, or the resource's full type. */
  type: string;
  portIdentifier: string;
  portResourceGroupIdentifier: string | null;
  portSubscriptionIdentifier: string;
}

/** The identity of a syncable Azure id; undefined for anything else (invalid ids, role assignments, deployments…). */
export function identityOf(id: unknown): RowIdentity | undefined {
  if (typeof id !== 'string') return undefined;
  let parsed: ParsedResourceId;
  try {
    parsed = parseResourceId(id);
  } catch {
    return undefined;
  }
  let level: MappingLevel;
  let type: string;
  switch (parsed.kind) {
    case 'subscription':
      level = 'subscription';
      type = SUBSCRIPTION_TYPE;
      break;
    case 'resourceGroup':
      level = 'resourceGroup';
      type = RESOURCE_GROUP_TYPE;
      break;
    case 'resource':
    case 'childResource':
      level = 'resource';
      type = parsed.type!;
      break;
    default:
      return undefined;
  }
  const subscriptionPath = `/subscriptions/${parsed.subscriptionId.toLowerCase()}`;
  return {
    id,
    subscriptionId: parsed.subscriptionId,
    resourceGroup: parsed.resourceGroup,
    name: parsed.name,
    level,
    type,
    portIdentifier: toPortIdentifier(id),
    portResourceGroupIdentifier:
      parsed.resourceGroup === undefined ? null : cachedIdentifier(`${subscriptionPath}/resourcegroups/${parsed.resourceGroup.toLowerCase()}`),
    portSubscriptionIdentifier: cachedIdentifier(subscriptionPath),
  };
}

/** Subscriptions and groups repeat across rows: their identifiers are computed once (bounded memory). */
const identifierCache = new Map<string, string>();
function cachedIdentifier(normalizedId: string): string {
  let found = identifierCache.get(normalizedId);
  if (found === undefined) {
    if (identifierCache.size >= 50_000) identifierCache.clear();
    found = toPortIdentifier(normalizedId);
    identifierCache.set(normalizedId, found);
  }
  return found;
}

/** The row as jq sees it: the Resource Graph columns plus the helper fields. */
export function withHelperFields(row: ArgRow, identity: RowIdentity): ArgRow {
  return {
    ...row,
    portIdentifier: identity.portIdentifier,
    portResourceGroupIdentifier: identity.portResourceGroupIdentifier,
    portSubscriptionIdentifier: identity.portSubscriptionIdentifier,
    azurePortalUrl: portalUrl(identity.id, row.tenantId),
  };
}

/**
 * The row a delete knows: `id`, and `subscriptionId`, `resourceGroup`, `type`, `name` as the id spells them (note
 * that Resource Graph itself returns `resourceGroup` lower-cased), plus the helper fields that come from the id.
 */
export function idOnlyRow(identity: RowIdentity): ArgRow {
  return {
    id: identity.id,
    subscriptionId: identity.subscriptionId,
    ...(identity.resourceGroup === undefined ? {} : { resourceGroup: identity.resourceGroup }),
    type: identity.type,
    name: identity.name ?? null,
    portIdentifier: identity.portIdentifier,
    portResourceGroupIdentifier: identity.portResourceGroupIdentifier,
    portSubscriptionIdentifier: identity.portSubscriptionIdentifier,
  };
}
