// The Azure Resource Notifications system topic (Microsoft.ResourceNotifications.Resources, preview) of the
// subscription this module is deployed into. Its events carry the resource itself and are emitted once Resource Graph
// has the change (README, "Freshness"). One topic of this type per subscription.

@description('Name of the system topic.')
param topicName string

param tags object = {}

resource topic 'Microsoft.EventGrid/systemTopics@2025-02-15' = {
  name: topicName
  location: 'global'
  tags: tags
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    source: subscription().id
    topicType: 'Microsoft.ResourceNotifications.Resources'
  }
}

output name string = topic.name

@description('Principal id of the topic\'s system-assigned identity, which delivers to the queue and dead-letter container.')
output principalId string = topic.identity.principalId
