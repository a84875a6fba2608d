/**
 * The jq engine the mapping uses: real jq semantics, at JavaScript speed where possible.
 *
 * Every expression is first compiled by real jq (so a syntax or name error is jq's own message). If it is inside
 * the subset shared/mapping/jq/compile.ts handles, it then runs as JavaScript; otherwise every evaluation goes to
 * real jq, batched. A compiled expression that meets an input it cannot promise jq's answer for (Deferred), or
 * that fails with a builtin error whose exact message only jq knows, is re-evaluated by real jq for that row, so
 * results and error messages are always real jq's.
 */
import { readsInput, type Node } from './ast.js';
import { compile, NONE, type Code, type Env } from './compile.js';
import { tokenize, Unsupported, type Token } from './lexer.js';
import { parseJq } from './parser.js';
import { loadRealJq, type RealJq, type RealJqRequest } from './realJq.js';
import { Deferred, JqError, type Json } from './values.js';

export type { Json } from './values.js';

/** First output of an expression on one row (`value` undefined: no output), or jq's error message. */
export type FirstResult = { ok: true; value: Json | undefined } | { ok: false; error: string };

export interface JqExpression {
  readonly source: string;
  /** Undefined when the expression runs on real jq; the reason is kept for diagnostics. */
  readonly code: Code | undefined;
  readonly fallbackReason: string | undefined;
  /** The expression never reads its input: its value can be computed once (a blueprint name, say). */
  readonly constant: boolean;
}

/** Builtins that read or write outside the row, or end the program: never allowed in a mapping. */
const FORBIDDEN_CALLS = new Set(['input', 'inputs', 'debug', 'stderr', 'input_filename', 'input_line_number', 'halt', 'halt_error', 'env', 'get_search_list', 'import', 'include', 'module']);
const FORBIDDEN_VARS = new Set(['ENV', '__prog_args']);

function forbiddenIn(tokens: Token[]): string | undefined {
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    const next = tokens[i + 1];
    if (t.t === 'ident' && FORBIDDEN_CALLS.has(t.name) && !(next?.t === 'op' && next.op === ':')) return t.name;
    if (t.t === 'var' && FORBIDDEN_VARS.has(t.name)) return `$${t.name}`;
    if (t.t === 'str') {
      for (const part of t.parts) {
        const found = typeof part === 'string' ? undefined : forbiddenIn(part.tokens);
        if (found) return found;
      }
    }
  }
  return undefined;
}

/** A forbidden builtin used in `source` (object keys and field names are fine), if any. */
export function forbiddenBuiltin(source: string): string | undefined {
  try {
    return forbiddenIn(tokenize(source));
  } catch (error) {
    if (!(error instanceof Unsupported)) throw error;
    // Programs this lexer does not read are checked by name alone.
    const names = [...FORBIDDEN_CALLS, ...[...FORBIDDEN_VARS].map((v) => `$${v}`)];
    return names.find((name) => new RegExp(`(^|[^.A-Za-z0-9_$])${name.replace('$', '\\$')}(?![A-Za-z0-9_])`).test(source));
  }
}

export class JqEngine {
  private readonly varNames: string[];
  private readonly env: Env;
  /** Times a compiled result was replaced by real jq's (deferred inputs and error messages). */
  realEvaluations = 0;

  private constructor(
    private readonly real: RealJq,
    private readonly vars: Record<string, Json>,
  ) {
    this.varNames = Object.keys(vars);
    let env: Env = null;
    for (const name of this.varNames) env = { value: vars[name]!, parent: env };
    this.env = env;
  }

  /** `vars`: the `$name` variables every expression may read (e.g. `$blueprints`). */
  static async create(vars: Record<string, Json> = {}): Promise<JqEngine> {
    return new JqEngine(await loadRealJq(), vars);
  }

  get jqVersion(): string {
    return this.real.version;
  }

  /** Compiles an expression, or returns jq's compile error (or why the expression is not allowed). */
  compile(source: string): JqExpression | { error: string } {
    const forbidden = forbiddenBuiltin(source);
    if (forbidden) return { error: `${forbidden} is not available in a mapping (it reads or writes outside the row)` };
    const error = this.real.compileError(source, this.vars);
    if (error !== undefined) return { error };
    let ast: Node;
    try {
      ast = parseJq(source);
      return { source, code: compile(ast, this.varNames), fallbackReason: undefined, constant: !readsInput(ast) };
    } catch (e) {
      if (!(e instanceof Unsupported)) throw e;
      return { source, code: undefined, fallbackReason: e.message, constant: false };
    }
  }

