import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  REQUIRED_SETTINGS,
  SECRET_SETTINGS,
  SETTING_ALIASES,
  SETTING_NAMES,
  SettingsError,
  loadSettings,
  parseDurationMs,
} from '../shared/settings.js';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');

const minimal = {
  PORT_CLIENT_ID: 'client-id',
  PORT_CLIENT_SECRET: 'client-secret',
  AzureWebJobsStorage: 'UseDevelopmentStorage=true',
};

function settingsError(env: Record<string, string | undefined>): SettingsError {
  try {
    loadSettings(env);
  } catch (err) {
    if (err instanceof SettingsError) return err;
    throw err;
  }
  throw new Error('expected loadSettings to throw a SettingsError');
}

describe('loadSettings defaults', () => {
  it('fills every optional setting with its documented default', () => {
    const s = loadSettings(minimal);
    expect(s.port).toEqual({
      clientId: 'client-id',
      clientSecret: 'client-secret',
      apiUrl: 'https://api.port.io',
      blueprints: {
        subscription: 'azureSubscription',
        resourceGroup: 'azureResourceGroup',
        resource: 'azureCloudResources',
        state: 'azureWorkflowState',
      },
      createMissingRelatedEntities: true,
      maxConcurrency: 8,
      requestTimeoutMs: 30_000,
      retryMaxAttempts: 8,
    });
    expect(s.azure).toEqual({
      armEndpoint: 'https://management.azure.com',
      subscriptionIds: [],
      managementGroupIds: [],
      subscriptionBatchSize: 200,
      argMaxConcurrency: 3,
      includeResourceTypes: [],
      excludeResourceTypes: [],
    });
    expect(s.events).toEqual({
      queueName: 'resource-events',
      poisonQueueName: 'resource-events-poison',
      storage: { connectionString: 'UseDevelopmentStorage=true' },
      flushWindowMs: 50,
      settleTimeMs: 90_000,
      armReadsPerSecond: 10,
    });
    expect(s.reconcile).toEqual({
      schedule: '0 */15 * * * *',
      fullSyncIntervalMs: 86_400_000,
      maxChangeWindowMs: 6 * 86_400_000,
      overlapMs: 1_800_000,
      lostSubscriptionRetentionMs: 604_800_000,
      deleteThreshold: 0.9,
    });
    expect(s.logLevel).toBe('info');
  });

  it('treats empty and blank values as unset', () => {
    const s = loadSettings({ ...minimal, PORT_MAX_CONCURRENCY: '', DELETE_THRESHOLD: '   ', LOG_LEVEL: '' });
    expect(s.port.maxConcurrency).toBe(8);
    expect(s.reconcile.deleteThreshold).toBe(0.9);
    expect(s.logLevel).toBe('info');
  });

  it('ignores environment variables it does not own', () => {
    expect(() => loadSettings({ ...minimal, PATH: '/usr/bin', SOMETHING_ELSE: 'x' })).not.toThrow();
  });
});

