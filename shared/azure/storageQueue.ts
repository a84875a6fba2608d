/**
 * One way to reach the Storage queues, for the function (poison moves, re-checks), the CLI (`check`) and the
 * operator tools (send-event, replay-poison): a connection string locally (Azurite), or the queue endpoint with an
 * Entra ID credential in Azure, where the storage account refuses shared keys.
 */
import type { TokenCredential } from '@azure/core-auth';
import type { QueueServiceClient } from '@azure/storage-queue';

export type QueueConnection = { connectionString: string } | { queueServiceUri: string; clientId?: string };

export async function createQueueServiceClient(
  connection: QueueConnection,
  credential?: TokenCredential,
): Promise<QueueServiceClient> {
  const { QueueServiceClient } = await import('@azure/storage-queue');
  if ('connectionString' in connection) return QueueServiceClient.fromConnectionString(connection.connectionString);
  const { createAzureCredential } = await import('./credential.js');
  // DefaultAzureCredential covers both the app's managed identity and an operator's `az login`.
  const chosen =
    credential ?? createAzureCredential(connection.clientId ? { managedIdentityClientId: connection.clientId } : {});
  return new QueueServiceClient(connection.queueServiceUri, chosen);
}

/**
 * The connection an operator tool uses, from flags first, then the same app settings the function reads
 * (AzureWebJobsStorage, or its identity-based __queueServiceUri / __accountName form), then local Azurite.
 */
export function queueConnectionFrom(
  flags: { connection?: string; queueServiceUri?: string },
  env: Record<string, string | undefined> = process.env,
): QueueConnection {
  if (flags.connection) return { connectionString: flags.connection };
  if (flags.queueServiceUri) return { queueServiceUri: flags.queueServiceUri };
  const clientId = env['AzureWebJobsStorage__clientId']?.trim();
  const withClient = clientId ? { clientId } : {};
  if (env['AzureWebJobsStorage']?.trim()) return { connectionString: env['AzureWebJobsStorage'] };
  if (env['AzureWebJobsStorage__queueServiceUri']?.trim()) {
    return { queueServiceUri: env['AzureWebJobsStorage__queueServiceUri'], ...withClient };
  }
  const account = env['AzureWebJobsStorage__accountName']?.trim();
  if (account) return { queueServiceUri: `https://${account}.queue.core.windows.net`, ...withClient };
  return { connectionString: 'UseDevelopmentStorage=true' };
}
