/**
 * toPortIdentifier: one Port identifier per Azure id, in any casing, and never one for two ids (issue #10 §1.3).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PORT_IDENTIFIER_PATTERN, fromPortIdentifier, normalizeResourceId, parseResourceId, toPortIdentifier } from '../../shared/azure/resourceId.js';
import { EVENTGRID_SPECS as SPECS } from '../support/reference.js';

const SUB = '0b1f6471-1bf0-4dda-aec3-cb9272f09590';

describe('toPortIdentifier', () => {
  it.each([
    ['plain', `/subscriptions/${SUB}/resourceGroups/RG/providers/Microsoft.Web/sites/App1`, `/subscriptions/${SUB}/resourcegroups/rg/providers/microsoft.web/sites/app1`],
    ['a space is escaped (a literal _ stays _)', `/subscriptions/${SUB}/resourceGroups/my rg_1`, `/subscriptions/${SUB}/resourcegroups/my=20rg_1`],
    ['quote and pipe are escaped', `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Sql/servers/s1/databases/o'brien|x`, `/subscriptions/${SUB}/resourcegroups/rg/providers/microsoft.sql/servers/s1/databases/o=27brien=7cx`],
    ['control characters are escaped with padding', `/subscriptions/${SUB}/resourceGroups/rg\t0`, `/subscriptions/${SUB}/resourcegroups/rg=090`],
    ['a lone surrogate is escaped on its own', `/subscriptions/${SUB}/resourceGroups/rg\ud83d`, `/subscriptions/${SUB}/resourcegroups/rg=u00d83d`],
    ['parentheses are escaped', `/subscriptions/${SUB}/resourceGroups/rg(1)`, `/subscriptions/${SUB}/resourcegroups/rg=281=29`],
    ['= itself is escaped', `/subscriptions/${SUB}/resourceGroups/a=b`, `/subscriptions/${SUB}/resourcegroups/a=3db`],
    ['unicode letters are kept', `/subscriptions/${SUB}/resourceGroups/Café`, `/subscriptions/${SUB}/resourcegroups/café`],
    ['emoji is escaped by code point', `/subscriptions/${SUB}/resourceGroups/rg😀`, `/subscriptions/${SUB}/resourcegroups/rg=u01f600`],
  ])('%s', (_label, id, expected) => {
    expect(toPortIdentifier(id)).toBe(expected);
    expect(PORT_IDENTIFIER_PATTERN.test(expected)).toBe(true);
  });

  it('distinct forbidden characters give distinct identifiers', () => {
    const base = `/subscriptions/${SUB}/resourceGroups/rg`;
    const variants = ['(', ')', '#', '%', '&', "'", ',', '[', ']', '?', '*', ';', '=', '=28', '!'].map((c) => toPortIdentifier(base + c));
    expect(new Set(variants).size).toBe(variants.length);
  });

  // Issue #10 §1.3: a space used to become `_`, so these two legal metric alert names mirrored as one entity.
  it('regression: "High CPU" and "High_CPU" get different identifiers', () => {
    const alert = (name: string) => `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Insights/metricAlerts/${name}`;
    expect(toPortIdentifier(alert('High CPU'))).not.toBe(toPortIdentifier(alert('High_CPU')));
  });

  it('regression: the =xx escape is padded, so "rg\\t0" and "rg\\u0090" differ', () => {
    expect(toPortIdentifier(`/subscriptions/${SUB}/resourceGroups/rg\t0`)).not.toBe(toPortIdentifier(`/subscriptions/${SUB}/resourceGroups/rg\u0090`));
  });

  it('exhaustive: no two distinct names over a confusable alphabet share an identifier (lengths 0-4)', () => {
    // Characters that look alike once escaped: the escape character, hex digits, the marker letters, space and `_`,
    // a control character and its padded neighbour, an astral code point and a lone surrogate.
    const alphabet = [' ', '_', '=', '2', '0', 'u', 'h', 'a', '\t', '\u0090', '😀', '\ud83d'];
    const names: string[] = [''];
    for (let length = 1, layer = ['']; length <= 4; length++) {
      layer = layer.flatMap((prefix) => alphabet.map((ch) => prefix + ch));
      names.push(...layer);
    }
    const seen = new Map<string, string>();
    for (const name of names) {
      const id = `/subscriptions/${SUB}/resourceGroups/rg${name}`;
      const identifier = toPortIdentifier(id);
      const previous = seen.get(identifier);
      if (previous !== undefined) expect.fail(`${JSON.stringify(previous)} and ${JSON.stringify(name)} both map to ${identifier}`);
      seen.set(identifier, name);
    }
    expect(seen.size).toBe(names.length);
  });

  it('long ids are truncated to 1000 characters with a stable hash suffix', () => {
    const long = `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Web/sites/${'a'.repeat(1200)}`;
    const other = `${long.slice(0, -1)}b`;
    const id = toPortIdentifier(long);
    expect(id).toHaveLength(1000);
    expect(id).toMatch(/=h[0-9a-f]{32}$/);
    expect(PORT_IDENTIFIER_PATTERN.test(id)).toBe(true);
    expect(toPortIdentifier(long.toUpperCase())).toBe(id);
    expect(toPortIdentifier(other)).not.toBe(id);
    expect(fromPortIdentifier(id)).toBeUndefined();
  });

  it('truncation keeps whole escapes and never splits a surrogate pair', () => {
    const base = `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Web/sites/`;
    for (let pad = 0; pad < 10; pad++) {
      const identifier = toPortIdentifier(`${base}${'a'.repeat(pad)}${'(😀𝐀'.repeat(200)}`);
      expect(identifier.length).toBeLessThanOrEqual(1000);
      const prefix = identifier.slice(0, -34);
      expect(fromPortIdentifier(prefix), prefix.slice(-20)).toBeDefined();
      expect(prefix).not.toMatch(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/);
    }
  });

  it('an id of exactly 1000 escaped characters is kept whole; one more is truncated', () => {
    const base = `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Web/sites/`;
    const exact = `${base}${'a'.repeat(1000 - base.length)}`;
    expect(toPortIdentifier(exact)).toBe(exact.toLowerCase());
    expect(toPortIdentifier(`${exact}a`)).toMatch(/=h[0-9a-f]{32}$/);
  });

  it('fromPortIdentifier rejects what toPortIdentifier never writes', () => {
    for (const bad of ['a=', 'a=2', 'a=zz', 'a=u01f6', 'a=u000041', 'a=41', 'a=2f', 'a=u110000', 'a b', `a=h${'0'.repeat(32)}`]) {
      expect(fromPortIdentifier(bad), bad).toBeUndefined();
    }
    expect(fromPortIdentifier('my=20rg=3d=u01f600')).toBe('my rg=😀');
  });

  it('the Event Grid sample resourceUri and the Resource Graph id of the same resource agree', () => {
    const write = JSON.parse(
      readFileSync(join(SPECS, 'Microsoft.Resources/stable/2018-01-01/examples/event-grid-schema/resource_write_success.json'), 'utf8'),
    ) as { data: { resourceUri: string } } | { data: { resourceUri: string } }[];
    const del = JSON.parse(
      readFileSync(join(SPECS, 'Microsoft.Resources/stable/2018-01-01/examples/event-grid-schema/resource_delete_success.json'), 'utf8'),
    ) as { data: { resourceUri: string } } | { data: { resourceUri: string } }[];
    const uriOf = (sample: typeof write) => (Array.isArray(sample) ? sample[0]! : sample).data.resourceUri;
    const writeUri = uriOf(write);
    const deleteUri = uriOf(del);
    // The two samples disagree on casing (`resourcegroups` vs `resourceGroups`): one identifier regardless.
    expect(writeUri).not.toBe(deleteUri);
    // Resource Graph's `id` for the same storage account: canonical ARM casing.
    const argId = '/subscriptions/{subscription-id}/resourceGroups/{resource-group}/providers/Microsoft.Storage/storageAccounts/{storage-name}';
    expect(toPortIdentifier(writeUri)).toBe(toPortIdentifier(argId));
    expect(toPortIdentifier(deleteUri)).toBe(toPortIdentifier(argId));
    expect(PORT_IDENTIFIER_PATTERN.test(toPortIdentifier(argId))).toBe(true);
    expect(parseResourceId(writeUri).kind).toBe('resource');
  });

  const idArbitrary = fc
    .tuple(
      fc.uuid(),
      fc.string({ minLength: 1, maxLength: 40, unit: 'grapheme' }).filter((s) => !s.includes('/')),
      fc.constantFrom('Microsoft.Storage/storageAccounts', 'Microsoft.Web/sites', 'microsoft.sql/servers'),
      fc.string({ minLength: 1, maxLength: 80, unit: 'grapheme' }).filter((s) => !s.includes('/')),
    )
    .map(([sub, rg, type, name]) => `/subscriptions/${sub}/resourceGroups/${rg}/providers/${type}/${name}`);

  const recase = (id: string, flips: boolean[]) =>
    [...id].map((ch, i) => (flips[i % flips.length] ? ch.toUpperCase() : ch.toLowerCase())).join('');

  it('property: any casing of an id gives the same identifier, which Port accepts', () => {
    fc.assert(
      // Characters whose case mapping is not a round trip (ß → SS, İ → i̇) are different ids, not other casings.
      fc.property(idArbitrary.filter((id) => id.toUpperCase().toLowerCase() === id.toLowerCase()), fc.array(fc.boolean(), { minLength: 1, maxLength: 16 }), (id, flips) => {
        const identifier = toPortIdentifier(id);
        expect(toPortIdentifier(recase(id, flips))).toBe(toPortIdentifier(id.toLowerCase()));
        expect(identifier.length).toBeLessThanOrEqual(1000);
        expect(PORT_IDENTIFIER_PATTERN.test(identifier)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  /** Name characters chosen to collide if the escape scheme were ambiguous, plus any UTF-16 unit at all. */
  const hostileUnit = fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(' ', '_', '=', '2', '0', 'u', 'h', "'", '|', '"', '\\', '\n', '\t', '\u0090', '(', '😀', '\ud83d', 'é', 'ß', 'İ') },
    { weight: 1, arbitrary: fc.integer({ min: 0, max: 0xffff }).map((n) => String.fromCharCode(n)) },
    { weight: 1, arbitrary: fc.integer({ min: 0x10000, max: 0x10ffff }).map((n) => String.fromCodePoint(n)) },
  );
  const hostileName = (maxLength: number) => fc.string({ minLength: 1, maxLength, unit: hostileUnit }).filter((s) => !s.includes('/'));
  /** Ids whose escaped length falls on both sides of the 1000-character limit. */
  const hostileId = fc
    .tuple(fc.uuid(), hostileName(20), hostileName(40), fc.integer({ min: 0, max: 1100 }), hostileName(30))
    .map(([sub, rg, name, pad, tail]) => `/subscriptions/${sub}/resourceGroups/${rg}/providers/Microsoft.Insights/metricAlerts/${name}${'x'.repeat(pad)}${tail}`);

  it('property: an identifier decodes back to the normalised id unless it was truncated (so it is injective)', () => {
    fc.assert(
      fc.property(hostileId, (id) => {
        const identifier = toPortIdentifier(id);
        expect(identifier.length).toBeLessThanOrEqual(1000);
        expect(PORT_IDENTIFIER_PATTERN.test(identifier)).toBe(true);
        const truncated = /=h[0-9a-f]{32}$/.test(identifier);
        // Truncated identifiers never decode and untruncated ones always do: the two sets cannot meet.
        expect(fromPortIdentifier(identifier)).toBe(truncated ? undefined : normalizeResourceId(id));
        expect(identifier.includes('=h')).toBe(truncated);
      }),
      { numRuns: 1000 },
    );
  });

  it('property: changing one character to a confusable one changes the identifier', () => {
    fc.assert(
      fc.property(hostileId, fc.nat(), hostileUnit, (id, at, replacement) => {
        const chars = [...id];
        const index = 60 + (at % Math.max(1, chars.length - 60));
        if (index >= chars.length || replacement === '/') return;
        const other = [...chars.slice(0, index), replacement, ...chars.slice(index + 1)].join('');
        if (normalizeResourceId(other) === normalizeResourceId(id)) return;
        expect(toPortIdentifier(other)).not.toBe(toPortIdentifier(id));
      }),
      { numRuns: 1000 },
    );
  });

  it('property: any string at all maps to a valid identifier (never ".", "..", too long or forbidden)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 1500, unit: 'binary' }), (raw) => {
        const identifier = toPortIdentifier(raw);
        expect(identifier.length).toBeGreaterThan(0);
        expect(identifier.length).toBeLessThanOrEqual(1000);
        expect(PORT_IDENTIFIER_PATTERN.test(identifier)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});
