import { describe, expect, it } from 'vitest';
import { parseQueueMessage } from '../../shared/sync/events/message.js';
import { parseRecheckMessage, nextRecheckDelayMs, QueueRecheckScheduler } from '../../shared/sync/events/recheck.js';
import { poisonBody, stripPersonalData } from '../../shared/sync/events/poison.js';
import { personalDataIn } from './layers.js';
import { SAMPLE_NAMES, loadSample, sampleEvent, toQueueText, type SampleSchema } from './samples.js';

const SUB = '0b1f6471-1bf0-4dda-aec3-cb9272f09590';
const ID = `/subscriptions/${SUB}/resourceGroups/Rg-One/providers/Microsoft.Storage/storageAccounts/acct1`;

describe('parseQueueMessage: accepted shapes', () => {
  for (const schema of ['event-grid-schema', 'cloud-events-schema'] as SampleSchema[]) {
    it(`reads every Microsoft.Resources sample as published (${schema})`, async () => {
      for (const name of SAMPLE_NAMES) {
        const parsed = await parseQueueMessage(loadSample(name, schema));
        expect(parsed.kind, name).toBe('event');
        if (parsed.kind !== 'event') continue;
        expect(parsed.event.resourceUri).toMatch(/^\/subscriptions\/\{subscription-id\}\/resource[Gg]roups\/\{resource-group\}\/providers\//);
        expect(parsed.event.eventTime.getUTCFullYear()).toBe(2018);
        expect(parsed.event.schema).toBe(schema === 'event-grid-schema' ? 'EventGridSchema' : 'CloudEventSchemaV1_0');
      }
    });
  }

  const event = sampleEvent('resource_write_success', { resourceId: ID, id: 'evt-1' });
  const forms: [string, unknown][] = [
    ['a parsed object', event],
    ['a JSON string', JSON.stringify(event)],
    ['base64 JSON', toQueueText(event)],
    ['a Buffer of JSON', Buffer.from(JSON.stringify(event))],
    ['a one-element array', [event]],
    ['a JSON string of base64 JSON', JSON.stringify(toQueueText(event))],
  ];
  for (const [label, body] of forms) {
    it(`accepts ${label}`, async () => {
      const parsed = await parseQueueMessage(body);
      expect(parsed).toMatchObject({ kind: 'event', event: { id: 'evt-1', resourceUri: ID, eventType: 'Microsoft.Resources.ResourceWriteSuccess' } });
    });
  }

  it('accepts an Event Grid event without topic and metadataVersion (hand-written), and CloudEvents extension attributes', async () => {
    const { topic: _topic, metadataVersion: _version, ...bare } = sampleEvent('resource_write_success', { resourceId: ID, id: 'bare' });
    expect(await parseQueueMessage(bare)).toMatchObject({ kind: 'event', event: { id: 'bare', schema: 'EventGridSchema' } });
    const cloud = { ...sampleEvent('resource_write_success', { resourceId: ID, schema: 'cloud-events-schema', id: 'ext' }), traceparent: '00-abc-def-01' };
    expect(await parseQueueMessage(cloud)).toMatchObject({ kind: 'event', event: { id: 'ext', schema: 'CloudEventSchemaV1_0' } });
  });

  it('takes the event time from the SDK as a Date', async () => {
    const at = new Date('2026-02-03T04:05:06.789Z');
    for (const schema of ['event-grid-schema', 'cloud-events-schema'] as SampleSchema[]) {
      const parsed = await parseQueueMessage(sampleEvent('resource_write_success', { resourceId: ID, schema, eventTime: at }));
      expect(parsed.kind === 'event' && parsed.event.eventTime.toISOString()).toBe(at.toISOString());
    }
  });

  it('keeps no claims, authorization or httpRequest', async () => {
    const parsed = await parseQueueMessage(sampleEvent('resource_delete_success', { resourceId: ID }));
    const text = JSON.stringify(parsed);
    expect(text).not.toMatch(/claims|authorization|httpRequest|ipaddr|upn/i);
  });

  it('recognises a re-check message and validates it strictly', async () => {
    const recheck = { azurePortSyncRecheck: 1, resourceId: ID.toLowerCase(), hint: 'write', firstSeenAt: new Date().toISOString(), attempt: 2 };
    expect(await parseQueueMessage(recheck)).toMatchObject({ kind: 'recheck', recheck: { attempt: 2 } });
    expect(await parseQueueMessage(toQueueText(recheck))).toMatchObject({ kind: 'recheck' });
    expect(parseRecheckMessage({ ...recheck, extra: 1 })).toEqual({ ok: false, reason: 're-check: unexpected field(s) extra' });
    expect(parseRecheckMessage({ ...recheck, hint: 'upsert' })).toMatchObject({ ok: false, reason: expect.stringContaining('hint') });
    expect(parseRecheckMessage({ ...recheck, attempt: 0 })).toMatchObject({ ok: false, reason: expect.stringContaining('attempt') });
    expect(parseRecheckMessage({ ...recheck, resourceId: 'not-an-id' })).toMatchObject({ ok: false, reason: expect.stringContaining('ARM id') });
    expect(parseRecheckMessage({ ...recheck, firstSeenAt: 'yesterday' })).toMatchObject({ ok: false, reason: expect.stringContaining('firstSeenAt') });
  });
});

describe('parseQueueMessage: malformed input names the problem', () => {
  const good = sampleEvent('resource_write_success', { resourceId: ID });
  const goodCloud = sampleEvent('resource_write_success', { resourceId: ID, schema: 'cloud-events-schema' });
  const data = good['data'] as Record<string, unknown>;
  const cases: [string, unknown, RegExp][] = [
    ['null', null, /null/],
    ['undefined', undefined, /empty/],
    ['a number', 42, /number/],
    ['a boolean', true, /boolean/],
    ['empty string', '', /empty/],
    ['whitespace', '   \n', /empty/],
    ['not JSON', 'hello world', /not JSON/],
    ['broken base64', 'eyJub3QiOiJjbG9zZWQ', /base64/],
    ['base64 of non-JSON', Buffer.from('just text').toString('base64'), /base64 but does not decode to JSON/],
    ['an empty array', [], /empty array/],
    ['an array of two events', [good, good], /array of 2 events/],
    ['a JSON string literal of a number', '7', /number/],
    ['an object of another schema', { hello: 'world' }, /neither an Event Grid event/],
    ['missing data', { ...good, data: undefined }, /data is missing/],
    ['data not an object', { ...good, data: 'text' }, /data is missing or not an object/],
    ['data an array', { ...good, data: [1] }, /not an object/],
    ['missing resourceUri', { ...good, data: { ...data, resourceUri: undefined } }, /resourceUri is missing/],
    ['empty resourceUri', { ...good, data: { ...data, resourceUri: '' } }, /resourceUri is empty/],
    ['unknown event type', { ...good, eventType: 'Contoso.Things.Happened' }, /unknown event type "Contoso.Things.Happened"/],
    ['subscription validation event', { ...good, eventType: 'Microsoft.EventGrid.SubscriptionValidationEvent', data: { validationCode: 'x' } }, /subscription validation/],
    ['invalid eventTime', { ...good, eventTime: '19/07/2018 18:38' }, /eventTime is not an ISO-8601/],
    ['missing id', { ...good, id: undefined }, /id is missing/],
    ['CloudEvent with wrong specversion', { ...goodCloud, specversion: '0.3' }, /specversion must be "1.0"/],
    ['CloudEvent without source', { ...goodCloud, source: undefined }, /source is missing/],
    ['CloudEvent with invalid time', { ...goodCloud, time: 'now' }, /time is not an ISO-8601/],
    ['oversized body', { ...good, data: { ...data, padding: 'x'.repeat(70 * 1024) } }, /65536-byte queue message limit/],
    ['oversized string', 'x'.repeat(70 * 1024), /over the 65536-byte/],
    // What @azure/eventgrid's deserialiser checks beyond our schema:
    ['Event Grid metadataVersion of another schema', { ...good, metadataVersion: '2' }, /^Event Grid event: event is not in the Event Grid schema$/],
    ['Event Grid topic not a string', { ...good, topic: 42 }, /^Event Grid event: .*'topic/],
    ['CloudEvent subject not a string', { ...goodCloud, subject: 42 }, /^CloudEvent: .*'subject' should be a 'string'/],
    ['CloudEvent with data and data_base64', { ...goodCloud, data_base64: 'e30=' }, /^CloudEvent: event contains both a data and data_base64 field$/],
    ['re-check with a bad hint', { azurePortSyncRecheck: 1, resourceId: ID, hint: 'maybe', firstSeenAt: new Date().toISOString(), attempt: 1 }, /hint/],
  ];
  for (const [label, body, reason] of cases) {
    it(label, async () => {
      const parsed = await parseQueueMessage(body);
      expect(parsed.kind).toBe('malformed');
      if (parsed.kind === 'malformed') expect(parsed.reason).toMatch(reason);
    });
  }
});

describe('re-check timing', () => {
  it('steps +1/6, +1/2, then the settle deadline, never past it', () => {
    const settle = 90_000;
    const t0 = 1_000_000;
    expect(nextRecheckDelayMs(1, t0, t0, settle)).toBe(15_000);
    expect(nextRecheckDelayMs(2, t0, t0 + 15_000, settle)).toBe(30_000);
    expect(nextRecheckDelayMs(3, t0, t0 + 45_000, settle)).toBe(45_000);
    expect(nextRecheckDelayMs(9, t0, t0 + 80_000, settle)).toBe(10_000);
    expect(nextRecheckDelayMs(1, t0, t0 + 200_000, settle)).toBe(0);
  });

  it('sends base64 JSON with a whole-second visibility delay', async () => {
    const sent: { text: string; options: unknown }[] = [];
    const scheduler = new QueueRecheckScheduler({
      sendMessage: async (text, options) => {
        sent.push({ text, options });
        return {};
      },
    });
    const message = { azurePortSyncRecheck: 1 as const, resourceId: ID.toLowerCase(), hint: 'delete' as const, firstSeenAt: '2026-01-01T00:00:00.000Z', attempt: 1 };
    await scheduler.schedule(message, 1_200);
    await scheduler.schedule(message, 0);
    expect(JSON.parse(Buffer.from(sent[0]!.text, 'base64').toString('utf8'))).toEqual(message);
    expect(sent.map((s) => (s.options as { visibilityTimeout: number }).visibilityTimeout)).toEqual([2, 1]);
  });
});

describe('poison body', () => {
  const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');
  /** The handler's inputs for one event, in every encoding it accepts (and base64 of base64, which it poisons). */
  const encodings = (event: Record<string, unknown>): [string, unknown][] => {
    const json = JSON.stringify(event);
    return [
      ['a parsed object', event],
      ['a JSON string', json],
      ['base64 JSON', b64(json)],
      ['a double-encoded JSON string', JSON.stringify(json)],
      ['a JSON string of base64 JSON', JSON.stringify(b64(json))],
      ['base64 of base64 JSON', b64(b64(json))],
      ['a Buffer of JSON', Buffer.from(json)],
      ['a JSON array of events', [event, event]],
      ['JSON text of an array of events', JSON.stringify([event, event])],
      ['an event whose data is JSON text', { ...event, data: JSON.stringify(event['data']) }],
    ];
  };
  for (const schema of ['event-grid-schema', 'cloud-events-schema'] as SampleSchema[]) {
    // The delete samples carry all three: claims, authorization and httpRequest.
    const event = sampleEvent('resource_delete_success', { resourceId: ID, schema });
    for (const [label, body] of encodings(event)) {
      it(`${schema}, ${label}: no layer keeps personal data, and the envelope replays as the original parses`, async () => {
        expect(personalDataIn(typeof body === 'string' ? body : Buffer.isBuffer(body) ? body.toString('utf8') : JSON.stringify(body))).not.toEqual([]);
        const stored = poisonBody(body, 'because', 'm-1');
        expect(personalDataIn(stored)).toEqual([]);
        const envelope = JSON.parse(stored) as Record<string, unknown>;
        expect(envelope).toMatchObject({ azurePortSyncPoisoned: 1, reason: 'because', messageId: 'm-1' });
        expect(envelope).toHaveProperty('body');
        expect(await parseQueueMessage(envelope)).toEqual(await parseQueueMessage(body));
        expect(await parseQueueMessage(toQueueText(envelope))).toEqual(await parseQueueMessage(body));
      });
    }
  }

  it('keeps everything but the personal data, in the original encoding', () => {
    const event = sampleEvent('resource_delete_success', { resourceId: ID });
    const stored = JSON.parse(poisonBody(event, 'because')) as { body: Record<string, unknown> };
    expect(stored.body['id']).toBe(event['id']);
    expect(Object.keys(stored.body['data'] as object).sort()).toEqual(
      ['correlationId', 'operationName', 'resourceProvider', 'resourceUri', 'status', 'subscriptionId', 'tenantId'].sort(),
    );
    const asBase64 = JSON.parse(poisonBody(b64(JSON.stringify(event)), 'because')) as { body: string };
    expect(JSON.parse(Buffer.from(asBase64.body, 'base64').toString('utf8'))).toEqual(stored.body);
    // Nothing to remove: the body is kept byte for byte.
    const clean = b64(JSON.stringify(stored.body));
    expect((JSON.parse(poisonBody(clean, 'r')) as { body: string }).body).toBe(clean);
  });

  it('strips PII keys in any casing and at any depth', () => {
    const body = { a: [{ b: { Claims: 1, AUTHORIZATION: 2, httprequest: 3, keep: 4 } }], data: { nested: { deeper: { claims: { upn: 'x' } } } } };
    expect(stripPersonalData(body)).toEqual({ a: [{ b: { keep: 4 } }], data: { nested: { deeper: {} } } });
  });

  it('stores a summary, not the text, when no layer decodes to JSON', async () => {
    for (const body of ['not json {"claims":{"ipaddr":"{IP-address}"', b64('{"claims":'), 'eyJub3QiOiJjbG9zZWQ', Buffer.from([0xff, 0xfe, 0x00])]) {
      const stored = JSON.parse(poisonBody(body, 'r', 'm-2')) as Record<string, unknown>;
      expect(stored).toMatchObject({ azurePortSyncPoisoned: 1, reason: 'r', messageId: 'm-2', bodyOmitted: expect.stringMatching(/decodes to no JSON/) });
      expect(stored).not.toHaveProperty('body');
      expect(stored['originalBytes']).toBe(Buffer.byteLength(typeof body === 'string' ? body : body));
      expect(await parseQueueMessage(stored)).toMatchObject({ kind: 'malformed', reason: expect.stringMatching(/envelope without the original message/) });
    }
  });

  it('summarises bodies nested too deep to walk instead of failing', () => {
    const deep = `${'['.repeat(5000)}${']'.repeat(5000)}`;
    expect(JSON.parse(poisonBody(deep, 'r'))).toMatchObject({ bodyOmitted: expect.any(String) });
  });

  it('wraps oversized bodies with the reason and a stripped prefix', () => {
    const event = sampleEvent('resource_delete_success', { resourceId: ID });
    const big = { ...event, data: { ...(event['data'] as object), padding: 'y'.repeat(60_000) } };
    const stored = JSON.parse(poisonBody(big, 'too big', 'm-1')) as Record<string, unknown>;
    expect(stored).toMatchObject({ azurePortSyncPoisoned: 1, reason: 'too big', messageId: 'm-1', bodyOmitted: expect.stringMatching(/over the/) });
    expect(String(stored['bodyPrefix'])).toContain(String(event['id']));
    expect(personalDataIn(JSON.stringify(stored))).toEqual([]);
  });

  it('a replayed envelope poisoned again is stored once, with the new reason', () => {
    const event = sampleEvent('resource_delete_success', { resourceId: ID });
    const first = JSON.parse(poisonBody(event, 'first')) as Record<string, unknown>;
    const second = JSON.parse(poisonBody(first, 'second')) as Record<string, unknown>;
    expect(second['reason']).toBe('second');
    expect(second['body']).toEqual(first['body']);
  });
});
