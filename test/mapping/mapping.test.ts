import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import { PORT_IDENTIFIER_PATTERN, toPortIdentifier } from '../../shared/azure/resourceId.js';
import type { ArgRow } from '../../shared/azure/types.js';
import { mapResource, mapResourceGroup, mapRow, mapSubscription, portalUrl } from '../../shared/mapping/index.js';
import { DEFAULT_BLUEPRINT_IDS, defaultBlueprints, type BlueprintIds } from '../../shared/port/blueprints.js';
import type { BlueprintDefinition } from '../../shared/port/types.js';
import { generateEstate } from '../fixtures/estate.js';
import { RESOURCEGRAPH_STABLE } from '../support/reference.js';

const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;
const IDENTIFIER = { type: 'string', minLength: 1, maxLength: 1000, pattern: PORT_IDENTIFIER_PATTERN.source };

/** The JSON schema an entity of `blueprint` must satisfy: known properties of the declared types, known relations. */
function entitySchema(blueprint: BlueprintDefinition): object {
  const properties: Record<string, object> = {};
  for (const [name, prop] of Object.entries(blueprint.schema.properties)) {
    properties[name] = { type: prop.type, ...(prop.format ? { format: prop.format } : {}) };
    if (name === 'tags') properties[name] = { type: 'object', additionalProperties: { type: 'string' } };
  }
  const relations: Record<string, object> = {};
  for (const [name, relation] of Object.entries(blueprint.relations)) {
    relations[name] = relation.many ? { type: 'array', items: IDENTIFIER } : { anyOf: [{ type: 'null' }, IDENTIFIER] };
  }
  return {
    type: 'object',
    required: ['identifier', 'properties', 'relations'],
    additionalProperties: false,
    properties: {
      identifier: IDENTIFIER,
      title: { type: 'string' },
      properties: { type: 'object', additionalProperties: false, required: blueprint.schema.required, properties },
      relations: { type: 'object', additionalProperties: false, properties: relations },
    },
  };
}

const ajv = addFormats(new Ajv2020({ allErrors: true, strict: true }));
const validators = new Map(defaultBlueprints().map((b) => [b.identifier, ajv.compile(entitySchema(b))]));

function expectValid(blueprint: string, entity: unknown): void {
  const validate = validators.get(blueprint)!;
  const ok = validate(entity);
  expect(ok, `${blueprint}: ${JSON.stringify(validate.errors)} in ${JSON.stringify(entity)}`).toBe(true);
}

const ids: BlueprintIds = DEFAULT_BLUEPRINT_IDS;
const SUB = 'cfbbd179-59d2-4052-aa06-9270a38aa9d6';
const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';

