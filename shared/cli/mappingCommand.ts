/**
 * `azure-port-sync mapping …`: work on the port-app-config without running a sync.
 *
 *   validate [--file f]                    is the mapping valid? (every problem, with its place)
 *   preview  (--resource-id id… | --row f) what the mapping makes of those rows, per entry, and why entries skip
 *   default                                print the default mapping as YAML, to start a file from
 *   push --integration id [--file f]       validate, then store the mapping in a Port integration's config
 *
 * With --file (and --row for preview) nothing reads Azure or Port settings: the blueprint ids come from
 * PORT_BLUEPRINT_* when set, else their defaults.
 */
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { previewLookupQuery, loadKqlParser, validateUserQuery, type QueryPagesApi } from '../azure/userQueries.js';
import type { ArgRow } from '../azure/types.js';
import { MappingConfigError, type LoadedMapping } from '../mapping/config/load.js';
import { DEFAULT_MAPPING_ORIGIN, defaultPortAppConfig, loadDefaultMapping } from '../mapping/default.js';
import type { JqCatalogMapper } from '../mapping/mapper.js';
import { loadMappingFile, MappingProvider } from '../mapping/source.js';
import { DEFAULT_BLUEPRINT_IDS } from '../port/blueprints.js';
import type { PortIntegrationApi } from '../port/types.js';
import { cliCredential, cliGraph, cliLogger, cliPort, cliSettings } from './context.js';
import { CliExit, EXIT, type CliIo } from './io.js';

interface Flags {
  file?: string;
  json?: boolean;
}

const BLUEPRINT_ID = /^(?!\.{1,2}$)[\p{L}0-9@_.+:\\/-]{1,100}$/u;

/** Blueprint ids from PORT_BLUEPRINT_* (or their defaults), without requiring any other setting. */
function blueprintsFromEnv(io: CliIo) {
  const read = (key: string, fallback: string) => {
    const v = io.env[key]?.trim() || fallback;
    if (!BLUEPRINT_ID.test(v)) throw new CliExit(EXIT.usage, `${key} must be a Port blueprint identifier, got ${JSON.stringify(v)}`);
    return v;
  };
  return {
    subscription: read('PORT_BLUEPRINT_SUBSCRIPTION', DEFAULT_BLUEPRINT_IDS.subscription),
    resourceGroup: read('PORT_BLUEPRINT_RESOURCE_GROUP', DEFAULT_BLUEPRINT_IDS.resourceGroup),
    resource: read('PORT_BLUEPRINT_RESOURCE', DEFAULT_BLUEPRINT_IDS.resource),
  };
}

/** The mapping from --file, else from the settings' source (default, file, or a Port integration). */
async function loadFor(io: CliIo, flags: Flags): Promise<LoadedMapping> {
  const createMissing = io.env.PORT_CREATE_MISSING_RELATED_ENTITIES?.trim().toLowerCase();
  const options = { blueprints: blueprintsFromEnv(io), ...(createMissing === 'false' ? { createMissingRelatedEntities: false } : {}) };
  if (flags.file) return loadMappingFile(flags.file, options);
  const sourceSetting = io.env.PORT_APP_CONFIG_SOURCE?.trim() || (io.env.PORT_APP_CONFIG_FILE?.trim() ? 'file' : 'default');
  if (sourceSetting === 'default') return loadDefaultMapping(options);
  if (sourceSetting === 'file' && io.env.PORT_APP_CONFIG_FILE?.trim()) return loadMappingFile(io.env.PORT_APP_CONFIG_FILE.trim(), options);
  const settings = cliSettings(io);
  const logger = cliLogger(io, settings, flags.json ?? false);
  const port = settings.mapping.source === 'port' ? await integrationApi(io, settings, logger) : undefined;
  return new MappingProvider({ settings, logger, ...(port ? { port } : {}) }).mapping({ fresh: true });
}

