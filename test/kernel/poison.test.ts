/**
 * Issue #13, survivor (c): what a poison envelope keeps of a body. Caller personal data (`claims`, `authorization`,
 * `httpRequest`) is removed through every encoding the handler accepts, and each layer is re-encoded as it came.
 * Every test decodes every layer by hand (no generic walker), so a layer that is left undecoded, or decoded once
 * where it was encoded twice, fails here.
 */
import { describe, expect, it } from 'vitest';
import { POISON_MARKER, QueuePoisonMover, poisonBody, stripPersonalData, type PoisonEnvelope } from '../../shared/sync/events/poison.js';
import { decodeBody } from '../../shared/sync/events/decode.js';

const ID = '/subscriptions/0b1f6471-1bf0-4dda-aec3-cb9272f09590/resourceGroups/rg/providers/Microsoft.Web/sites/app';
const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');
const unb64 = (text: string) => Buffer.from(text, 'base64').toString('utf8');

/** An Event Grid delete event with all three personal-data keys, as the samples carry them. */
function eventWithPii(): Record<string, unknown> {
  return {
    id: 'evt-1',
    topic: '/subscriptions/0b1f6471-1bf0-4dda-aec3-cb9272f09590',
    subject: ID,
    eventType: 'Microsoft.Resources.ResourceDeleteSuccess',
    eventTime: '2026-01-01T00:00:00Z',
    dataVersion: '',
    metadataVersion: '1',
    data: {
      resourceUri: ID,
      operationName: 'Microsoft.Web/sites/delete',
      status: 'Succeeded',
      claims: { name: 'Jane Doe', ipaddr: '203.0.113.7', upn: 'jane@contoso.example' },
      authorization: { action: 'Microsoft.Web/sites/delete', evidence: { principalId: 'p-1' } },
      httpRequest: { clientIpAddress: '203.0.113.7', method: 'DELETE' },
    },
  };
}

/** The event without personal data: what every layer must come back as. */
function eventWithout(): Record<string, unknown> {
  const event = eventWithPii();
  const { claims: _c, authorization: _a, httpRequest: _h, ...data } = event['data'] as Record<string, unknown>;
  return { ...event, data };
}

const envelopeOf = (body: unknown, reason = 'because', messageId?: string) => JSON.parse(poisonBody(body, reason, messageId)) as PoisonEnvelope;

describe('a JSON-string body', () => {
  it('is stored as JSON text without claims, authorization or httpRequest, everything else kept', () => {
    const text = JSON.stringify(eventWithPii());
    const envelope = envelopeOf(text);
    expect(typeof envelope.body).toBe('string');
    const layer1 = JSON.parse(envelope.body as string) as Record<string, unknown>;
    expect(layer1).toEqual(eventWithout());
  });

  it('JSON text of JSON text: both layers decoded, the inner one stripped, the encoding kept', () => {
    const text = JSON.stringify(JSON.stringify(eventWithPii()));
    const envelope = envelopeOf(text);
    const layer1 = JSON.parse(envelope.body as string) as unknown;
    expect(typeof layer1).toBe('string');
    expect(JSON.parse(layer1 as string)).toEqual(eventWithout());
  });

  it('a JSON string literal that is not JSON inside is data, kept as it is', () => {
    expect(stripPersonalData('"just text"')).toBe('"just text"');
    expect(envelopeOf('"just text"').body).toBe('"just text"');
  });

  it('an event whose data is JSON text: the inner text is stripped too', () => {
    const event = { ...eventWithPii(), data: JSON.stringify(eventWithPii()['data']) };
    const stripped = stripPersonalData(event) as Record<string, unknown>;
    expect(typeof stripped['data']).toBe('string');
    expect(JSON.parse(stripped['data'] as string)).toEqual(eventWithout()['data']);
  });
});

