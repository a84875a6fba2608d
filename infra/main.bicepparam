// Example parameters for main.bicep. Copy, edit, then:
//   export PORT_CLIENT_SECRET='<secret from Port>'   # read below; never commit it
//   az deployment group create -g <rg> -f infra/main.bicep -p infra/main.bicepparam
using './main.bicep'

param location = 'westeurope'
param baseName = 'portsync'

// Port → Settings → Credentials. The secret comes from the environment so it is never written to a file;
// when PORT_CLIENT_SECRET is unset the vault is created empty and you set the secret afterwards.
param portClientId = '<port-client-id>'
param portClientSecret = readEnvironmentVariable('PORT_CLIENT_SECRET', '')
// true once you have set port-client-secret in the vault yourself (PORT_CLIENT_SECRET unset): grants the app read access.
param portClientSecretInVault = false
param portApiUrl = 'https://api.port.io'

// Reader is granted on each; add one subscription.bicep deployment per extra subscription for real-time events.
param syncedSubscriptionIds = [
  '00000000-0000-0000-0000-000000000000'
]
param managementGroupIds = []

param includeResourceTypes = []
param excludeResourceTypes = [
  'Microsoft.Network/networkWatchers'
]

param reconcileSchedule = '0 */15 * * * *'
param fullSyncInterval = '24h'
param deleteThreshold = '0.9'
param logLevel = 'info'

param instanceMemoryMB = 2048
param maximumInstanceCount = 40

// Set when this subscription already has a Microsoft.Resources.Subscriptions system topic.
param existingSystemTopicName = ''

param tags = {
  workload: 'azure-port-sync'
}