async function integrationApi(io: CliIo, settings: ReturnType<typeof cliSettings>, logger: ReturnType<typeof cliLogger>): Promise<PortIntegrationApi> {
  const port = (await cliPort(io, settings, logger)) as unknown as Partial<PortIntegrationApi>;
  if (typeof port.getIntegration !== 'function' || typeof port.updateIntegrationConfig !== 'function' || typeof port.createIntegration !== 'function') {
    throw new CliExit(EXIT.failed, 'this Port client cannot read or write integrations');
  }
  return port as PortIntegrationApi;
}

function write(io: CliIo, flags: Flags, value: unknown, text: string): void {
  io.stdout.write(flags.json ? `${JSON.stringify(value, null, 2)}\n` : text);
}

function expressionStats(mapper: JqCatalogMapper): { total: number; compiled: number } {
  const all = mapper.entries.flatMap((e) => [e.query, e.identifier, e.title, e.icon, e.team, ...e.properties.map(([, x]) => x), ...e.relations.map(([, x]) => x)]).filter((x) => x !== undefined);
  return { total: all.length, compiled: all.filter((x) => x.code).length };
}

async function validate(io: CliIo, flags: Flags & { probe?: boolean }): Promise<number> {
  let loaded: LoadedMapping;
  try {
    loaded = await loadFor(io, flags);
  } catch (error) {
    if (!(error instanceof MappingConfigError)) throw error;
    write(io, flags, { ok: false, origin: error.origin, problems: error.problems }, `${error.message}\n`);
    return EXIT.failed;
  }
  const { mapper } = loaded;
  const kql = await loadKqlParser();
  let graph: (QueryPagesApi & object) | undefined;
  if (flags.probe && mapper.graphQueries().length > 0) graph = await probeReader(io, flags);
  const problems: { path: string; message: string }[] = [];
  for (const g of mapper.graphQueries()) {
    for (const message of await validateUserQuery(g.query, { ...(kql ? { kql } : {}), ...(graph ? { graph } : {}) })) {
      problems.push({ path: `resources[${g.entry}].selector.graphQuery`, message });
    }
  }
  const stats = expressionStats(mapper);
  const summary = {
    ok: problems.length === 0,
    origin: loaded.origin,
    entries: mapper.entries.map((e) => ({ entry: e.index, kind: e.kind, blueprint: e.blueprint, ...(e.graphQuery ? { graphQuery: true } : {}) })),
    blueprints: mapper.blueprints(),
    extraColumns: mapper.extraColumns(),
    settings: mapper.settings,
    expressions: { ...stats, jq: 'jq-1.8.2 (expressions outside the compiled subset run on it)' },
    warnings: loaded.warnings,
    ...(problems.length > 0 ? { problems } : {}),
    graphQueryChecks: mapper.graphQueries().length === 0 ? 'none' : `text${kql ? ', KQL parser' : ' (KQL parser not installed)'}${graph ? ', Resource Graph probe' : flags.probe ? '' : ' (add --probe to try them against Resource Graph)'}`,
  };
  const lines = [
    `${problems.length === 0 ? 'valid' : 'INVALID'}: ${loaded.origin}`,
    ...mapper.entries.map((e) => `  resources[${e.index}] ${e.kind} → ${e.blueprint}${e.graphQuery ? ' (graphQuery)' : ''}`),
    `  jq: ${stats.compiled} of ${stats.total} expressions compiled to JavaScript, the rest run on real jq 1.8.2`,
    `  Resource Graph columns beyond the default projections: ${summary.extraColumns.length > 0 ? summary.extraColumns.join(', ') : 'none'}`,
    ...loaded.warnings.map((w) => `  warning: ${w}`),
    ...problems.map((p) => `  - ${p.path}: ${p.message}`),
  ];
  write(io, flags, summary, `${lines.join('\n')}\n`);
  return problems.length === 0 ? EXIT.ok : EXIT.failed;
}

