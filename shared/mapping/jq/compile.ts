/**
 * Turns a parsed jq program (shared/mapping/jq/parser.ts) into JavaScript closures, compiled once per expression.
 *
 * Every node can stream outputs through a callback (`run`), as jq generators do. A node that always yields exactly
 * one output (or fails) also gets `one`, and one that yields at most one gets `opt` (returning NONE for no
 * output): plain functions without callbacks, which is what keeps typical mapping expressions fast. Where a node
 * has `opt`, its `run` is derived from it, so the differential tests exercise the code production runs.
 * Output order of multi-output expressions follows jq: the right operand of a binary operator is the outer loop,
 * object pairs nest left to right, and `try` catches only errors raised inside its body, never errors of
 * whatever consumes its outputs (jq 1.7+).
 */
import type { Node } from './ast.js';
import { compileCall } from './builtins.js';
import { Unsupported } from './lexer.js';
import {
  add, approx, checkKeyOrder, Deferred, hasIndexKey, divide, equal, compare, index, JqError, modulo, multiply, negate, setOwn,
  subtract, tostring, truthy, typeName, type Json, type JsonObject,
} from './values.js';

export type Env = { readonly value: Json; readonly parent: Env } | null;
export type Out = (v: Json) => void;
/** "No output", for `opt` functions. */
export const NONE: unique symbol = Symbol('no output');
export type Maybe = Json | typeof NONE;
export interface Code {
  run(x: Json, env: Env, out: Out): void;
  /** Present when the node yields exactly one output or throws. */
  one?: (x: Json, env: Env) => Json;
  /** Present when the node yields at most one output (NONE: none) or throws. */
  opt?: (x: Json, env: Env) => Maybe;
}
/** Variable names in scope, innermost last. */
export type Scope = readonly string[];
export type CompileFn = (node: Node, scope: Scope) => Code;

export const single = (one: (x: Json, env: Env) => Json): Code => ({ one, opt: one, run: (x, env, out) => out(one(x, env)) });

export const optional = (opt: (x: Json, env: Env) => Maybe): Code => ({
  opt,
  run: (x, env, out) => {
    const v = opt(x, env);
    if (v !== NONE) out(v);
  },
});

/** Passes an error thrown by a consumer through an enclosing `try` untouched. */
class Passthrough {
  constructor(
    readonly inner: unknown,
    readonly owner: object,
  ) {}
}

const BINARY: Record<string, (a: Json, b: Json) => Json> = {
  '+': add,
  '-': subtract,
  '*': multiply,
  '/': divide,
  '%': modulo,
  '==': (a, b) => equal(a, b),
  '!=': (a, b) => !equal(a, b),
  '<': (a, b) => compare(a, b) < 0,
  '<=': (a, b) => compare(a, b) <= 0,
  '>': (a, b) => compare(a, b) > 0,
  '>=': (a, b) => compare(a, b) >= 0,
};

function lookup(scope: Scope, name: string): number {
  const at = scope.lastIndexOf(name);
  if (at < 0) throw new Unsupported(`$${name} is not defined`);
  return scope.length - 1 - at;
}

function readVar(env: Env, hops: number): Json {
  let e = env;
  for (let i = 0; i < hops; i++) e = e!.parent;
  return e!.value;
}

