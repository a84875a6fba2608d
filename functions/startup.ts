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

/**
 * Loads the mapping when it is the shipped default or a file, so an invalid one (every problem named with its entry
 * and key) fails the start before any run could delete. A mapping kept in Port is checked at each run's start
 * instead (it can change at any time, and reading it needs Port).
 */
export async function validateMappingAtStart(
  env: Record<string, string | undefined> = process.env,
  writeError: (line: string) => void = (line) => console.error(line),
): Promise<void> {
  const settings = loadSettings(env);
  if (settings.mapping.source === 'port') return;
  const [{ MappingProvider }, { createLogger, jsonLineSink }] = await Promise.all([import('../shared/mapping/source.js'), import('../shared/log.js')]);
  const logger = createLogger(jsonLineSink((line) => console.log(line)), settings.logLevel, { function: 'startup' });
  try {
    await new MappingProvider({ settings, logger }).mapping();
  } catch (error) {
    writeError(`azure-port-sync cannot start: ${error instanceof Error ? error.message : String(error)}`);
    throw error;
  }
}

app.hook.appStart(async () => {
  validateSettingsAtStart();
  await validateMappingAtStart();
});
