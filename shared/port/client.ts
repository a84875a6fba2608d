/**
 * PortApi over Port's REST API (see port-api.md): bulk upserts split by count and size, bulk deletes checked
 * against what Port says it deleted, paged search, and blueprint set-up that never removes what users added.
 */
import { createRequire } from 'node:module';
import { PermanentError, RetryableError } from '../errors.js';
import type { Logger } from '../log.js';
import type { Settings } from '../settings.js';
import { PortHttp } from './http.js';
import { abortableSleep } from './retry.js';
import type {
  BlueprintDefinition,
  BlueprintProperty,
  BlueprintRelation,
  DeleteOptions,
  DeleteResult,
  EnsureBlueprintsResult,
  PortApi,
  PortEntity,
  PortIntegration,
  PortIntegrationApi,
  PortOperationOptions,
  PortRequestCounts,
  SearchOptions,
  SearchQuery,
  StoredEntity,
  UpsertOptions,
  UpsertOutcome,
} from './types.js';

/** Port's limits (port-api.md §4.4, §4.6, §5.2, §6.1). */
export const PORT_LIMITS = {
  bulkUpsertEntities: 20,
  bulkDeleteEntities: 100,
  bodyBytes: 1024 * 1024,
  searchPageSize: 1000,
  identifierLength: 1000,
} as const;

/** Entity identifiers Port accepts (SPEC, every entity route). */
export const ENTITY_IDENTIFIER_PATTERN = /^(?!\.{1,2}$)[\p{L}0-9@_.+:\\/=-]+$/u;

export interface PortClientOptions {
  apiUrl: string;
  clientId: string;
  clientSecret: string;
  createMissingRelatedEntities: boolean;
  maxConcurrency: number;
  requestTimeoutMs: number;
  /** Attempts per HTTP call, the first included. */
  retryMaxAttempts: number;
  /** Upper bound on the time one call spends retrying (default 5 minutes). */
  maxRetryTimeMs?: number;
  logger: Logger;
  /** Default `azure-port-sync/<package version>`. */
  userAgent?: string;
  /** First exponential-backoff wait (default 300 ms). */
  backoffBaseMs?: number;
  /** Cap on any single wait, including what Port asks for (default 60 s). */
  maxWaitMs?: number;
  /** Test hooks. */
  now?: () => number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  random?: () => number;
}

export function packageVersion(): string {
  const require = createRequire(import.meta.url);
  // From shared/port in source runs, or dist/shared/port when built.
  for (const candidate of ['../../package.json', '../../../package.json']) {
    try {
      const pkg = require(candidate) as { name?: string; version?: string };
      if (pkg.name === 'azure-port-sync' && pkg.version) return pkg.version;
    } catch {
      // try the next location
    }
  }
  return '0.0.0';
}

type BulkResponse = {
  ok?: boolean;
  entities?: { identifier?: string; index?: number; created?: boolean }[];
  errors?: { identifier?: string; index?: number; statusCode?: number; error?: string; message?: string }[];
};

interface Blueprint {
  identifier: string;
  title?: string;
  schema?: { properties?: Record<string, Record<string, unknown>>; required?: string[] };
  relations?: Record<string, Record<string, unknown>>;
}

const EMPTY_BYTES = Buffer.byteLength('{"entities":[]}');

export class PortClient implements PortApi, PortIntegrationApi {
  private readonly http: PortHttp;
  private readonly logger: Logger;
  private readonly createMissingRelatedEntities: boolean;

