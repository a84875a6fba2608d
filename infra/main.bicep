// azure-port-sync: everything the sync app needs in one resource group, plus the Event Grid topic of the
// subscription that resource group lives in and Reader on every synced subscription.
//
//   az deployment group create -g <rg> -f infra/main.bicep -p infra/main.bicepparam
//
// Other subscriptions get their own event topic with infra/subscription.bicep (see infra/README.md).
targetScope = 'resourceGroup'

import { builtInRoleIds } from 'modules/roles.bicep'

// ---------------------------------------------------------------------------------------------- parameters

@description('Region for everything except the Event Grid system topic, which is always global.')
param location string = resourceGroup().location

@description('Short prefix for resource names (lower-case letters and digits).')
@minLength(3)
@maxLength(11)
param baseName string = 'portsync'

@description('Function app name; it becomes <name>.azurewebsites.net, so it must be globally unique.')
@minLength(2)
@maxLength(60)
param functionAppName string = '${baseName}-${uniqueString(resourceGroup().id)}'

@description('Port API client id (Port → Settings → Credentials).')
@minLength(1)
param portClientId string

@description('Port API client secret. Stored only in Key Vault. Leave empty to set it later with az keyvault secret set.')
@secure()
param portClientSecret string = ''

@description('Port API base URL: https://api.port.io (EU) or https://api.us.port.io (US).')
param portApiUrl string = 'https://api.port.io'

@description('Port blueprint of subscriptions. Keep the identifiers an existing Azure integration created.')
param portBlueprintSubscription string = 'azureSubscription'

@description('Port blueprint of resource groups.')
param portBlueprintResourceGroup string = 'azureResourceGroup'

@description('Port blueprint of resources.')
param portBlueprintResource string = 'azureCloudResources'

@description('Port blueprint of the sync state entity.')
param portBlueprintState string = 'azureWorkflowState'

@description('Let Port create missing relation targets, so a resource can land before its group.')
@allowed([
  'true'
  'false'
])
param portCreateMissingRelatedEntities string = 'true'

@description('Port requests in flight at once, per instance.')
@minValue(1)
@maxValue(100)
param portMaxConcurrency int = 8

@description('Timeout of one Port request, e.g. 30s.')
param portRequestTimeout string = '30s'

@description('Attempts per Port request (throttling and transient errors are retried).')
@minValue(1)
@maxValue(20)
param portRetryMaxAttempts int = 8

@description('Subscriptions to sync. The app identity gets Reader on each. Empty means every subscription the identity can read.')
param syncedSubscriptionIds array = [
  subscription().subscriptionId
]

@description('Management groups to sync. Grant Reader on each with infra/management-group.bicep (a resource group deployment cannot).')
param managementGroupIds array = []

@description('Only these resource types are synced (empty: all), e.g. Microsoft.Compute/virtualMachines.')
param includeResourceTypes array = []

@description('Resource types never synced.')
param excludeResourceTypes array = []

@description('Subscriptions per Resource Graph query (Microsoft advises fewer than 300 per request).')
@minValue(1)
@maxValue(1000)
param subscriptionBatchSize int = 200

@description('Resource Graph queries in flight at once; they share the identity\'s quota (15 per 5 s by default).')
@minValue(1)
@maxValue(15)
param argMaxConcurrency int = 3

@description('How long the event handler gathers events before writing them to Port, e.g. 100ms.')
param eventFlushWindow string = '50ms'

@description('Resource Graph lag bound: events younger than this get a delayed confirming re-read, e.g. 90s.')
param eventSettleTime string = '90s'

@description('Direct ARM reads per second per worker for sparse write events (ARM has the new state at once; Resource Graph trails it). 0: Resource Graph only.')
@minValue(0)
@maxValue(100)
param armReadsPerSecond int = 10

@description('Longest change window a windowed run reads before it falls back to a full sync (at most 7d).')
param maxChangeWindow string = '6d'