export const compile: CompileFn = (node, scope) => {
  switch (node.k) {
    case 'identity':
      return single((x) => x);
    case 'literal': {
      const v = node.value;
      return single(() => v);
    }
    case 'var': {
      const hops = lookup(scope, node.name);
      return single((_x, env) => readVar(env, hops));
    }
    case 'recurse':
      return { run: (x, _env, out) => recurse(x, out) };
    case 'index':
      return compileIndex(compile(node.target, scope), compile(node.index, scope), node.opt);
    case 'iterate':
      return compileIterate(compile(node.target, scope), node.opt);
    case 'string':
      return compileString(node.parts, scope);
    case 'array': {
      if (!node.body) return single(() => []);
      const body = compile(node.body, scope);
      return single((x, env) => {
        const items: Json[] = [];
        body.run(x, env, (v) => items.push(v));
        return items;
      });
    }
    case 'object':
      return compileObject(
        node.entries.map((e) => ({ key: compile(e.key, scope), value: compile(e.value, scope) })),
        node.entries.map((e) => (e.key.k === 'literal' && typeof e.key.value === 'string' ? e.key.value : undefined)),
      );
    case 'pipe': {
      const left = compile(node.left, scope);
      const right = compile(node.right, scope);
      const l = left.one;
      const r = right.one;
      if (l && r) return single((x, env) => r(l(x, env), env));
      const lo = left.opt;
      const ro = right.opt;
      if (lo && ro) {
        return optional((x, env) => {
          const v = lo(x, env);
          return v === NONE ? NONE : ro(v, env);
        });
      }
      return { run: (x, env, out) => left.run(x, env, (v) => right.run(v, env, out)) };
    }
    case 'comma': {
      const left = compile(node.left, scope);
      const right = compile(node.right, scope);
      return {
        run: (x, env, out) => {
          left.run(x, env, out);
          right.run(x, env, out);
        },
      };
    }
    case 'alt':
      return compileAlternative(compile(node.left, scope), compile(node.right, scope));
    case 'and':
    case 'or':
      return compileLogic(node.k, compile(node.left, scope), compile(node.right, scope));
    case 'binary':
      return compileBinary(BINARY[node.op]!, compile(node.left, scope), compile(node.right, scope));
    case 'negate': {
      const body = compile(node.body, scope);
      if (body.one) {
        const b = body.one;
        return single((x, env) => negate(b(x, env)));
      }
      if (body.opt) {
        const b = body.opt;
        return optional((x, env) => {
          const v = b(x, env);
          return v === NONE ? NONE : negate(v);
        });
      }
      return { run: (x, env, out) => body.run(x, env, (v) => out(negate(v))) };
    }
    case 'if':
      return compileIf(compile(node.cond, scope), compile(node.then, scope), node.else ? compile(node.else, scope) : undefined);
    case 'try':
      return compileTry(compile(node.body, scope), node.handler ? compile(node.handler, scope) : undefined, node.handler);
    case 'bind': {
      const source = compile(node.source, scope);
      const body = compile(node.body, [...scope, node.name]);
      if (source.one && body.one) {
        const s = source.one;
        const b = body.one;
        return single((x, env) => b(x, { value: s(x, env), parent: env }));
      }
      if (source.opt && body.opt) {
        const s = source.opt;
        const b = body.opt;
        return optional((x, env) => {
          const v = s(x, env);
          return v === NONE ? NONE : b(x, { value: v, parent: env });
        });
      }
      return { run: (x, env, out) => source.run(x, env, (v) => body.run(x, { value: v, parent: env }, out)) };
    }
    case 'reduce':
      return compileReduce(compile(node.source, scope), compile(node.init, scope), compile(node.update, [...scope, node.name]));
    case 'call':
      return compileCall(node.name, node.args, scope, compile);
  }
};

function recurse(x: Json, out: Out): void {
  out(x);
  if (Array.isArray(x)) for (const v of x) recurse(v, out);
  else if (x !== null && typeof x === 'object') for (const k of Object.keys(x)) recurse(x[k]!, out);
}

function compileIndex(target: Code, key: Code, opt: boolean): Code {
  const t = target.one;
  const k = key.one;
  if (!opt && t && k) return single((x, env) => index(t(x, env), k(x, env)));
  const to = target.opt;
  const ko = key.opt;
  if (to && ko) {
    return optional((x, env) => {
      // jq evaluates the index expression first, then the target.
      const kv = ko(x, env);
      if (kv === NONE) return NONE;
      const tv = to(x, env);
      if (tv === NONE) return NONE;
      if (!opt) return index(tv, kv);
      try {
        return index(tv, kv);
      } catch (error) {
        if (error instanceof JqError) return NONE;
        throw error;
      }
    });
  }
  const apply = (tv: Json, kv: Json, out: Out): void => {
    if (!opt) return out(index(tv, kv));
    let v: Json;
    try {
      v = index(tv, kv);
    } catch (error) {
      if (error instanceof JqError) return;
      throw error;
    }
    out(v);
  };
  // jq evaluates the index expression first (outer loop), then the target.
  return { run: (x, env, out) => key.run(x, env, (kv) => target.run(x, env, (tv) => apply(tv, kv, out))) };
}

