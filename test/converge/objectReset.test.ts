/**
 * Clearing removed keys of object-valued properties, so a deep-merging Port converges too (objectReset.ts).
 */
import { describe, expect, it } from 'vitest';
import { deepMergeWouldKeepStale, objectResetFor } from '../../shared/sync/converge/objectReset.js';

describe('deepMergeWouldKeepStale', () => {
  it('is true only when merging the new object into the stored one would keep something the new one lacks', () => {
    expect(deepMergeWouldKeepStale({ a: '1', b: '2' }, { a: '1' })).toBe(true);
    expect(deepMergeWouldKeepStale({ a: '1', b: '2' }, { a: '1', b: null })).toBe(true);
    expect(deepMergeWouldKeepStale({ sku: { name: 'S', tier: 'T' } }, { sku: { name: 'S' } })).toBe(true);
    expect(deepMergeWouldKeepStale({ a: '1' }, { a: '2', b: '3' })).toBe(false);
    expect(deepMergeWouldKeepStale({ a: null }, {})).toBe(false);
    expect(deepMergeWouldKeepStale({ a: '1' }, null)).toBe(false); // null replaces the whole property either way
    expect(deepMergeWouldKeepStale(['x', 'y'], ['x'])).toBe(false); // arrays are replaced, never merged
    expect(deepMergeWouldKeepStale(undefined, { a: '1' })).toBe(false);
  });
});

describe('objectResetFor', () => {
  it('clears exactly the object properties that lost keys, nothing else', () => {
    const entity = { identifier: 'e', title: 't', properties: { tags: { a: '1' }, sku: { name: 'S' }, location: 'x' }, relations: { r: 'y' } };
    expect(objectResetFor(entity, { tags: { a: '1', b: '2' }, sku: { name: 'S' } }, ['sku', 'tags'])).toEqual({
      identifier: 'e',
      properties: { tags: null },
      relations: {},
    });
    expect(objectResetFor(entity, { tags: { a: '1' } }, ['sku', 'tags'])).toBeUndefined();
    expect(objectResetFor(entity, undefined, ['tags'])).toBeUndefined();
  });
});
