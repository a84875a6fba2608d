/**
 * jq 1.8 value semantics for the compiled subset: types, truthiness, ordering, arithmetic, indexing and the
 * compact dump. Where jq's result depends on something a JavaScript value does not carry (a number's original
 * literal text, jq's object key order when JavaScript would reorder integer-like keys, NaN and infinities), the
 * code throws Deferred and the engine asks real jq instead; it never guesses.
 */

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

/** A jq error. `exact` is false when the value only approximates jq's message (builtins' own errors). */
export class JqError {
  constructor(
    readonly value: Json,
    readonly exact: boolean,
  ) {}
  get message(): string {
    return typeof this.value === 'string' ? this.value : `${JSON.stringify(this.value)} (not a string)`;
  }
}

/** The compiled code cannot promise jq's exact result for this input; the engine evaluates it with real jq. */
export class Deferred {
  constructor(readonly reason: string) {}
}

export const approx = (message: string): JqError => new JqError(message, false);

export function typeName(v: Json): 'null' | 'boolean' | 'number' | 'string' | 'array' | 'object' {
  if (v === null) return 'null';
  switch (typeof v) {
    case 'boolean':
      return 'boolean';
    case 'number':
      return 'number';
    case 'string':
      return 'string';
    default:
      return Array.isArray(v) ? 'array' : 'object';
  }
}

export const isObject = (v: Json): v is JsonObject => v !== null && typeof v === 'object' && !Array.isArray(v);
export const truthy = (v: Json): boolean => v !== null && v !== false;

/** Own property or undefined: JSON objects are plain objects, so `constructor`, `__proto__`… must not leak in. */
export function own(o: JsonObject, key: string): Json | undefined {
  const v = o[key];
  if (v === undefined) return undefined;
  if (typeof v === 'function' || key === '__proto__') return Object.hasOwn(o, key) ? v : undefined;
  return v;
}

/** Sets a key without ever touching the prototype (`__proto__` included). */
export function setOwn(o: JsonObject, key: string, value: Json): void {
  if (key === '__proto__') Object.defineProperty(o, key, { value, enumerable: true, writable: true, configurable: true });
  else o[key] = value;
}

/** An array index JavaScript lists first in an object, whatever the insertion order. */
const isIndexKey = (key: string): boolean => {
  const c = key.charCodeAt(0);
  return c >= 48 && c <= 57 && /^(?:0|[1-9][0-9]{0,9})$/.test(key) && Number(key) < 4294967295;
};

/** Any key JavaScript would reorder (cheap: no allocation, first character only for most keys). */
export function hasIndexKey(keys: readonly string[]): boolean {
  for (let i = 0; i < keys.length; i++) {
    const c = keys[i]!.charCodeAt(0);
    if (c >= 48 && c <= 57 && isIndexKey(keys[i]!)) return true;
  }
  return false;
}

/**
 * jq keeps insertion order; JavaScript moves integer-like keys first. When the two orders of `keys` (insertion
 * order) differ, the result cannot be represented faithfully.
 */
export function checkKeyOrder(keys: readonly string[]): void {
  if (!hasIndexKey(keys)) return;
  let sawOther = false;
  let lastIndex = -1;
  for (const key of keys) {
    if (isIndexKey(key)) {
      const n = Number(key);
      if (sawOther || n < lastIndex) throw new Deferred('object key order');
      lastIndex = n;
    } else {
      sawOther = true;
    }
  }
}

const KIND_ORDER = { null: 0, boolean: 1, number: 3, string: 4, array: 5, object: 6 } as const;

/** jq's code point order (UTF-8 byte order), not JavaScript's UTF-16 order. */
export function compareStrings(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    // Surrogates (astral code points) sort above every BMP code point.
    if (x >= 0xd800 && x <= 0xdfff) x += 0x2000;
    else if (x >= 0xe000) x -= 0x800;
    if (y >= 0xd800 && y <= 0xdfff) y += 0x2000;
    else if (y >= 0xe000) y -= 0x800;
    return x < y ? -1 : 1;
  }
  return a.length < b.length ? -1 : a.length > b.length ? 1 : 0;
}

export const sortedKeys = (o: JsonObject): string[] => Object.keys(o).sort(compareStrings);

/** jq's total order: null < false < true < numbers < strings < arrays < objects. */
export function compare(a: Json, b: Json): number {
  const ta = typeName(a);
  const tb = typeName(b);
  let ka: number = KIND_ORDER[ta];
  let kb: number = KIND_ORDER[tb];
  if (ta === 'boolean') ka += a ? 1 : 0;
  if (tb === 'boolean') kb += b ? 1 : 0;
  if (ka !== kb) return ka < kb ? -1 : 1;
  switch (ta) {
    case 'number':
      return (a as number) < (b as number) ? -1 : (a as number) === (b as number) ? 0 : 1;
    case 'string':
      return compareStrings(a as string, b as string);
    case 'array': {
      const x = a as Json[];
      const y = b as Json[];
      for (let i = 0; i < x.length && i < y.length; i++) {
        const c = compare(x[i]!, y[i]!);
        if (c !== 0) return c;
      }
      return x.length < y.length ? -1 : x.length > y.length ? 1 : 0;
    }
    case 'object': {
      const x = a as JsonObject;
      const y = b as JsonObject;
      const kx = sortedKeys(x);
      const ky = sortedKeys(y);
      const c = compare(kx, ky);
      if (c !== 0) return c;
      for (const k of kx) {
        const d = compare(x[k]!, y[k]!);
        if (d !== 0) return d;
      }
      return 0;
    }
    default:
      return 0;
  }
}

export const equal = (a: Json, b: Json): boolean => a === b || compare(a, b) === 0;

