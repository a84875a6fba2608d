/**
 * The malformed-message corpus through the real queue path (Azurite + queue host + function handler + emulators).
 * Every kind ends in exactly one documented outcome:
 * - poisoned: moved to `<queue>-poison` by the handler (body kept, caller PII stripped), one error line with the reason;
 * - dropped: foreign subscription, acknowledged with one warning, nothing written;
 * - acknowledged: failure/cancel/action types and noise, nothing written, no warning.
 * Never retried, never blocking the good message sent alongside.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import funcs from '@azure/functions';
import { resourceEventsHandler } from '../../functions/resourceEvents.js';
import { toPortIdentifier } from '../../shared/azure/resourceId.js';
import { BP, createRig, startServices, type Rig, type Services } from './harness.js';
import { classifyEvent } from '../../shared/sync/events/classify.js';
import { parseQueueMessage } from '../../shared/sync/events/message.js';
import { personalDataIn } from './layers.js';
import { sampleEvent, writeEvent } from './samples.js';

const { InvocationContext } = funcs;

const SUB = '0b1f6471-1bf0-4dda-aec3-cb9272f09590';
const FOREIGN = '99999999-8888-7777-6666-555555555555';
const RG = `/subscriptions/${SUB}/resourceGroups/rg-corpus`;
const GOOD = `${RG}/providers/Microsoft.Storage/storageAccounts/goodacct`;

const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');
const json = (value: unknown) => b64(JSON.stringify(value));

type Outcome = 'poisoned' | 'dropped' | 'acknowledged';
interface Kind {
  label: string;
  /** Raw queue message text (what Event Grid or a producer wrote). */
  text: string;
  outcome: Outcome;
  reason?: RegExp;
}

