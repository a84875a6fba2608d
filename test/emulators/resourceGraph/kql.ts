/**
 * A parser and evaluator for exactly the KQL subset shared/azure/queries.ts emits. Anything outside it throws
 * KqlUnsupportedError, which the server turns into an ARG-shaped 400 so query drift is caught by tests rather
 * than answered wrongly.
 *
 * Subset:
 *   <table> ( '|' <op> )*
 *   table  := resources | resourcecontainers | resourcechanges | resourcecontainerchanges   (any casing)
 *   op     := where <cond> (and <cond>)*
 *           | project <col-expr>, ...          | extend <name> = <expr>, ...
 *           | summarize arg_max(<col>, <col>, ...) [, <name> = maxif(<col>, <col> =~ <string>)] by <name> = tolower(<col>)
 *           | union ( <query> )                | order by <col> asc
 *   cond   := <col> =~ <string> | <col> in~ (<string>, ...) | <col> !in~ (<string>, ...)
 *           | <col> >= <datetime> | <col> < <datetime>
 *   expr   := <col> | tostring(<path>) | todatetime(<path>)      path := name(.name)*
 */

export class KqlUnsupportedError extends Error {
  override readonly name = 'KqlUnsupportedError';
}

export type Row = Record<string, unknown>;
export type TableName = 'resources' | 'resourcecontainers' | 'resourcechanges' | 'resourcecontainerchanges';
const TABLES: readonly TableName[] = ['resources', 'resourcecontainers', 'resourcechanges', 'resourcecontainerchanges'];

type Expr =
  | { kind: 'path'; path: string[] }
  | { kind: 'tostring'; path: string[] }
  | { kind: 'todatetime'; path: string[] };

export type Condition =
  | { kind: 'eq~'; column: string; value: string }
  | { kind: 'in~'; column: string; values: string[]; negated: boolean }
  | { kind: 'cmp'; column: string; op: '>=' | '<'; value: Date };

export type Operator =
  | { kind: 'where'; conditions: Condition[] }
  | { kind: 'project'; columns: { name: string; expr: Expr }[] }
  | { kind: 'extend'; columns: { name: string; expr: Expr }[] }
  | {
      kind: 'summarizeArgMax';
      maxColumn: string;
      columns: string[];
      byName: string;
      byColumn: string;
      maxIf?: { name: string; column: string; when: { column: string; value: string } };
    }
  | { kind: 'union'; query: Query }
  | { kind: 'orderBy'; column: string };

export interface Query {
  table: TableName;
  operators: Operator[];
}

type Token =
  | { t: 'ident'; v: string; pos: number }
  | { t: 'string'; v: string; pos: number }
  | { t: 'datetime'; v: Date; pos: number }
  | { t: 'number'; v: string; pos: number }
  | { t: 'punct'; v: string; pos: number };

