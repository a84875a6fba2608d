/**
 * Tokens of a jq program, as jq 1.8's lexer (src/lexer.l) cuts them. Only used on programs real jq has already
 * compiled (shared/mapping/jq/engine.ts checks every program with real jq first), so this lexer never reports
 * syntax errors to users: anything it is not sure about throws Unsupported and the program runs on real jq.
 */

export class Unsupported extends Error {
  override readonly name = 'Unsupported';
}

export type Token =
  | { t: 'num'; text: string; value: number }
  | { t: 'str'; parts: StringPart[] }
  | { t: 'ident'; name: string }
  | { t: 'field'; name: string }
  | { t: 'var'; name: string }
  | { t: 'format'; name: string }
  | { t: 'op'; op: string }
  | { t: 'eof' };

/** A string literal: text and interpolated sub-programs (their tokens). */
export type StringPart = string | { tokens: Token[] };

const KEYWORDS = new Set([
  'as', 'import', 'include', 'module', 'def', 'if', 'then', 'elif', 'else', 'end', 'and', 'or', 'reduce', 'foreach',
  'try', 'catch', 'label', '__loc__',
]);
export const isKeyword = (name: string): boolean => KEYWORDS.has(name);

// Longest first, as flex would match them.
const OPERATORS = ['?//=', '?//', '|=', '+=', '-=', '*=', '/=', '%=', '//=', '==', '!=', '<=', '>=', '//', '..',
  '.', '?', '=', ';', ',', ':', '|', '+', '-', '*', '/', '%', '$', '<', '>', '[', ']', '{', '}', '(', ')'];

const IDENT_START = /[A-Za-z_]/;
const IDENT_CHAR = /[A-Za-z0-9_]/;
const DIGIT = /[0-9]/;

export function tokenize(source: string): Token[] {
  const lexer = new Lexer(source);
  const tokens = lexer.tokens(false);
  tokens.push({ t: 'eof' });
  return tokens;
}

class Lexer {
  private i = 0;
  constructor(private readonly s: string) {}

  /** Tokens up to the end (or, inside an interpolation, up to its closing parenthesis). */
  tokens(inInterpolation: boolean): Token[] {
    const out: Token[] = [];
    let depth = 0;
    for (;;) {
      this.skipSpaceAndComments();
      if (this.i >= this.s.length) {
        if (inInterpolation) throw new Unsupported('unterminated interpolation');
        return out;
      }
      const c = this.s[this.i]!;
      if (inInterpolation && c === ')' && depth === 0) {
        this.i++;
        return out;
      }
      if (c === '"') {
        this.i++;
        out.push(this.string());
        continue;
      }
      if (DIGIT.test(c) || (c === '.' && DIGIT.test(this.s[this.i + 1] ?? ''))) {
        out.push(this.number());
        continue;
      }
      if (c === '.' && IDENT_START.test(this.s[this.i + 1] ?? '')) {
        this.i++;
        out.push({ t: 'field', name: this.identifier(false) });
        continue;
      }
      if (c === '$' && IDENT_START.test(this.s[this.i + 1] ?? '')) {
        this.i++;
        out.push({ t: 'var', name: this.identifier(true) });
        continue;
      }
      if (c === '@' && /[A-Za-z0-9_]/.test(this.s[this.i + 1] ?? '')) {
        this.i++;
        let name = '';
        while (this.i < this.s.length && /[A-Za-z0-9_]/.test(this.s[this.i]!)) name += this.s[this.i++];
        out.push({ t: 'format', name });
        continue;
      }
      if (IDENT_START.test(c)) {
        out.push({ t: 'ident', name: this.identifier(true) });
        continue;
      }
      const op = OPERATORS.find((o) => this.s.startsWith(o, this.i));
      if (!op) throw new Unsupported(`unexpected character ${JSON.stringify(c)}`);
      this.i += op.length;
      if (op === '(') depth++;
      if (op === ')') depth--;
      out.push({ t: 'op', op });
    }
  }

  private skipSpaceAndComments(): void {
    while (this.i < this.s.length) {
      const c = this.s[this.i]!;
      if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
        this.i++;
      } else if (c === '#') {
        // jq 1.7.1+ continues a comment over a newline after an odd number of backslashes; rather than copy that
        // rule, leave such programs to real jq.
        let end = this.s.indexOf('\n', this.i);
        if (end === -1) end = this.s.length;
        const comment = this.s.slice(this.i, end).replace(/\r$/, '');
        if (/\\$/.test(comment)) throw new Unsupported('comment ending in a backslash');
        this.i = end;
      } else {
        return;
      }
    }
  }

  /** `name`, or a module-qualified `mod::name` when `qualified` (never compiled: thrown as Unsupported). */
  private identifier(qualified: boolean): string {
    let name = '';
    while (this.i < this.s.length && IDENT_CHAR.test(this.s[this.i]!)) name += this.s[this.i++];
    if (qualified && this.s.startsWith('::', this.i)) throw new Unsupported('module-qualified name');
    return name;
  }

  private number(): Token {
    const match = /^(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?/.exec(this.s.slice(this.i));
    const text = match![0];
    this.i += text.length;
    return { t: 'num', text, value: Number(text) };
  }

  private string(): Token {
    const parts: StringPart[] = [];
    let text = '';
    for (;;) {
      if (this.i >= this.s.length) throw new Unsupported('unterminated string');
      const c = this.s[this.i++]!;
      if (c === '"') break;
      if (c !== '\\') {
        const code = c.charCodeAt(0);
        // Raw control characters and lone surrogates: jq's rules for them are not worth copying.
        if (code < 0x20 || code === 0x7f || (code >= 0xd800 && code <= 0xdfff)) {
          if (code >= 0xd800 && code <= 0xdbff && this.i < this.s.length) {
            const next = this.s.charCodeAt(this.i);
            if (next >= 0xdc00 && next <= 0xdfff) {
              text += c + this.s[this.i++];
              continue;
            }
          }
          throw new Unsupported('control character or lone surrogate in a string literal');
        }
        text += c;
        continue;
      }
      const e = this.s[this.i++];
      switch (e) {
        case '"': text += '"'; break;
        case '\\': text += '\\'; break;
        case '/': text += '/'; break;
        case 'b': text += '\b'; break;
        case 'f': text += '\f'; break;
        case 'n': text += '\n'; break;
        case 'r': text += '\r'; break;
        case 't': text += '\t'; break;
        case 'u': {
          const code = this.hex4();
          if (code >= 0xd800 && code <= 0xdbff && this.s.startsWith('\\u', this.i)) {
            this.i += 2;
            const low = this.hex4();
            if (low < 0xdc00 || low > 0xdfff) throw new Unsupported('unpaired surrogate escape');
            text += String.fromCharCode(code, low);
          } else if (code >= 0xd800 && code <= 0xdfff) {
            throw new Unsupported('unpaired surrogate escape');
          } else {
            text += String.fromCharCode(code);
          }
          break;
        }
        case '(': {
          if (text) parts.push(text);
          text = '';
          parts.push({ tokens: [...this.tokens(true), { t: 'eof' }] });
          break;
        }
        default:
          throw new Unsupported(`escape \\${e ?? ''}`);
      }
    }
    if (text || parts.length === 0) parts.push(text);
    return { t: 'str', parts };
  }

  private hex4(): number {
    const hex = this.s.slice(this.i, this.i + 4);
    if (!/^[0-9A-Fa-f]{4}$/.test(hex)) throw new Unsupported('bad \\u escape');
    this.i += 4;
    return parseInt(hex, 16);
  }
}
