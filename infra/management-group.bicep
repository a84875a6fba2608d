// Reader for the sync app identity on a management group, for installations that set managementGroupIds in
// main.bicep. A resource group deployment cannot target a management group, hence a separate file.
//
//   az deployment mg create --management-group-id <mg-id> -l <region> -f infra/management-group.bicep -p appPrincipalId=<id>
//
// Real-time events still need infra/subscription.bicep per subscription: system topics have no management-group scope.
targetScope = 'managementGroup'

import { builtInRoleIds } from 'modules/roles.bicep'

@description('Principal id of the sync app identity (main.bicep output appIdentityPrincipalId).')
@minLength(36)
@maxLength(36)
param appPrincipalId string

resource readerAssignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(managementGroup().id, appPrincipalId, builtInRoleIds.reader)
  properties: {
    roleDefinitionId: tenantResourceId('Microsoft.Authorization/roleDefinitions', builtInRoleIds.reader)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}