describe('loadSettings errors', () => {
  it('reports every bad key at once, each by name', () => {
    const err = settingsError({
      ...minimal,
      PORT_MAX_CONCURRENCY: '0',
      PORT_REQUEST_TIMEOUT: 'soon',
      DELETE_THRESHOLD: '2',
      LOG_LEVEL: 'verbose',
      AZURE_CLIENT_ID: 'not-a-guid',
    });
    expect(err.problems.map((p) => p.key).sort()).toEqual(
      ['AZURE_CLIENT_ID', 'DELETE_THRESHOLD', 'LOG_LEVEL', 'PORT_MAX_CONCURRENCY', 'PORT_REQUEST_TIMEOUT'].sort(),
    );
    expect(err.message).toMatch(/^Invalid app settings \(5\):/);
    for (const key of ['AZURE_CLIENT_ID', 'DELETE_THRESHOLD', 'LOG_LEVEL', 'PORT_MAX_CONCURRENCY', 'PORT_REQUEST_TIMEOUT']) {
      expect(err.message).toContain(`  - ${key}: `);
    }
    expect(err.message).toContain('got "soon"');
  });

  it('names each missing required setting', () => {
    const err = settingsError({});
    const keys = err.problems.map((p) => p.key);
    expect(keys).toEqual(expect.arrayContaining(['PORT_CLIENT_ID', 'PORT_CLIENT_SECRET']));
    expect(err.message).toMatch(/PORT_CLIENT_ID: is required \(the Port API client id\)/);
  });

  it('requires host storage in some form', () => {
    const err = settingsError({ PORT_CLIENT_ID: 'a', PORT_CLIENT_SECRET: 'b' });
    expect(err.problems).toEqual([expect.objectContaining({ key: 'AzureWebJobsStorage' })]);
  });

  it('never puts the secret value in the error', () => {
    const secret = '@Microsoft.KeyVault(SecretUri=https://kv-x.vault.azure.net/secrets/port-client-secret-Zq9/)';
    const err = settingsError({ ...minimal, PORT_CLIENT_SECRET: secret, LOG_LEVEL: 'loud' });
    expect(err.problems.map((p) => p.key).sort()).toEqual(['LOG_LEVEL', 'PORT_CLIENT_SECRET']);
    expect(err.message).toMatch(/PORT_CLIENT_SECRET: is an unresolved Key Vault reference/);
    expect(err.message).not.toContain(secret);
    expect(err.message).not.toContain('port-client-secret-Zq9');
    expect(JSON.stringify(err.problems)).not.toContain('Zq9');
  });

  it('rejects plain http except on loopback', () => {
    expect(settingsError({ ...minimal, PORT_API_URL: 'http://api.port.io' }).message).toMatch(/PORT_API_URL: must use https/);
    expect(settingsError({ ...minimal, AZURE_ARM_ENDPOINT: 'not a url' }).message).toMatch(/AZURE_ARM_ENDPOINT: expected an absolute URL/);
    expect(loadSettings({ ...minimal, PORT_API_URL: 'http://127.0.0.1:4010/' }).port.apiUrl).toBe('http://127.0.0.1:4010');
  });

  it('rejects a change window longer than Resource Graph keeps history, or an overlap not shorter than it', () => {
    expect(settingsError({ ...minimal, MAX_CHANGE_WINDOW: '8d' }).problems).toEqual([
      expect.objectContaining({ key: 'MAX_CHANGE_WINDOW', message: expect.stringMatching(/at most 7d/) }),
    ]);
    expect(settingsError({ ...minimal, MAX_CHANGE_WINDOW: '1h', CHANGE_WINDOW_OVERLAP: '2h' }).problems).toEqual([
      expect.objectContaining({ key: 'CHANGE_WINDOW_OVERLAP', message: 'must be shorter than MAX_CHANGE_WINDOW' }),
    ]);
  });

  it('reports cross-field rules in the same pass as bad keys', () => {
    const err = settingsError({ ...minimal, LOG_LEVEL: 'loud', MAX_CHANGE_WINDOW: '1h', CHANGE_WINDOW_OVERLAP: '2h', PORT_MAX_CONCURRENCY: 'many' });
    expect(err.problems.map((p) => p.key).sort()).toEqual(['CHANGE_WINDOW_OVERLAP', 'LOG_LEVEL', 'PORT_MAX_CONCURRENCY']);
    expect(err.message).toMatch(/CHANGE_WINDOW_OVERLAP: must be shorter than MAX_CHANGE_WINDOW/);
  });

  it('reports a missing required setting, a bad value and host storage together', () => {
    const err = settingsError({ PORT_CLIENT_SECRET: 'b', RECONCILE_SCHEDULE: 'often', EVENT_SETTLE_TIME: '90', MAX_CHANGE_WINDOW: '8d' });
    expect(err.problems.map((p) => p.key).sort()).toEqual(['AzureWebJobsStorage', 'EVENT_SETTLE_TIME', 'MAX_CHANGE_WINDOW', 'PORT_CLIENT_ID', 'RECONCILE_SCHEDULE']);
  });

  it('rejects a queue name that leaves no room for -poison', () => {
    expect(settingsError({ ...minimal, RESOURCE_EVENTS_QUEUE: 'Resource_Events' }).problems[0]?.key).toBe('RESOURCE_EVENTS_QUEUE');
    expect(settingsError({ ...minimal, RESOURCE_EVENTS_QUEUE: 'a'.repeat(57) }).problems[0]?.key).toBe('RESOURCE_EVENTS_QUEUE');
    expect(loadSettings({ ...minimal, RESOURCE_EVENTS_QUEUE: 'my-events' }).events.poisonQueueName).toBe('my-events-poison');
  });
});