async function probeReader(io: CliIo, flags: Flags): Promise<QueryPagesApi> {
  const settings = cliSettings(io);
  const logger = cliLogger(io, settings, flags.json ?? false);
  const graph = (await cliGraph(io, settings, logger, await cliCredential(io, settings))) as unknown as Partial<QueryPagesApi>;
  if (typeof graph.queryPages !== 'function') throw new CliExit(EXIT.failed, 'this Resource Graph reader cannot run custom queries');
  return graph as QueryPagesApi;
}

async function readRows(file: string): Promise<ArgRow[]> {
  let value: unknown;
  try {
    value = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    throw new CliExit(EXIT.usage, `--row ${file}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'not found' : `not a JSON file (${(error as Error).message})`}`);
  }
  const rows = Array.isArray(value) ? value : [value];
  rows.forEach((r, i) => {
    if (r === null || typeof r !== 'object' || typeof (r as { id?: unknown }).id !== 'string') throw new CliExit(EXIT.usage, `--row ${file}: row ${i} needs an "id" string`);
  });
  return rows as ArgRow[];
}

async function preview(io: CliIo, flags: Flags & { resourceId?: string[]; row?: string }): Promise<number> {
  if (!flags.row === !flags.resourceId?.length) throw new CliExit(EXIT.usage, 'mapping preview needs either --resource-id <id> (repeatable) or --row <file>');
  let loaded: LoadedMapping;
  try {
    loaded = await loadFor(io, flags);
  } catch (error) {
    if (error instanceof MappingConfigError) throw new CliExit(EXIT.failed, error.message);
    throw error;
  }
  const { mapper } = loaded;
  let rows: ArgRow[];
  const graphRows = new Map<number, ArgRow[]>();
  if (flags.row) {
    rows = await readRows(flags.row);
  } else {
    const graph = await probeReader(io, flags);
    rows = [];
    for await (const page of graph.queryPages(previewLookupQuery(flags.resourceId!, mapper.extraColumns()), {})) rows.push(...page);
    const { userLookupQuery } = await import('../azure/userQueries.js');
    for (const g of mapper.graphQueries()) {
      const found: ArgRow[] = [];
      for await (const page of graph.queryPages(userLookupQuery(g.query, flags.resourceId!), {})) found.push(...page);
      graphRows.set(g.entry, found);
    }
    const seen = new Set([...rows, ...[...graphRows.values()].flat()].map((r) => r.id.toLowerCase()));
    for (const id of flags.resourceId!) if (!seen.has(id.toLowerCase())) io.stderr.write(`note: Resource Graph has no row for ${id}\n`);
  }
  const entities: { blueprint: string; entity: unknown }[] = [];
  const rejected: { kind: string; id: string; reason: string }[] = [];
  const text: string[] = [];
  const collect = (batch: ArgRow[], graphQueryEntry?: number) => {
    const mapped = mapper.mapRows(batch, graphQueryEntry === undefined ? {} : { graphQueryEntry });
    batch.forEach((row, i) => {
      const m = mapped[i]!;
      text.push(`${row.id}${graphQueryEntry === undefined ? '' : ` (from the graphQuery of resources[${graphQueryEntry}])`}`);
      if (m.entities.length + m.unselected.length + m.rejected.length === 0) text.push('  no entry maps it (its kind matches none, or it is not a resource)');
      for (const e of m.entities) {
        entities.push({ blueprint: e.blueprint, entity: e.entity });
        text.push(`  resources[${e.entry}] ${mapper.entries[e.entry]!.kind} → ${e.blueprint}: ${JSON.stringify(e.entity)}`);
      }
      for (const u of m.unselected) {
        const reason = `resources[${u.entry}].selector.query is false: the entity ${u.identifier} in ${u.blueprint} would be deleted if it exists`;
        rejected.push({ kind: mapper.entries[u.entry]!.kind, id: row.id, reason });
        text.push(`  ${reason}`);
      }
      for (const r of m.rejected) {
        rejected.push({ kind: mapper.entries[r.entry]!.kind, id: row.id, reason: r.reason });
        text.push(`  rejected: ${r.reason}`);
      }
    });
  };
  collect(rows);
  for (const [entry, batch] of graphRows) collect(batch, entry);
  write(io, flags, { entities, rejected }, `${text.join('\n')}\n`);
  return EXIT.ok;
}

