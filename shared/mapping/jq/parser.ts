/**
 * A parser for the subset of jq that shared/mapping/jq/compile.ts runs as JavaScript. It follows jq 1.8's grammar
 * (src/parser.y) and precedence: `|` < `,` < `//` < assignment < `or` < `and` < comparisons < `+ -` < `* / %`,
 * with `?`, `try` and `catch` binding to the nearest term. Programs reach it only after real jq compiled them, so
 * the parser never has to explain a syntax error; whatever it does not handle exactly throws Unsupported.
 */
import type { BinaryOp, Node } from './ast.js';
import { isKeyword, tokenize, Unsupported, type Token } from './lexer.js';

const ALT_BP = 10;
const OR_BP = 30;
const AND_BP = 40;
const CMP_BP = 50;
const ADD_BP = 60;
const MUL_BP = 70;

const INFIX: Record<string, { bp: number; op?: BinaryOp }> = {
  '//': { bp: ALT_BP },
  or: { bp: OR_BP },
  and: { bp: AND_BP },
  '==': { bp: CMP_BP, op: '==' },
  '!=': { bp: CMP_BP, op: '!=' },
  '<': { bp: CMP_BP, op: '<' },
  '<=': { bp: CMP_BP, op: '<=' },
  '>': { bp: CMP_BP, op: '>' },
  '>=': { bp: CMP_BP, op: '>=' },
  '+': { bp: ADD_BP, op: '+' },
  '-': { bp: ADD_BP, op: '-' },
  '*': { bp: MUL_BP, op: '*' },
  '/': { bp: MUL_BP, op: '/' },
  '%': { bp: MUL_BP, op: '%' },
};
const ASSIGNMENTS = new Set(['=', '|=', '+=', '-=', '*=', '/=', '%=', '//=', '?//', '?//=']);

/** Parses a jq program into the compiled subset, or throws Unsupported. */
export function parseJq(source: string): Node {
  return new Parser(tokenize(source)).program();
}

/** Decimal value of a numeric literal as (digits, exponent), for comparing a literal with the double it becomes. */
function decimal(text: string): string {
  const m = /^([0-9]*)\.?([0-9]*)(?:[eE]([+-]?[0-9]+))?$/.exec(text);
  if (!m) return text;
  let digits = (m[1] ?? '') + (m[2] ?? '');
  let exponent = Number(m[3] ?? 0) - (m[2] ?? '').length;
  digits = digits.replace(/^0+/, '');
  if (digits === '') return '0';
  while (digits.endsWith('0')) {
    digits = digits.slice(0, -1);
    exponent++;
  }
  return `${digits}e${exponent}`;
}

/**
 * jq 1.8 keeps a literal's decimal value (decNumber) for comparisons and output; JavaScript has the double. They
 * agree only when the literal is exactly the double's shortest decimal form.
 */
function exactLiteral(token: { text: string; value: number }): boolean {
  return Number.isFinite(token.value) && decimal(token.text) === decimal(String(token.value).replace(/^-/, ''));
}

class Parser {
  private pos = 0;
  constructor(private readonly tokens: Token[]) {}

  program(): Node {
    const node = this.pipe(false);
    this.expectEof();
    return node;
  }

  private peek(offset = 0): Token {
    return this.tokens[this.pos + offset] ?? { t: 'eof' };
  }
  private next(): Token {
    return this.tokens[this.pos++] ?? { t: 'eof' };
  }
  private isOp(op: string, offset = 0): boolean {
    const t = this.peek(offset);
    return t.t === 'op' && t.op === op;
  }
  private isWord(name: string, offset = 0): boolean {
    const t = this.peek(offset);
    return t.t === 'ident' && t.name === name;
  }
  private expectOp(op: string): void {
    if (!this.isOp(op)) throw new Unsupported(`expected "${op}"`);
    this.pos++;
  }
  private expectWord(name: string): void {
    if (!this.isWord(name)) throw new Unsupported(`expected "${name}"`);
    this.pos++;
  }
  private expectEof(): void {
    if (this.peek().t !== 'eof') throw new Unsupported('unexpected token after the program');
  }

  /** `Exp | Exp`, including `Term as $x | Exp`. In object values (`noComma`) a `,` ends the expression. */
  private pipe(noComma: boolean): Node {
    if (this.isWord('def') || this.isWord('label') || this.isWord('import') || this.isWord('include')) {
      throw new Unsupported('definitions, labels and modules');
    }
    const binding = this.tryBinding(noComma);
    if (binding) return binding;
    const left = noComma ? this.binary(ALT_BP) : this.comma();
    if (this.isOp('|')) {
      this.pos++;
      return { k: 'pipe', left, right: this.pipe(noComma) };
    }
    return left;
  }

