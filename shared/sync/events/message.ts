/**
 * Turns whatever the queue trigger hands us into one validated, PII-free event, an internal re-check, or a
 * clear reason why the message is malformed.
 *
 * Event Grid writes one base64 JSON event per message; the host decodes base64 and the worker JSON-parses, so the
 * handler normally gets an object. We still accept a JSON string, base64 JSON, a Buffer and a one-element array,
 * because replays, manual sends and `messageEncoding: none` produce those.
 */
import { z } from 'zod';
import type { ResourceWriteSuccessEventData } from '@azure/eventgrid';
import { POISON_MARKER } from './poison.js';
import { parseRecheckMessage, RECHECK_MARKER, type RecheckMessage } from './recheck.js';

/** The Storage queue limit; a decoded body this large cannot have come through a real queue message. */
export const MAX_MESSAGE_BYTES = 64 * 1024;

export const APPLIED_EVENT_TYPES = ['Microsoft.Resources.ResourceWriteSuccess', 'Microsoft.Resources.ResourceDeleteSuccess'] as const;

/** Delivered when the event subscription's filter is wider than needed: no state change, so acknowledged only. */
export const ACKNOWLEDGED_EVENT_TYPES = [
  'Microsoft.Resources.ResourceWriteFailure',
  'Microsoft.Resources.ResourceWriteCancel',
  'Microsoft.Resources.ResourceDeleteFailure',
  'Microsoft.Resources.ResourceDeleteCancel',
  'Microsoft.Resources.ResourceActionSuccess',
  'Microsoft.Resources.ResourceActionFailure',
  'Microsoft.Resources.ResourceActionCancel',
] as const;

export type AppliedEventType = (typeof APPLIED_EVENT_TYPES)[number];
export type AcknowledgedEventType = (typeof ACKNOWLEDGED_EVENT_TYPES)[number];

/**
 * The fields we keep from an event. `claims`, `authorization` and `httpRequest` are deliberately absent, so they
 * cannot reach a log line or a store by accident.
 */
export interface ResourceEvent {
  /** The event's own id (not the queue message id, which the host's metadata promotion can overwrite). */
  id: string;
  schema: 'EventGridSchema' | 'CloudEventSchemaV1_0';
  eventType: AppliedEventType | AcknowledgedEventType;
  eventTime: Date;
  resourceUri: string;
  operationName?: string;
  correlationId?: string;
}

export type ParsedMessage =
  | { kind: 'event'; event: ResourceEvent }
  | { kind: 'recheck'; recheck: RecheckMessage }
  | { kind: 'malformed'; reason: string };

type EventData = Pick<ResourceWriteSuccessEventData, 'resourceUri' | 'operationName' | 'correlationId'>;

const dataSchema = z.object({
  resourceUri: z.string({ error: 'data.resourceUri is missing or not a string' }).min(1, 'data.resourceUri is empty'),
  operationName: z.string().optional(),
  correlationId: z.string().optional(),
}) satisfies z.ZodType<Partial<EventData> & { resourceUri: string }>;

const dataField = z.custom<Record<string, unknown>>((v) => typeof v === 'object' && v !== null && !Array.isArray(v), {
  message: 'data is missing or not an object',
});

const timestamp = (field: string) =>
  z
    .string({ error: `${field} is missing or not a string` })
    .refine((v) => /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(v) && !Number.isNaN(Date.parse(v)), {
      message: `${field} is not an ISO-8601 date-time`,
    });

const eventGridSchema = z.object({
  id: z.string({ error: 'id is missing or not a string' }).min(1, 'id is empty'),
  eventType: z.string({ error: 'eventType is missing or not a string' }),
  subject: z.string({ error: 'subject is missing or not a string' }),
  eventTime: timestamp('eventTime'),
  dataVersion: z.string({ error: 'dataVersion is missing or not a string' }),
  data: dataField,
});

const cloudEventSchema = z.object({
  specversion: z.literal('1.0', { error: 'specversion must be "1.0" (CloudEvents 1.0)' }),
  id: z.string({ error: 'id is missing or not a string' }).min(1, 'id is empty'),
  source: z.string({ error: 'source is missing or not a string' }).min(1, 'source is empty'),
  type: z.string({ error: 'type is missing or not a string' }),
  time: timestamp('time'),
  data: dataField,
});

const VALIDATION_EVENT = 'Microsoft.EventGrid.SubscriptionValidationEvent';

function firstIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  return issue ? issue.message : 'invalid';
}

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

