/**
 * Turns whatever the queue trigger hands us into one validated, PII-free event, an internal re-check, or a
 * clear reason why the message is malformed.
 *
 * Event Grid writes one base64 JSON event per message; the host decodes base64 and the worker JSON-parses, so the
 * handler normally gets an object. We still accept a JSON string, base64 JSON, a Buffer and a one-element array,
 * because replays, manual sends and `messageEncoding: none` produce those (decode.ts).
 *
 * What @azure/eventgrid does here, and what stays ours (its EventGridDeserializer and isSystemEvent, 5.12):
 * - Transport decoding, one-element arrays, re-checks and poison envelopes: ours; the deserialiser takes only an
 *   object or JSON text, and would accept a batch where Event Grid puts one event per queue message.
 * - Which schema: ours, by shape (`specversion` → CloudEvents 1.0, `eventType` → Event Grid); the deserialiser must
 *   be told the schema.
 * - The envelope: zod first, with the reasons this parser has always given (each names the field), because the
 *   deserialiser lets through what we must poison: an eventTime that is not a date (it yields Invalid Date), `data`
 *   that is a string or an array (it turns them into objects), a CloudEvent without `time` (optional there; we
 *   measure the settle time from it), empty ids. Then the deserialiser, which checks what zod does not: an Event
 *   Grid `metadataVersion` other than "1" (another schema), CloudEvents `subject`, `dataschema` and
 *   `datacontenttype` that are not strings, and `data` together with `data_base64`. Its `topic` and
 *   `metadataVersion` are required there; Event Grid always sets both on delivery, but hand-written events
 *   (send-event files) often leave them out, so they are filled in only when absent.
 * - The event type: isSystemEvent, per known Microsoft.Resources type, which also types `data`.
 */
import { z } from 'zod';
import {
  EventGridDeserializer,
  isSystemEvent,
  type CloudEvent,
  type EventGridEvent,
  type ResourceWriteSuccessEventData,
} from '@azure/eventgrid';
import { decodeBody, MAX_MESSAGE_BYTES, sizeOf } from './decode.js';
import { POISON_MARKER } from './poison.js';
import { parseRecheckMessage, RECHECK_MARKER, type RecheckMessage } from './recheck.js';
import { isNotificationType, parseNotificationData, type NotificationInfo } from './notification.js';

export { MAX_MESSAGE_BYTES } from './decode.js';

export const APPLIED_EVENT_TYPES = [
  'Microsoft.Resources.ResourceWriteSuccess',
  'Microsoft.Resources.ResourceDeleteSuccess',
  // Azure Resource Notifications (preview), the opt-in second source: they carry the resource itself (notification.ts).
  'Microsoft.ResourceNotifications.Resources.CreatedOrUpdated',
  'Microsoft.ResourceNotifications.Resources.Deleted',
] as const;

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
  /** Resource Notifications only: the payload's fields and its resourceEventTime. */
  notification?: NotificationInfo;
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

const VALIDATION_EVENT = 'Microsoft.EventGrid.SubscriptionValidationEvent' as const;

function firstIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  return issue ? issue.message : 'invalid';
}

const KNOWN_TYPES = [...APPLIED_EVENT_TYPES, ...ACKNOWLEDGED_EVENT_TYPES] as const;
const deserializer = new EventGridDeserializer();
/** Set by Event Grid on every delivery; filled in only when a hand-written event leaves them out. */
const EVENT_GRID_DELIVERY_FIELDS = { topic: '', metadataVersion: '1' };

type DeserializedEvent = { schema: 'EventGridSchema'; event: EventGridEvent<unknown> } | { schema: 'CloudEventSchemaV1_0'; event: CloudEvent<unknown> };

