/**
 * Canonical comparison between what the mapping produces and what Port holds.
 *
 * Only the fields our blueprints define are compared (the same list is sent to Port as `include`), so properties
 * another tool keeps on the same entities never cause writes. `null`, `undefined` and a missing field are the same
 * thing; object keys are compared without regard to order; arrays keep their order.
 *
 * At 100k+ entities we cannot keep Port's entities in memory, only a short fingerprint per identifier. A dry run
 * wants the names of the changed fields, so it keeps one short hash per field instead of one per entity.
 */
import { createHash } from 'node:crypto';
import type { BlueprintDefinition, PortEntity, StoredEntity } from '../../port/types.js';

/** The comparable fields of a blueprint, in a fixed order: `$title`, `properties.<id>`…, `relations.<id>`…. */
export interface BlueprintFields {
  blueprint: string;
  fields: string[];
  /** What to ask Port for when reading the current entities. */
  include: string[];
  /** Object-typed properties (tags, sku): Port replaces or deep-merges them, so removed keys need care. */
  objectProperties: string[];
}

export function blueprintFields(definition: BlueprintDefinition): BlueprintFields {
  const fields = [
    '$title',
    ...Object.keys(definition.schema.properties)
      .sort()
      .map((p) => `properties.${p}`),
    ...Object.keys(definition.relations)
      .sort()
      .map((r) => `relations.${r}`),
  ];
  const objectProperties = Object.entries(definition.schema.properties)
    .filter(([, p]) => p.type === 'object')
    .map(([id]) => id)
    .sort();
  return { blueprint: definition.identifier, fields, include: ['$identifier', ...fields], objectProperties };
}

/** Stable JSON: object keys sorted, null/undefined members dropped. `undefined` for an absent value. */
export function canonicalJson(value: unknown): string | undefined {
  if (value === null || value === undefined) return undefined;
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v) ?? 'null').join(',')}]`;
  if (typeof value === 'object') {
    const members: string[] = [];
    for (const key of Object.keys(value as Record<string, unknown>).sort()) {
      const member = canonicalJson((value as Record<string, unknown>)[key]);
      if (member !== undefined) members.push(`${JSON.stringify(key)}:${member}`);
    }
    return `{${members.join(',')}}`;
  }
  return JSON.stringify(value);
}

type Comparable = Pick<PortEntity, 'title' | 'properties' | 'relations'> | StoredEntity;

function fieldValue(entity: Comparable, field: string): unknown {
  if (field === '$title') return entity.title;
  if (field.startsWith('properties.')) return entity.properties?.[field.slice('properties.'.length)];
  if (field.startsWith('relations.')) return entity.relations?.[field.slice('relations.'.length)];
  return undefined;
}

function shortHash(text: string, length: number): string {
  return createHash('sha1').update(text).digest('base64url').slice(0, length);
}

/**
 * A compact fingerprint of the comparable fields.
 * - compact (default): one 16-character hash for the whole entity (~100 bits).
 * - detailed: one 8-character hash per field, so the changed fields can be named later.
 */
export function fingerprint(entity: Comparable, fields: BlueprintFields, detailed = false): string {
  const canonical = fields.fields.map((f) => canonicalJson(fieldValue(entity, f)) ?? '');
  if (!detailed) return shortHash(canonical.join('\u0000'), 16);
  return canonical.map((c) => (c === '' ? '-' : shortHash(c, 8))).join('.');
}

/** Field names whose values differ between two detailed fingerprints of the same blueprint. */
export function changedFields(before: string, after: string, fields: BlueprintFields): string[] {
  const a = before.split('.');
  const b = after.split('.');
  if (a.length !== fields.fields.length || b.length !== fields.fields.length) return [...fields.fields];
  return fields.fields.filter((_, i) => a[i] !== b[i]);
}

/**
 * The entity as we send it: every comparable property and relation the mapping left out is sent as `null`, so a
 * value that disappeared in Azure (a removed `managedBy`, say) is cleared in Port under merge semantics too.
 */
export function withExplicitNulls(entity: PortEntity, fields: BlueprintFields): PortEntity {
  const properties: Record<string, unknown> = { ...entity.properties };
  const relations: PortEntity['relations'] = { ...entity.relations };
  for (const field of fields.fields) {
    if (field.startsWith('properties.')) {
      const key = field.slice('properties.'.length);
      if (properties[key] === undefined) properties[key] = null;
    } else if (field.startsWith('relations.')) {
      const key = field.slice('relations.'.length);
      if (relations[key] === undefined) relations[key] = null;
    }
  }
  return { ...entity, properties, relations };
}