function finite(n: number): number {
  if (!Number.isFinite(n)) throw new Deferred('non-finite number');
  return n;
}

function merge(a: JsonObject, b: JsonObject): JsonObject {
  const out: JsonObject = {};
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  for (const k of ka) setOwn(out, k, a[k]!);
  for (const k of kb) setOwn(out, k, b[k]!);
  if (hasIndexKey(ka) || hasIndexKey(kb)) checkKeyOrder([...new Set([...ka, ...kb])]);
  return out;
}

export function add(a: Json, b: Json): Json {
  if (a === null) return b;
  if (b === null) return a;
  const ta = typeName(a);
  if (ta === typeName(b)) {
    if (ta === 'number') return finite((a as number) + (b as number));
    if (ta === 'string') return (a as string) + (b as string);
    if (ta === 'array') return [...(a as Json[]), ...(b as Json[])];
    if (ta === 'object') return merge(a as JsonObject, b as JsonObject);
  }
  throw approx(`${typeName(a)} and ${typeName(b)} cannot be added`);
}

export function subtract(a: Json, b: Json): Json {
  if (typeof a === 'number' && typeof b === 'number') return finite(a - b);
  if (Array.isArray(a) && Array.isArray(b)) return a.filter((x) => !b.some((y) => equal(x, y)));
  throw approx(`${typeName(a)} and ${typeName(b)} cannot be subtracted`);
}

export function multiply(a: Json, b: Json): Json {
  if (typeof a === 'number' && typeof b === 'number') return finite(a * b);
  const ta = typeName(a);
  const tb = typeName(b);
  if ((ta === 'string' && tb === 'number') || (ta === 'number' && tb === 'string') || (ta === 'object' && tb === 'object')) {
    throw new Deferred('string repetition or object deep merge');
  }
  throw approx(`${ta} and ${tb} cannot be multiplied`);
}

export function divide(a: Json, b: Json): Json {
  if (typeof a === 'number' && typeof b === 'number') {
    if (b === 0) throw approx('cannot be divided because the divisor is zero');
    return finite(a / b);
  }
  if (typeof a === 'string' && typeof b === 'string') throw new Deferred('string division');
  throw approx(`${typeName(a)} and ${typeName(b)} cannot be divided`);
}

export function modulo(a: Json, b: Json): Json {
  if (typeof a === 'number' && typeof b === 'number') {
    const small = (n: number) => Number.isInteger(n) && Math.abs(n) < 2 ** 31;
    if (!small(a) || !small(b)) throw new Deferred('modulo outside small integers');
    if (b === 0) throw approx('cannot be divided because the divisor is zero');
    return a % b === 0 ? 0 : a % b;
  }
  throw approx(`${typeName(a)} and ${typeName(b)} cannot be divided`);
}

export function negate(v: Json): Json {
  if (typeof v === 'number') return v === 0 ? 0 : -v;
  throw approx(`${typeName(v)} cannot be negated`);
}

/** `t[k]` with jq 1.8's rules for the cases compiled; the rest (slices, index arrays, fractions) is deferred. */
export function index(t: Json, k: Json): Json {
  if (t !== null && typeof t === 'object') {
    if (!Array.isArray(t)) {
      if (typeof k === 'string') return own(t, k) ?? null;
      throw approx(`Cannot index object with ${typeName(k)}`);
    }
    if (typeof k === 'number') {
      if (!Number.isInteger(k)) throw new Deferred('fractional array index');
      const i = k < 0 ? t.length + k : k;
      return i >= 0 && i < t.length ? t[i]! : null;
    }
    if (k !== null && typeof k === 'object') throw new Deferred('array slice or index search');
    throw approx(`Cannot index array with ${typeName(k)}`);
  }
  if (t === null) {
    if (typeof k === 'string' || typeof k === 'number') return null;
    if (isObject(k)) throw new Deferred('null slice');
    throw approx(`Cannot index null with ${typeName(k)}`);
  }
  if (typeof t === 'string' && isObject(k)) throw new Deferred('string slice');
  throw approx(`Cannot index ${typeName(t)} with ${typeName(k)}`);
}

/** Code points, as jq counts string length. */
export function codePointLength(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      n--;
      i++;
    }
  }
  return n;
}

function escapeString(s: string): string {
  let out = '"';
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    let esc: string | undefined;
    if (c === 0x22) esc = '\\"';
    else if (c === 0x5c) esc = '\\\\';
    else if (c < 0x20 || c === 0x7f) {
      esc =
        c === 0x08 ? '\\b' : c === 0x0c ? '\\f' : c === 0x0a ? '\\n' : c === 0x0d ? '\\r' : c === 0x09 ? '\\t'
          : `\\u${c.toString(16).padStart(4, '0')}`;
    }
    if (esc !== undefined) {
      out += s.slice(start, i) + esc;
      start = i + 1;
    }
  }
  return `${out}${s.slice(start)}"`;
}

/**
 * jq's compact dump (`tojson`). Numbers are deferred: jq prints an input number with its original literal and a
 * computed one with its own formatting, and a JavaScript number no longer knows which it is.
 */
export function dump(v: Json): string {
  if (v === null) return 'null';
  switch (typeof v) {
    case 'boolean':
      return v ? 'true' : 'false';
    case 'number':
      throw new Deferred('number to text');
    case 'string':
      return escapeString(v);
    default:
      if (Array.isArray(v)) return `[${v.map(dump).join(',')}]`;
      return `{${Object.keys(v).map((k) => `${escapeString(k)}:${dump(v[k]!)}`).join(',')}}`;
  }
}

export const tostring = (v: Json): string => (typeof v === 'string' ? v : dump(v));
