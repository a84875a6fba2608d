/**
 * The jq 1.8 builtins the compiler runs as JavaScript, each written from jq's own definition (src/builtin.jq or
 * its C implementation) and checked against real jq by test/mapping/jqDifferential.test.ts. A builtin not listed
 * here, or called with arguments outside what is listed (a regex that is not a constant, say), throws Unsupported
 * and the whole expression runs on real jq.
 */
import type { Node } from './ast.js';
import { iterate, NONE, optional, single, type Code, type CompileFn, type Env, type Out, type Scope } from './compile.js';
import { Unsupported } from './lexer.js';
import { constantRegex, isPlainPattern } from './regex.js';
import {
  add, approx, checkKeyOrder, codePointLength, Deferred, hasIndexKey, dump, equal, index, isObject, JqError, own, setOwn, sortedKeys,
  tostring, truthy, typeName, type Json, type JsonObject,
} from './values.js';

type Fn0 = (x: Json) => Json;
type Fn1 = (x: Json, a: Json) => Json;

const pure = (fn: Fn0): Code => single((x) => fn(x));

/** A builtin with one `$`-parameter: one result per output of the argument, evaluated on the same input. */
function withArg(arg: Code, fn: Fn1): Code {
  const a = arg.one;
  if (a) return single((x, env) => fn(x, a(x, env)));
  const o = arg.opt;
  if (o) {
    return optional((x, env) => {
      const v = o(x, env);
      return v === NONE ? NONE : fn(x, v);
    });
  }
  return { run: (x, env, out) => arg.run(x, env, (v) => out(fn(x, v))) };
}

function selectWhen(test: (x: Json) => boolean): Code {
  return optional((x) => (test(x) ? x : NONE));
}

/** Calls `out` for each output of `f` on `x`, without a closure when `f` has at most one. */
function each(f: Code, x: Json, env: Env, push: (v: Json) => void): void {
  if (f.opt) {
    const v = f.opt(x, env);
    if (v !== NONE) push(v);
  } else {
    f.run(x, env, push);
  }
}

function length(x: Json): Json {
  if (x === null) return 0;
  switch (typeof x) {
    case 'boolean':
      throw approx('boolean has no length');
    case 'number':
      return Math.abs(x);
    case 'string':
      return codePointLength(x);
    default:
      return Array.isArray(x) ? x.length : Object.keys(x).length;
  }
}

function keys(x: Json, sorted: boolean): Json {
  if (Array.isArray(x)) return x.map((_v, i) => i);
  if (isObject(x)) return sorted ? sortedKeys(x) : Object.keys(x);
  throw approx(`${typeName(x)} has no keys`);
}

function has(x: Json, k: Json): Json {
  if (isObject(x)) {
    if (typeof k !== 'string') throw approx(`Cannot check whether object has a ${typeName(k)} key`);
    return own(x, k) !== undefined;
  }
  if (Array.isArray(x)) {
    if (typeof k !== 'number') throw approx(`Cannot check whether array has a ${typeName(k)} key`);
    if (!Number.isInteger(k)) throw new Deferred('fractional has()');
    return k >= 0 && k < x.length;
  }
  if (x === null && (typeof k === 'string' || typeof k === 'number')) return false;
  if (x === null) throw new Deferred('has() on null with an odd key');
  throw approx(`Cannot check whether ${typeName(x)} has a ${typeName(k)} key`);
}

function strings2(name: string, x: Json, a: Json): [string, string] {
  if (typeof x !== 'string' || typeof a !== 'string') throw approx(`${name}() requires string inputs`);
  return [x, a];
}

function asciiCase(x: Json, upper: boolean): Json {
  if (typeof x !== 'string') throw approx('explode input must be a string');
  const [from, to] = upper ? [97, 122] : [65, 90];
  let out = '';
  let start = 0;
  for (let i = 0; i < x.length; i++) {
    const c = x.charCodeAt(i);
    if (c >= from && c <= to) {
      out += x.slice(start, i) + String.fromCharCode(upper ? c - 32 : c + 32);
      start = i + 1;
    }
  }
  return start === 0 ? x : out + x.slice(start);
}

function split(x: Json, sep: Json): Json {
  if (typeof x !== 'string' || typeof sep !== 'string') throw approx('split input and separator must be strings');
  if (x === '') return [];
  return sep === '' ? Array.from(x) : x.split(sep);
}

function join(x: Json, sep: Json): Json {
  let acc: Json = null;
  iterate(
    x,
    (item) => {
      const piece = typeof item === 'boolean' || typeof item === 'number' ? tostring(item) : item ?? '';
      acc = add(acc === null ? '' : add(acc, sep), piece);
    },
    false,
  );
  return truthy(acc) ? acc : '';
}

function toEntries(x: Json): Json {
  if (Array.isArray(x)) return x.map((value, key) => ({ key, value }));
  if (isObject(x)) return Object.keys(x).map((key) => ({ key, value: x[key]! }));
  throw approx(`${typeName(x)} has no keys`);
}

