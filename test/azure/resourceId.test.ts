import { describe, expect, it } from 'vitest';
import { PermanentError } from '../../shared/errors.js';
import {
  isWithinResourceGroup,
  normalizeResourceId,
  parseResourceId,
  resourceGroupIdOf,
  subscriptionIdOf,
  type ParsedResourceId,
} from '../../shared/azure/resourceId.js';

const SUB = '0b1f6471-1bf0-4dda-aec3-cb9272f09590';

type Expected = Partial<Omit<ParsedResourceId, 'original'>>;

const cases: [string, string, Expected][] = [
  ['subscription', `/subscriptions/${SUB}`, { kind: 'subscription', subscriptionId: SUB, normalized: `/subscriptions/${SUB}` }],
  ['subscription, upper-case guid and trailing slash', `/subscriptions/${SUB.toUpperCase()}/`, { kind: 'subscription', normalized: `/subscriptions/${SUB}` }],
  [
    'resource group, resourceGroups casing',
    `/subscriptions/${SUB}/resourceGroups/My-RG`,
    { kind: 'resourceGroup', resourceGroup: 'My-RG', name: 'My-RG', parentId: `/subscriptions/${SUB}`, normalized: `/subscriptions/${SUB}/resourcegroups/my-rg` },
  ],
  ['resource group, resourcegroups casing', `/subscriptions/${SUB}/resourcegroups/my-rg`, { kind: 'resourceGroup', normalized: `/subscriptions/${SUB}/resourcegroups/my-rg` }],
  [
    'top-level resource',
    `/subscriptions/${SUB}/resourceGroups/RG1/providers/Microsoft.Storage/storageAccounts/MyStore`,
    {
      kind: 'resource',
      providerNamespace: 'microsoft.storage',
      type: 'microsoft.storage/storageaccounts',
      name: 'MyStore',
      resourceGroup: 'RG1',
      parentId: `/subscriptions/${SUB}/resourcegroups/rg1`,
    },
  ],
  [
    'lower-case provider namespace',
    `/subscriptions/${SUB}/resourcegroups/rg1/providers/microsoft.storage/storageaccounts/mystore`,
    { kind: 'resource', type: 'microsoft.storage/storageaccounts', normalized: `/subscriptions/${SUB}/resourcegroups/rg1/providers/microsoft.storage/storageaccounts/mystore` },
  ],
  [
    'nested child resource',
    `/subscriptions/${SUB}/resourceGroups/RG1/providers/Microsoft.Storage/storageAccounts/sa/blobServices/default/containers/Logs`,
    {
      kind: 'childResource',
      type: 'microsoft.storage/storageaccounts/blobservices/containers',
      name: 'Logs',
      parentId: `/subscriptions/${SUB}/resourcegroups/rg1/providers/microsoft.storage/storageaccounts/sa/blobservices/default`,
    },
  ],
  [
    'sql database child',
    `/subscriptions/${SUB}/resourceGroups/RG1/providers/Microsoft.Sql/servers/srv/databases/db1`,
    { kind: 'childResource', type: 'microsoft.sql/servers/databases', parentId: `/subscriptions/${SUB}/resourcegroups/rg1/providers/microsoft.sql/servers/srv` },
  ],
  [
    'name with spaces, parentheses, dots',
    `/subscriptions/${SUB}/resourceGroups/rg (prod).v2/providers/Microsoft.Web/sites/my site(1).x`,
    { kind: 'resource', resourceGroup: 'rg (prod).v2', name: 'my site(1).x' },
  ],
  ['unicode names', `/subscriptions/${SUB}/resourceGroups/rg-café/providers/Microsoft.Web/sites/Ünïcødé`, { kind: 'resource', name: 'Ünïcødé', resourceGroup: 'rg-café' }],
  ['one trailing slash', `/subscriptions/${SUB}/resourceGroups/rg1/`, { kind: 'resourceGroup', normalized: `/subscriptions/${SUB}/resourcegroups/rg1` }],
  [
    'quotes, pipes, backslashes and spaces in names (Azure names allow them)',
    `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Sql/servers/s1/databases/o'brien "x" | y\\z`,
    { kind: 'childResource', name: `o'brien "x" | y\\z`, type: 'microsoft.sql/servers/databases' },
  ],
  [
    'subscription-level resource',
    `/subscriptions/${SUB}/providers/Microsoft.Security/pricings/VirtualMachines`,
    { kind: 'resource', type: 'microsoft.security/pricings', parentId: `/subscriptions/${SUB}` },
  ],
  [
    'deployment',
    `/subscriptions/${SUB}/resourceGroups/rg1/providers/Microsoft.Resources/deployments/Microsoft.StorageAccount-20180719`,
    { kind: 'nonResource', type: 'microsoft.resources/deployments', parentId: `/subscriptions/${SUB}/resourcegroups/rg1` },
  ],
  [
    'deployment operation',
    `/subscriptions/${SUB}/resourceGroups/rg1/providers/Microsoft.Resources/deployments/d1/operations/op1`,
    { kind: 'nonResource' },
  ],
  ['role assignment on a subscription', `/subscriptions/${SUB}/providers/Microsoft.Authorization/roleAssignments/abc`, { kind: 'nonResource', parentId: `/subscriptions/${SUB}` }],
  ['lock on a resource group', `/subscriptions/${SUB}/resourceGroups/rg1/providers/Microsoft.Authorization/locks/nodelete`, { kind: 'nonResource' }],
  ['policy assignment', `/subscriptions/${SUB}/providers/Microsoft.Authorization/policyAssignments/pa1`, { kind: 'nonResource' }],
  ['policy exemption', `/subscriptions/${SUB}/resourceGroups/rg1/providers/Microsoft.Authorization/policyExemptions/ex1`, { kind: 'nonResource' }],
  [
    'lock on a resource (extension)',
    `/subscriptions/${SUB}/resourceGroups/rg1/providers/Microsoft.Compute/virtualMachines/VM1/providers/Microsoft.Authorization/locks/l1`,
    {
      kind: 'nonResource',
      type: 'microsoft.authorization/locks',
      providerNamespace: 'microsoft.authorization',
      name: 'l1',
      parentId: `/subscriptions/${SUB}/resourcegroups/rg1/providers/microsoft.compute/virtualmachines/vm1`,
    },
  ],
  [
    'diagnostic settings on a resource',
    `/subscriptions/${SUB}/resourceGroups/rg1/providers/Microsoft.KeyVault/vaults/kv/providers/microsoft.insights/diagnosticSettings/toLA`,
    { kind: 'nonResource', type: 'microsoft.insights/diagnosticsettings' },
  ],
  [
    'resource health annotation (extension)',
    `/subscriptions/${SUB}/resourceGroups/SampleTestRg/providers/Microsoft.Compute/virtualMachines/VirtualMachineTest8/providers/Microsoft.ResourceHealth/resourceAnnotations/current`,
    { kind: 'nonResource', type: 'microsoft.resourcehealth/resourceannotations' },
  ],
  ['tags write', `/subscriptions/${SUB}/resourceGroups/rg1/providers/Microsoft.Resources/tags/default`, { kind: 'nonResource' }],
];

