/**
 * What a sync scope is called in Port, and which catalog entities belong to it.
 */
import { createHash } from 'node:crypto';
import { fromPortIdentifier } from '../../azure/resourceId.js';
import type { Settings } from '../../settings.js';

export const STATE_IDENTIFIER_PREFIX = 'azure-port-sync';

/**
 * One state entity per configured scope, so two deployments watching different subscriptions never share a cursor.
 * "Every readable subscription" is plain `azure-port-sync`; an explicit list or management groups get a short
 * stable hash of the sorted, lower-cased list (order and casing in the setting do not matter).
 */
export function stateIdentifierFor(azure: Pick<Settings['azure'], 'subscriptionIds' | 'managementGroupIds'>): string {
  if (azure.subscriptionIds.length > 0) return `${STATE_IDENTIFIER_PREFIX}-subs-${listHash(azure.subscriptionIds)}`;
  if (azure.managementGroupIds.length > 0) return `${STATE_IDENTIFIER_PREFIX}-mg-${listHash(azure.managementGroupIds)}`;
  return STATE_IDENTIFIER_PREFIX;
}

/** Human-readable description of the scope, stored on the state entity. */
export function describeScope(azure: Pick<Settings['azure'], 'subscriptionIds' | 'managementGroupIds'>): string {
  if (azure.subscriptionIds.length > 0) return `subscriptions: ${[...azure.subscriptionIds].sort().join(', ')}`;
  if (azure.managementGroupIds.length > 0) return `management groups: ${[...azure.managementGroupIds].sort().join(', ')}`;
  return 'every readable subscription';
}

function listHash(values: string[]): string {
  const canonical = [...new Set(values.map((v) => v.trim().toLowerCase()))].sort().join(',');
  return createHash('sha256').update(canonical).digest('hex').slice(0, 12);
}

const SUBSCRIPTION_PREFIX = /^\/subscriptions\/([^/]+)/i;

/**
 * The (lower-cased) subscription id an entity identifier lives under, or undefined when it is not an ARM path.
 * The segment is decoded with fromPortIdentifier, the inverse of the one identifier function, so it reads the id
 * back whatever the escaping (a subscription id is a GUID in practice, which escaping leaves as it is). A raw ARM
 * id whose subscription segment has no escapes reads the same way.
 */
export function subscriptionOfIdentifier(identifier: string): string | undefined {
  const segment = SUBSCRIPTION_PREFIX.exec(identifier)?.[1];
  return segment === undefined ? undefined : fromPortIdentifier(segment.toLowerCase());
}
