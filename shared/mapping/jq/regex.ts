/**
 * The part of Oniguruma (jq's regex engine, Perl_NT syntax) that means the same as a JavaScript RegExp, for
 * constant patterns only. Anything outside it (Unicode classes, case folding beyond ASCII, possessive quantifiers,
 * back-references, lookbehind, `{,n}`, extended mode…) stays with real jq. At run time a non-ASCII subject is
 * deferred to real jq too: Oniguruma's `\d`, `\w`, `\s` and case-insensitive matching are Unicode-aware (`"ß"`
 * matches `ss` with `i`), JavaScript's are not.
 */
import { Deferred } from './values.js';

const NON_ASCII = /[^\x00-\x7f]/;
const PUNCTUATION = '.\\/-^$|?*+()[]{}';

export interface ConstantRegex {
  /** The JavaScript equivalent, valid for ASCII subjects. */
  readonly re: RegExp;
  test(subject: string): boolean;
}

/** jq's flags for `test`: only g (irrelevant to a yes/no match) and i are compiled. */
function jsFlags(flags: string | null): string | undefined {
  if (flags === null) return '';
  let out = '';
  for (const f of flags) {
    if (f === 'i') out = 'i';
    else if (f !== 'g') return undefined;
  }
  return out;
}

/** The JavaScript source for an Oniguruma pattern, or undefined when it is outside the shared subset. */
export function translatePattern(pattern: string): string | undefined {
  let out = '';
  let quantifiable = false;
  const groups: ('capture' | 'plain' | 'look')[] = [];
  let i = 0;
  while (i < pattern.length) {
    const c = pattern[i]!;
    if (NON_ASCII.test(c)) return undefined;
    switch (c) {
      case '\\': {
        const e = pattern[i + 1];
        if (e === undefined) return undefined;
        if ('dwsDWS'.includes(e) || PUNCTUATION.includes(e)) out += `\\${e}`;
        else if (e === 'n' || e === 't' || e === 'r') out += `\\${e}`;
        else return undefined;
        i += 2;
        quantifiable = true;
        continue;
      }
      case '.':
        out += '[^\\n]';
        quantifiable = true;
        break;
      case '^':
        out += '^';
        quantifiable = false;
        break;
      case '$':
        // Perl_NT's `$` is `\Z`: the end, or just before a final newline.
        out += '(?=\\n?$)';
        quantifiable = false;
        break;
      case '|':
        out += '|';
        quantifiable = false;
        break;
      case '(':
        if (pattern.startsWith('(?:', i)) {
          groups.push('plain');
          out += '(?:';
          i += 3;
        } else if (pattern.startsWith('(?=', i) || pattern.startsWith('(?!', i)) {
          groups.push('look');
          out += pattern.slice(i, i + 3);
          i += 3;
        } else if (pattern[i + 1] === '?') {
          return undefined;
        } else {
          groups.push('capture');
          out += '(';
          i += 1;
        }
        quantifiable = false;
        continue;
      case ')': {
        const kind = groups.pop();
        if (kind === undefined) return undefined;
        out += ')';
        quantifiable = kind !== 'look';
        break;
      }
      case '[': {
        const cls = translateClass(pattern, i);
        if (!cls) return undefined;
        out += cls.source;
        i = cls.end;
        quantifiable = true;
        continue;
      }
      case '*':
      case '+':
      case '?':
      case '{': {
        if (!quantifiable) return undefined;
        let q: string = c;
        let next = i + 1;
        if (c === '{') {
          const m = /^\{([0-9]{1,4})(,([0-9]{1,4})?)?\}/.exec(pattern.slice(i));
          if (!m || (m[3] !== undefined && Number(m[3]) < Number(m[1]))) return undefined;
          q = m[0];
          next = i + m[0].length;
        }
        if (pattern[next] === '+') return undefined; // possessive
        if (pattern[next] === '?') {
          q += '?';
          next++;
        }
        const after = pattern[next];
        if (after !== undefined && '*+?{'.includes(after)) return undefined;
        out += q;
        i = next;
        quantifiable = false;
        continue;
      }
      case ']':
      case '}':
        return undefined;
      default:
        out += c;
        quantifiable = true;
    }
    i++;
  }
  return groups.length === 0 ? out : undefined;
}

function translateClass(pattern: string, start: number): { source: string; end: number } | undefined {
  let i = start + 1;
  let source = '[';
  if (pattern[i] === '^') {
    source += '^';
    i++;
  }
  if (pattern[i] === ']') return undefined;
  let previousLiteral: string | undefined;
  while (i < pattern.length && pattern[i] !== ']') {
    const c = pattern[i]!;
    if (NON_ASCII.test(c) || c === '[' || pattern.startsWith('&&', i)) return undefined;
    if (c === '\\') {
      const e = pattern[i + 1];
      if (e === undefined) return undefined;
      if ('dwsDWS'.includes(e)) previousLiteral = undefined;
      else if (PUNCTUATION.includes(e)) previousLiteral = e;
      else return undefined;
      source += `\\${e}`;
      i += 2;
      continue;
    }
    if (c === '-' && previousLiteral !== undefined && pattern[i + 1] !== ']' && pattern[i + 1] !== undefined) {
      const to = pattern[i + 1]!;
      if (to === '\\' || to === '[' || NON_ASCII.test(to) || to < previousLiteral) return undefined;
      source += `-${to === ']' ? '\\]' : to}`;
      previousLiteral = undefined;
      i += 2;
      continue;
    }
    source += c === '-' ? '\\-' : c;
    previousLiteral = c;
    i++;
  }
  if (pattern[i] !== ']') return undefined;
  return { source: `${source}]`, end: i + 1 };
}

/** A compiled `test(pattern; flags)` for constant arguments, or undefined when real jq must run it. */
export function constantRegex(pattern: string, flags: string | null): ConstantRegex | undefined {
  const f = jsFlags(flags);
  const source = translatePattern(pattern);
  if (f === undefined || source === undefined) return undefined;
  let re: RegExp;
  try {
    re = new RegExp(source, f);
  } catch {
    return undefined;
  }
  return {
    re,
    test(subject: string): boolean {
      if (NON_ASCII.test(subject)) throw new Deferred('non-ASCII regex subject');
      return re.test(subject);
    },
  };
}

/** A pattern that is plain text (no metacharacter), as `sub`/`gsub` may then replace it literally. */
export const isPlainPattern = (pattern: string): boolean => pattern !== '' && ![...'\\^$.|?*+()[]{}'].some((c) => pattern.includes(c));