export function iterate(v: Json, out: Out, opt: boolean): void {
  if (Array.isArray(v)) {
    for (const item of v) out(item);
  } else if (v !== null && typeof v === 'object') {
    for (const k of Object.keys(v)) out(v[k]!);
  } else if (!opt) {
    throw approx(`Cannot iterate over ${typeName(v)}`);
  }
}

function compileIterate(target: Code, opt: boolean): Code {
  return { run: (x, env, out) => target.run(x, env, (v) => iterate(v, out, opt)) };
}

/** `"a\(x)b"` is jq's `"a" + (x | tostring) + "b"`, so the last interpolation is the outermost loop. */
function compileString(parts: (string | Node)[], scope: Scope): Code {
  let code: Code | undefined;
  for (const part of parts) {
    let piece: Code;
    if (typeof part === 'string') {
      piece = single(() => part);
    } else {
      const inner = compile(part, scope);
      const one = inner.one;
      const opt = inner.opt;
      piece = one
        ? single((x, env) => tostring(one(x, env)))
        : opt
          ? optional((x, env) => {
              const v = opt(x, env);
              return v === NONE ? NONE : tostring(v);
            })
          : { run: (x, env, out) => inner.run(x, env, (v) => out(tostring(v))) };
    }
    code = code ? compileBinary(add, code, piece) : piece;
  }
  return code ?? single(() => '');
}

function objectKey(k: Json): string {
  if (typeof k !== 'string') throw approx(`Cannot use ${typeName(k)} as object key`);
  return k;
}

function compileObject(entries: { key: Code; value: Code }[], literalKeys: (string | undefined)[]): Code {
  const allOne = entries.every((e) => e.key.one && e.value.one);
  const constantKeys = literalKeys.every((k) => k !== undefined) && !hasIndexKey(literalKeys as string[]);
  if (!entries.every((e) => e.value.one) && constantKeys && entries.every((e) => e.value.opt)) {
    const keys = literalKeys as string[];
    const values = entries.map((e) => e.value.opt!);
    return optional((x, env) => {
      const o: JsonObject = {};
      for (let i = 0; i < keys.length; i++) {
        const v = values[i]!(x, env);
        if (v === NONE) return NONE;
        setOwn(o, keys[i]!, v);
      }
      return o;
    });
  }
  if (allOne && constantKeys) {
    // Constant keys JavaScript keeps in order: no key checks at run time.
    const keys = literalKeys as string[];
    const values = entries.map((e) => e.value.one!);
    return single((x, env) => {
      const o: JsonObject = {};
      for (let i = 0; i < keys.length; i++) setOwn(o, keys[i]!, values[i]!(x, env));
      return o;
    });
  }
  if (allOne) {
    const keys = entries.map((e) => e.key.one!);
    const values = entries.map((e) => e.value.one!);
    return single((x, env) => {
      const o: JsonObject = {};
      const order: string[] = [];
      for (let i = 0; i < keys.length; i++) {
        const k = objectKey(keys[i]!(x, env));
        setOwn(o, k, values[i]!(x, env));
        order.push(k);
      }
      checkKeyOrder(order);
      return o;
    });
  }
  return {
    run: (x, env, out) => {
      const pairs: [string, Json][] = [];
      const step = (i: number): void => {
        if (i === entries.length) {
          const o: JsonObject = {};
          for (const [k, v] of pairs) setOwn(o, k, v);
          checkKeyOrder(pairs.map((p) => p[0]));
          return out(o);
        }
        const e = entries[i]!;
        e.key.run(x, env, (k) => {
          const key = objectKey(k);
          e.value.run(x, env, (v) => {
            pairs.push([key, v]);
            step(i + 1);
            pairs.pop();
          });
        });
      };
      step(0);
    },
  };
}

function compileAlternative(left: Code, right: Code): Code {
  const l = left.one;
  const r = right.one;
  if (l && r) {
    return single((x, env) => {
      const v = l(x, env);
      return truthy(v) ? v : r(x, env);
    });
  }
  const lo = left.opt;
  const ro = right.opt;
  if (lo && ro) {
    return optional((x, env) => {
      const v = lo(x, env);
      return v !== NONE && truthy(v) ? v : ro(x, env);
    });
  }
  return {
    run: (x, env, out) => {
      let found = false;
      left.run(x, env, (v) => {
        if (truthy(v)) {
          found = true;
          out(v);
        }
      });
      if (!found) right.run(x, env, out);
    },
  };
}

