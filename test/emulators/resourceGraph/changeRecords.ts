/**
 * Change records shaped like Resource Graph's `resourcechanges` / `resourcecontainerchanges` rows (Learn
 * governance/resource-graph/changes/changes-resource-spec; values follow the preview resourceChanges spec's
 * ChangeType / ChangeCategory / PropertyChangeType enums). Only updates carry `changes`, keyed by property path.
 */
import { randomUUID } from 'node:crypto';
import type { ChangeType } from '../../../shared/azure/types.js';
import type { Row } from './kql.js';

/** The RBAC operation Resource Graph records for a move (the source group's moveResources action). */
export const MOVE_OPERATION = 'Microsoft.Resources/subscriptions/resourceGroups/moveResources/action';

export function changeRecord(row: Row, previous: Row | null, at: number, changeType: ChangeType, operation?: string): Row {
  const changes = changeType === 'Update' && previous ? propertyChanges(previous, row) : undefined;
  const changeId = randomUUID();
  return {
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
        operation: operation ?? `${String(row.type)}/${changeType === 'Delete' ? 'delete' : 'write'}`,
        changesCount: changes ? Object.keys(changes).length : 0,
        previousResourceSnapshotId: changeType === 'Create' ? null : randomUUID(),
        newResourceSnapshotId: changeType === 'Delete' ? null : randomUUID(),
      },
      ...(changes ? { changes } : {}),
    },
  };
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
