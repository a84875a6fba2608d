/**
 * Least privilege and platform hygiene in infra/: role scopes, basic publishing credentials, Key Vault protection,
 * dead-letter retention and the Flex scale limit. Each check is also fed a snippet that breaks it.
 */
import { RUN_LOCK_CONTAINER } from '../../shared/sync/reconcile/runLock.js';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { type BicepFile, loadBicepFiles, objectGet, parseBicep, resolveString, resourcesOf } from './bicep-checks.js';
import { checkBasicPublishingDisabled, checkKeyVaultProtection, checkLifecycleDeletes, checkRoleScopes, parameterBounds } from './bicep-policy-checks.js';

const infra = join(resolve(dirname(fileURLToPath(import.meta.url)), '../..'), 'infra');
const files = loadBicepFiles(infra);
const main = files.find((f) => f.path === join(infra, 'main.bicep'))!;
const snippet = (source: string): BicepFile => parseBicep(join(infra, 'snippet.bicep'), source);

const roleAssignment = (symbol: string, role: string, scope?: string) =>
  [
    `resource ${symbol} 'Microsoft.Authorization/roleAssignments@2022-04-01' = {`,
    `  name: guid('${symbol}')`,
    ...(scope ? [`  scope: ${scope}`] : []),
    '  properties: {',
    `    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', builtInRoleIds.${role})`,
    "    principalType: 'ServicePrincipal'",
    '  }',
    '}',
  ].join('\n');

describe('infra least privilege', () => {
  it('grants queue roles on queues, blob roles on containers and the secrets role on the secret', () => {
    expect(checkRoleScopes(files)).toEqual([]);
  });

  it('grants the app identity no data role at storage-account scope except the host\'s tables', () => {
    const appRoles = files.find((f) => f.path.endsWith('app-roles.bicep'))!;
    const accountScoped = resourcesOf(appRoles)
      .filter((r) => r.type === 'Microsoft.Authorization/roleAssignments' && objectGet(r.body, 'scope')?.text === 'storage')
      .map((r) => /builtInRoleIds\.(\w+)/.exec(objectGet(r.body, 'properties.roleDefinitionId')!.text)![1]);
    expect(accountScoped).toEqual(['storageTableDataContributor']);
  });

  it('disables basic publishing credentials for SCM and FTP', () => {
    expect(checkBasicPublishingDisabled(files)).toEqual([]);
  });

  it('protects Key Vault from purge and makes its public network access a parameter', () => {
    expect(checkKeyVaultProtection(files)).toEqual([]);
    const vault = resourcesOf(main).find((r) => r.type === 'Microsoft.KeyVault/vaults')!;
    expect(objectGet(vault.body, 'properties.publicNetworkAccess')?.text).toBe('keyVaultPublicNetworkAccess');
    expect(parameterBounds(main, 'keyVaultPublicNetworkAccess').default).toBe('Enabled');
  });

  it('deletes dead-lettered events (whole events, with claims) after a configurable number of days', () => {
    const container = resourcesOf(main).find((r) => r.symbol === 'deadLetterContainer')!;
    const name = resolveString(main, objectGet(container.body, 'name'))!;
    expect(name).toBe('eventgrid-deadletter');
    expect(checkLifecycleDeletes(main, name)).toEqual([]);
    expect(parameterBounds(main, 'deadLetterRetentionDays')).toEqual({ min: 1, max: 30, default: '7' });
  });

  it('admits only the maximum instance counts Flex Consumption accepts (40 to 1000)', () => {
    expect(parameterBounds(main, 'maximumInstanceCount')).toEqual({ min: 40, max: 1000, default: '40' });
    const site = resourcesOf(main).find((r) => r.type === 'Microsoft.Web/sites')!;
    expect(objectGet(site.body, 'properties.functionAppConfig.scaleAndConcurrency.maximumInstanceCount')?.text).toBe('maximumInstanceCount');
  });

  it('creates both queues from one parameter, and the host and lock containers the scoped roles need', () => {
    const queues = resourcesOf(main).filter((r) => r.type === 'Microsoft.Storage/storageAccounts/queueServices/queues');
    expect(queues.map((q) => objectGet(q.body, 'name')?.text).sort()).toEqual(["'${eventsQueueName}-poison'", 'eventsQueueName']);
    const containers = resourcesOf(main)
      .filter((r) => !r.existing && r.type === 'Microsoft.Storage/storageAccounts/blobServices/containers')
      .map((r) => objectGet(r.body, 'name')?.text);
    expect(containers).toEqual(expect.arrayContaining(['deploymentContainerName', 'deadLetterContainerName', 'locksContainerName', 'name']));
    // The app names the lock container itself; Bicep must create exactly that one.
    expect(main.source).toContain(`var locksContainerName = '${RUN_LOCK_CONTAINER}'`);
    expect(main.source).toMatch(/var hostContainerNames = \[\s*'azure-webjobs-hosts'\s*'azure-webjobs-secrets'\s*\]/);
  });
});