describe('base64 bodies', () => {
  it('base64 JSON: one layer decoded, stripped and re-encoded as base64', () => {
    const envelope = envelopeOf(b64(JSON.stringify(eventWithPii())));
    const layer1 = envelope.body as string;
    expect(layer1).toMatch(/^[A-Za-z0-9+/]+=*$/);
    expect(JSON.parse(unb64(layer1))).toEqual(eventWithout());
  });

  it('base64 of base64 JSON: both layers decoded, claims gone from the innermost, still base64 of base64', () => {
    const body = b64(b64(JSON.stringify(eventWithPii())));
    const envelope = envelopeOf(body);
    const layer1 = envelope.body as string;
    expect(layer1).toMatch(/^[A-Za-z0-9+/]+=*$/);
    const layer2 = unb64(layer1);
    expect(layer2).toMatch(/^[A-Za-z0-9+/]+=*$/);
    const layer3 = unb64(layer2);
    const inner = JSON.parse(layer3) as Record<string, unknown>;
    expect(inner).toEqual(eventWithout());
    expect(layer3).not.toMatch(/claims|authorization|httpRequest|203\.0\.113\.7|Jane Doe/i);
  });

  it('a JSON string of base64 of base64 JSON: three layers', () => {
    const body = JSON.stringify(b64(b64(JSON.stringify(eventWithPii()))));
    const envelope = envelopeOf(body);
    const layer1 = JSON.parse(envelope.body as string) as string;
    expect(JSON.parse(unb64(unb64(layer1)))).toEqual(eventWithout());
  });

  it('a Buffer of JSON is read as UTF-8 text and stored as JSON text', () => {
    const envelope = envelopeOf(Buffer.from(JSON.stringify(eventWithPii()), 'utf8'));
    expect(JSON.parse(envelope.body as string)).toEqual(eventWithout());
    expect(envelope.originalBytes).toBeUndefined();
  });

  it('a Uint8Array is read like a Buffer', () => {
    const bytes = new Uint8Array(Buffer.from(JSON.stringify(eventWithPii()), 'utf8'));
    expect(JSON.parse(stripPersonalData(bytes) as string)).toEqual(eventWithout());
  });

  it('base64 with line breaks (as some producers wrap it) is decoded too', () => {
    const wrapped = b64(JSON.stringify(eventWithPii())).replace(/(.{76})/g, '$1\n');
    const stripped = stripPersonalData(wrapped) as string;
    expect(JSON.parse(unb64(stripped))).toEqual(eventWithout());
  });

  it('base64 that is not UTF-8 text, or whose text is not JSON, is no JSON at any layer', () => {
    expect(stripPersonalData(Buffer.from([0xc3, 0x28, 0xa0, 0xa1]).toString('base64'))).toBeUndefined();
    expect(stripPersonalData(b64('plain words, not json'))).toBeUndefined();
    expect(stripPersonalData('abc')).toBeUndefined();
    expect(stripPersonalData('')).toBeUndefined();
    expect(stripPersonalData('    ')).toBeUndefined();
  });

  it('base64 whose length is not a multiple of 4, or with a character outside the alphabet, is not base64', () => {
    const text = b64(JSON.stringify({ a: 1, claims: 'x' }));
    expect(stripPersonalData(text)).toBe(b64(JSON.stringify({ a: 1 })));
    expect(stripPersonalData(text.slice(0, -1))).toBeUndefined();
    expect(stripPersonalData(`${text.slice(0, -4)}*${text.slice(-3)}`)).toBeUndefined();
  });
});