  /** The options (client secret included) are not kept on the instance, so printing a client shows no secret. */
  constructor(options: PortClientOptions) {
    if (!Number.isInteger(options.maxConcurrency) || options.maxConcurrency < 1) {
      throw new RangeError(`maxConcurrency must be a whole number ≥ 1, got ${options.maxConcurrency}`);
    }
    if (!Number.isInteger(options.retryMaxAttempts) || options.retryMaxAttempts < 1) {
      throw new RangeError(`retryMaxAttempts must be a whole number ≥ 1, got ${options.retryMaxAttempts}`);
    }
    let url: URL;
    try {
      url = new URL(options.apiUrl);
    } catch {
      throw new TypeError(`apiUrl must be an absolute URL such as https://api.port.io, got ${JSON.stringify(options.apiUrl)}`);
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') {
      throw new TypeError(`apiUrl must be an http(s) URL, got ${JSON.stringify(options.apiUrl)}`);
    }
    this.logger = options.logger;
    this.createMissingRelatedEntities = options.createMissingRelatedEntities;
    this.http = new PortHttp({
      apiUrl: options.apiUrl,
      clientId: options.clientId,
      clientSecret: options.clientSecret,
      maxConcurrency: options.maxConcurrency,
      requestTimeoutMs: options.requestTimeoutMs,
      retryMaxAttempts: options.retryMaxAttempts,
      maxRetryTimeMs: options.maxRetryTimeMs ?? 5 * 60_000,
      backoff: {
        baseMs: options.backoffBaseMs ?? 300,
        maxWaitMs: options.maxWaitMs ?? 60_000,
        random: options.random ?? Math.random,
      },
      userAgent: options.userAgent ?? `azure-port-sync/${packageVersion()}`,
      logger: options.logger,
      now: options.now ?? Date.now,
      sleep: options.sleep ?? abortableSleep,
    });
  }

  requestCounts(): PortRequestCounts {
    return this.http.requestCounts();
  }

  /** How often proactive pacing held requests back, and for how long in total. */
  pacingStats(): { pauses: number; pausedMs: number } {
    return this.http.pacing;
  }

  /** Releases pooled sockets (CLI exit, tests). */
  close(): void {
    this.http.close();
  }

  // ---------------------------------------------------------------- upsert

  async upsertEntities(blueprint: string, entities: PortEntity[], options: UpsertOptions = {}): Promise<UpsertOutcome[]> {
    const outcomes: UpsertOutcome[] = new Array(entities.length);
    const createMissing = options.createMissingRelatedEntities ?? this.createMissingRelatedEntities;
    const chunks: { index: number; entity: PortEntity; bytes: number }[][] = [];
    let chunk: { index: number; entity: PortEntity; bytes: number }[] = [];
    let chunkBytes = EMPTY_BYTES;

    entities.forEach((entity, index) => {
      const invalid = identifierProblem(entity.identifier);
      if (invalid) {
        outcomes[index] = {
          ok: false,
          identifier: entity.identifier,
          error: new PermanentError(`Entity identifier ${JSON.stringify(entity.identifier)} ${invalid}`, {
            source: 'input',
            code: 'invalid_identifier',
          }),
        };
        return;
      }
      const bytes = Buffer.byteLength(JSON.stringify(entity));
      if (EMPTY_BYTES + bytes > PORT_LIMITS.bodyBytes) {
        outcomes[index] = { ok: false, identifier: entity.identifier, error: tooLarge(entity.identifier, bytes) };
        return;
      }
      const separator = chunk.length > 0 ? 1 : 0;
      if (chunk.length >= PORT_LIMITS.bulkUpsertEntities || chunkBytes + separator + bytes > PORT_LIMITS.bodyBytes) {
        chunks.push(chunk);
        chunk = [];
        chunkBytes = EMPTY_BYTES;
      }
      chunkBytes += (chunk.length > 0 ? 1 : 0) + bytes;
      chunk.push({ index, entity, bytes });
    });
    if (chunk.length > 0) chunks.push(chunk);

    const merge = options.merge ?? true;
    await Promise.all(
      chunks.map((c) => this.upsertChunk(blueprint, c, { createMissing, merge }, outcomes, options.abortSignal)),
    );
    return outcomes;
  }

