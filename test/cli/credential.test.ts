/**
 * AZURE_CREDENTIAL and the one-line sign-in error (#11 §5), with @azure/identity's own error classes.
 */
import { AggregateAuthenticationError, AuthenticationError, CredentialUnavailableError } from '@azure/identity';
import { describe, expect, it } from 'vitest';
import { createAzureCredential, EMULATOR_BEARER_TOKEN, signInError, SIGN_IN_FAILED_CODE } from '../../shared/azure/credential.js';
import { PermanentError } from '../../shared/errors.js';
import { loadSettings, SettingsError } from '../../shared/settings.js';

const minimal = { PORT_CLIENT_ID: 'id', PORT_CLIENT_SECRET: 'secret' };

describe('AZURE_CREDENTIAL', () => {
  it('accepts the four kinds and names them when given something else', () => {
    expect(loadSettings({ ...minimal, AZURE_CREDENTIAL: 'azure-cli' }, { requireQueueStorage: false }).azure.credential).toBe('azure-cli');
    expect(loadSettings(minimal, { requireQueueStorage: false }).azure).not.toHaveProperty('credential');
    const error = (() => {
      try {
        loadSettings({ ...minimal, AZURE_CREDENTIAL: 'token' }, { requireQueueStorage: false });
      } catch (e) {
        return e as SettingsError;
      }
      throw new Error('expected a SettingsError');
    })();
    expect(error.message).toContain('AZURE_CREDENTIAL: must be one of default, azure-cli, managed-identity, emulator');
  });

  it('emulator is refused unless AZURE_ARM_ENDPOINT is on this machine, and then sends its fixed token', async () => {
    expect(() => loadSettings({ ...minimal, AZURE_CREDENTIAL: 'emulator' }, { requireQueueStorage: false })).toThrow(
      /AZURE_CREDENTIAL: emulator works only with a local Resource Graph emulator/,
    );
    const settings = loadSettings({ ...minimal, AZURE_CREDENTIAL: 'emulator', AZURE_ARM_ENDPOINT: 'http://127.0.0.1:5051' }, { requireQueueStorage: false });
    const token = await createAzureCredential(settings.azure).getToken('https://management.azure.com/.default');
    expect(token?.token).toBe(EMULATOR_BEARER_TOKEN);
  });
});

describe('signInError', () => {
  it('one line with the fix, and the specific reason when one credential really failed', () => {
    const chain = new AggregateAuthenticationError(
      [
        new CredentialUnavailableError('EnvironmentCredential is unavailable. No underlying credential could be used.'),
        new AuthenticationError(401, { error: 'invalid_client', error_description: 'AADSTS7000215: Invalid client secret provided.' }),
      ],
      'ChainedTokenCredential authentication failed.',
    );
    const error = signInError(chain, 'default');
    expect(error).toBeInstanceOf(PermanentError);
    expect(error.code).toBe(SIGN_IN_FAILED_CODE);
    expect(error.message).not.toContain('\n');
    expect(error.message).toMatch(/^Azure sign-in failed: no credential of the default chain could get a token .*\(.*AADSTS7000215.*\)\. Fix: locally run `az login`/);
    expect(error.message).not.toMatch(/EnvironmentCredential is unavailable/);
  });

  it('names the fix for the chosen kind', () => {
    const unavailable = new CredentialUnavailableError('Azure CLI could not be found.');
    expect(signInError(unavailable, 'azure-cli').message).toMatch(/Fix: run `az login`/);
    expect(signInError(unavailable, 'managed-identity').message).toMatch(/no managed identity answered.*AZURE_CLIENT_ID/);
  });
});