const PUNCT = ['!in~', 'in~', '=~', '>=', '|', '(', ')', ',', '=', '<', '.'];

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === "'") {
      const start = i;
      i++;
      let value = '';
      for (;;) {
        if (i >= text.length) throw new KqlUnsupportedError(`unterminated string literal at ${start}`);
        const ch = text[i]!;
        if (ch === "'") {
          i++;
          break;
        }
        if (ch === '\n' || ch === '\r') throw new KqlUnsupportedError(`line break inside string literal at ${i}`);
        if (ch === '\\') {
          const next = text[i + 1];
          const simple: Record<string, string> = { '\\': '\\', "'": "'", '"': '"', n: '\n', r: '\r', t: '\t' };
          if (next !== undefined && next in simple) {
            value += simple[next];
            i += 2;
          } else if (next === 'u' && /^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) {
            value += String.fromCharCode(parseInt(text.slice(i + 2, i + 6), 16));
            i += 6;
          } else {
            throw new KqlUnsupportedError(`unsupported escape sequence at ${i}`);
          }
          continue;
        }
        value += ch;
        i++;
      }
      tokens.push({ t: 'string', v: value, pos: start });
      continue;
    }
    const ident = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i, i + 200));
    if (ident && !(ident[0] === 'in' && text[i + 2] === '~')) {
      const word = ident[0];
      if (word.toLowerCase() === 'datetime' && text[i + word.length] === '(') {
        const close = text.indexOf(')', i);
        const raw = text.slice(i + word.length + 1, close);
        if (close < 0 || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/.test(raw)) {
          throw new KqlUnsupportedError(`unsupported datetime literal at ${i}`);
        }
        tokens.push({ t: 'datetime', v: new Date(raw), pos: i });
        i = close + 1;
        continue;
      }
      tokens.push({ t: 'ident', v: word, pos: i });
      i += word.length;
      continue;
    }
    const number = /^\d+(\.\d+)?/.exec(text.slice(i, i + 50));
    if (number) {
      // No operator in the subset takes a number; tokenised so the parser can name what it did not expect.
      tokens.push({ t: 'number', v: number[0], pos: i });
      i += number[0].length;
      continue;
    }
    const punct = PUNCT.find((p) => text.startsWith(p, i));
    if (!punct) throw new KqlUnsupportedError(`unexpected character ${JSON.stringify(c)} at ${i}`);
    tokens.push({ t: 'punct', v: punct, pos: i });
    i += punct.length;
  }
  return tokens;
}

class Parser {
  private index = 0;
  constructor(private readonly tokens: Token[]) {}

  private peek(): Token | undefined {
    return this.tokens[this.index];
  }
  private fail(expected: string): never {
    const token = this.peek();
    const found = token ? `${JSON.stringify(String(token.v))} at ${token.pos}` : 'end of query';
    throw new KqlUnsupportedError(`expected ${expected}, found ${found}`);
  }
  private punct(v: string): void {
    const token = this.peek();
    if (token?.t !== 'punct' || token.v !== v) this.fail(`"${v}"`);
    this.index++;
  }
  private isPunct(v: string): boolean {
    const token = this.peek();
    return token?.t === 'punct' && token.v === v;
  }
  private ident(expected?: string): string {
    const token = this.peek();
    if (token?.t !== 'ident') this.fail(expected ? `"${expected}"` : 'a name');
    if (expected && token.v !== expected) this.fail(`"${expected}"`);
    this.index++;
    return token.v;
  }
  private string(): string {
    const token = this.peek();
    if (token?.t !== 'string') this.fail('a string literal');
    this.index++;
    return token.v;
  }
  private datetime(): Date {
    const token = this.peek();
    if (token?.t !== 'datetime') this.fail('a datetime literal');
    this.index++;
    return token.v;
  }

  parseQuery(nested = false): Query {
    const tableName = this.ident().toLowerCase();
    const table = TABLES.find((t) => t === tableName);
    if (!table) throw new KqlUnsupportedError(`unknown table "${tableName}"`);
    const operators: Operator[] = [];
    while (this.peek() && !(nested && this.isPunct(')'))) {
      this.punct('|');
      operators.push(this.parseOperator());
    }
    return { table, operators };
  }

  parseAll(): Query {
    const query = this.parseQuery();
    if (this.peek()) this.fail('end of query');
    return query;
  }

