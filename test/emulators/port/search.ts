/**
 * Port search rules evaluated against stored entities (port-api.md §5.4): the operators our sync and Port's own
 * clients use, and nested and/or groups. Unknown operators are a 422, not a silent "no match".
 */
import type { StoredEntity } from '../../../shared/port/types.js';

export class QueryError extends Error {}

const META: Record<string, keyof StoredEntity> = {
  $identifier: 'identifier',
  $title: 'title',
  $blueprint: 'blueprint',
  $createdAt: 'createdAt',
  $updatedAt: 'updatedAt',
  $createdBy: 'createdBy',
  $updatedBy: 'updatedBy',
};

type Rule = { property?: unknown; operator?: unknown; value?: unknown; combinator?: unknown; rules?: unknown };

export type Predicate = (entity: StoredEntity) => boolean;

/** Compiles a query once so paging through 100k entities does not re-parse it per entity. */
export function compileQuery(query: unknown): Predicate {
  if (query === undefined || query === null) return () => true;
  return compileNode(query as Rule, 'query');
}

function compileNode(node: Rule, where: string): Predicate {
  if (!node || typeof node !== 'object') throw new QueryError(`${where} must be an object`);
  if ('combinator' in node || 'rules' in node) {
    if (node.combinator !== 'and' && node.combinator !== 'or') throw new QueryError(`${where}.combinator must be "and" or "or"`);
    if (!Array.isArray(node.rules)) throw new QueryError(`${where}.rules must be an array`);
    const parts = node.rules.map((r, i) => compileNode(r as Rule, `${where}.rules[${i}]`));
    if (node.combinator === 'and') return (e) => parts.every((p) => p(e));
    return (e) => parts.length === 0 || parts.some((p) => p(e));
  }
  if (typeof node.property !== 'string') throw new QueryError(`${where}.property must be a string`);
  if (typeof node.operator !== 'string') throw new QueryError(`${where}.operator must be a string`);
  const get = accessor(node.property);
  const test = operatorTest(node.operator, node.value, where);
  return (e) => test(get(e));
}

function accessor(property: string): (e: StoredEntity) => unknown {
  const meta = META[property];
  if (meta) return (e) => e[meta];
  if (property.startsWith('$')) throw new QueryError(`unknown meta-property ${property}`);
  return (e) => e.properties?.[property] ?? e.relations?.[property];
}

function isEmpty(v: unknown): boolean {
  if (v === undefined || v === null || v === '') return true;
  if (Array.isArray(v)) return v.length === 0;
  if (typeof v === 'object') return Object.keys(v).length === 0;
  return false;
}

function equal(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a && b && typeof a === 'object' && typeof b === 'object') return JSON.stringify(a) === JSON.stringify(b);
  return false;
}

/** Dates compare as instants, everything else as numbers or strings. */
function comparable(v: unknown): number | string | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'string') {
    if (/^\d{4}-\d{2}-\d{2}/.test(v)) {
      const t = Date.parse(v);
      if (!Number.isNaN(t)) return t;
    }
    return v;
  }
  return undefined;
}

function compare(op: string, value: unknown): (v: unknown) => boolean {
  const target = comparable(value);
  if (target === undefined) throw new QueryError(`operator ${op} needs a number or date value`);
  return (v) => {
    const x = comparable(v);
    if (x === undefined || typeof x !== typeof target) return false;
    switch (op) {
      case '>': return x > target;
      case '>=': return x >= target;
      case '<': return x < target;
      default: return x <= target;
    }
  };
}