  private tryBinding(noComma: boolean): Node | undefined {
    const start = this.pos;
    if (!this.startsTerm()) return undefined;
    let source: Node;
    try {
      source = this.postfix();
    } catch (error) {
      if (!(error instanceof Unsupported)) throw error;
      this.pos = start;
      return undefined;
    }
    if (!this.isWord('as')) {
      this.pos = start;
      return undefined;
    }
    this.pos++;
    const name = this.bindingName();
    this.expectOp('|');
    return { k: 'bind', source, name, body: this.pipe(noComma) };
  }

  private bindingName(): string {
    const t = this.next();
    if (t.t !== 'var' || t.name === '__loc__' || t.name === 'ENV') throw new Unsupported('destructuring or special variable');
    if (this.isOp('?//')) throw new Unsupported('destructuring alternatives');
    return t.name;
  }

  private startsTerm(): boolean {
    const t = this.peek();
    if (t.t === 'eof' || t.t === 'format') return false;
    if (t.t === 'op') return ['.', '..', '(', '[', '{'].includes(t.op);
    if (t.t === 'ident') return !isKeyword(t.name) || t.name === 'if' || t.name === 'reduce';
    return true;
  }

  private comma(): Node {
    let left = this.binary(ALT_BP);
    while (this.isOp(',')) {
      this.pos++;
      left = { k: 'comma', left, right: this.binary(ALT_BP) };
    }
    return left;
  }

  private infix(): { name: string; bp: number; op?: BinaryOp } | undefined {
    const t = this.peek();
    const name = t.t === 'op' ? t.op : t.t === 'ident' && (t.name === 'and' || t.name === 'or') ? t.name : undefined;
    if (name === undefined) return undefined;
    if (ASSIGNMENTS.has(name)) throw new Unsupported('assignment operators');
    const info = INFIX[name];
    return info ? { name, ...info } : undefined;
  }

  private binary(minBp: number): Node {
    let left = this.unary();
    for (;;) {
      const info = this.infix();
      if (!info || info.bp < minBp) return left;
      this.pos++;
      // `//` is right-associative; the others are left-associative (comparisons are non-associative in jq, and
      // jq has already rejected chains of them).
      const right = this.binary(info.name === '//' ? info.bp : info.bp + 1);
      if (info.name === '//') left = { k: 'alt', left, right };
      else if (info.name === 'and') left = { k: 'and', left, right };
      else if (info.name === 'or') left = { k: 'or', left, right };
      else left = { k: 'binary', op: info.op!, left, right };
    }
  }

  private unary(): Node {
    if (this.isOp('-')) {
      this.pos++;
      // jq's `'-' Exp` takes the precedence of binary minus: `-a*b` is -(a*b), `-a+b` is (-a)+b.
      return { k: 'negate', body: this.binary(MUL_BP) };
    }
    if (this.isWord('try')) {
      this.pos++;
      // `try`/`catch` bind tighter than every binary operator; a leading `-` is jq's `'-' Exp` rule.
      const body = this.isOp('-') ? this.unary() : this.postfix();
      let handler: Node | undefined;
      if (this.isWord('catch')) {
        this.pos++;
        handler = this.isOp('-') ? this.unary() : this.postfix();
      }
      return { k: 'try', body, handler };
    }
    return this.postfix();
  }

  /** A term and its suffixes: `.a`, `."a"`, `[e]`, `.[e]`, `[]`, each optionally followed by `?`. */
  private postfix(): Node {
    let term = this.primary();
    for (;;) {
      const t = this.peek();
      if (t.t === 'field') {
        this.pos++;
        term = this.indexed(term, { k: 'literal', value: t.name });
      } else if (t.t === 'op' && t.op === '.' && this.peek(1).t === 'str') {
        this.pos++;
        term = this.indexed(term, this.stringNode(this.next() as Extract<Token, { t: 'str' }>));
      } else if (t.t === 'op' && t.op === '.' && this.isOp('[', 1)) {
        this.pos++;
      } else if (t.t === 'op' && t.op === '[') {
        term = this.bracket(term);
      } else if (t.t === 'op' && t.op === '?') {
        this.pos++;
        term = { k: 'try', body: term, handler: undefined };
      } else {
        return term;
      }
    }
  }

  private optional(): boolean {
    if (!this.isOp('?')) return false;
    this.pos++;
    return true;
  }

  private indexed(target: Node, index: Node): Node {
    return { k: 'index', target, index, opt: this.optional() };
  }

  private bracket(target: Node): Node {
    this.expectOp('[');
    if (this.isOp(']')) {
      this.pos++;
      return { k: 'iterate', target, opt: this.optional() };
    }
    if (this.isOp(':')) throw new Unsupported('slices');
    const index = this.pipe(false);
    if (this.isOp(':')) throw new Unsupported('slices');
    this.expectOp(']');
    return this.indexed(target, index);
  }

