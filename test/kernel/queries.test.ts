/**
 * Every query the app sends, as exact text (shared/azure/queries.ts), and the literal builders character class by
 * character class. test/azure/queries.test.ts proves the shapes with Microsoft's Kusto parser and hostile input
 * (slow: it is not in the mutation run); these pin the exact bytes, fast.
 */
import { describe, expect, it } from 'vitest';
import {
  MAX_IDS_PER_LOOKUP,
  RESOURCE_GROUP_TYPE,
  SUBSCRIPTION_TYPE,
  changesQuery,
  describeQueries,
  kqlDatetime,
  kqlString,
  lookupByIdsQuery,
  resourceGroupsQuery,
  resourcesQuery,
  subscriptionsQuery,
} from '../../shared/azure/queries.js';

const RES_COLS =
  'id, name, type, kind, location, resourceGroup, subscriptionId, tenantId, managedBy, sku, tags, provisioningState = tostring(properties.provisioningState)';
const RG_COLS = 'id, name, type, location, resourceGroup, subscriptionId, tenantId, managedBy, tags, provisioningState = tostring(properties.provisioningState)';
const SUB_COLS = 'id, name, type, subscriptionId, tenantId, tags, state = tostring(properties.state)';
const CONTAINER_COLS =
  'id, name, type, location, resourceGroup, subscriptionId, tenantId, managedBy, tags, provisioningState = tostring(properties.provisioningState), state = tostring(properties.state)';

describe('kqlString', () => {
  it('printable ASCII is kept; backslash and quote are escaped; everything else is \\uXXXX', () => {
    expect(kqlString('')).toBe("''");
    expect(kqlString('abc XYZ 019 ~!')).toBe("'abc XYZ 019 ~!'");
    expect(kqlString(' ')).toBe("' '");
    expect(kqlString('~')).toBe("'~'");
    expect(kqlString('\\')).toBe("'\\\\'");
    expect(kqlString("'")).toBe("'\\''");
    expect(kqlString('"')).toBe(`'"'`);
    expect(kqlString('\u001f')).toBe("'\\u001f'");
    expect(kqlString('\u007f')).toBe("'\\u007f'");
    expect(kqlString('\n\r\t\u0000')).toBe("'\\u000a\\u000d\\u0009\\u0000'");
    expect(kqlString('é')).toBe("'\\u00e9'");
    expect(kqlString('\u2028')).toBe("'\\u2028'");
    expect(kqlString('😀')).toBe("'\\ud83d\\ude00'");
    expect(kqlString("o'brien | x")).toBe("'o\\'brien | x'");
  });

  it('refuses what is not a string', () => {
    expect(() => kqlString(5 as unknown as string)).toThrow(new TypeError('kqlString expects a string, got number'));
  });
});

describe('kqlDatetime', () => {
  it('formats a Date, refuses anything else', () => {
    expect(kqlDatetime(new Date('2026-01-01T00:15:00Z'))).toBe('datetime(2026-01-01T00:15:00.000Z)');
    expect(() => kqlDatetime(new Date('nope'))).toThrow(new TypeError('kqlDatetime expects a valid Date, got Invalid Date'));
    expect(() => kqlDatetime('2026-01-01' as unknown as Date)).toThrow(TypeError);
  });
});

