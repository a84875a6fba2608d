/**
 * Loads a port-app-config (YAML or JSON text) into a CatalogMapper: structure first (shared/mapping/config/
 * schema.ts), then every jq expression compiled by real jq, the blueprint checked to be a constant, the kind
 * understood. Every problem names its place (`resources[3].port.entity.mappings.properties.foo: …`); a config
 * with any problem never produces a mapper, so a bad mapping can never start a run that deletes.
 */
import { RESOURCE_GROUP_TYPE, SUBSCRIPTION_TYPE } from '../../azure/queries.js';
import { userQueryTextProblems } from '../../azure/userQueries.js';
import type { BlueprintIds } from '../../port/blueprints.js';
import { JqEngine, type JqExpression } from '../jq/engine.js';
import type { Json } from '../jq/values.js';
import { JqCatalogMapper, type CompiledEntry, type KindSpec } from '../mapper.js';
import type { MappingSettings } from '../types.js';
import { formatPath, parseStructure, type ConfigProblem, type RawEntry } from './schema.js';

export class MappingConfigError extends Error {
  override readonly name = 'MappingConfigError';
  constructor(
    readonly origin: string,
    readonly problems: ConfigProblem[],
  ) {
    super(`Invalid mapping in ${origin} (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n` + problems.map((p) => `  - ${p.path}: ${p.message}`).join('\n'));
  }
}

export interface MappingSource {
  /** YAML or JSON text (JSON is YAML too). */
  text: string;
  /** Where it came from, for messages: a file path, "the default mapping", "Port integration x". */
  origin: string;
}

export interface LoadMappingOptions {
  /** The blueprint ids from settings (PORT_BLUEPRINT_*), readable in every expression as `$blueprints`. */
  blueprints: Pick<BlueprintIds, 'subscription' | 'resourceGroup' | 'resource'>;
  /** PORT_CREATE_MISSING_RELATED_ENTITIES: used when the config does not set createMissingRelatedEntities. */
  createMissingRelatedEntities?: boolean;
}

export interface LoadedMapping {
  mapper: JqCatalogMapper;
  /** Keys accepted but without effect here (e.g. selector.apiParams), as `path: note`. */
  warnings: string[];
  origin: string;
}

/** Port's default for an absent deleteDependentEntities is true; what that means here deserves a word at load. */
export const IMPLICIT_DELETE_DEPENDENTS =
  "not set, so Port's default true applies: deleting an entity also makes Port delete every entity with a relation to it, which this app has not itself proven absent; set it to false to keep every delete proven";

const BLUEPRINT_ID = /^(?!\.{1,2}$)[\p{L}0-9@_.+:\\/-]{1,100}$/u;
const AZURE_TYPE = /^[A-Za-z0-9.]+\/[A-Za-z0-9./-]+$/;
const KIND_HELP = 'subscription, resourceGroup (or resourceContainer), resource, or an Azure resource type such as Microsoft.Storage/storageAccounts';

export function parseKind(kind: string): KindSpec | undefined {
  const k = kind.trim();
  if (k === 'subscription') return { level: 'subscription' };
  if (k === 'resourceGroup' || k === 'resourceContainer') return { level: 'resourceGroup' };
  if (k === 'resource') return { level: 'resource' };
  if (!AZURE_TYPE.test(k)) return undefined;
  const type = k.toLowerCase().replace(/\/+$/, '');
  if (type === SUBSCRIPTION_TYPE) return { level: 'subscription' };
  if (type === RESOURCE_GROUP_TYPE) return { level: 'resourceGroup' };
  return { level: 'resource', type };
}

/** Port's Resource Graph integration writes graphQuery as a quoted, indented block: same clean-up here. */
export function normalizeGraphQuery(query: string): string {
  let q = query.trim();
  while (q.startsWith('"') || q.startsWith("'")) q = q.slice(1);
  while (q.endsWith('"') || q.endsWith("'")) q = q.slice(0, -1);
  const lines = q.split('\n');
  const indents = lines.filter((l) => l.trim() !== '').map((l) => /^[ \t]*/.exec(l)![0].length);
  const cut = indents.length > 0 ? Math.min(...indents) : 0;
  return lines.map((l) => l.slice(Math.min(cut, /^[ \t]*/.exec(l)![0].length))).join('\n').trim();
}

/** Parses YAML (and so JSON) text; a syntax error becomes a config problem with its line. */
async function parseText(source: MappingSource): Promise<unknown> {
  const { parse } = await import('yaml');
  try {
    return parse(source.text, { prettyErrors: true, uniqueKeys: true });
  } catch (error) {
    const message = (error as Error).message.split('\n')[0] ?? String(error);
    throw new MappingConfigError(source.origin, [{ path: '(file)', message: `not valid YAML or JSON: ${message}` }]);
  }
}

export async function loadMapping(source: MappingSource, options: LoadMappingOptions): Promise<LoadedMapping> {
  return loadMappingValue(await parseText(source), source.origin, options);
}

