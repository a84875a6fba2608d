/**
 * What a perfect client must do in each scenario (the input to bound.ts), from the data actually generated.
 */
import type { Work } from './bound.js';
import type { ChangeSet } from './workload.js';

function lastPageRows(rows: number, pageSize: number): number {
  if (rows === 0) return 0;
  return rows % pageSize === 0 ? pageSize : rows % pageSize;
}

/** What a perfect full sync must do: read three lists from ARG and Port, write what differs. */
export function fullSyncWork(sizes: { subscriptions: number; resourceGroups: number; resources: number }, inPort: number[], writes: number[], pageSize: number): Work {
  return {
    arg: { queryRows: [sizes.subscriptions, sizes.resourceGroups, sizes.resources] },
    port: {
      searchEntities: inPort,
      upsertsPerBlueprint: writes,
      deletesPerBlueprint: [0, 0, 0],
      stateRequests: 2,
      tailWrites: writes[2]! > 0 ? lastPageRows(sizes.resources, pageSize) : 0,
    },
  };
}

/** What a perfect windowed sync must do for a change set. */
export function windowedWork(set: ChangeSet): Work {
  const resourceChangeRows = set.updates.length + set.creates.length + set.deletes.length + set.cascadedResourceDeletes;
  return {
    arg: { queryRows: [resourceChangeRows, set.groupDeletes.length, set.updates.length + set.creates.length] },
    port: {
      searchEntities: [],
      extraSearches: set.groupDeletes.length > 0 ? 1 : 0,
      upsertsPerBlueprint: [0, 0, set.updates.length + set.creates.length],
      deletesPerBlueprint: [0, set.groupDeletes.length, set.deletes.length + set.cascadedResourceDeletes],
      stateRequests: 2,
      tailWrites: 0,
    },
  };
}

/** What a perfect event handler must do for a burst: look every distinct id up once, write each entity once. */
export function eventWork(set: ChangeSet): Work {
  const lookups = set.updates.length + set.creates.length + set.deletes.length + set.groupDeletes.length;
  return {
    arg: { queryRows: [lookups] },
    port: {
      searchEntities: [],
      extraSearches: set.groupDeletes.length > 0 ? 1 : 0,
      upsertsPerBlueprint: [0, 0, set.updates.length + set.creates.length],
      deletesPerBlueprint: [0, set.groupDeletes.length, set.deletes.length + set.cascadedResourceDeletes],
      stateRequests: 0,
      tailWrites: 0,
    },
  };
}

