/**
 * A lock that works across processes and machines: a blob lease in the app's own storage account (Azurite too).
 *
 * Leases are finite (15–60 s) and renewed while the holder lives, so a worker that dies mid-run stops blocking
 * others within one lease period. A holder that cannot renew before its lease runs out is told through `lost`
 * (an AbortSignal): another run may already hold the lock, so it must stop. Whoever holds the lease writes who
 * it is into the blob's metadata, so a refused caller can say which run is in the way. Notes (`note_*` metadata) are
 * kept across holders: taking the lock replaces who holds it, never the notes.
 *
 * Blob names and the container are the caller's business; the container is created when missing only with a
 * connection string (Azurite, or an account key). With identity-based access the deployment creates it and the
 * app's role is scoped to it, so a missing container is reported, not created.
 */
import { hostname } from 'node:os';
import type { TokenCredential } from '@azure/core-auth';
import type { BlobServiceClient, ContainerClient } from '@azure/storage-blob';
import { silentLogger, type Logger } from '../log.js';
import type { BlobConnection } from '../settings.js';

/** Who holds (or asked for) a lock. Stored as blob metadata: ASCII only. */
export interface LockHolder {
  /** The run id when it is known up front (HTTP and CLI runs; a timer run may adopt a pending request's id). */
  runId?: string;
  trigger: string;
  /** ISO time the holder took the lock. */
  startedAt: string;
  host?: string;
}

export interface HeldLock {
  readonly name: string;
  /** Aborted (reason: LockLostError) when the lease could not be renewed in time: stop what the lock guards. */
  readonly lost: AbortSignal;
  /**
   * Notes kept on the lock across holders (name → value), as they were when this holder took it: what one holder
   * records there, every later holder on any instance reads (the resync rate limit keeps its last accepted time).
   */
  readonly notes: Readonly<Record<string, string>>;
  /** Records a note for later holders (under this lease). Names: lower-case letters and digits. */
  note(name: string, value: string): Promise<void>;
  /** Stops renewing and releases the lease (best effort: an unreleased lease expires on its own). */
  release(): Promise<void>;
}

export type LockAttempt = { acquired: true; lock: HeldLock } | { acquired: false; holder: LockHolder | undefined };

export interface RunLocks {
  /** Takes the lock if nobody holds it; never waits for a holder. */
  tryAcquire(name: string, holder: LockHolder, options?: { abortSignal?: AbortSignal }): Promise<LockAttempt>;
}

export class LockLostError extends Error {
  override readonly name = 'LockLostError';
}

export interface BlobLeaseLocksOptions {
  container: string;
  /** 15–60 (the service's range for a finite lease). Default 60. */
  leaseSeconds?: number;
  /** Default a third of the lease, so two renewals can fail before it runs out. */
  renewEveryMs?: number;
  logger?: Logger;
  /** For identity-based storage; DefaultAzureCredential with the storage client id otherwise. */
  credential?: TokenCredential;
}

const DEFAULT_LEASE_SECONDS = 60;
/** After a failed renewal, try again this soon (the lease still has time left). */
const RENEW_RETRY_MS = 2_000;

interface RestErrorLike {
  statusCode?: number;
  code?: string;
}
const statusOf = (e: unknown) => (e as RestErrorLike | undefined)?.statusCode;
const codeOf = (e: unknown) => (e as RestErrorLike | undefined)?.code;

export async function createBlobServiceClient(connection: BlobConnection, credential?: TokenCredential): Promise<BlobServiceClient> {
  const { BlobServiceClient } = await import('@azure/storage-blob');
  // A lock call sits in front of an HTTP answer or a timer tick: fail in seconds, not after minutes of retries.
  const options = { retryOptions: { maxTries: 3, tryTimeoutInMs: 10_000, retryDelayInMs: 500, maxRetryDelayInMs: 2_000 } };
  if ('connectionString' in connection) return BlobServiceClient.fromConnectionString(connection.connectionString, options);
  const { createAzureCredential } = await import('./credential.js');
  const chosen = credential ?? createAzureCredential(connection.clientId ? { managedIdentityClientId: connection.clientId } : {});
  return new BlobServiceClient(connection.blobServiceUri, chosen, options);
}

export async function createBlobLeaseLocks(connection: BlobConnection, options: BlobLeaseLocksOptions): Promise<BlobLeaseLocks> {
  const service = await createBlobServiceClient(connection, options.credential);
  return new BlobLeaseLocks(service.getContainerClient(options.container), 'connectionString' in connection, options);
}

