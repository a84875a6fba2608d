/**
 * Event Grid messages as they land in the storage queue: one event per message, base64 JSON, built from the
 * Microsoft.Resources samples in the Azure spec folder (so the payload shape and size are Azure's, claims included).
 */
import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import type { ArgRow } from '../../shared/azure/types.js';
import { armTypeFromId } from '../emulators/resourceGraph/arm.js';
import { REFERENCE_DIR } from './paths.js';

const SAMPLES = path.join(
  REFERENCE_DIR,
  'azure-specs/eventgrid/data-plane/Microsoft.Resources/stable/2018-01-01/examples/event-grid-schema',
);

type Json = Record<string, unknown>;
const templates = new Map<string, Json>();

function template(file: string): Json {
  let t = templates.get(file);
  if (!t) {
    const full = path.join(SAMPLES, file);
    try {
      t = JSON.parse(readFileSync(full, 'utf8')) as Json;
    } catch (error) {
      throw new Error(`cannot load the Event Grid sample ${full}: ${(error as Error).message}`);
    }
    templates.set(file, t);
  }
  return t;
}

export type ResourceEventKind = 'write' | 'delete';

export interface ResourceEventInput {
  kind: ResourceEventKind;
  /** ARM id of what changed, any casing. */
  resourceId: string;
  eventTime?: Date;
  tenantId?: string;
  /** Event id; a fresh UUID when absent. Duplicated deliveries keep the same id. */
  id?: string;
}

function providerAndOperation(resourceId: string, kind: ResourceEventKind): { provider: string; operation: string } {
  const verb = kind === 'write' ? 'write' : 'delete';
  const m = /\/providers\/([^/]+)\/([^/]+)\/[^/]+/i.exec(resourceId);
  if (m) return { provider: m[1]!, operation: `${m[1]}/${m[2]}/${verb}` };
  if (/\/resourcegroups\/[^/]+$/i.test(resourceId)) {
    return { provider: 'Microsoft.Resources', operation: `Microsoft.Resources/subscriptions/resourceGroups/${verb}` };
  }
  return { provider: 'Microsoft.Resources', operation: `Microsoft.Resources/subscriptions/${verb}` };
}

/** One Event Grid-schema event object for a resource write or delete. */
export function resourceEvent(input: ResourceEventInput): Json {
  const base = template(input.kind === 'write' ? 'resource_write_success.json' : 'resource_delete_success.json');
  const event = structuredClone(base) as Json & { data: Json & { authorization: Json } };
  const subscriptionId = /^\/subscriptions\/([^/]+)/i.exec(input.resourceId)?.[1] ?? '';
  const rg = /^\/subscriptions\/[^/]+\/resourcegroups\/([^/]+)/i.exec(input.resourceId)?.[1];
  const { provider, operation } = providerAndOperation(input.resourceId, input.kind);
  event.id = input.id ?? randomUUID();
  event.subject = input.resourceId;
  event.topic = rg ? `/subscriptions/${subscriptionId}/resourceGroups/${rg}` : `/subscriptions/${subscriptionId}`;
  event.eventTime = (input.eventTime ?? new Date()).toISOString();
  event.data.resourceUri = input.resourceId;
  event.data.resourceProvider = provider;
  event.data.operationName = operation;
  event.data.subscriptionId = subscriptionId;
  event.data.tenantId = input.tenantId ?? '00000000-0000-0000-0000-000000000000';
  event.data.correlationId = randomUUID();
  event.data.authorization = { ...event.data.authorization, scope: input.resourceId, action: operation };
  return event;
}

/** The queue message text Event Grid writes: base64 of the event's JSON. */
export function toQueueMessage(event: Json): string {
  return Buffer.from(JSON.stringify(event), 'utf8').toString('base64');
}

/**
 * An Azure Resource Notifications event (Microsoft.ResourceNotifications.Resources.*) for a resource change at `at`:
 * CreatedOrUpdated carries the resource as ARM shapes it (`row` is its state), Deleted only names it. Groups and
 * subscriptions are not covered by these events.
 */
export function resourceNotificationEvent(options: { id: string; row?: ArgRow | null; at: Date }): Json {
  const { id, row, at } = options;
  const type = armTypeFromId(id);
  const time = at.toISOString();
  return {
    id: randomUUID(),
    topic: `/subscriptions/${id.split('/')[2]}`,
    subject: id,
    eventType: `Microsoft.ResourceNotifications.Resources.${row ? 'CreatedOrUpdated' : 'Deleted'}`,
    eventTime: time,
    dataVersion: '1',
    metadataVersion: '1',
    data: {
      resourceInfo: row
        ? { id, name: row.name, type, location: row.location, tags: row.tags ?? {}, properties: { provisioningState: row.provisioningState ?? 'Succeeded' } }
        : { id, name: id.split('/').pop(), type },
      operationalInfo: { resourceEventTime: time },
      ...(row ? { apiVersion: '2023-05-01' } : {}),
    },
  };
}