describe('the policy checks catch broken Bicep', () => {
  it('reports queue, blob and secret roles at too broad a scope, and roles it cannot name', () => {
    const broken = snippet(
      [
        "resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {\n  name: 'st'\n}",
        "resource vault 'Microsoft.KeyVault/vaults@2023-07-01' existing = {\n  name: 'kv'\n}",
        "resource q 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' existing = {\n  name: 'q'\n}",
        roleAssignment('queueOnAccount', 'storageQueueDataMessageProcessor', 'storage'),
        roleAssignment('queueOnGroup', 'storageQueueDataContributor'),
        roleAssignment('blobOnAccount', 'storageBlobDataOwner', 'storage'),
        roleAssignment('secretOnVault', 'keyVaultSecretsUser', 'vault'),
        roleAssignment('queueOnQueue', 'storageQueueDataMessageSender', 'q'),
        "resource inline 'Microsoft.Authorization/roleAssignments@2022-04-01' = {\n  properties: {\n    roleDefinitionId: 'x'\n  }\n}",
      ].join('\n'),
    );
    expect(checkRoleScopes([broken])).toEqual([
      expect.stringMatching(/queueOnAccount grants storageQueueDataMessageProcessor at Microsoft.Storage\/storageAccounts: queue roles belong on the queue/),
      expect.stringMatching(/queueOnGroup grants storageQueueDataContributor at the deployment scope/),
      expect.stringMatching(/blobOnAccount grants storageBlobDataOwner at Microsoft.Storage\/storageAccounts: blob roles belong on a container/),
      expect.stringMatching(/secretOnVault grants keyVaultSecretsUser at Microsoft.KeyVault\/vaults: the secrets role belongs on the one secret/),
      expect.stringMatching(/inline must name its role as builtInRoleIds/),
    ]);
  });

  it('reports a site with basic publishing credentials left on or undeclared', () => {
    const broken = snippet(
      [
        "resource site 'Microsoft.Web/sites@2024-04-01' = {\n  name: 'app'\n}",
        "resource scm 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {\n  parent: site\n  name: 'scm'\n  properties: {\n    allow: true\n  }\n}",
      ].join('\n'),
    );
    expect(checkBasicPublishingDisabled([broken])).toEqual([
      expect.stringMatching(/scm must set allow: false/),
      expect.stringMatching(/site site has no 'ftp' basicPublishingCredentialsPolicies resource/),
    ]);
  });

  it('reports a vault without purge protection', () => {
    const broken = snippet("resource kv 'Microsoft.KeyVault/vaults@2023-07-01' = {\n  properties: {\n    enableSoftDelete: true\n  }\n}");
    expect(checkKeyVaultProtection([broken])).toEqual([expect.stringMatching(/kv must set enablePurgeProtection: true/)]);
  });

  it('reports a missing, disabled or fixed-age dead-letter lifecycle rule', () => {
    const policy = (enabled: boolean, days: string) =>
      snippet(
        [
          'param retention int = 7',
          "resource p 'Microsoft.Storage/storageAccounts/managementPolicies@2023-05-01' = {",
          '  properties: {\n    policy: {\n      rules: [\n        {',
          `          enabled: ${enabled}`,
          "          definition: {\n            filters: {\n              prefixMatch: [\n                'dl/'\n              ]\n            }",
          `            actions: {\n              baseBlob: {\n                delete: {\n                  daysAfterModificationGreaterThan: ${days}\n                }\n              }\n            }`,
          '          }\n        }\n      ]\n    }\n  }\n}',
        ].join('\n'),
      );
    expect(checkLifecycleDeletes(policy(true, 'retention'), 'dl')).toEqual([]);
    expect(checkLifecycleDeletes(policy(false, 'retention'), 'dl')).toEqual([expect.stringMatching(/no enabled lifecycle rule deletes the blobs in dl\//)]);
    expect(checkLifecycleDeletes(policy(true, '30'), 'dl')).toEqual([expect.stringMatching(/must delete after a parameter's number of days/)]);
    expect(checkLifecycleDeletes(snippet('var x = 1\n'), 'dl')).toEqual([expect.stringMatching(/no enabled lifecycle rule/)]);
  });
});