describe('setting value parsing', () => {
  it('parses durations with a unit only', () => {
    expect(parseDurationMs('100ms')).toBe(100);
    expect(parseDurationMs('90s')).toBe(90_000);
    expect(parseDurationMs('15m')).toBe(900_000);
    expect(parseDurationMs('24h')).toBe(86_400_000);
    expect(parseDurationMs('6d')).toBe(518_400_000);
    expect(parseDurationMs(' 45s ')).toBe(45_000);
    expect(parseDurationMs('10M')).toBe(600_000);
    for (const bad of ['', 'soon', '1.5h', '-5m', '5 minutes', 'm', '45', ' 90 ']) expect(parseDurationMs(bad), bad).toBeUndefined();
  });

  it('rejects a bare number for a duration, showing the accepted forms', () => {
    const err = settingsError({ ...minimal, EVENT_SETTLE_TIME: '90', FULL_SYNC_INTERVAL: '24' });
    expect(err.problems.map((p) => p.key).sort()).toEqual(['EVENT_SETTLE_TIME', 'FULL_SYNC_INTERVAL']);
    expect(err.message).toContain('EVENT_SETTLE_TIME: "90" has no unit: write a duration such as 90s, 15m, 24h or 6d (ms for milliseconds)');
  });

  it('enforces duration minimums', () => {
    expect(settingsError({ ...minimal, EVENT_SETTLE_TIME: '500ms' }).message).toMatch(/EVENT_SETTLE_TIME: must be at least 1s, got "500ms"/);
    expect(settingsError({ ...minimal, CHANGE_WINDOW_OVERLAP: '10m' }).message).toMatch(/CHANGE_WINDOW_OVERLAP: must be at least 15m, got "10m"/);
    expect(loadSettings({ ...minimal, FULL_SYNC_INTERVAL: '6h' }).reconcile.fullSyncIntervalMs).toBe(21_600_000);
  });

  it('parses ratios from 0 to 1', () => {
    expect(loadSettings({ ...minimal, DELETE_THRESHOLD: '0' }).reconcile.deleteThreshold).toBe(0);
    expect(loadSettings({ ...minimal, DELETE_THRESHOLD: '1' }).reconcile.deleteThreshold).toBe(1);
    expect(loadSettings({ ...minimal, DELETE_THRESHOLD: '0.25' }).reconcile.deleteThreshold).toBe(0.25);
    for (const bad of ['1.01', '-0.1', 'half', 'NaN']) {
      expect(settingsError({ ...minimal, DELETE_THRESHOLD: bad }).message, bad).toMatch(/DELETE_THRESHOLD: expected a number from 0 to 1/);
    }
  });

  it('parses whole numbers within their range only', () => {
    expect(loadSettings({ ...minimal, ARG_MAX_CONCURRENCY: '15' }).azure.argMaxConcurrency).toBe(15);
    for (const bad of ['16', '0', '2.5', 'three']) {
      expect(settingsError({ ...minimal, ARG_MAX_CONCURRENCY: bad }).message, bad).toMatch(/ARG_MAX_CONCURRENCY: expected a whole number from 1 to 15/);
    }
  });

  it('parses booleans', () => {
    expect(loadSettings({ ...minimal, PORT_CREATE_MISSING_RELATED_ENTITIES: 'No' }).port.createMissingRelatedEntities).toBe(false);
    expect(loadSettings({ ...minimal, PORT_CREATE_MISSING_RELATED_ENTITIES: '1' }).port.createMissingRelatedEntities).toBe(true);
    expect(settingsError({ ...minimal, PORT_CREATE_MISSING_RELATED_ENTITIES: 'maybe' }).message).toMatch(/expected true or false/);
  });

  it('splits CSV lists on commas, semicolons and whitespace, and lower-cases ids and types', () => {
    const s = loadSettings({
      ...minimal,
      AZURE_SUBSCRIPTION_IDS: ' 11111111-2222-3333-4444-55555555AAAA,22222222-3333-4444-5555-666666666666;\n33333333-4444-5555-6666-777777777777 ',
      AZURE_MANAGEMENT_GROUP_IDS: 'mg-platform, mg-apps',
      INCLUDE_RESOURCE_TYPES: 'Microsoft.Compute/virtualMachines Microsoft.Storage/storageAccounts',
      EXCLUDE_RESOURCE_TYPES: 'Microsoft.Network/networkWatchers/flowLogs',
    });
    expect(s.azure.subscriptionIds).toEqual([
      '11111111-2222-3333-4444-55555555aaaa',
      '22222222-3333-4444-5555-666666666666',
      '33333333-4444-5555-6666-777777777777',
    ]);
    expect(s.azure.managementGroupIds).toEqual(['mg-platform', 'mg-apps']);
    expect(s.azure.includeResourceTypes).toEqual(['microsoft.compute/virtualmachines', 'microsoft.storage/storageaccounts']);
    expect(s.azure.excludeResourceTypes).toEqual(['microsoft.network/networkwatchers/flowlogs']);
  });

  it('names each bad entry in a CSV list', () => {
    const err = settingsError({ ...minimal, AZURE_SUBSCRIPTION_IDS: 'abc,11111111-2222-3333-4444-555555555555,def', INCLUDE_RESOURCE_TYPES: 'virtualMachines' });
    expect(err.message).toContain('"abc" is not a subscription id (a GUID)');
    expect(err.message).toContain('"def" is not a subscription id (a GUID)');
    expect(err.message).toContain('"virtualMachines" is not a resource type');
  });

  it('accepts only a GUID as the managed identity client id', () => {
    expect(loadSettings({ ...minimal, AZURE_CLIENT_ID: '0a1b2c3d-0000-4000-8000-00000000abcd' }).azure.managedIdentityClientId).toBe(
      '0a1b2c3d-0000-4000-8000-00000000abcd',
    );
    expect(loadSettings(minimal).azure).not.toHaveProperty('managedIdentityClientId');
    expect(settingsError({ ...minimal, AZURE_CLIENT_ID: '0a1b2c3d' }).message).toMatch(/AZURE_CLIENT_ID: must be the client id \(a GUID\)/);
  });

  it('builds the queue endpoint for identity-based host storage', () => {
    const { AzureWebJobsStorage: _dropped, ...noConnectionString } = minimal;
    expect(loadSettings({ ...noConnectionString, AzureWebJobsStorage__accountName: 'stportsync' }).events.storage).toEqual({
      queueServiceUri: 'https://stportsync.queue.core.windows.net',
    });
    expect(
      loadSettings({
        ...noConnectionString,
        AzureWebJobsStorage__queueServiceUri: 'https://stportsync.queue.core.windows.net/',
        AzureWebJobsStorage__clientId: '0a1b2c3d-0000-4000-8000-00000000abcd',
      }).events.storage,
    ).toEqual({ queueServiceUri: 'https://stportsync.queue.core.windows.net/', clientId: '0a1b2c3d-0000-4000-8000-00000000abcd' });
  });
});