describe('mapRow', () => {
  const estate = generateEstate({ subscriptions: 3, resourceGroups: 27, resources: 500, seed: 21 });

  it('every generated row maps to an entity that validates against its blueprint schema', () => {
    const counts: Record<string, number> = {};
    for (const row of [...estate.subscriptions, ...estate.resourceGroups, ...estate.resources]) {
      const mapped = mapRow(row, ids);
      expect(mapped, row.id).toBeDefined();
      counts[mapped!.blueprint] = (counts[mapped!.blueprint] ?? 0) + 1;
      expectValid(mapped!.blueprint, mapped!.entity);
    }
    expect(counts).toEqual({ [ids.subscription]: 3, [ids.resourceGroup]: 27, [ids.resource]: 500 });
  });

  it('relations name exactly the identifiers the group and subscription entities get', () => {
    const identifiers = new Set(
      [...estate.subscriptions, ...estate.resourceGroups].map((row) => mapRow(row, ids)!.entity.identifier),
    );
    for (const row of estate.resources) {
      const entity = mapRow(row, ids)!.entity;
      expect(identifiers.has(entity.relations.resourceGroup as string), row.id).toBe(true);
      expect(identifiers.has(entity.relations.subscription as string), row.id).toBe(true);
    }
    for (const row of estate.resourceGroups) {
      expect(identifiers.has(mapRow(row, ids)!.entity.relations.subscription as string)).toBe(true);
    }
  });

  it('casing drift between a group id and its resources still links them', () => {
    const group = mapResourceGroup({ id: `/subscriptions/${SUB.toUpperCase()}/resourceGroups/My-RG`, name: 'My-RG' });
    const resource = mapResource({
      id: `/subscriptions/${SUB}/resourcegroups/my-rg/providers/Microsoft.Web/sites/App`,
      name: 'App',
      type: 'microsoft.web/sites',
    });
    const subscription = mapSubscription({ id: `/subscriptions/${SUB}`, name: 'Prod', subscriptionId: SUB });
    expect(resource.relations.resourceGroup).toBe(group.identifier);
    expect(resource.relations.subscription).toBe(subscription.identifier);
    expect(group.relations.subscription).toBe(subscription.identifier);
  });

  it('maps the documented fields', () => {
    const row: ArgRow = {
      id: `/subscriptions/${SUB}/resourceGroups/RG (1)/providers/Microsoft.Storage/storageAccounts/Store1`,
      name: 'Store1',
      type: 'microsoft.storage/storageaccounts',
      kind: 'StorageV2',
      location: 'westeurope',
      resourceGroup: 'rg (1)',
      subscriptionId: SUB,
      tenantId: TENANT,
      managedBy: '',
      sku: { name: 'Standard_LRS', tier: 'Standard' },
      tags: { env: 'prod', 'cost center': '42' },
      provisioningState: 'Succeeded',
    };
    const mapped = mapRow(row, ids)!;
    expect(mapped.blueprint).toBe(ids.resource);
    expect(mapped.entity).toEqual({
      identifier: toPortIdentifier(row.id),
      title: 'Store1',
      properties: {
        resourceId: row.id,
        type: 'microsoft.storage/storageaccounts',
        kind: 'StorageV2',
        location: 'westeurope',
        sku: { name: 'Standard_LRS', tier: 'Standard' },
        provisioningState: 'Succeeded',
        tags: { env: 'prod', 'cost center': '42' },
        url: `https://portal.azure.com/#@${TENANT}/resource/subscriptions/${SUB}/resourceGroups/RG%20(1)/providers/Microsoft.Storage/storageAccounts/Store1`,
      },
      relations: {
        resourceGroup: toPortIdentifier(`/subscriptions/${SUB}/resourcegroups/rg (1)`),
        subscription: toPortIdentifier(`/subscriptions/${SUB}`),
      },
    });
    expectValid(ids.resource, mapped.entity);
    const subscription = mapRow({ id: `/subscriptions/${SUB}`, name: 'Contoso Prod', subscriptionId: SUB, tenantId: TENANT, state: 'Enabled', tags: null }, ids)!;
    expect(subscription).toEqual({
      blueprint: ids.subscription,
      entity: {
        identifier: `/subscriptions/${SUB}`,
        title: 'Contoso Prod',
        properties: { subscriptionId: SUB, tenantId: TENANT, state: 'Enabled', url: `https://portal.azure.com/#@${TENANT}/resource/subscriptions/${SUB}` },
        relations: {},
      },
    });
  });

  it('the spec example rows (few columns) map without throwing and validate', () => {
    const examples = `${RESOURCEGRAPH_STABLE}/examples`;
    for (const file of ['ResourcesFirstPageQuery.json', 'ResourcesBasicQuery.json', 'ResourcesFilterQuery.json']) {
      const body = JSON.parse(readFileSync(join(examples, file), 'utf8')) as { responses: { 200: { body: { data: ArgRow[] } } } };
      for (const row of body.responses[200].body.data) {
        const mapped = mapRow(row, ids)!;
        expect(mapped.blueprint).toBe(ids.resource);
        expectValid(ids.resource, mapped.entity);
        expect(mapped.entity.properties.url).toMatch(/^https:\/\/portal\.azure\.com\/#\/resource\/subscriptions\//);
      }
    }
  });

  it('missing or odd fields are omitted, never thrown on', () => {
    const bare = mapRow({ id: `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Web/sites/a`, name: null, type: null, tags: 'x' as unknown as null, sku: [] as unknown as null, provisioningState: '' }, ids)!;
    expect(bare.entity.title).toBe('a');
    expect(bare.entity.properties).toEqual({
      resourceId: `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Web/sites/a`,
      type: 'microsoft.web/sites',
      url: `https://portal.azure.com/#/resource/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Web/sites/a`,
    });
    expectValid(ids.resource, bare.entity);
    const subLevel = mapRow({ id: `/subscriptions/${SUB}/providers/Microsoft.Security/pricings/VirtualMachines` }, ids)!;
    expect(subLevel.entity.relations).toEqual({ resourceGroup: null, subscription: `/subscriptions/${SUB}` });
    expectValid(ids.resource, subLevel.entity);
    const child = mapRow({ id: `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Sql/servers/s/databases/d` }, ids)!;
    expect(child.blueprint).toBe(ids.resource);
    expect(child.entity.properties.type).toBe('microsoft.sql/servers/databases');
  });

  it('non-resources and rows without a valid id map to undefined', () => {
    expect(mapRow({ id: `/subscriptions/${SUB}/providers/Microsoft.Authorization/roleAssignments/x` }, ids)).toBeUndefined();
    expect(mapRow({ id: `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Resources/deployments/d` }, ids)).toBeUndefined();
    expect(mapRow({ id: 'garbage' }, ids)).toBeUndefined();
    expect(mapRow({} as ArgRow, ids)).toBeUndefined();
  });

  it('uses the blueprint identifiers from settings', () => {
    const custom: BlueprintIds = { subscription: 'sub', resourceGroup: 'rg', resource: 'res', state: 'st' };
    expect(mapRow({ id: `/subscriptions/${SUB}/resourceGroups/x` }, custom)?.blueprint).toBe('rg');
  });

  it('portal URLs are valid URLs even for names with spaces, unicode and #', () => {
    const url = portalUrl(`/subscriptions/${SUB}/resourceGroups/rg café #1/providers/A.B/c/d?x`, TENANT);
    expect(() => new URL(url)).not.toThrow();
    expect(url).not.toMatch(/\s/);
    expect(url.split('#')).toHaveLength(2);
    const path = url.slice(`https://portal.azure.com/#@${TENANT}/resource`.length);
    expect(decodeURIComponent(path)).toBe(
      `/subscriptions/${SUB}/resourceGroups/rg café #1/providers/A.B/c/d?x`,
    );
  });
});
