/**
 * The Resource Graph reader: ResourceGraphApi over @azure/arm-resourcegraph 5 (api-version 2024-04-01).
 *
 * - Pages of ≤ 1000 rows, following $skipToken; a truncated result without a token is an IncompleteReadError.
 * - Subscriptions in batches (SUBSCRIPTION_BATCH_SIZE); batches run concurrently up to ARG_MAX_CONCURRENCY, each
 *   holding at most one page ahead, so memory stays bounded however large the estate.
 * - One quota pacer per reader, applied to every HTTP attempt (SDK retries included): it reads
 *   x-ms-user-quota-remaining / -resets-after and holds requests once the remaining quota is spoken for by
 *   requests already in flight, so bursts do not run into 429s.
 */
import { ResourceGraphClient } from '@azure/arm-resourcegraph';
import type { TokenCredential } from '@azure/core-auth';
import type { PipelinePolicy, PipelineResponse } from '@azure/core-rest-pipeline';
import pLimit from 'p-limit';
import { IncompleteReadError, PermanentError, RetryableError } from '../errors.js';
import { silentLogger, type Logger } from '../log.js';
import { attemptsFor, describeUnreachable, networkErrorCode } from '../network.js';
import type { Settings } from '../settings.js';
import { armScopeFor, createAzureCredential } from './credential.js';
import {
  MAX_IDS_PER_LOOKUP,
  changesQuery,
  lookupByIdsQuery,
  resourceGroupsQuery,
  resourcesQuery,
  subscriptionsQuery,
  type ChangeTable,
  type ExtraColumns,
  type ResourceTypeFilter,
} from './queries.js';
import { observeIds } from './observe.js';
import { userFullSyncQuery, userLookupQuery, validateUserQuery } from './userQueries.js';
import { normalizeResourceId, parseResourceId } from './resourceId.js';
import type {
  ArgOperationOptions,
  ArgRow,
  ChangeRow,
  ChangeType,
  ChangesOptions,
  Observation,
  QueryScope,
  ResourceGraphApi,
} from './types.js';

const PAGE_SIZE = 1000;
const MAX_SUBSCRIPTIONS_PER_QUERY = 1000;
const CHANGE_TYPES: ReadonlySet<string> = new Set(['Create', 'Update', 'Delete']);

export interface ResourceGraphReaderOptions {
  /** ARM endpoint, e.g. https://management.azure.com (an emulator URL in tests). */
  endpoint: string;
  credential: TokenCredential;
  /** Explicit scope; empty: management groups, else every readable subscription. */
  subscriptionIds?: string[];
  managementGroupIds?: string[];
  subscriptionBatchSize?: number;
  maxConcurrency?: number;
  includeResourceTypes?: string[];
  excludeResourceTypes?: string[];
  logger?: Logger;
  /** The SDK's retry policy (429/5xx/network). Defaults: 3 retries from 1 s; tests shorten it. */
  retry?: { maxRetries?: number; retryDelayInMs?: number; maxRetryDelayInMs?: number };
  /**
   * Told Resource Graph's `totalRecords` (the first page of each query states the whole result's size), per
   * listing; a listing in subscription batches reports once per batch, so totals add up. The CLI shows it as
   * "n of total" and an ETA.
   */
  onTotalRecords?: (listing: ArgListing, totalRecords: number) => void;
}

export interface QueryPagesOptions extends ArgOperationOptions {
  /** Called once per page received (before it is yielded). */
  onPage?: (page: { page: number; rows: number; totalRecords: number; more: boolean }) => void;
}

/** Which listing a query belongs to (the reconcile progress phases use the same names). */
export type ArgListing = 'scope' | 'subscriptions' | 'resourceGroups' | 'resources' | 'changes' | 'lookup' | 'graphQuery';

/** A query's scope as Resource Graph takes it. */
export interface RequestScope {
  subscriptions?: string[];
  managementGroups?: string[];
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason ?? new Error('aborted'));
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, Math.max(0, ms));
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason ?? new Error('aborted'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });

