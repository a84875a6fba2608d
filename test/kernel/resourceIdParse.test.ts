/**
 * ARM id parsing (shared/azure/resourceId.ts) exactly: the problem named for each kind of id that is not one (the
 * text reaches the poison queue and the logs), which types are not catalog resources, parents of non-resources,
 * the truncated identifier's token boundaries and the decoder's refusals. test/azure/resourceId.test.ts and
 * portIdentifier.test.ts cover the shapes and properties; these pin the details a small change would move.
 */
import { describe, expect, it } from 'vitest';
import { PermanentError } from '../../shared/errors.js';
import { armIdProblem, fromPortIdentifier, normalizeResourceId, parseResourceId, toPortIdentifier } from '../../shared/azure/resourceId.js';

const S = '/subscriptions/s';

function problemOf(id: string): { message: string; code: unknown; source: unknown } {
  try {
    parseResourceId(id);
  } catch (error) {
    expect(error).toBeInstanceOf(PermanentError);
    const e = error as PermanentError & { code?: unknown };
    return { message: e.message, code: e.code, source: e.source };
  }
  throw new Error(`parsed: ${id}`);
}

describe('what is wrong with an id that is not one', () => {
  it.each([
    ['', 'empty'],
    ['   ', 'empty'],
    [`${S}/resourceGroups/a\u001fb`, 'control character U+001F at 33'],
    [`${S}/resourceGroups/a\u0007b`, 'control character U+0007 at 33'],
    [`${S}/resourceGroups/a\udc00`, 'an unpaired UTF-16 surrogate'],
    [`${S}/resourceGroups/\udc00a`, 'an unpaired UTF-16 surrogate'],
    [`${S}/resourceGroups/a\ud800b`, 'an unpaired UTF-16 surrogate'],
    [`${S}/resourceGroups/a\ud800`, 'an unpaired UTF-16 surrogate'],
    ['x/subscriptions/s', 'must start with /subscriptions/'],
    ['/subscriptions//x', 'segment 2 is empty'],
    [`${S}/resourceGroups//providers/a/b/c`, 'segment 4 is empty'],
  ])('%j: %s', (id, problem) => {
    expect(armIdProblem(id)).toBe(problem);
    expect(problemOf(id)).toEqual({ message: `Not an Azure resource id (${problem}): ${JSON.stringify(id)}`, code: 'InvalidResourceId', source: 'input' });
  });

  it.each([
    ['/subscriptions/', 'missing the subscription id'],
    [`${S}/resourceGroups`, 'missing the resource group name'],
    [`${S}/foo/bar`, 'expected "providers" at segment 3, found "foo"'],
    [`${S}/resourceGroups/g/things/x`, 'expected "providers" at segment 5, found "things"'],
    [`${S}/providers`, 'missing the provider namespace after "providers"'],
    [`${S}/resourceGroups/g/providers/Microsoft.Web/sites`, 'type "sites" has no name'],
  ])('%j: %s (a problem only the parser sees)', (id, problem) => {
    expect(armIdProblem(id)).toBeUndefined();
    expect(problemOf(id).message).toBe(`Not an Azure resource id (${problem}): ${JSON.stringify(id)}`);
  });

  it('valid surrogate pairs are fine', () => {
    expect(armIdProblem(`${S}/resourceGroups/a\u{1F600}b`)).toBeUndefined();
    expect(armIdProblem(`${S}/resourceGroups/\u{1F600}`)).toBeUndefined();
  });

  it('2048 characters are allowed, 2049 are not', () => {
    const at = `${S}/resourceGroups/${'r'.repeat(2048 - `${S}/resourceGroups/`.length)}`;
    expect(at).toHaveLength(2048);
    expect(armIdProblem(at)).toBeUndefined();
    expect(armIdProblem(`${at}r`)).toBe('2049 characters, longer than 2048');
  });

  it('shows at most 300 characters of a long id, marking the cut', () => {
    const long = `${S}/foo/${'x'.repeat(400)}`;
    expect(problemOf(long).message).toBe(`Not an Azure resource id (expected "providers" at segment 3, found "foo"): ${JSON.stringify(`${long.slice(0, 300)}…`)}`);
    const exactly = `${S}/foo/${'x'.repeat(300 - `${S}/foo/`.length)}`;
    expect(exactly).toHaveLength(300);
    expect(problemOf(exactly).message).toBe(`Not an Azure resource id (expected "providers" at segment 3, found "foo"): ${JSON.stringify(exactly)}`);
  });
});