  private parseOperator(): Operator {
    const name = this.ident();
    switch (name) {
      case 'where': {
        const conditions = [this.parseCondition()];
        while (this.peek()?.t === 'ident' && this.peek()!.v === 'and') {
          this.index++;
          conditions.push(this.parseCondition());
        }
        return { kind: 'where', conditions };
      }
      case 'project':
      case 'extend': {
        const columns = [this.parseColumn(name === 'extend')];
        while (this.isPunct(',')) {
          this.index++;
          columns.push(this.parseColumn(name === 'extend'));
        }
        return { kind: name, columns };
      }
      case 'summarize': {
        this.ident('arg_max');
        this.punct('(');
        const maxColumn = this.ident();
        const columns: string[] = [];
        while (this.isPunct(',')) {
          this.index++;
          columns.push(this.ident());
        }
        this.punct(')');
        if (columns.length === 0) throw new KqlUnsupportedError('arg_max(*) is outside the emulated subset: name the columns');
        let maxIf: { name: string; column: string; when: { column: string; value: string } } | undefined;
        if (this.isPunct(',')) {
          this.index++;
          const name = this.ident();
          this.punct('=');
          this.ident('maxif');
          this.punct('(');
          const column = this.ident();
          this.punct(',');
          const whenColumn = this.ident();
          this.punct('=~');
          const value = this.string();
          this.punct(')');
          maxIf = { name, column, when: { column: whenColumn, value } };
        }
        this.ident('by');
        const byName = this.ident();
        this.punct('=');
        this.ident('tolower');
        this.punct('(');
        const byColumn = this.ident();
        this.punct(')');
        return { kind: 'summarizeArgMax', maxColumn, columns, byName, byColumn, ...(maxIf ? { maxIf } : {}) };
      }
      case 'union': {
        this.punct('(');
        const query = this.parseQuery(true);
        this.punct(')');
        return { kind: 'union', query };
      }
      case 'order': {
        this.ident('by');
        const column = this.ident();
        this.ident('asc');
        return { kind: 'orderBy', column };
      }
      default:
        throw new KqlUnsupportedError(`operator "${name}" is outside the emulated subset`);
    }
  }

  private parseCondition(): Condition {
    const column = this.ident();
    const token = this.peek();
    if (token?.t !== 'punct') this.fail('a comparison operator');
    this.index++;
    switch (token.v) {
      case '=~':
        return { kind: 'eq~', column, value: this.string() };
      case 'in~':
      case '!in~': {
        this.punct('(');
        const values = [this.string()];
        while (this.isPunct(',')) {
          this.index++;
          values.push(this.string());
        }
        this.punct(')');
        return { kind: 'in~', column, values, negated: token.v === '!in~' };
      }
      case '>=':
      case '<':
        return { kind: 'cmp', column, op: token.v, value: this.datetime() };
      default:
        throw new KqlUnsupportedError(`comparison "${token.v}" is outside the emulated subset`);
    }
  }

  private parsePath(): string[] {
    const path = [this.ident()];
    while (this.isPunct('.')) {
      this.index++;
      path.push(this.ident());
    }
    return path;
  }

  private parseColumn(requireName: boolean): { name: string; expr: Expr } {
    const first = this.ident();
    if (this.isPunct('=')) {
      this.index++;
      const fn = this.ident();
      if (fn !== 'tostring' && fn !== 'todatetime') {
        throw new KqlUnsupportedError(`function "${fn}" is outside the emulated subset`);
      }
      this.punct('(');
      const path = this.parsePath();
      this.punct(')');
      return { name: first, expr: { kind: fn, path } };
    }
    if (requireName) this.fail('"=" (extend needs a name)');
    return { name: first, expr: { kind: 'path', path: [first] } };
  }
}

export function parseKql(text: string): Query {
  return new Parser(tokenize(text)).parseAll();
}

function readPath(row: Row, path: string[]): unknown {
  let value: unknown = row;
  for (const key of path) {
    if (value === null || typeof value !== 'object') return null;
    value = (value as Row)[key];
  }
  return value === undefined ? null : value;
}

function evalExpr(row: Row, expr: Expr): unknown {
  const value = readPath(row, expr.path);
  if (expr.kind === 'path') return value;
  if (expr.kind === 'tostring') {
    if (value === null) return '';
    if (typeof value === 'string') return value;
    if (value instanceof Date) return value.toISOString();
    return typeof value === 'object' ? JSON.stringify(value) : String(value);
  }
  if (value instanceof Date) return value;
  if (typeof value !== 'string' && typeof value !== 'number') return null;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? null : date;
}