  private async upsertChunk(
    blueprint: string,
    chunk: { index: number; entity: PortEntity; bytes: number }[],
    mode: { createMissing: boolean; merge: boolean },
    outcomes: UpsertOutcome[],
    abortSignal: AbortSignal | undefined,
  ): Promise<void> {
    let response;
    try {
      response = await this.http.request<BulkResponse>({
        method: 'POST',
        path: `/v1/blueprints/${encodeURIComponent(blueprint)}/entities/bulk`,
        query: { upsert: true, merge: mode.merge, create_missing_related_entities: mode.createMissing },
        body: { entities: chunk.map((c) => c.entity) },
        kind: 'bulkUpsert',
        acceptStatuses: [413],
        ...(abortSignal ? { abortSignal } : {}),
      });
    } catch (error) {
      if (abortSignal?.aborted) throw error;
      const failure = asServiceError(error);
      this.logger.warn('Port bulk upsert failed for a whole chunk', { blueprint, entities: chunk.length, ...failure.toLogFields() });
      for (const c of chunk) outcomes[c.index] = { ok: false, identifier: c.entity.identifier, error: failure };
      return;
    }

    if (response.status === 413) {
      // Our size estimate and Port's limit disagree (e.g. a proxy in between): halve until it fits.
      if (chunk.length === 1) {
        const only = chunk[0]!;
        // Over the limit, it stays too large; well under it, the 413 is a proxy's or a passing fault: retry later.
        const error =
          EMPTY_BYTES + only.bytes > PORT_LIMITS.bodyBytes
            ? tooLarge(only.entity.identifier, only.bytes, response.traceId)
            : new RetryableError(
                `Port answered 413 for entity ${JSON.stringify(only.entity.identifier)} of ${only.bytes} bytes, under its 1 MiB limit (a proxy or a passing fault)`,
                { source: 'port', status: 413, code: 'payload_too_large', ...(response.traceId ? { traceId: response.traceId } : {}) },
              );
        outcomes[only.index] = { ok: false, identifier: only.entity.identifier, error };
        return;
      }
      const half = Math.ceil(chunk.length / 2);
      await Promise.all([
        this.upsertChunk(blueprint, chunk.slice(0, half), mode, outcomes, abortSignal),
        this.upsertChunk(blueprint, chunk.slice(half), mode, outcomes, abortSignal),
      ]);
      return;
    }

    const body = response.body ?? {};
    const reported = new Set<number>();
    for (const item of body.entities ?? []) {
      const c = typeof item.index === 'number' ? chunk[item.index] : undefined;
      if (!c) continue;
      reported.add(item.index!);
      outcomes[c.index] = { ok: true, identifier: c.entity.identifier, created: item.created === true };
    }
    for (const item of body.errors ?? []) {
      const c = typeof item.index === 'number' ? chunk[item.index] : undefined;
      if (!c) continue;
      reported.add(item.index!);
      const status = typeof item.statusCode === 'number' ? item.statusCode : undefined;
      const message = `Port rejected entity ${JSON.stringify(c.entity.identifier)} in ${blueprint}: ${[item.error, item.message].filter(Boolean).join(': ') || `status ${status}`}`;
      const details = {
        source: 'port' as const,
        ...(status !== undefined ? { status } : {}),
        ...(item.error ? { code: item.error } : {}),
        ...(response.traceId ? { traceId: response.traceId } : {}),
        operation: `POST /v1/blueprints/${blueprint}/entities/bulk`,
      };
      const error =
        status !== undefined && (status === 429 || status === 408 || status >= 500)
          ? new RetryableError(message, details)
          : new PermanentError(message, details);
      outcomes[c.index] = { ok: false, identifier: c.entity.identifier, error };
    }
    chunk.forEach((c, i) => {
      if (reported.has(i)) return;
      // Never drop an entity silently: an unreported one is treated as not written.
      outcomes[c.index] = {
        ok: false,
        identifier: c.entity.identifier,
        error: new RetryableError(`Port did not report a result for entity ${JSON.stringify(c.entity.identifier)}`, {
          source: 'port',
          status: response.status,
          ...(response.traceId ? { traceId: response.traceId } : {}),
          operation: `POST /v1/blueprints/${blueprint}/entities/bulk`,
        }),
      };
    });
  }

  // ---------------------------------------------------------------- delete

  async deleteEntities(blueprint: string, identifiers: string[], options: DeleteOptions): Promise<DeleteResult> {
    if (typeof options?.deleteDependents !== 'boolean') {
      throw new TypeError('deleteEntities needs options.deleteDependents (true or false): Port requires it explicitly');
    }
    const unique = [...new Set(identifiers)];
    const result: DeleteResult = { deleted: [], failed: [] };
    const chunks: string[][] = [];
    for (let i = 0; i < unique.length; i += PORT_LIMITS.bulkDeleteEntities) {
      chunks.push(unique.slice(i, i + PORT_LIMITS.bulkDeleteEntities));
    }
    await Promise.all(chunks.map((ids) => this.deleteChunk(blueprint, ids, options, result)));
    return result;
  }