describe('what is kept', () => {
  it('nothing to strip: the body is kept byte for byte, whatever its encoding', () => {
    const clean = JSON.stringify({ b: 1, a: [1, 2, { c: 'd' }] });
    expect(stripPersonalData(clean)).toBe(clean);
    expect(stripPersonalData(b64(clean))).toBe(b64(clean));
    expect(stripPersonalData(` ${clean} `)).toBe(` ${clean} `);
    const object = { b: 1, a: [1, 2, { c: 'd' }] };
    expect(stripPersonalData(object)).toBe(object);
    const array = [{ x: 1 }, 'text', 3, null, true];
    expect(stripPersonalData(array)).toBe(array);
  });

  it('arrays are walked item by item: a stripped item gives a new array, the other items unchanged', () => {
    const keep = { x: 1 };
    const out = stripPersonalData([keep, { claims: 1, y: 2 }, 'z', 7]) as unknown[];
    expect(out).toEqual([{ x: 1 }, { y: 2 }, 'z', 7]);
    expect(out[0]).toBe(keep);
  });

  it('scalars and null are kept', () => {
    expect(stripPersonalData(12345)).toBe(12345);
    expect(stripPersonalData(null)).toBeNull();
    expect(stripPersonalData(true)).toBe(true);
    expect(stripPersonalData(undefined)).toBeUndefined();
  });

  it('only the three keys go, in any casing; keys that merely contain them stay', () => {
    const body = { Claims: 1, AUTHORIZATION: 2, HttpRequest: 3, claimsCount: 4, myAuthorization: 5, request: 6 };
    expect(stripPersonalData(body)).toEqual({ claimsCount: 4, myAuthorization: 5, request: 6 });
  });
});