  private primary(): Node {
    const t = this.next();
    switch (t.t) {
      case 'num':
        if (!exactLiteral(t)) throw new Unsupported(`number literal ${t.text} is not exactly a double`);
        return { k: 'literal', value: t.value };
      case 'str':
        return this.stringNode(t);
      case 'field':
        return { k: 'index', target: { k: 'identity' }, index: { k: 'literal', value: t.name }, opt: this.optional() };
      case 'var':
        if (t.name === '__loc__' || t.name === 'ENV' || t.name === '__prog_args') throw new Unsupported(`$${t.name}`);
        return { k: 'var', name: t.name };
      case 'format':
        throw new Unsupported('@formats');
      case 'ident':
        return this.word(t.name);
      case 'op':
        return this.punctuation(t.op);
      case 'eof':
        throw new Unsupported('unexpected end');
    }
  }

  private punctuation(op: string): Node {
    switch (op) {
      case '.':
        if (this.peek().t === 'str') {
          const key = this.stringNode(this.next() as Extract<Token, { t: 'str' }>);
          return { k: 'index', target: { k: 'identity' }, index: key, opt: this.optional() };
        }
        return { k: 'identity' };
      case '..':
        return { k: 'recurse' };
      case '(': {
        const inner = this.pipe(false);
        this.expectOp(')');
        return inner;
      }
      case '[': {
        if (this.isOp(']')) {
          this.pos++;
          return { k: 'array', body: undefined };
        }
        const body = this.pipe(false);
        this.expectOp(']');
        return { k: 'array', body };
      }
      case '{':
        return this.object();
      default:
        throw new Unsupported(`"${op}" here`);
    }
  }

  private word(name: string): Node {
    if (name === 'null' || name === 'true' || name === 'false') {
      if (this.isOp('(')) throw new Unsupported(`${name}(...)`);
      return { k: 'literal', value: name === 'null' ? null : name === 'true' };
    }
    if (name === 'if') return this.conditional();
    if (name === 'reduce') return this.reduce();
    if (isKeyword(name)) throw new Unsupported(`"${name}"`);
    const args: Node[] = [];
    if (this.isOp('(')) {
      this.pos++;
      args.push(this.pipe(false));
      while (this.isOp(';')) {
        this.pos++;
        args.push(this.pipe(false));
      }
      this.expectOp(')');
    }
    return { k: 'call', name, args };
  }

  private conditional(): Node {
    const cond = this.pipe(false);
    this.expectWord('then');
    const then = this.pipe(false);
    if (this.isWord('elif')) {
      this.pos++;
      return { k: 'if', cond, then, else: this.conditional() };
    }
    let otherwise: Node | undefined;
    if (this.isWord('else')) {
      this.pos++;
      otherwise = this.pipe(false);
    }
    this.expectWord('end');
    return { k: 'if', cond, then, else: otherwise };
  }

  private reduce(): Node {
    const source = this.postfix();
    this.expectWord('as');
    const name = this.bindingName();
    this.expectOp('(');
    const init = this.pipe(false);
    this.expectOp(';');
    const update = this.pipe(false);
    this.expectOp(')');
    return { k: 'reduce', source, name, init, update };
  }

  private object(): Node {
    const entries: { key: Node; value: Node }[] = [];
    while (!this.isOp('}')) {
      entries.push(this.objectEntry());
      if (this.isOp(',')) this.pos++;
      else if (!this.isOp('}')) throw new Unsupported('expected "," or "}" in an object');
    }
    this.pos++;
    return { k: 'object', entries };
  }

  private objectEntry(): { key: Node; value: Node } {
    const t = this.next();
    let key: Node;
    let shorthand: Node | undefined;
    if (t.t === 'ident') {
      key = { k: 'literal', value: t.name };
      if (!isKeyword(t.name)) shorthand = { k: 'index', target: { k: 'identity' }, index: key, opt: false };
    } else if (t.t === 'var') {
      if (t.name === '__loc__' || t.name === 'ENV' || t.name === '__prog_args') throw new Unsupported(`$${t.name}`);
      // `{$x}` is {"x": $x}; `{$x: v}` (jq 1.7+) uses $x's value as the key.
      if (!this.isOp(':')) return { key: { k: 'literal', value: t.name }, value: { k: 'var', name: t.name } };
      key = { k: 'var', name: t.name };
    } else if (t.t === 'str') {
      key = this.stringNode(t);
      shorthand = { k: 'index', target: { k: 'identity' }, index: key, opt: false };
    } else if (t.t === 'op' && t.op === '(') {
      key = this.pipe(false);
      this.expectOp(')');
    } else {
      throw new Unsupported('object key');
    }
    if (!this.isOp(':')) {
      if (!shorthand) throw new Unsupported('object key without a value');
      return { key, value: shorthand };
    }
    this.pos++;
    return { key, value: this.pipe(true) };
  }

  private stringNode(t: Extract<Token, { t: 'str' }>): Node {
    if (t.parts.length === 1 && typeof t.parts[0] === 'string') return { k: 'literal', value: t.parts[0] };
    const parts = t.parts.map((p) => (typeof p === 'string' ? p : new Parser(p.tokens).program()));
    return { k: 'string', parts };
  }
}