function matches(row: Row, condition: Condition): boolean {
  const value = row[condition.column];
  switch (condition.kind) {
    case 'eq~':
      return typeof value === 'string' && value.toLowerCase() === condition.value.toLowerCase();
    case 'in~': {
      const lower = typeof value === 'string' ? value.toLowerCase() : undefined;
      const found = lower !== undefined && condition.values.some((v) => v.toLowerCase() === lower);
      return condition.negated ? !found : found;
    }
    case 'cmp': {
      if (!(value instanceof Date)) return false;
      return condition.op === '>=' ? value.getTime() >= condition.value.getTime() : value.getTime() < condition.value.getTime();
    }
  }
}

/** Applies one row-local operator (where/project/extend); returns undefined when the row is filtered out. */
export function applyRowOperator(row: Row, op: Operator): Row | undefined {
  switch (op.kind) {
    case 'where':
      return op.conditions.every((c) => matches(row, c)) ? row : undefined;
    case 'project': {
      const out: Row = {};
      for (const column of op.columns) out[column.name] = evalExpr(row, column.expr);
      return out;
    }
    case 'extend': {
      const out: Row = { ...row };
      for (const column of op.columns) out[column.name] = evalExpr(row, column.expr);
      return out;
    }
    default:
      throw new Error(`not a row operator: ${op.kind}`);
  }
}

export const isRowOperator = (op: Operator) => op.kind === 'where' || op.kind === 'project' || op.kind === 'extend';

/** The sort key the emulator pages on: Resource Graph ids compare case-insensitively. */
export const sortKey = (value: unknown): string => (typeof value === 'string' ? value.toLowerCase() : String(value ?? ''));

/** Runs a whole query over table scans; `scan(table)` yields the visible raw rows of a table. */
export function evaluate(query: Query, scan: (table: TableName, query: Query) => Iterable<Row>): Row[] {
  let rows: Row[] = [];
  let pending: Operator[] = [];
  const flushRowOps = (input: Iterable<Row>): Row[] => {
    const out: Row[] = [];
    outer: for (let row of input) {
      for (const op of pending) {
        const next = applyRowOperator(row, op);
        if (next === undefined) continue outer;
        row = next;
      }
      out.push(row);
    }
    pending = [];
    return out;
  };
  let source: Iterable<Row> | undefined = scan(query.table, query);
  for (const op of query.operators) {
    if (isRowOperator(op)) {
      pending.push(op);
      continue;
    }
    rows = flushRowOps(source ?? rows);
    source = undefined;
    if (op.kind === 'union') {
      rows = rows.concat(evaluate(op.query, scan));
    } else if (op.kind === 'orderBy') {
      const keyed = rows.map((row) => [sortKey(row[op.column]), row] as const);
      keyed.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
      rows = keyed.map((k) => k[1]);
    } else if (op.kind === 'summarizeArgMax') {
      const groups = new Map<string, Row>();
      const maxIfByGroup = new Map<string, Date>();
      for (const row of rows) {
        const key = sortKey(row[op.byColumn]);
        const current = groups.get(key);
        const time = (row[op.maxColumn] as Date | null)?.getTime?.() ?? -Infinity;
        const best = (current?.[op.maxColumn] as Date | null)?.getTime?.() ?? -Infinity;
        if (!current || time > best) {
          const out: Row = { [op.byName]: key, [op.maxColumn]: row[op.maxColumn] ?? null };
          for (const c of op.columns) out[c] = row[c] ?? null;
          groups.set(key, out);
        }
        if (op.maxIf && String(row[op.maxIf.when.column] ?? '').toLowerCase() === op.maxIf.when.value.toLowerCase()) {
          const value = row[op.maxIf.column] as Date | null;
          const seen = maxIfByGroup.get(key);
          if (value instanceof Date && (!seen || value.getTime() > seen.getTime())) maxIfByGroup.set(key, value);
        }
      }
      if (op.maxIf) for (const [key, row] of groups) row[op.maxIf.name] = maxIfByGroup.get(key) ?? null;
      rows = [...groups.values()];
    }
  }
  return pending.length > 0 || source ? flushRowOps(source ?? rows) : rows;
}