describe('seed-era alias CHANGE_WINDOW_MINUTES', () => {
  it('is listed as an alias', () => {
    expect(SETTING_ALIASES).toContain('CHANGE_WINDOW_MINUTES');
  });

  it('sets the change-window overlap in minutes when the current name is absent', () => {
    expect(loadSettings({ ...minimal, CHANGE_WINDOW_MINUTES: '15' }).reconcile.overlapMs).toBe(15 * 60_000);
  });

  it('loses to CHANGE_WINDOW_OVERLAP when both are set', () => {
    expect(loadSettings({ ...minimal, CHANGE_WINDOW_MINUTES: '15', CHANGE_WINDOW_OVERLAP: '20m' }).reconcile.overlapMs).toBe(20 * 60_000);
  });

  it('is reported under the name that was set', () => {
    expect(settingsError({ ...minimal, CHANGE_WINDOW_MINUTES: 'soon' }).problems).toEqual([
      { key: 'CHANGE_WINDOW_MINUTES', message: 'expected a whole number of minutes (seed-era alias of CHANGE_WINDOW_OVERLAP), got "soon"' },
    ]);
    expect(settingsError({ ...minimal, CHANGE_WINDOW_MINUTES: '2' }).problems).toEqual([
      { key: 'CHANGE_WINDOW_MINUTES', message: 'must be at least 15m, got "2m" (as CHANGE_WINDOW_OVERLAP)' },
    ]);
  });

  it('is subject to the cross-field rules of the current name', () => {
    expect(settingsError({ ...minimal, CHANGE_WINDOW_MINUTES: '120', MAX_CHANGE_WINDOW: '1h' }).problems).toEqual([
      { key: 'CHANGE_WINDOW_MINUTES', message: 'must be shorter than MAX_CHANGE_WINDOW (as CHANGE_WINDOW_OVERLAP)' },
    ]);
  });
});

