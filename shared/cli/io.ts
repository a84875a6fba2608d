/**
 * What a CLI command gets: its environment and output streams (never process globals, so tests run it in-process),
 * plus optional replacements for the things that talk to Azure (tests inject the emulator credential).
 */
import type { TokenCredential } from '@azure/identity';
import type { ResourceGraphApi } from '../azure/types.js';
import type { Logger } from '../log.js';
import type { PortApi } from '../port/types.js';
import type { Settings } from '../settings.js';

export interface CliStream {
  write(chunk: string): unknown;
  isTTY?: boolean;
}

export interface CliDeps {
  /** Azure credential for Resource Graph and the identity check; DefaultAzureCredential (`az login`) otherwise. */
  credential?: TokenCredential;
  createPort?: (settings: Settings, logger: Logger) => PortApi & { close?(): void };
  createGraph?: (settings: Settings, logger: Logger, credential: TokenCredential) => Promise<ResourceGraphApi> | ResourceGraphApi;
  /** The run's "now" (tests use the Resource Graph emulator's clock). */
  now?: () => Date;
}

export interface CliIo {
  env: Record<string, string | undefined>;
  stdout: CliStream;
  stderr: CliStream;
  deps?: CliDeps;
}

/** Exit codes: 0 ok, 1 the operation failed or found problems, 2 bad usage or settings. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

export class CliExit extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}
