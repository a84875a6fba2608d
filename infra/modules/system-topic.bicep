// The Microsoft.Resources.Subscriptions system topic of the subscription this module is deployed into.
// Azure allows only one such topic per subscription, so an existing one can be reused by name instead.

@description('Name of the system topic to create, or of the existing topic when useExisting is true.')
param topicName string

@description('Reuse an existing Microsoft.Resources.Subscriptions topic (it must have its system-assigned identity enabled).')
param useExisting bool = false

param tags object = {}

resource createdTopic 'Microsoft.EventGrid/systemTopics@2025-02-15' = if (!useExisting) {
  name: topicName
  location: 'global'
  tags: tags
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    source: subscription().id
    topicType: 'Microsoft.Resources.Subscriptions'
  }
}

resource existingTopic 'Microsoft.EventGrid/systemTopics@2025-02-15' existing = {
  name: topicName
}

output name string = topicName

@description('Principal id of the topic\'s system-assigned identity, which delivers to the queue and dead-letter container.')
output principalId string = useExisting ? existingTopic.identity.principalId : createdTopic.identity.principalId
