/**
 * The log sanitiser: secrets and event personal data never reach a log line, at any depth, through arrays, Maps,
 * Sets, Error causes and cycles, and whatever it is given it returns something JSON can write.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createLogger, jsonLineSink, sanitizeFields } from '../shared/log.js';

const SECRET = 'S3CR3T';
const FORBIDDEN = ['claims', 'Authorization', 'httpRequest', 'token', 'access_token', 'clientSecret', 'password', 'cookie', 'x-api-key'];

function nest(depth: number, leaf: unknown): unknown {
  let value = leaf;
  for (let i = 0; i < depth; i++) value = { level: i, inner: value };
  return value;
}

describe('sanitizeFields', () => {
  it('redacts a forbidden key at depth 10 and at depth 40', () => {
    for (const depth of [10, 40]) {
      const text = JSON.stringify(sanitizeFields(nest(depth, { claims: { upn: SECRET }, token: SECRET })));
      expect(text, `depth ${depth}`).not.toContain(SECRET);
    }
    expect(JSON.stringify(sanitizeFields(nest(10, { claims: SECRET, keep: 'visible' })))).toContain('visible');
  });

  it('follows Error causes, Maps, Sets and arrays', () => {
    const error = new Error('outer', { cause: new Error('inner', { cause: { authorization: `Bearer ${SECRET}` } }) });
    const value = {
      error,
      map: new Map<unknown, unknown>([['authorization', SECRET], ['nested', new Map([['claims', SECRET]])]]),
      set: new Set([{ password: SECRET }]),
      list: [[[{ httpRequest: { clientIpAddress: SECRET } }]]],
    };
    const text = JSON.stringify(sanitizeFields(value));
    expect(text).not.toContain(SECRET);
    expect(text).toContain('inner');
  });

  it('survives cycles and keeps shared (non-cyclic) references', () => {
    const shared = { name: 'shared' };
    const cyclic: Record<string, unknown> = { a: shared, b: shared, token: SECRET };
    cyclic['self'] = cyclic;
    const text = JSON.stringify(sanitizeFields(cyclic));
    expect(text).not.toContain(SECRET);
    expect(text.match(/"shared"/g)).toHaveLength(2);
    expect(text).toContain('[circular]');
  });

  it('redacts bearer tokens, JWTs, SAS signatures and account keys inside strings', () => {
    const jwt = `eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.${SECRET}abc`;
    const fields = {
      header: `Bearer ${SECRET}`,
      note: `sent ${jwt} to port`,
      url: `https://acct.queue.core.windows.net/q?sv=2024&sig=${SECRET}%3D&se=1`,
      conn: `DefaultEndpointsProtocol=https;AccountName=a;AccountKey=${SECRET}==;EndpointSuffix=core.windows.net`,
    };
    const text = JSON.stringify(sanitizeFields(fields));
    expect(text).not.toContain(SECRET);
    expect(text).toContain('AccountName=a');
  });

  it('returns something JSON can write for bigint, functions, symbols, buffers and throwing getters', () => {
    const hostile = {
      big: 10n,
      fn: () => 1,
      sym: Symbol('s'),
      bytes: Buffer.from(SECRET),
      get boom(): string {
        throw new Error('getter');
      },
    };
    const text = JSON.stringify(sanitizeFields(hostile));
    expect(text).not.toContain(SECRET);
    expect(text).toContain('"10"');
  });

  it('property: a secret under a forbidden key never reaches the JSON line, at any depth or in any container', () => {
    const secretLeaf = fc.constantFrom(SECRET, { deeper: SECRET }, [SECRET], new Map([['x', SECRET]]));
    const tree = fc.letrec<{ node: unknown }>((tie) => ({
      node: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        fc.oneof(fc.string({ maxLength: 8 }).filter((s) => !s.includes(SECRET)), fc.integer(), fc.boolean(), fc.constant(null)),
        fc.record({ key: fc.constantFrom(...FORBIDDEN), value: secretLeaf }).map(({ key, value }) => ({ [key]: value })),
        fc.array(tie('node'), { maxLength: 4 }),
        fc.dictionary(fc.constantFrom('a', 'b', 'data', 'inner'), tie('node'), { maxKeys: 3 }),
        tie('node').map((inner) => new Map<string, unknown>([['inner', inner]])),
        tie('node').map((inner) => new Set([inner])),
        tie('node').map((inner) => new Error('wrapper', { cause: inner })),
      ),
    }));
    const deep = fc.tuple(tree.node, fc.integer({ min: 0, max: 60 })).map(([node, depth]) => nest(depth, node));
    fc.assert(
      fc.property(deep, (value) => {
        const lines: string[] = [];
        createLogger(jsonLineSink((l) => lines.push(l)), 'debug').info('m', { value });
        expect(lines).toHaveLength(1);
        expect(lines[0]).not.toContain(SECRET);
      }),
      { numRuns: 500 },
    );
  });
});
