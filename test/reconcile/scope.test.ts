/**
 * subscriptionOfIdentifier reads identifiers back (the stale-entity scan and the deletion guard group by it), so it
 * must agree with toPortIdentifier whatever the escaping and whether or not the identifier was truncated.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { toPortIdentifier } from '../../shared/azure/resourceId.js';
import { subscriptionOfIdentifier } from '../../shared/sync/reconcile/scope.js';

const SUB = '0b1f6471-1bf0-4dda-aec3-cb9272f09590';

describe('subscriptionOfIdentifier', () => {
  it('reads the subscription of identifiers, truncated ones and raw ARM ids', () => {
    expect(subscriptionOfIdentifier(toPortIdentifier(`/subscriptions/${SUB.toUpperCase()}/resourceGroups/High CPU`))).toBe(SUB);
    expect(subscriptionOfIdentifier(toPortIdentifier(`/subscriptions/${SUB}/resourceGroups/rg/providers/A.B/c/${'(x)'.repeat(500)}`))).toBe(SUB);
    expect(subscriptionOfIdentifier(`/Subscriptions/${SUB.toUpperCase()}/resourceGroups/rg`)).toBe(SUB);
    expect(subscriptionOfIdentifier(toPortIdentifier(`/subscriptions/${SUB}`))).toBe(SUB);
  });

  it('decodes an escaped subscription segment instead of returning the escapes', () => {
    expect(subscriptionOfIdentifier(toPortIdentifier('/subscriptions/Sub One=2/resourceGroups/rg'))).toBe('sub one=2');
  });

  it('is undefined for identifiers that are not ARM paths or not ours', () => {
    for (const identifier of ['azure-port-sync', '/subscriptions/', 'subscriptions/x', '/subscriptions/a=zz/rg', '/providers/x']) {
      expect(subscriptionOfIdentifier(identifier), identifier).toBeUndefined();
    }
  });

  it('property: agrees with toPortIdentifier for any subscription segment and any tail', () => {
    const segment = fc.string({ minLength: 1, maxLength: 40, unit: 'binary' }).filter((s) => !s.includes('/'));
    const tail = fc.string({ maxLength: 400, unit: 'binary' }).filter((s) => !s.includes('/'));
    fc.assert(
      fc.property(segment, tail, fc.integer({ min: 0, max: 1200 }), (sub, name, pad) => {
        const id = `/subscriptions/${sub}/resourceGroups/rg/providers/Microsoft.Web/sites/${name}${'='.repeat(pad)}`;
        expect(subscriptionOfIdentifier(toPortIdentifier(id))).toBe(sub.toLowerCase());
      }),
      { numRuns: 500 },
    );
  });
});
