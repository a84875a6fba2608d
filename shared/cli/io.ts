/**
 * What a CLI command gets: its environment and output streams (never process globals, so tests run it in-process),
 * plus optional replacements for the things that talk to Azure (tests inject the emulator credential).
 */
import type { TokenCredential } from '@azure/identity';
import type { RunLocks } from '../azure/blobLease.js';
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
  /** The run lock service; the blob lease on the settings' storage otherwise. */
  runLocks?: RunLocks;
  /** How long `reconcile --wait` pauses between attempts at the lock (default 5 s). */
  lockPollMs?: number;
}

export interface CliIo {
  env: Record<string, string | undefined>;
  stdout: CliStream;
  stderr: CliStream;
  deps?: CliDeps;
  /** Aborted on Ctrl-C: a run stops, releases the run lock and leaves the sync state as it was. */
  abortSignal?: AbortSignal;
}

/**
 * Exit codes: 0 ok, 1 the operation failed or found problems, 2 bad usage or settings, 3 another reconciliation
 * of the same scope holds the run lock, 130 interrupted (Ctrl-C).
 */
export const EXIT = { ok: 0, failed: 1, usage: 2, busy: 3, interrupted: 130 } as const;

export class CliExit extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}
