// Adds one more subscription to an existing azure-port-sync installation: its Event Grid system topic (or an
// existing one), an event subscription into the SAME central queue, and Reader for the app identity.
//
//   az deployment sub create --subscription <sub-id> -l <region> -f infra/subscription.bicep -p infra/subscription.bicepparam
//
// Take appPrincipalId and storageAccountResourceId from the outputs of the main.bicep deployment.
targetScope = 'subscription'

@description('Region of the resource group created for the topic (the topic itself is global).')
param location string = deployment().location

@description('Principal id of the sync app identity (main.bicep output appIdentityPrincipalId).')
@minLength(36)
@maxLength(36)
param appPrincipalId string

@description('Resource id of the central storage account (main.bicep output storageAccountResourceId).')
param storageAccountResourceId string

@description('Central queue the events go to (main.bicep output eventsQueueName).')
param eventsQueueName string = 'resource-events'

@description('Central dead-letter container (main.bicep output deadLetterContainerName).')
param deadLetterContainerName string = 'eventgrid-deadletter'

@description('Resource group, in this subscription, for the system topic. Created if missing.')
param topicResourceGroupName string = 'rg-port-sync-events'

@description('Name for the system topic created here.')
param systemTopicName string = 'portsync-subscription-events'

@description('Reuse this existing Microsoft.Resources.Subscriptions system topic instead (one is allowed per subscription).')
param existingSystemTopicName string = ''

@description('Resource group of existingSystemTopicName.')
param existingSystemTopicResourceGroupName string = topicResourceGroupName

param tags object = {}

@description('Also deliver Azure Resource Notifications (preview; Microsoft.ResourceNotifications.Resources topic) to the same queue: events that carry the resource, so Port is updated without waiting for Resource Graph. The deploying principal needs Microsoft.ResourceNotifications/systemTopics/subscribeToResources/action on this subscription (Owner and Contributor include it).')
param enableResourceNotifications bool = false

@description('Name for the Resource Notifications system topic (when enableResourceNotifications).')
param notificationsTopicName string = 'portsync-resource-notifications'

// /subscriptions/<sub>/resourceGroups/<rg>/providers/Microsoft.Storage/storageAccounts/<name>
var storageIdSegments = split(storageAccountResourceId, '/')
var storageSubscriptionId = storageIdSegments[2]
var storageResourceGroupName = storageIdSegments[4]
var storageAccountName = last(storageIdSegments)
var reuseSystemTopic = !empty(existingSystemTopicName)
var topicRg = reuseSystemTopic ? existingSystemTopicResourceGroupName : topicResourceGroupName

resource topicResourceGroup 'Microsoft.Resources/resourceGroups@2024-03-01' = if (!reuseSystemTopic) {
  name: topicResourceGroupName
  location: location
  tags: tags
}

module reader 'modules/reader-role.bicep' = {
  name: 'port-sync-reader-${take(uniqueString(subscription().id, appPrincipalId), 8)}'
  params: {
    principalId: appPrincipalId
  }
}

module systemTopic 'modules/system-topic.bicep' = {
  name: 'port-sync-topic-${take(uniqueString(subscription().id), 8)}'
  scope: resourceGroup(topicRg)
  params: {
    topicName: reuseSystemTopic ? existingSystemTopicName : systemTopicName
    useExisting: reuseSystemTopic
    tags: tags
  }
  dependsOn: [
    topicResourceGroup
  ]
}

module topicDeliveryRoles 'modules/topic-delivery-roles.bicep' = {
  name: 'port-sync-topic-roles-${take(uniqueString(subscription().id), 8)}'
  scope: resourceGroup(storageSubscriptionId, storageResourceGroupName)
  params: {
    storageAccountName: storageAccountName
    queueName: eventsQueueName
    deadLetterContainerName: deadLetterContainerName
    topicPrincipalId: systemTopic.outputs.principalId
  }
}

module eventSubscription 'modules/event-subscription.bicep' = {
  name: 'port-sync-event-subscription-${take(uniqueString(subscription().id), 8)}'
  scope: resourceGroup(topicRg)
  params: {
    topicName: systemTopic.outputs.name
    eventSubscriptionName: 'azure-port-sync-${take(uniqueString(storageAccountResourceId), 8)}'
    storageAccountId: storageAccountResourceId
    queueName: eventsQueueName
    deadLetterContainerName: deadLetterContainerName
  }
  dependsOn: [
    topicDeliveryRoles
  ]
}

module notificationsTopic 'modules/notifications-topic.bicep' = if (enableResourceNotifications) {
  name: 'port-sync-arn-topic-${take(uniqueString(subscription().id), 8)}'
  scope: resourceGroup(topicRg)
  params: {
    topicName: notificationsTopicName
    tags: tags
  }
  dependsOn: [
    topicResourceGroup
  ]
}

module notificationsDeliveryRoles 'modules/topic-delivery-roles.bicep' = if (enableResourceNotifications) {
  name: 'port-sync-arn-roles-${take(uniqueString(subscription().id), 8)}'
  scope: resourceGroup(storageSubscriptionId, storageResourceGroupName)
  params: {
    storageAccountName: storageAccountName
    queueName: eventsQueueName
    deadLetterContainerName: deadLetterContainerName
    topicPrincipalId: enableResourceNotifications ? notificationsTopic!.outputs.principalId : ''
  }
}

module notificationsSubscription 'modules/notifications-subscription.bicep' = if (enableResourceNotifications) {
  name: 'port-sync-arn-subscription-${take(uniqueString(subscription().id), 8)}'
  scope: resourceGroup(topicRg)
  params: {
    topicName: notificationsTopicName
    eventSubscriptionName: 'azure-port-sync-arn-${take(uniqueString(storageAccountResourceId), 8)}'
    storageAccountId: storageAccountResourceId
    queueName: eventsQueueName
    deadLetterContainerName: deadLetterContainerName
  }
  dependsOn: [
    notificationsTopic
    notificationsDeliveryRoles
  ]
}

output systemTopicName string = systemTopic.outputs.name
output topicResourceGroupName string = topicRg
output eventSubscriptionId string = eventSubscription.outputs.id
