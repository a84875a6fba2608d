/**
 * The emulator's in-memory catalog: blueprints and entities with Port's documented semantics (port-api.md §3–§5).
 * Entities live in Maps keyed by blueprint then identifier; each blueprint keeps a lazily sorted identifier list
 * so search pages in O(page) after one sort, and a reverse relation index answers "has dependents?" without scans.
 */
import type { RelationValue, StoredEntity } from '../../../shared/port/types.js';
import { compileQuery, project, QueryError } from './search.js';

export class CatalogError extends Error {
  constructor(
    readonly status: number,
    readonly error: string,
    message: string,
  ) {
    super(message);
  }
}

export const ENTITY_ID = /^(?!\.{1,2}$)[\p{L}0-9@_.+:\\/=-]+$/u;
const BLUEPRINT_ID = /^(?!\.{1,2}$)[\p{L}0-9@_.+:\\/-]+$/u;
const PROPERTY_ID = /^[A-Za-z0-9@_=\\-]+$/;
const PROPERTY_TYPES = new Set(['string', 'number', 'boolean', 'object', 'array']);

export interface StoredBlueprint {
  identifier: string;
  title: string;
  icon?: string;
  description?: string;
  schema: { properties: Record<string, Record<string, unknown>>; required: string[] };
  relations: Record<string, { target: string; required: boolean; many: boolean; title?: string; description?: string }>;
  mirrorProperties: Record<string, unknown>;
  calculationProperties: Record<string, unknown>;
  aggregationProperties: Record<string, unknown>;
  createdAt: string;
  createdBy: string;
  updatedAt: string;
  updatedBy: string;
}

export interface EntityInput {
  identifier?: unknown;
  title?: unknown;
  icon?: unknown;
  team?: unknown;
  properties?: unknown;
  relations?: unknown;
  [other: string]: unknown;
}

export interface WriteMode {
  upsert: boolean;
  merge: boolean;
  /**
   * How `merge` treats an object-valued property (`tags`, `sku`): 'top-level' (default, as Port documents a merge:
   * only the fields provided are updated, each replaced as a whole) or 'deep' (objects merged key by key,
   * recursively: a switch for a Port that merges deeper than documented).
   */
  mergeDepth?: 'top-level' | 'deep';
  createMissingRelatedEntities: boolean;
  actor: string;
}

type Key = string;
const key = (bp: string, id: string): Key => `${bp}\u0000${id}`;
const splitKey = (k: Key): [string, string] => k.split('\u0000') as [string, string];

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function valueMatchesType(value: unknown, type: unknown): boolean {
  if (value === null) return true;
  switch (type) {
    case 'string': return typeof value === 'string';
    case 'number': return typeof value === 'number' && Number.isFinite(value);
    case 'boolean': return typeof value === 'boolean';
    case 'object': return isPlainObject(value);
    case 'array': return Array.isArray(value);
    default: return true;
  }
}

/** Objects merged key by key, recursively; anything else (arrays, scalars, null) replaces what was there. */
function deepMerge(base: Record<string, unknown>, patch: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(patch)) {
    const before = out[k];
    out[k] = isPlainObject(before) && isPlainObject(v) ? deepMerge(before, v) : v;
  }
  return out;
}

