/**
 * A static TokenCredential for the real @azure/arm-resourcegraph client against the emulator: no Entra ID is
 * reachable offline, and the emulator only checks that a bearer token is present.
 */
import type { AccessToken, TokenCredential } from '@azure/core-auth';

export const EMULATOR_TOKEN = 'resource-graph-emulator-token';

export function staticTestCredential(token: string = EMULATOR_TOKEN): TokenCredential {
  return {
    async getToken(): Promise<AccessToken> {
      return { token, expiresOnTimestamp: Date.now() + 3_600_000 };
    },
  };
}
