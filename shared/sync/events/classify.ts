/**
 * Decides what an event means for the catalog, from its type and resource id alone (no I/O).
 *
 * Decisions worth knowing:
 * - A child resource's event (subnet, blob container, SQL database, …) does two things: it refreshes the top-level
 *   parent (whose properties usually embed the child; a write hint even for a child delete, since the parent still
 *   exists), and it syncs the child itself, because Resource Graph lists some child types as resources of their own
 *   (SQL databases) and reconciliation maps them. A child that Resource Graph does not list (subnets) is simply not
 *   tracked: no re-checks, no warning. Refreshes coalesce in the batcher.
 * - A tag write (`…/providers/Microsoft.Resources/tags/default`) refreshes the scope it tags: subscription, resource
 *   group or resource. That is how subscription-level writes reach the subscription entity.
 * - Every other non-resource (deployments, role assignments, locks, policy, diagnostic settings) is noise.
 * - Include/exclude resource types apply to resources (after mapping children to their parent); subscriptions and
 *   resource groups are always kept because resources relate to them.
 * - A subscription outside AZURE_SUBSCRIPTION_IDS (when the list is set) is dropped with a warning, not poisoned:
 *   the event is well-formed, it is just not ours (a shared queue or a wide event subscription).
 */
import { parseResourceId, type ParsedResourceId } from '../../azure/resourceId.js';
import type { ResourceEvent } from './message.js';

export type TargetKind = 'subscription' | 'resourceGroup' | 'resource';

export interface SyncTarget {
  kind: TargetKind;
  /** Normalised ARM id: the batcher key and the Resource Graph lookup key. */
  id: string;
  subscriptionId: string;
  /** Lower-case, for resources only. */
  type?: string;
  /** A child resource id: synced only if Resource Graph lists it (never re-checked while invisible after a write). */
  child?: boolean;
}

export type Classification =
  | {
      action: 'sync';
      target: SyncTarget;
      hint: 'write' | 'delete';
      /** Set for child and tag events: the top-level resource (or tagged scope) to refresh as well. */
      parent?: SyncTarget;
      /** A move out of this group: refresh it and every entity Port holds under it (the moved ids are gone from it). */
      children?: true;
    }
  | {
      action: 'ignore';
      counter: 'ignoredFailureOrCancel' | 'ignoredAction' | 'ignoredNoise' | 'ignoredExcludedType';
      reason: string;
    }
  | { action: 'drop'; reason: string }
  | { action: 'malformed'; reason: string };

export interface ClassifyOptions {
  /** Lower-case GUIDs; empty means every subscription. */
  subscriptionIds: readonly string[];
  /** Lower-case resource types. */
  includeResourceTypes: readonly string[];
  excludeResourceTypes: readonly string[];
}

function topLevelOf(parsed: ParsedResourceId): ParsedResourceId {
  let current = parsed;
  for (let depth = 0; depth < 20 && current.kind === 'childResource' && current.parentId; depth++) {
    current = parseResourceId(current.parentId);
  }
  return current;
}

function targetOf(parsed: ParsedResourceId): SyncTarget | undefined {
  const subscriptionId = parsed.subscriptionId.toLowerCase();
  switch (parsed.kind) {
    case 'subscription':
      return { kind: 'subscription', id: parsed.normalized, subscriptionId };
    case 'resourceGroup':
      return { kind: 'resourceGroup', id: parsed.normalized, subscriptionId };
    case 'resource':
      return { kind: 'resource', id: parsed.normalized, subscriptionId, ...(parsed.type ? { type: parsed.type } : {}) };
    case 'childResource':
      return { kind: 'resource', id: parsed.normalized, subscriptionId, child: true, ...(parsed.type ? { type: parsed.type } : {}) };
    default:
      return undefined;
  }
}

/** ARM's move action, published once, on the source group; the event does not say which resources moved where. */
const MOVE_RESOURCES_ACTION = 'microsoft.resources/subscriptions/resourcegroups/moveresources/action';