function corpus(): Kind[] {
  const good = writeEvent({ resourceId: GOOD });
  const data = good['data'] as Record<string, unknown>;
  const cloud = sampleEvent('resource_write_success', { resourceId: GOOD, schema: 'cloud-events-schema' });
  return [
    { label: 'not JSON', text: b64('this is not json {'), outcome: 'poisoned', reason: /not JSON/ },
    { label: 'broken inner base64', text: b64('eyJpZCI6IjEiLCJldmVudFR5cGUi'), outcome: 'poisoned', reason: /base64/ },
    { label: 'empty message', text: b64(''), outcome: 'poisoned', reason: /empty/ },
    { label: 'JSON null', text: json(null), outcome: 'poisoned', reason: /null/ },
    { label: 'a number', text: json(12345), outcome: 'poisoned', reason: /number/ },
    { label: 'wrong schema', text: json({ foo: 'bar', when: 'now' }), outcome: 'poisoned', reason: /neither an Event Grid event/ },
    { label: 'missing resourceUri', text: json({ ...good, data: { ...data, resourceUri: undefined } }), outcome: 'poisoned', reason: /resourceUri is missing/ },
    { label: 'unknown event type', text: json({ ...good, eventType: 'Microsoft.Storage.BlobCreated' }), outcome: 'poisoned', reason: /unknown event type/ },
    {
      // Quotes and pipes alone are legal in Azure names (test/events/legalIds.test.ts); the line break is not.
      label: 'id with a control character',
      text: json({ ...good, data: { ...data, resourceUri: `${RG}/providers/Microsoft.Web/sites/x' | project secret\n| where "1"=="1` } }),
      outcome: 'poisoned',
      reason: /control character U\+000A/,
    },
    {
      label: 'subscription validation event',
      text: json({ ...good, eventType: 'Microsoft.EventGrid.SubscriptionValidationEvent', data: { validationCode: 'abc' } }),
      outcome: 'poisoned',
      reason: /subscription validation/,
    },
    { label: 'array of two events', text: json([good, writeEvent({ resourceId: GOOD })]), outcome: 'poisoned', reason: /array of 2 events/ },
    { label: 'empty array', text: json([]), outcome: 'poisoned', reason: /empty array/ },
    { label: 'CloudEvent wrong specversion', text: json({ ...cloud, specversion: '0.3' }), outcome: 'poisoned', reason: /specversion/ },
    { label: 'data not an object', text: json({ ...good, data: 'resourceUri=/subscriptions/x' }), outcome: 'poisoned', reason: /data is missing or not an object/ },
    { label: 'resourceUri not an ARM id', text: json({ ...good, data: { ...data, resourceUri: 'https://contoso.example/things/1' } }), outcome: 'poisoned', reason: /must start with \/subscriptions\// },
    { label: 'eventTime invalid', text: json({ ...good, eventTime: 'Thursday' }), outcome: 'poisoned', reason: /eventTime is not an ISO-8601/ },
    { label: 'missing event id', text: json({ ...good, id: '' }), outcome: 'poisoned', reason: /id is empty/ },
    {
      label: 're-check with an unknown field',
      text: json({ azurePortSyncRecheck: 1, resourceId: GOOD, hint: 'write', firstSeenAt: new Date().toISOString(), attempt: 1, evil: true }),
      outcome: 'poisoned',
      reason: /unexpected field\(s\) evil/,
    },
    { label: 'base64 of base64 of JSON with a bad type', text: b64(json({ ...good, eventType: 42 })), outcome: 'poisoned', reason: /eventType is missing or not a string/ },
    { label: 'foreign subscription', text: json(writeEvent({ resourceId: `/subscriptions/${FOREIGN}/resourceGroups/theirs` })), outcome: 'dropped', reason: /not in AZURE_SUBSCRIPTION_IDS/ },
    { label: 'write failure event', text: json(sampleEvent('resource_write_failure', { resourceId: GOOD })), outcome: 'acknowledged' },
    { label: 'action event (CloudEvents)', text: json(sampleEvent('resource_action_success', { resourceId: GOOD, schema: 'cloud-events-schema' })), outcome: 'acknowledged' },
    { label: 'deployment noise', text: json(writeEvent({ resourceId: `${RG}/providers/Microsoft.Resources/deployments/Microsoft.StorageAccount-1` })), outcome: 'acknowledged' },
    ...personalDataKinds(),
  ];
}

/**
 * Malformed events that carry claims, authorization and httpRequest (the delete samples), in every encoding the
 * handler receives, for both schemas. The queue text is what the host base64-decodes and JSON-parses first.
 */
function personalDataKinds(): Kind[] {
  const kinds: Kind[] = [];
  for (const schema of ['event-grid-schema', 'cloud-events-schema'] as const) {
    const sample = sampleEvent('resource_delete_success', { resourceId: `${RG}/providers/Microsoft.Web/sites/badid`, schema });
    const event = { ...sample, data: { ...(sample['data'] as object), resourceUri: `${RG}/providers/Microsoft.Web/sites/bad\u0007id` } };
    const text = JSON.stringify(event);
    const control = /control character U\+0007/;
    const encodings: [string, string, RegExp][] = [
      ['a parsed object', b64(text), control],
      ['a JSON string', b64(JSON.stringify(text)), control],
      ['base64 JSON', b64(b64(text)), control],
      ['a double-encoded JSON string', b64(JSON.stringify(JSON.stringify(text))), control],
      ['base64 of base64 JSON', b64(b64(b64(text))), /base64 but does not decode to JSON/],
      ['a JSON array of events', b64(JSON.stringify([event, event])), /array of 2 events/],
    ];
    for (const [encoding, queueText, reason] of encodings) {
      kinds.push({ label: `personal data, ${schema}, ${encoding}`, text: queueText, outcome: 'poisoned', reason });
    }
  }
  return kinds;
}

/** What the processor decides about a body before any I/O: parsing, then classification. */
async function verdict(body: unknown): Promise<{ kind: string; reason?: string }> {
  const parsed = await parseQueueMessage(body);
  if (parsed.kind !== 'event') return parsed.kind === 'malformed' ? parsed : { kind: parsed.kind };
  const classified = classifyEvent(parsed.event, { subscriptionIds: [SUB], includeResourceTypes: [], excludeResourceTypes: [] });
  return classified.action === 'malformed' ? { kind: 'malformed', reason: classified.reason } : { kind: classified.action };
}

let services: Services;
let rig: Rig;
const kinds = corpus();
const sent = new Map<string, Kind>();
let goodMessageId = '';

beforeAll(async () => {
  services = await startServices();
  services.arg.upsertSubscription({ id: `/subscriptions/${SUB}` });
  services.arg.upsertResourceGroup({ id: RG, location: 'westeurope' });
  services.arg.upsertResource({ id: GOOD, location: 'westeurope', tags: { team: 'a' } });
  rig = await createRig(services, { subscriptionIds: [SUB] });
  for (const kind of kinds) sent.set(await rig.sendText(kind.text), kind);
  goodMessageId = await rig.send(writeEvent({ resourceId: GOOD, eventTime: new Date(Date.now() - 60_000) }));
  const result = await rig.host.drain({ horizonMs: 20_000 });
  expect(result.remaining).toBe(0);
}, 60_000);

afterAll(async () => {
  await rig?.close();
  await services?.close();
});

describe('malformed corpus', () => {
  it('has at least 20 kinds', () => {
    expect(kinds.length).toBeGreaterThanOrEqual(20);
  });

  it('each message was handled exactly once (no host retries, nothing left in the queue)', () => {
    const byMessage = new Map<string, number>();
    for (const i of rig.host.invocations) byMessage.set(i.messageId, (byMessage.get(i.messageId) ?? 0) + 1);
    for (const [messageId, kind] of sent) {
      expect(byMessage.get(messageId), kind.label).toBe(1);
      expect(rig.host.invocations.find((i) => i.messageId === messageId)?.outcome, kind.label).toBe('succeeded');
    }
  });

  it('the good message next to them was applied', () => {
    expect(rig.host.invocations.find((i) => i.messageId === goodMessageId)?.outcome).toBe('succeeded');
    expect(services.port.entity(BP.resource, toPortIdentifier(GOOD))?.properties?.['tags']).toEqual({ team: 'a' });
  });

  it('the poison queue holds exactly the poisoned messages, with no personal data at any layer', async () => {
    const poisoned = kinds.filter((k) => k.outcome === 'poisoned');
    const stored = await rig.poison.peekMessages({ numberOfMessages: 32 });
    expect(stored.peekedMessageItems).toHaveLength(poisoned.length);
    // The sent texts did carry personal data (so this can fail).
    expect(poisoned.filter((k) => personalDataIn(k.text).length > 0).length).toBeGreaterThanOrEqual(12);
    for (const message of stored.peekedMessageItems) expect(personalDataIn(message.messageText)).toEqual([]);
  });

  it('each poisoned message is an envelope with its reason and the body the handler received, or a summary', async () => {
    const envelopes = (await rig.poisonBodies()).map((b) => JSON.parse(b) as Record<string, unknown>);
    for (const envelope of envelopes) {
      expect(envelope).toMatchObject({ azurePortSyncPoisoned: 1, reason: expect.any(String), poisonedAt: expect.any(String) });
      // Replaying an envelope gives the verdict the original got: the body was kept (minus personal data).
      if ('body' in envelope) expect(await verdict(envelope)).toEqual({ kind: 'malformed', reason: envelope['reason'] });
    }
    for (const kind of kinds.filter((k) => k.outcome === 'poisoned')) {
      expect(envelopes.some((e) => kind.reason!.test(String(e['reason']))), kind.label).toBe(true);
    }
    const notJson = envelopes.find((e) => /not JSON/.test(String(e['reason'])));
    expect(notJson).toMatchObject({ bodyOmitted: expect.stringMatching(/decodes to no JSON/), originalBytes: 18 });
    expect(notJson).not.toHaveProperty('body');
    expect(envelopes.find((e) => e['body'] === 12345)).toBeDefined();
  });

  for (const kind of kinds) {
    it(`${kind.label} → ${kind.outcome}`, () => {
      const messageId = [...sent].find(([, k]) => k === kind)![0];
      const lines = rig.host.logs.filter((l) => l.messageId === messageId && (l.level === 'error' || l.level === 'warning'));
      if (kind.outcome === 'acknowledged') {
        expect(lines).toEqual([]);
        return;
      }
      expect(lines, JSON.stringify(lines)).toHaveLength(1);
      const line = lines[0]!;
      expect(line.level).toBe(kind.outcome === 'poisoned' ? 'error' : 'warning');
      expect(line.message).toMatch(kind.reason!);
      if (kind.outcome === 'poisoned') expect(line.message).toMatch(/moved to the poison queue/);
      expect(line.message).not.toMatch(/ipaddr|IP-address|Subscription Admin/);
    });
  }

  it('counted every outcome', () => {
    const counters = rig.processor.counters.snapshot();
    expect(counters.poisoned).toBe(kinds.filter((k) => k.outcome === 'poisoned').length);
    expect(counters.droppedForeignSubscription).toBe(1);
    expect((counters.ignoredFailureOrCancel ?? 0) + (counters.ignoredAction ?? 0) + (counters.ignoredNoise ?? 0)).toBe(3);
  });
});

describe('an oversized body (Storage refuses > 64 KiB messages, so only a direct invocation can carry one)', () => {
  it('is poisoned as a wrapped prefix with the reason, with one error line', async () => {
    const local = await createRig(services, { subscriptionIds: [SUB] });
    try {
      const good = writeEvent({ resourceId: GOOD });
      const big = { ...good, data: { ...(good['data'] as object), blob: 'z'.repeat(66 * 1024) } };
      const lines: { level: string; message: string }[] = [];
      const context = new InvocationContext({
        invocationId: 'inv-oversized',
        functionName: 'resourceEvents',
        triggerMetadata: { id: 'queue-message-1', dequeueCount: 1 },
        logHandler: (level, ...args) => lines.push({ level, message: args.map(String).join(' ') }),
      });
      await resourceEventsHandler(big, context);
      const bodies = await local.poisonBodies();
      expect(bodies).toHaveLength(1);
      const stored = JSON.parse(bodies[0]!) as Record<string, unknown>;
      expect(stored).toMatchObject({ azurePortSyncPoisoned: 1, messageId: 'queue-message-1', reason: expect.stringMatching(/65536-byte queue message limit/) });
      expect(personalDataIn(bodies[0]!)).toEqual([]);
      expect(String(stored['bodyPrefix'])).toContain(String(good['id']));
      expect(lines.filter((l) => l.level === 'error')).toHaveLength(1);
      expect(lines[0]!.message).toMatch(/queue-message-1/);
    } finally {
      await local.close();
    }
  });
});

describe('a message the host cannot base64-decode', () => {
  it('never reaches the handler and is poisoned by the host after maxDequeueCount attempts', async () => {
    const local = await createRig(services, { subscriptionIds: [SUB], host: { visibilityTimeoutMs: 0 } });
    try {
      const messageId = await local.sendText('%%% not base64 %%%');
      await local.host.drain({ horizonMs: 15_000 });
      const attempts = local.host.invocations.filter((i) => i.messageId === messageId);
      expect(attempts.map((a) => a.outcome)).toEqual(['decodeFailed', 'decodeFailed', 'decodeFailed', 'decodeFailed', 'poisoned']);
      const poison = await local.poison.peekMessages({ numberOfMessages: 5 });
      expect(poison.peekedMessageItems.map((m) => m.messageText)).toEqual(['%%% not base64 %%%']);
      expect(local.processor.counters.get('received') + local.processor.counters.get('poisoned')).toBe(0);
    } finally {
      await local.close();
    }
  });
});