/** Loads an already-parsed config object (e.g. an integration's `config` from Port). */
export async function loadMappingValue(value: unknown, origin: string, options: LoadMappingOptions): Promise<LoadedMapping> {
  const structure = parseStructure(value);
  if ('problems' in structure) throw new MappingConfigError(origin, structure.problems);
  const vars: Record<string, Json> = { blueprints: { ...options.blueprints } };
  const engine = await JqEngine.create(vars);
  const problems: ConfigProblem[] = [];
  const entries: CompiledEntry[] = [];
  structure.config.resources.forEach((raw, index) => {
    const entry = compileEntry(raw, index, engine, problems);
    if (entry) entries.push(entry);
  });
  if (problems.length > 0) throw new MappingConfigError(origin, problems);
  const c = structure.config;
  const settings: MappingSettings = {
    deleteDependentEntities: c.deleteDependentEntities ?? true,
    createMissingRelatedEntities: c.createMissingRelatedEntities ?? options.createMissingRelatedEntities ?? true,
    enableMergeEntity: c.enableMergeEntity ?? true,
    ...(c.entityDeletionThreshold === undefined ? {} : { entityDeletionThreshold: c.entityDeletionThreshold }),
  };
  const warnings = structure.warnings.map((w) => `${w.path}: ${w.message}`);
  if (c.deleteDependentEntities === undefined) warnings.push(`deleteDependentEntities: ${IMPLICIT_DELETE_DEPENDENTS}`);
  return { mapper: new JqCatalogMapper(engine, entries, settings), warnings, origin };
}

function compileEntry(raw: RawEntry, index: number, engine: JqEngine, problems: ConfigProblem[]): CompiledEntry | undefined {
  const at = (...path: (string | number)[]) => formatPath(['resources', index, ...path]);
  const before = problems.length;
  const spec = parseKind(raw.kind);
  if (!spec) problems.push({ path: at('kind'), message: `unknown kind ${JSON.stringify(raw.kind)}: expected ${KIND_HELP}` });
  const expr = (source: string, path: string): JqExpression | undefined => {
    const compiled = engine.compile(source);
    if ('error' in compiled) {
      problems.push({ path, message: `jq: ${compiled.error}` });
      return undefined;
    }
    return compiled;
  };
  const m = raw.port.entity.mappings;
  const mappingsPath = (key: string, sub?: string) => at('port', 'entity', 'mappings', key, ...(sub === undefined ? [] : [sub]));
  const query = expr(raw.selector.query, at('selector', 'query'));
  const identifier = expr(m.identifier, mappingsPath('identifier'));
  const title = m.title === undefined ? undefined : expr(m.title, mappingsPath('title'));
  const icon = m.icon === undefined ? undefined : expr(m.icon, mappingsPath('icon'));
  const team = m.team === undefined ? undefined : expr(m.team, mappingsPath('team'));
  const blueprintExpr = expr(m.blueprint, mappingsPath('blueprint'));
  const properties = Object.entries(m.properties).map(([key, source]) => [key, expr(source, mappingsPath('properties', key))] as const);
  const relations = Object.entries(m.relations).map(([key, source]) => [key, expr(source, mappingsPath('relations', key))] as const);
  let blueprint: string | undefined;
  if (blueprintExpr) {
    const value = blueprintExpr.constant ? engine.evaluateAll(blueprintExpr, null) : undefined;
    const ok = value?.ok === true && value.values.length === 1 && typeof value.values[0] === 'string' && BLUEPRINT_ID.test(value.values[0]);
    if (ok) blueprint = (value as { values: string[] }).values[0];
    else {
      problems.push({
        path: mappingsPath('blueprint'),
        message: `must be a constant giving one blueprint identifier, such as '"azureStorageAccount"' or $blueprints.resource (the blueprints a mapping writes are needed before any row is read)${value?.ok === false ? `; jq: ${value.error}` : ''}`,
      });
    }
  }
  let graphQuery: string | undefined;
  if (raw.selector.graphQuery !== undefined) {
    graphQuery = normalizeGraphQuery(raw.selector.graphQuery);
    if (graphQuery === '') problems.push({ path: at('selector', 'graphQuery'), message: 'must not be empty' });
    else for (const message of userQueryTextProblems(graphQuery)) problems.push({ path: at('selector', 'graphQuery'), message });
    if (spec?.level === 'subscription') problems.push({ path: at('selector', 'graphQuery'), message: 'is not supported on subscription entries (subscriptions are read from Resource Graph by the app)' });
  }
  if (problems.length > before) return undefined;
  return {
    index,
    kind: raw.kind,
    spec: spec!,
    blueprint: blueprint!,
    ...(graphQuery === undefined ? {} : { graphQuery }),
    query: query!,
    identifier: identifier!,
    ...(title ? { title } : {}),
    ...(icon ? { icon } : {}),
    ...(team ? { team } : {}),
    properties: properties.map(([k, e]) => [k, e!] as const),
    relations: relations.map(([k, e]) => [k, e!] as const),
  };
}
