/**
 * A fixed table of the jq behaviours mappings trip over (../shared/reference/port-api.md §9 and what jq 1.8
 * changed), each checked three ways: the expected value written here, real jq 1.8.2, and the engine (compiled
 * JavaScript where possible, real jq for the rest).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { JqEngine } from '../../shared/mapping/jq/engine.js';
import { loadRealJq, type RealJq } from '../../shared/mapping/jq/realJq.js';
import type { Json } from '../../shared/mapping/jq/values.js';

type Expected = { values: Json[] } | { error: string | RegExp };
interface Case {
  why: string;
  expr: string;
  input: Json;
  expected: Expected;
  /** Whether the engine runs it as JavaScript (false: real jq, by design). */
  compiled: boolean;
}

const ROW = { id: '/subscriptions/s/resourceGroups/RG/providers/Microsoft.Storage/storageAccounts/sa', name: 'sa', tags: { env: 'prod', Owner: 'Team-A' }, n: null };

const CASES: Case[] = [
  { why: 'jq 1.6/1.7 reject `//` in an object value without parentheses; 1.8 accepts it', expr: '{a: .x // "y"}', input: ROW, expected: { values: [{ a: 'y' }] }, compiled: true },
  { why: 'the portable spelling gives the same', expr: '{a: (.x // "y")}', input: ROW, expected: { values: [{ a: 'y' }] }, compiled: true },
  { why: 'an error is an error, not null (Port’s jq binding returns null unless throwOnError)', expr: '.name.x', input: ROW, expected: { error: 'Cannot index string with string ("x")' }, compiled: true },
  { why: 'jq 1.8: `//` does not swallow errors from its left side', expr: '.name.x // "d"', input: ROW, expected: { error: 'Cannot index string with string ("x")' }, compiled: true },
  { why: '`?` suppresses the error instead', expr: '.name.x? // "d"', input: ROW, expected: { values: ['d'] }, compiled: true },
  { why: '`.a.b?` only suppresses the last index, not errors of `.a`', expr: '[.name.x.y?]', input: ROW, expected: { error: 'Cannot index string with string ("x")' }, compiled: true },
  { why: 'jq 1.8: ltrimstr on null is an error (1.7 passed the input through)', expr: '.n | ltrimstr("a")', input: ROW, expected: { error: 'startswith() requires string inputs' }, compiled: true },
  { why: 'rtrimstr with an empty suffix keeps the string', expr: '"abc" | rtrimstr("")', input: null, expected: { values: ['abc'] }, compiled: true },
  { why: 'test with flags: case-insensitive', expr: '.tags.Owner | test("^team"; "i")', input: ROW, expected: { values: [true] }, compiled: true },
  { why: 'test with an unknown flag is an error', expr: '.name | test("a"; "q")', input: ROW, expected: { error: 'q is not a valid modifier string' }, compiled: false },
  { why: 'test on null is an error', expr: '.n | test("a")', input: ROW, expected: { error: 'null (null) cannot be matched, as it is not a string' }, compiled: true },
  { why: 'Oniguruma folds ß to ss under "i" (JavaScript does not): deferred to real jq', expr: '"ß" | test("ss"; "i")', input: null, expected: { values: [true] }, compiled: true },
  { why: 'Oniguruma `\\d` is Unicode-aware: deferred to real jq', expr: '"٣" | test("\\\\d")', input: null, expected: { values: [true] }, compiled: true },
  { why: '`$` also matches before a final newline', expr: '"ab\\n" | test("b$")', input: null, expected: { values: [true] }, compiled: true },
  { why: 'keys sort by code point (UTF-8 order), not UTF-16', expr: 'keys', input: { '😀': 1, '\uff5a': 2, a: 3 }, expected: { values: [['a', '\uff5a', '😀']] }, compiled: true },
  { why: 'keys_unsorted keeps insertion order', expr: 'keys_unsorted', input: { b: 1, a: 2 }, expected: { values: [['b', 'a']] }, compiled: true },
  { why: 'jq keeps insertion order where JavaScript puts integer-like keys first: deferred to real jq', expr: '{b: 1, "1": 2} | keys_unsorted', input: null, expected: { values: [['b', '1']] }, compiled: true },
  { why: 'keys of null is an error', expr: '.n | keys', input: ROW, expected: { error: 'null (null) has no keys' }, compiled: true },
  { why: 'has on null is false', expr: '.n | has("a")', input: ROW, expected: { values: [false] }, compiled: true },
  { why: '`.[]?` on a scalar gives nothing', expr: '[.name | .[]?]', input: ROW, expected: { values: [[]] }, compiled: true },
  { why: 'try/catch gives the error message', expr: 'try error("boom") catch .', input: null, expected: { values: ['boom'] }, compiled: true },
  { why: 'a builtin error message comes from real jq', expr: 'try (.name | keys) catch .', input: ROW, expected: { values: ['string ("sa") has no keys'] }, compiled: true },
  { why: 'try stops at the first error and keeps earlier outputs', expr: '[try (1, error("x"), 2)]', input: null, expected: { values: [[1]] }, compiled: true },
  { why: 'try does not catch errors of what follows it (jq 1.7+)', expr: '[(try (1, 2)) | error("x")]', input: null, expected: { error: 'x' }, compiled: true },
  { why: 'binary operators loop over the right side outermost', expr: '[(1,2) + (10,20)]', input: null, expected: { values: [[11, 12, 21, 22]] }, compiled: true },
  { why: 'string interpolation: the last interpolation is the outer loop', expr: '["\\(1,2)-\\(3,4)"]', input: null, expected: { values: [['1-3', '2-3', '1-4', '2-4']] }, compiled: true },
  { why: 'numbers inside strings keep jq’s formatting: deferred to real jq', expr: '"\\(.)"', input: 1e21, expected: { values: ['1E+21'] }, compiled: true },
  { why: 'a computed number prints with jq’s own formatting', expr: '. * 1 | tostring', input: 1e16, expected: { values: ['1e+16'] }, compiled: true },
  { why: 'join turns booleans into text, null into nothing', expr: '["a", true, null] | join("-")', input: null, expected: { values: ['a-true-'] }, compiled: true },
  { why: 'join of nested arrays is an error', expr: '[[1]] | join(",")', input: null, expected: { error: 'string ("") and array ([1]) cannot be added' }, compiled: true },
  { why: 'split on an empty string gives no parts', expr: '"" | split(",")', input: null, expected: { values: [[]] }, compiled: true },
  { why: 'length counts code points', expr: '"😀é" | length', input: null, expected: { values: [2] }, compiled: true },
  { why: 'from_entries reads key/Key/name/Name only', expr: '[{"k": "a", "v": 1}] | from_entries', input: null, expected: { error: 'Cannot use null (null) as object key' }, compiled: true },
  { why: '`__proto__` is an ordinary key', expr: '{"__proto__": 1} | keys', input: null, expected: { values: [['__proto__']] }, compiled: true },
  { why: 'an absent `constructor` tag is null, not a JavaScript function', expr: '.tags.constructor', input: ROW, expected: { values: [null] }, compiled: true },
  { why: 'reduce with an empty update gives null', expr: 'reduce (1,2) as $x (0; empty)', input: null, expected: { values: [null] }, compiled: true },
  { why: 'user-defined functions run on real jq', expr: 'def f: . + 1; 1 | f', input: null, expected: { values: [2] }, compiled: false },
  { why: 'slices run on real jq', expr: '.name[1:]', input: ROW, expected: { values: ['a'] }, compiled: false },
];

