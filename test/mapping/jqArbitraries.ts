/**
 * fast-check generators for the differential jq test: Resource Graph-like rows (nulls, nested objects, odd
 * strings and keys) and jq expressions inside the subset shared/mapping/jq compiles to JavaScript.
 */
import fc from 'fast-check';
import type { Json } from '../../shared/mapping/jq/values.js';

/** A jq string literal for `s`: everything outside printable ASCII escaped, so the lexer sees plain text. */
export function jqString(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '"' || ch === '\\') out += `\\${ch}`;
    else if (c >= 0x20 && c < 0x7f) out += ch;
    else if (c > 0xffff) {
      const v = c - 0x10000;
      out += `\\u${(0xd800 + (v >> 10)).toString(16)}\\u${(0xdc00 + (v & 0x3ff)).toString(16)}`;
    } else out += `\\u${c.toString(16).padStart(4, '0')}`;
  }
  return `${out}"`;
}

const ODD_STRINGS = [
  '', ' ', 'prod', 'Prod', 'PROD', 'dev', 'team-a', 'Team-A', 'a,b,c', ',a,', 'a b', 'owner', '__proto__', 'constructor',
  'toString', 'ß', 'SS', 'K', 'é', 'É', '😀', 'line\nbreak', 'end\n', 'tab\t', 'quote"', 'back\\slash', 'ctl\u0001',
  'del\u007f', '1', '0', '10', 'true', 'null', 'westeurope', 'Microsoft.Storage/storageAccounts',
  '/subscriptions/abc/resourceGroups/RG (1)/providers/Microsoft.Web/sites/app', 'a.b', 'abcABC012', '٣', '\u00a0x',
  'a\rb', 'x'.repeat(40), '\uff5a', '\ue000z', 'é'.repeat(20), ' \u0085 x\ufeff\u2028', '\u3000\t',
];

export const oddString: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...ODD_STRINGS) },
  { weight: 2, arbitrary: fc.string({ maxLength: 10 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 6 }) },
);

const TAG_KEYS = ['env', 'owner', 'Owner', 'team', 'cost center', '1', '0', '__proto__', 'constructor', 'é', '', '😀', '\uff5a'];
const tagKey = fc.oneof({ weight: 5, arbitrary: fc.constantFrom(...TAG_KEYS) }, { weight: 1, arbitrary: oddString });

const number = fc.oneof(
  fc.integer({ min: -1000, max: 1000 }),
  fc.constantFrom(0, 1, -1, 0.5, 1.5, 3, 1e21, 2 ** 53, -0.25),
  fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e6, max: 1e6 }),
);

export const jsonValue: fc.Arbitrary<Json> = fc.letrec<{ value: Json }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    number,
    oddString,
    fc.array(tie('value'), { maxLength: 3 }),
    fc.dictionary(tagKey, tie('value'), { maxKeys: 3 }),
  ),
})).value;

const tags = fc.oneof(
  { weight: 5, arbitrary: fc.dictionary(tagKey, oddString, { maxKeys: 4 }) },
  { weight: 1, arbitrary: fc.constant(null) },
  { weight: 1, arbitrary: jsonValue },
);

/** A row shaped like the app's Resource Graph projections, with the odd values real estates have. */
export const row: fc.Arbitrary<Json> = fc.record(
  {
    id: oddString,
    name: fc.oneof(oddString, fc.constant(null)),
    type: fc.constantFrom('microsoft.storage/storageaccounts', 'microsoft.compute/virtualmachines', 'Microsoft.Web/sites', null),
    location: fc.constantFrom('westeurope', 'eastus', '', null),
    kind: fc.oneof(oddString, fc.constant(null)),
    tags,
    sku: fc.oneof(fc.constant(null), fc.record({ name: oddString, tier: oddString, capacity: number }, { requiredKeys: [] })),
    properties: fc.oneof(fc.dictionary(fc.constantFrom('a', 'b', 'state', 'encryption'), jsonValue, { maxKeys: 3 }), jsonValue),
    zones: fc.oneof(fc.constant(null), fc.array(fc.constantFrom('1', '2', '3'), { maxLength: 3 })),
    n: number,
  },
  { requiredKeys: ['id'] },
);

// ---------------------------------------------------------------------------------------------- expressions

const PATHS = [
  '.', '.id', '.name', '.type', '.location', '.kind', '.tags', '.tags.env', '.tags.owner', '.tags["cost center"]', '.tags."1"',
  '.sku', '.sku.name', '.sku.capacity', '.properties', '.properties.a', '.properties.a.b', '.properties.state',
  '.zones', '.zones[0]', '.zones[-1]', '.zones[]', '.zones[]?', '.tags[]', '.tags[]?', '.[]?', '.tags.env?', '.name.x?',
  '.missing', '.missing.deep', '."name"', '.n', '.properties[]?', '.tags.__proto__', '.tags.constructor', '..',
  '.properties.a[0]?', '.[.name]?', '.tags[.kind]?',
];
const path = fc.constantFrom(...PATHS);
const stringLiteral = oddString.map(jqString);
const literal = fc.oneof(stringLiteral, fc.constantFrom('null', 'true', 'false', '1', '0', '-2', '2.5', '"x"', '[]', '{}'));

const regexAtom = fc.constantFrom('a', 'b', 'A', 'e', 'o', '0', '-', '_', ' ', '.', '\\.', '\\d', '\\w', '\\s', '\\D', '[a-c]', '[^0-9]', '[A-Za-z_]', '(a|b)', '(?:ab)', '[.-]', 'prod', 'team');
const regexQuantifier = fc.constantFrom('', '', '', '*', '+', '?', '{2}', '{1,3}', '*?', '+?');
export const regex: fc.Arbitrary<string> = fc
  .tuple(fc.boolean(), fc.array(fc.tuple(regexAtom, regexQuantifier), { minLength: 0, maxLength: 4 }), fc.boolean(), fc.boolean())
  .map(([start, atoms, end, alt]) => {
    const body = atoms.map(([a, q]) => a + q).join('');
    return `${start ? '^' : ''}${body}${alt ? '|z' : ''}${end ? '$' : ''}`;
  });