  private async deleteChunk(blueprint: string, ids: string[], options: DeleteOptions, result: DeleteResult): Promise<void> {
    const { abortSignal } = options;
    let leftOver: string[];
    try {
      const response = await this.http.request<{ deletedEntities?: unknown }>({
        method: 'POST',
        path: `/v1/blueprints/${encodeURIComponent(blueprint)}/bulk/entities/delete`,
        query: { delete_dependents: options.deleteDependents },
        body: { entities: ids },
        kind: 'delete',
        ...(abortSignal ? { abortSignal } : {}),
      });
      const deleted = new Set(
        Array.isArray(response.body?.deletedEntities) ? (response.body.deletedEntities as unknown[]).map(String) : [],
      );
      for (const id of ids) if (deleted.has(id)) result.deleted.push(id);
      leftOver = ids.filter((id) => !deleted.has(id));
    } catch (error) {
      if (abortSignal?.aborted) throw error;
      const failure = asServiceError(error);
      if (failure instanceof RetryableError || failure.status === 401 || failure.status === 403) {
        for (const identifier of ids) result.failed.push({ identifier, error: failure });
        return;
      }
      // The whole call was refused (typically dependents with delete_dependents=false): find out per entity.
      this.logger.info('Port bulk delete refused; deleting one by one', { blueprint, entities: ids.length, ...failure.toLogFields() });
      leftOver = ids;
    }
    if (leftOver.length === 0) return;

    // Ids Port did not list may simply not exist; one search tells which still do.
    let stillThere: Set<string>;
    try {
      stillThere = await this.existing(blueprint, leftOver, abortSignal);
    } catch (error) {
      if (abortSignal?.aborted) throw error;
      stillThere = new Set(leftOver);
    }
    for (const id of leftOver) if (!stillThere.has(id)) result.deleted.push(id);
    await Promise.all(
      [...stillThere].map(async (identifier) => {
        try {
          await this.deleteEntity(blueprint, identifier, options);
          result.deleted.push(identifier);
        } catch (error) {
          if (abortSignal?.aborted) throw error;
          result.failed.push({ identifier, error: asServiceError(error) });
        }
      }),
    );
  }

  private async existing(blueprint: string, ids: string[], abortSignal?: AbortSignal): Promise<Set<string>> {
    const found = new Set<string>();
    const pages = this.searchEntities(blueprint, {
      query: { combinator: 'and', rules: [{ property: '$identifier', operator: 'in', value: ids }] },
      include: ['$identifier'],
      ...(abortSignal ? { abortSignal } : {}),
    });
    for await (const page of pages) for (const e of page) found.add(e.identifier);
    return found;
  }

  /** Deletes one entity; a 404 means it is already gone and counts as success. */
  async deleteEntity(blueprint: string, identifier: string, options: DeleteOptions): Promise<void> {
    if (typeof options?.deleteDependents !== 'boolean') {
      throw new TypeError('deleteEntity needs options.deleteDependents (true or false): Port requires it explicitly');
    }
    await this.http.request({
      method: 'DELETE',
      path: `/v1/blueprints/${encodeURIComponent(blueprint)}/entities/${encodeURIComponent(identifier)}`,
      query: { delete_dependents: options.deleteDependents },
      kind: 'delete',
      acceptStatuses: [404],
      ...(options.abortSignal ? { abortSignal: options.abortSignal } : {}),
    });
  }

  // ---------------------------------------------------------------- read

  async *searchEntities(blueprint: string, options: SearchOptions = {}): AsyncIterable<StoredEntity[]> {
    const limit = options.limit ?? PORT_LIMITS.searchPageSize;
    if (!Number.isInteger(limit) || limit < 1 || limit > PORT_LIMITS.searchPageSize) {
      throw new RangeError(`search limit must be a whole number from 1 to ${PORT_LIMITS.searchPageSize}, got ${limit}`);
    }
    const query: SearchQuery = options.query ?? { combinator: 'and', rules: [] };
    let from: string | undefined;
    const seen = new Set<string>();
    for (;;) {
      const response = await this.http.request<{ entities?: StoredEntity[]; next?: unknown }>({
        method: 'POST',
        path: `/v1/blueprints/${encodeURIComponent(blueprint)}/entities/search`,
        body: { query, ...(options.include ? { include: options.include } : {}), limit, ...(from ? { from } : {}) },
        kind: 'search',
        ...(options.abortSignal ? { abortSignal: options.abortSignal } : {}),
      });
      const entities = response.body?.entities;
      if (!Array.isArray(entities)) {
        throw new RetryableError(`Port search of ${blueprint} returned no entities array`, {
          source: 'port',
          status: response.status,
          ...(response.traceId ? { traceId: response.traceId } : {}),
          operation: `POST /v1/blueprints/${blueprint}/entities/search`,
        });
      }
      yield entities;
      const next = response.body.next;
      if (typeof next !== 'string' || next === '') return;
      if (seen.has(next)) {
        // A repeated cursor would loop forever; better to fail loudly than to report a partial catalog as whole.
        throw new RetryableError(`Port search of ${blueprint} returned the same page cursor twice`, {
          source: 'port',
          ...(response.traceId ? { traceId: response.traceId } : {}),
          operation: `POST /v1/blueprints/${blueprint}/entities/search`,
        });
      }
      seen.add(next);
      from = next;
    }
  }