@description('How far back each change window reaches before its cursor, to cover Resource Graph\'s change-table lag.')
param changeWindowOverlap string = '30m'

@description('NCRONTAB (UTC) schedule of the reconciliation timer.')
param reconcileSchedule string = '0 */15 * * * *'

@description('How often a reconciliation run is a full sync rather than a change window, e.g. 24h.')
param fullSyncInterval string = '24h'

@description('Refuse deletions when a full sync would delete more than this fraction of the catalog (0-1).')
param deleteThreshold string = '0.9'

@description('How long the entities of a subscription Resource Graph no longer shows are kept before they are removed, e.g. 7d.')
param lostSubscriptionRetention string = '7d'

@description('At most one accepted POST /api/resync per this interval across all instances, e.g. 60s (0s: no limit; the run lock still allows one run at a time).')
param resyncMinInterval string = '60s'

@description('Where the mapping (port-app-config) comes from: default (shipped), file (portAppConfigFile) or port (the config of the Port integration portIntegrationIdentifier). Empty: file when a file is named, else default.')
@allowed([
  ''
  'default'
  'file'
  'port'
])
param portAppConfigSource string = ''

@description('Path of a port-app-config (YAML or JSON) inside the deployed package, relative to the app root.')
param portAppConfigFile string = ''

@description('Identifier of the Port integration whose config holds the mapping (portAppConfigSource = port).')
param portIntegrationIdentifier string = ''

@allowed([
  'debug'
  'info'
  'warn'
  'error'
])
param logLevel string = 'info'

@description('Memory per Flex Consumption instance.')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

@description('Upper bound on Flex Consumption scale-out; it also bounds concurrent load on Port. Flex accepts 40 to 1000.')
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 40

@description('Queue the Event Grid subscriptions deliver into; the host moves failing messages to <name>-poison.')
param eventsQueueName string = 'resource-events'

@description('Blob container that receives events Event Grid could not deliver.')
param deadLetterContainerName string = 'eventgrid-deadletter'

@description('Days a dead-lettered event (a whole event, with the caller\'s claims) is kept before the lifecycle policy deletes it.')
@minValue(1)
@maxValue(30)
param deadLetterRetentionDays int = 7

// Blob container of the lease that keeps to one reconciliation at a time. The app names it itself
// (RUN_LOCK_CONTAINER in shared/sync/reconcile/runLock.ts), so it is not a parameter.
var locksContainerName = 'azure-port-sync-locks'

@description('Name for the Microsoft.Resources.Subscriptions system topic created in this resource group.')
param systemTopicName string = '${baseName}-subscription-events'

@description('Reuse this existing Microsoft.Resources.Subscriptions system topic instead (one is allowed per subscription).')
param existingSystemTopicName string = ''

@description('Resource group of existingSystemTopicName.')
param existingSystemTopicResourceGroupName string = resourceGroup().name

@description('Key Vault public network access. Disabled needs a private endpoint and VNet integration, which this template does not create.')
@allowed([
  'Enabled'
  'Disabled'
])
param keyVaultPublicNetworkAccess string = 'Enabled'

@description('The secret port-client-secret is already in the vault (set with az keyvault secret set): grant the app read access to it.')
param portClientSecretInVault bool = false

@description('Log Analytics retention in days.')
@minValue(30)
@maxValue(730)
param logRetentionDays int = 30

@description('Daily Log Analytics ingestion cap in GB; -1 means no cap.')
param logDailyCapGb int = -1

param tags object = {}

// ---------------------------------------------------------------------------------------------- names

var suffix = uniqueString(resourceGroup().id)
var storageAccountName = take('st${toLower(baseName)}${suffix}', 24)
var keyVaultName = take('kv-${toLower(baseName)}-${suffix}', 24)
var deploymentContainerName = 'app-package'
// The Functions host's own containers (host locks, timer schedule status, function keys), created here so the app
// identity's Blob Data Owner role can be scoped to them rather than to the whole account.
var hostContainerNames = [
  'azure-webjobs-hosts'
  'azure-webjobs-secrets'
]
var portClientSecretName = 'port-client-secret'
var reuseSystemTopic = !empty(existingSystemTopicName)
var topicResourceGroupName = reuseSystemTopic ? existingSystemTopicResourceGroupName : resourceGroup().name

