// Built-in role definition ids, from Learn role-based-access-control/built-in-roles.
// test/infra/bicep.test.ts checks every key against that published name → id table, so a key must be the
// role's display name in camel case.
@export()
@description('Built-in Azure role definition ids, keyed by camel-cased role name.')
var builtInRoleIds = {
  reader: 'acdd72a7-3385-48ef-bd42-f606fba81ae7'
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
  storageBlobDataContributor: 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'
  storageQueueDataMessageSender: 'c6a89b2d-59bc-44d0-9896-0f6e12d7b80a'
  storageQueueDataMessageProcessor: '8a0f0c08-91a1-4084-bc3d-661d67233fed'
  storageQueueDataReader: '19e7f393-937e-4f77-808e-94535e297925'
  storageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
  keyVaultSecretsUser: '4633458b-17de-408a-b874-0445c86b69e6'
  monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb'
}
