/**
 * The Azure credential the app reads Resource Graph (and identity-based storage) with. Kept apart from the reader
 * so tests and the bench can hand the reader any TokenCredential without touching Entra ID.
 *
 * AZURE_CREDENTIAL chooses it: `default` (DefaultAzureCredential), `azure-cli`, `managed-identity`, or `emulator`
 * (a fixed bearer token the in-repo Resource Graph emulator accepts; settings allow it only for a loopback
 * AZURE_ARM_ENDPOINT). Whatever the choice, a failed sign-in is one PermanentError whose message says what to
 * do, instead of the credential chain's multi-line report (which read as a retryable network error before).
 */
import { AzureCliCredential, DefaultAzureCredential, ManagedIdentityCredential } from '@azure/identity';
import type { AccessToken, GetTokenOptions, TokenCredential } from '@azure/core-auth';
import { PermanentError } from '../errors.js';
import type { AzureCredentialKind } from '../settings.js';

export type { AzureCredentialKind } from '../settings.js';

/** The bearer token `AZURE_CREDENTIAL=emulator` sends; the emulator checks only that one is present. */
export const EMULATOR_BEARER_TOKEN = 'azure-port-sync-emulator';

export interface AzureCredentialSettings {
  /** Client id of a user-assigned managed identity (AZURE_CLIENT_ID). */
  managedIdentityClientId?: string;
  /** AZURE_CREDENTIAL; `default` when absent. */
  credential?: AzureCredentialKind;
}

/**
 * `default`: the Function App's managed identity in Azure (the user-assigned one when AZURE_CLIENT_ID is set),
 * developer sign-ins (environment variables, Azure CLI, azd, PowerShell) locally.
 */
export function createAzureCredential(settings: AzureCredentialSettings): TokenCredential {
  const kind = settings.credential ?? 'default';
  const clientId = settings.managedIdentityClientId;
  let inner: TokenCredential;
  switch (kind) {
    case 'azure-cli':
      inner = new AzureCliCredential();
      break;
    case 'managed-identity':
      inner = clientId ? new ManagedIdentityCredential({ clientId }) : new ManagedIdentityCredential();
      break;
    case 'emulator':
      inner = { getToken: async () => ({ token: EMULATOR_BEARER_TOKEN, expiresOnTimestamp: Date.now() + 3_600_000 }) };
      break;
    default:
      inner = clientId ? new DefaultAzureCredential({ managedIdentityClientId: clientId }) : new DefaultAzureCredential();
  }
  return withReadableSignInErrors(inner, kind);
}

const SIGN_IN_ERROR_NAMES = new Set([
  'CredentialUnavailableError',
  'AggregateAuthenticationError',
  'AuthenticationError',
  'AuthenticationRequiredError',
]);

/** Marks the sign-in failures that withReadableSignInErrors produces. */
export const SIGN_IN_FAILED_CODE = 'AzureSignInFailed';

const FIX: Record<AzureCredentialKind, { tried: string; fix: string }> = {
  default: {
    tried: 'no credential of the default chain could get a token (environment variables, workload identity, managed identity, Azure CLI, Azure Developer CLI, Azure PowerShell)',
    fix: 'locally run `az login` (or set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET for a service principal); in Azure give the Function App a managed identity (AZURE_CLIENT_ID names a user-assigned one)',
  },
  'azure-cli': {
    tried: 'the Azure CLI gave no token (not installed, or not signed in)',
    fix: 'run `az login` (install the CLI from https://aka.ms/azure-cli), or set AZURE_CREDENTIAL=default',
  },
  'managed-identity': {
    tried: 'no managed identity answered',
    fix: 'run in Azure with a managed identity assigned (AZURE_CLIENT_ID names a user-assigned one); locally set AZURE_CREDENTIAL=default and run `az login`',
  },
  emulator: { tried: 'the emulator credential failed', fix: 'check AZURE_ARM_ENDPOINT points at the emulator' },
};

/** The first line of the most specific reason an @azure/identity error carries (not "X is unavailable"). */
function specificReason(error: Error): string | undefined {
  const nested = (error as { errors?: unknown }).errors;
  const candidates = Array.isArray(nested) ? nested : [error];
  for (const e of candidates) {
    if (!(e instanceof Error) || e.name === 'CredentialUnavailableError') continue;
    // Entra ID's own words (e.g. "AADSTS7000215: Invalid client secret provided.") say most.
    const response = (e as { errorResponse?: { error?: string; errorDescription?: string } }).errorResponse;
    const described = response?.errorDescription?.split('\n').find((l) => l.trim() !== '');
    const text = described ? `${response?.error ? `${response.error}: ` : ''}${described}` : e.message;
    const oneLine = text.replace(/\s+/g, ' ').trim();
    if (oneLine) return oneLine.slice(0, 200);
  }
  return undefined;
}

/** One readable sign-in error: what failed, the most specific reason if there is one, and the fix. */
export function signInError(error: Error, kind: AzureCredentialKind): PermanentError {
  const { tried, fix } = FIX[kind];
  const reason = specificReason(error);
  return new PermanentError(`Azure sign-in failed: ${tried}${reason ? ` (${reason})` : ''}. Fix: ${fix}.`, {
    source: 'resource-graph',
    code: SIGN_IN_FAILED_CODE,
    cause: error,
  });
}

/** Wraps a credential so that a sign-in failure surfaces as signInError (other errors pass through). */
export function withReadableSignInErrors(credential: TokenCredential, kind: AzureCredentialKind = 'default'): TokenCredential {
  return {
    async getToken(scopes: string | string[], options?: GetTokenOptions): Promise<AccessToken | null> {
      try {
        return await credential.getToken(scopes, options);
      } catch (error) {
        if (error instanceof Error && SIGN_IN_ERROR_NAMES.has(error.name)) throw signInError(error, kind);
        throw error;
      }
    },
  };
}

/** The token scope for an ARM endpoint: `<origin>/.default` (public cloud, sovereign clouds, Azure Stack). */
export function armScopeFor(endpoint: string): string {
  return `${new URL(endpoint).origin}/.default`;
}