describe('the envelope', () => {
  it('carries the marker, the reason, the message id, the time and the stripped body', () => {
    const before = Date.now();
    const envelope = envelopeOf(eventWithPii(), 'resourceUri is not an ARM id', 'm-9');
    expect(envelope).toEqual({
      [POISON_MARKER]: 1,
      reason: 'resourceUri is not an ARM id',
      messageId: 'm-9',
      poisonedAt: expect.any(String),
      body: eventWithout(),
    });
    expect(Date.parse(envelope.poisonedAt)).toBeGreaterThanOrEqual(before - 1000);
    expect(Date.parse(envelope.poisonedAt)).toBeLessThanOrEqual(Date.now() + 1000);
    expect(envelopeOf(eventWithPii(), 'r')).not.toHaveProperty('messageId');
    expect(envelopeOf(eventWithPii(), 'r', '')).not.toHaveProperty('messageId');
  });

  it('a body with no JSON at any layer is omitted, with its size in bytes and why', () => {
    const envelope = envelopeOf('claims: Jane Doe, 203.0.113.7 — not json', 'not JSON', 'm-1');
    expect(envelope).toEqual({
      [POISON_MARKER]: 1,
      reason: 'not JSON',
      messageId: 'm-1',
      poisonedAt: expect.any(String),
      bodyOmitted: 'the body decodes to no JSON at any layer, so it could hold personal data that cannot be removed',
      originalBytes: Buffer.byteLength('claims: Jane Doe, 203.0.113.7 — not json', 'utf8'),
    });
    const bytes = Buffer.from([0xff, 0xfe, 0x00, 0x41]);
    expect(envelopeOf(bytes)).toMatchObject({ bodyOmitted: expect.stringMatching(/no JSON/), originalBytes: 4 });
  });

  it('an undefined body gives an envelope without a body or a summary', () => {
    const envelope = envelopeOf(undefined, 'empty');
    expect(envelope).not.toHaveProperty('body');
    expect(envelope).not.toHaveProperty('bodyOmitted');
  });

  it('a body nested deeper than 64 levels is summarised, one within the limit is kept', () => {
    let deep: unknown = { claims: 'x' };
    for (let i = 0; i < 70; i++) deep = { d: deep };
    expect(envelopeOf(deep)).toMatchObject({ bodyOmitted: expect.stringMatching(/no JSON/) });
    let shallow: unknown = { claims: 'x', keep: 1 };
    for (let i = 0; i < 30; i++) shallow = { d: shallow };
    let expected: unknown = { keep: 1 };
    for (let i = 0; i < 30; i++) expected = { d: expected };
    expect(envelopeOf(shallow).body).toEqual(expected);
    // JSON text: the text is level 0, its outermost array level 1, so 64 nested arrays are the most that is walked.
    const nested = (n: number) => `${'['.repeat(n)}${']'.repeat(n)}`;
    expect(stripPersonalData(nested(64))).toBe(nested(64));
    expect(stripPersonalData(nested(65))).toBeUndefined();
    // A parsed value: its outermost level is 0.
    const arrays = (n: number): unknown => (n === 0 ? [] : [arrays(n - 1)]);
    expect(stripPersonalData(arrays(64))).toEqual(arrays(64));
    expect(stripPersonalData(arrays(65))).toBeUndefined();
  });

  it('an oversized body keeps the first 8 KiB of its stripped text, not replayable', () => {
    const event = eventWithPii();
    const big = { ...event, data: { ...(event['data'] as object), padding: 'y'.repeat(60_000) } };
    const envelope = envelopeOf(big, 'too big', 'm-2');
    expect(envelope).toMatchObject({ [POISON_MARKER]: 1, reason: 'too big', messageId: 'm-2', bodyOmitted: 'the body is over the 49152-byte poison message limit' });
    expect(envelope).not.toHaveProperty('body');
    expect(envelope.originalBytes).toBe(Buffer.byteLength(JSON.stringify(big), 'utf8'));
    expect(envelope.bodyPrefix).toHaveLength(8 * 1024);
    expect(envelope.bodyPrefix).toBe(JSON.stringify({ ...eventWithout(), data: { ...(eventWithout()['data'] as object), padding: 'y'.repeat(60_000) } }).slice(0, 8192));
    expect(envelope.bodyPrefix).not.toMatch(/claims|Jane Doe/);
    // A string body is cut as the text it is.
    const text = JSON.stringify(big);
    expect(envelopeOf(text).bodyPrefix).toBe(JSON.stringify({ ...eventWithout(), data: { ...(eventWithout()['data'] as object), padding: 'y'.repeat(60_000) } }).slice(0, 8192));
  });

  it('a body just under the limit is kept whole', () => {
    const body = { a: 'y'.repeat(48 * 1024 - 200) };
    const envelope = envelopeOf(body);
    expect(envelope.body).toEqual(body);
  });

  it('a replayed envelope poisoned again stores the original body once, with the new reason', () => {
    const first = envelopeOf(eventWithPii(), 'first', 'm-1');
    const second = envelopeOf(first, 'second', 'm-2');
    expect(second).toMatchObject({ reason: 'second', messageId: 'm-2', body: eventWithout() });
    expect(second.body).not.toHaveProperty(POISON_MARKER);
    // Something that only looks like an envelope (marker not 1, or an array) is a body like any other.
    const lookalike = { [POISON_MARKER]: 2, body: { x: 1 } };
    expect(envelopeOf(lookalike).body).toEqual(lookalike);
    const summary = { [POISON_MARKER]: 1, reason: 'x', poisonedAt: 'y', bodyOmitted: 'z' };
    expect(envelopeOf(summary).body).toEqual(summary);
  });

  it('replays: the stored body decodes to the same event the original body carried', () => {
    for (const body of [JSON.stringify(eventWithPii()), b64(JSON.stringify(eventWithPii())), eventWithPii()]) {
      const envelope = envelopeOf(body);
      const decoded = decodeBody(envelope.body);
      expect(decoded).toEqual({ ok: true, value: eventWithout() });
    }
  });
});

describe('every layer is re-encoded only when something was removed', () => {
  const wrap = (text: string) => b64(text).replace(/(.{16})/g, '$1\n');

  it('base64 of a JSON string of JSON with personal data: stripped through all three layers', () => {
    const body = b64(JSON.stringify(JSON.stringify(eventWithPii())));
    const layer1 = unb64(stripPersonalData(body) as string);
    expect(JSON.parse(JSON.parse(layer1) as string)).toEqual(eventWithout());
  });

  it('clean layers under a wrapped base64 are kept byte for byte (no re-encoding)', () => {
    const clean = JSON.stringify({ a: 1 });
    for (const text of [wrap(clean), wrap(JSON.stringify(clean)), wrap(b64(clean))]) {
      expect(stripPersonalData(text), text).toBe(text);
    }
  });

  it('an object whose strings hold clean JSON or clean base64 is returned as it is', () => {
    const clean = JSON.stringify({ a: 1 });
    for (const value of [clean, JSON.stringify(clean), b64(clean), b64(JSON.stringify(clean))]) {
      const body = { data: value };
      expect(stripPersonalData(body), value).toBe(body);
    }
  });

  it('base64 must be base64 from the first character to the last', () => {
    const text = b64(JSON.stringify({ claims: 1, a: 2 }));
    expect(stripPersonalData(`!!!!${text}`)).toBeUndefined();
    expect(stripPersonalData(`${text}!!!!`)).toBeUndefined();
  });
});