let engine: JqEngine;
let real: RealJq;

beforeAll(async () => {
  engine = await JqEngine.create();
  real = await loadRealJq();
});

describe('jq pitfalls: expected value, real jq 1.8.2 and the engine agree', () => {
  it.each(CASES)('$expr — $why', ({ expr, input, expected, compiled }) => {
    const [reference] = real.evaluate([expr], [input], [{ program: 0, row: 0 }], {}, 'all');
    const check = (result: { ok: true; values: Json[] } | { ok: false; error: Json | string }) => {
      if ('values' in expected) {
        expect(result).toEqual({ ok: true, values: expected.values });
      } else {
        expect(result.ok).toBe(false);
        const message = (result as { error: string }).error;
        if (typeof expected.error === 'string') expect(message).toBe(expected.error);
        else expect(message).toMatch(expected.error);
      }
    };
    check(reference!);
    const expression = engine.compile(expr);
    if ('error' in expression) throw new Error(expression.error);
    expect(expression.code !== undefined, expression.fallbackReason).toBe(compiled);
    check(engine.evaluateAll(expression, input));
    const [first] = engine.evaluateFirst([expression], [input]);
    if ('values' in expected) expect(first![0]).toEqual({ ok: true, value: expected.values[0] });
    else expect(first![0]!.ok).toBe(false);
  });

  it('rejects builtins that reach outside the row, naming them', () => {
    expect(engine.compile('input')).toEqual({ error: 'input is not available in a mapping (it reads or writes outside the row)' });
    expect(engine.compile('$ENV.PORT_CLIENT_SECRET')).toEqual({ error: '$ENV is not available in a mapping (it reads or writes outside the row)' });
    expect(engine.compile('"\\(env.HOME)"')).toHaveProperty('error', 'env is not available in a mapping (it reads or writes outside the row)');
    expect(engine.compile('{input: .a, env: 1}')).not.toHaveProperty('error');
  });

  it('reports jq’s compile error with positions in the user’s expression', () => {
    expect(engine.compile('.a | nope')).toEqual({ error: 'nope/0 is not defined (line 1, column 6)' });
    expect(engine.compile('(.a')).toEqual({ error: "syntax error, unexpected end of file, expecting '|' or ',' or ')' (line 1, column 2)" });
    expect(engine.compile('1) | (2')).toHaveProperty('error', expect.stringMatching(/^syntax error, unexpected INVALID_CHARACTER/));
    expect(engine.compile('module {a: 1}; .')).toEqual({ error: 'module is not available in a mapping (it reads or writes outside the row)' });
  });
});