/**
 * `map({(.key // .Key // .name // .Name): (if has("value") then .value else .Value end)}) | add | . // {}`: every
 * entry is checked first (map), then the one-key objects are added left to right, which is one object built in
 * order (a repeated key keeps its first place and takes the last value).
 */
function fromEntries(x: Json): Json {
  const keys: string[] = [];
  const values: Json[] = [];
  iterate(
    x,
    (e) => {
      let key: Json = null;
      for (const name of ENTRY_KEYS) {
        key = index(e, name);
        if (truthy(key)) break;
      }
      const value = truthy(has(e, 'value')) ? index(e, 'value') : index(e, 'Value');
      if (typeof key !== 'string') throw approx(`Cannot use ${typeName(key)} as object key`);
      keys.push(key);
      values.push(value);
    },
    false,
  );
  const out: JsonObject = {};
  for (let i = 0; i < keys.length; i++) setOwn(out, keys[i]!, values[i]!);
  if (hasIndexKey(keys)) checkKeyOrder([...new Set(keys)]);
  return out;
}
const ENTRY_KEYS = ['key', 'Key', 'name', 'Name'];

function contains(a: Json, b: Json): boolean {
  const ta = typeName(a);
  if (ta !== typeName(b)) throw approx(`${ta} and ${typeName(b)} cannot have their containment checked`);
  if (ta === 'object') {
    const bo = b as JsonObject;
    return Object.keys(bo).every((k) => {
      const v = own(a as JsonObject, k);
      return v !== undefined && contains(v, bo[k]!);
    });
  }
  if (ta === 'array') return (b as Json[]).every((y) => (a as Json[]).some((x) => typeName(x) === typeName(y) && contains(x, y)));
  if (ta === 'string') return (a as string).includes(b as string);
  return equal(a, b);
}

const TYPE_FILTERS: Record<string, (x: Json) => boolean> = {
  values: (x) => x !== null,
  nulls: (x) => x === null,
  booleans: (x) => typeof x === 'boolean',
  numbers: (x) => typeof x === 'number',
  strings: (x) => typeof x === 'string',
  arrays: (x) => Array.isArray(x),
  objects: (x) => isObject(x),
  iterables: (x) => x !== null && typeof x === 'object',
  scalars: (x) => x === null || typeof x !== 'object',
};

/** Unicode White_Space, what jq 1.8's trim removes (not JavaScript's trim: no U+FEFF, but U+0085). */
const WS = '[\\t\\n\\v\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]+';
const LEADING_WS = new RegExp(`^${WS}`);
const TRAILING_WS = new RegExp(`${WS}$`);

function trim(x: Json, leading: boolean, trailing: boolean): Json {
  if (typeof x !== 'string') throw approx('trim input must be a string');
  let s = x;
  if (leading) s = s.replace(LEADING_WS, '');
  if (trailing) s = s.replace(TRAILING_WS, '');
  return s;
}

const NULLARY: Record<string, Fn0> = {
  trim: (x) => trim(x, true, true),
  ltrim: (x) => trim(x, true, false),
  rtrim: (x) => trim(x, false, true),
  not: (x) => !truthy(x),
  length,
  utf8bytelength: (x) => {
    if (typeof x !== 'string') throw approx(`${typeName(x)} only strings have UTF-8 byte length`);
    return Buffer.byteLength(x, 'utf8');
  },
  keys: (x) => keys(x, true),
  keys_unsorted: (x) => keys(x, false),
  type: typeName,
  tostring,
  tojson: dump,
  ascii_downcase: (x) => asciiCase(x, false),
  ascii_upcase: (x) => asciiCase(x, true),
  to_entries: toEntries,
  from_entries: fromEntries,
  first: (x) => index(x, 0),
  last: (x) => index(x, -1),
  add: (x) => {
    let acc: Json = null;
    iterate(x, (v) => (acc = add(acc, v)), false);
    return acc;
  },
  any: (x) => {
    let found = false;
    iterate(x, (v) => (found ||= truthy(v)), false);
    return found;
  },
  all: (x) => {
    let ok = true;
    iterate(x, (v) => (ok &&= truthy(v)), false);
    return ok;
  },
};

const UNARY: Record<string, Fn1> = {
  has,
  startswith: (x, a) => {
    const [s, p] = strings2('startswith', x, a);
    return s.startsWith(p);
  },
  endswith: (x, a) => {
    const [s, p] = strings2('endswith', x, a);
    return s.endsWith(p);
  },
  ltrimstr: (x, a) => {
    const [s, p] = strings2('startswith', x, a);
    return s.startsWith(p) ? s.slice(p.length) : s;
  },
  rtrimstr: (x, a) => {
    const [s, p] = strings2('endswith', x, a);
    return p !== '' && s.endsWith(p) ? s.slice(0, s.length - p.length) : s;
  },
  split,
  join,
  contains: (x, a) => contains(x, a),
};