// ---------------------------------------------------------------------------------------------- identity

// User-assigned so every role below exists before the app first starts and resolves its Key Vault reference.
resource appIdentity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: '${baseName}-identity-${suffix}'
  location: location
  tags: tags
}

// ---------------------------------------------------------------------------------------------- storage

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: storageAccountName
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: 'Standard_LRS'
  }
  properties: {
    allowSharedKeyAccess: false
    allowBlobPublicAccess: false
    defaultToOAuthAuthentication: true
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    accessTier: 'Hot'
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      defaultAction: 'Allow'
      bypass: 'AzureServices'
    }
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: deploymentContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource deadLetterContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: deadLetterContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource hostContainers 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = [
  for name in hostContainerNames: {
    parent: blobService
    name: name
    properties: {
      publicAccess: 'None'
    }
  }
]

resource locksContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: locksContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource eventsQueue 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = {
  parent: queueService
  name: eventsQueueName
}

// Created here, not at run time: the app's queue roles cannot create queues, and replay tooling and alerts can rely
// on it existing before the first failure.
resource poisonQueue 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = {
  parent: queueService
  name: '${eventsQueueName}-poison'
}

// Dead letters are whole events, with `claims` (caller names, IP addresses): keep them only as long as it takes to
// look into a delivery failure. The policy runs once a day, so a blob can outlive the limit by up to a day.
resource deadLetterLifecycle 'Microsoft.Storage/storageAccounts/managementPolicies@2023-05-01' = {
  parent: storage
  name: 'default'
  properties: {
    policy: {
      rules: [
        {
          name: 'expire-dead-lettered-events'
          enabled: true
          type: 'Lifecycle'
          definition: {
            filters: {
              blobTypes: [
                'blockBlob'
              ]
              prefixMatch: [
                '${deadLetterContainerName}/'
              ]
            }
            actions: {
              baseBlob: {
                delete: {
                  daysAfterModificationGreaterThan: deadLetterRetentionDays
                }
              }
            }
          }
        }
      ]
    }
  }
}

// ---------------------------------------------------------------------------------------------- monitoring

resource logWorkspace 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: '${baseName}-logs-${suffix}'
  location: location
  tags: tags
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: logRetentionDays
    workspaceCapping: {
      dailyQuotaGb: logDailyCapGb
    }
  }
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' = {
  name: '${baseName}-insights-${suffix}'
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: logWorkspace.id
    // Only Entra-authenticated telemetry is accepted; the app sends it as appIdentity.
    DisableLocalAuth: true
  }
}

// ---------------------------------------------------------------------------------------------- key vault

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: keyVaultName
  location: location
  tags: tags
  properties: {
    tenantId: subscription().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 7
    // A deleted vault or secret can be recovered for 7 days and purged by no one, not even an owner.
    enablePurgeProtection: true
    publicNetworkAccess: keyVaultPublicNetworkAccess
  }
}

resource portSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (!empty(portClientSecret)) {
  parent: vault
  name: portClientSecretName
  properties: {
    value: portClientSecret
    contentType: 'Port API client secret'
  }
}

// ---------------------------------------------------------------------------------------------- app roles

// Data-plane roles on the one queue, container or secret each is for (modules/app-roles.bicep; table in README).
module appRoles 'modules/app-roles.bicep' = {
  name: 'app-roles-${suffix}'
  params: {
    principalId: appIdentity.properties.principalId
    identityResourceId: appIdentity.id
    storageAccountName: storage.name
    eventsQueueName: eventsQueue.name
    poisonQueueName: poisonQueue.name
    hostContainerNames: hostContainerNames
    deploymentContainerName: deploymentContainer.name
    locksContainerName: locksContainer.name
    keyVaultName: vault.name
    portClientSecretName: portClientSecretName
    grantSecretAccess: !empty(portClientSecret) || portClientSecretInVault
    appInsightsName: appInsights.name
  }
  dependsOn: [
    hostContainers
    portSecret
  ]
}

