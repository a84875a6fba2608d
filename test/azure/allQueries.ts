/** Every query shared/azure/queries.ts can emit, across the variants that change a query's shape. */
import {
  changesQuery,
  describeQueries,
  lookupByIdsQuery,
  resourceGroupsQuery,
  resourcesQuery,
  subscriptionsQuery,
} from '../../shared/azure/queries.js';

export const SUB = '0b1f6471-1bf0-4dda-aec3-cb9272f09590';
export const RES = `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Web/sites/app`;
export const RG = `/subscriptions/${SUB}/resourceGroups/rg`;
export const since = new Date('2026-03-01T10:00:00.000Z');
export const until = new Date('2026-03-01T10:15:30.250Z');

export function everyQuery(): Record<string, string> {
  const filters = {
    none: {},
    include: { includeResourceTypes: ['Microsoft.Compute/virtualMachines', 'microsoft.web/sites'] },
    exclude: { excludeResourceTypes: ['microsoft.network/networkwatchers'] },
    both: { includeResourceTypes: ['microsoft.web/sites'], excludeResourceTypes: ['microsoft.web/sites/slots'] },
  };
  const out: Record<string, string> = { subscriptions: subscriptionsQuery(), resourceGroups: resourceGroupsQuery() };
  for (const [name, filter] of Object.entries(filters)) {
    out[`resources/${name}`] = resourcesQuery(filter);
    out[`lookup resources/${name}`] = lookupByIdsQuery({ resourceIds: [RES], containerIds: [] }, filter);
    out[`lookup containers/${name}`] = lookupByIdsQuery({ resourceIds: [], containerIds: [RG, `/subscriptions/${SUB}`] }, filter);
    out[`lookup both/${name}`] = lookupByIdsQuery({ resourceIds: [RES, `${RES}2`], containerIds: [RG] }, filter);
    out[`resourcechanges/${name}`] = changesQuery('resourcechanges', { since, until }, filter);
    out[`resourcecontainerchanges/${name}`] = changesQuery('resourcecontainerchanges', { since, until }, filter);
  }
  for (const [name, q] of Object.entries(describeQueries())) out[`described/${name}`] = q;
  return out;
}