function operatorTest(op: string, value: unknown, where: string): (v: unknown) => boolean {
  const list = (): unknown[] => {
    if (!Array.isArray(value)) throw new QueryError(`${where}: operator ${op} needs an array value`);
    return value;
  };
  const str = (): string => {
    if (typeof value !== 'string') throw new QueryError(`${where}: operator ${op} needs a string value`);
    return value;
  };
  switch (op) {
    case '=':
      return (v) => (Array.isArray(v) && !Array.isArray(value) ? v.some((x) => equal(x, value)) : equal(v, value));
    case '!=':
      return (v) => !(Array.isArray(v) && !Array.isArray(value) ? v.some((x) => equal(x, value)) : equal(v, value));
    case 'in': {
      const set = list();
      const keys = new Set(set.map((x) => JSON.stringify(x)));
      return (v) => (Array.isArray(v) ? v.some((x) => keys.has(JSON.stringify(x))) : keys.has(JSON.stringify(v)));
    }
    case 'notIn': {
      const keys = new Set(list().map((x) => JSON.stringify(x)));
      return (v) => (Array.isArray(v) ? !v.some((x) => keys.has(JSON.stringify(x))) : !keys.has(JSON.stringify(v)));
    }
    case 'contains': {
      const s = str();
      return (v) => (typeof v === 'string' ? v.includes(s) : Array.isArray(v) ? v.includes(s) : false);
    }
    case 'doesNotContains': {
      const s = str();
      return (v) => !(typeof v === 'string' ? v.includes(s) : Array.isArray(v) ? v.includes(s) : false);
    }
    case 'containsAny': {
      const items = list().map(String);
      return (v) =>
        typeof v === 'string' ? items.some((s) => v.includes(s)) : Array.isArray(v) ? v.some((x) => items.includes(String(x))) : false;
    }
    case 'beginsWith': {
      const s = str();
      return (v) => typeof v === 'string' && v.startsWith(s);
    }
    case 'doesNotBeginsWith': {
      const s = str();
      return (v) => !(typeof v === 'string' && v.startsWith(s));
    }
    case 'endsWith': {
      const s = str();
      return (v) => typeof v === 'string' && v.endsWith(s);
    }
    case 'doesNotEndsWith': {
      const s = str();
      return (v) => !(typeof v === 'string' && v.endsWith(s));
    }
    case 'isEmpty':
      return isEmpty;
    case 'isNotEmpty':
      return (v) => !isEmpty(v);
    case '>':
    case '>=':
    case '<':
    case '<=':
      return compare(op, value);
    case 'between':
    case 'notBetween': {
      const range = value as { from?: unknown; to?: unknown } | undefined;
      const from = comparable(range?.from);
      const to = comparable(range?.to);
      if (typeof from !== 'number' || typeof to !== 'number') {
        throw new QueryError(`${where}: operator ${op} needs {from, to} dates`);
      }
      return (v) => {
        const x = comparable(v);
        const inside = typeof x === 'number' && x >= from && x <= to;
        return op === 'between' ? inside : !inside;
      };
    }
    default:
      throw new QueryError(`${where}: operator ${JSON.stringify(op)} is not supported by the emulator`);
  }
}

/** Which bag and key a field names: `$meta`, `properties.x` / `relations.y`, or a bare property or relation id. */
function locate(entity: StoredEntity, field: string): { meta: keyof StoredEntity } | { scope: 'properties' | 'relations'; id: string } {
  const meta = META[field];
  if (meta) return { meta };
  if (field.startsWith('properties.')) return { scope: 'properties', id: field.slice(11) };
  if (field.startsWith('relations.')) return { scope: 'relations', id: field.slice(10) };
  return entity.relations && field in entity.relations ? { scope: 'relations', id: field } : { scope: 'properties', id: field };
}

/** Projects an entity onto `include`, then drops what `exclude` names (both optional, as in Port's search body). */
export function project(entity: StoredEntity, include: string[] | undefined, exclude?: string[]): StoredEntity {
  let out: Record<string, unknown>;
  if (!include) {
    out = { ...entity, properties: { ...entity.properties }, relations: { ...entity.relations } };
  } else {
    out = {};
    for (const field of include) {
      const at = locate(entity, field);
      if ('meta' in at) {
        if (entity[at.meta] !== undefined) out[at.meta] = entity[at.meta];
        continue;
      }
      const source = entity[at.scope] as Record<string, unknown> | undefined;
      if (source && at.id in source) {
        const bag = (out[at.scope] ??= {}) as Record<string, unknown>;
        bag[at.id] = source[at.id];
      }
    }
  }
  for (const field of exclude ?? []) {
    const at = locate(entity, field);
    if ('meta' in at) delete out[at.meta];
    else delete (out[at.scope] as Record<string, unknown> | undefined)?.[at.id];
  }
  return (include || exclude ? out : entity) as unknown as StoredEntity;
}