module subscriptionReaders 'modules/reader-role.bicep' = [
  for subscriptionId in syncedSubscriptionIds: {
    name: 'reader-${take(uniqueString(subscriptionId, appIdentity.id), 10)}'
    scope: subscription(subscriptionId)
    params: {
      principalId: appIdentity.properties.principalId
    }
  }
]

// ---------------------------------------------------------------------------------------------- function app

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: '${baseName}-plan-${suffix}'
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    reserved: true
  }
}

resource functionApp 'Microsoft.Web/sites@2024-04-01' = {
  name: functionAppName
  location: location
  tags: tags
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${appIdentity.id}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    keyVaultReferenceIdentity: appIdentity.id
    siteConfig: {
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storage.properties.primaryEndpoints.blob}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: appIdentity.id
          }
        }
      }
      scaleAndConcurrency: {
        instanceMemoryMB: instanceMemoryMB
        maximumInstanceCount: maximumInstanceCount
      }
      runtime: {
        name: 'node'
        version: '22'
      }
    }
  }
  dependsOn: [
    deploymentContainer
  ]
}

// Deployments sign in with Entra ID (az login); publish-profile user names and passwords are refused.
resource scmBasicAuth 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: functionApp
  name: 'scm'
  properties: {
    allow: false
  }
}

resource ftpBasicAuth 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: functionApp
  name: 'ftp'
  properties: {
    allow: false
  }
}

// Every setting shared/settings.ts reads is set here (plus the host's own), so the deployment states the whole
// configuration; test/infra/bicep.test.ts enforces that and that each parameter default equals the code's default.
// Not set: AzureWebJobsStorage (a connection string needs a key) and AzureWebJobsStorage__accountName (the service
// URIs below take its place).
resource appSettings 'Microsoft.Web/sites/config@2024-04-01' = {
  parent: functionApp
  name: 'appsettings'
  properties: {
    AzureWebJobsStorage__credential: 'managedidentity'
    AzureWebJobsStorage__clientId: appIdentity.properties.clientId
    AzureWebJobsStorage__blobServiceUri: storage.properties.primaryEndpoints.blob
    AzureWebJobsStorage__queueServiceUri: storage.properties.primaryEndpoints.queue
    AzureWebJobsStorage__tableServiceUri: storage.properties.primaryEndpoints.table
    APPLICATIONINSIGHTS_CONNECTION_STRING: appInsights.properties.ConnectionString
    APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${appIdentity.properties.clientId};Authorization=AAD'
    PORT_CLIENT_ID: portClientId
    // No version in the URI: the platform follows the latest secret version (refreshed within 24 h).
    PORT_CLIENT_SECRET: '@Microsoft.KeyVault(SecretUri=${vault.properties.vaultUri}secrets/${portClientSecretName}/)'
    PORT_API_URL: portApiUrl
    PORT_BLUEPRINT_SUBSCRIPTION: portBlueprintSubscription
    PORT_BLUEPRINT_RESOURCE_GROUP: portBlueprintResourceGroup
    PORT_BLUEPRINT_RESOURCE: portBlueprintResource
    PORT_BLUEPRINT_STATE: portBlueprintState
    PORT_CREATE_MISSING_RELATED_ENTITIES: portCreateMissingRelatedEntities
    PORT_MAX_CONCURRENCY: string(portMaxConcurrency)
    PORT_REQUEST_TIMEOUT: portRequestTimeout
    PORT_RETRY_MAX_ATTEMPTS: string(portRetryMaxAttempts)
    // The cloud this deployment runs in (sovereign clouds have their own Resource Manager endpoint).
    AZURE_ARM_ENDPOINT: environment().resourceManager
    // The app's user-assigned identity only, not the whole DefaultAzureCredential chain: faster and clearer errors.
    AZURE_CREDENTIAL: 'managed-identity'
    AZURE_CLIENT_ID: appIdentity.properties.clientId
    AZURE_SUBSCRIPTION_IDS: join(syncedSubscriptionIds, ',')
    AZURE_MANAGEMENT_GROUP_IDS: join(managementGroupIds, ',')
    SUBSCRIPTION_BATCH_SIZE: string(subscriptionBatchSize)
    ARG_MAX_CONCURRENCY: string(argMaxConcurrency)
    INCLUDE_RESOURCE_TYPES: join(includeResourceTypes, ',')
    EXCLUDE_RESOURCE_TYPES: join(excludeResourceTypes, ',')
    RESOURCE_EVENTS_QUEUE: eventsQueueName
    EVENT_FLUSH_WINDOW: eventFlushWindow
    EVENT_SETTLE_TIME: eventSettleTime
    ARM_READS_PER_SECOND: string(armReadsPerSecond)
    RECONCILE_SCHEDULE: reconcileSchedule
    FULL_SYNC_INTERVAL: fullSyncInterval
    MAX_CHANGE_WINDOW: maxChangeWindow
    CHANGE_WINDOW_OVERLAP: changeWindowOverlap
    LOST_SUBSCRIPTION_RETENTION: lostSubscriptionRetention
    DELETE_THRESHOLD: deleteThreshold
    RESYNC_MIN_INTERVAL: resyncMinInterval
    PORT_APP_CONFIG_SOURCE: portAppConfigSource
    PORT_APP_CONFIG_FILE: portAppConfigFile
    PORT_INTEGRATION_IDENTIFIER: portIntegrationIdentifier
    LOG_LEVEL: logLevel
  }
  // The host starts as soon as settings land; without these roles its first start fails and the Key Vault
  // reference stays unresolved until the next refresh.
  dependsOn: [
    appRoles
    subscriptionReaders
    eventsQueue
    poisonQueue
  ]
}

