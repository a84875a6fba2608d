import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  changesQuery,
  describeQueries,
  kqlDatetime,
  kqlString,
  lookupByIdsQuery,
  resourcesQuery,
} from '../../shared/azure/queries.js';
import { RES, RG, SUB, everyQuery, since, until } from './allQueries.js';
import { kqlDiagnostics, kqlLiterals, kqlShape, kqlTokens } from './kusto.js';

const HOSTILE = [
  "') | project secret //",
  "x' or '1'=='1",
  "a\\' | take 1 | where 'b",
  '\\',
  "\\'",
  "'",
  '"',
  '|',
  'line1\n| take 1',
  'cr\r\n| take 1',
  'tab\there',
  'nul\u0000byte',
  'ls\u2028ps\u2029',
  '// comment',
  "@'verbatim'",
  '```multi```',
  '{{template}}',
  'résumé 😀 中文',
  '\ud800 lone surrogate',
  ')|union (resources|project secret=properties)',
  "o'brien-sales",
  'ml|team',
];

describe('generated queries', () => {
  it.each(Object.entries(everyQuery()))('%s parses with zero diagnostics', (_name, query) => {
    expect(kqlDiagnostics(query)).toEqual([]);
  });

  it('the README documents every query exactly as the code builds it', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const blocks = [...readme.matchAll(/```kusto\n([\s\S]*?)\n```/g)].map((m) => m[1]);
    for (const [name, query] of Object.entries(describeQueries())) expect(blocks, name).toContain(query);
  });

  it('every paged query ends with order by id asc', () => {
    for (const [name, query] of Object.entries(everyQuery())) {
      expect(query.trimEnd().endsWith('| order by id asc'), name).toBe(true);
    }
  });

  it('resources projects exactly the mapped columns', () => {
    expect(resourcesQuery()).toContain(
      '| project id, name, type, kind, location, resourceGroup, subscriptionId, tenantId, managedBy, sku, tags, provisioningState = tostring(properties.provisioningState)',
    );
  });

  it('type filters are lower-cased, de-duplicated and use in~ / !in~', () => {
    const query = resourcesQuery({
      includeResourceTypes: ['Microsoft.Web/sites', 'microsoft.web/SITES'],
      excludeResourceTypes: ['Microsoft.Web/sites/slots'],
    });
    expect(query).toContain("| where type in~ ('microsoft.web/sites')");
    expect(query).toContain("| where type !in~ ('microsoft.web/sites/slots')");
  });

  it('the change window uses datetime literals from Dates, [since, until)', () => {
    const query = changesQuery('resourcechanges', { since, until });
    expect(query).toContain(
      '| where changeTime >= datetime(2026-03-01T10:00:00.000Z) and changeTime < datetime(2026-03-01T10:15:30.250Z)',
    );
    expect(query).toContain("summarize arg_max(changeTime, targetResourceId, changeType), lastDeleteTime = maxif(changeTime, changeType =~ 'Delete') by id = tolower(targetResourceId)");
    expect(() => changesQuery('resourcechanges', { since: until, until: since })).toThrow(/must end after it starts/);
    expect(() => kqlDatetime(new Date('nope'))).toThrow(/valid Date/);
  });

  it('lookups take 1..1000 ids and use at most two union legs', () => {
    expect(() => lookupByIdsQuery({ resourceIds: [], containerIds: [] })).toThrow(/at least one id/);
    const ids = Array.from({ length: 1001 }, (_, i) => `${RES}${i}`);
    expect(() => lookupByIdsQuery({ resourceIds: ids, containerIds: [] })).toThrow(/at most 1000 ids/);
    const both = lookupByIdsQuery({ resourceIds: [RES], containerIds: [RG] });
    expect(both.match(/\bunion\b/g)).toHaveLength(1);
  });
});