describe('listings', () => {
  it('subscriptions and resource groups from resourcecontainers, by type, ordered by id', () => {
    expect(SUBSCRIPTION_TYPE).toBe('microsoft.resources/subscriptions');
    expect(RESOURCE_GROUP_TYPE).toBe('microsoft.resources/subscriptions/resourcegroups');
    expect(subscriptionsQuery()).toBe(
      ["resourcecontainers", "| where type =~ 'microsoft.resources/subscriptions'", `| project ${SUB_COLS}`, '| order by id asc'].join('\n'),
    );
    expect(resourceGroupsQuery()).toBe(
      ["resourcecontainers", "| where type =~ 'microsoft.resources/subscriptions/resourcegroups'", `| project ${RG_COLS}`, '| order by id asc'].join('\n'),
    );
  });

  it('resources, unfiltered and with include/exclude filters (lower-cased, deduplicated)', () => {
    expect(resourcesQuery()).toBe(['resources', `| project ${RES_COLS}`, '| order by id asc'].join('\n'));
    expect(resourcesQuery({ includeResourceTypes: ['Microsoft.Web/Sites', 'microsoft.web/sites', 'a/b'], excludeResourceTypes: ['X/Y'] })).toBe(
      [
        'resources',
        "| where type in~ ('microsoft.web/sites', 'a/b')",
        "| where type !in~ ('x/y')",
        `| project ${RES_COLS}`,
        '| order by id asc',
      ].join('\n'),
    );
    expect(resourcesQuery({ includeResourceTypes: [], excludeResourceTypes: [] })).toBe(resourcesQuery());
  });

  it('extra columns a mapping reads are appended once, never twice, and must be plain names', () => {
    expect(resourcesQuery({}, { resource: ['properties', 'tags', 'properties', 'provisioningState', 'zones'] })).toBe(
      ['resources', `| project ${RES_COLS}, properties, zones`, '| order by id asc'].join('\n'),
    );
    expect(subscriptionsQuery({ subscription: ['managedByTenants'] })).toContain(`| project ${SUB_COLS}, managedByTenants\n`);
    expect(resourceGroupsQuery({ resourceGroup: ['properties'] })).toContain(`| project ${RG_COLS}, properties\n`);
    expect(resourceGroupsQuery({ resourceGroup: [] })).toBe(resourceGroupsQuery());
    for (const bad of ['a b', 'x=1', '1abc', '', 'properties.x', "a'"]) {
      expect(() => resourcesQuery({}, { resource: [bad] }), bad).toThrow(new RangeError(`not a Resource Graph column name: ${JSON.stringify(bad)}`));
    }
    expect(resourcesQuery({}, { resource: ['A1b2'] })).toContain(', A1b2\n');
  });
});

describe('lookupByIdsQuery', () => {
  const res = '/subscriptions/s/resourceGroups/rg/providers/Microsoft.Web/sites/a';
  const rg = '/subscriptions/s/resourceGroups/rg';

  it('resource ids only', () => {
    expect(lookupByIdsQuery({ resourceIds: [res], containerIds: [] }, { excludeResourceTypes: ['A/B'] })).toBe(
      ['resources', `| where id in~ ('${res}')`, "| where type !in~ ('a/b')", `| project ${RES_COLS}`, '| order by id asc'].join('\n'),
    );
  });

  it('container ids only, with every container column and both levels\' extra columns', () => {
    expect(lookupByIdsQuery({ resourceIds: [], containerIds: [rg, '/subscriptions/s'] }, {}, { subscription: ['x1'], resourceGroup: ['x2', 'x1'] })).toBe(
      ['resourcecontainers', `| where id in~ ('${rg}', '/subscriptions/s')`, `| project ${CONTAINER_COLS}, x1, x2`, '| order by id asc'].join('\n'),
    );
  });

  it('both: the resource leg, then the container leg as one union line', () => {
    expect(lookupByIdsQuery({ resourceIds: [res], containerIds: [rg] }, {}, { resource: ['zones'] })).toBe(
      [
        'resources',
        `| where id in~ ('${res}')`,
        `| project ${RES_COLS}, zones`,
        `| union (resourcecontainers | where id in~ ('${rg}') | project ${CONTAINER_COLS})`,
        '| order by id asc',
      ].join('\n'),
    );
  });

  it('ids are literals: a quote in a name cannot end one', () => {
    expect(lookupByIdsQuery({ resourceIds: ["/subscriptions/s/resourceGroups/o'b/providers/p/t/n"], containerIds: [] })).toContain(
      "| where id in~ ('/subscriptions/s/resourceGroups/o\\'b/providers/p/t/n')",
    );
  });

  it('between 1 and 1000 ids', () => {
    expect(MAX_IDS_PER_LOOKUP).toBe(1000);
    expect(() => lookupByIdsQuery({ resourceIds: [], containerIds: [] })).toThrow(new RangeError('lookupByIdsQuery needs at least one id'));
    const ids = Array.from({ length: 600 }, (_, i) => `${rg}/providers/p/t/n${i}`);
    expect(() => lookupByIdsQuery({ resourceIds: ids, containerIds: ids.slice(0, 400) })).not.toThrow();
    expect(() => lookupByIdsQuery({ resourceIds: ids, containerIds: ids.slice(0, 401) })).toThrow(
      new RangeError('lookupByIdsQuery takes at most 1000 ids per query, got 1001'),
    );
  });
});