/** @azure/eventgrid's deserialisation of an envelope zod has already accepted; its errors become reasons. */
async function deserialize(schema: ResourceEvent['schema'], record: Record<string, unknown>): Promise<DeserializedEvent | { reason: string }> {
  try {
    if (schema === 'EventGridSchema') {
      const [event] = await deserializer.deserializeEventGridEvents({ ...EVENT_GRID_DELIVERY_FIELDS, ...record });
      return { schema, event: event! };
    }
    const [event] = await deserializer.deserializeCloudEvents(record);
    return { schema, event: event! };
  } catch (error) {
    const label = schema === 'EventGridSchema' ? 'Event Grid event' : 'CloudEvent';
    return { reason: `${label}: ${(error instanceof Error ? error.message : String(error)).slice(0, 300)}` };
  }
}

/** The known Microsoft.Resources type of the event, by the SDK's system-event guard. */
function knownType(deserialized: DeserializedEvent): (typeof KNOWN_TYPES)[number] | undefined {
  return KNOWN_TYPES.find((type) =>
    deserialized.schema === 'EventGridSchema' ? isSystemEvent(type, deserialized.event) : isSystemEvent(type, deserialized.event),
  );
}

const VALIDATION_REASON =
  'Event Grid subscription validation event: queue destinations need no handshake, so the event subscription or its producer is misconfigured';

async function toEvent(schema: ResourceEvent['schema'], record: Record<string, unknown>): Promise<ParsedMessage> {
  const deserialized = await deserialize(schema, record);
  if ('reason' in deserialized) return { kind: 'malformed', reason: deserialized.reason };
  const { event } = deserialized;
  const eventType = deserialized.schema === 'EventGridSchema' ? deserialized.event.eventType : deserialized.event.type;
  const isValidation =
    deserialized.schema === 'EventGridSchema'
      ? isSystemEvent(VALIDATION_EVENT, deserialized.event)
      : isSystemEvent(VALIDATION_EVENT, deserialized.event);
  if (isValidation) return { kind: 'malformed', reason: VALIDATION_REASON };
  const type = knownType(deserialized);
  if (!type) return { kind: 'malformed', reason: `unknown event type "${eventType.slice(0, 200)}"` };
  const eventTimeOf = () => (deserialized.schema === 'EventGridSchema' ? deserialized.event.eventTime : deserialized.event.time!);
  if (isNotificationType(type)) {
    const notification = parseNotificationData(event.data, type);
    if ('reason' in notification) return { kind: 'malformed', reason: notification.reason };
    return {
      kind: 'event',
      event: { id: event.id, schema, eventType: type, eventTime: eventTimeOf(), resourceUri: notification.resourceId, notification: notification.info },
    };
  }
  const parsedData = dataSchema.safeParse(event.data);
  if (!parsedData.success) return { kind: 'malformed', reason: firstIssue(parsedData.error) };
  const eventTime = deserialized.schema === 'EventGridSchema' ? deserialized.event.eventTime : deserialized.event.time!;
  return {
    kind: 'event',
    event: {
      id: event.id,
      schema,
      eventType: type,
      eventTime,
      resourceUri: parsedData.data.resourceUri,
      ...(parsedData.data.operationName !== undefined ? { operationName: parsedData.data.operationName } : {}),
      ...(parsedData.data.correlationId !== undefined ? { correlationId: parsedData.data.correlationId } : {}),
    },
  };
}

/** Envelopes inside envelopes (a replayed message poisoned again before poison.ts flattened them). */
const MAX_ENVELOPES = 3;

/** Classifies one queue message body. Never rejects. */
export async function parseQueueMessage(message: unknown): Promise<ParsedMessage> {
  return parseBody(message, 0);
}

async function parseBody(message: unknown, envelopes: number): Promise<ParsedMessage> {
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
    return toEvent('CloudEventSchemaV1_0', record);
  }
  if ('eventType' in record) {
    const parsed = eventGridSchema.safeParse(record);
    if (!parsed.success) return { kind: 'malformed', reason: `Event Grid event: ${firstIssue(parsed.error)}` };
    return toEvent('EventGridSchema', record);
  }
  return {
    kind: 'malformed',
    reason: 'message is neither an Event Grid event (eventType) nor a CloudEvent (specversion) nor an internal re-check',
  };
}