/** `hh:mm:ss` (Resource Graph's x-ms-user-quota-resets-after) → ms. */
export function parseResetsAfter(value: string | undefined): number | undefined {
  if (!value) return undefined;
  const match = /^(\d+):(\d{1,2}):(\d{1,2}(?:\.\d+)?)$/.exec(value.trim());
  if (!match) return undefined;
  return (Number(match[1]) * 3600 + Number(match[2]) * 60 + Number(match[3])) * 1000;
}

function retryAfterMs(response: PipelineResponse | undefined): number | undefined {
  const raw = response?.headers.get('retry-after');
  if (!raw) return undefined;
  const seconds = Number(raw);
  if (Number.isFinite(seconds)) return seconds * 1000;
  const date = Date.parse(raw);
  return Number.isFinite(date) ? Math.max(0, date - Date.now()) : undefined;
}

/**
 * Shared pacing for Resource Graph's per-user quota, which every page of every query spends. `budget` is how many
 * more requests may be sent before the window resets: the server's remaining count minus what is already in
 * flight, since those will spend it too; at zero, callers wait for the reset rather than collect 429s. After a
 * reset the budget is the largest window seen, or a single probe while the quota is still unknown.
 */
export class QuotaPacer {
  /** Requests that may still be sent in the current window; undefined: no window open. */
  private budget: number | undefined;
  /** Whether a response has told us the budget for the current window (before that it is an estimate). */
  private informed = false;
  private resetAt = 0;
  /** The largest window seen; Infinity when the service sends no quota headers (nothing to pace). */
  private capacity: number | undefined;
  private inFlight = 0;
  private wake: (() => void) | undefined;
  private wakePromise: Promise<void> | undefined;

  /**
   * @param maxInFlight requests allowed in flight at once across every caller of the reader (ARG_MAX_CONCURRENCY).
   */
  constructor(
    private readonly maxInFlight: number = Number.POSITIVE_INFINITY,
    private readonly now: () => number = Date.now,
  ) {}

  async acquire(signal?: AbortSignal): Promise<void> {
    for (;;) {
      if (signal?.aborted) throw signal.reason ?? new Error('aborted');
      if (this.inFlight >= this.maxInFlight) {
        await this.waitFor(undefined, signal);
        continue;
      }
      const now = this.now();
      if (this.budget !== undefined && now >= this.resetAt) this.budget = undefined;
      if (this.budget === undefined) {
        // A new window as far as we know: assume the largest window seen, or send one probe to learn the quota.
        const estimate = this.capacity ?? (this.inFlight === 0 ? 1 : 0);
        if (estimate > 0) {
          this.budget = estimate;
          this.informed = false;
          this.resetAt = Number.POSITIVE_INFINITY;
        }
      }
      if (this.budget !== undefined && this.budget > 0) {
        this.budget -= 1;
        this.inFlight += 1;
        return;
      }
      // Small jitter past the reset so concurrent waiters do not all land on the window edge at once.
      const waitMs =
        this.budget !== undefined && Number.isFinite(this.resetAt) ? this.resetAt - now + 25 + Math.random() * 100 : undefined;
      await this.waitFor(waitMs, signal);
    }
  }

  /** Until something is released, `ms` pass (when given), or the caller aborts. */
  private async waitFor(ms: number | undefined, signal: AbortSignal | undefined): Promise<void> {
    const waits: Promise<void>[] = [this.changed()];
    if (ms !== undefined) waits.push(sleep(ms));
    let onAbort: (() => void) | undefined;
    if (signal) {
      waits.push(
        new Promise<void>((_, reject) => {
          onAbort = () => reject(signal.reason ?? new Error('aborted'));
          signal.addEventListener('abort', onAbort, { once: true });
        }),
      );
    }
    try {
      await Promise.race(waits);
    } finally {
      if (signal && onAbort) signal.removeEventListener('abort', onAbort);
    }
  }