function utf8Bytes(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

/** Unwraps the transport encodings. Returns the JSON value, or why there is none. */
function decodeBody(message: unknown, depth = 0): { ok: true; value: unknown } | { ok: false; reason: string } {
  if (message === undefined || message === null) return { ok: false, reason: 'message is empty (null)' };
  if (Buffer.isBuffer(message) || message instanceof Uint8Array) {
    return decodeBody(Buffer.from(message).toString('utf8'), depth);
  }
  if (typeof message === 'string') {
    if (utf8Bytes(message) > MAX_MESSAGE_BYTES) {
      return { ok: false, reason: `message is ${utf8Bytes(message)} bytes, over the ${MAX_MESSAGE_BYTES}-byte queue message limit` };
    }
    const text = message.trim();
    if (text === '') return { ok: false, reason: 'message is empty' };
    if (depth > 2) return { ok: false, reason: 'message is encoded more than twice' };
    try {
      const parsed: unknown = JSON.parse(text);
      return typeof parsed === 'string' ? decodeBody(parsed, depth + 1) : { ok: true, value: parsed };
    } catch {
      // not JSON; maybe base64 that nobody decoded (messageEncoding none, or a manual send)
    }
    const compact = text.replace(/\s+/g, '');
    if (compact.length % 4 === 0 && BASE64.test(compact)) {
      const decoded = Buffer.from(compact, 'base64').toString('utf8');
      try {
        return { ok: true, value: JSON.parse(decoded) };
      } catch {
        return { ok: false, reason: 'message is base64 but does not decode to JSON' };
      }
    }
    if (/^[A-Za-z0-9+/=\r\n]+$/.test(text)) return { ok: false, reason: 'message looks like base64 but is not valid base64' };
    return { ok: false, reason: 'message is not JSON' };
  }
  if (typeof message === 'number' || typeof message === 'boolean' || typeof message === 'bigint') {
    return { ok: false, reason: `message is a ${typeof message}, expected one JSON event object` };
  }
  return { ok: true, value: message };
}

function sizeOf(value: unknown): number {
  try {
    return utf8Bytes(JSON.stringify(value) ?? '');
  } catch {
    return Number.POSITIVE_INFINITY;
  }
}

function toEvent(
  schema: ResourceEvent['schema'],
  id: string,
  eventType: string,
  time: string,
  data: Record<string, unknown>,
): ParsedMessage {
  if (eventType === VALIDATION_EVENT) {
    return {
      kind: 'malformed',
      reason: 'Event Grid subscription validation event: queue destinations need no handshake, so the event subscription or its producer is misconfigured',
    };
  }
  const known = (APPLIED_EVENT_TYPES as readonly string[]).includes(eventType) || (ACKNOWLEDGED_EVENT_TYPES as readonly string[]).includes(eventType);
  if (!known) return { kind: 'malformed', reason: `unknown event type "${eventType.slice(0, 200)}"` };
  const parsedData = dataSchema.safeParse(data);
  if (!parsedData.success) return { kind: 'malformed', reason: firstIssue(parsedData.error) };
  return {
    kind: 'event',
    event: {
      id,
      schema,
      eventType: eventType as ResourceEvent['eventType'],
      eventTime: new Date(time),
      resourceUri: parsedData.data.resourceUri,
      ...(parsedData.data.operationName !== undefined ? { operationName: parsedData.data.operationName } : {}),
      ...(parsedData.data.correlationId !== undefined ? { correlationId: parsedData.data.correlationId } : {}),
    },
  };
}

/** Envelopes inside envelopes (a replayed message poisoned again before poison.ts flattened them). */
const MAX_ENVELOPES = 3;

/** Classifies one queue message body. Never throws. */
export function parseQueueMessage(message: unknown): ParsedMessage {
  return parseBody(message, 0);
}

function parseBody(message: unknown, envelopes: number): ParsedMessage {
  const decoded = decodeBody(message);
  if (!decoded.ok) return { kind: 'malformed', reason: decoded.reason };
  let value = decoded.value;
  if (sizeOf(value) > MAX_MESSAGE_BYTES) {
    return { kind: 'malformed', reason: `message is over the ${MAX_MESSAGE_BYTES}-byte queue message limit` };
  }
  if (Array.isArray(value)) {
    if (value.length !== 1) {
      return {
        kind: 'malformed',
        reason:
          value.length === 0
            ? 'message is an empty array'
            : `message is an array of ${value.length} events; Event Grid puts exactly one event in each queue message`,
      };
    }
    value = value[0];
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { kind: 'malformed', reason: `message is ${value === null ? 'null' : `a ${Array.isArray(value) ? 'nested array' : typeof value}`}, expected one JSON event object` };
  }
  const record = value as Record<string, unknown>;
  if (POISON_MARKER in record) {
    // A poison-queue envelope put back by replay-poison: process the message it kept.
    if (!('body' in record)) {
      const why = typeof record['bodyOmitted'] === 'string' ? record['bodyOmitted'] : 'no body';
      return { kind: 'malformed', reason: `a poison-queue envelope without the original message (${why.slice(0, 200)}); nothing to replay` };
    }
    if (envelopes >= MAX_ENVELOPES) return { kind: 'malformed', reason: `poison-queue envelopes nested more than ${MAX_ENVELOPES} deep` };
    return parseBody(record['body'], envelopes + 1);
  }
  if (RECHECK_MARKER in record) {
    const recheck = parseRecheckMessage(record);
    return recheck.ok ? { kind: 'recheck', recheck: recheck.value } : { kind: 'malformed', reason: recheck.reason };
  }
  if ('specversion' in record) {
    const parsed = cloudEventSchema.safeParse(record);
    if (!parsed.success) return { kind: 'malformed', reason: `CloudEvent: ${firstIssue(parsed.error)}` };
    return toEvent('CloudEventSchemaV1_0', parsed.data.id, parsed.data.type, parsed.data.time, parsed.data.data);
  }
  if ('eventType' in record) {
    const parsed = eventGridSchema.safeParse(record);
    if (!parsed.success) return { kind: 'malformed', reason: `Event Grid event: ${firstIssue(parsed.error)}` };
    return toEvent('EventGridSchema', parsed.data.id, parsed.data.eventType, parsed.data.eventTime, parsed.data.data);
  }
  return {
    kind: 'malformed',
    reason: 'message is neither an Event Grid event (eventType) nor a CloudEvent (specversion) nor an internal re-check',
  };
}
