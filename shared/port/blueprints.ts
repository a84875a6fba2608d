/**
 * The default blueprints, as data. Property ids here are what shared/mapping produces.
 * Identifiers come from settings, so users keep the names their existing Azure→Port sync created.
 */
import type { BlueprintDefinition } from './types.js';

export interface BlueprintIds {
  subscription: string;
  resourceGroup: string;
  resource: string;
  state: string;
}

export const DEFAULT_BLUEPRINT_IDS: BlueprintIds = {
  subscription: 'azureSubscription',
  resourceGroup: 'azureResourceGroup',
  resource: 'azureCloudResources',
  state: 'azureWorkflowState',
};

/** Properties every ARM-backed catalog entity has beyond its own (resource groups and resources share them). */
const ARM_COMMON_PROPERTIES: BlueprintDefinition['schema']['properties'] = {
  provisioningState: { type: 'string', title: 'Provisioning state' },
  managedBy: { type: 'string', title: 'Managed by' },
  tags: { type: 'object', title: 'Tags' },
  url: { type: 'string', format: 'url', title: 'Portal URL' },
};

const LOCATION: BlueprintDefinition['schema']['properties'][string] = { type: 'string', title: 'Location' };

/** In creation order: relation targets first. */
export function defaultBlueprints(ids: BlueprintIds = DEFAULT_BLUEPRINT_IDS): BlueprintDefinition[] {
  const definitions: BlueprintDefinition[] = [
    {
      identifier: ids.subscription,
      title: 'Azure Subscription',
      icon: 'Azure',
      schema: {
        properties: {
          subscriptionId: { type: 'string', title: 'Subscription ID' },
          tenantId: { type: 'string', title: 'Tenant ID' },
          state: { type: 'string', title: 'State' },
          notVisibleSince: { type: 'string', format: 'date-time', title: 'Not visible in Azure since' },
          tags: ARM_COMMON_PROPERTIES.tags!,
          url: ARM_COMMON_PROPERTIES.url!,
        },
        required: [],
      },
      relations: {},
    },
    {
      identifier: ids.resourceGroup,
      title: 'Azure Resource Group',
      icon: 'Azure',
      schema: {
        properties: { location: LOCATION, ...ARM_COMMON_PROPERTIES },
        required: [],
      },
      relations: {
        subscription: { target: ids.subscription, required: false, many: false, title: 'Subscription' },
      },
    },
    {
      identifier: ids.resource,
      title: 'Azure Cloud Resource',
      icon: 'Azure',
      schema: {
        properties: {
          resourceId: { type: 'string', title: 'Resource ID (original casing)' },
          type: { type: 'string', title: 'Type' },
          kind: { type: 'string', title: 'Kind' },
          location: LOCATION,
          sku: { type: 'object', title: 'SKU' },
          ...ARM_COMMON_PROPERTIES,
        },
        required: [],
      },
      relations: {
        resourceGroup: { target: ids.resourceGroup, required: false, many: false, title: 'Resource group' },
        subscription: { target: ids.subscription, required: false, many: false, title: 'Subscription' },
      },
    },
    {
      identifier: ids.state,
      title: 'Azure Sync State',
      icon: 'Azure',
      description: 'Sync state kept by azure-port-sync: the change cursor and the last run summary.',
      schema: {
        properties: {
          scope: { type: 'string', title: 'Scope' },
          cursor: { type: 'string', format: 'date-time', title: 'Change cursor' },
          lastFullSyncAt: { type: 'string', format: 'date-time', title: 'Last full sync' },
          fullSyncFailures: { type: 'number', title: 'Full syncs failed in a row' },
          fullSyncRetryAt: { type: 'string', format: 'date-time', title: 'Next full sync attempt' },
          lostSubscriptions: { type: 'object', title: 'Subscriptions not visible in Azure (since)' },
          knownSubscriptions: { type: 'array', title: 'Subscriptions synced by full syncs' },
          lastRunId: { type: 'string', title: 'Last run id' },
          lastRunMode: { type: 'string', title: 'Last run mode' },
          lastRunWindowStart: { type: 'string', format: 'date-time', title: 'Last window start' },
          lastRunWindowEnd: { type: 'string', format: 'date-time', title: 'Last window end' },
          lastRunStartedAt: { type: 'string', format: 'date-time', title: 'Last run started' },
          lastRunFinishedAt: { type: 'string', format: 'date-time', title: 'Last run finished' },
          lastRunStatus: { type: 'string', title: 'Last run status' },
          lastRunCounts: { type: 'object', title: 'Last run counts' },
          lastRunArgQueries: { type: 'number', title: 'Resource Graph queries' },
          lastRunPortRequests: { type: 'number', title: 'Port requests' },
          lastRunDurationMs: { type: 'number', title: 'Duration (ms)' },
          deletionSkippedReason: { type: 'string', title: 'Deletion skipped because' },
          lastError: { type: 'string', title: 'Last error' },
          mappingProblem: { type: 'string', title: 'Mapping problem (last good mapping in use)' },
          requestedMode: { type: 'string', title: 'Requested resync mode' },
          requestedRunId: { type: 'string', title: 'Requested resync run id' },
          requestedAt: { type: 'string', format: 'date-time', title: 'Resync requested at' },
        },
        required: [],
      },
      relations: {},
    },
  ];
  // Cloned so a caller that edits its copy cannot change the shared property definitions above.
  return structuredClone(definitions);
}