  /** Records the outcome of a request acquired earlier (undefined: no response at all). */
  release(response: PipelineResponse | undefined): void {
    this.inFlight = Math.max(0, this.inFlight - 1);
    const now = this.now();
    const remaining = Number(response?.headers.get('x-ms-user-quota-remaining') ?? Number.NaN);
    const resetsAfter = parseResetsAfter(response?.headers.get('x-ms-user-quota-resets-after'));
    if (response?.status === 429) {
      this.budget = 0;
      this.informed = true;
      this.resetAt = now + Math.max(retryAfterMs(response) ?? 0, resetsAfter ?? 0, 1000);
    } else if (Number.isFinite(remaining) && remaining >= 0) {
      if (this.capacity === Number.POSITIVE_INFINITY) this.capacity = undefined;
      this.capacity = Math.max(this.capacity ?? 0, remaining + 1);
      // What the server has left, minus what we have sent and not yet heard back about.
      const sendable = Math.max(0, remaining - this.inFlight);
      // Responses can arrive out of order: within a window, trust the lowest figure.
      this.budget = this.informed && this.budget !== undefined ? Math.min(this.budget, sendable) : sendable;
      this.informed = true;
      this.resetAt = now + (resetsAfter ?? 1000);
    } else if (response) {
      // No quota headers: nothing to pace on.
      this.capacity ??= Number.POSITIVE_INFINITY;
      if (!Number.isFinite(this.resetAt)) this.resetAt = now;
    } else if (!Number.isFinite(this.resetAt)) {
      this.resetAt = now;
    }
    this.notify();
  }

  private changed(): Promise<void> {
    this.wakePromise ??= new Promise<void>((resolve) => {
      this.wake = resolve;
    });
    return this.wakePromise;
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    this.wakePromise = undefined;
    wake?.();
  }
}

function isLoopbackHttp(endpoint: string): boolean {
  const url = new URL(endpoint);
  return url.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
}

function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * Yields values from several async iterators, running at most `concurrency` at once with one value read ahead
 * each. Stops the others on error or when the consumer stops early.
 */
async function* mergeConcurrent<T>(factories: (() => AsyncIterator<T>)[], concurrency: number): AsyncGenerator<T> {
  const waiting = factories.slice();
  type Pulled = { iterator: AsyncIterator<T>; result: IteratorResult<T> };
  const active = new Map<AsyncIterator<T>, Promise<Pulled>>();
  const pull = (iterator: AsyncIterator<T>) => {
    const pending = iterator.next().then((result) => ({ iterator, result }));
    pending.catch(() => {}); // observed through Promise.race; never an unhandled rejection
    active.set(iterator, pending);
  };
  const fill = () => {
    while (active.size < concurrency && waiting.length > 0) pull(waiting.shift()!());
  };
  try {
    fill();
    while (active.size > 0) {
      const { iterator, result } = await Promise.race(active.values());
      if (result.done) {
        active.delete(iterator);
        fill();
        continue;
      }
      pull(iterator);
      yield result.value;
    }
  } finally {
    for (const iterator of active.keys()) void iterator.return?.()?.catch?.(() => {});
  }
}

function isAbortError(error: unknown): boolean {
  return error instanceof Error && (error.name === 'AbortError' || error.name === 'TimeoutError');
}

interface RestErrorLike {
  statusCode?: number;
  code?: string;
  message: string;
  details?: unknown;
  response?: { headers: { get(name: string): string | undefined }; status?: number };
  request?: { url?: string };
}

function hostOf(url: string | undefined): string | undefined {
  try {
    return url ? new URL(url).host : undefined;
  } catch {
    return undefined;
  }
}