export class BlobLeaseLocks implements RunLocks {
  private readonly leaseSeconds: number;
  private readonly renewEveryMs: number;
  private readonly logger: Logger;
  private containerChecked = false;

  constructor(
    private readonly container: ContainerClient,
    private readonly mayCreateContainer: boolean,
    options: Omit<BlobLeaseLocksOptions, 'container' | 'credential'> = {},
  ) {
    const seconds = options.leaseSeconds ?? DEFAULT_LEASE_SECONDS;
    if (!Number.isInteger(seconds) || seconds < 15 || seconds > 60) throw new RangeError(`leaseSeconds must be 15..60, got ${seconds}`);
    this.leaseSeconds = seconds;
    this.renewEveryMs = options.renewEveryMs ?? Math.floor((seconds * 1000) / 3);
    this.logger = options.logger ?? silentLogger;
  }

  async tryAcquire(name: string, holder: LockHolder, options: { abortSignal?: AbortSignal } = {}): Promise<LockAttempt> {
    const blob = this.container.getBlockBlobClient(name);
    const lease = blob.getBlobLeaseClient();
    const signal = options.abortSignal ? { abortSignal: options.abortSignal } : {};
    for (let attempt = 1; ; attempt++) {
      try {
        await lease.acquireLease(this.leaseSeconds, signal);
        break;
      } catch (error) {
        if (statusOf(error) === 409 && codeOf(error) === 'LeaseAlreadyPresent') {
          return { acquired: false, holder: await this.holderOf(name) };
        }
        if (statusOf(error) !== 404 || attempt > 2) throw this.explain(error);
        // First use: the lock blob (and with a connection string, its container) does not exist yet.
        if (codeOf(error) === 'ContainerNotFound') await this.createContainer();
        await blob.upload('', 0, { conditions: { ifNoneMatch: '*' }, ...signal }).catch((e: unknown) => {
          // Someone else created it meanwhile (and may hold it now): the next acquire says so.
          if (statusOf(e) !== 409 && statusOf(e) !== 412) throw this.explain(e);
        });
      }
    }
    const leaseId = lease.leaseId;
    const holderMetadata = toMetadata({ host: hostname(), ...holder });
    let notes: Record<string, string>;
    try {
      // The notes earlier holders left: read under this lease, so nobody can change them meanwhile.
      notes = notesOf((await blob.getProperties({ conditions: { leaseId }, ...signal })).metadata ?? {});
    } catch (error) {
      await lease.releaseLease().catch(() => undefined);
      throw this.explain(error);
    }
    try {
      await blob.setMetadata({ ...holderMetadata, ...noteMetadata(notes) }, { conditions: { leaseId }, ...signal });
    } catch (error) {
      // Not worth failing the run over: the metadata only explains a refusal to someone else (the notes stay).
      this.logger.warn('run lock taken, but who holds it could not be recorded', { lock: name, error });
    }
    return { acquired: true, lock: this.held(name, lease, blob, holderMetadata, notes) };
  }

  /** Who holds the lease on `name`, from the metadata the holder wrote (undefined if unreadable). */
  async holderOf(name: string): Promise<LockHolder | undefined> {
    try {
      const props = await this.container.getBlockBlobClient(name).getProperties();
      return fromMetadata(props.metadata ?? {});
    } catch {
      return undefined;
    }
  }