// ---------------------------------------------------------------------------------------------- event grid

module systemTopic 'modules/system-topic.bicep' = {
  name: 'topic-${suffix}'
  scope: resourceGroup(topicResourceGroupName)
  params: {
    topicName: reuseSystemTopic ? existingSystemTopicName : systemTopicName
    useExisting: reuseSystemTopic
    tags: tags
  }
}

module topicDeliveryRoles 'modules/topic-delivery-roles.bicep' = {
  name: 'topic-roles-${suffix}'
  params: {
    storageAccountName: storage.name
    queueName: eventsQueue.name
    deadLetterContainerName: deadLetterContainer.name
    topicPrincipalId: systemTopic.outputs.principalId
  }
}

module eventSubscription 'modules/event-subscription.bicep' = {
  name: 'event-subscription-${suffix}'
  scope: resourceGroup(topicResourceGroupName)
  params: {
    topicName: systemTopic.outputs.name
    eventSubscriptionName: 'azure-port-sync-${take(uniqueString(storage.id), 8)}'
    storageAccountId: storage.id
    queueName: eventsQueue.name
    deadLetterContainerName: deadLetterContainer.name
  }
  dependsOn: [
    topicDeliveryRoles
  ]
}

// ---------------------------------------------------------------------------------------------- outputs

output functionAppName string = functionApp.name
output appIdentityPrincipalId string = appIdentity.properties.principalId
output appIdentityClientId string = appIdentity.properties.clientId
output storageAccountResourceId string = storage.id
output storageAccountName string = storage.name
output eventsQueueName string = eventsQueue.name
output poisonQueueName string = poisonQueue.name
output deadLetterContainerName string = deadLetterContainer.name
output locksContainerName string = locksContainer.name
output keyVaultName string = vault.name
output portClientSecretName string = portClientSecretName
output applicationInsightsName string = appInsights.name
output systemTopicName string = systemTopic.outputs.name
