/**
 * Event fixtures built FROM Microsoft's published sample events (azure-specs/…/Microsoft.Resources/…/examples),
 * with the placeholders substituted, so tests see the real envelope, casing quirks and PII fields.
 */
import { readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { EVENTGRID_RESOURCES_EXAMPLES } from '../support/reference.js';

export const SAMPLES_DIR =
  process.env['AZURE_EVENT_SAMPLES_DIR'] ?? EVENTGRID_RESOURCES_EXAMPLES;

export type SampleSchema = 'event-grid-schema' | 'cloud-events-schema';
export type SampleName =
  | 'resource_write_success'
  | 'resource_write_failure'
  | 'resource_write_cancel'
  | 'resource_delete_success'
  | 'resource_delete_failure'
  | 'resource_delete_cancel'
  | 'resource_action_success'
  | 'resource_action_failure'
  | 'resource_action_cancel';

export const SAMPLE_NAMES: SampleName[] = [
  'resource_write_success',
  'resource_write_failure',
  'resource_write_cancel',
  'resource_delete_success',
  'resource_delete_failure',
  'resource_delete_cancel',
  'resource_action_success',
  'resource_action_failure',
  'resource_action_cancel',
];

/** The sample file: `<schema>/<name>.json`, or the examples root (where the Event Grid write-cancel sample lives). */
export function samplePath(name: SampleName, schema: SampleSchema): string {
  const nested = path.join(SAMPLES_DIR, schema, `${name}.json`);
  if (existsSync(nested)) return nested;
  const root = path.join(SAMPLES_DIR, `${name}.json`);
  if (schema === 'event-grid-schema' && existsSync(root)) return root;
  throw new Error(`no ${schema} sample named ${name} under ${SAMPLES_DIR}`);
}

export function loadSample(name: SampleName, schema: SampleSchema): Record<string, unknown> {
  return JSON.parse(readFileSync(samplePath(name, schema), 'utf8')) as Record<string, unknown>;
}

export interface EventOptions {
  schema?: SampleSchema;
  /** The ARM id the event is about (any casing). */
  resourceId: string;
  eventTime?: Date;
  id?: string;
}

/** The sample's own target id, as a pattern matching both casings of `resourceGroups` the samples use. */
function sampleResourcePattern(sample: Record<string, unknown>): RegExp {
  const uri = String((sample['data'] as Record<string, unknown>)['resourceUri']);
  const escaped = uri.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/resource[Gg]roups/g, 'resource[Gg]roups');
  return new RegExp(escaped, 'g');
}

function typeOf(resourceId: string): string {
  const parts = resourceId.split('/').filter(Boolean);
  const p = parts.map((s) => s.toLowerCase()).lastIndexOf('providers');
  if (p < 0) return parts.length <= 2 ? 'Microsoft.Resources/subscriptions' : 'Microsoft.Resources/subscriptions/resourceGroups';
  const types = [parts[p + 1]];
  for (let i = p + 2; i < parts.length; i += 2) types.push(parts[i]);
  return types.join('/');
}

/** A sample event re-targeted at `resourceId`: subject, resourceUri, authorization scope, operationName, time and id. */
export function sampleEvent(name: SampleName, options: EventOptions): Record<string, unknown> {
  const schema = options.schema ?? 'event-grid-schema';
  const subscriptionId = options.resourceId.split('/')[2] ?? '00000000-0000-0000-0000-000000000000';
  const sample = loadSample(name, schema);
  const verb = name.includes('delete') ? 'delete' : name.includes('action') ? 'listKeys/action' : 'write';
  const text = JSON.stringify(sample)
    .replace(sampleResourcePattern(sample), options.resourceId)
    .replace(/"(operationName|action)":"[^"]*"/g, `"$1":"${typeOf(options.resourceId)}/${verb}"`)
    .replace(/\{subscription-id\}/g, subscriptionId)
    .replace(/\{resource-group\}/g, options.resourceId.split('/')[4] ?? 'rg');
  const event = JSON.parse(text) as Record<string, unknown>;
  const time = (options.eventTime ?? new Date()).toISOString();
  if (schema === 'cloud-events-schema') event['time'] = time;
  else event['eventTime'] = time;
  event['id'] = options.id ?? randomUUID();
  return event;
}

export const writeEvent = (options: EventOptions) => sampleEvent('resource_write_success', options);
export const deleteEvent = (options: EventOptions) => sampleEvent('resource_delete_success', options);

/** What Event Grid puts in a queue message: base64 of the JSON event. */
export function toQueueText(body: unknown): string {
  return Buffer.from(typeof body === 'string' ? body : JSON.stringify(body), 'utf8').toString('base64');
}