/** Stops a generator once the answer is known (any/all/first with a filter). */
class Stop {}

function constantString(node: Node | undefined, allowNull: boolean): string | null | undefined {
  if (node?.k !== 'literal') return undefined;
  if (typeof node.value === 'string') return node.value;
  return allowNull && node.value === null ? null : undefined;
}

function regexTest(args: Node[]): Code {
  const pattern = constantString(args[0], false);
  const flags = args.length > 1 ? constantString(args[1], true) : null;
  if (pattern == null || flags === undefined) throw new Unsupported('test() needs constant pattern and flags');
  const re = constantRegex(pattern, flags);
  if (!re) throw new Unsupported(`regex ${JSON.stringify(pattern)} outside the compiled subset`);
  return pure((x) => {
    if (typeof x !== 'string') throw approx(`${typeName(x)} cannot be matched, as it is not a string`);
    return re.test(x);
  });
}

function plainReplace(args: Node[], global: boolean): Code {
  const pattern = constantString(args[0], false);
  const replacement = constantString(args[1], false);
  if (pattern == null || replacement == null || !isPlainPattern(pattern)) throw new Unsupported('sub/gsub beyond plain text');
  return pure((x) => {
    if (typeof x !== 'string') throw approx(`${typeName(x)} cannot be matched, as it is not a string`);
    return global ? x.split(pattern).join(replacement) : x.replace(pattern, () => replacement);
  });
}

/** `any(f)` / `all(f)` over the input's values, stopping at the first deciding output as jq's `isempty` does. */
function quantifier(f: Code, decided: boolean): Code {
  const fo = f.opt;
  if (fo) {
    return single((x, env) => {
      let answer = !decided;
      iterate(
        x,
        (v) => {
          if (answer === decided) return;
          const r = fo(v, env);
          if (r !== NONE && truthy(r) === decided) answer = decided;
        },
        false,
      );
      return answer;
    });
  }
  return single((x, env) => {
    const stop = new Stop();
    try {
      iterate(x, (v) => f.run(v, env, (r) => {
        if (truthy(r) === decided) throw stop;
      }), false);
    } catch (error) {
      if (error === stop) return decided;
      throw error;
    }
    return !decided;
  });
}

function firstOf(f: Code): Code {
  if (f.opt) return optional(f.opt);
  return {
    run: (x: Json, env: Env, out: Out) => {
      const stop = new Stop();
      let value: Json = null;
      try {
        f.run(x, env, (v) => {
          value = v;
          throw stop;
        });
      } catch (error) {
        if (error !== stop) throw error;
        out(value);
      }
    },
  };
}

export function compileCall(name: string, args: Node[], scope: Scope, compile: CompileFn): Code {
  const arity = args.length;
  if (arity === 0) {
    if (name === 'empty') return optional(() => NONE);
    if (name === 'error') return pure((x) => { throw new JqError(x, true); });
    const filter = TYPE_FILTERS[name];
    if (filter) return selectWhen(filter);
    const fn = NULLARY[name];
    if (fn) return pure(fn);
  }
  if (arity === 1) {
    const fn = UNARY[name];
    if (fn) return withArg(compile(args[0]!, scope), fn);
    const f = compile(args[0]!, scope);
    switch (name) {
      case 'select': {
        const fo = f.opt;
        if (fo) {
          return optional((x, env) => {
            const v = fo(x, env);
            return v !== NONE && truthy(v) ? x : NONE;
          });
        }
        return { run: (x, env, out) => f.run(x, env, (v) => (truthy(v) ? out(x) : undefined)) };
      }
      case 'map':
        return single((x, env) => {
          const items: Json[] = [];
          const push = (r: Json) => void items.push(r);
          iterate(x, (v) => each(f, v, env, push), false);
          return items;
        });
      case 'with_entries':
        return single((x, env) => {
          const mapped: Json[] = [];
          const push = (r: Json) => void mapped.push(r);
          for (const entry of toEntries(x) as Json[]) each(f, entry, env, push);
          return fromEntries(mapped);
        });
      case 'error':
        return {
          run: (x, env) =>
            f.run(x, env, (m) => {
              throw new JqError(m, true);
            }),
        };
      case 'any':
        return quantifier(f, true);
      case 'all':
        return quantifier(f, false);
      case 'first':
        return firstOf(f);
      case 'test':
        return regexTest(args);
      default:
    }
  }
  if (arity === 2) {
    if (name === 'test') return regexTest(args);
    if (name === 'sub' || name === 'gsub') return plainReplace(args, name === 'gsub');
  }
  // Real jq compiled the program, so this is a builtin outside the compiled set: rows that reach it are deferred.
  const reason = `${name}/${arity} runs on real jq`;
  // It never returns, so it composes like a single-output node and keeps its callers on the fast paths.
  return single(() => {
    throw new Deferred(reason);
  });
}
