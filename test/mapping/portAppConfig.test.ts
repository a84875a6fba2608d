/**
 * The port-app-config format and the mapper's semantics: precise errors, Port's defaults, kinds, several entries
 * per row, selectors (true / false / not a boolean / failing), identifiers derivable from the id alone, deletes by
 * id, graphQuery entries and the columns a mapping needs.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { ArgRow } from '../../shared/azure/types.js';
import { IMPLICIT_DELETE_DEPENDENTS, loadMapping, MappingConfigError, normalizeGraphQuery, type LoadedMapping } from '../../shared/mapping/config/load.js';
import { DEFAULT_BLUEPRINT_IDS } from '../../shared/port/blueprints.js';

const SUB = '00000000-0000-0000-0000-0000000000aa';
const RG = `/subscriptions/${SUB}/resourceGroups/RG-One`;
const SA = `${RG}/providers/Microsoft.Storage/storageAccounts/stOne`;
const VM = `${RG}/providers/Microsoft.Compute/virtualMachines/vm1`;
const rows: Record<string, ArgRow> = {
  sub: { id: `/subscriptions/${SUB}`, name: 'Sub', subscriptionId: SUB, type: 'microsoft.resources/subscriptions' },
  rg: { id: RG, name: 'RG-One', resourceGroup: 'rg-one', subscriptionId: SUB, type: 'microsoft.resources/subscriptions/resourcegroups', tags: { env: 'prod' } },
  sa: { id: SA, name: 'stOne', resourceGroup: 'rg-one', subscriptionId: SUB, type: 'microsoft.storage/storageaccounts', location: 'westeurope', tags: { env: 'prod', owner: 'Team-A' }, properties: { encryption: { keySource: 'Microsoft.Storage' } } },
  vm: { id: VM, name: 'vm1', resourceGroup: 'rg-one', subscriptionId: SUB, type: 'microsoft.compute/virtualmachines', tags: { env: 'dev' } },
};

async function load(text: string): Promise<LoadedMapping> {
  return loadMapping({ text, origin: 'test.yaml' }, { blueprints: DEFAULT_BLUEPRINT_IDS });
}

async function problems(text: string): Promise<string[]> {
  try {
    await load(text);
  } catch (error) {
    if (error instanceof MappingConfigError) return error.problems.map((p) => `${p.path}: ${p.message}`);
    throw error;
  }
  throw new Error('expected the config to be rejected');
}

const entry = (kind: string, mappings: string, selector = "query: 'true'") => `
  - kind: ${kind}
    selector:
      ${selector}
    port:
      entity:
        mappings:
${mappings.trim().split('\n').map((l) => `          ${l}`).join('\n')}`;

const SIMPLE = `identifier: .portIdentifier
title: .name
blueprint: '"thing"'`;

describe('port-app-config: errors name the entry, the key and jq’s message', () => {
  it('a jq syntax error in a property', async () => {
    const text = `resources:${entry('resource', SIMPLE)}${entry('resource', SIMPLE)}${entry('resource', SIMPLE)}${entry('resource', `${SIMPLE}\nproperties:\n  ok: .name\n  foo: .a | (`)}`;
    expect(await problems(text)).toEqual([expect.stringMatching(/^resources\[3\]\.port\.entity\.mappings\.properties\.foo: jq: syntax error, unexpected end of file/)]);
  });

  it('an undefined function, a non-string value, and a forbidden builtin, all reported together', async () => {
    const text = `resources:${entry('resource', `${SIMPLE}\nproperties:\n  a: .x | nope\n  b: 5\n  c: env.HOME\nrelations:\n  r: { combinator: and, rules: [] }`)}`;
    expect(await problems(text)).toEqual([
      "resources[0].port.entity.mappings.properties.b: must be a jq expression written as a string (the property value), got number 5; to map a constant, quote it as jq: '5'",
      'resources[0].port.entity.mappings.relations.r: search queries ({combinator, rules}) are not supported here: map the identifier with a jq expression',
    ]);
    const second = `resources:${entry('resource', `${SIMPLE}\nproperties:\n  a: .x | nope\n  c: env.HOME`)}`;
    expect(await problems(second)).toEqual([
      'resources[0].port.entity.mappings.properties.a: jq: nope/0 is not defined (line 1, column 6)',
      'resources[0].port.entity.mappings.properties.c: jq: env is not available in a mapping (it reads or writes outside the row)',
    ]);
  });

  it('Port keys this app does not support are rejected, not ignored', async () => {
    const text = `itemsToParseAll: true\nresources:\n  - kind: resource\n    selector:\n      query: 'true'\n      tagFilter: x\n    port:\n      itemsToParse: .items\n      entity:\n        mappings: [{ identifier: .id, blueprint: '"x"' }]`;
    expect(await problems(text)).toEqual([
      'resources[0].port.entity.mappings: a list of mappings is not supported: write one entry per entity in resources[]',
      'itemsToParseAll: is not a key of the port-app-config format (or not one this app supports)',
      'resources[0].port.itemsToParse: itemsToParse is not supported: each Resource Graph row maps to at most one entity per entry (add another entry instead)',
      'resources[0].selector.tagFilter: is not a selector key this app supports (query, graphQuery)',
    ]);
  });

  it('kinds, blueprints and thresholds are checked', async () => {
    const text = `entityDeletionThreshold: 1.5\nresources:${entry('storageAccounts', SIMPLE)}${entry('resource', 'identifier: .portIdentifier\nblueprint: .type')}${entry('subscription', SIMPLE, "query: 'true'\n      graphQuery: resources")}`;
    expect(await problems(text)).toEqual([
      'entityDeletionThreshold: must be a number from 0 to 1',
    ]);
    const kinds = `resources:${entry('storageAccounts', SIMPLE)}${entry('resource', 'identifier: .portIdentifier\nblueprint: .type')}${entry('subscription', SIMPLE, "query: 'true'\n      graphQuery: resources")}`;
    expect(await problems(kinds)).toEqual([
      'resources[0].kind: unknown kind "storageAccounts": expected subscription, resourceGroup (or resourceContainer), resource, or an Azure resource type such as Microsoft.Storage/storageAccounts',
      "resources[1].port.entity.mappings.blueprint: must be a constant giving one blueprint identifier, such as '\"azureStorageAccount\"' or $blueprints.resource (the blueprints a mapping writes are needed before any row is read)",
      'resources[2].selector.graphQuery: is not supported on subscription entries (subscriptions are read from Resource Graph by the app)',
    ]);
  });

  it('YAML syntax errors and missing keys', async () => {
    expect(await problems('resources: [')).toEqual([expect.stringMatching(/^\(file\): not valid YAML or JSON: /)]);
    expect(await problems('{}')).toEqual(['resources: is required: a list of mapping entries']);
    expect(await problems('resources:\n  - kind: resource\n    port: {}')).toEqual([
      'resources[0].selector: is required (an object)',
      'resources[0].port.entity: is required (an object)',
    ]);
  });

  it('the error message lists every problem', async () => {
    const error = await load(`resources:${entry('nope', SIMPLE)}`).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MappingConfigError);
    expect((error as Error).message).toBe('Invalid mapping in test.yaml (1 problem):\n  - resources[0].kind: unknown kind "nope": expected subscription, resourceGroup (or resourceContainer), resource, or an Azure resource type such as Microsoft.Storage/storageAccounts');
  });
});

describe('port-app-config: settings', () => {
  it('uses Port’s defaults, PORT_CREATE_MISSING_RELATED_ENTITIES when the config is silent, and keeps the config’s threshold', async () => {
    expect((await load(`resources: []`)).mapper.settings).toEqual({ deleteDependentEntities: true, createMissingRelatedEntities: true, enableMergeEntity: true });
    const fromSettings = await loadMapping({ text: 'resources: []', origin: 'x' }, { blueprints: DEFAULT_BLUEPRINT_IDS, createMissingRelatedEntities: false });
    expect(fromSettings.mapper.settings.createMissingRelatedEntities).toBe(false);
    const explicit = await load('deleteDependentEntities: false\ncreateMissingRelatedEntities: true\nenableMergeEntity: false\nentityDeletionThreshold: 0.25\nresources: []');
    expect(explicit.mapper.settings).toEqual({ deleteDependentEntities: false, createMissingRelatedEntities: true, enableMergeEntity: false, entityDeletionThreshold: 0.25 });
  });

  it('warns about Resource Graph integration keys that change nothing here', async () => {
    const loaded = await load(`resources:${entry('resource', SIMPLE, "query: 'true'\n      apiParams: { version: '2024-04-01' }")}`);
    expect(loaded.warnings).toEqual([
      'resources[0].selector.apiParams: selector.apiParams is ignored: this app always uses Resource Graph API 2024-04-01',
      `deleteDependentEntities: ${IMPLICIT_DELETE_DEPENDENTS}`,
    ]);
    expect((await load('deleteDependentEntities: true\nresources: []')).warnings).toEqual([]);
  });
});

describe('mapping rows', () => {
  it('kinds select rows; several entries may map one row into several blueprints', async () => {
    const { mapper } = await load(`resources:${entry('resourceContainer', SIMPLE.replace('thing', 'group'))}${entry('microsoft.storage/STORAGEACCOUNTS', SIMPLE.replace('thing', 'storage'))}${entry('resource', SIMPLE.replace('thing', 'all'))}`);
    const mapped = mapper.mapRows([rows.sub!, rows.rg!, rows.sa!, rows.vm!, { id: `/subscriptions/${SUB}/providers/Microsoft.Authorization/roleAssignments/x` }, { id: 42 } as unknown as ArgRow]);
    expect(mapped.map((m) => m.entities.map((e) => `${e.blueprint}:${e.entity.identifier}`))).toEqual([
      [],
      [`group:/subscriptions/${SUB}/resourcegroups/rg-one`],
      [`storage:${SA.toLowerCase()}`, `all:${SA.toLowerCase()}`],
      [`all:${VM.toLowerCase()}`],
      [],
      [],
    ]);
    expect(mapped.every((m) => m.rejected.length === 0 && m.unselected.length === 0)).toBe(true);
  });

  it('maps title, icon, team, properties (null ones left out) and relations (null kept)', async () => {
    const { mapper } = await load(`resources:${entry('resource', `${SIMPLE}\nicon: '"Storage"'\nteam: .tags.owner | ascii_downcase\nproperties:\n  location: .location\n  missing: .nope\n  encrypted: .properties.encryption.keySource == "Microsoft.Storage"\nrelations:\n  resourceGroup: .portResourceGroupIdentifier\n  parent: .nope`)}`);
    const [sa] = mapper.mapRows([rows.sa!]);
    expect(sa!.entities[0]!.entity).toEqual({
      identifier: SA.toLowerCase(),
      title: 'stOne',
      icon: 'Storage',
      team: 'team-a',
      properties: { location: 'westeurope', encrypted: true },
      relations: { resourceGroup: `/subscriptions/${SUB}/resourcegroups/rg-one`, parent: null },
    });
  });

  it('a false selector lists the entity to delete; a non-boolean or failing selector rejects the entry', async () => {
    const { mapper } = await load(`resources:${entry('resource', SIMPLE, 'query: .tags.env == "prod"')}${entry('resource', SIMPLE.replace('thing', 'b'), 'query: .tags.env')}${entry('resource', SIMPLE.replace('thing', 'c'), 'query: .name.x')}`);
    const [sa, vm] = mapper.mapRows([rows.sa!, rows.vm!]);
    expect(sa!.entities.map((e) => e.blueprint)).toEqual(['thing']);
    expect(vm!.entities).toEqual([]);
    expect(vm!.unselected).toEqual([{ blueprint: 'thing', identifier: VM.toLowerCase(), entry: 0 }]);
    expect(vm!.rejected).toEqual([
      { entry: 1, reason: 'resources[1].selector.query: must give true or false, gave "dev"' },
      { entry: 2, reason: 'resources[2].selector.query: Cannot index string with string ("x")' },
    ]);
  });

  it('an identifier that needs more than the id is rejected, with the two values', async () => {
    const { mapper } = await load(`resources:${entry('resource', 'identifier: .name + "-" + .location\nblueprint: \'"x"\'')}${entry('resource', 'identifier: .resourceGroup + "/" + .name\nblueprint: \'"y"\'')}${entry('resource', 'identifier: \'"/subscriptions/" + .subscriptionId + "/rg/" + (.resourceGroup | ascii_downcase) + "/" + .name\'\nblueprint: \'"z"\'')}`);
    const [sa] = mapper.mapRows([rows.sa!]);
    expect(sa!.rejected).toEqual([
      { entry: 0, reason: 'resources[0].port.entity.mappings.identifier: not derivable from the Azure id alone (the row gives "stOne-westeurope", the id alone gives "stOne-"), so a delete could not find the entity; use .portIdentifier or what the id spells (id, subscriptionId, resourceGroup as in the id, type, name)' },
      { entry: 1, reason: expect.stringContaining('(the row gives "rg-one/stOne", the id alone gives "RG-One/stOne")') },
    ]);
    expect(sa!.entities).toEqual([{ blueprint: 'z', entry: 2, entity: { identifier: `/subscriptions/${SUB}/rg/rg-one/stOne`, properties: {}, relations: {} } }]);
  });

  it('invalid identifiers, titles and relations reject the entry; jq errors name the key', async () => {
    const { mapper } = await load(`resources:${entry('resource', 'identifier: .name + " x"\nblueprint: \'"a"\'')}${entry('resource', `${SIMPLE.replace('thing', 'b')}\nrelations:\n  r: .tags`)}${entry('resource', `${SIMPLE.replace('thing', 'c')}\nproperties:\n  k: .tags | keys | .[0] | .x`)}${entry('resource', 'identifier: .portIdentifier\ntitle: .tags\nblueprint: \'"d"\'')}`);
    const [sa] = mapper.mapRows([rows.sa!]);
    expect(sa!.rejected.map((r) => r.reason)).toEqual([
      'resources[0].port.entity.mappings.identifier: "stOne x" is not a valid Port identifier (1-1000 letters, digits and @_.+:\\/=-; .portIdentifier always is)',
      'resources[1].port.entity.mappings.relations.r: must give an entity identifier, a list of them, or null; gave {"env":"prod","owner":"Team-A"}',
      'resources[2].port.entity.mappings.properties.k: Cannot index string with string ("x")',
      'resources[3].port.entity.mappings.title: must give a string, gave {"env":"prod","owner":"Team-A"}',
    ]);
  });

  it('targetsOfId: what a gone id stands for, per entry whose kind could match it', async () => {
    const { mapper } = await load(`resources:${entry('Microsoft.Storage/storageAccounts', SIMPLE.replace('thing', 'storage'), 'query: .tags.env == "never"')}${entry('resource', SIMPLE)}${entry('resourceGroup', SIMPLE.replace('thing', 'group'))}${entry('resource', 'identifier: .location\nblueprint: \'"never"\'')}`);
    expect(mapper.targetsOfId(SA.toUpperCase())).toEqual([
      { blueprint: 'storage', identifier: SA.toLowerCase(), entry: 0 },
      { blueprint: 'thing', identifier: SA.toLowerCase(), entry: 1 },
    ]);
    expect(mapper.targetsOfIds([RG, 'not an id', `/subscriptions/${SUB}/providers/Microsoft.Authorization/locks/l`])).toEqual([
      [{ blueprint: 'group', identifier: `/subscriptions/${SUB}/resourcegroups/rg-one`, entry: 2 }],
      [],
      [],
    ]);
  });

  it('blueprints(): levels (relation targets first) and every key written', async () => {
    const { mapper } = await load(`resources:${entry('resource', `${SIMPLE.replace('thing', 'shared')}\nproperties:\n  a: .a\nrelations:\n  r: .r`)}${entry('resourceGroup', `${SIMPLE.replace('thing', 'shared')}\nproperties:\n  b: .b`)}${entry('subscription', SIMPLE.replace('thing', 'sub'))}`);
    expect(mapper.blueprints()).toEqual([
      { blueprint: 'sub', level: 'subscription', properties: [], relations: [] },
      { blueprint: 'shared', level: 'resourceGroup', properties: ['a', 'b'], relations: ['r'] },
    ]);
  });

  it('extraColumns(): the Resource Graph columns named beyond the default projections, per level', async () => {
    const { mapper } = await load(`resources:${entry('resource', `${SIMPLE}\nproperties:\n  enc: .properties.encryption.keySource\n  id: .identity.type\n  z: '."zones"'\n  kind: .kind\n  tagged: .tags.plan`)}${entry('resourceGroup', `${SIMPLE}\nproperties:\n  k: .kind`)}`);
    expect(mapper.extraColumns('resource')).toEqual(['identity', 'plan', 'properties', 'zones']);
    expect(mapper.extraColumns('resourceGroup')).toEqual(['kind']);
    expect(mapper.extraColumns()).toEqual(['identity', 'kind', 'plan', 'properties', 'zones']);
  });

  it('graphQuery entries map only their own rows', async () => {
    const graph = `query: 'true'\n      graphQuery: >-\n        "\n        resources\n        | where type =~ 'microsoft.storage/storageaccounts'\n        | project id, name, type, tags\n        "`;
    const { mapper } = await load(`resources:${entry('resource', SIMPLE.replace('thing', 'graph'), graph)}${entry('resource', SIMPLE)}`);
    expect(mapper.graphQueries()).toEqual([{ entry: 0, level: 'resource', query: "resources | where type =~ 'microsoft.storage/storageaccounts' | project id, name, type, tags" }]);
    expect(mapper.mapRows([rows.sa!])[0]!.entities.map((e) => e.blueprint)).toEqual(['thing']);
    expect(mapper.mapRows([rows.sa!], { graphQueryEntry: 0 })[0]!.entities.map((e) => e.blueprint)).toEqual(['graph']);
    expect(mapper.extraColumns()).toEqual([]);
  });

  it('a graphQuery that would cut the estate short or fan a resource out is refused at load, naming the entry', async () => {
    expect(await problems(`resources:${entry('resource', SIMPLE)}${entry('resource', SIMPLE, "query: 'true'\n      graphQuery: resources | take 10")}`)).toEqual([
      'resources[1].selector.graphQuery: uses take, which returns only part of the estate; a full sync would then delete the rest',
    ]);
    expect(await problems(`resources:${entry('resource', SIMPLE, "query: 'true'\n      graphQuery: 'resources | mv-expand zones'")}`)).toEqual([
      'resources[0].selector.graphQuery: uses mv-expand, which can give one resource several rows; the mapping needs one row per id',
    ]);
  });

  it('normalises graphQuery blocks the way Port’s Resource Graph integration does', () => {
    expect(normalizeGraphQuery('"\n    resources\n    | project id\n      , name\n"')).toBe('resources\n| project id\n  , name');
    expect(normalizeGraphQuery("'resources'")).toBe('resources');
  });
});

describe('Port’s own Azure Resource Graph integration config', () => {
  // port-labs/ocean integrations/azure-resource-graph/.port/resources/port-app-config.yml (shape and keys).
  const OCEAN = `deleteDependentEntities: true
createMissingRelatedEntities: true
enableMergeEntity: true
resources:
  - kind: subscription
    selector:
      query: 'true'
    port:
      entity:
        mappings:
          identifier: .subscriptionId
          title: .displayName
          blueprint: '"azureSubscription"'
          properties:
            tags: .tags
            state: .state
  - kind: resourceContainer
    selector:
      query: 'true'
      graphQuery: >-
        "
        resourcecontainers
        | where type =~ 'microsoft.resources/subscriptions/resourcegroups'
        | project id, type, name, location, tags, subscriptionId, resourceGroup
        | extend resourceGroup=tolower(resourceGroup)
        | extend type=tolower(type)
        "
    port:
      entity:
        mappings:
          identifier: .id | gsub(" ";"_")
          title: .name
          blueprint: '"azureResourceGroup"'
          properties:
            tags: .tags
            location: .location
          relations:
            subscription: ("/subscriptions/" + .subscriptionId) | gsub(" ";"_")
  - kind: resource
    selector:
      query: 'true'
      graphQuery: >-
        "
        resources
        | project id, type, name, location, tags, subscriptionId, resourceGroup
        | extend resourceGroup=tolower(resourceGroup)
        | extend type=tolower(type)
        "
    port:
      entity:
        mappings:
          identifier: .id | gsub(" ";"_")
          title: .name
          blueprint: '"azureResource"'
          properties:
            tags: .tags
            location: .location
          relations:
            resource_group: >-
              ("/subscriptions/" + .subscriptionId + "/resourceGroups/"  + .resourceGroup) | gsub(" ";"_")
`;

  it('loads unchanged and maps rows; its expressions run as compiled JavaScript', async () => {
    const loaded = await load(OCEAN);
    expect(loaded.warnings).toEqual([]);
    const { mapper } = loaded;
    expect(mapper.graphQueries().map((g) => g.entry)).toEqual([1, 2]);
    const [sub] = mapper.mapRows([rows.sub!]);
    expect(sub!.entities[0]!.entity).toEqual({ identifier: SUB, properties: {}, relations: {} });
    const [rg] = mapper.mapRows([{ ...rows.rg!, resourceGroup: 'rg-one', type: 'microsoft.resources/subscriptions/resourcegroups', location: 'westeurope' }], { graphQueryEntry: 1 });
    expect(rg!.entities[0]!.entity).toEqual({ identifier: RG, title: 'RG-One', properties: { location: 'westeurope', tags: { env: 'prod' } }, relations: { subscription: `/subscriptions/${SUB}` } });
    for (const e of mapper.entries) for (const x of [e.query, e.identifier, ...e.properties.map(([, p]) => p), ...e.relations.map(([, r]) => r)]) expect(x.code, x.source).toBeDefined();
  });
});

describe('the example mapping (examples/port-app-config.yaml)', () => {
  it('loads and maps the example rows into per-type blueprints', async () => {
    const { mapper } = await loadMapping({ text: readFileSync('examples/port-app-config.yaml', 'utf8'), origin: 'examples/port-app-config.yaml' }, { blueprints: DEFAULT_BLUEPRINT_IDS });
    const exampleRows = JSON.parse(readFileSync('examples/rows.json', 'utf8')) as ArgRow[];
    const mapped = mapper.mapRows(exampleRows);
    expect(mapped.flatMap((m) => m.rejected)).toEqual([]);
    expect(mapped.map((m) => m.entities.map((e) => e.blueprint))).toEqual([
      ['azureSubscription'], ['azureResourceGroup'], [], ['azureStorageAccount'], ['azureVirtualMachine'], ['azureKubernetesCluster'], ['azureCloudResources'],
    ]);
    expect(mapped[2]!.unselected).toEqual([{ blueprint: 'azureResourceGroup', identifier: `/subscriptions/00000000-0000-0000-0000-000000000001/resourcegroups/rg-sandbox`, entry: 1 }]);
    expect(mapped[3]!.unselected.map((u) => u.blueprint)).toEqual(['azureCloudResources']);
    expect(mapped[3]!.entities[0]!.entity).toMatchObject({ team: 'payments', properties: { blobEncryption: true, customerManagedKey: true, httpsOnly: true, publicNetworkAccess: 'Disabled', environment: 'prod' } });
    expect(mapped[5]!.entities[0]!.entity.properties).toMatchObject({ nodePools: ['system', 'user'], nodeCount: 8, privateCluster: true });
    expect(mapper.extraColumns()).toEqual(['properties', 'zones']);
    expect(mapper.settings.entityDeletionThreshold).toBe(0.5);
    const notCompiled = mapper.entries.flatMap((e) => [e.query, e.identifier, ...e.properties.map(([, p]) => p), ...e.relations.map(([, r]) => r), ...(e.team ? [e.team] : [])]).filter((x) => !x.code);
    expect(notCompiled.map((x) => x.source)).toEqual([]);
  });
});