/** Maps SDK errors to the app's three error types (401/403 stay errors: never "no resources"). */
function toServiceError(error: unknown, operation: string): unknown {
  if (isAbortError(error)) return error;
  if (error instanceof PermanentError || error instanceof RetryableError || error instanceof IncompleteReadError) return error;
  const rest = error as RestErrorLike;
  const status = rest?.statusCode ?? rest?.response?.status;
  const body = rest?.details as
    | { error?: { code?: string; message?: string; details?: { code?: string; message?: string }[] } }
    | undefined;
  const code = body?.error?.code ?? rest?.code;
  const traceId = rest?.response?.headers.get('x-ms-request-id') ?? undefined;
  // Resource Graph's top-level message is generic ("Query is invalid…"); the specific cause is in error.details.
  const causes = (Array.isArray(body?.error?.details) ? body.error.details : [])
    .map((d) => [d?.code, d?.message].filter(Boolean).join(': '))
    .filter(Boolean);
  const detail = [body?.error?.message ?? rest?.message ?? String(error), ...causes].join(' | ');
  const details = { source: 'resource-graph' as const, status, code, traceId, operation, cause: error };
  if (status === undefined) {
    const unreachable = describeUnreachable(error, hostOf(rest?.request?.url) ?? 'the Resource Graph endpoint');
    return new RetryableError(`Resource Graph request failed before a response: ${unreachable ?? detail}`, details);
  }
  if (status === 429 || status === 408 || status >= 500) {
    const retryHeader = rest.response?.headers.get('retry-after');
    const retryAfter = retryHeader && Number.isFinite(Number(retryHeader)) ? Number(retryHeader) * 1000 : undefined;
    return new RetryableError(`Resource Graph is unavailable or throttling (${status}${code ? ` ${code}` : ''}) after retries: ${detail}`, {
      ...details,
      ...(retryAfter !== undefined ? { retryAfterMs: retryAfter } : {}),
    });
  }
  if (status === 401 || status === 403) {
    return new PermanentError(
      `Resource Graph refused the identity (${status}${code ? ` ${code}` : ''}): ${detail}. Check the Reader role on the subscriptions or management groups in scope.`,
      details,
    );
  }
  return new PermanentError(`Resource Graph rejected the query (${status}${code ? ` ${code}` : ''}): ${detail}`, details);
}

export class ResourceGraphReader implements ResourceGraphApi {
  private readonly client: ResourceGraphClient;
  private readonly pacer: QuotaPacer;
  private readonly logger: Logger;
  private readonly subscriptionIds: string[];
  private readonly managementGroupIds: string[];
  private readonly batchSize: number;
  private readonly maxConcurrency: number;
  private readonly filter: ResourceTypeFilter;
  private readonly onTotalRecords: ResourceGraphReaderOptions['onTotalRecords'];
  private queries = 0;
  private unstable = 0;
  private extraColumns: ExtraColumns = {};

