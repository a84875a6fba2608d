/**
 * Where the mapping comes from (PORT_APP_CONFIG_SOURCE): the shipped default, a file (PORT_APP_CONFIG_FILE), or
 * the `config` of a Port integration (PORT_INTEGRATION_IDENTIFIER), so Port users edit it where they edit every
 * other integration's mapping.
 *
 * A mapping from Port is read fresh at the start of each reconciliation run and through a short cache on the
 * real-time path. When the stored config is invalid, or Port cannot be read, the last good mapping stays in use
 * and `status()` says why (for the state entity and the logs); with no good mapping yet, loading fails, so a bad
 * mapping never starts a run.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../log.js';
import type { PortIntegrationApi } from '../port/types.js';
import type { Settings } from '../settings.js';
import { loadMapping, loadMappingValue, MappingConfigError, type LoadedMapping } from './config/load.js';
import { loadDefaultMapping } from './default.js';

export interface MappingStatus {
  source: Settings['mapping']['source'];
  origin: string;
  /** When the mapping in use was loaded. */
  loadedAt?: Date;
  /** Why the latest read of the stored mapping was not used (the last good one is in use). */
  problem?: string;
}

export interface MappingProviderOptions {
  settings: Pick<Settings, 'mapping'> & { port: Pick<Settings['port'], 'blueprints' | 'createMissingRelatedEntities'> };
  logger: Logger;
  /** Needed for PORT_APP_CONFIG_SOURCE=port. */
  port?: PortIntegrationApi;
  /** Cache for non-fresh reads from Port (default 60 s). */
  cacheMs?: number;
  now?: () => number;
  /** Base for a relative PORT_APP_CONFIG_FILE (default: the working directory, the app root in Functions). */
  cwd?: string;
}

export const DEFAULT_MAPPING_CACHE_MS = 60_000;

export class MappingProvider {
  private current: { mapping: LoadedMapping; key: string; at: number; stale?: boolean } | undefined;
  private lastProblem: string | undefined;
  private inflight: Promise<LoadedMapping> | undefined;

  constructor(private readonly options: MappingProviderOptions) {}

  private get loadOptions() {
    const { blueprints, createMissingRelatedEntities } = this.options.settings.port;
    return { blueprints, createMissingRelatedEntities };
  }

  private now(): number {
    return this.options.now?.() ?? Date.now();
  }

  /** The mapping to use. `fresh`: re-read a Port-stored mapping now (start of a reconciliation run). */
  async mapping(options: { fresh?: boolean } = {}): Promise<LoadedMapping> {
    const source = this.options.settings.mapping;
    if (source.source !== 'port') {
      this.inflight ??= this.loadStatic().catch((error: unknown) => {
        this.inflight = undefined;
        throw error;
      });
      return this.inflight;
    }
    const cacheMs = this.options.cacheMs ?? DEFAULT_MAPPING_CACHE_MS;
    if (!options.fresh && this.current && !this.current.stale && this.now() - this.current.at < cacheMs) return this.current.mapping;
    return this.loadFromPort(source.integrationIdentifier);
  }

  status(): MappingStatus {
    const source = this.options.settings.mapping;
    const origin = this.current?.mapping.origin ?? describeSource(source);
    return {
      source: source.source,
      origin,
      ...(this.current ? { loadedAt: new Date(this.current.at) } : {}),
      ...(this.lastProblem ? { problem: this.lastProblem } : {}),
    };
  }

  private async loadStatic(): Promise<LoadedMapping> {
    const source = this.options.settings.mapping;
    const loaded =
      source.source === 'file' ? await loadMappingFile(source.file, this.loadOptions, this.options.cwd) : await loadDefaultMapping(this.loadOptions);
    for (const warning of loaded.warnings) this.options.logger.warn('mapping: a key has no effect here', { origin: loaded.origin, warning });
    this.current = { mapping: loaded, key: '', at: this.now() };
    return loaded;
  }

  private async loadFromPort(identifier: string): Promise<LoadedMapping> {
    const origin = `Port integration "${identifier}" (its config)`;
    const port = this.options.port;
    if (!port) throw new Error(`PORT_APP_CONFIG_SOURCE is port, but no Port client was given to read ${origin}`);
    let config: unknown;
    try {
      const integration = await port.getIntegration(identifier);
      if (!integration) throw new MappingConfigError(origin, [{ path: '(integration)', message: `not found in Port: create it with \`azure-port-sync mapping push --integration ${identifier} --file <config>\`` }]);
      config = integration.config ?? {};
    } catch (error) {
      return this.keepLastGood(origin, error);
    }
    const key = JSON.stringify(config);
    if (this.current && this.current.key === key) {
      // Unchanged since the last good load: no need to compile it again.
      this.current.at = this.now();
      this.current.stale = false;
      this.lastProblem = undefined;
      return this.current.mapping;
    }
    try {
      const loaded = await loadMappingValue(config, origin, this.loadOptions);
      for (const warning of loaded.warnings) this.options.logger.warn('mapping: a key has no effect here', { origin, warning });
      if (this.current) this.options.logger.info('mapping: loaded a changed mapping from Port', { origin });
      this.current = { mapping: loaded, key, at: this.now() };
      this.lastProblem = undefined;
      return loaded;
    } catch (error) {
      return this.keepLastGood(origin, error);
    }
  }

  private keepLastGood(origin: string, error: unknown): LoadedMapping {
    const message = error instanceof Error ? error.message : String(error);
    if (!this.current) throw error;
    this.lastProblem = `the mapping in ${origin} was not used, the last good one (loaded ${new Date(this.current.at).toISOString()}) still is: ${message}`;
    this.options.logger.warn('mapping: keeping the last good mapping', { origin, problem: message });
    // Try again on the next call rather than after the cache period.
    this.current.stale = true;
    return this.current.mapping;
  }
}

function describeSource(source: Settings['mapping']): string {
  if (source.source === 'file') return source.file;
  if (source.source === 'port') return `Port integration "${source.integrationIdentifier}" (its config)`;
  return 'the default mapping';
}

/** Reads and validates a port-app-config file (YAML or JSON). */
export async function loadMappingFile(file: string, options: Parameters<typeof loadMapping>[1], cwd: string = process.cwd()): Promise<LoadedMapping> {
  const resolved = path.resolve(cwd, file);
  let text: string;
  try {
    text = await readFile(resolved, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new MappingConfigError(file, [{ path: '(file)', message: code === 'ENOENT' ? `not found (looked for ${resolved})` : `cannot be read: ${(error as Error).message}` }]);
  }
  return loadMapping({ text, origin: file }, options);
}