function compileLogic(kind: 'and' | 'or', left: Code, right: Code): Code {
  const decided = kind === 'or';
  const l = left.one;
  const r = right.one;
  if (l && r) return single((x, env) => (truthy(l(x, env)) === decided ? decided : truthy(r(x, env))));
  const lo = left.opt;
  const ro = right.opt;
  if (lo && ro) {
    return optional((x, env) => {
      const a = lo(x, env);
      if (a === NONE) return NONE;
      if (truthy(a) === decided) return decided;
      const b = ro(x, env);
      return b === NONE ? NONE : truthy(b);
    });
  }
  return {
    run: (x, env, out) =>
      left.run(x, env, (a) => {
        if (truthy(a) === decided) out(decided);
        else right.run(x, env, (b) => out(truthy(b)));
      }),
  };
}

export function compileBinary(op: (a: Json, b: Json) => Json, left: Code, right: Code): Code {
  const l = left.one;
  const r = right.one;
  if (l && r) {
    return single((x, env) => {
      const b = r(x, env);
      return op(l(x, env), b);
    });
  }
  const lo = left.opt;
  const ro = right.opt;
  if (lo && ro) {
    return optional((x, env) => {
      const b = ro(x, env);
      if (b === NONE) return NONE;
      const a = lo(x, env);
      return a === NONE ? NONE : op(a, b);
    });
  }
  return { run: (x, env, out) => right.run(x, env, (b) => left.run(x, env, (a) => out(op(a, b)))) };
}

function compileIf(cond: Code, then: Code, otherwise: Code | undefined): Code {
  const c = cond.one;
  const t = then.one;
  const o = otherwise ? otherwise.one : (x: Json) => x;
  if (c && t && o) return single((x, env) => (truthy(c(x, env)) ? t(x, env) : o(x, env)));
  const co = cond.opt;
  const tOpt = then.opt;
  const oOpt = otherwise ? otherwise.opt : (x: Json) => x;
  if (co && tOpt && oOpt) {
    return optional((x, env) => {
      const v = co(x, env);
      if (v === NONE) return NONE;
      return truthy(v) ? tOpt(x, env) : oOpt(x, env);
    });
  }
  return {
    run: (x, env, out) =>
      cond.run(x, env, (v) => {
        if (truthy(v)) then.run(x, env, out);
        else if (otherwise) otherwise.run(x, env, out);
        else out(x);
      }),
  };
}

function compileTry(body: Code, handler: Code | undefined, handlerNode: Node | undefined): Code {
  // A handler that ignores its input (`catch "x"`, `catch empty`) does not need jq's exact message.
  const handlerReadsMessage = handlerNode !== undefined && !isConstant(handlerNode);
  const bo = body.opt;
  const ho: ((x: Json, env: Env) => Maybe) | undefined = handler ? handler.opt : () => NONE;
  if (bo && ho) {
    // At most one output: nothing consumes it inside the try, so a plain try/catch has jq's scope.
    return optional((x, env) => {
      try {
        return bo(x, env);
      } catch (error) {
        if (!(error instanceof JqError)) throw error;
        if (handlerReadsMessage && !error.exact) throw new Deferred('catch reads a builtin error message');
        return ho(error.value, env);
      }
    });
  }
  return {
    run: (x, env, out) => {
      const owner = {};
      try {
        body.run(x, env, (v) => {
          try {
            out(v);
          } catch (error) {
            throw new Passthrough(error, owner);
          }
        });
      } catch (error) {
        if (error instanceof Passthrough && error.owner === owner) throw error.inner;
        if (!(error instanceof JqError)) throw error;
        if (!handler) return;
        if (handlerReadsMessage && !error.exact) throw new Deferred('catch reads a builtin error message');
        handler.run(error.value, env, out);
      }
    },
  };
}

function isConstant(node: Node): boolean {
  return node.k === 'literal' || (node.k === 'call' && node.name === 'empty' && node.args.length === 0);
}

function compileReduce(source: Code, init: Code, update: Code): Code {
  return {
    run: (x, env, out) =>
      init.run(x, env, (start) => {
        let acc: Json = start;
        source.run(x, env, (v) => {
          let last: Json = null;
          update.run(acc, { value: v, parent: env }, (u) => {
            last = u;
          });
          acc = last;
        });
        out(acc);
      }),
  };
}
