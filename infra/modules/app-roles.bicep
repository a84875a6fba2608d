// The sync app identity's data-plane roles, each on the one queue, container or secret it is for; infra/README.md
// has the table of why each exists. test/infra/bicep.test.ts fails if a queue role lands on the account, a blob role
// on anything but a container, or the secrets role on the vault.

import { builtInRoleIds } from 'roles.bicep'

@description('Object (principal) id of the sync app\'s managed identity.')
param principalId string

// Assignment names are guid(scope, identity resource id, role), as earlier versions named them, so an upgrade finds
// the roles it already granted instead of failing with RoleAssignmentExists.
@description('Resource id of that identity.')
param identityResourceId string

param storageAccountName string
param eventsQueueName string
param poisonQueueName string

@description('Containers the Functions host keeps its own state in (host locks, timer status, function keys).')
param hostContainerNames array

@description('Flex Consumption deployment container (the code package).')
param deploymentContainerName string

@description('Container of the blob lease that keeps to one reconciliation at a time.')
param locksContainerName string

param keyVaultName string
param portClientSecretName string

@description('Grant Key Vault Secrets User on the secret; it must exist first (a role cannot be scoped to a missing secret).')
param grantSecretAccess bool

param appInsightsName string

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2023-05-01' existing = {
  parent: storage
  name: 'default'
}

resource eventsQueue 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' existing = {
  parent: queueService
  name: eventsQueueName
}

resource poisonQueue 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' existing = {
  parent: queueService
  name: poisonQueueName
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' existing = {
  parent: storage
  name: 'default'
}

resource hostContainers 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' existing = [
  for name in hostContainerNames: {
    parent: blobService
    name: name
  }
]

resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' existing = {
  parent: blobService
  name: deploymentContainerName
}

resource locksContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' existing = {
  parent: blobService
  name: locksContainerName
}

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' existing = {
  name: keyVaultName
}

resource portSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' existing = {
  parent: vault
  name: portClientSecretName
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: appInsightsName
}

// ------------------------------------------------------------------------------------------ queues
// The queue trigger peeks, receives and deletes (Message Processor) and reads the queue's length for scaling
// (Reader); re-checks are sent back to the same queue (Sender). Both queues are created by main.bicep, so nothing
// needs the right to create or delete a queue.

resource eventsQueueReader 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(eventsQueue.id, identityResourceId, builtInRoleIds.storageQueueDataReader)
  scope: eventsQueue
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', builtInRoleIds.storageQueueDataReader)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

resource eventsQueueProcessor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(eventsQueue.id, identityResourceId, builtInRoleIds.storageQueueDataMessageProcessor)
  scope: eventsQueue
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', builtInRoleIds.storageQueueDataMessageProcessor)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

resource eventsQueueSender 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(eventsQueue.id, identityResourceId, builtInRoleIds.storageQueueDataMessageSender)
  scope: eventsQueue
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', builtInRoleIds.storageQueueDataMessageSender)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

// The host (after maxDequeueCount) and the handler (malformed messages, stripped copies) only ever add to it.
resource poisonQueueSender 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(poisonQueue.id, identityResourceId, builtInRoleIds.storageQueueDataMessageSender)
  scope: poisonQueue
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', builtInRoleIds.storageQueueDataMessageSender)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

// ------------------------------------------------------------------------------------------ blobs
// Storage Blob Data Owner is the role Microsoft documents for the host's AzureWebJobsStorage connection; it is
// granted on the host's own containers only, not on the account, so the dead-lettered events stay out of reach.

resource hostBlobOwner 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for (name, i) in hostContainerNames: {
    name: guid(hostContainers[i].id, identityResourceId, builtInRoleIds.storageBlobDataOwner)
    scope: hostContainers[i]
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', builtInRoleIds.storageBlobDataOwner)
      principalId: principalId
      principalType: 'ServicePrincipal'
    }
  }
]

// Flex Consumption uploads the deployed package here and each instance reads it, both as this identity.
resource deploymentBlobContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(deploymentContainer.id, identityResourceId, builtInRoleIds.storageBlobDataContributor)
  scope: deploymentContainer
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', builtInRoleIds.storageBlobDataContributor)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

// The reconciliation lease blob: create, acquire, renew and release.
resource locksBlobContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(locksContainer.id, identityResourceId, builtInRoleIds.storageBlobDataContributor)
  scope: locksContainer
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', builtInRoleIds.storageBlobDataContributor)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

// ------------------------------------------------------------------------------------------ tables
// The host writes diagnostic events to tables it names by month, so no narrower scope than the account exists.
// The app keeps no data of its own in Table storage.
resource hostTableContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, identityResourceId, builtInRoleIds.storageTableDataContributor)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', builtInRoleIds.storageTableDataContributor)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

// ------------------------------------------------------------------------------------------ key vault, telemetry

// The Key Vault reference PORT_CLIENT_SECRET reads this one secret; other secrets in the vault stay unreadable.
resource secretReader 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (grantSecretAccess) {
  name: guid(portSecret.id, identityResourceId, builtInRoleIds.keyVaultSecretsUser)
  scope: portSecret
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', builtInRoleIds.keyVaultSecretsUser)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

// Despite its name, this role is what Entra-authenticated Application Insights ingestion requires.
resource metricsPublisher 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(appInsights.id, identityResourceId, builtInRoleIds.monitoringMetricsPublisher)
  scope: appInsights
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', builtInRoleIds.monitoringMetricsPublisher)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}