export function classifyEvent(event: ResourceEvent, options: ClassifyOptions): Classification {
  if (event.eventType === 'Microsoft.Resources.ResourceActionSuccess' && event.operationName?.toLowerCase() === MOVE_RESOURCES_ACTION) {
    return classifyMove(event, options);
  }
  if (event.eventType.startsWith('Microsoft.Resources.ResourceAction')) {
    return { action: 'ignore', counter: 'ignoredAction', reason: `${event.eventType} changes no catalog state` };
  }
  const writes = event.eventType === 'Microsoft.Resources.ResourceWriteSuccess' || event.eventType === 'Microsoft.ResourceNotifications.Resources.CreatedOrUpdated';
  const deletes = event.eventType === 'Microsoft.Resources.ResourceDeleteSuccess' || event.eventType === 'Microsoft.ResourceNotifications.Resources.Deleted';
  if (!writes && !deletes) {
    return { action: 'ignore', counter: 'ignoredFailureOrCancel', reason: `${event.eventType} changes no catalog state` };
  }
  // Any id Azure can produce is accepted (quotes, pipes, spaces, any script): queries take it as one escaped literal
  // and the identifier escapes it. Only what cannot be an ARM id is malformed (resourceId.ts, armIdProblem).
  let parsed: ParsedResourceId;
  try {
    parsed = parseResourceId(event.resourceUri);
  } catch (error) {
    return { action: 'malformed', reason: `data.resourceUri: ${error instanceof Error ? error.message : String(error)}` };
  }
  const subscriptionId = parsed.subscriptionId.toLowerCase();
  if (options.subscriptionIds.length > 0 && !options.subscriptionIds.includes(subscriptionId)) {
    return { action: 'drop', reason: `subscription ${subscriptionId} is not in AZURE_SUBSCRIPTION_IDS` };
  }

  const hint = writes ? 'write' : 'delete';
  const allowed = (target: SyncTarget): boolean => {
    if (target.kind !== 'resource' || !target.type) return true;
    if (options.includeResourceTypes.length > 0 && !options.includeResourceTypes.includes(target.type)) return false;
    return !options.excludeResourceTypes.includes(target.type);
  };
  const excluded = (target: SyncTarget) =>
    ({
      action: 'ignore',
      counter: 'ignoredExcludedType',
      reason:
        options.includeResourceTypes.length > 0 && !options.includeResourceTypes.includes(target.type!)
          ? `${target.type} is not in INCLUDE_RESOURCE_TYPES`
          : `${target.type} is in EXCLUDE_RESOURCE_TYPES`,
    }) as const;

  if (parsed.kind === 'nonResource') {
    if (parsed.type !== 'microsoft.resources/tags' || !parsed.parentId) {
      return { action: 'ignore', counter: 'ignoredNoise', reason: `${parsed.type ?? 'this id'} is not a catalog resource` };
    }
    // A tag write or removal changes the tagged scope, which still exists.
    const scope = targetOf(parseResourceId(parsed.parentId));
    if (!scope) return { action: 'ignore', counter: 'ignoredNoise', reason: 'the tags belong to nothing the catalog tracks' };
    return allowed(scope) ? { action: 'sync', target: scope, hint: 'write' } : excluded(scope);
  }
  const target = targetOf(parsed);
  if (!target) return { action: 'ignore', counter: 'ignoredNoise', reason: 'the id does not lead to a catalog resource' };
  if (parsed.kind !== 'childResource') return allowed(target) ? { action: 'sync', target, hint } : excluded(target);

  const parent = targetOf(topLevelOf(parsed));
  const childAllowed = allowed(target);
  const parentAllowed = parent !== undefined && allowed(parent);
  if (childAllowed && parentAllowed) return { action: 'sync', target, hint, parent };
  if (childAllowed) return { action: 'sync', target, hint };
  if (parentAllowed) return { action: 'sync', target: parent, hint: 'write' };
  return excluded(target);
}

function classifyMove(event: ResourceEvent, options: ClassifyOptions): Classification {
  let parsed: ParsedResourceId;
  try {
    parsed = parseResourceId(event.resourceUri);
  } catch (error) {
    return { action: 'malformed', reason: `data.resourceUri: ${error instanceof Error ? error.message : String(error)}` };
  }
  if (parsed.kind !== 'resourceGroup') {
    return { action: 'ignore', counter: 'ignoredAction', reason: 'a move action on something other than a resource group' };
  }
  const subscriptionId = parsed.subscriptionId.toLowerCase();
  if (options.subscriptionIds.length > 0 && !options.subscriptionIds.includes(subscriptionId)) {
    return { action: 'drop', reason: `subscription ${subscriptionId} is not in AZURE_SUBSCRIPTION_IDS` };
  }
  return { action: 'sync', target: { kind: 'resourceGroup', id: parsed.normalized, subscriptionId }, hint: 'write', children: true };
}

/** The sync target for a normalised id carried by a re-check message, or why it is not one. */
export function targetFromId(id: string): { ok: true; target: SyncTarget } | { ok: false; reason: string } {
  let parsed: ParsedResourceId;
  try {
    parsed = parseResourceId(id);
  } catch (error) {
    return { ok: false, reason: `re-check: ${error instanceof Error ? error.message : String(error)}` };
  }
  const target = targetOf(parsed);
  return target ? { ok: true, target } : { ok: false, reason: `re-check: ${parsed.kind} ids are never re-checked` };
}