  async getEntity(blueprint: string, identifier: string, options: PortOperationOptions = {}): Promise<StoredEntity | undefined> {
    const response = await this.http.request<{ entity?: StoredEntity }>({
      method: 'GET',
      path: `/v1/blueprints/${encodeURIComponent(blueprint)}/entities/${encodeURIComponent(identifier)}`,
      kind: 'other',
      acceptStatuses: [404],
      ...(options.abortSignal ? { abortSignal: options.abortSignal } : {}),
    });
    if (response.status === 404) return undefined;
    return response.body?.entity;
  }

  // ---------------------------------------------------------------- integrations (mappings kept in Port)

  async getIntegration(identifier: string, options: PortOperationOptions = {}): Promise<PortIntegration | undefined> {
    const response = await this.http.request<{ integration?: PortIntegration }>({
      method: 'GET',
      path: `/v1/integration/${encodeURIComponent(identifier)}`,
      kind: 'other',
      acceptStatuses: [404],
      ...(options.abortSignal ? { abortSignal: options.abortSignal } : {}),
    });
    if (response.status === 404) return undefined;
    return response.body?.integration;
  }

  async updateIntegrationConfig(identifier: string, config: Record<string, unknown>, options: PortOperationOptions = {}): Promise<PortIntegration> {
    const response = await this.http.request<{ integration?: PortIntegration }>({
      method: 'PATCH',
      path: `/v1/integration/${encodeURIComponent(identifier)}/config`,
      body: { config },
      kind: 'other',
      ...(options.abortSignal ? { abortSignal: options.abortSignal } : {}),
    });
    return response.body?.integration ?? { identifier, config };
  }

  async createIntegration(
    integration: { identifier: string; installationAppType: string; version: string; config: Record<string, unknown> },
    options: PortOperationOptions = {},
  ): Promise<PortIntegration> {
    const response = await this.http.request<{ integration?: PortIntegration }>({
      method: 'POST',
      path: '/v1/integration',
      body: { installationId: integration.identifier, installationAppType: integration.installationAppType, version: integration.version, config: integration.config },
      kind: 'other',
      ...(options.abortSignal ? { abortSignal: options.abortSignal } : {}),
    });
    return response.body?.integration ?? { identifier: integration.identifier, config: integration.config };
  }

  // ---------------------------------------------------------------- blueprints

  async ensureBlueprints(blueprints: BlueprintDefinition[], options: PortOperationOptions = {}): Promise<EnsureBlueprintsResult> {
    const result: EnsureBlueprintsResult = { created: [], updated: [], unchanged: [] };
    const signal = options.abortSignal ? { abortSignal: options.abortSignal } : {};
    const current = new Map<string, Blueprint | undefined>();
    // Pass 1: create what is missing, without relations, so relation targets exist whatever the order (Ocean's staging).
    for (const def of blueprints) {
      const path = `/v1/blueprints/${encodeURIComponent(def.identifier)}`;
      const got = await this.http.request<{ blueprint?: Blueprint }>({ method: 'GET', path, kind: 'other', acceptStatuses: [404], ...signal });
      if (got.status !== 404 && got.body?.blueprint) {
        current.set(def.identifier, got.body.blueprint);
        continue;
      }
      const created = await this.http.request<{ blueprint?: Blueprint }>({
        method: 'POST',
        path: '/v1/blueprints',
        body: {
          identifier: def.identifier,
          title: def.title,
          ...(def.icon ? { icon: def.icon } : {}),
          ...(def.description ? { description: def.description } : {}),
          schema: def.schema,
          relations: {},
        },
        kind: 'other',
        ...signal,
      });
      result.created.push(def.identifier);
      current.set(def.identifier, created.body?.blueprint ?? ({ identifier: def.identifier, schema: def.schema, relations: {} } as unknown as Blueprint));
    }
    // Pass 2: add what is missing or changed in our own properties and relations; keep everything else as it is.
    for (const def of blueprints) {
      const patch = blueprintPatch(def, current.get(def.identifier)!);
      if (patch) {
        await this.http.request({
          method: 'PATCH',
          path: `/v1/blueprints/${encodeURIComponent(def.identifier)}`,
          body: patch,
          kind: 'other',
          ...signal,
        });
        if (!result.created.includes(def.identifier)) result.updated.push(def.identifier);
      } else if (!result.created.includes(def.identifier)) {
        result.unchanged.push(def.identifier);
      }
    }
    return result;
  }
}