function relationTargets(value: RelationValue | undefined): string[] {
  if (value === null || value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

let migrationCounter = 0;

export class PortCatalog {
  private readonly blueprints = new Map<string, StoredBlueprint>();
  private readonly entityMaps = new Map<string, Map<string, StoredEntity>>();
  private readonly sortedIds = new Map<string, string[]>();
  /** target key → source key → number of relation values pointing at the target. */
  private readonly dependents = new Map<Key, Map<Key, number>>();
  readonly migrations = new Map<string, { id: string; status: string; blueprint: string }>();

  constructor(private readonly clock: () => Date = () => new Date()) {}

  // ------------------------------------------------------------- blueprints

  listBlueprints(): StoredBlueprint[] {
    return [...this.blueprints.values()];
  }

  getBlueprint(id: string): StoredBlueprint | undefined {
    return this.blueprints.get(id);
  }

  requireBlueprint(id: string): StoredBlueprint {
    const bp = this.blueprints.get(id);
    if (!bp) throw new CatalogError(404, 'not_found', `Blueprint "${id}" was not found`);
    return bp;
  }

  createBlueprint(body: unknown, actor: string): StoredBlueprint {
    if (!isPlainObject(body)) throw new CatalogError(422, 'invalid_request', 'body must be a JSON object');
    const identifier = body.identifier;
    if (typeof identifier !== 'string' || identifier.length > 100 || !BLUEPRINT_ID.test(identifier)) {
      throw new CatalogError(422, 'invalid_request', `body/identifier ${JSON.stringify(identifier)} is not a valid blueprint identifier`);
    }
    if (this.blueprints.has(identifier)) {
      throw new CatalogError(409, 'identifier_taken', `A blueprint with identifier "${identifier}" already exists`);
    }
    const now = this.clock().toISOString();
    const bp = this.buildBlueprint(identifier, body, undefined, actor, now);
    this.blueprints.set(identifier, bp);
    this.entityMaps.set(identifier, new Map());
    return bp;
  }

  /** PATCH (replace=false) replaces only the top-level keys given; PUT (replace=true) replaces the whole definition. */
  updateBlueprint(id: string, body: unknown, replace: boolean, actor: string): StoredBlueprint {
    const existing = this.requireBlueprint(id);
    if (!isPlainObject(body)) throw new CatalogError(422, 'invalid_request', 'body must be a JSON object');
    if (body.identifier !== undefined && body.identifier !== id) {
      throw new CatalogError(422, 'invalid_request', 'body/identifier cannot change the blueprint identifier');
    }
    const bp = this.buildBlueprint(id, replace ? body : { ...existing, ...body }, existing, actor, this.clock().toISOString());
    this.blueprints.set(id, bp);
    return bp;
  }

  deleteBlueprint(id: string): void {
    this.requireBlueprint(id);
    if ((this.entityMaps.get(id)?.size ?? 0) > 0) {
      throw new CatalogError(422, 'has_entities', `Blueprint "${id}" still has entities; delete them first`);
    }
    for (const other of this.blueprints.values()) {
      for (const [relId, rel] of Object.entries(other.relations)) {
        if (rel.target === id && other.identifier !== id) {
          throw new CatalogError(422, 'has_dependents', `Blueprint "${other.identifier}" relation "${relId}" targets "${id}"`);
        }
      }
    }
    this.blueprints.delete(id);
    this.entityMaps.delete(id);
    this.sortedIds.delete(id);
  }

  private buildBlueprint(
    identifier: string,
    body: Record<string, unknown>,
    existing: StoredBlueprint | undefined,
    actor: string,
    now: string,
  ): StoredBlueprint {
    const { title, icon, description, schema, relations } = body;
    if (typeof title !== 'string' || title.length < 1 || title.length > 100) {
      throw new CatalogError(422, 'invalid_request', 'body/title must be a string of 1 to 100 characters');
    }
    if (!isPlainObject(schema) || !isPlainObject(schema.properties)) {
      throw new CatalogError(422, 'invalid_request', 'body/schema must be an object with a "properties" object');
    }
    for (const [propId, prop] of Object.entries(schema.properties)) {
      if (!PROPERTY_ID.test(propId) || propId.length > 100) {
        throw new CatalogError(422, 'invalid_request', `body/schema/properties: "${propId}" is not a valid property identifier`);
      }
      if (!isPlainObject(prop) || !PROPERTY_TYPES.has(prop.type as string)) {
        throw new CatalogError(422, 'invalid_request', `body/schema/properties/${propId}/type must be one of ${[...PROPERTY_TYPES].join(', ')}`);
      }
    }
    const required = schema.required ?? [];
    if (!Array.isArray(required) || required.some((r) => typeof r !== 'string' || !(r in (schema.properties as object)))) {
      throw new CatalogError(422, 'invalid_request', 'body/schema/required must list identifiers of defined properties');
    }
    const rels = relations ?? {};
    if (!isPlainObject(rels)) throw new CatalogError(422, 'invalid_request', 'body/relations must be an object');
    const outRelations: StoredBlueprint['relations'] = {};
    for (const [relId, rel] of Object.entries(rels)) {
      if (!PROPERTY_ID.test(relId)) throw new CatalogError(422, 'invalid_request', `body/relations: "${relId}" is not a valid relation identifier`);
      if (!isPlainObject(rel) || typeof rel.target !== 'string') {
        throw new CatalogError(422, 'invalid_request', `body/relations/${relId}/target must be a blueprint identifier`);
      }
      // DOCS relate-blueprints.md: "The target blueprint has to exist when defining the relation".
      if (rel.target !== identifier && !this.blueprints.has(rel.target)) {
        throw new CatalogError(404, 'not_found', `Relation "${relId}" targets blueprint "${rel.target}", which does not exist`);
      }
      outRelations[relId] = {
        target: rel.target,
        required: rel.required === true,
        many: rel.many === true,
        ...(typeof rel.title === 'string' ? { title: rel.title } : {}),
        ...(typeof rel.description === 'string' ? { description: rel.description } : {}),
      };
    }
    return {
      identifier,
      title,
      ...(typeof icon === 'string' ? { icon } : {}),
      ...(typeof description === 'string' ? { description } : {}),
      schema: { properties: structuredClone(schema.properties) as StoredBlueprint['schema']['properties'], required: [...required] as string[] },
      relations: outRelations,
      mirrorProperties: isPlainObject(body.mirrorProperties) ? structuredClone(body.mirrorProperties) : {},
      calculationProperties: isPlainObject(body.calculationProperties) ? structuredClone(body.calculationProperties) : {},
      aggregationProperties: isPlainObject(body.aggregationProperties) ? structuredClone(body.aggregationProperties) : {},
      createdAt: existing?.createdAt ?? now,
      createdBy: existing?.createdBy ?? actor,
      updatedAt: now,
      updatedBy: actor,
    };
  }

  // ------------------------------------------------------------- entities

  entityMap(bp: string): Map<string, StoredEntity> {
    this.requireBlueprint(bp);
    return this.entityMaps.get(bp)!;
  }

  entities(bp: string): StoredEntity[] {
    return [...(this.entityMaps.get(bp)?.values() ?? [])];
  }

  entity(bp: string, id: string): StoredEntity | undefined {
    return this.entityMaps.get(bp)?.get(id);
  }

  /**
   * One entity write with Port's semantics; throws CatalogError with the status Port would give this entity
   * (409 plain-create collision, 404 missing relation target, 422 schema violation).
   */
  upsert(bp: string, input: EntityInput, mode: WriteMode): { entity: StoredEntity; created: boolean } {
    const blueprint = this.requireBlueprint(bp);
    const map = this.entityMaps.get(bp)!;
    const identifier = input.identifier;
    if (typeof identifier !== 'string') {
      throw new CatalogError(422, 'invalid_request', 'identifier must be a string (search-query identifiers are not emulated)');
    }
    checkEntityId(identifier, 'identifier');
    const existing = map.get(identifier);
    if (existing && !mode.upsert) {
      throw new CatalogError(409, 'identifier_taken', `Entity "${identifier}" already exists in blueprint "${bp}"`);
    }
    if (input.title !== undefined && input.title !== null && typeof input.title !== 'string') {
      throw new CatalogError(422, 'invalid_request', 'title must be a string');
    }
    const props = input.properties ?? {};
    if (!isPlainObject(props)) throw new CatalogError(422, 'invalid_request', 'properties must be an object');
    const rels = input.relations ?? {};
    if (!isPlainObject(rels)) throw new CatalogError(422, 'invalid_request', 'relations must be an object');

    for (const [propId, value] of Object.entries(props)) {
      const def = blueprint.schema.properties[propId];
      if (!def) throw new CatalogError(422, 'invalid_request', `property "${propId}" is not defined in blueprint "${bp}"`);
      if (!valueMatchesType(value, def.type)) {
        throw new CatalogError(422, 'invalid_request', `property "${propId}" must be of type ${String(def.type)}`);
      }
    }
    const missing: { bp: string; id: string }[] = [];
    for (const [relId, value] of Object.entries(rels)) {
      const def = blueprint.relations[relId];
      if (!def) throw new CatalogError(422, 'invalid_request', `relation "${relId}" is not defined in blueprint "${bp}"`);
      if (value !== null && typeof value !== 'string' && !Array.isArray(value)) {
        throw new CatalogError(422, 'invalid_request', `relation "${relId}" must be an identifier, an array of identifiers or null`);
      }
      if (Array.isArray(value) && !def.many) {
        throw new CatalogError(422, 'invalid_request', `relation "${relId}" is not "many"; give one identifier`);
      }
      for (const target of relationTargets(value as RelationValue)) {
        if (typeof target !== 'string') throw new CatalogError(422, 'invalid_request', `relation "${relId}" values must be strings`);
        checkEntityId(target, `relations/${relId}`);
        const targetMap = this.entityMaps.get(def.target);
        if (!targetMap?.has(target) && !(def.target === bp && target === identifier)) missing.push({ bp: def.target, id: target });
      }
    }
    if (missing.length > 0 && !mode.createMissingRelatedEntities) {
      const m = missing[0]!;
      throw new CatalogError(404, 'not_found', `Related entity "${m.id}" of blueprint "${m.bp}" was not found`);
    }

    const now = this.clock().toISOString();
    let merged: StoredEntity;
    if (existing && mode.merge) {
      merged = {
        ...existing,
        ...(input.title !== undefined ? { title: input.title as string | null } : {}),
        properties:
          mode.mergeDepth === 'deep'
            ? deepMerge(existing.properties ?? {}, structuredClone(props))
            : { ...existing.properties, ...structuredClone(props) },
        relations: { ...existing.relations, ...(structuredClone(rels) as Record<string, RelationValue>) },
        updatedAt: now,
        updatedBy: mode.actor,
      };
    } else {
      merged = {
        identifier,
        ...(typeof input.title === 'string' ? { title: input.title } : {}),
        blueprint: bp,
        properties: structuredClone(props),
        relations: structuredClone(rels) as Record<string, RelationValue>,
        createdAt: existing?.createdAt ?? now,
        createdBy: existing?.createdBy ?? mode.actor,
        updatedAt: now,
        updatedBy: mode.actor,
      };
    }
    if (merged.title === null) delete merged.title;
    // Port keeps an entity's team(s) as a list; a single team name is accepted too.
    if (input.team !== undefined) {
      const teams = input.team === null ? [] : Array.isArray(input.team) ? input.team : [input.team];
      (merged as StoredEntity & { team?: unknown[] }).team = teams;
    }
    for (const req of blueprint.schema.required) {
      if (merged.properties?.[req] === undefined || merged.properties[req] === null) {
        throw new CatalogError(422, 'invalid_request', `required property "${req}" is missing`);
      }
    }
    for (const [relId, def] of Object.entries(blueprint.relations)) {
      if (def.required && relationTargets(merged.relations?.[relId]).length === 0) {
        throw new CatalogError(422, 'invalid_request', `required relation "${relId}" is missing`);
      }
    }
    for (const m of missing) {
      // Port creates bare placeholders for missing targets when asked to (create_missing_related_entities=true).
      if (!this.entityMaps.get(m.bp)?.has(m.id)) this.store(m.bp, this.placeholder(m.bp, m.id, mode.actor, now), undefined);
    }
    this.store(bp, merged, existing);
    return { entity: merged, created: !existing };
  }

  private placeholder(bp: string, id: string, actor: string, now: string): StoredEntity {
    return { identifier: id, blueprint: bp, properties: {}, relations: {}, createdAt: now, createdBy: actor, updatedAt: now, updatedBy: actor };
  }

  private store(bp: string, entity: StoredEntity, previous: StoredEntity | undefined): void {
    const map = this.entityMaps.get(bp)!;
    if (previous) this.unindex(bp, previous);
    else this.sortedIds.delete(bp);
    map.set(entity.identifier, entity);
    this.index(bp, entity);
  }

  private forEachEdge(bp: string, entity: StoredEntity, fn: (target: Key) => void): void {
    const blueprint = this.blueprints.get(bp);
    if (!blueprint) return;
    for (const [relId, value] of Object.entries(entity.relations ?? {})) {
      const def = blueprint.relations[relId];
      if (!def) continue;
      for (const target of relationTargets(value)) fn(key(def.target, target));
    }
  }

  private index(bp: string, entity: StoredEntity): void {
    const source = key(bp, entity.identifier);
    this.forEachEdge(bp, entity, (target) => {
      let sources = this.dependents.get(target);
      if (!sources) this.dependents.set(target, (sources = new Map()));
      sources.set(source, (sources.get(source) ?? 0) + 1);
    });
  }

  private unindex(bp: string, entity: StoredEntity): void {
    const source = key(bp, entity.identifier);
    this.forEachEdge(bp, entity, (target) => {
      const sources = this.dependents.get(target);
      if (!sources) return;
      const n = (sources.get(source) ?? 0) - 1;
      if (n <= 0) sources.delete(source);
      else sources.set(source, n);
      if (sources.size === 0) this.dependents.delete(target);
    });
  }

  /** Entities (other than those being deleted) with a relation to `bp/id`. */
  private dependentsOf(bp: string, id: string): Key[] {
    return [...(this.dependents.get(key(bp, id))?.keys() ?? [])];
  }

  /**
   * Deletes entities. With deleteDependents, everything that points at them goes too (transitively); without it,
   * any dependent outside the set fails the whole call and nothing is deleted. Returns the requested ids that existed.
   */
  deleteEntities(bp: string, ids: string[], deleteDependents: boolean): string[] {
    this.requireBlueprint(bp);
    const map = this.entityMaps.get(bp)!;
    const requested = ids.filter((id) => map.has(id));
    const doomed = new Set<Key>(requested.map((id) => key(bp, id)));
    const queue = [...doomed];
    while (queue.length > 0) {
      const [qbp, qid] = splitKey(queue.pop()!);
      for (const dep of this.dependentsOf(qbp, qid)) {
        if (doomed.has(dep)) continue;
        if (!deleteDependents) {
          const [dbp, did] = splitKey(dep);
          throw new CatalogError(
            422,
            'has_dependents',
            `Entity "${qid}" has dependent entity "${did}" (blueprint "${dbp}"); pass delete_dependents=true to delete both`,
          );
        }
        doomed.add(dep);
        queue.push(dep);
      }
    }
    for (const k of doomed) {
      const [dbp, did] = splitKey(k);
      const m = this.entityMaps.get(dbp);
      const e = m?.get(did);
      if (!m || !e) continue;
      this.unindex(dbp, e);
      m.delete(did);
      this.sortedIds.delete(dbp);
    }
    return requested;
  }

  deleteAllEntities(bp: string, deleteBlueprint: boolean): string {
    const ids = [...this.entityMap(bp).keys()];
    this.deleteEntities(bp, ids, true);
    if (deleteBlueprint) this.deleteBlueprint(bp);
    const id = `emu-migration-${++migrationCounter}`;
    this.migrations.set(id, { id, status: 'COMPLETE', blueprint: bp });
    return id;
  }

  /** Seeds entities directly (no relation checks): test set-up for states the API would refuse to build. */
  seed(bp: string, entities: (Partial<StoredEntity> & { identifier: string })[], actor = 'seed'): void {
    if (!this.blueprints.has(bp)) {
      throw new CatalogError(404, 'not_found', `seed: blueprint "${bp}" does not exist; create it first (seedBlueprint, or ensureBlueprints through the API)`);
    }
    const now = this.clock().toISOString();
    for (const e of entities) {
      checkEntityId(e.identifier, 'identifier');
      const previous = this.entityMaps.get(bp)!.get(e.identifier);
      this.store(bp, {
        ...e,
        blueprint: bp,
        properties: e.properties ?? {},
        relations: e.relations ?? {},
        createdAt: e.createdAt ?? now,
        createdBy: e.createdBy ?? actor,
        updatedAt: e.updatedAt ?? now,
        updatedBy: e.updatedBy ?? actor,
      }, previous);
    }
  }

  // ------------------------------------------------------------- search

  private sorted(bp: string): string[] {
    let ids = this.sortedIds.get(bp);
    if (!ids) {
      ids = [...this.entityMaps.get(bp)!.keys()].sort();
      this.sortedIds.set(bp, ids);
    }
    return ids;
  }

  /** Blueprint search: stable identifier order; `next` is an opaque cursor naming the last identifier returned. */
  search(bp: string, body: { query?: unknown; include?: unknown; exclude?: unknown; limit?: unknown; from?: unknown }): { entities: StoredEntity[]; next?: string } {
    this.requireBlueprint(bp);
    const limit = body.limit === undefined ? 200 : body.limit;
    if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1 || limit > 1000) {
      throw new CatalogError(422, 'invalid_request', 'body/limit must be a whole number from 1 to 1000');
    }
    for (const key of ['include', 'exclude'] as const) {
      const list = body[key];
      if (list !== undefined && (!Array.isArray(list) || list.some((f) => typeof f !== 'string'))) {
        throw new CatalogError(422, 'invalid_request', `body/${key} must be an array of strings`);
      }
    }
    let predicate;
    try {
      predicate = compileQuery(body.query);
    } catch (e) {
      if (e instanceof QueryError) throw new CatalogError(422, 'invalid_request', e.message);
      throw e;
    }
    const map = this.entityMaps.get(bp)!;
    // Lookups by identifier (`$identifier =`/`in` under a top-level "and") touch only those ids, not the blueprint.
    const candidates = identifierCandidates(body.query);
    const ids = candidates ? [...new Set(candidates)].filter((id) => map.has(id)).sort() : this.sorted(bp);
    let start = 0;
    if (body.from !== undefined) {
      const after = decodeCursor(body.from, bp);
      start = upperBound(ids, after);
    }
    const out: StoredEntity[] = [];
    let i = start;
    for (; i < ids.length && out.length < limit; i++) {
      const e = map.get(ids[i]!);
      if (e && predicate(e)) out.push(project(e, body.include as string[] | undefined, body.exclude as string[] | undefined));
    }
    // Only promise another page if one exists, so the last page never carries `next`.
    let more = false;
    for (let j = i; j < ids.length; j++) {
      const e = map.get(ids[j]!);
      if (e && predicate(e)) {
        more = true;
        break;
      }
    }
    return more && i > 0 ? { entities: out, next: encodeCursor(bp, ids[i - 1]!) } : { entities: out };
  }
}

function identifierCandidates(query: unknown): string[] | undefined {
  const q = query as { combinator?: unknown; rules?: unknown } | undefined;
  if (!q || q.combinator !== 'and' || !Array.isArray(q.rules)) return undefined;
  for (const rule of q.rules as { property?: unknown; operator?: unknown; value?: unknown }[]) {
    if (rule?.property !== '$identifier') continue;
    if (rule.operator === '=' && typeof rule.value === 'string') return [rule.value];
    if (rule.operator === 'in' && Array.isArray(rule.value) && rule.value.every((v) => typeof v === 'string')) return rule.value as string[];
  }
  return undefined;
}

export function checkEntityId(id: string, where: string): void {
  if (id.length > 1000) throw new CatalogError(422, 'invalid_request', `${where} must be at most 1000 characters`);
  if (!ENTITY_ID.test(id)) {
    throw new CatalogError(422, 'invalid_request', `${where} ${JSON.stringify(id)} must match pattern ${ENTITY_ID.source}`);
  }
}

function encodeCursor(bp: string, after: string): string {
  return Buffer.from(JSON.stringify({ b: bp, a: after })).toString('base64url');
}

function decodeCursor(from: unknown, bp: string): string {
  try {
    const parsed = JSON.parse(Buffer.from(String(from), 'base64url').toString('utf8')) as { b?: unknown; a?: unknown };
    if (parsed.b === bp && typeof parsed.a === 'string') return parsed.a;
  } catch {
    // fall through
  }
  throw new CatalogError(422, 'invalid_request', 'body/from is not a cursor returned by a previous search of this blueprint');
}

/** First index whose id sorts after `after`. */
function upperBound(ids: string[], after: string): number {
  let lo = 0;
  let hi = ids.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (ids[mid]! <= after) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