const regexFlags = fc.constantFrom(null, '', 'i', 'g', 'gi', 'ig');

const NULLARY = [
  'ascii_downcase', 'ascii_upcase', 'tostring', 'tojson', 'length', 'utf8bytelength', 'keys', 'keys_unsorted', 'to_entries',
  'from_entries', 'type', 'not', 'add', 'any', 'all', 'first', 'last', 'values', 'nulls', 'strings', 'numbers', 'booleans',
  'arrays', 'objects', 'iterables', 'scalars', 'trim', 'ltrim', 'rtrim', 'empty', 'error', '.[]?', '..',
];

export const expression: fc.Arbitrary<string> = fc.letrec<{ e: string; value: string; cond: string }>((tie) => {
  const e = tie('e');
  const cond = tie('cond');
  const unaryWithLiteral = fc
    .tuple(fc.constantFrom('split', 'join', 'startswith', 'endswith', 'ltrimstr', 'rtrimstr', 'has', 'error', 'contains'), literal)
    .map(([f, l]) => `${f}(${l})`);
  const filter: fc.Arbitrary<string> = fc.oneof(
    fc.constantFrom(...NULLARY),
    unaryWithLiteral,
    fc.tuple(regex, regexFlags).map(([re, flags]) => (flags === null ? `test(${jqString(re)})` : `test(${jqString(re)}; ${jqString(flags)})`)),
    fc.tuple(fc.constantFrom(' ', 'a', '-', '/', 'prod'), fc.constantFrom('_', '', 'X')).map(([p, r]) => `gsub(${jqString(p)}; ${jqString(r)})`),
    fc.tuple(fc.constantFrom(' ', 'a', '-'), fc.constantFrom('_', '')).map(([p, r]) => `sub(${jqString(p)}; ${jqString(r)})`),
    e.map((x) => `map(${x})`),
    cond.map((x) => `select(${x})`),
    e.map((x) => `with_entries(${x})`),
    cond.map((x) => `any(${x})`),
    cond.map((x) => `all(${x})`),
    e.map((x) => `first(${x})`),
    fc.constantFrom('.key', '.value', '.[0]', '.["key"]'),
  );
  return {
    value: fc.oneof(
      path,
      literal,
      fc.tuple(path, literal).map(([p, l]) => `${p} // ${l}`),
      fc.tuple(path, path, literal).map(([p, q, l]) => `${p} // ${q} // ${l}`),
      e.map((x) => `(${x})`),
    ),
    cond: fc.oneof(
      fc.tuple(path, fc.constantFrom('==', '!=', '<', '>=', '<='), literal).map(([p, op, l]) => `${p} ${op} ${l}`),
      fc.tuple(path, fc.constantFrom('test("^p"; "i")', 'startswith("a")', 'has("env")', 'type == "string"', 'length > 2', 'not')).map(([p, f]) => `(${p} | ${f})`),
      fc.tuple(cond, fc.constantFrom('and', 'or'), cond).map(([a, op, b]) => `(${a}) ${op} (${b})`),
      path,
    ),
    e: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      path,
      literal,
      tie('value'),
      fc.tuple(e, filter).map(([a, f]) => `${a} | ${f}`),
      fc.tuple(e, e).map(([a, b]) => `(${a}) // (${b})`),
      fc.array(fc.tuple(fc.constantFrom('a', 'b', '"c d"', 'if', '"1"', '(.name // "k")', '$__v', '"\\(.location)"'), tie('value')), { minLength: 0, maxLength: 3 })
        .map((pairs) => `{${pairs.map(([k, v]) => (k === '$__v' ? '$__v' : `${k}: ${v}`)).join(', ')}}`)
        .map((obj) => (obj.includes('$__v') ? `(.name // 1) as $__v | ${obj}` : obj)),
      e.map((x) => `[${x}]`),
      fc.tuple(e, e).map(([a, b]) => `(${a}), (${b})`),
      cond.map((c) => `select(${c})`),
      fc.tuple(cond, e, fc.option(e)).map(([c, a, b]) => (b === null ? `if ${c} then ${a} end` : `if ${c} then ${a} else ${b} end`)),
      fc.tuple(cond, e, cond, e, e).map(([c, a, d, b, z]) => `if ${c} then ${a} elif ${d} then ${b} else ${z} end`),
      e.map((x) => `try (${x})`),
      fc.tuple(e, literal).map(([x, l]) => `try (${x}) catch ${l}`),
      e.map((x) => `try (${x}) catch .`),
      e.map((x) => `(${x})?`),
      fc.tuple(e, e).map(([a, b]) => `"<\\(${a})-\\(${b})>"`),
      fc.tuple(e, fc.constantFrom('+', '-', '*', '/', '%', '==', '!=', '<', '<=', '>', '>=', 'and', 'or'), e).map(([a, op, b]) => `(${a}) ${op} (${b})`),
      e.map((x) => `-(${x})`),
      fc.tuple(e, e).map(([a, b]) => `(${a}) as $v | [$v, (${b})]`),
      e.map((x) => `reduce (${x}) as $i (null; . + $i)`),
      e.map((x) => `error(${x})`),
      fc.constantFrom('$blueprints', '$blueprints.resource', 'empty', 'not'),
    ),
  };
}).e;