describe('RECONCILE_SCHEDULE (NCRONTAB, six fields, UTC)', () => {
  const schedule = (value: string) => loadSettings({ ...minimal, RECONCILE_SCHEDULE: value }).reconcile.schedule;
  const problem = (value: string) => {
    const err = settingsError({ ...minimal, RECONCILE_SCHEDULE: value });
    expect(err.problems.map((p) => p.key)).toEqual(['RECONCILE_SCHEDULE']);
    return err.problems[0]!.message;
  };

  it('accepts what the Functions host accepts', () => {
    for (const ok of [
      '0 */15 * * * *',
      '0 0 * * * *',
      '30 5 2 * * 1-5',
      '0 0 9-17 * * Mon-Fri',
      '0 0 0 1 Jan,Jul *',
      '0 0 0 * * Monday',
      '5/15 * * * * *',
      '0 0,30 8-18/2 * * *',
      '0 0 0 29 2 *',
    ]) {
      expect(schedule(ok), ok).toBe(ok);
    }
  });

  it('rejects anything but six fields, naming them', () => {
    expect(problem('*/5 * * * *')).toBe(
      'expected six fields {second} {minute} {hour} {day} {month} {day-of-week}, got 5; for a five-field cron expression prefix the seconds: "0 */5 * * * *"',
    );
    expect(problem('0 0 0 * * * 2030')).toMatch(/^expected six fields .* got 7$/);
    expect(problem('often')).toMatch(/^expected six fields .* got 1$/);
  });

  it('rejects values out of range, naming the field', () => {
    expect(problem('61 * * * * *')).toBe('second "61" is out of range 0-59');
    expect(problem('0 0 24 * * *')).toBe('hour "24" is out of range 0-23');
    expect(problem('0 0 0 * * 7')).toBe('day-of-week "7" is out of range 0-6 (0 is Sunday)');
    expect(problem('0 0 0 0 * *')).toBe('day "0" is out of range 1-31');
  });

  it('rejects cron extensions NCRONTAB does not have', () => {
    for (const bad of ['0 0 0 L * *', '0 0 0 ? * *', '0 0 0 1W * *', '0 0 0 * * 5#2']) {
      expect(problem(bad), bad).toMatch(/is not NCRONTAB syntax: use numbers, names, \*, ranges a-b, lists a,b and steps \/n/);
    }
    expect(problem('0 0 0 * * Funday')).toBe('day-of-week "Funday" is not a day name (Sunday … Saturday, or a prefix such as Mon)');
    expect(problem('0 */0 * * * *')).toBe('minute "*/0": a step must be a whole number of at least 1');
  });

  it('rejects a schedule that never fires', () => {
    expect(problem('0 0 0 30 2 *')).toBe('never fires (no date matches day 30 of month 2 on day-of-week *)');
    // NCRONTAB needs both day and day-of-week to match: Friday the 13th comes, so this is fine.
    expect(schedule('0 0 0 13 * 5')).toBe('0 0 0 13 * 5');
  });

  it('rejects a TimeSpan, which only App Service plans accept', () => {
    expect(problem('00:15:00')).toBe(
      'a TimeSpan schedule ("00:15:00") works only on an App Service plan, not on Flex Consumption: write it as NCRONTAB, e.g. "0 */15 * * * *"',
    );
  });
});

describe('settings contract', () => {
  it('lists required and secret settings among the schema keys', () => {
    expect(REQUIRED_SETTINGS.filter((k) => !SETTING_NAMES.includes(k))).toEqual([]);
    expect([...SECRET_SETTINGS].filter((k) => !SETTING_NAMES.includes(k))).toEqual([]);
  });
});

describe('local.settings.sample.json', () => {
  const sample = JSON.parse(readFileSync(join(repo, 'local.settings.sample.json'), 'utf8')) as {
    IsEncrypted: boolean;
    Values: Record<string, string>;
  };

  it('is an unencrypted Core Tools settings file for the node worker and Azurite', () => {
    expect(sample.IsEncrypted).toBe(false);
    expect(sample.Values.FUNCTIONS_WORKER_RUNTIME).toBe('node');
    expect(sample.Values.AzureWebJobsStorage).toBe('UseDevelopmentStorage=true');
  });

  it('contains every setting the code reads', () => {
    expect(SETTING_NAMES.filter((k) => !(k in sample.Values))).toEqual([]);
  });

  it('contains nothing the code or Core Tools does not read', () => {
    const known = new Set([...SETTING_NAMES, 'FUNCTIONS_WORKER_RUNTIME']);
    expect(Object.keys(sample.Values).filter((k) => !known.has(k))).toEqual([]);
  });

  it('holds only strings, and placeholders rather than credentials', () => {
    expect(Object.entries(sample.Values).filter(([, v]) => typeof v !== 'string')).toEqual([]);
    expect(sample.Values.PORT_CLIENT_ID).toMatch(/^replace-with-/);
    expect(sample.Values.PORT_CLIENT_SECRET).toMatch(/^replace-with-/);
  });

  it('loads without errors', () => {
    const s = loadSettings(sample.Values);
    expect(s.events.storage).toEqual({ connectionString: 'UseDevelopmentStorage=true' });
    expect(s.events.queueName).toBe('resource-events');
  });
});
