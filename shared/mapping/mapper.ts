/**
 * CatalogMapper over a loaded port-app-config: which entries a row matches (by kind), what their selectors say,
 * and the entities they produce, row batches at a time so expressions real jq must run cost one call per batch.
 *
 * Semantics, as in Port's integrations: each expression gives its first output (none: null); a property that is
 * null is left out (the sync core writes explicit nulls for every key the mapping declares), a relation keeps its
 * null. Unlike Port's integrations, a jq error rejects that entry's entity for that row with the reason, rather
 * than writing null. An identifier must come out the same from the id alone (the row a delete knows).
 */
import { RESOURCE_COLUMNS, RESOURCE_GROUP_COLUMNS, SUBSCRIPTION_COLUMNS } from '../azure/queries.js';
import { PORT_IDENTIFIER_MAX_LENGTH, PORT_IDENTIFIER_PATTERN } from '../azure/resourceId.js';
import type { ArgRow } from '../azure/types.js';
import type { PortEntity, RelationValue } from '../port/types.js';
import type { FirstResults, JqEngine, JqExpression } from './jq/engine.js';
import { tokenize, Unsupported, type Token } from './jq/lexer.js';
import type { Json } from './jq/values.js';
import { idOnlyRow, identityOf, withHelperFields, type RowIdentity } from './rowContext.js';
import type {
  CatalogMapper, GraphQueryEntry, MappedBlueprint, MappingLevel, MappingSettings, MappingTarget, MapRowsOptions, RowMapping,
} from './types.js';

export interface KindSpec {
  level: MappingLevel;
  /** Lower-case Azure type for type kinds (resources of that type only). */
  type?: string;
}

export interface CompiledEntry {
  index: number;
  kind: string;
  spec: KindSpec;
  blueprint: string;
  graphQuery?: string;
  query: JqExpression;
  identifier: JqExpression;
  title?: JqExpression;
  icon?: JqExpression;
  team?: JqExpression;
  properties: (readonly [string, JqExpression])[];
  relations: (readonly [string, JqExpression])[];
}

/** Columns both Resource Graph tables (`resources`, `resourcecontainers`) have. */
export const RESOURCE_GRAPH_COLUMNS = ['id', 'name', 'type', 'tenantId', 'kind', 'location', 'resourceGroup', 'subscriptionId', 'managedBy', 'sku', 'plan', 'properties', 'tags', 'identity', 'zones', 'extendedLocation'];

const projected = (columns: string): Set<string> => new Set(columns.split(',').map((c) => c.split('=')[0]!.trim()));
const DEFAULT_PROJECTION: Record<MappingLevel, Set<string>> = {
  subscription: projected(SUBSCRIPTION_COLUMNS),
  resourceGroup: projected(RESOURCE_GROUP_COLUMNS),
  resource: projected(RESOURCE_COLUMNS),
};
const LEVEL_ORDER: MappingLevel[] = ['subscription', 'resourceGroup', 'resource'];

const matches = (spec: KindSpec, identity: RowIdentity): boolean =>
  spec.level === identity.level && (spec.type === undefined || spec.type === identity.type);

const ENTITY_FIELDS = ['title', 'icon', 'team'] as const;

const path = (entry: CompiledEntry, key: string) => `resources[${entry.index}].port.entity.mappings.${key}`;

function describe(value: Json | undefined): string {
  if (value === undefined) return 'no output';
  const text = JSON.stringify(value);
  return text.length > 120 ? `${text.slice(0, 120)}…` : text;
}