describe('parseResourceId', () => {
  it.each(cases)('%s', (_label, id, expected) => {
    const parsed = parseResourceId(id);
    expect(parsed.original).toBe(id);
    expect(parsed).toMatchObject(expected);
  });

  it.each([
    ['empty', ''],
    ['tenant-level id', '/providers/Microsoft.Management/managementGroups/mg1'],
    ['not an id', 'hello world'],
    ['subscriptions without id', '/subscriptions/'],
    ['resource group without name', `/subscriptions/${SUB}/resourceGroups`],
    ['type prefix without name', `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines`],
    ['providers without namespace', `/subscriptions/${SUB}/resourceGroups/rg/providers`],
    ['unknown segment', `/subscriptions/${SUB}/resourceGroups/rg/things/x`],
    ['duplicate slashes', `//subscriptions/${SUB}//resourceGroups/rg1`],
    ['an empty name', `/subscriptions/${SUB}/resourceGroups//providers/A.B/c/d`],
    ['two trailing slashes', `/subscriptions/${SUB}/resourceGroups/rg1//`],
    ['missing leading slash', `subscriptions/${SUB}/resourceGroups/rg1`],
    ['a line break', `/subscriptions/${SUB}/resourceGroups/rg1\n| take 1`],
    ['a NUL', `/subscriptions/${SUB}/resourceGroups/rg\u0000`],
    ['DEL', `/subscriptions/${SUB}/resourceGroups/rg\u007f`],
    ['a C1 control character', `/subscriptions/${SUB}/resourceGroups/rg\u0085`],
    ['a lone surrogate', `/subscriptions/${SUB}/resourceGroups/rg\ud83d`],
    ['over 2048 characters', `/subscriptions/${SUB}/resourceGroups/${'r'.repeat(2048)}`],
  ])('rejects %s with a PermanentError naming the id', (_label, id) => {
    let caught: unknown;
    try {
      parseResourceId(id);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(PermanentError);
    expect((caught as PermanentError).source).toBe('input');
    expect((caught as Error).message).toContain('Not an Azure resource id');
    expect((caught as Error).message).toContain(JSON.stringify(id).slice(1, -1).slice(0, 40));
  });
});

describe('helpers', () => {
  it('subscriptionIdOf and resourceGroupIdOf are normalised', () => {
    const id = `/subscriptions/${SUB.toUpperCase()}/resourceGroups/My-RG/providers/Microsoft.Web/sites/a`;
    expect(subscriptionIdOf(id)).toBe(SUB);
    expect(resourceGroupIdOf(id)).toBe(`/subscriptions/${SUB}/resourcegroups/my-rg`);
    expect(resourceGroupIdOf(`/subscriptions/${SUB}`)).toBeUndefined();
    expect(resourceGroupIdOf(`/subscriptions/${SUB}/providers/Microsoft.Security/pricings/x`)).toBeUndefined();
  });

  it('isWithinResourceGroup is case-insensitive and does not match name prefixes', () => {
    const rg = `/subscriptions/${SUB}/resourcegroups/rg1`;
    expect(isWithinResourceGroup(`/subscriptions/${SUB}/resourceGroups/RG1/providers/A.B/c/d`, rg)).toBe(true);
    expect(isWithinResourceGroup(`/subscriptions/${SUB}/resourceGroups/RG1`, rg)).toBe(true);
    expect(isWithinResourceGroup(`/subscriptions/${SUB}/resourceGroups/rg10/providers/A.B/c/d`, rg)).toBe(false);
  });

  it('normalizeResourceId lower-cases, collapses and trims slashes', () => {
    expect(normalizeResourceId('Subscriptions//X/ResourceGroups/Y/')).toBe('/subscriptions/x/resourcegroups/y');
  });
});
