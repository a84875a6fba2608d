// Reader on one subscription for the sync app's identity: Resource Graph only returns what the caller can read.
targetScope = 'subscription'

import { builtInRoleIds } from 'roles.bicep'

@description('Object (principal) id of the sync app\'s managed identity.')
param principalId string

// The name depends only on scope, principal and role, so main.bicep and subscription.bicep converge on the same
// assignment instead of colliding when both grant it.
resource readerAssignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(subscription().id, principalId, builtInRoleIds.reader)
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', builtInRoleIds.reader)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

output roleAssignmentId string = readerAssignment.id