async function push(io: CliIo, flags: Flags & { integration: string }): Promise<number> {
  let config: unknown;
  let loaded: LoadedMapping;
  try {
    if (flags.file) {
      loaded = await loadFor(io, flags);
      const { parse } = await import('yaml');
      config = parse(await readFile(flags.file, 'utf8'));
    } else {
      loaded = await loadDefaultMapping({ blueprints: blueprintsFromEnv(io) });
      config = defaultPortAppConfig();
    }
  } catch (error) {
    if (error instanceof MappingConfigError) throw new CliExit(EXIT.failed, `${error.message}\nnothing was pushed`);
    throw error;
  }
  const settings = cliSettings(io);
  const logger = cliLogger(io, settings, flags.json ?? false);
  const port = await integrationApi(io, settings, logger);
  const existing = await port.getIntegration(flags.integration);
  const stored = existing
    ? await port.updateIntegrationConfig(flags.integration, config as Record<string, unknown>)
    : await port.createIntegration({ identifier: flags.integration, installationAppType: 'azure-port-sync', version: '1', config: config as Record<string, unknown> });
  write(
    io,
    flags,
    { ok: true, integration: stored.identifier, created: !existing, origin: loaded.origin },
    `${existing ? 'updated' : 'created'} Port integration "${flags.integration}" with ${loaded.origin === DEFAULT_MAPPING_ORIGIN ? 'the default mapping' : loaded.origin}; set PORT_APP_CONFIG_SOURCE=port and PORT_INTEGRATION_IDENTIFIER=${flags.integration} to use it\n`,
  );
  return EXIT.ok;
}

/** Registers `mapping` and its subcommands on the program. */
export function registerMappingCommand(program: Command, io: CliIo, setExitCode: (code: number) => void): void {
  const mapping = program.command('mapping').description('validate, preview and publish the port-app-config mapping');
  mapping
    .command('validate')
    .description('validate the mapping (--file, else the one the settings select); every problem names its place')
    .option('--file <file>', 'a port-app-config file (YAML or JSON)')
    .option('--probe', 'also run each graphQuery as a zero-row probe through Resource Graph (needs Azure settings)')
    .option('--json', 'machine-readable output on stdout')
    .action(async (opts: Flags & { probe?: boolean }) => setExitCode(await validate(io, opts)));
  mapping
    .command('preview')
    .description('show the entities the mapping makes of rows, per entry, and why entries skip or reject them')
    .option('--file <file>', 'a port-app-config file (YAML or JSON)')
    .option('--resource-id <id>', 'read this id from Resource Graph (repeatable)', (v: string, all: string[] = []) => [...all, v])
    .option('--row <file>', 'a JSON file with one Resource Graph row or an array of rows')
    .option('--json', 'one JSON document: {"entities": [{"blueprint", "entity"}], "rejected": [{"kind", "id", "reason"}]}')
    .action(async (opts: Flags & { resourceId?: string[]; row?: string }) => setExitCode(await preview(io, opts)));
  mapping
    .command('default')
    .description('print the default mapping as YAML (start a PORT_APP_CONFIG_FILE from it)')
    .action(async () => {
      const { stringify } = await import('yaml');
      io.stdout.write(`# ${DEFAULT_MAPPING_ORIGIN}\n${stringify(defaultPortAppConfig(), { lineWidth: 0 })}`);
      setExitCode(EXIT.ok);
    });
  mapping
    .command('push')
    .description('validate a mapping (--file, else the default) and store it in a Port integration’s config, creating the integration if needed')
    .requiredOption('--integration <identifier>', 'the Port integration identifier')
    .option('--file <file>', 'a port-app-config file (YAML or JSON)')
    .option('--json', 'machine-readable output on stdout')
    .action(async (opts: Flags & { integration: string }) => setExitCode(await push(io, opts)));
}
