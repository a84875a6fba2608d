/**
 * The Azure credential the app reads Resource Graph with. Kept apart from the reader so tests and the bench can
 * hand the reader any TokenCredential (the emulator's static one) without touching Entra ID.
 */
import { DefaultAzureCredential } from '@azure/identity';
import type { TokenCredential } from '@azure/core-auth';
import type { Settings } from '../settings.js';

/**
 * DefaultAzureCredential: the Function App's managed identity in Azure (the user-assigned one when
 * AZURE_CLIENT_ID is set), developer sign-ins (Azure CLI, azd, PowerShell) locally.
 */
export function createAzureCredential(settings: Pick<Settings['azure'], 'managedIdentityClientId'>): TokenCredential {
  return settings.managedIdentityClientId
    ? new DefaultAzureCredential({ managedIdentityClientId: settings.managedIdentityClientId })
    : new DefaultAzureCredential();
}

/** The token scope for an ARM endpoint: `<origin>/.default` (public cloud, sovereign clouds, Azure Stack). */
export function armScopeFor(endpoint: string): string {
  return `${new URL(endpoint).origin}/.default`;
}
