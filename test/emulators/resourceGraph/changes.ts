/**
 * Changes to the emulated estate as data: the body of `POST /_emulator/changes` and of churn rules.
 */
import type { ArgRow } from '../../../shared/azure/types.js';
import type { Estate } from './estate.js';

export type ChangeOp =
  | { op: 'upsertSubscription' | 'upsertResourceGroup' | 'upsertResource'; row: ArgRow }
  | { op: 'deleteResource' | 'deleteResourceGroup'; id: string }
  /** ARM's moveResources; `sourceResourceGroup` defaults to the group of the first resource. */
  | { op: 'moveResources'; sourceResourceGroup?: string; resources: string[]; targetResourceGroup: string };

const ROW_OPS = new Set(['upsertSubscription', 'upsertResourceGroup', 'upsertResource']);
const ID_OPS = new Set(['deleteResource', 'deleteResourceGroup']);

/** Throws an Error naming the first malformed change. */
export function checkChanges(raw: unknown, where: string): ChangeOp[] {
  const list = Array.isArray(raw) ? raw : [raw];
  list.forEach((c: Partial<Record<string, unknown>> | null, i) => {
    const at = `${where}[${i}]`;
    const op = c?.op;
    if (typeof op === 'string' && ROW_OPS.has(op)) {
      if (!c!.row || typeof c!.row !== 'object' || typeof (c!.row as ArgRow).id !== 'string') throw new Error(`${at}: ${op} needs a row with an id`);
    } else if (typeof op === 'string' && ID_OPS.has(op)) {
      if (typeof c!.id !== 'string') throw new Error(`${at}: ${op} needs an id`);
    } else if (op === 'moveResources') {
      const resources = c!.resources;
      if (!Array.isArray(resources) || resources.length === 0 || resources.some((r) => typeof r !== 'string')) {
        throw new Error(`${at}: moveResources needs resources (a non-empty array of resource ids)`);
      }
      if (typeof c!.targetResourceGroup !== 'string') throw new Error(`${at}: moveResources needs targetResourceGroup (a resource group id)`);
      if (c!.sourceResourceGroup !== undefined && typeof c!.sourceResourceGroup !== 'string') {
        throw new Error(`${at}: moveResources sourceResourceGroup must be a resource group id`);
      }
    } else {
      throw new Error(`${at}: unknown change ${JSON.stringify(op)} (upsertSubscription, upsertResourceGroup, upsertResource, deleteResource, deleteResourceGroup, moveResources)`);
    }
  });
  return list as ChangeOp[];
}

/** The group id a resource id lives in: `/subscriptions/s/resourceGroups/g`. */
export function groupOf(resourceId: string): string {
  return resourceId.split('/').filter(Boolean).slice(0, 4).reduce((id, seg) => `${id}/${seg}`, '');
}

/** Applies changes in order; returns what each did (moves: old → new ids). */
export function applyChanges(estate: Estate, changes: ChangeOp[]): unknown[] {
  return changes.map((c) => {
    switch (c.op) {
      case 'upsertSubscription':
        return estate.upsertSubscription(c.row);
      case 'upsertResourceGroup':
        return estate.upsertResourceGroup(c.row);
      case 'upsertResource':
        return estate.upsertResource(c.row);
      case 'deleteResource':
        return estate.deleteResource(c.id);
      case 'deleteResourceGroup':
        return estate.deleteResourceGroup(c.id);
      case 'moveResources':
        return estate.moveResources(c.sourceResourceGroup ?? groupOf(c.resources[0]!), c.resources, c.targetResourceGroup);
    }
  });
}