describe('the nesting limit counts every layer', () => {
  const arrays = (n: number, leaf: unknown): unknown => (n === 0 ? leaf : [arrays(n - 1, leaf)]);
  it.each([
    ['plain text', 'abc', 63],
    ['a JSON string literal', '"abc"', 62],
    ['base64 of plain text', b64('abc'), 62],
    ['JSON object text', '{"a":1}', 61],
    ['base64 of JSON object text', b64('{"a":1}'), 60],
  ])('%s as the leaf: kept at %i arrays, summarised one deeper', (_label, leaf, max) => {
    expect(stripPersonalData(arrays(max, leaf))).toEqual(arrays(max, leaf));
    expect(stripPersonalData(arrays(max + 1, leaf))).toBeUndefined();
  });
});

describe('what is not summarised', () => {
  it('an error other than nesting is not hidden: it is thrown', () => {
    const hostile = {
      get data(): unknown {
        throw new Error('getter failed');
      },
    };
    expect(() => stripPersonalData(hostile)).toThrow('getter failed');
  });

  it('a null body is kept as null', () => {
    expect(envelopeOf(null).body).toBeNull();
    expect(envelopeOf([null]).body).toEqual([null]);
  });

  it('the size of an omitted byte body is its byte length, for a Uint8Array too', () => {
    expect(envelopeOf(new Uint8Array([0xff, 0xfe]))).toMatchObject({ bodyOmitted: expect.stringMatching(/no JSON/), originalBytes: 2 });
  });

  it('an envelope of exactly 49152 bytes keeps its body; one byte more keeps a prefix', () => {
    const sized = (n: number) => ({ a: 'y'.repeat(n) });
    const length = (n: number) => Buffer.byteLength(poisonBody(sized(n), 'r'), 'utf8');
    const n = 1000 + (48 * 1024 - length(1000));
    expect(length(n)).toBe(48 * 1024);
    expect(envelopeOf(sized(n), 'r').body).toEqual(sized(n));
    const over = envelopeOf(sized(n + 1), 'r');
    expect(over).not.toHaveProperty('body');
    expect(over.bodyPrefix).toBe(JSON.stringify(sized(n + 1)).slice(0, 8192));
  });
});

describe('QueuePoisonMover', () => {
  it('sends the envelope base64-encoded to the poison queue, kept until someone looks, with the abort signal', async () => {
    const sent: { text: string; options: unknown }[] = [];
    const queue = {
      async sendMessage(text: string, options?: unknown) {
        sent.push({ text, options });
        return {};
      },
    };
    const signal = new AbortController().signal;
    await new QueuePoisonMover(queue).moveToPoison(eventWithPii(), 'bad id', { messageId: 'm-1', abortSignal: signal });
    await new QueuePoisonMover(queue).moveToPoison('not json', 'not JSON');
    expect(sent).toHaveLength(2);
    const first = JSON.parse(unb64(sent[0]!.text)) as PoisonEnvelope;
    expect(first).toMatchObject({ [POISON_MARKER]: 1, reason: 'bad id', messageId: 'm-1', body: eventWithout() });
    expect(sent[0]!.options).toEqual({ messageTimeToLive: -1, abortSignal: signal });
    expect(sent[1]!.options).toEqual({ messageTimeToLive: -1 });
    expect(JSON.parse(unb64(sent[1]!.text))).toMatchObject({ reason: 'not JSON', bodyOmitted: expect.any(String) });
  });
});
