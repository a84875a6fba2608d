/**
 * The Event Grid event ARM emits for a resource move, built FROM Microsoft's published ResourceActionSuccess
 * sample (azure-specs/…/Microsoft.Resources/…/examples/<schema>/resource_action_success.json).
 *
 * A move is one POST on the SOURCE group (Learn rest/api/resources/resources/move-resources:
 * `POST /subscriptions/{sub}/resourceGroups/{source}/moveResources?api-version=2021-04-01`, body
 * `{resources, targetResourceGroup}`), so the subscription's system topic publishes one
 * `Microsoft.Resources.ResourceActionSuccess` whose subject / resourceUri / authorization.scope is the source group
 * and whose operationName / authorization.action is `Microsoft.Resources/subscriptions/resourceGroups/moveResources/action`.
 * Which resources moved, and where, is not in the event (it carries no request body): a consumer must re-read the
 * source group. Whether ARM also publishes per-resource write/delete events for the moved ids is not documented;
 * this helper does not invent them.
 */
import { randomUUID } from 'node:crypto';
import { loadSample, type SampleSchema } from './samples.js';

export const MOVE_ACTION = 'Microsoft.Resources/subscriptions/resourceGroups/moveResources/action';
const MOVE_API_VERSION = '2021-04-01';

export interface MoveEventOptions {
  /** The source resource group id (`/subscriptions/…/resourceGroups/…`). */
  sourceResourceGroup: string;
  schema?: SampleSchema;
  eventTime?: Date;
  id?: string;
}

/** The event(s) a move publishes: one ResourceActionSuccess on the source group's subscription topic. */
export function moveEvents(options: MoveEventOptions): Record<string, unknown>[] {
  const schema = options.schema ?? 'event-grid-schema';
  const group = options.sourceResourceGroup.replace(/\/+$/, '');
  const [, , subscriptionId, , groupName] = group.split('/');
  if (!subscriptionId || !groupName || group.split('/').length !== 5) {
    throw new Error(`moveEvents: sourceResourceGroup must be /subscriptions/<id>/resourceGroups/<name>, got ${options.sourceResourceGroup}`);
  }
  const sample = loadSample('resource_action_success', schema);
  const data = structuredClone(sample['data']) as Record<string, unknown>;
  const authorization = data['authorization'] as Record<string, unknown>;
  authorization['scope'] = group;
  authorization['action'] = MOVE_ACTION;
  const evidence = authorization['evidence'] as Record<string, unknown> | undefined;
  if (evidence) evidence['roleAssignmentScope'] = `/subscriptions/${subscriptionId}`;
  const httpRequest = data['httpRequest'] as Record<string, unknown>;
  httpRequest['method'] = 'POST';
  httpRequest['url'] = `https://management.azure.com${group}/moveResources?api-version=${MOVE_API_VERSION}`;
  Object.assign(data, {
    resourceProvider: 'Microsoft.Resources',
    resourceUri: group,
    operationName: MOVE_ACTION,
    status: 'Succeeded',
    subscriptionId,
    correlationId: randomUUID(),
  });
  const time = (options.eventTime ?? new Date()).toISOString();
  const id = options.id ?? randomUUID();
  const topic = `/subscriptions/${subscriptionId}`;
  const event: Record<string, unknown> =
    schema === 'cloud-events-schema'
      ? { ...sample, source: topic, subject: group, time, id, data }
      : { ...sample, topic, subject: group, eventTime: time, id, data };
  return [JSON.parse(JSON.stringify(event).replace(/\{subscription-id\}/g, subscriptionId).replace(/\{resource-group\}/g, groupName)) as Record<string, unknown>];
}