/**
 * The PATCH body that brings `existing` up to `def`, or undefined when nothing differs. Whole `schema` and
 * `relations` objects are sent (ours merged over theirs), so the result is the same whether Port merges or
 * replaces these keys.
 */
export function blueprintPatch(
  def: BlueprintDefinition,
  existing: Blueprint,
): { schema?: unknown; relations?: Record<string, unknown> } | undefined {
  const patch: { schema?: unknown; relations?: Record<string, unknown> } = {};
  const theirProps = existing.schema?.properties ?? {};
  let propsChanged = false;
  const mergedProps: Record<string, Record<string, unknown>> = { ...theirProps };
  for (const [id, ours] of Object.entries(def.schema.properties)) {
    const theirs = theirProps[id];
    if (!theirs || differs(ours, theirs)) {
      mergedProps[id] = { ...(theirs ?? {}), ...ours };
      propsChanged = true;
    }
  }
  const theirRequired = existing.schema?.required ?? [];
  const mergedRequired = [...new Set([...theirRequired, ...def.schema.required])];
  if (propsChanged || mergedRequired.length !== theirRequired.length) {
    patch.schema = { properties: mergedProps, required: mergedRequired };
  }
  const theirRelations = existing.relations ?? {};
  const missing = Object.entries(def.relations).filter(([id]) => !theirRelations[id]);
  if (missing.length > 0) patch.relations = { ...theirRelations, ...Object.fromEntries(missing) };
  return patch.schema || patch.relations ? patch : undefined;
}

function differs(ours: BlueprintProperty | BlueprintRelation, theirs: Record<string, unknown>): boolean {
  return Object.entries(ours).some(([k, v]) => v !== undefined && JSON.stringify(theirs[k]) !== JSON.stringify(v));
}

/** Why Port would refuse this identifier, or undefined when it is fine. */
export function identifierProblem(identifier: unknown): string | undefined {
  if (typeof identifier !== 'string' || identifier === '') return 'is empty or not a string';
  if (identifier.length > PORT_LIMITS.identifierLength) return `is longer than ${PORT_LIMITS.identifierLength} characters`;
  if (!ENTITY_IDENTIFIER_PATTERN.test(identifier)) {
    return 'has characters Port does not allow (letters, digits and @_.+:\\/=- only; not "." or "..")';
  }
  return undefined;
}

function tooLarge(identifier: string, bytes: number, traceId?: string): PermanentError {
  return new PermanentError(
    `Entity ${JSON.stringify(identifier)} is ${bytes} bytes as JSON; Port accepts request bodies up to 1 MiB`,
    { source: 'port', status: 413, code: 'payload_too_large', ...(traceId ? { traceId } : {}) },
  );
}

function asServiceError(error: unknown): PermanentError | RetryableError {
  if (error instanceof PermanentError || error instanceof RetryableError) return error;
  return new RetryableError(`Port call failed: ${error instanceof Error ? error.message : String(error)}`, {
    source: 'port',
    cause: error,
  });
}

export function createPortClient(settings: Settings['port'], logger: Logger): PortClient {
  return new PortClient({
    apiUrl: settings.apiUrl,
    clientId: settings.clientId,
    clientSecret: settings.clientSecret,
    createMissingRelatedEntities: settings.createMissingRelatedEntities,
    maxConcurrency: settings.maxConcurrency,
    requestTimeoutMs: settings.requestTimeoutMs,
    retryMaxAttempts: settings.retryMaxAttempts,
    logger,
  });
}