describe('changesQuery', () => {
  const since = new Date('2026-01-01T00:00:00Z');
  const until = new Date('2026-01-01T00:15:00Z');
  const extend =
    '| extend changeTime = todatetime(properties.changeAttributes.timestamp), targetResourceId = tostring(properties.targetResourceId), targetResourceType = tostring(properties.targetResourceType), changeType = tostring(properties.changeType)';
  const summarize =
    "| summarize arg_max(changeTime, targetResourceId, changeType), lastDeleteTime = maxif(changeTime, changeType =~ 'Delete') by id = tolower(targetResourceId)";

  it('the latest change per id in [since, until), resource changes with the type filter', () => {
    expect(changesQuery('resourcechanges', { since, until }, { includeResourceTypes: ['A/B'] })).toBe(
      [
        'resourcechanges',
        extend,
        '| where changeTime >= datetime(2026-01-01T00:00:00.000Z) and changeTime < datetime(2026-01-01T00:15:00.000Z)',
        "| where targetResourceType in~ ('a/b')",
        summarize,
        '| order by id asc',
      ].join('\n'),
    );
  });

  it('container changes never take the resource type filter', () => {
    expect(changesQuery('resourcecontainerchanges', { since, until }, { includeResourceTypes: ['A/B'] })).toBe(
      [
        'resourcecontainerchanges',
        extend,
        '| where changeTime >= datetime(2026-01-01T00:00:00.000Z) and changeTime < datetime(2026-01-01T00:15:00.000Z)',
        summarize,
        '| order by id asc',
      ].join('\n'),
    );
  });

  it('a window must end after it starts', () => {
    expect(() => changesQuery('resourcechanges', { since: until, until: since })).toThrow(
      new RangeError('change window must end after it starts, got [2026-01-01T00:15:00.000Z, 2026-01-01T00:00:00.000Z)'),
    );
    expect(() => changesQuery('resourcechanges', { since, until: since })).toThrow(RangeError);
    expect(() => changesQuery('resourcechanges', { since, until: new Date(since.getTime() + 1) })).not.toThrow();
  });
});

describe('describeQueries', () => {
  it('every query, with the documented sample arguments by default', () => {
    const q = describeQueries();
    expect(Object.keys(q)).toEqual(['subscriptions', 'resourceGroups', 'resources', 'lookupByIds', 'resourceChanges', 'resourceContainerChanges']);
    const filter = { includeResourceTypes: ['Microsoft.Compute/virtualMachines'], excludeResourceTypes: ['microsoft.network/networkwatchers'] };
    const since = new Date('2026-01-01T00:00:00.000Z');
    const until = new Date('2026-01-01T00:15:00.000Z');
    const ids = {
      resourceIds: ['/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/sa'],
      containerIds: ['/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg'],
    };
    expect(q).toEqual({
      subscriptions: subscriptionsQuery(),
      resourceGroups: resourceGroupsQuery(),
      resources: resourcesQuery(filter),
      lookupByIds: lookupByIdsQuery(ids, filter),
      resourceChanges: changesQuery('resourcechanges', { since, until }, filter),
      resourceContainerChanges: changesQuery('resourcecontainerchanges', { since, until }, filter),
    });
  });

  it('takes other sample arguments', () => {
    const since = new Date('2027-01-01T00:00:00.000Z');
    const until = new Date('2027-01-01T01:00:00.000Z');
    const q = describeQueries({ filter: {}, since, until, ids: { resourceIds: [], containerIds: ['/subscriptions/x'] } });
    expect(q['resources']).toBe(resourcesQuery());
    expect(q['lookupByIds']).toBe(lookupByIdsQuery({ resourceIds: [], containerIds: ['/subscriptions/x'] }));
    expect(q['resourceChanges']).toBe(changesQuery('resourcechanges', { since, until }));
  });
});
