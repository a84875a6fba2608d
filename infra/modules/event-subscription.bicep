// Event subscription on a Microsoft.Resources.Subscriptions system topic that feeds the sync app's queue.
// Callers must make this module depend on topic-delivery-roles.bicep: Event Grid refuses to create a
// subscription whose identity cannot yet write to the destination.

@description('Name of the system topic (in the resource group this module is deployed into).')
param topicName string

@description('Event subscription name; unique per topic, so several installations can share one topic.')
param eventSubscriptionName string

@description('Resource id of the storage account that holds the queue and the dead-letter container.')
param storageAccountId string

param queueName string
param deadLetterContainerName string

@description('How long an undelivered message may wait in the queue. Reconciliation repairs anything older.')
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
      // Actions (listKeys and other POSTs), failures and cancellations change nothing the catalog shows.
      includedEventTypes: [
        'Microsoft.Resources.ResourceWriteSuccess'
        'Microsoft.Resources.ResourceDeleteSuccess'
      ]
      // Writes to things that are not catalog resources: deployment history, role assignments, locks and policy,
      // policy states and attestations, diagnostic settings, resource links. StringNotBeginsWith passes an event
      // only when the key begins with none of the values. test/infra/bicep.test.ts checks that shared/azure/resourceId.ts
      // classifies each prefix as a non-resource, so no catalog change is ever filtered out here.
      advancedFilters: [
        {
          operatorType: 'StringNotBeginsWith'
          key: 'data.operationName'
          values: [
            'Microsoft.Resources/deployments/'
            'Microsoft.Resources/links/'
            'Microsoft.Authorization/'
            'Microsoft.PolicyInsights/'
            'Microsoft.Insights/diagnosticSettings/'
          ]
        }
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