  /** Every output of one expression on one value (tests and constant expressions). */
  evaluateAll(expression: JqExpression, input: Json): { ok: true; values: Json[] } | { ok: false; error: string } {
    if (expression.code) {
      try {
        const values: Json[] = [];
        expression.code.run(input, this.env, (v) => values.push(v));
        return { ok: true, values };
      } catch (error) {
        if (error instanceof JqError && error.exact) return { ok: false, error: error.message };
        if (!(error instanceof JqError) && !(error instanceof Deferred)) throw error;
      }
    }
    this.realEvaluations++;
    const [result] = this.real.evaluate([expression.source], [input], [{ program: 0, row: 0 }], this.vars, 'all');
    return result!.ok ? result! : { ok: false, error: errorText(result!.error) };
  }

  /**
   * The first output of each expression on each row: results[row][expression]. Compiled expressions run here;
   * the rest, and the rows a compiled expression deferred, go to real jq in one batch.
   */
  evaluateFirst(expressions: readonly JqExpression[], rows: readonly Json[]): FirstResult[][] {
    const flat = this.evaluateFirstFlat(expressions, rows);
    return rows.map((_r, row) =>
      expressions.map((_e, expr) => {
        const error = flat.error(row, expr);
        return error === undefined ? { ok: true as const, value: flat.value(row, expr) } : { ok: false as const, error };
      }),
    );
  }

  /** evaluateFirst without an object per result (the mapper's hot path). */
  evaluateFirstFlat(expressions: readonly JqExpression[], rows: readonly Json[]): FirstResults {
    const width = expressions.length;
    const results = new FirstResults(width, rows.length);
    const requests: RealJqRequest[] = [];
    for (let r = 0; r < rows.length; r++) {
      const row = rows[r]!;
      for (let e = 0; e < width; e++) {
        const code = expressions[e]!.code;
        if (!code || !firstCompiled(code, row, this.env, results, r * width + e)) requests.push({ program: e, row: r });
      }
    }
    if (requests.length > 0) {
      this.realEvaluations += requests.length;
      const answers = this.real.evaluate(expressions.map((x) => x.source), rows, requests, this.vars, 'first');
      requests.forEach((req, i) => {
        const a = answers[i]!;
        const at = req.row * width + req.program;
        if (a.ok) results.values[at] = a.values[0];
        else results.errors.set(at, errorText(a.error));
      });
    }
    return results;
  }
}

/** First outputs of expressions × rows in one flat array; errors (rare) in a map. */
export class FirstResults {
  readonly values: (Json | undefined)[];
  readonly errors = new Map<number, string>();
  constructor(
    private readonly width: number,
    rows: number,
  ) {
    this.values = new Array<Json | undefined>(width * rows);
  }
  value(row: number, expression: number): Json | undefined {
    return this.values[row * this.width + expression];
  }
  error(row: number, expression: number): string | undefined {
    return this.errors.size === 0 ? undefined : this.errors.get(row * this.width + expression);
  }
}

const STOP = { stop: true };

/**
 * Stores the compiled first output (or an exact error) at `at`; false when real jq must answer (deferred, or a
 * builtin error whose message only jq knows).
 */
function firstCompiled(code: Code, row: Json, env: Env, results: FirstResults, at: number): boolean {
  try {
    const opt = code.opt;
    if (opt) {
      const v = opt(row, env);
      results.values[at] = v === NONE ? undefined : v;
      return true;
    }
    let value: Json | undefined;
    try {
      code.run(row, env, (v) => {
        value = v;
        throw STOP;
      });
    } catch (error) {
      if (error !== STOP) throw error;
    }
    results.values[at] = value;
    return true;
  } catch (error) {
    if (error instanceof JqError) {
      if (!error.exact) return false;
      results.errors.set(at, error.message);
      return true;
    }
    if (error instanceof Deferred) return false;
    throw error;
  }
}

/** jq's text for an error value: the string itself, or the value's JSON with "(not a string)". */
export function errorText(value: Json): string {
  return typeof value === 'string' ? value : `${JSON.stringify(value)} (not a string)`;
}
