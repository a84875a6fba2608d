/**
 * functions/startup.ts: settings are validated when the worker starts, and a bad configuration fails the start
 * with every bad key named and no secret echoed.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import funcs from '@azure/functions';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { SettingsError } from '../../shared/settings.js';

const SECRET = 'port-secret-that-must-not-leak-7f3a';
const VAULT_REFERENCE = '@Microsoft.KeyVault(SecretUri=https://kv-sync.vault.azure.net/secrets/port-secret-8c1d)';

const goodEnv = {
  PORT_CLIENT_ID: 'client-id',
  PORT_CLIENT_SECRET: SECRET,
  AzureWebJobsStorage: 'UseDevelopmentStorage=true',
};

afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
});

describe('validateSettingsAtStart', () => {
  it('passes a valid configuration and writes nothing', async () => {
    const { validateSettingsAtStart } = await import('../../functions/startup.js');
    const lines: string[] = [];
    expect(() => validateSettingsAtStart(goodEnv, (l) => lines.push(l))).not.toThrow();
    expect(lines).toEqual([]);
  });

  it('throws SettingsError naming every bad key, and logs it without the secret', async () => {
    const { validateSettingsAtStart } = await import('../../functions/startup.js');
    const lines: string[] = [];
    const env = {
      PORT_CLIENT_SECRET: VAULT_REFERENCE,
      PORT_API_URL: 'http://api.port.io',
      DELETE_THRESHOLD: '2',
      FULL_SYNC_INTERVAL: 'daily',
    };
    let thrown: unknown;
    try {
      validateSettingsAtStart(env, (l) => lines.push(l));
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(SettingsError);
    const keys = (thrown as SettingsError).problems.map((p) => p.key).sort();
    expect(keys).toEqual(['AzureWebJobsStorage', 'DELETE_THRESHOLD', 'FULL_SYNC_INTERVAL', 'PORT_API_URL', 'PORT_CLIENT_ID', 'PORT_CLIENT_SECRET']);
    expect(lines).toHaveLength(1);
    for (const key of keys) expect(lines[0]).toContain(key);
    expect(lines[0]).toMatch(/cannot start/);
    expect(lines[0]).not.toContain('port-secret-8c1d');
    expect(lines[0]).not.toContain(VAULT_REFERENCE);
  });
});

describe('validateMappingAtStart', () => {
  it('fails the start on an invalid mapping file, naming the entry and the key', async () => {
    const { validateMappingAtStart } = await import('../../functions/startup.js');
    const dir = mkdtempSync(path.join(tmpdir(), 'mapping-'));
    const file = path.join(dir, 'bad.yaml');
    writeFileSync(file, 'resources:\n  - kind: resource\n    selector:\n      query: "true"\n    port:\n      entity:\n        mappings:\n          identifier: .portIdentifier\n          blueprint: \'"x"\'\n          title: .name |||\n');
    const lines: string[] = [];
    await expect(validateMappingAtStart({ ...goodEnv, PORT_APP_CONFIG_FILE: file }, (l) => lines.push(l))).rejects.toThrow(/resources\[0\]\.port\.entity\.mappings\.title/);
    expect(lines[0]).toMatch(/cannot start: .*resources\[0\]\.port\.entity\.mappings\.title/s);
    await expect(validateMappingAtStart(goodEnv, (l) => lines.push(l))).resolves.toBeUndefined();
  });
});

describe('the appStart hook', () => {
  it('is registered on import and fails the start on bad settings', async () => {
    const registered: (() => unknown)[] = [];
    vi.spyOn(funcs.app.hook, 'appStart').mockImplementation((handler) => {
      registered.push(handler as () => unknown);
      return { dispose() {} } as ReturnType<typeof funcs.app.hook.appStart>;
    });
    vi.resetModules();
    await import('../../functions/startup.js');
    expect(registered).toHaveLength(1);

    const errors = vi.spyOn(console, 'error').mockImplementation(() => {});
    for (const [key, value] of Object.entries(goodEnv)) vi.stubEnv(key, value);
    await expect(registered[0]!()).resolves.toBeUndefined();

    vi.stubEnv('PORT_CLIENT_ID', '');
    vi.stubEnv('PORT_CLIENT_SECRET', SECRET);
    // resetModules gave the hook its own copy of the settings module, so match the error by name.
    await expect(registered[0]!()).rejects.toThrow(expect.objectContaining({ name: 'SettingsError', message: expect.stringContaining('PORT_CLIENT_ID') }));
    expect(errors).toHaveBeenCalledTimes(1);
    const logged = String(errors.mock.calls[0]![0]);
    expect(logged).toContain('PORT_CLIENT_ID');
    expect(logged).not.toContain(SECRET);
  });
});
