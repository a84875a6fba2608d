/**
 * Validates every app setting when the worker starts, so a misconfigured Function App fails its start with one
 * message naming every bad key, instead of failing later inside the first timer tick or queue message. Wiring
 * only, and import-light: @azure/functions and the settings schema, nothing that opens a connection.
 */
import funcs from '@azure/functions';
import { loadSettings, SettingsError } from '../shared/settings.js';

// @azure/functions is CommonJS: take runtime values from the default export.
const { app } = funcs;

/**
 * Throws SettingsError when a setting is missing or invalid, after writing its message (every bad key and why;
 * secret values are never part of it) to `writeError`, which the Functions host records as an error log.
 */
export function validateSettingsAtStart(
  env: Record<string, string | undefined> = process.env,
  writeError: (line: string) => void = (line) => console.error(line),
): void {
  try {
    loadSettings(env);
  } catch (error) {
    if (error instanceof SettingsError) writeError(`azure-port-sync cannot start: ${error.message}`);
    throw error;
  }
}

app.hook.appStart(() => validateSettingsAtStart());
