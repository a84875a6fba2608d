// Event subscription on the Resource Notifications topic (notifications-topic.bicep) into the sync app's queue.
// Creating it needs Microsoft.ResourceNotifications/systemTopics/subscribeToResources/action for the deploying
// principal (Owner and Contributor include it through '*'; a custom deployer role must list it). Callers must make
// this module depend on topic-delivery-roles.bicep, as for the Microsoft.Resources topic.
// No advanced filter: these events have no data.operationName (a filter on a missing key drops the event), and
// they cover resources only, so there is no deployment or role-assignment noise to filter.

param topicName string
param eventSubscriptionName string
param storageAccountId string
param queueName string
param deadLetterContainerName string

@minValue(1)
param queueMessageTimeToLiveInSeconds int = 604800

@minValue(1)
@maxValue(30)
param maxDeliveryAttempts int = 30

@minValue(1)
@maxValue(1440)
param eventTimeToLiveInMinutes int = 1440

resource topic 'Microsoft.EventGrid/systemTopics@2025-02-15' existing = {
  name: topicName
}

resource eventSubscription 'Microsoft.EventGrid/systemTopics/eventSubscriptions@2025-02-15' = {
  parent: topic
  name: eventSubscriptionName
  properties: {
    eventDeliverySchema: 'EventGridSchema'
    filter: {
      includedEventTypes: [
        'Microsoft.ResourceNotifications.Resources.CreatedOrUpdated'
        'Microsoft.ResourceNotifications.Resources.Deleted'
      ]
    }
    deliveryWithResourceIdentity: {
      identity: {
        type: 'SystemAssigned'
      }
      destination: {
        endpointType: 'StorageQueue'
        properties: {
          resourceId: storageAccountId
          queueName: queueName
          queueMessageTimeToLiveInSeconds: queueMessageTimeToLiveInSeconds
        }
      }
    }
    deadLetterWithResourceIdentity: {
      identity: {
        type: 'SystemAssigned'
      }
      deadLetterDestination: {
        endpointType: 'StorageBlob'
        properties: {
          resourceId: storageAccountId
          blobContainerName: deadLetterContainerName
        }
      }
    }
    retryPolicy: {
      maxDeliveryAttempts: maxDeliveryAttempts
      eventTimeToLiveInMinutes: eventTimeToLiveInMinutes
    }
  }
}

output id string = eventSubscription.id
