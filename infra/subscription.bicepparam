// Example parameters for subscription.bicep, one deployment per additional subscription:
//   az deployment sub create --subscription <sub-id> -l westeurope -f infra/subscription.bicep -p infra/subscription.bicepparam
using './subscription.bicep'

// Both values come from the main deployment's outputs:
//   az deployment group show -g <rg> -n main --query properties.outputs
param appPrincipalId = '00000000-0000-0000-0000-000000000000'
param storageAccountResourceId = '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-port-sync/providers/Microsoft.Storage/storageAccounts/stportsyncexample'

param eventsQueueName = 'resource-events'
param deadLetterContainerName = 'eventgrid-deadletter'

param topicResourceGroupName = 'rg-port-sync-events'
param systemTopicName = 'portsync-subscription-events'

// Set when this subscription already has a Microsoft.Resources.Subscriptions system topic.
param existingSystemTopicName = ''

// Azure Resource Notifications (preview): a second topic whose events carry the resource (see README, Freshness).
param enableResourceNotifications = false

param tags = {
  workload: 'azure-port-sync'
}