/** Field names an expression reads (`.name`, `."x"`, `.["x"]`), from its tokens. */
function fieldNames(source: string): string[] {
  let tokens: Token[];
  try {
    tokens = tokenize(source);
  } catch (error) {
    if (!(error instanceof Unsupported)) throw error;
    return [...source.matchAll(/\.([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1]!);
  }
  const names: string[] = [];
  const walk = (list: Token[]) =>
    list.forEach((t, i) => {
      if (t.t === 'field') names.push(t.name);
      if (t.t === 'str') {
        const prev = list[i - 1];
        const afterDotOrBracket = prev?.t === 'op' && (prev.op === '.' || prev.op === '[');
        if (afterDotOrBracket && t.parts.length === 1 && typeof t.parts[0] === 'string') names.push(t.parts[0]);
        for (const part of t.parts) if (typeof part !== 'string') walk(part.tokens);
      }
    });
  walk(tokens);
  return names;
}

export class JqCatalogMapper implements CatalogMapper {
  constructor(
    readonly engine: JqEngine,
    readonly entries: readonly CompiledEntry[],
    readonly settings: MappingSettings,
  ) {}

  /** The expressions after the selector, in a fixed order: identifier, title, icon, team, properties, relations. */
  private bodyOf(entry: CompiledEntry): JqExpression[] {
    return [
      entry.identifier,
      ...(entry.title ? [entry.title] : []),
      ...(entry.icon ? [entry.icon] : []),
      ...(entry.team ? [entry.team] : []),
      ...entry.properties.map(([, e]) => e),
      ...entry.relations.map(([, e]) => e),
    ];
  }

  blueprints(): MappedBlueprint[] {
    const byBlueprint = new Map<string, MappedBlueprint>();
    for (const entry of this.entries) {
      const seen = byBlueprint.get(entry.blueprint);
      const level = seen && LEVEL_ORDER.indexOf(seen.level) < LEVEL_ORDER.indexOf(entry.spec.level) ? seen.level : entry.spec.level;
      byBlueprint.set(entry.blueprint, {
        blueprint: entry.blueprint,
        level,
        properties: [...new Set([...(seen?.properties ?? []), ...entry.properties.map(([k]) => k)])],
        relations: [...new Set([...(seen?.relations ?? []), ...entry.relations.map(([k]) => k)])],
      });
    }
    return [...byBlueprint.values()].sort((a, b) => LEVEL_ORDER.indexOf(a.level) - LEVEL_ORDER.indexOf(b.level));
  }

  graphQueries(): GraphQueryEntry[] {
    return this.entries.filter((e) => e.graphQuery !== undefined).map((e) => ({ entry: e.index, level: e.spec.level, query: e.graphQuery! }));
  }

  extraColumns(level?: MappingLevel): string[] {
    const out = new Set<string>();
    for (const entry of this.entries) {
      if (entry.graphQuery !== undefined || (level !== undefined && entry.spec.level !== level)) continue;
      for (const expr of [entry.query, ...this.bodyOf(entry)]) {
        for (const name of fieldNames(expr.source)) {
          if (RESOURCE_GRAPH_COLUMNS.includes(name) && !DEFAULT_PROJECTION[entry.spec.level].has(name)) out.add(name);
        }
      }
    }
    return [...out].sort();
  }

  mapRows(rows: readonly ArgRow[], options: MapRowsOptions = {}): RowMapping[] {
    const results: RowMapping[] = rows.map(() => ({ entities: [], unselected: [], rejected: [] }));
    const identities = rows.map((row) => identityOf(row?.id));
    const views: (ArgRow | undefined)[] = rows.map((row, i) => (identities[i] ? withHelperFields(row, identities[i]!) : undefined));
    for (const entry of this.entries) {
      if (options.graphQueryEntry === undefined ? entry.graphQuery !== undefined : entry.index !== options.graphQueryEntry) continue;
      const matched: number[] = [];
      identities.forEach((identity, i) => {
        if (identity && matches(entry.spec, identity)) matched.push(i);
      });
      if (matched.length > 0) this.mapEntry(entry, matched, views, identities, results);
    }
    return results;
  }

  private mapEntry(entry: CompiledEntry, matched: number[], views: (ArgRow | undefined)[], identities: (RowIdentity | undefined)[], results: RowMapping[]): void {
    const selection = this.engine.evaluateFirstFlat([entry.query], matched.map((i) => views[i] as Json));
    const selected: number[] = [];
    const unselected: number[] = [];
    matched.forEach((rowIndex, k) => {
      const error = selection.error(k, 0);
      const value = selection.value(k, 0);
      if (error !== undefined) results[rowIndex]!.rejected.push({ entry: entry.index, reason: `resources[${entry.index}].selector.query: ${error}` });
      else if (value === true) selected.push(rowIndex);
      else if (value === false) unselected.push(rowIndex);
      else results[rowIndex]!.rejected.push({ entry: entry.index, reason: `resources[${entry.index}].selector.query: must give true or false, gave ${describe(value)}` });
    });
    if (unselected.length > 0) {
      const targets = this.identifiersOnIdOnly(entry, unselected.map((i) => identities[i]!));
      unselected.forEach((rowIndex, k) => {
        const t = targets[k]!;
        if (typeof t === 'string') results[rowIndex]!.unselected.push({ blueprint: entry.blueprint, identifier: t, entry: entry.index });
        else results[rowIndex]!.rejected.push({ entry: entry.index, reason: `${path(entry, 'identifier')}: the selector is false, but the entity to delete is unknown: ${t.error}` });
      });
    }
    if (selected.length === 0) return;
    const body = this.bodyOf(entry);
    const values = this.engine.evaluateFirstFlat(body, selected.map((i) => views[i] as Json));
    const fromId = this.identifiersOnIdOnly(entry, selected.map((i) => identities[i]!));
    selected.forEach((rowIndex, k) => {
      const built = this.buildEntity(entry, values, k, fromId[k]!);
      if ('reason' in built) results[rowIndex]!.rejected.push({ entry: entry.index, reason: built.reason });
      else results[rowIndex]!.entities.push({ blueprint: entry.blueprint, entity: built, entry: entry.index });
    });
  }

  /** The identifier each id-only row gives: a valid identifier, or why there is none. */
  private identifiersOnIdOnly(entry: CompiledEntry, identities: RowIdentity[]): (string | { error: string })[] {
    const field = ID_FIELD_IDENTIFIERS.get(entry.identifier.source.trim());
    if (field) {
      // `.portIdentifier` and the like: the same on every row of that id, so no jq run is needed.
      return identities.map((identity) => {
        const value = field(identity);
        const problem = value === identity.portIdentifier ? undefined : identifierProblem(value);
        return problem ? { error: `on the id alone, ${problem}` } : (value as string);
      });
    }
    const results = this.engine.evaluateFirstFlat([entry.identifier], identities.map((id) => idOnlyRow(id) as Json));
    return identities.map((_id, k) => {
      const error = results.error(k, 0);
      if (error !== undefined) return { error: `on the id alone, jq fails: ${error}` };
      const value = results.value(k, 0);
      const problem = identifierProblem(value);
      return problem ? { error: `on the id alone, ${problem}` } : (value as string);
    });
  }

  private buildEntity(entry: CompiledEntry, values: FirstResults, row: number, fromId: string | { error: string }): PortEntity | { reason: string } {
    // Values come in bodyOf's order: identifier, title, icon, team, properties, relations.
    let at = 0;
    const failed = (key: string): { reason: string } | undefined => {
      const error = values.error(row, at);
      return error === undefined ? undefined : { reason: `${path(entry, key)}: ${error}` };
    };
    const idFailure = failed('identifier');
    if (idFailure) return idFailure;
    const idValue = values.value(row, at++);
    const idProblem = idValue === fromId ? undefined : identifierProblem(idValue);
    if (idProblem) return { reason: `${path(entry, 'identifier')}: ${idProblem}` };
    const identifier = idValue as string;
    if (typeof fromId !== 'string' || fromId !== identifier) {
      const alone = typeof fromId === 'string' ? `the id alone gives ${JSON.stringify(fromId)}` : fromId.error;
      return {
        reason: `${path(entry, 'identifier')}: not derivable from the Azure id alone (the row gives ${JSON.stringify(identifier)}, ${alone}), so a delete could not find the entity; use .portIdentifier or what the id spells (id, subscriptionId, resourceGroup as in the id, type, name)`,
      };
    }
    const entity: PortEntity = { identifier, properties: {}, relations: {} };
    for (const key of ENTITY_FIELDS) {
      if (!entry[key]) continue;
      const failure = failed(key);
      if (failure) return failure;
      const v = values.value(row, at++);
      if (v === undefined || v === null) continue;
      const ok = typeof v === 'string' || (key === 'team' && Array.isArray(v) && v.every((t) => typeof t === 'string'));
      if (!ok) return { reason: `${path(entry, key)}: must give ${key === 'team' ? 'a team name or a list of team names' : 'a string'}, gave ${describe(v)}` };
      (entity as unknown as Record<string, unknown>)[key] = v;
    }
    for (const [key] of entry.properties) {
      const failure = failed(`properties.${key}`);
      if (failure) return failure;
      const v = values.value(row, at++);
      if (v !== undefined && v !== null) entity.properties[key] = v;
    }
    for (const [key] of entry.relations) {
      const failure = failed(`relations.${key}`);
      if (failure) return failure;
      const v = values.value(row, at++) ?? null;
      const ok = v === null || typeof v === 'string' || (Array.isArray(v) && v.every((t) => typeof t === 'string'));
      if (!ok) return { reason: `${path(entry, `relations.${key}`)}: must give an entity identifier, a list of them, or null; gave ${describe(v)}` };
      entity.relations[key] = v as RelationValue;
    }
    return entity;
  }

  targetsOfId(id: string): MappingTarget[] {
    return this.targetsOfIds([id])[0]!;
  }

  targetsOfIds(ids: readonly string[], options: { entry?: number } = {}): MappingTarget[][] {
    const out: MappingTarget[][] = ids.map(() => []);
    const identities = ids.map((id) => identityOf(id));
    for (const entry of this.entries) {
      if (options.entry !== undefined && entry.index !== options.entry) continue;
      const matched = identities.flatMap((identity, i) => (identity && matches(entry.spec, identity) ? [i] : []));
      if (matched.length === 0) continue;
      const identifiers = this.identifiersOnIdOnly(entry, matched.map((i) => identities[i]!));
      matched.forEach((i, k) => {
        const identifier = identifiers[k]!;
        // An entry whose identifier cannot come from the id never wrote an entity for it (mapRows rejects those).
        if (typeof identifier === 'string') out[i]!.push({ blueprint: entry.blueprint, identifier, entry: entry.index });
      });
    }
    return out;
  }
}

/** Identifier expressions that read one field the id alone determines: evaluated without jq on id-only rows. */
const ID_FIELD_IDENTIFIERS = new Map<string, (identity: RowIdentity) => Json>([
  ['.portIdentifier', (i) => i.portIdentifier],
  ['.portSubscriptionIdentifier', (i) => i.portSubscriptionIdentifier],
  ['.portResourceGroupIdentifier', (i) => i.portResourceGroupIdentifier],
  ['.id', (i) => i.id],
]);

const ASCII_IDENTIFIER = /^[A-Za-z0-9@_.+:\\/=-]+$/;

function identifierProblem(value: Json | undefined): string | undefined {
  if (typeof value !== 'string') return `must give a string, gave ${describe(value)}`;
  if (value.length > 0 && value.length <= PORT_IDENTIFIER_MAX_LENGTH && value !== '.' && value !== '..' && ASCII_IDENTIFIER.test(value)) return undefined;
  if (value.length === 0 || value.length > PORT_IDENTIFIER_MAX_LENGTH || !PORT_IDENTIFIER_PATTERN.test(value)) {
    return `${describe(value)} is not a valid Port identifier (1-${PORT_IDENTIFIER_MAX_LENGTH} letters, digits and @_.+:\\/=-; .portIdentifier always is)`;
  }
  return undefined;
}