  constructor(options: ResourceGraphReaderOptions) {
    const batchSize = options.subscriptionBatchSize ?? 200;
    if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > MAX_SUBSCRIPTIONS_PER_QUERY) {
      throw new RangeError(`subscriptionBatchSize must be 1..${MAX_SUBSCRIPTIONS_PER_QUERY}, got ${batchSize}`);
    }
    const maxConcurrency = options.maxConcurrency ?? 3;
    if (!Number.isInteger(maxConcurrency) || maxConcurrency < 1) {
      throw new RangeError(`maxConcurrency must be a whole number ≥ 1, got ${maxConcurrency}`);
    }
    this.batchSize = batchSize;
    this.maxConcurrency = maxConcurrency;
    this.pacer = new QuotaPacer(maxConcurrency);
    this.logger = options.logger ?? silentLogger;
    this.onTotalRecords = options.onTotalRecords;
    this.subscriptionIds = [...new Set((options.subscriptionIds ?? []).map((s) => s.toLowerCase()))];
    this.managementGroupIds = options.managementGroupIds ?? [];
    this.filter = {
      includeResourceTypes: options.includeResourceTypes ?? [],
      excludeResourceTypes: options.excludeResourceTypes ?? [],
    };
    const endpoint = options.endpoint.replace(/\/+$/, '');
    const loopback = isLoopbackHttp(endpoint);
    this.client = new ResourceGraphClient(options.credential, {
      endpoint,
      credentials: { scopes: [loopback ? 'https://management.azure.com/.default' : armScopeFor(endpoint)] },
      ...(options.retry ? { retryOptions: options.retry } : {}),
      ...(loopback ? { allowInsecureConnection: true } : {}),
    });
    if (loopback) {
      // core-rest-pipeline refuses bearer tokens over http; emulators on 127.0.0.1 are plain http.
      this.client.pipeline.removePolicy({ name: 'bearerTokenAuthenticationPolicy' });
      const credential = options.credential;
      this.client.pipeline.addPolicy(
        {
          name: 'loopbackBearerTokenPolicy',
          async sendRequest(request, next) {
            const token = await credential.getToken('https://management.azure.com/.default', {
              abortSignal: request.abortSignal,
            });
            if (token) request.headers.set('authorization', `Bearer ${token.token}`);
            return next(request);
          },
        },
        { phase: 'Sign' },
      );
    }
    const pacer = this.pacer;
    const logger = this.logger;
    const countQuery = () => {
      this.queries += 1;
    };
    // The SDK's retry policy retries every socket error from 1 s up; an unreachable host gets a visible line per
    // attempt, and a name that does not resolve stops after its second try (see attemptsFor).
    const failedAttempts = new WeakMap<object, number>();
    const pacing: PipelinePolicy = {
      name: 'resourceGraphQuotaPacer',
      async sendRequest(request, next) {
        await pacer.acquire(request.abortSignal as AbortSignal | undefined);
        countQuery();
        let response: PipelineResponse | undefined;
        try {
          response = await next(request);
          return response;
        } catch (error) {
          const unreachable = describeUnreachable(error, hostOf(request.url) ?? endpoint);
          if (unreachable === undefined || request.abortSignal?.aborted) throw error;
          const attempt = (failedAttempts.get(request) ?? 0) + 1;
          failedAttempts.set(request, attempt);
          if (attempt >= attemptsFor(error, Number.POSITIVE_INFINITY)) {
            // Not a RestError, so the SDK's retry policy gives up at once.
            throw new PermanentError(`Resource Graph: ${unreachable} (AZURE_ARM_ENDPOINT)`, {
              source: 'resource-graph',
              code: networkErrorCode(error),
              operation: 'POST /providers/Microsoft.ResourceGraph/resources',
            });
          }
          logger.warn(`Resource Graph request attempt ${attempt} failed (${unreachable})`, { attempt });
          throw error;
        } finally {
          pacer.release(response);
        }
      },
    };
    // After the retry policies, so every attempt (not just every call) is paced and counted.
    this.client.pipeline.addPolicy(pacing, { afterPhase: 'Retry' });
  }

  queryCount(): number {
    return this.queries;
  }

  /**
   * Runs any query and yields its pages (≤ 1000 rows), following $skipToken. Public for diagnostics and tests;
   * the app's queries come from shared/azure/queries.ts.
   */
  async *queryPages(query: string, scope: RequestScope, options: QueryPagesOptions = {}, listing?: ArgListing): AsyncGenerator<ArgRow[]> {
    let skipToken: string | undefined;
    let firstTotal: number | undefined;
    let page = 0;
    // Offset paging over a changing estate skips and repeats rows; a total that moves or a row seen twice shows it.
    const seenIds = listing ? new Set<string>() : undefined;
    let unstable = false;
    do {
      const operation = 'POST /providers/Microsoft.ResourceGraph/resources';
      let response;
      try {
        response = await this.client.resources(
          {
            query,
            ...(scope.subscriptions ? { subscriptions: scope.subscriptions } : {}),
            ...(scope.managementGroups ? { managementGroups: scope.managementGroups } : {}),
            options: { top: PAGE_SIZE, resultFormat: 'objectArray', ...(skipToken ? { skipToken } : {}) },
          },
          { abortSignal: options.abortSignal },
        );
      } catch (error) {
        throw toServiceError(error, operation);
      }
      page += 1;
      if (!Array.isArray(response.data)) {
        throw new PermanentError('Resource Graph returned rows in an unexpected shape (expected resultFormat objectArray)', {
          source: 'resource-graph',
          operation,
        });
      }
      if (response.resultTruncated === 'true' && !response.skipToken) {
        throw new IncompleteReadError(
          `Resource Graph truncated the result after ${page} page(s) and gave no $skipToken to continue (totalRecords ${response.totalRecords}); the read is partial`,
          { source: 'resource-graph', operation, code: 'ResultTruncated' },
        );
      }
      if (firstTotal === undefined) {
        firstTotal = response.totalRecords;
        if (listing && typeof firstTotal === 'number') this.onTotalRecords?.(listing, firstTotal);
      } else if (response.totalRecords !== firstTotal) {
        unstable = true;
        this.logger.warn('Resource Graph totalRecords changed between pages (the estate changed while paging)', {
          firstTotal,
          totalRecords: response.totalRecords,
          page,
        });
      }
      skipToken = response.skipToken;
      options.onPage?.({ page, rows: response.data.length, totalRecords: response.totalRecords, more: Boolean(skipToken) });
      this.logger.debug('Resource Graph page', { page, rows: response.data.length, totalRecords: response.totalRecords });
      if (seenIds) {
        for (const row of response.data as ArgRow[]) {
          const key = typeof row.id === 'string' ? row.id.toLowerCase() : '';
          if (seenIds.has(key)) unstable = true;
          seenIds.add(key);
        }
      }
      if (response.data.length > 0) yield response.data as ArgRow[];
    } while (skipToken);
    // A skipped row leaves fewer rows than the total the first page announced.
    if (seenIds && typeof firstTotal === 'number' && page > 1 && seenIds.size !== firstTotal) unstable = true;
    if (unstable) {
      this.unstable += 1;
      this.logger.warn('a Resource Graph listing changed while it was paged: rows may have been skipped', { listing, pages: page });
    }
  }

  /** Listings so far whose pages showed the estate changing underneath (a total that moved, a row seen twice). */
  unstableListingCount(): number {
    return this.unstable;
  }

  private batched(query: string, scope: QueryScope, options: ArgOperationOptions, listing: ArgListing): AsyncGenerator<ArgRow[]> {
    const batches = chunk(scope.subscriptionIds, this.batchSize);
    return mergeConcurrent(
      batches.map((subscriptions) => () => this.queryPages(query, { subscriptions }, options, listing)),
      this.maxConcurrency,
    );
  }

  listSubscriptions(scope: QueryScope, options: ArgOperationOptions = {}): AsyncIterable<ArgRow[]> {
    return this.batched(subscriptionsQuery(this.extraColumns), scope, options, 'subscriptions');
  }

  listResourceGroups(scope: QueryScope, options: ArgOperationOptions = {}): AsyncIterable<ArgRow[]> {
    return this.batched(resourceGroupsQuery(this.extraColumns), scope, options, 'resourceGroups');
  }

  listResources(scope: QueryScope, options: ArgOperationOptions = {}): AsyncIterable<ArgRow[]> {
    return this.batched(resourcesQuery(this.filter, this.extraColumns), scope, options, 'resources');
  }

  async *listChanges(scope: QueryScope, options: ChangesOptions): AsyncIterable<ChangeRow[]> {
    const window = { since: options.since, until: options.until };
    const tables: ChangeTable[] = ['resourcecontainerchanges', 'resourcechanges'];
    const batches = chunk(scope.subscriptionIds, this.batchSize);
    const streams = tables.flatMap((table) =>
      batches.map((subscriptions) => () => this.changePages(table, changesQuery(table, window, this.filter), subscriptions, options)),
    );
    yield* mergeConcurrent(streams, this.maxConcurrency);
  }

  private async *changePages(
    table: ChangeTable,
    query: string,
    subscriptions: string[],
    options: ArgOperationOptions,
  ): AsyncGenerator<ChangeRow[]> {
    for await (const rows of this.queryPages(query, { subscriptions }, options, 'changes')) {
      const changes: ChangeRow[] = [];
      for (const row of rows) {
        const targetResourceId = row.targetResourceId;
        const changeType = row.changeType;
        const changeTime = row.changeTime;
        if (typeof targetResourceId !== 'string' || targetResourceId === '' || !CHANGE_TYPES.has(String(changeType))) {
          this.logger.warn('Skipping a Resource Graph change record without a target id or a known change type', {
            table,
            changeType,
          });
          continue;
        }
        const time = new Date(String(changeTime));
        // A Delete stamped with the same instant as the latest change wins: the resource is gone either way.
        const lastDelete = typeof row.lastDeleteTime === 'string' ? Date.parse(row.lastDeleteTime) : Number.NaN;
        const deletedLast = !Number.isNaN(lastDelete) && !Number.isNaN(time.getTime()) && lastDelete >= time.getTime();
        changes.push({
          targetResourceId,
          changeType: deletedLast ? 'Delete' : (changeType as ChangeType),
          changeTime: Number.isNaN(time.getTime()) ? String(changeTime) : time.toISOString(),
          table,
        });
      }
      if (changes.length > 0) yield changes;
    }
  }

  /**
   * Current state of the given ids, in queries of ≤ 1000 ids scoped to the ids' own subscriptions (those in
   * `scope` only). Resource types outside the include/exclude settings are absent, as in listResources.
   */
  async lookupByIds(ids: string[], scope: QueryScope, options: ArgOperationOptions = {}): Promise<Map<string, ArgRow>> {
    const inScope = new Set(scope.subscriptionIds.map((s) => s.toLowerCase()));
    const unique = new Map<string, { id: string; container: boolean; subscription: string }>();
    for (const id of ids) {
      const parsed = parseResourceId(id);
      if (parsed.kind === 'nonResource') continue;
      const subscription = parsed.subscriptionId.toLowerCase();
      if (!inScope.has(subscription)) continue;
      unique.set(parsed.normalized, {
        id,
        container: parsed.kind === 'subscription' || parsed.kind === 'resourceGroup',
        subscription,
      });
    }
    const result = new Map<string, ArgRow>();
    if (unique.size === 0) return result;
    // Group by subscription so each query names only the subscriptions it needs.
    const sorted = [...unique.values()].sort((a, b) => (a.subscription < b.subscription ? -1 : a.subscription > b.subscription ? 1 : 0));
    const limit = pLimit(this.maxConcurrency);
    await Promise.all(
      chunk(sorted, MAX_IDS_PER_LOOKUP).map((batch) =>
        limit(async () => {
          const query = lookupByIdsQuery(
            {
              resourceIds: batch.filter((b) => !b.container).map((b) => b.id),
              containerIds: batch.filter((b) => b.container).map((b) => b.id),
            },
            this.filter,
          );
          const subscriptions = [...new Set(batch.map((b) => b.subscription))];
          for await (const rows of this.queryPages(query, { subscriptions }, options)) {
            for (const row of rows) {
              if (typeof row.id === 'string') result.set(normalizeResourceId(row.id), row);
            }
          }
        }),
      ),
    );
    return result;
  }

  listUserQuery(query: string, scope: QueryScope, options: ArgOperationOptions = {}): AsyncIterable<ArgRow[]> {
    return this.batched(userFullSyncQuery(query), scope, options, 'graphQuery');
  }

  async lookupUserQuery(
    query: string,
    ids: readonly string[],
    witnesses: readonly string[],
    subscriptions: readonly string[],
    options: ArgOperationOptions = {},
  ): Promise<{ rows: ArgRow[]; singlePage: boolean }> {
    return this.readWhole(userLookupQuery(query, ids, witnesses), [...subscriptions], options);
  }

  /** One query read to the end: its rows, and whether they came as one page whose count matched totalRecords. */
  private async readWhole(query: string, subscriptions: string[], options: ArgOperationOptions): Promise<{ rows: ArgRow[]; singlePage: boolean }> {
    const rows: ArgRow[] = [];
    let pages = 0;
    let consistent = true;
    const onPage = (page: { rows: number; totalRecords: number; more: boolean }) => {
      pages += 1;
      if (page.more || page.rows !== page.totalRecords) consistent = false;
    };
    for await (const page of this.queryPages(query, { subscriptions }, { ...options, onPage })) rows.push(...page);
    return { rows, singlePage: consistent && pages <= 1 };
  }

  private readonly probed = new Set<string>();

  /** Probes each distinct query once per reader (a passing probe is remembered; a failing one is tried again). */
  async probeUserQuery(query: string, scope: QueryScope, options: ArgOperationOptions = {}): Promise<string[]> {
    if (this.probed.has(query) || scope.subscriptionIds.length === 0) return [];
    const problems = await validateUserQuery(query, {
      graph: { queryPages: (q, s, o) => this.queryPages(q, s, o) },
      scope: { subscriptions: scope.subscriptionIds.slice(0, this.batchSize) },
      ...(options.abortSignal ? { abortSignal: options.abortSignal } : {}),
    });
    if (problems.length === 0) this.probed.add(query);
    return problems;
  }

  /** Columns the mapping reads beyond the default projections; every later listing and by-id read carries them. */
  useExtraColumns(extra: ExtraColumns): void {
    this.extraColumns = extra;
  }

  observe(ids: string[], scope: QueryScope, options: ArgOperationOptions = {}): Promise<Map<string, Observation>> {
    return observeIds(
      {
        filter: this.filter,
        extraColumns: this.extraColumns,
        maxConcurrency: this.maxConcurrency,
        read: (query, subscriptions, readOptions) => this.readWhole(query, subscriptions, readOptions),
      },
      ids,
      scope,
      options,
    );
  }

  /**
   * The subscriptions to read. Explicit ids are checked against what the identity can actually read:
   * unreadable ones are reported in `unreadableSubscriptionIds` (never silently treated as empty).
   */
  async resolveScope(options: ArgOperationOptions = {}): Promise<QueryScope> {
    if (this.subscriptionIds.length > 0) {
      const readable = new Set<string>();
      for (const subscriptions of chunk(this.subscriptionIds, this.batchSize)) {
        try {
          for await (const rows of this.queryPages(subscriptionsQuery(), { subscriptions }, options)) {
            for (const row of rows) if (typeof row.subscriptionId === 'string') readable.add(row.subscriptionId.toLowerCase());
          }
        } catch (error) {
          // 403 means none of this batch is readable; anything else is a real failure.
          if (!(error instanceof PermanentError && error.status === 403)) throw error;
        }
      }
      const unreadable = this.subscriptionIds.filter((s) => !readable.has(s));
      if (readable.size === 0) {
        throw new PermanentError(
          `None of the ${this.subscriptionIds.length} configured subscriptions (AZURE_SUBSCRIPTION_IDS) is readable by the identity; grant it Reader on them`,
          { source: 'resource-graph', status: 403, code: 'NoReadableSubscriptions' },
        );
      }
      if (unreadable.length > 0) {
        this.logger.warn('Some configured subscriptions are not readable by the identity; their entities are left alone', {
          unreadableSubscriptionIds: unreadable,
        });
      }
      return {
        subscriptionIds: this.subscriptionIds.filter((s) => readable.has(s)),
        ...(unreadable.length > 0 ? { unreadableSubscriptionIds: unreadable } : {}),
      };
    }
    const scope: RequestScope = this.managementGroupIds.length > 0 ? { managementGroups: this.managementGroupIds } : {};
    const found = new Set<string>();
    for await (const rows of this.queryPages(subscriptionsQuery(), scope, options)) {
      for (const row of rows) if (typeof row.subscriptionId === 'string') found.add(row.subscriptionId.toLowerCase());
    }
    if (found.size === 0) {
      this.logger.warn('The identity can read no subscriptions in scope', {
        managementGroupIds: this.managementGroupIds,
      });
    }
    return { subscriptionIds: [...found].sort() };
  }
}

/** The production reader: settings' ARM endpoint and scope, DefaultAzureCredential (managed identity). */
/**
 * The reader as configured by the settings. `overrides` replace the credential (the emulator's static token, a CLI
 * sign-in) or the SDK retry policy (tests), nothing else.
 */
export function createResourceGraphReader(
  settings: Settings['azure'],
  logger: Logger,
  overrides: Pick<Partial<ResourceGraphReaderOptions>, 'credential' | 'retry' | 'onTotalRecords'> = {},
): ResourceGraphReader {
  return new ResourceGraphReader({
    ...overrides,
    endpoint: settings.armEndpoint,
    credential: overrides.credential ?? createAzureCredential(settings),
    subscriptionIds: settings.subscriptionIds,
    managementGroupIds: settings.managementGroupIds,
    subscriptionBatchSize: settings.subscriptionBatchSize,
    maxConcurrency: settings.argMaxConcurrency,
    includeResourceTypes: settings.includeResourceTypes,
    excludeResourceTypes: settings.excludeResourceTypes,
    logger,
  });
}