describe('kinds and parents', () => {
  it.each([
    [`${S}/resourceGroups/g/providers/Microsoft.Resources/links/l1`],
    [`${S}/resourceGroups/g/providers/Microsoft.Insights/diagnosticSettings/d`],
    [`${S}/providers/Microsoft.PolicyInsights/policyStates/latest`],
    [`${S}/providers/Microsoft.Authorization/roleAssignments/r`],
    [`${S}/resourceGroups/g/providers/Microsoft.Resources/tags/default`],
  ])('%s is not a catalog resource', (id) => {
    expect(parseResourceId(id).kind).toBe('nonResource');
  });

  it('a look-alike namespace or type is a resource', () => {
    expect(parseResourceId(`${S}/resourceGroups/g/providers/Microsoft.Resources2/links/l1`).kind).toBe('resource');
    expect(parseResourceId(`${S}/resourceGroups/g/providers/Microsoft.Resources/linksX/l1`).kind).toBe('resource');
    expect(parseResourceId(`${S}/resourceGroups/g/providers/Microsoft.Resources/deploymentScripts/d`).kind).toBe('resource');
  });

  it("a plain non-resource's parent is its container; a nested one's its parent path; an extension's the extended scope", () => {
    expect(parseResourceId(`${S}/resourceGroups/G/providers/Microsoft.Resources/deployments/d1`).parentId).toBe('/subscriptions/s/resourcegroups/g');
    expect(parseResourceId(`${S}/resourceGroups/G/providers/Microsoft.Resources/deployments/D1/operations/op1`).parentId).toBe(
      '/subscriptions/s/resourcegroups/g/providers/microsoft.resources/deployments/d1',
    );
    expect(parseResourceId(`${S}/resourceGroups/G/providers/Microsoft.Web/sites/A/providers/Microsoft.Authorization/locks/l`).parentId).toBe(
      '/subscriptions/s/resourcegroups/g/providers/microsoft.web/sites/a',
    );
    expect(parseResourceId(`${S}/resourceGroups/G/providers/Microsoft.Web/sites/A/config/web/providers/Microsoft.Insights/diagnosticSettings/x`).parentId).toBe(
      '/subscriptions/s/resourcegroups/g/providers/microsoft.web/sites/a/config/web',
    );
  });

  it('an id outside any resource group has no resourceGroup at all', () => {
    const parsed = parseResourceId(`${S}/providers/Microsoft.Security/pricings/vm`);
    expect(Object.keys(parsed)).not.toContain('resourceGroup');
    expect(Object.keys(parseResourceId(`${S}/resourceGroups/g/providers/Microsoft.Web/sites/a`))).toContain('resourceGroup');
  });

  it('a subscription id keeps its casing in subscriptionId and name; the normalised form collapses slashes once', () => {
    expect(parseResourceId('/Subscriptions/S/')).toEqual({ original: '/Subscriptions/S/', normalized: '/subscriptions/s', kind: 'subscription', subscriptionId: 'S', name: 'S' });
    expect(normalizeResourceId('/a///')).toBe('/a');
  });
});

describe('truncated identifiers', () => {
  const escapedLength = (ch: string) => toPortIdentifier(`/x${ch}`).length - 2;

  it.each([
    ['ascii', 'a'.repeat(1500)],
    ['an escape first', ` ${'b'.repeat(1500)}`],
    ['two escapes', `  ${'c'.repeat(1500)}`],
    ['astral letters', '𝒜'.repeat(600)],
    ['mixed', `${'d'.repeat(500)} ${'𝒜'.repeat(150)}é${'=x'.repeat(100)}😀${'e'.repeat(400)}`],
  ])('%s: the longest prefix of whole tokens that fits, then =h and 32 hex digits', (_label, name) => {
    const id = `/subscriptions/s/resourcegroups/${name}`;
    const identifier = toPortIdentifier(id);
    expect(identifier.length).toBeLessThanOrEqual(1000);
    const m = /^(.*)=h([0-9a-f]{32})$/su.exec(identifier);
    expect(m).not.toBeNull();
    const kept = m![1]!;
    // Whole tokens: the prefix decodes, and it is a prefix of the id.
    const decoded = fromPortIdentifier(kept);
    expect(decoded).toBeDefined();
    expect(id.startsWith(decoded!)).toBe(true);
    // The longest: the next code point's token would not fit in 1000 − 2 − 32.
    const next = String.fromCodePoint(id.slice(decoded!.length).codePointAt(0)!);
    expect(kept.length + escapedLength(next)).toBeGreaterThan(1000 - 2 - 32);
    expect(fromPortIdentifier(identifier)).toBeUndefined();
  });
});

describe('fromPortIdentifier refuses what toPortIdentifier never makes', () => {
  it.each([
    ['=0g', 'a non-hex digit in a short escape'],
    ['=u00002g', 'a non-hex digit in a wide escape'],
    ['=u000020', 'a wide escape of a code point below U+0100'],
    ['=u110000', 'a code point above U+10FFFF'],
    ['=41', 'an escape of a character kept as it is'],
    ['=2', 'a short escape cut short'],
    [' ', 'a character Port identifiers do not allow'],
  ])('%s (%s)', (text) => {
    expect(fromPortIdentifier(`/a${text}`)).toBeUndefined();
  });

  it('decodes canonical escapes', () => {
    expect(fromPortIdentifier('/a=20b=3d=u01f600')).toBe('/a b=😀');
    expect(fromPortIdentifier('/a=d7')).toBe('/a\u00d7');
    // ÿ is a letter, kept as it is: its escape is not canonical.
    expect(fromPortIdentifier('/a=ff')).toBeUndefined();
  });
});
