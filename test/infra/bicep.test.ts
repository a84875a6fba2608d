import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseResourceId } from '../../shared/azure/resourceId.js';
import { REQUIRED_SETTINGS, SECRET_SETTINGS, SETTING_ALIASES, SETTING_NAMES, loadSettings } from '../../shared/settings.js';
import {
  type BicepFile,
  type BuiltInRole,
  appSettingParameterDefaults,
  appSettingsOf,
  checkAppSettings,
  checkEverySettingSet,
  checkBicepParam,
  checkEventSubscriptionOrdering,
  checkEventSubscriptions,
  checkModuleSources,
  checkNoPlainSecrets,
  checkPinnedApiVersions,
  checkRoleAssignments,
  checkSiteHardening,
  checkStorageAndVault,
  checkSyntax,
  loadBicepFiles,
  operationNameExclusions,
  parseBicep,
  queueNamesOf,
} from './bicep-checks.js';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const infra = join(repo, 'infra');

/** Learn role-based-access-control/built-in-roles, as recorded in azure-platform.md §6.2. */
const BUILT_IN_ROLES: BuiltInRole[] = [
  { name: 'Reader', id: 'acdd72a7-3385-48ef-bd42-f606fba81ae7' },
  { name: 'Storage Queue Data Message Sender', id: 'c6a89b2d-59bc-44d0-9896-0f6e12d7b80a' },
  { name: 'Storage Queue Data Message Processor', id: '8a0f0c08-91a1-4084-bc3d-661d67233fed' },
  { name: 'Storage Queue Data Reader', id: '19e7f393-937e-4f77-808e-94535e297925' },
  { name: 'Storage Queue Data Contributor', id: '974c5e8b-45b9-4653-ba55-5f855dd0fb88' },
  { name: 'Storage Blob Data Owner', id: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b' },
  { name: 'Storage Blob Data Contributor', id: 'ba92f5b4-2d11-453d-a403-e96b0029c9fe' },
  { name: 'Storage Table Data Contributor', id: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3' },
  { name: 'Key Vault Secrets User', id: '4633458b-17de-408a-b874-0445c86b69e6' },
  { name: 'Monitoring Metrics Publisher', id: '3913510d-42f4-4e42-8a64-420c390055eb' },
];

/**
 * App settings the Functions host (not our code) reads. Identity-based host storage for a user-assigned identity
 * needs __credential plus the blob/table URIs; Application Insights needs its connection and Entra auth strings.
 */
const HOST_SETTINGS = [
  'AzureWebJobsStorage__credential',
  'AzureWebJobsStorage__blobServiceUri',
  'AzureWebJobsStorage__tableServiceUri',
  'APPLICATIONINSIGHTS_CONNECTION_STRING',
  'APPLICATIONINSIGHTS_AUTHENTICATION_STRING',
];

/** Settings the code reads that main.bicep deliberately leaves unset, and why. */
const NOT_SET_ON_AZURE = {
  AzureWebJobsStorage: 'a connection string needs an account key; the host uses AzureWebJobsStorage__* identity settings',
  AzureWebJobsStorage__accountName: 'the blob/queue/table service URIs are set instead (needed for a user-assigned identity)',
};

/** The least settings loadSettings accepts, to compare everything else against the code's defaults. */
const MINIMAL_ENV = { PORT_CLIENT_ID: 'id', PORT_CLIENT_SECRET: 'secret', AzureWebJobsStorage__queueServiceUri: 'https://a.queue.core.windows.net' };

const contract = { settingNames: SETTING_NAMES, aliases: SETTING_ALIASES, required: REQUIRED_SETTINGS, hostSettings: HOST_SETTINGS };

const files = loadBicepFiles(infra);
const byName = (rel: string): BicepFile => {
  const found = files.find((f) => f.path === join(infra, rel));
  if (!found) throw new Error(`infra/${rel} is missing`);
  return found;
};
const main = byName('main.bicep');
const snippet = (source: string, name = 'snippet.bicep'): BicepFile => parseBicep(join(infra, name), source);

describe('infra/*.bicep', () => {
  it('has the expected entry points and modules', () => {
    const names = files.map((f) => f.path.slice(infra.length + 1));
    expect(names).toEqual(expect.arrayContaining(['main.bicep', 'subscription.bicep', 'management-group.bicep', 'modules/roles.bicep']));
  });

  it('parses every file without syntax errors', () => {
    expect(checkSyntax(files)).toEqual([]);
  });

  it('pins a dated API version on every resource type', () => {
    expect(checkPinnedApiVersions(files)).toEqual([]);
  });

  it('uses only local modules that exist (no br/public registry modules)', () => {
    expect(checkModuleSources(files)).toEqual([]);
  });

  it('sets every required setting, and only settings the code or the host reads', () => {
    expect(checkAppSettings(main, contract)).toEqual([]);
  });

  it('sets every setting the code reads, so the deployment states the whole configuration', () => {
    expect(checkEverySettingSet(main, SETTING_NAMES, NOT_SET_ON_AZURE)).toEqual([]);
    expect(Object.keys(NOT_SET_ON_AZURE).filter((k) => appSettingsOf(main).some((s) => s.name === k))).toEqual([]);
    expect(Object.keys(NOT_SET_ON_AZURE).filter((k) => !SETTING_NAMES.includes(k))).toEqual([]);
  });

  it('defaults every parameter that feeds a setting to the code\'s own default, within the code\'s range', () => {
    const defaults = appSettingParameterDefaults(main);
    // The parameters that carry plain settings; a regression in the extraction would silently check nothing.
    expect(defaults.length).toBeGreaterThanOrEqual(18);
    const baseline = loadSettings(MINIMAL_ENV);
    for (const d of defaults) {
      expect(loadSettings({ ...MINIMAL_ENV, [d.setting]: d.value }), `${d.parameter} → ${d.setting} = '${d.value}'`).toEqual(baseline);
      for (const bound of [d.minValue, d.maxValue]) {
        if (bound !== undefined) expect(() => loadSettings({ ...MINIMAL_ENV, [d.setting]: String(bound) }), `${d.parameter} bound ${bound}`).not.toThrow();
      }
      if (d.minValue !== undefined) expect(() => loadSettings({ ...MINIMAL_ENV, [d.setting]: String(d.minValue! - 1) }), `${d.parameter} below min`).toThrow();
      if (d.maxValue !== undefined) expect(() => loadSettings({ ...MINIMAL_ENV, [d.setting]: String(d.maxValue! + 1) }), `${d.parameter} above max`).toThrow();
    }
  });

  it('filters out only operation names the identity module calls non-resources', () => {
    const prefixes = operationNameExclusions(files);
    expect(prefixes).toEqual(expect.arrayContaining(['Microsoft.Resources/deployments/', 'Microsoft.Authorization/']));
    for (const prefix of prefixes) {
      const [namespace, type] = prefix.split('/').filter(Boolean);
      const id = `/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg/providers/${namespace}/${type ?? 'anyType'}/x`;
      expect(parseResourceId(id).kind, prefix).toBe('nonResource');
    }
  });

  it('keeps secrets out of app settings and outputs', () => {
    expect(checkNoPlainSecrets(files, SECRET_SETTINGS)).toEqual([]);
    const secret = appSettingsOf(main).find((s) => s.name === 'PORT_CLIENT_SECRET');
    expect(secret?.value?.text).toMatch(/^'@Microsoft\.KeyVault\(SecretUri=\$\{vault\.properties\.vaultUri\}secrets\//);
  });

  it('hardens the Flex Consumption function app', () => {
    expect(checkSiteHardening(files)).toEqual([]);
  });

  it('locks down storage, Key Vault and Application Insights', () => {
    expect(checkStorageAndVault(files)).toEqual([]);
  });

  it('creates the events queue and its poison queue explicitly', () => {
    expect(queueNamesOf(main).sort()).toEqual(['resource-events', 'resource-events-poison']);
  });

  it('uses only built-in role ids whose names match', () => {
    expect(checkRoleAssignments(files, BUILT_IN_ROLES)).toEqual([]);
  });

  it('configures event subscriptions within Event Grid filter limits, with identity delivery and dead-lettering', () => {
    expect(checkEventSubscriptions(files)).toEqual([]);
  });

  it('creates event subscriptions only after the topic identity has its roles', () => {
    expect(checkEventSubscriptionOrdering(files)).toEqual([]);
  });
});

describe('infra/*.bicepparam', () => {
  // Checked by rewriting `param x =` to `var x =` and parsing with tree-sitter; see checkBicepParam.
  const paramFiles = readdirSync(infra).filter((f) => f.endsWith('.bicepparam'));

  it('has an example for each entry point', () => {
    expect(paramFiles.sort()).toEqual(['main.bicepparam', 'subscription.bicepparam']);
  });

  for (const name of paramFiles) {
    it(`${name} parses, targets an existing file and sets only declared params`, () => {
      const source = readFileSync(join(infra, name), 'utf8');
      const target = /^\s*using\s+'([^']+)'/m.exec(source)?.[1];
      const targetFile = target ? files.find((f) => f.path === resolve(infra, target)) : undefined;
      expect(checkBicepParam(join(infra, name), source, targetFile)).toEqual([]);
    });
  }
});

describe('local.settings.sample.json', () => {
  it('contains every required setting', () => {
    const sample = JSON.parse(readFileSync(join(repo, 'local.settings.sample.json'), 'utf8')) as { Values: Record<string, string> };
    expect(REQUIRED_SETTINGS.filter((k) => !(k in sample.Values))).toEqual([]);
  });
});

// Each check must be able to fail: feed it a snippet that breaks exactly its invariant.
describe('the checks catch broken Bicep', () => {
  it('reports syntax errors with positions', () => {
    const problems = checkSyntax([snippet("param x string = \nresource r 'Microsoft.Storage/storageAccounts@2023-05-01' = {\n")]);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/snippet\.bicep does not parse: .*(ERROR|MISSING) .*snippet\.bicep:\d+:\d+/);
  });

  it('reports unpinned and preview API versions', () => {
    const problems = checkPinnedApiVersions([
      snippet(`resource a 'Microsoft.Storage/storageAccounts' = {\n  name: 'a'\n}\nresource b 'Microsoft.Web/sites@2024-04-01-preview' = {\n  name: 'b'\n}\nresource c 'Microsoft.Web/sites@2024-04-01' = {\n  name: 'c'\n}\n`),
    ]);
    expect(problems).toHaveLength(2);
    expect(problems[0]).toMatch(/resource a type 'Microsoft.Storage\/storageAccounts'/);
    expect(problems[1]).toMatch(/resource b/);
  });

  it('reports registry and missing modules', () => {
    const problems = checkModuleSources([
      snippet(`module a 'br/public:avm/res/web/site:0.1.0' = {\n  name: 'a'\n}\nmodule b 'modules/nope.bicep' = {\n  name: 'b'\n}\nmodule c 'modules/reader-role.bicep' = {\n  name: 'c'\n}\n`),
    ]);
    expect(problems).toEqual([expect.stringMatching(/module a uses registry reference 'br\/public:/), expect.stringMatching(/module b points at 'modules\/nope.bicep', which does not exist/)]);
  });

  const settingsSnippet = (props: string) =>
    snippet(`resource cfg 'Microsoft.Web/sites/config@2024-04-01' = {\n  parent: site\n  name: 'appsettings'\n  properties: {\n${props}\n  }\n}\n`);

  it('reports a setting the code reads that is not set, and a parameter default that differs from the code', () => {
    const file = settingsSnippet(`    PORT_CLIENT_ID: 'x'`);
    expect(checkEverySettingSet(file, ['PORT_CLIENT_ID', 'LOG_LEVEL', 'AzureWebJobsStorage'], NOT_SET_ON_AZURE)).toEqual([
      expect.stringMatching(/setting LOG_LEVEL is read by the code .* but not set/),
    ]);
    const drifted = snippet(
      [
        '@minValue(2)',
        '@maxValue(50)',
        'param portMaxConcurrency int = 9',
        "param logLevel string = 'info'",
        "param portApiUrl string = '${'$'}{x}'",
        "resource cfg 'Microsoft.Web/sites/config@2024-04-01' = {",
        "  name: 'appsettings'",
        '  properties: {',
        '    PORT_MAX_CONCURRENCY: string(portMaxConcurrency)',
        '    LOG_LEVEL: logLevel',
        '    PORT_API_URL: portApiUrl',
        '  }',
        '}',
      ].join('\n'),
    );
    expect(appSettingParameterDefaults(drifted)).toEqual([
      { setting: 'PORT_MAX_CONCURRENCY', parameter: 'portMaxConcurrency', value: '9', minValue: 2, maxValue: 50 },
      { setting: 'LOG_LEVEL', parameter: 'logLevel', value: 'info' },
    ]);
    expect(loadSettings({ ...MINIMAL_ENV, PORT_MAX_CONCURRENCY: '9' })).not.toEqual(loadSettings(MINIMAL_ENV));
  });

  it('reports missing required, unknown and Flex-incompatible app settings', () => {
    const problems = checkAppSettings(
      settingsSnippet(`    PORT_CLIENT_ID: 'x'\n    FUNCTIONS_EXTENSION_VERSION: '~4'\n    PORT_CLIENTSECRET: 'typo'`),
      contract,
    );
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/required setting PORT_CLIENT_SECRET is not set/),
        expect.stringMatching(/required setting AzureWebJobsStorage is not set/),
        expect.stringMatching(/FUNCTIONS_EXTENSION_VERSION must not be set on Flex/),
        expect.stringMatching(/app setting PORT_CLIENTSECRET is not read by the code/),
      ]),
    );
    expect(problems).toHaveLength(4);
  });

  it('counts any AzureWebJobsStorage__* setting as AzureWebJobsStorage', () => {
    const problems = checkAppSettings(
      settingsSnippet(`    PORT_CLIENT_ID: 'x'\n    PORT_CLIENT_SECRET: '@Microsoft.KeyVault(SecretUri=https://v.vault.azure.net/secrets/s/)'\n    AzureWebJobsStorage__queueServiceUri: 'https://a.queue.core.windows.net'`),
      contract,
    );
    expect(problems).toEqual([]);
  });

  it('reports plain secrets, key listing and secret outputs', () => {
    const problems = checkNoPlainSecrets(
      [
        snippet(
          [
            '@secure()',
            'param portClientSecret string',
            "resource cfg 'Microsoft.Web/sites/config@2024-04-01' = {",
            "  name: 'appsettings'",
            '  properties: {',
            '    PORT_CLIENT_SECRET: portClientSecret',
            "    AzureWebJobsStorage: 'DefaultEndpointsProtocol=https;AccountKey=${storage.listKeys().keys[0].value}'",
            '  }',
            '}',
            'output leaked string = portClientSecret',
            "output storageConnectionString string = 'x'",
          ].join('\n'),
        ),
      ],
      SECRET_SETTINGS,
    );
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/listKeys\( reads keys/),
        expect.stringMatching(/PORT_CLIENT_SECRET carries secure parameter portClientSecret in plain text/),
        expect.stringMatching(/PORT_CLIENT_SECRET must be a Key Vault reference/),
        expect.stringMatching(/AzureWebJobsStorage as a connection string needs a key/),
        expect.stringMatching(/output leaked exposes secure parameter portClientSecret/),
        expect.stringMatching(/output storageConnectionString looks like a secret/),
      ]),
    );
  });

  it('ignores listKeys mentioned in a comment', () => {
    expect(checkNoPlainSecrets([snippet('// never call listKeys() here\nvar a = 1\n')], SECRET_SETTINGS)).toEqual([]);
  });

  it('reports an unhardened site and a non-Flex plan', () => {
    const problems = checkSiteHardening([
      snippet(
        [
          "resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {",
          "  sku: { name: 'Y1', tier: 'Dynamic' }",
          '}',
          "resource site 'Microsoft.Web/sites@2024-04-01' = {",
          "  kind: 'functionapp'",
          '  properties: {',
          '    httpsOnly: false',
          "    siteConfig: { minTlsVersion: '1.0', ftpsState: 'AllAllowed' }",
          "    functionAppConfig: { runtime: { name: 'node', version: '20' } }",
          '  }',
          '}',
        ].join('\n'),
      ),
    ]);
    for (const expected of [/httpsOnly: true/, /minTlsVersion: '1.2'/, /ftpsState: 'Disabled'/, /functionapp,linux/, /Node 22/, /managed identity/, /FC1 \/ FlexConsumption/, /reserved/]) {
      expect(problems).toEqual(expect.arrayContaining([expect.stringMatching(expected)]));
    }
  });

  it('reports shared-key storage, access-policy Key Vault and local-auth Application Insights', () => {
    const problems = checkStorageAndVault([
      snippet(
        [
          "resource sa 'Microsoft.Storage/storageAccounts@2023-05-01' = {",
          "  properties: { allowSharedKeyAccess: true, minimumTlsVersion: 'TLS1_0' }",
          '}',
          "resource kv 'Microsoft.KeyVault/vaults@2023-07-01' = {",
          '  properties: { enableRbacAuthorization: false }',
          '}',
          "resource ai 'Microsoft.Insights/components@2020-02-02' = {",
          '  properties: {}',
          '}',
          "resource c 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {",
          "  properties: { publicAccess: 'Blob' }",
          '}',
        ].join('\n'),
      ),
    ]);
    expect(problems).toEqual([
      expect.stringMatching(/sa must set allowSharedKeyAccess: false/),
      expect.stringMatching(/sa must set allowBlobPublicAccess: false/),
      expect.stringMatching(/sa must set minimumTlsVersion: 'TLS1_2'/),
      expect.stringMatching(/kv must set enableRbacAuthorization: true/),
      expect.stringMatching(/ai must set DisableLocalAuth: true/),
      expect.stringMatching(/c must not allow public access/),
    ]);
  });

  it('reports unknown role ids, misnamed role ids and inline role ids', () => {
    const problems = checkRoleAssignments(
      [
        snippet(
          [
            'var roles = {',
            "  reader: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'",
            "  madeUp: '11111111-2222-3333-4444-555555555555'",
            '}',
            "resource ra 'Microsoft.Authorization/roleAssignments@2022-04-01' = {",
            "  name: 'fixed-name'",
            '  properties: {',
            "    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', 'acdd72a7-3385-48ef-bd42-f606fba81ae7')",
            "    principalType: 'User'",
            '  }',
            '}',
          ].join('\n'),
        ),
      ],
      BUILT_IN_ROLES,
    );
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/'reader' is mapped to b7e6dc6d.*Storage Blob Data Owner/),
        expect.stringMatching(/'11111111-2222-3333-4444-555555555555' is not a built-in role id/),
        expect.stringMatching(/role id 'acdd72a7.*\(Reader\) must be declared in a named role table/),
        expect.stringMatching(/principalType: 'ServicePrincipal'/),
        expect.stringMatching(/name must be guid\(scope, principal, role\)/),
      ]),
    );
    expect(problems).toHaveLength(5);
  });

  it('reports too many filters or values, wrong event types and key-based delivery', () => {
    const filter = (n: number) => `{ operatorType: 'StringNotContains', key: 'data.operationName', values: [ ${Array.from({ length: n }, (_, i) => `'v${i}'`).join(', ')} ] }`;
    const tooMany = Array.from({ length: 26 }, () => filter(1)).join('\n');
    const problems = checkEventSubscriptions([
      snippet(
        [
          "resource es 'Microsoft.EventGrid/systemTopics/eventSubscriptions@2025-02-15' = {",
          '  properties: {',
          "    eventDeliverySchema: 'CloudEventSchemaV1_0'",
          "    destination: { endpointType: 'StorageQueue' }",
          '    filter: {',
          "      includedEventTypes: [ 'Microsoft.Resources.ResourceWriteSuccess', 'Microsoft.Resources.ResourceActionSuccess' ]",
          `      advancedFilters: [\n${tooMany}\n${filter(3)}\n${`{ operatorType: 'StringIn', key: 'subject', values: someVar }`}\n      ]`,
          '    }',
          '  }',
          '}',
          "resource t 'Microsoft.EventGrid/systemTopics@2025-02-15' = {",
          "  location: 'westeurope'",
          "  properties: { topicType: 'Microsoft.Storage.StorageAccounts' }",
          '}',
        ].join('\n'),
      ),
    ]);
    for (const expected of [
      /includedEventTypes must be exactly/,
      /has 28 advanced filters/,
      /has 29 advanced filter values in total/,
      /values must be a literal array/,
      /EventGridSchema/,
      /not a key-based destination/,
      /StorageQueue through deliveryWithResourceIdentity/,
      /queueMessageTimeToLiveInSeconds/,
      /deadLetterWithResourceIdentity/,
      /retryPolicy/,
      /location must be 'global'/,
      /topicType must be Microsoft.Resources.Subscriptions/,
      /system-assigned identity/,
    ]) {
      expect(problems).toEqual(expect.arrayContaining([expect.stringMatching(expected)]));
    }
  });

  it('reports an event subscription module deployed without waiting for the topic roles', () => {
    const broken = snippet(
      [
        "module roles 'modules/topic-delivery-roles.bicep' = {",
        "  name: 'roles'",
        '}',
        "module sub 'modules/event-subscription.bicep' = {",
        "  name: 'sub'",
        '}',
      ].join('\n'),
    );
    const modules = files.filter((f) => f.path.startsWith(join(infra, 'modules')));
    const problems = checkEventSubscriptionOrdering([...modules, broken]);
    expect(problems).toEqual([expect.stringMatching(/snippet\.bicep:4:1: sub creates an event subscription but does not dependsOn the role assignments/)]);
  });

  it('reports a bicepparam with unknown, missing and literal secure params', () => {
    const target = snippet("@secure()\nparam secret string = ''\nparam required string\nparam optional int = 1\n", 'target.bicep');
    const problems = checkBicepParam(
      join(infra, 'broken.bicepparam'),
      "using './target.bicep'\nparam secret = 'hunter2'\nparam typo = 1\nparam optional = [\n",
      target,
    );
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/broken\.bicepparam does not parse/),
        expect.stringMatching(/param typo is not declared/),
        expect.stringMatching(/required param required of \.\/target\.bicep is not set/),
        expect.stringMatching(/secure param secret must not hold a literal/),
      ]),
    );
    expect(checkBicepParam(join(infra, 'x.bicepparam'), 'param a = 1\n', target)).toEqual([expect.stringMatching(/missing "using/)]);
  });
});
