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

/** In creation order: relation targets first. */
export function defaultBlueprints(ids: BlueprintIds = DEFAULT_BLUEPRINT_IDS): BlueprintDefinition[] {
  return [
    {
      identifier: ids.subscription,
      title: 'Azure Subscription',
      icon: 'Azure',
      schema: {
        properties: {
          subscriptionId: { type: 'string', title: 'Subscription ID' },
          tenantId: { type: 'string', title: 'Tenant ID' },
          state: { type: 'string', title: 'State' },
          tags: { type: 'object', title: 'Tags' },
          url: { type: 'string', format: 'url', title: 'Portal URL' },
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
        properties: {
          location: { type: 'string', title: 'Location' },
          provisioningState: { type: 'string', title: 'Provisioning state' },
          managedBy: { type: 'string', title: 'Managed by' },
          tags: { type: 'object', title: 'Tags' },
          url: { type: 'string', format: 'url', title: 'Portal URL' },
        },
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
          location: { type: 'string', title: 'Location' },
          sku: { type: 'object', title: 'SKU' },
          provisioningState: { type: 'string', title: 'Provisioning state' },
          managedBy: { type: 'string', title: 'Managed by' },
          tags: { type: 'object', title: 'Tags' },
          url: { type: 'string', format: 'url', title: 'Portal URL' },
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
          requestedMode: { type: 'string', title: 'Requested resync mode' },
          requestedRunId: { type: 'string', title: 'Requested resync run id' },
          requestedAt: { type: 'string', format: 'date-time', title: 'Resync requested at' },
        },
        required: [],
      },
      relations: {},
    },
  ];
}
