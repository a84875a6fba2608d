/**
 * Issue #13, survivor (b): the Port identifier is one-to-one over normalised ids. An escape below U+0100 is `=` and
 * exactly two hex digits; without the padding, `\t` followed by `0` (`=9` + `0`) and U+0090 (`=90`) would share an
 * identifier, and two resources would be one entity.
 */
import { describe, expect, it } from 'vitest';
import { PORT_IDENTIFIER_PATTERN, armIdProblem, fromPortIdentifier, normalizeResourceId, parseResourceId, toPortIdentifier } from '../../shared/azure/resourceId.js';

const RG = '/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/';
const N = '/subscriptions/00000000-0000-0000-0000-000000000001/resourcegroups/';

describe('escapes below U+0100 have two hex digits', () => {
  it('rg\\t0 and rg\\u0090 get distinct identifiers, each decoding back to its own id', () => {
    const tab = toPortIdentifier(`${RG}rg\t0`);
    const c1 = toPortIdentifier(`${RG}rg\u0090`);
    expect(tab).toBe(`${N}rg=090`);
    expect(c1).toBe(`${N}rg=90`);
    expect(tab).not.toBe(c1);
    expect(fromPortIdentifier(tab)).toBe(normalizeResourceId(`${RG}rg\t0`));
    expect(fromPortIdentifier(c1)).toBe(normalizeResourceId(`${RG}rg\u0090`));
  });

  it('every escaped code point below U+0100, followed by a hex digit, is distinct from every other such pair', () => {
    const seen = new Map<string, string>();
    for (let cp = 0; cp < 0x100; cp++) {
      const ch = String.fromCodePoint(cp);
      for (const next of ['', '0', '9', 'a', 'f']) {
        const id = `${RG}rg${ch}${next}`;
        const identifier = toPortIdentifier(id);
        const normalized = normalizeResourceId(id);
        const other = seen.get(identifier);
        if (other !== undefined) expect(other, `${JSON.stringify(id)} and ${JSON.stringify(other)}`).toBe(normalized);
        seen.set(identifier, normalized);
        expect(fromPortIdentifier(identifier), JSON.stringify(id)).toBe(normalized);
      }
    }
  });

  it('escapes are lower-case, fixed width and canonical: =3d for "=", =20 for a space, =u + six digits above U+00FF', () => {
    expect(toPortIdentifier(`${RG}a=b`)).toBe(`${N}a=3db`);
    expect(toPortIdentifier(`${RG}My RG`)).toBe(`${N}my=20rg`);
    expect(toPortIdentifier(`${RG}x\u0001`)).toBe(`${N}x=01`);
    expect(toPortIdentifier(`${RG}\u{1F600}`)).toBe(`${N}=u01f600`);
    expect(toPortIdentifier(`${RG}\u2603`)).toBe(`${N}=u002603`);
    // Letters of any script are kept as they are (lower-cased).
    expect(toPortIdentifier(`${RG}\u0100`)).toBe(`${N}\u0101`);
  });
});

describe("Port's identifier rule and the id parser's own complaints", () => {
  it('PORT_IDENTIFIER_PATTERN: the whole identifier is checked; "." and ".." alone are refused, dots elsewhere are fine', () => {
    expect(PORT_IDENTIFIER_PATTERN.test('.')).toBe(false);
    expect(PORT_IDENTIFIER_PATTERN.test('..')).toBe(false);
    expect(PORT_IDENTIFIER_PATTERN.test('...')).toBe(true);
    expect(PORT_IDENTIFIER_PATTERN.test('..a')).toBe(true);
    expect(PORT_IDENTIFIER_PATTERN.test('a..')).toBe(true);
    expect(PORT_IDENTIFIER_PATTERN.test(' a')).toBe(false);
    expect(PORT_IDENTIFIER_PATTERN.test('a ')).toBe(false);
    expect(PORT_IDENTIFIER_PATTERN.test('/subscriptions/x/résumé=3d@_.+:\\-')).toBe(true);
    expect(PORT_IDENTIFIER_PATTERN.test('')).toBe(false);
  });

  it('names what is wrong with an id that is not one', () => {
    expect(armIdProblem(5 as unknown as string)).toBe('not a string');
    expect(() => normalizeResourceId(5 as unknown as string)).toThrow('Not an Azure resource id (not a string): "5"');
    expect(() => parseResourceId('/subscriptions/s/providers/Microsoft.Web')).toThrow(
      'Not an Azure resource id (provider "Microsoft.Web" has no resource type and name): "/subscriptions/s/providers/Microsoft.Web"',
    );
    expect(() => parseResourceId('/subscriptions/s/providers/A/providers/B/t/n')).toThrow('provider "A" has no resource type and name');
  });
});