describe('KQL injection', () => {
  it('kqlString: any string round-trips as exactly one string literal (property)', () => {
    const anyString = fc.oneof(
      fc.string({ maxLength: 200, unit: 'binary' }),
      fc.string({ maxLength: 60, unit: fc.integer({ min: 0, max: 0xffff }).map((n) => String.fromCharCode(n)) }),
      fc.constantFrom(...HOSTILE),
    );
    fc.assert(
      fc.property(anyString, (value) => {
        const query = `print x = ${kqlString(value)}`;
        expect(kqlDiagnostics(query)).toEqual([]);
        const tokens = kqlTokens(query);
        expect(tokens.map((t) => (t.literal ? '<string>' : t.value))).toEqual(['print', 'x', '=', '<string>']);
        expect(tokens[3]!.value).toBe(value);
        // Pure printable ASCII: nothing in the literal can start a new line or a comment outside it.
        expect(kqlString(value)).toMatch(/^'[\x20-\x7e]*'$/);
      }),
      { numRuns: 500 },
    );
  });

  it.each(HOSTILE)('hostile id %j stays one literal in a lookup and leaves the query shape alone', (hostile) => {
    const benign = lookupByIdsQuery({ resourceIds: [RES, `${RES}2`], containerIds: [RG] });
    const attacked = lookupByIdsQuery({ resourceIds: [RES, hostile], containerIds: [RG] });
    expect(kqlDiagnostics(attacked)).toEqual([]);
    expect(kqlShape(attacked)).toEqual(kqlShape(benign));
    expect(kqlLiterals(attacked)).toEqual([RES, hostile, RG]);
  });

  it.each(HOSTILE)('hostile resource type %j from settings stays one literal', (hostile) => {
    const benign = resourcesQuery({ includeResourceTypes: ['a/b'], excludeResourceTypes: ['c/d'] });
    const attacked = resourcesQuery({ includeResourceTypes: [hostile], excludeResourceTypes: ['c/d'] });
    expect(kqlDiagnostics(attacked)).toEqual([]);
    expect(kqlShape(attacked)).toEqual(kqlShape(benign));
    expect(kqlLiterals(attacked)).toEqual([hostile.toLowerCase(), 'c/d']);
    const changes = changesQuery('resourcechanges', { since, until }, { excludeResourceTypes: [hostile] });
    expect(kqlShape(changes)).toEqual(kqlShape(changesQuery('resourcechanges', { since, until }, { excludeResourceTypes: ['x'] })));
  });

  // Every id the event path now accepts (issue #10 §1.8) and worse: quotes, pipes, backslashes, line breaks, unicode.
  const hostileUnit = fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom("'", '|', '"', '\\', '\n', '\r', '\t', '\u2028', '\u0085', '`', '@', '{', '}', '(', ')', ' ', '//', 'é', '中', '😀', '\ud800', 'a') },
    { weight: 1, arbitrary: fc.integer({ min: 0, max: 0xffff }).map((n) => String.fromCharCode(n)) },
    { weight: 1, arbitrary: fc.integer({ min: 0x10000, max: 0x10ffff }).map((n) => String.fromCodePoint(n)) },
  );
  const hostileName = fc.string({ minLength: 1, maxLength: 30, unit: hostileUnit });
  const hostileId = fc
    .tuple(hostileName, hostileName, fc.constantFrom('Microsoft.Sql/servers/s1/databases', 'Microsoft.MachineLearningServices/workspaces'))
    .map(([rg, name, type]) => `/subscriptions/${SUB}/resourceGroups/${rg}/providers/${type}/${name}`);
  const ids = (arbitrary: fc.Arbitrary<string>) => fc.array(arbitrary, { minLength: 1, maxLength: 4 });
  const filterOf = (include: string[], exclude: string[]) => ({ includeResourceTypes: include, excludeResourceTypes: exclude });
  /** Type filters are lower-cased and de-duplicated by the query builders. */
  const lower = (values: string[]) => [...new Set(values.map((v) => v.toLowerCase()))];

  it('property: lookups of hostile ids, with hostile type filters, keep the benign query shape', () => {
    fc.assert(
      fc.property(ids(hostileId), ids(hostileId), ids(hostileName), ids(hostileName), (resourceIds, containerIds, include, exclude) => {
        const attacked = lookupByIdsQuery({ resourceIds, containerIds }, filterOf(include, exclude));
        const benign = lookupByIdsQuery(
          { resourceIds: resourceIds.map((_, i) => `${RES}${i}`), containerIds: containerIds.map((_, i) => `${RG}${i}`) },
          filterOf(lower(include).map((_, i) => `a/b${i}`), lower(exclude).map((_, i) => `c/d${i}`)),
        );
        expect(kqlDiagnostics(attacked)).toEqual([]);
        expect(kqlShape(attacked)).toEqual(kqlShape(benign));
        expect(kqlLiterals(attacked)).toEqual([...resourceIds, ...lower(include), ...lower(exclude), ...containerIds]);
      }),
      { numRuns: 300 },
    );
  });

  it('property: full listings and change windows with hostile type filters keep the benign query shape', () => {
    fc.assert(
      fc.property(ids(hostileName), ids(hostileName), (include, exclude) => {
        const hostile = filterOf(include, exclude);
        const benign = filterOf(lower(include).map((_, i) => `a/b${i}`), lower(exclude).map((_, i) => `c/d${i}`));
        for (const [attacked, expected] of [
          [resourcesQuery(hostile), resourcesQuery(benign)],
          [changesQuery('resourcechanges', { since, until }, hostile), changesQuery('resourcechanges', { since, until }, benign)],
        ] as const) {
          expect(kqlDiagnostics(attacked)).toEqual([]);
          expect(kqlShape(attacked)).toEqual(kqlShape(expected));
        }
      }),
      { numRuns: 200 },
    );
  });

  it('kqlString refuses non-strings instead of coercing them', () => {
    expect(() => kqlString(42 as unknown as string)).toThrow(/expects a string/);
  });
});