  private held(
    name: string,
    lease: ReturnType<ReturnType<ContainerClient['getBlockBlobClient']>['getBlobLeaseClient']>,
    blob: ReturnType<ContainerClient['getBlockBlobClient']>,
    holderMetadata: Record<string, string>,
    initialNotes: Record<string, string>,
  ): HeldLock {
    const notes = { ...initialNotes };
    const controller = new AbortController();
    const leaseMs = this.leaseSeconds * 1000;
    let renewedAt = Date.now();
    let released = false;
    let timer: NodeJS.Timeout | undefined;
    const lose = (why: string, error?: unknown) => {
      if (controller.signal.aborted) return;
      this.logger.error('run lock lost; stopping the run it guards', { lock: name, reason: why, ...(error ? { error } : {}) });
      controller.abort(new LockLostError(`the run lock ${name} was lost: ${why}`));
    };
    const schedule = (ms: number) => {
      timer = setTimeout(() => void renew(), ms);
      timer.unref();
    };
    const renew = async () => {
      if (released) return;
      try {
        await lease.renewLease({ abortSignal: AbortSignal.timeout(Math.max(1_000, this.renewEveryMs)) });
        renewedAt = Date.now();
        schedule(this.renewEveryMs);
      } catch (error) {
        if (released) return;
        // 409/412: the lease is someone else's now (it expired, or was broken); nothing to retry.
        if (statusOf(error) === 409 || statusOf(error) === 412) return lose('the lease belongs to someone else now', error);
        const left = renewedAt + leaseMs - Date.now();
        if (left <= RENEW_RETRY_MS) return lose(`it could not be renewed for ${Math.round((Date.now() - renewedAt) / 1000)} s`, error);
        this.logger.warn('run lock renewal failed; retrying', { lock: name, msLeft: left, error });
        schedule(RENEW_RETRY_MS);
      }
    };
    schedule(this.renewEveryMs);
    return {
      name,
      lost: controller.signal,
      get notes() {
        return { ...notes };
      },
      note: async (noteName: string, value: string) => {
        if (!NOTE_NAME.test(noteName)) throw new RangeError(`note name must be lower-case letters and digits, got ${JSON.stringify(noteName)}`);
        const next = { ...notes, [noteName]: ascii(value) };
        await blob.setMetadata({ ...holderMetadata, ...noteMetadata(next) }, { conditions: { leaseId: lease.leaseId } });
        Object.assign(notes, next);
      },
      release: async () => {
        if (released) return;
        released = true;
        clearTimeout(timer);
        if (controller.signal.aborted) return;
        try {
          await lease.releaseLease();
        } catch (error) {
          this.logger.warn('run lock could not be released; it expires on its own', { lock: name, seconds: this.leaseSeconds, error });
        }
      },
    };
  }

  private async createContainer(): Promise<void> {
    if (!this.mayCreateContainer) {
      throw new Error(
        `the run lock container "${this.container.containerName}" does not exist in ${this.container.url.replace(/\/[^/]*$/, '')}: ` +
          'deploy infra/main.bicep, which creates it (the app identity may only use that container, not create it)',
      );
    }
    if (this.containerChecked) return;
    await this.container.createIfNotExists();
    this.containerChecked = true;
  }

  private explain(error: unknown): Error {
    const status = statusOf(error);
    const base = `run lock storage ${this.container.url}`;
    if (status === 403) {
      return new Error(`${base} refused access (403 ${codeOf(error) ?? ''}): the identity needs Storage Blob Data Contributor on that container`.trim());
    }
    const message = error instanceof Error ? error.message.split('\n')[0] : String(error);
    return new Error(`${base} failed: ${status ? `${status} ${codeOf(error) ?? ''} ` : ''}${message}`, { cause: error });
  }
}

function ascii(value: string): string {
  return value.replace(/[^\x20-\x7e]/g, '?').slice(0, 200);
}

const NOTE_PREFIX = 'note_';
const NOTE_NAME = /^[a-z][a-z0-9]{0,40}$/;

/** The notes in a blob's metadata (metadata names are case-insensitive: read lower-cased). */
function notesOf(metadata: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(metadata)) {
    const k = key.toLowerCase();
    if (k.startsWith(NOTE_PREFIX) && NOTE_NAME.test(k.slice(NOTE_PREFIX.length))) out[k.slice(NOTE_PREFIX.length)] = value;
  }
  return out;
}

function noteMetadata(notes: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(notes).map(([k, v]) => [`${NOTE_PREFIX}${k}`, v]));
}

function toMetadata(holder: LockHolder): Record<string, string> {
  const out: Record<string, string> = { trigger: ascii(holder.trigger), startedat: ascii(holder.startedAt) };
  if (holder.runId) out['runid'] = ascii(holder.runId);
  if (holder.host) out['host'] = ascii(holder.host);
  return out;
}

function fromMetadata(metadata: Record<string, string>): LockHolder | undefined {
  const m = Object.fromEntries(Object.entries(metadata).map(([k, v]) => [k.toLowerCase(), v]));
  if (!m['trigger'] || !m['startedat']) return undefined;
  return {
    trigger: m['trigger'],
    startedAt: m['startedat'],
    ...(m['runid'] ? { runId: m['runid'] } : {}),
    ...(m['host'] ? { host: m['host'] } : {}),
  };
}
