/**
 * Settings, logger and clients for a CLI command, built the way production builds them; tests swap in the
 * emulator credential through CliIo.deps.
 */
import type { TokenCredential } from '@azure/identity';
import type { ResourceGraphReaderOptions } from '../azure/resourceGraph.js';
import type { ResourceGraphApi } from '../azure/types.js';
import { createLogger, jsonLineSink, type Logger, type LogLevel } from '../log.js';
import type { PortApi } from '../port/types.js';
import { loadSettings, SettingsError, type Settings } from '../settings.js';
import { CliExit, EXIT, type CliIo } from './io.js';

/**
 * Where the CLI's settings come from, said in `--help` and by `check`. The CLI reads the environment only: the
 * Function App's local.settings.json is Core Tools' file and is not read (export its Values to use them).
 */
export const SETTINGS_SOURCE =
  'environment variables only (the names in local.settings.sample.json; local.settings.json is not read)';

export function cliSettings(io: CliIo): Settings {
  try {
    // The CLI's reconcile/status/check never need the queue connection; check reports it separately.
    return loadSettings(io.env, { requireQueueStorage: false });
  } catch (error) {
    if (error instanceof SettingsError) throw new CliExit(EXIT.usage, error.message);
    throw error;
  }
}

/**
 * Logs go to stderr (JSON lines with --json, short text otherwise); stdout carries only the command's result.
 * `rendered`: log messages the command shows in its own words in text mode (the run summary), left out there.
 */
export function cliLogger(io: CliIo, settings: Settings | undefined, json: boolean, rendered: readonly string[] = []): Logger {
  const level: LogLevel = io.env.LOG_LEVEL && settings ? settings.logLevel : 'warn';
  if (json) return createLogger(jsonLineSink((line) => io.stderr.write(line + '\n')), level);
  return createLogger((lvl, message, fields) => {
    if (rendered.includes(message)) return;
    const extra = Object.keys(fields).length > 0 ? ` ${JSON.stringify(fields)}` : '';
    io.stderr.write(`${lvl}: ${message}${extra}\n`);
  }, level);
}

/** The credential AZURE_CREDENTIAL names (or the one a test injects), with one-line sign-in errors either way. */
export async function cliCredential(io: CliIo, settings: Settings): Promise<TokenCredential> {
  const { createAzureCredential, withReadableSignInErrors } = await import('../azure/credential.js');
  if (io.deps?.credential) return withReadableSignInErrors(io.deps.credential, settings.azure.credential ?? 'default');
  return createAzureCredential(settings.azure);
}

/** "PermanentError: Port refused …" → "Port refused …": the error class is for code, not for people. */
export function withoutErrorClass(message: string): string {
  return message.replace(/^(PermanentError|RetryableError|IncompleteReadError|Error): /, '');
}

export async function cliPort(io: CliIo, settings: Settings, logger: Logger): Promise<PortApi & { close?(): void }> {
  if (io.deps?.createPort) return io.deps.createPort(settings, logger);
  const { createPortClient } = await import('../port/client.js');
  return createPortClient(settings.port, logger);
}

export async function cliGraph(
  io: CliIo,
  settings: Settings,
  logger: Logger,
  credential: TokenCredential,
  options: Pick<ResourceGraphReaderOptions, 'onTotalRecords' | 'retry'> = {},
): Promise<ResourceGraphApi> {
  if (io.deps?.createGraph) return io.deps.createGraph(settings, logger, credential);
  const { createResourceGraphReader } = await import('../azure/resourceGraph.js');
  return createResourceGraphReader(settings.azure, logger, { ...options, credential });
}
